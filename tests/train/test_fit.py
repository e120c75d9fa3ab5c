"""fit / evaluate / predict, metrics and callbacks."""
import csv

import numpy as np
import pytest

import redes as rd
from redes import nn
from redes.train import metrics as M


def regression_data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (np.sin(X[:, :1]) + X[:, 1:2] * X[:, 2:3]).astype(np.float32)
    return X, y


def classification_data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = ((X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)).astype(np.int64)
    return X, y


def test_fit_reduces_loss_and_records_history():
    X, y = regression_data()
    model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))
    h = rd.fit(model, (X, y), loss="mse", lr=0.01, epochs=30, batch_size=16, val_data=(X[:32], y[:32]),
               metrics=["mae", "rmse", "r2"], verbose=False, seed=0)
    assert len(h["loss"]) == 30 and len(h["val_loss"]) == 30 and len(h["lr"]) == 30
    assert h["loss"][-1] < 0.25 * h["loss"][0]
    assert h["val_r2"][-1] > 0.8
    ev = rd.evaluate(model, (X[:32], y[:32]), loss="mse", metrics=["rmse"])
    assert ev["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-5)
    assert ev["rmse"] == pytest.approx(np.sqrt(ev["loss"]), rel=1e-5)


def test_predict_matches_forward_in_eval_mode():
    X, _ = regression_data(40)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    out = rd.predict(model, X, batch_size=7)
    model.eval()
    np.testing.assert_allclose(out, model(rd.tensor(X)).numpy(), rtol=1e-6)
    assert model.training is False
    model.train()
    rd.predict(model, X)
    assert model.training is True                         # predict restores the mode it found


def test_classification_metrics_and_accumulation():
    X, y = classification_data()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    h = rd.fit(model, (X, y), loss="cross_entropy", optimizer="adam", lr=0.02, epochs=25, batch_size=10,
               accumulate=3, grad_clip=1.0, metrics=["accuracy", "f1", "top2"], verbose=False, seed=0)
    assert h["accuracy"][-1] > 0.9
    assert h["top2_accuracy"][-1] >= h["accuracy"][-1]


def test_gradient_accumulation_equals_large_batch():
    """accumulate=4 over batches of 8 == one batch of 32 (mean-reduced loss, plain SGD)."""
    X, y = regression_data(32)

    def run(batch_size, accumulate):
        rd.manual_seed(3)
        model = nn.Linear(4, 1)
        rd.fit(model, (X, y), loss="mse", optimizer=rd.optim.SGD(model.parameters(), lr=0.1), epochs=1,
               batch_size=batch_size, accumulate=accumulate, shuffle=False, verbose=False)
        return model.weight.numpy()

    np.testing.assert_allclose(run(8, 4), run(32, 1), rtol=1e-5)
    assert not np.allclose(run(8, 1), run(32, 1), rtol=1e-5)       # without accumulation it differs


def test_metrics_against_numpy():
    rng = np.random.default_rng(0)
    p, t = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    for m, expect in [(M.MAE(), np.abs(p - t).mean()), (M.RMSE(), np.sqrt(((p - t) ** 2).mean()))]:
        m.reset(); m.update(p[:20], t[:20]); m.update(p[20:], t[20:])
        assert m.compute() == pytest.approx(expect)
    sklearn = pytest.importorskip("sklearn.metrics")
    r2 = M.R2(); r2.reset(); r2.update(p[:25], t[:25]); r2.update(p[25:], t[25:])
    assert r2.compute() == pytest.approx(sklearn.r2_score(t, p))
    logits, labels = rng.normal(size=(60, 4)), rng.integers(0, 4, 60)
    f1 = M.F1(); f1.reset(); f1.update(logits, labels)
    assert f1.compute() == pytest.approx(sklearn.f1_score(labels, logits.argmax(1), average="macro"))
    top = M.TopKAccuracy(2); top.reset(); top.update(logits, labels)
    assert top.compute() == pytest.approx(sklearn.top_k_accuracy_score(labels, logits, k=2))
    with pytest.raises(ValueError, match="unknown metric"):
        M.get_metric("precision@3")


def test_early_stopping_restores_best_weights():
    X, y = regression_data(64)
    model = nn.Linear(4, 1)
    stop = rd.train.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # a learning rate far too large makes val_loss rise: early stopping must stop and restore
    h = rd.fit(model, (X, y), loss="mse", optimizer=rd.optim.SGD(model.parameters(), lr=0.5), epochs=50,
               val_data=(X, y), callbacks=[stop], verbose=False, seed=0)
    assert len(h["val_loss"]) < 50
    best = min(h["val_loss"])
    assert rd.evaluate(model, (X, y), loss="mse")["loss"] == pytest.approx(best, rel=1e-4)


def test_checkpoint_and_csv_logger_and_scheduler(tmp_path):
    X, y = regression_data(64)
    model = nn.Linear(4, 1)
    opt = rd.optim.SGD(model.parameters(), lr=0.1)
    sched = rd.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    ck = rd.train.ModelCheckpoint(str(tmp_path / "best.safetensors"), monitor="val_loss", save_best_only=True)
    log = rd.train.CSVLogger(str(tmp_path / "log.csv"))
    h = rd.fit(model, (X, y), loss="mse", optimizer=opt, scheduler=sched, epochs=4, val_data=(X, y),
               callbacks=[ck, log], verbose=False)
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert (tmp_path / "best.safetensors").exists()
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert float(rows[-1]["val_loss"]) == pytest.approx(h["val_loss"][-1])


def test_custom_callback_can_stop_training():
    X, y = regression_data(32)
    seen = []

    class StopAfterTwo(rd.train.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(logs["loss"])
            if epoch == 1:
                trainer.stop_training = True

    h = rd.fit(nn.Linear(4, 1), (X, y), loss="mse", epochs=10, callbacks=[StopAfterTwo()], verbose=False)
    assert len(seen) == 2 and len(h["loss"]) == 2


def test_keyboard_interrupt_saves_checkpoint_and_stops(tmp_path):
    X, y = regression_data(32)

    class Interrupt(rd.train.Callback):
        def on_batch_end(self, trainer, batch, logs):
            if trainer.epoch == 1:
                raise KeyboardInterrupt

    model = nn.Linear(4, 1)
    h = rd.fit(model, (X, y), loss="mse", epochs=5, callbacks=[Interrupt()], verbose=False,
               checkpoint_on_interrupt=str(tmp_path / "int.safetensors"))
    assert h.interrupted and len(h["loss"]) == 1
    epoch, _ = rd.load_checkpoint(tmp_path / "int.safetensors", nn.Linear(4, 1))
    assert epoch == 1


def test_nan_loss_is_reported():
    X, y = regression_data(16)
    y[0] = np.nan
    with pytest.raises(FloatingPointError, match="loss became nan"):
        rd.fit(nn.Linear(4, 1), (X, y), loss="mse", epochs=1, verbose=False)


def test_bad_arguments_are_clear():
    X, y = regression_data(16)
    with pytest.raises(ValueError, match="unknown loss"):
        rd.fit(nn.Linear(4, 1), (X, y), loss="msee")
    with pytest.raises(ValueError, match="unknown optimizer"):
        rd.fit(nn.Linear(4, 1), (X, y), loss="mse", optimizer="adamm")
    with pytest.raises(TypeError, match="train_data"):
        rd.fit(nn.Linear(4, 1), 42, loss="mse")


def test_nan_loss_stops_before_the_step():
    """The loss is checked before opt.step(): the weights stay those before the bad batch; the error names
    the epoch and the batch."""
    X, y = regression_data(32)
    y = y.copy()
    y[20] = np.nan                                         # batch 3 of 4 (batches of 8, no shuffle)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    seen = {}

    class Snapshot(rd.train.Callback):
        def on_batch_end(self, trainer, batch, logs):
            seen[batch] = [p.numpy().copy() for p in trainer.model.parameters()]

    with pytest.raises(FloatingPointError, match="epoch 1, batch 3"):
        rd.fit(model, (X, y), loss="mse", lr=0.1, epochs=2, batch_size=8, shuffle=False, callbacks=[Snapshot()],
               verbose=False)
    assert sorted(seen) == [0, 1]
    for after_batch_2, now in zip(seen[1], model.parameters()):
        np.testing.assert_array_equal(after_batch_2, now.numpy())     # no step was taken on the NaN
        assert np.isfinite(now.numpy()).all()


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

    def forward(self, x1, x2):
        return self.a(x1) * self.b(x2)


def test_predict_passes_every_input_of_a_batch():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(10, 3)).astype(np.float32), rng.normal(size=(10, 5)).astype(np.float32)
    model = _TwoInputs()
    expected = model(rd.tensor(x1), rd.tensor(x2)).numpy()
    np.testing.assert_allclose(rd.predict(model, (x1, x2), batch_size=4), expected, rtol=1e-6)
    dataset = rd.data.TensorDataset(x1, x2)              # a Dataset of (x1, x2) items: both are inputs too
    np.testing.assert_allclose(rd.predict(model, dataset, batch_size=3), expected, rtol=1e-6)


def test_early_stopping_restores_the_best_epoch():
    X, y = regression_data(64)
    Xv, yv = regression_data(32, seed=1)
    model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 1))
    stopper = rd.train.EarlyStopping(patience=3)
    h = rd.fit(model, (X, y), loss="mse", lr=0.05, epochs=200, batch_size=8, val_data=(Xv, yv),
               callbacks=[stopper], verbose=False, seed=0)
    best = int(np.argmin(h["val_loss"]))
    assert stopper.best_epoch == best and len(h.epoch) == best + 4 < 200
    assert rd.evaluate(model, (Xv, yv), loss="mse")["loss"] == pytest.approx(h["val_loss"][best], rel=1e-5)
