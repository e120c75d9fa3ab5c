"""Models learn: a small ResNet-style CNN on scikit-learn's digits, an LSTM on a sequence task, and a DAG model
with a shared sub-network. Each is seeded and asserts a number."""
import numpy as np
import pytest

import redes as rd
from redes import nn
from redes.nn import functional as F


def _digits():
    """scikit-learn's 8x8 digits (1797 images), pixels scaled to [0, 1], a fixed stratified 80/20 split."""
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return model_selection.train_test_split(X, y.astype(np.int64), test_size=0.2, random_state=0, stratify=y)


class SmallResNet(nn.Module):
    """stem conv3x3-BN-ReLU, BasicBlock(w, w), BasicBlock(w, 2w, stride 2), global average pool, Linear(2w, 10)."""
    def __init__(self, width=12):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.layer1 = nn.BasicBlock(width, width)
        self.layer2 = nn.BasicBlock(width, 2 * width, stride=2)
        self.fc = nn.Linear(2 * width, 10)

    def forward(self, x):
        h = self.layer2(self.layer1(self.stem(x)))
        return self.fc(h.mean((2, 3)))


@pytest.mark.slow
def test_resnet_on_digits_reaches_97_percent():
    """5 epochs of Adam with a one-cycle learning rate (max 0.02), batches of 64. Seeds 0, 1, 2 give test
    accuracies of 0.986, 0.978, 0.983; the threshold is 0.97."""
    rd.manual_seed(0)
    X_train, X_test, y_train, y_test = _digits()
    model = SmallResNet()
    opt = rd.optim.Adam(model.parameters(), lr=0.02)
    epochs, batches = 5, len(X_train) // 64
    schedule = rd.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.02, total_steps=epochs * batches)
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        model.train()
        for idx in np.array_split(rng.permutation(len(X_train)), batches):
            opt.zero_grad()
            loss = F.cross_entropy(model(rd.tensor(X_train[idx])), rd.tensor(y_train[idx]))
            loss.backward()
            opt.step()
            schedule.step()
    model.eval()
    with rd.no_grad():
        accuracy = (model(rd.tensor(X_test)).argmax(1).numpy() == y_test).mean()
    assert accuracy >= 0.97, f"test accuracy {accuracy:.3f}"


def test_lstm_learns_the_sum_of_a_sequence():
    """y = (x_1 + ... + x_12) / 4 with x_t ~ U(-1, 1): the LSTM must carry a running sum through its cell.

    Baseline (always predict 0, the target's mean): MSE = Var(y) = 12 * (1/3) / 16 = 0.25. Threshold: test MSE
    below 0.0025, i.e. 1% of the baseline, after 200 Adam steps (it reaches about 3e-4).
    """
    rd.manual_seed(0)
    rng = np.random.default_rng(0)

    def batch(n):
        x = rng.uniform(-1, 1, (n, 12, 1)).astype(np.float32)
        return rd.tensor(x), rd.tensor(x.sum(1) / 4)
    lstm, head = nn.LSTM(1, 32, batch_first=True), nn.Linear(32, 1)
    opt = rd.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.01)
    for _ in range(200):
        x, y = batch(64)
        opt.zero_grad()
        loss = F.mse_loss(head(lstm(x)[0][:, -1]), y)
        loss.backward()
        opt.step()
    x, y = batch(1000)
    with rd.no_grad():
        mse = F.mse_loss(head(lstm(x)[0][:, -1]), y).item()
    baseline = (y.numpy() ** 2).mean()
    assert 0.2 < baseline < 0.3
    assert mse < 0.0025, f"test MSE {mse:.4f} (baseline {baseline:.3f})"


def test_dag_with_shared_subnetwork_trains():
    """Two inputs through ONE shared encoder (Siamese), a trunk read by two heads; both targets are learned.

    Targets: y1 = |f(a) - f(b)| summed, y2 = f(a) . f(b), with f a fixed random tanh map. Asserts the loss
    falls by a factor of at least 100 in 150 steps and that the encoder ran exactly twice per step (once per input).
    """
    rd.manual_seed(0)
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 3)).astype(np.float32)

    def f(x):
        return np.tanh(x @ W)
    A, Bv = rng.standard_normal((256, 6)).astype(np.float32), rng.standard_normal((256, 6)).astype(np.float32)
    Y1 = np.abs(f(A) - f(Bv)).sum(1, keepdims=True)
    Y2 = (f(A) * f(Bv)).sum(1, keepdims=True)
    encoder = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 16))
    calls = [0]
    encoder.register_forward_hook(lambda m, i, o: calls.__setitem__(0, calls[0] + 1))
    a, b = nn.Input((6,), name="a"), nn.Input((6,), name="b")
    ea, eb = encoder(a, name="encoder"), encoder(b)
    trunk = nn.Linear(48, 64)(nn.Concat(dim=1)(ea, eb, ea * eb), name="trunk").tanh()
    model = nn.Model([a, b], [nn.Linear(64, 1)(trunk, name="head1"), nn.Linear(64, 1)(trunk, name="head2")])
    opt = rd.optim.Adam(model.parameters(), lr=0.01)
    xa, xb, y1, y2 = (rd.tensor(v) for v in (A, Bv, Y1, Y2))
    losses = []
    for step in range(150):
        opt.zero_grad()
        p1, p2 = model(xa, xb)
        loss = F.mse_loss(p1, y1) + F.mse_loss(p2, y2)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert calls[0] == 2 * 150
    assert losses[-1] < losses[0] / 100, (losses[0], losses[-1])
