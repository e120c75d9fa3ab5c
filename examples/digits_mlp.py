"""Handwritten digits with a multilayer perceptron: 8x8 images flattened to 64 numbers -> 10 classes.

scikit-learn's bundled digits (1797 images, no download) are split 80/20, stratified; the MLP
64 -> 128 -> 64 -> 10 is trained with cross-entropy and Adam, and its accuracy is measured on the
20% it never trained on (about 97% after the full run).

Run:  python examples/digits_mlp.py            (quick: 8 epochs)
      python examples/digits_mlp.py --full     (60 epochs)
      redes demo digits_mlp
Plots: runs/digits_mlp/curves.png (loss and accuracy), runs/digits_mlp/mistakes.png (test digits it gets wrong).
"""
import argparse
import time
from pathlib import Path

import numpy as np

import redes as rd
from redes import nn


def load_digits_split(seed=0, test_size=0.2):
    """(X_train, y_train, X_test, y_test): pixels scaled to [0, 1] as float32, labels int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    return X_train, y_train, X_test, y_test


def main(argv=None):
    parser = argparse.ArgumentParser(prog="digits_mlp.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the long run (60 epochs)")
    parser.add_argument("--epochs", type=int, help="override the number of epochs (quick 8, full 60)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits_mlp", help="folder for the plots")
    args = parser.parse_args(argv)
    epochs = args.epochs or (60 if args.full else 8)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rd.manual_seed(args.seed)

    X_train, y_train, X_test, y_test = load_digits_split(args.seed)
    print(f"digits: {len(X_train)} training images, {len(X_test)} test images, 8x8 pixels, 10 classes")
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(),
                          nn.Linear(128, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    n_params = sum(p.numel() for p in model.parameters())
    start = time.perf_counter()
    history = rd.fit(model, (X_train, y_train), loss="cross_entropy", optimizer="adam", lr=args.lr,
                     epochs=epochs, batch_size=32, val_data=(X_test, y_test), metrics=["accuracy"],
                     seed=args.seed, verbose=False)
    seconds = time.perf_counter() - start

    logits = rd.predict(model, X_test)
    predicted = logits.argmax(1)
    accuracy = float((predicted == y_test).mean())
    h = history.history
    print(f"MLP 64 -> 128 -> 64 -> 10, {n_params:,} parameters, {epochs} epochs in {seconds:.1f} s")
    print(f"training loss {h['loss'][0]:.3f} -> {h['loss'][-1]:.3f}; "
          f"test accuracy {accuracy:.2%} ({int((predicted != y_test).sum())} of {len(y_test)} wrong)")

    rd.viz.plot_history({k: v for k, v in h.items() if k != "lr"}, out / "curves.png")
    _plot_mistakes(X_test, y_test, predicted, out / "mistakes.png")
    print(f"plots in {out}/: curves.png, mistakes.png")
    return {"history": h, "test_accuracy": accuracy, "n_parameters": n_params, "seconds": seconds}


def _plot_mistakes(X, y, predicted, path, n=24):
    """Up to n test digits the model gets wrong, titled 'true -> predicted'."""
    from matplotlib.figure import Figure
    wrong = np.flatnonzero(predicted != y)[:n]
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    fig = Figure(figsize=(cols * 1.1, rows * 1.3 + 0.3), layout="constrained")
    fig.suptitle(f"{int((predicted != y).sum())} test digits wrong (true -> predicted)")
    for k, i in enumerate(wrong):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(X[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{y[i]} -> {predicted[i]}", fontsize=9, color="C3")
        ax.set_axis_off()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
