"""The lecture's table: predict two exam grades from study hours, age and previous average.

    Estudio, Edad, Promedio  ->  N1, N2          (examples/data/students.csv, 1000 synthetic rows)

Steps, each one library call:
  1. read_table: standardise the three inputs and the two targets (the preprocessor remembers how);
  2. random_split: hold out 20% of the rows to measure the error on students the network never saw;
  3. the lecture's network, an MLP 3 -> 64 -> 64 -> 2, trained with rd.fit (MSE, Adam, cosine learning rate);
  4. the report: error on the held-out rows in grade points (0-20 scale);
  5. rd.predict on new rows (examples/data/students_new.csv; the lecture's three rows come first),
     compared with the noise-free grades of the formula that generated the table;
  6. rd.save / rd.load: the saved file predicts exactly the same.

The held-out error ends at the table's own noise (RMSE about 1.0 for N1, 1.2 for N2: the grades were
drawn as formula + noise), which no model can beat; more epochs only fit the noise.

Run:  python examples/students.py            (quick: 40 epochs, seconds)
      python examples/students.py --full     (100 epochs)
      redes demo students
Plots: runs/students/curves.png (training curves), runs/students/fit.png (predicted vs true grades).
"""
import argparse
import time
from pathlib import Path

import numpy as np

import redes as rd
from redes import nn
from redes.data import random_split, read_table
from redes.datasets import expected_grades

DATA = Path(__file__).resolve().parent / "data"


def build_model(n_in, n_out, hidden=64):
    """The lecture's network: two hidden layers of ReLU units."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="students.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the long run (100 epochs)")
    parser.add_argument("--epochs", type=int, help="override the number of epochs (quick 40, full 100)")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default 3e-3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/students", help="folder for plots and the model")
    args = parser.parse_args(argv)
    epochs = args.epochs or (100 if args.full else 40)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rd.manual_seed(args.seed)

    # 1-2. The table, standardised, and a held-out fifth.
    table = read_table(DATA / "students.csv", targets=["N1", "N2"])
    train, val = random_split(table.dataset(), [0.8, 0.2], seed=args.seed)
    print(f"{table}\n{len(train)} training rows, {len(val)} held out")

    # 3. Train.
    model = build_model(table.n_features, table.n_outputs)
    model.preprocessor = table.preprocessor        # so rd.predict / rd.save work on raw rows
    n_params = sum(p.numel() for p in model.parameters())
    start = time.perf_counter()
    optimizer = rd.optim.Adam(model.parameters(), lr=args.lr)
    # The learning rate glides to zero over the run (cosine): big steps first, fine ones at the end.
    scheduler = rd.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = rd.fit(model, train, loss="mse", optimizer=optimizer, scheduler=scheduler, epochs=epochs,
                     batch_size=32, val_data=val, seed=args.seed, verbose=False)
    seconds = time.perf_counter() - start
    h = history.history
    print(f"MLP 3 -> 64 -> 64 -> 2, {n_params:,} parameters, {epochs} epochs in {seconds:.1f} s: "
          f"training loss {h['loss'][0]:.3f} -> {h['loss'][-1]:.3f}, validation loss {h['val_loss'][-1]:.3f} "
          f"(MSE of standardised grades)")

    # 4. Error in grade points on the held-out rows.
    X_val, y_val = val[:]
    pred_val = table.preprocessor.inverse_targets(rd.predict(model, X_val))
    true_val = table.preprocessor.inverse_targets(y_val)
    mae = np.abs(pred_val - true_val).mean(0)
    rmse = np.sqrt(((pred_val - true_val) ** 2).mean(0))
    r2 = 1 - ((pred_val - true_val) ** 2).sum(0) / ((true_val - true_val.mean(0)) ** 2).sum(0)
    print("held-out error in grade points (0-20 scale; the table's own noise is about 1.0 for N1, 1.2 for N2):")
    for j, name in enumerate(table.target_names):
        print(f"  {name}: MAE {mae[j]:.2f}  RMSE {rmse[j]:.2f}  R2 {r2[j]:.3f}")

    # 5. New rows: the lecture's three first.
    new = str(DATA / "students_new.csv")               # (a path as str: rd.predict reads it)
    predictions = rd.predict(model, new)                   # a DataFrame N1, N2 in grade points
    rows = predictions.copy()
    import pandas as pd
    inputs = pd.read_csv(new)
    rows.insert(0, "Promedio", inputs["Promedio"])
    rows.insert(0, "Edad", inputs["Edad"])
    rows.insert(0, "Estudio", inputs["Estudio"])
    formula = np.stack(expected_grades(inputs["Estudio"].to_numpy(), inputs["Edad"].to_numpy(),
                                       inputs["Promedio"].to_numpy()), axis=1)
    rows["N1 formula"], rows["N2 formula"] = formula[:, 0], formula[:, 1]
    print("predictions for new students (first three: the lecture's rows), next to the noise-free formula:")
    print(rows.round(1).to_string(index=False))
    rows.to_csv(out / "predictions.csv", index=False, float_format="%.3f")

    # 6. Save, load, predict again: the same numbers.
    path = out / "students.model"
    rd.save(model, path)
    again = rd.predict(rd.load(path), new)
    same = np.allclose(again.to_numpy(), predictions.to_numpy(), rtol=0, atol=1e-6)
    print(f"saved {path} ({path.stat().st_size:,} bytes); reloaded model predicts the same: {same}")

    _plot(history.history, true_val, pred_val, table.target_names, out)
    print(f"plots in {out}/: curves.png, fit.png")
    return {"history": history.history, "predictions": rows, "mae": dict(zip(table.target_names, mae)),
            "r2": dict(zip(table.target_names, r2)), "reloaded_same": same, "model_path": path,
            "n_parameters": n_params}


def _plot(history, true, pred, names, out):
    rd.viz.plot_history({k: v for k, v in history.items() if k in ("loss", "val_loss")}, out / "curves.png")
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4 * len(names), 4), layout="constrained")
    for j, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), j + 1)
        ax.scatter(true[:, j], pred[:, j], s=8, alpha=0.6)
        ax.plot([0, 20], [0, 20], color="gray", lw=1)
        ax.set(xlabel=f"true {name}", ylabel=f"predicted {name}", title=f"{name} (held-out rows)",
               xlim=(0, 20), ylim=(0, 20), aspect="equal")
        ax.grid(alpha=0.3)
    fig.savefig(out / "fit.png", dpi=100)


if __name__ == "__main__":
    main()
