"""Training curves (PNG) and the GradientStats callback, driven by a minimal trainer as the training loop would."""
import struct

import pytest

import redes as rd

nn = rd.nn


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_history_writes_a_png(tmp_path):
    fig = rd.viz.plot_history({"loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.7, 0.4], "mae": [0.9, 0.6, 0.5]},
                              tmp_path / "h" / "history.png")
    w, h = png_size(tmp_path / "h" / "history.png")
    assert w > 300 and h > 300
    assert len(fig.axes) == 2                                   # loss with val_loss, and mae

    class History:
        history = {"loss": [3.0, 2.0]}
    rd.viz.plot_history(History(), tmp_path / "h2.png")
    with pytest.raises(ValueError, match="no series"):
        rd.viz.plot_history({}, None)


class SGD:
    """The smallest optimizer: step() and zero_grad(), as the training loop calls them."""
    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def step(self):
        for p in self.params:
            p.data -= self.lr * p.grad.data

    def zero_grad(self):
        for p in self.params:
            p.grad = None


class Trainer:
    def __init__(self, model, lr=0.1):
        self.model, self.optimizer = model, SGD(model.parameters(), lr)


def run(stats, trainer, epochs=3, batches=4):
    """A training loop in the order Trainer calls callbacks (gradients cleared before on_batch_end)."""
    rd.manual_seed(0)
    x, y = rd.randn(32, 3), rd.randn(32, 2)
    stats.on_train_begin(trainer)
    for epoch in range(epochs):
        stats.on_epoch_begin(trainer, epoch)
        total = 0.0
        for b in range(batches):
            sl = slice(8 * b, 8 * b + 8)
            loss = ((trainer.model(x[sl]) - y[sl]) ** 2).mean()
            loss.backward()
            trainer.optimizer.step()
            trainer.optimizer.zero_grad()
            stats.on_batch_end(trainer, b, {"loss": loss.item()})
            total += loss.item()
        stats.on_epoch_end(trainer, epoch, {"loss": total / batches, "val_loss": total / batches + 0.1, "lr": 0.1})
    stats.on_train_end(trainer)


def test_gradient_stats_records_norms_and_update_ratios(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    trainer = Trainer(net)
    stats = rd.viz.GradientStats(tmp_path / "grads.png")
    run(stats, trainer)
    assert len(stats.records) == 3 * 4 * 4                      # steps x parameters
    assert {r["name"] for r in stats.records} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for r in stats.records:                                    # SGD: ||Δw|| = lr ||grad||, read before the step
        assert r["grad_norm"] > 0
        assert r["update_norm"] == pytest.approx(0.1 * r["grad_norm"], rel=1e-4)
        assert r["update_ratio"] == pytest.approx(r["update_norm"] / r["weight_norm"], rel=1e-9)
    assert [r["step"] for r in stats.records[::4]] == list(range(12))
    assert stats.records[-1]["epoch"] == 2
    assert stats.history["loss"] and len(stats.history["val_loss"]) == 3
    assert "step" not in trainer.optimizer.__dict__             # the optimizer's own step is back
    w, h = png_size(tmp_path / "grads.png")
    assert w > 300 and h > 600


def test_gradient_stats_every_and_without_optimizer():
    net = nn.Sequential(nn.Linear(3, 2))
    stats = rd.viz.GradientStats(every=3)
    run(stats, Trainer(net))
    assert sorted({r["step"] for r in stats.records}) == [0, 3, 6, 9]

    class Bare:                                                # no optimizer attribute: compare batch ends
        model = net
    bare = rd.viz.GradientStats()
    trainer = Bare()
    trainer.optimizer = None
    x = rd.ones(4, 3)
    bare.on_train_begin(trainer)
    for b in range(2):
        loss = net(x).sum()
        loss.backward()
        with rd.no_grad():
            for p in net.parameters():
                p.data -= 0.5 * p.grad.data
        bare.on_batch_end(trainer, b, {})
        net.zero_grad()
    assert len(bare.records) == 2 * 2 and all(r["update_norm"] > 0 for r in bare.records)
    with pytest.raises(ValueError, match="every must be a positive int"):
        rd.viz.GradientStats(every=0)


def test_plot_grad_stats_from_records(tmp_path):
    records = [{"step": s, "name": n, "ndim": 2, "grad_norm": 1.0 / (s + 1), "update_ratio": 1e-3 * (s + 1)}
               for s in range(5) for n in ("a.weight", "b.weight")]
    fig = rd.viz.plot_grad_stats(records, tmp_path / "g.png", history={"loss": [2.0, 1.0]})
    assert len(fig.axes) == 3
    assert png_size(tmp_path / "g.png")[1] > 600
    with pytest.raises(ValueError, match="no records"):
        rd.viz.plot_grad_stats([], None)


def test_gradient_stats_inside_rd_fit(tmp_path):
    if not hasattr(rd, "fit"):
        pytest.skip("the training loop is not there")
    rd.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x, y = rd.randn(32, 3).numpy(), rd.randn(32, 2).numpy()
    stats = rd.viz.GradientStats(tmp_path / "g.png")
    rd.fit(net, (x, y), loss="mse", optimizer="sgd", lr=0.1, epochs=2, batch_size=8, callbacks=[stats],
           verbose=False)
    assert len(stats.records) == 2 * 4 * 4 and stats.history["loss"]
    assert all(r["update_norm"] == pytest.approx(0.1 * r["grad_norm"], rel=1e-4) for r in stats.records)
    assert png_size(tmp_path / "g.png")[1] > 600
