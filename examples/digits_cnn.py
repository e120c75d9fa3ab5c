"""Handwritten digits with a small convolutional network: the images stay 8x8 grids, not flat vectors.

    (N, 1, 8, 8) -> [Conv2d 3x3 -> BatchNorm2d -> ReLU] x 2 -> MaxPool2d -> (N, 32, 4, 4)
                 -> [Conv2d 3x3 -> BatchNorm2d -> ReLU] -> MaxPool2d -> (N, 64, 2, 2) -> Flatten -> Linear -> 10

Convolutions share their 3x3 weights across positions, so the network looks for the same strokes
everywhere in the image; it reaches about 99% test accuracy after the full run (the MLP: about 97%), with the same
80/20 split as digits_mlp.py.

Run:  python examples/digits_cnn.py            (quick: 3 epochs)
      python examples/digits_cnn.py --full     (10 epochs)
      redes demo digits_cnn
Plots: runs/digits_cnn/curves.png, runs/digits_cnn/filters.png (the first layer's 16 learned 3x3 filters).
"""
import argparse
import time
from pathlib import Path

import numpy as np

import redes as rd
from redes import nn


def load_digits_split(seed=0, test_size=0.2):
    """(X_train, y_train, X_test, y_test): images (N, 1, 8, 8) in [0, 1] as float32, labels int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    X = (digits.images[:, None] / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    return X_train, y_train, X_test, y_test


def build_cnn():
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(*block(1, 16), *block(16, 32), nn.MaxPool2d(2),     # 8x8 -> 4x4
                         *block(32, 64), nn.MaxPool2d(2),                    # 4x4 -> 2x2
                         nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 2 * 2, 10))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="digits_cnn.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the long run (10 epochs)")
    parser.add_argument("--epochs", type=int, help="override the number of epochs (quick 3, full 10)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits_cnn", help="folder for the plots")
    args = parser.parse_args(argv)
    epochs = args.epochs or (10 if args.full else 3)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rd.manual_seed(args.seed)

    X_train, y_train, X_test, y_test = load_digits_split(args.seed)
    print(f"digits: {len(X_train)} training images, {len(X_test)} test images, shape {X_train.shape[1:]}")
    model = build_cnn()
    n_params = sum(p.numel() for p in model.parameters())
    scheduler_epochs = max(epochs, 1)
    optimizer = rd.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = rd.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=scheduler_epochs)
    start = time.perf_counter()
    history = rd.fit(model, (X_train, y_train), loss="cross_entropy", optimizer=optimizer, scheduler=scheduler,
                     epochs=epochs, batch_size=32, val_data=(X_test, y_test), metrics=["accuracy"],
                     seed=args.seed, verbose=False)
    seconds = time.perf_counter() - start

    predicted = rd.predict(model, X_test).argmax(1)       # eval mode: BatchNorm uses its running statistics
    accuracy = float((predicted == y_test).mean())
    h = history.history
    print(f"CNN, {n_params:,} parameters, {epochs} epochs in {seconds:.1f} s")
    print(f"training loss {h['loss'][0]:.3f} -> {h['loss'][-1]:.3f}; "
          f"test accuracy {accuracy:.2%} ({int((predicted != y_test).sum())} of {len(y_test)} wrong)")

    rd.viz.plot_history({k: v for k, v in h.items() if k != "lr"}, out / "curves.png")
    _plot_filters(model[0].weight.detach().numpy(), out / "filters.png")
    print(f"plots in {out}/: curves.png, filters.png")
    return {"history": h, "test_accuracy": accuracy, "n_parameters": n_params, "seconds": seconds}


def _plot_filters(weight, path):
    """The first convolution's filters (16, 1, 3, 3) as small images (red positive, blue negative)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 2.4), layout="constrained")
    fig.suptitle("first-layer 3x3 filters")
    bound = float(np.abs(weight).max()) or 1.0
    for k in range(weight.shape[0]):
        ax = fig.add_subplot(2, (weight.shape[0] + 1) // 2, k + 1)
        ax.imshow(weight[k, 0], cmap="RdBu_r", vmin=-bound, vmax=bound)
        ax.set_axis_off()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
