"""An LSTM learns the dynamics of noisy sine waves: at every step it predicts the next value.

Each sequence is a sine wave with its own frequency, phase and amplitude, plus measurement noise:

    x_t = a sin(w t + phi) + noise,   noise ~ Normal(0, 0.05^2)
    input x_0 .. x_{T-1}  ->  target x_1 .. x_T        (N, T, 1) -> (N, T, 1)

To predict well the network must infer each wave's frequency and phase from what it has seen so far:
its memory (the LSTM's cell state) carries that across steps. Two yardsticks: repeating the last value
(what a model without any idea of the wave would do) and the noise floor 0.05^2 = 0.0025, below which no
model can go. Last, the trained LSTM runs free: given the first half of a test wave, it continues it by
feeding its own predictions back as inputs.

Run:  python examples/lstm_sequence.py            (quick: 6 epochs)
      python examples/lstm_sequence.py --full     (30 epochs, 4000 waves: a few minutes)
      redes demo lstm_sequence
Plots: runs/lstm_sequence/curves.png (error per epoch vs the yardsticks),
       runs/lstm_sequence/predictions.png (one-step predictions and the free-running continuation vs truth).
"""
import argparse
import time
from pathlib import Path

import numpy as np

import redes as rd
from redes import nn

NOISE = 0.05


def make_waves(n, length, seed):
    """n noisy sine waves of length+1 steps: (inputs (n, length, 1), targets (n, length, 1), clean waves)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length + 1)
    omega = rng.uniform(0.15, 0.6, (n, 1))          # a period of about 10 to 40 steps
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.0, (n, 1))
    clean = amp * np.sin(omega * t + phase)
    noisy = (clean + rng.normal(0, NOISE, clean.shape)).astype(np.float32)
    return noisy[:, :-1, None], noisy[:, 1:, None], clean


class NextValue(nn.Module):
    """LSTM over the sequence, then a linear read-out of each hidden state: one prediction per step."""

    def __init__(self, hidden=32, layers=1):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        h, _ = self.lstm(x)                   # (N, T, hidden)
        return self.head(h)                   # (N, T, 1)


def free_run(model, prefix, steps):
    """Continue each sequence of prefix (n, t0, 1) for `steps` steps, feeding predictions back in."""
    model.eval()
    with rd.no_grad():
        out, state = model.lstm(rd.tensor(prefix))
        value = model.head(out[:, -1:])       # first prediction after the prefix
        generated = [value.numpy()]
        for _ in range(steps - 1):
            out, state = model.lstm(value, state)
            value = model.head(out)
            generated.append(value.numpy())
    return np.concatenate(generated, axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lstm_sequence.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the long run (30 epochs, 4000 waves)")
    parser.add_argument("--epochs", type=int, help="override the number of epochs (quick 6, full 30)")
    parser.add_argument("--waves", type=int, help="training waves (quick 1000, full 4000)")
    parser.add_argument("--length", type=int, default=50, help="steps per wave (default 50)")
    parser.add_argument("--hidden", type=int, default=32, help="LSTM hidden size (default 32)")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/lstm_sequence", help="folder for the plots")
    args = parser.parse_args(argv)
    epochs = args.epochs or (30 if args.full else 6)
    n_train = args.waves or (4000 if args.full else 1000)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rd.manual_seed(args.seed)

    X, y, _ = make_waves(n_train, args.length, args.seed)
    X_test, y_test, clean_test = make_waves(256, args.length, args.seed + 1)
    last_value = float(((X_test - y_test) ** 2).mean())
    print(f"{n_train} training waves, 256 test waves, {args.length} steps each; "
          f"yardsticks: repeat-last-value MSE {last_value:.4f}, noise floor {NOISE ** 2:.4f}")

    model = NextValue(args.hidden)
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = rd.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = rd.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=args.lr / 20)
    start = time.perf_counter()
    history = rd.fit(model, (X, y), loss="mse", optimizer=optimizer, scheduler=scheduler, epochs=epochs,
                     batch_size=32, val_data=(X_test, y_test), grad_clip=1.0, seed=args.seed, verbose=False)
    seconds = time.perf_counter() - start
    h = history.history
    pred = rd.predict(model, X_test)
    test_mse = float(((pred - y_test) ** 2).mean())
    late_mse = float(((pred[:, 10:] - y_test[:, 10:]) ** 2).mean())   # once it has seen 10 steps of the wave
    print(f"LSTM(1 -> {args.hidden}) + Linear, {n_params:,} parameters, {epochs} epochs in {seconds:.1f} s")
    for e in sorted({0, len(h['val_loss']) // 2, len(h['val_loss']) - 1}):
        print(f"  epoch {e + 1:3d}: test MSE {h['val_loss'][e]:.4f}")
    print(f"test MSE {test_mse:.4f} ({test_mse / last_value:.0%} of repeat-last-value); "
          f"after the first 10 steps {late_mse:.4f} (noise floor {NOISE ** 2:.4f})")

    half = args.length // 2
    continued = free_run(model, X_test[:4, :half], args.length + 1 - half)    # predicts x_half .. x_T
    free_mse = float(((continued[..., 0] - clean_test[:4, half:]) ** 2).mean())
    print(f"free-running continuation of the second half (no inputs): MSE {free_mse:.4f} vs the clean wave")

    rd.viz.plot_history({"loss": h["loss"], "val_loss": h["val_loss"]}, out / "curves.png")
    _plot(X_test, y_test, pred, clean_test, continued, half, last_value, h, out)
    print(f"plots in {out}/: curves.png, predictions.png")
    return {"history": h, "test_mse": test_mse, "late_mse": late_mse, "last_value_mse": last_value,
            "free_run_mse": free_mse, "n_parameters": n_params}


def _plot(X, y, pred, clean, continued, half, last_value, history, out):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(11, 7), layout="constrained")
    grid = fig.add_gridspec(2, 2)
    ax = fig.add_subplot(grid[0, 0])
    epochs = range(1, len(history["val_loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training")
    ax.plot(epochs, history["val_loss"], "--", label="test")
    ax.axhline(last_value, color="C3", ls=":", label="repeat last value")
    ax.axhline(NOISE ** 2, color="gray", ls=":", label="noise floor")
    ax.set(yscale="log", xlabel="epoch", ylabel="MSE", title="error falls below the yardsticks")
    ax.legend()
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(grid[0, 1])
    steps = np.arange(1, y.shape[1] + 1)
    ax.plot(steps, y[0, :, 0], ".", color="gray", label="noisy next value (target)")
    ax.plot(steps, clean[0, 1:], color="k", lw=0.8, label="clean wave")
    ax.plot(steps, pred[0, :, 0], color="C0", label="LSTM one-step prediction")
    ax.set(xlabel="step", title="one step ahead (test wave)")
    ax.legend(fontsize=8)
    for k in range(2):
        ax = fig.add_subplot(grid[1, k])
        t = np.arange(clean.shape[1])
        ax.plot(t, clean[k], color="k", lw=0.8, label="clean wave")
        ax.plot(t[:half], X[k, :half, 0], ".", color="gray", label="seen (noisy)")
        ax.plot(t[half:], continued[k, :, 0], color="C1", label="LSTM running free")
        ax.axvline(half - 0.5, color="gray", ls=":")
        ax.set(xlabel="step", title=f"free-running continuation, test wave {k + 1}")
        ax.legend(fontsize=8)
    fig.savefig(out / "predictions.png", dpi=100)


if __name__ == "__main__":
    main()
