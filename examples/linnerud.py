"""Several targets at once, from a pandas DataFrame: scikit-learn's linnerud table, and a lesson about small data.

Linnerud (bundled with scikit-learn, no download): 20 middle-aged men, three exercises (Chins, Situps,
Jumps) and three body measurements (Weight, Waist, Pulse). One network predicts all three measurements
from the three exercises: its last layer has 3 outputs and the loss is the MSE over all of them.

    DataFrame -> read_table(frame, targets=["Weight", "Waist", "Pulse"]) -> MLP 3 -> ... -> 3 -> rd.fit

Twenty rows is very little. The script measures two things:
  * the fit on the rows it trained on (all 20): a big network memorises them (R2 near 1);
  * 5-fold cross-validation: train on 16 men, predict the 4 left out, five times. The preprocessing is
    fitted on each fold's 16 training rows only (read_table), then applied to the 4 held out, so
    nothing about them leaks into training. Here R2 falls to about 0 or below: no model predicts a
    new man's weight from his exercises much better than the average does (a linear regression does no
    better either).
A small network with weight decay overfits less than the big one; neither finds signal that is not there.

Run:  python examples/linnerud.py            (quick: 200 epochs per fit)
      python examples/linnerud.py --full     (1000 epochs per fit)
      redes demo linnerud
Plot: runs/linnerud/linnerud.png (predicted vs measured, per target: training fit and cross-validation).
"""
import argparse
from pathlib import Path

import numpy as np

import redes as rd
from redes import nn
from redes.data import read_table

TARGETS = ["Weight", "Waist", "Pulse"]
FEATURES = ["Chins", "Situps", "Jumps"]
CONFIGS = {
    "big MLP 3-64-64-3": dict(hidden=(64, 64), weight_decay=0.0),
    "small MLP 3-4-3 + weight decay": dict(hidden=(4,), weight_decay=0.3),
}


def load_frame():
    """The linnerud table as one DataFrame: 3 exercise columns then 3 measurement columns."""
    from sklearn.datasets import load_linnerud
    return load_linnerud(as_frame=True).frame


def mlp(n_in, hidden, n_out):
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.Tanh()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, n_out))


def train(frame, config, epochs, lr, seed):
    """Fit preprocessing and an MLP on `frame`; the model carries its preprocessor (rd.predict takes rows)."""
    table = read_table(frame, targets=TARGETS, features=FEATURES)
    rd.manual_seed(seed)
    model = mlp(table.n_features, config["hidden"], table.n_outputs)
    model.preprocessor = table.preprocessor
    optimizer = rd.optim.AdamW(model.parameters(), lr=lr, weight_decay=config["weight_decay"])
    history = rd.fit(model, table, loss="mse", optimizer=optimizer, epochs=epochs, batch_size=len(table),
                     seed=seed, verbose=False)
    return model, history


def r2_scores(true, pred):
    """R2 per column: 1 - SSE / SST (0: as good as predicting the mean of `true`)."""
    true, pred = np.asarray(true, dtype=float), np.asarray(pred, dtype=float)
    return 1 - ((true - pred) ** 2).sum(0) / ((true - true.mean(0)) ** 2).sum(0)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="linnerud.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the long run (1000 epochs per fit)")
    parser.add_argument("--epochs", type=int, help="override epochs per fit (quick 200, full 1000)")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/linnerud", help="folder for the plot")
    args = parser.parse_args(argv)
    epochs = args.epochs or (1000 if args.full else 200)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    frame = load_frame()
    print(f"linnerud: {len(frame)} rows; features {FEATURES} -> targets {TARGETS}")
    print(frame.describe().loc[["mean", "std", "min", "max"]].round(1).to_string())
    truth = frame[TARGETS].to_numpy(dtype=float)

    # The fit on the training rows themselves.
    fitted = {}
    for name, config in CONFIGS.items():
        model, history = train(frame, config, epochs, args.lr, args.seed)
        fitted[name] = rd.predict(model, frame[FEATURES])          # DataFrame Weight, Waist, Pulse
        r2 = r2_scores(truth, fitted[name])
        print(f"{name:32s} trained on all 20: R2 " + "  ".join(f"{t} {v:5.2f}" for t, v in zip(TARGETS, r2))
              + f"  (final loss {history.history['loss'][-1]:.3f})")

    # Cross-validation: each row is predicted by a model that never saw it.
    folds = np.array_split(np.random.default_rng(args.seed).permutation(len(frame)), args.folds)
    cv = {name: np.zeros_like(truth) for name in CONFIGS}
    for fold in folds:
        train_rows = frame.drop(index=frame.index[fold])
        for name, config in CONFIGS.items():
            model, _ = train(train_rows, config, epochs, args.lr, args.seed)
            cv[name][fold] = rd.predict(model, frame.iloc[fold][FEATURES]).to_numpy()
    mean_baseline = np.zeros_like(truth)
    for fold in folds:
        mean_baseline[fold] = np.delete(truth, fold, axis=0).mean(0)
    cv_r2 = {name: r2_scores(truth, pred) for name, pred in cv.items()}
    cv_r2["mean of the training rows"] = r2_scores(truth, mean_baseline)
    print(f"{args.folds}-fold cross-validation (rows never seen in training):")
    for name, r2 in cv_r2.items():
        print(f"  {name:32s} R2 " + "  ".join(f"{t} {v:5.2f}" for t, v in zip(TARGETS, r2)))
    print("-> the big network memorises 20 rows but does not generalise: with this little data, keep the model "
          "small, regularise it, and always measure on rows it did not train on.")

    _plot(truth, fitted, cv, out / "linnerud.png")
    print(f"plot in {out}/linnerud.png")
    return {"train_predictions": fitted, "cv_predictions": cv, "train_r2": {n: r2_scores(truth, p)
            for n, p in fitted.items()}, "cv_r2": cv_r2}


def _plot(truth, fitted, cv, path):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(12, 4), layout="constrained")
    for j, target in enumerate(TARGETS):
        ax = fig.add_subplot(1, len(TARGETS), j + 1)
        lo, hi = truth[:, j].min(), truth[:, j].max()
        ax.plot([lo, hi], [lo, hi], color="gray", lw=1)
        for k, name in enumerate(fitted):
            ax.scatter(truth[:, j], np.asarray(fitted[name])[:, j], s=14, color=f"C{k}", marker="o",
                       alpha=0.5, label=f"{name}, trained on these rows")
            ax.scatter(truth[:, j], cv[name][:, j], s=22, color=f"C{k}", marker="x",
                       label=f"{name}, cross-validated")
        ax.set(xlabel=f"measured {target}", ylabel=f"predicted {target}", title=target)
        ax.grid(alpha=0.3)
        if j == 0:
            ax.legend(fontsize=7)
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
