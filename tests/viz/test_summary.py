"""rd.summary / summary_text: output shapes, parameters (shared counted once), trainable/frozen, mult-adds, memory."""
import pytest

import redes as rd

nn = rd.nn


def test_sequential_summary_counts():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    s = rd.summary(net, (5, 3))
    assert s.total_params == 3 * 4 + 4 + 4 * 2 + 2 == s.trainable_params
    assert s.frozen_params == 0 and s.shared_params == 0
    assert s.mult_adds == 5 * 3 * 4 + 5 * 4 * 2                 # one multiply-add per weight per row
    rows = {r["name"]: r for r in s.rows}
    assert rows["0"]["output_shape"] == (5, 4) and rows["2"]["output_shape"] == (5, 2)
    assert rows["0"]["params"] == 16 and rows["1"]["params"] == 0
    assert rows["0"]["mult_adds"] == 60 and rows["1"]["mult_adds"] == 0
    assert s.param_bytes == 26 * 4 and s.input_bytes == 5 * 3 * 4
    assert s.activation_bytes == (5 * 4 + 5 * 4 + 5 * 2) * 4    # what backward keeps: linear, relu, linear
    text = str(s)
    for part in ("0 (Linear)", "(5, 4)", "Total params: 26", "Trainable params: 26", "Frozen params: 0",
                 "Total mult-adds: 100", "Parameters size: 104 B"):
        assert part in text
    assert rd.viz.summary_text(net, (5, 3)) == text


class Tied(nn.Module):
    """An encoder and a decoder sharing one weight (tied weights), and a frozen head."""
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(4, 3, bias=False)
        self.dec = nn.Linear(3, 4, bias=False)
        self.dec.weight = self.enc.weight                     # shape (3, 4) used transposed below
        self.head = nn.Linear(4, 1)
        self.head.requires_grad_(False)

    def forward(self, x):
        h = self.enc(x)
        return self.head(h @ self.dec.weight)


def test_shared_parameters_counted_once_and_marked_frozen_separately():
    s = rd.summary(Tied(), (2, 4))
    assert s.total_params == 12 + 5
    assert s.shared_params == 12
    assert s.trainable_params == 12 and s.frozen_params == 5
    rows = {r["name"]: r for r in s.rows}
    assert rows["dec"]["params"] == 0 and rows["dec"]["shared_params"] == 12
    assert rows["head"]["trainable"] == "no" and rows["enc"]["trainable"] == "yes"
    text = str(s)
    assert "+12*" in text and "Shared params: 12" in text


def test_recurrent_mult_adds_and_repeated_calls():
    lstm = nn.LSTM(3, 5, num_layers=2)
    s = rd.summary(lstm, (7, 2, 3))
    per_step = 20 * 3 + 20 * 5 + 20 * 5 + 20 * 5              # weight_ih/hh of both layers
    assert s.mult_adds == 7 * 2 * per_step
    assert s.rows[0]["output_shape"] == (7, 2, 5)

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Linear(3, 3)

        def forward(self, x):
            for _ in range(4):
                x = self.f(x).tanh()
            return x
    s = rd.summary(Loop(), (1, 3))
    f = [r for r in s.rows if r["name"] == "f"][0]
    assert f["calls"] == 4 and "×4" in f["label"] and f["mult_adds"] == 4 * 9
    assert s.total_params == 12


def test_summary_restores_training_mode_and_checks_arguments():
    net = nn.Sequential(nn.Linear(3, 2))
    net.train()
    rd.summary(net, (1, 3))
    assert net.training and net[0].training
    with pytest.raises(TypeError, match="must be an nn.Module"):
        rd.summary("net", (1, 3))
    with pytest.raises(ValueError, match="tuple of non-negative ints"):
        rd.summary(net, (1, -3))
    with pytest.raises(TypeError, match="input_shape"):
        rd.summary(net)
    assert rd.summary(net, input_data=rd.ones(2, 3)).mult_adds == 12


def test_convolution_mult_adds():
    if not hasattr(nn, "Conv2d"):
        pytest.skip("no Conv2d yet")
    s = rd.summary(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), (2, 3, 8, 8))
    assert s.mult_adds == 2 * 8 * 8 * 8 * (3 * 3 * 3)          # per output element: C_in * k * k
    assert s.rows[1]["output_shape"] == (2, 8, 8, 8)
    if hasattr(nn, "ConvTranspose2d"):
        s = rd.summary(nn.ConvTranspose2d(8, 3, 3, stride=2), (2, 8, 4, 4))
        assert s.mult_adds == 2 * 8 * 4 * 4 * (3 * 3 * 3)      # per input element: C_out * k * k
