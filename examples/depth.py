"""Why deep? One wide hidden layer against four narrow ones, with exactly the same number of parameters.

Cybenko (1989) proved that one hidden layer of sigmoids can approximate any continuous function on a
compact set as closely as we like, given enough units: in theory, depth is not needed. In practice, deep
networks are easier: composing layers multiplies the number of pieces a ReLU network can draw (each layer
can fold the input again), while a single layer only adds them up. A 1-D ReLU network with one hidden layer
of H units is a piecewise-linear function with at most H kinks; four layers of 16 can produce far more.

The task makes this visible: a rough 1-D function, a zigzag (triangle wave) with several teeth plus a
smooth trend, sampled at 2000 points in [-1, 1]. Both networks get the same parameter budget, optimizer,
learning rate, batches and epochs:

    shallow-wide: 1 -> 288 -> 1                 3*288 + 1                        = 865 parameters
    deep-narrow:  1 -> 16 -> 16 -> 16 -> 16 -> 1  (16+16) + 3*(16*16+16) + (16+1) = 865 parameters

Run:  python examples/depth.py            (quick: 15 epochs)
      python examples/depth.py --full     (300 epochs)
      redes demo depth
Plot: runs/depth/depth.png (both learning curves in one panel; both fits against the target).
"""
import argparse
import time
from pathlib import Path

import numpy as np

import redes as rd
from redes import nn


def target(x, teeth):
    """A zigzag with `teeth` teeth on [-1, 1] plus a smooth trend: rough, but continuous."""
    zigzag = 2 * np.abs((x * teeth / 2) % 1 - 0.5) - 0.5
    return zigzag + 0.3 * np.sin(3 * x)


def mlp(widths):
    """ReLU MLP 1 -> widths... -> 1."""
    layers, previous = [], 1
    for w in widths:
        layers += [nn.Linear(previous, w), nn.ReLU()]
        previous = w
    return nn.Sequential(*layers, nn.Linear(previous, 1))


def count(model):
    return sum(p.numel() for p in model.parameters())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="depth.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the long run (300 epochs)")
    parser.add_argument("--epochs", type=int, help="override the number of epochs (quick 40, full 300)")
    parser.add_argument("--teeth", type=int, default=6, help="teeth of the zigzag on [-1, 1] (default 6)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/depth", help="folder for the plot")
    args = parser.parse_args(argv)
    epochs = args.epochs or (300 if args.full else 40)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1, 1, (2000, 1)).astype(np.float32)
    y = target(x, args.teeth).astype(np.float32)
    x_test = np.linspace(-1, 1, 1001, dtype=np.float32)[:, None]
    y_test = target(x_test, args.teeth).astype(np.float32)

    variants = {"shallow-wide 1-288-1": [288], "deep-narrow 1-16-16-16-16-1": [16, 16, 16, 16]}
    results = {}
    for name, widths in variants.items():
        rd.manual_seed(args.seed)
        model = mlp(widths)
        optimizer = rd.optim.Adam(model.parameters(), lr=args.lr)
        scheduler = rd.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=args.lr / 50)
        start = time.perf_counter()
        history = rd.fit(model, (x, y), loss="mse", optimizer=optimizer, scheduler=scheduler, epochs=epochs,
                         batch_size=32, val_data=(x_test, y_test), seed=args.seed, verbose=False)
        pred = rd.predict(model, x_test)
        results[name] = {"n_parameters": count(model), "history": history.history,
                         "test_mse": float(((pred - y_test) ** 2).mean()), "prediction": pred,
                         "seconds": time.perf_counter() - start}
        print(f"{name:28s} {count(model):4d} parameters: test MSE {results[name]['test_mse']:.5f} "
              f"after {epochs} epochs ({results[name]['seconds']:.1f} s)")
    counts = {r["n_parameters"] for r in results.values()}
    assert len(counts) == 1, f"the two networks should have the same budget, got {counts}"
    (shallow, s), (deep, d) = results.items()
    ratio = s["test_mse"] / d["test_mse"]
    if abs(ratio - 1) < 0.05:                    # "1.0x smaller" says nothing: call a tie a tie
        verdict = f"about the same as the wide one's ({d['test_mse']:.4g} vs {s['test_mse']:.4g})"
    elif ratio > 1:
        verdict = f"{ratio:.1f}x smaller"
    else:
        verdict = f"{1 / ratio:.1f}x larger (train longer: --full)"
    print(f"same budget ({counts.pop()} parameters): the deep network's error is {verdict}")

    _plot(results, x_test, y_test, out / "depth.png", args.teeth)
    print(f"plot in {out}/depth.png")
    return {"results": results, "plot": out / "depth.png"}


def _plot(results, x_test, y_test, path, teeth):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 2, 1)
    for k, (name, r) in enumerate(results.items()):
        epochs = range(1, len(r["history"]["val_loss"]) + 1)
        ax.plot(epochs, r["history"]["val_loss"], color=f"C{k}", label=f"{name} ({r['n_parameters']} params)")
    ax.set(yscale="log", xlabel="epoch", ylabel="test MSE", title="learning curves, same parameter budget")
    ax.grid(alpha=0.3)
    ax.legend()
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(x_test[:, 0], y_test[:, 0], color="k", lw=2, alpha=0.3, label=f"target ({teeth} teeth)")
    for k, (name, r) in enumerate(results.items()):
        ax.plot(x_test[:, 0], r["prediction"][:, 0], color=f"C{k}", lw=1, label=name)
    ax.set(xlabel="x", ylabel="f(x)", title="the fitted functions")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
