"""The main job: train a network from a table (Estudio, Edad, Promedio -> N1, N2) and predict new rows."""
import time

import numpy as np

from ..data import read_table
from ..random import manual_seed
from .loop import fit, predict
from .metrics import get_metric

ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU", "elu": "ELU", "selu": "SELU",
               "silu": "SiLU", "leaky_relu": "LeakyReLU"}


def mlp(in_features, hidden, out_features, activation="relu"):
    """Sequential(Linear, activation, ..., Linear): a multilayer perceptron with the given hidden sizes."""
    from .. import nn
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp: unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}")
    layers, width = [], in_features
    for h in hidden:
        if h <= 0:
            raise ValueError(f"mlp: hidden sizes must be positive, got {list(hidden)}")
        layers += [nn.Linear(width, h), getattr(nn, ACTIVATIONS[activation])()]
        width = h
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def _split(n, val_split, seed):
    if not 0 <= val_split < 1:
        raise ValueError(f"fit_table: val_split must be in [0, 1), got {val_split}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_split)) if val_split > 0 else 0
    if val_split > 0 and (n_val == 0 or n_val == n):
        raise ValueError(f"fit_table: a table of {n} rows is too small for val_split={val_split}")
    return order[n_val:], order[:n_val]


def report_metrics(model, table, rows):
    """Metrics on `rows` of the table, in the original units (regression) or on class labels."""
    if len(rows) == 0:
        return {}
    out = predict(model, table.X[rows])
    pre = table.preprocessor
    if table.task == "classification":
        y = table.y[rows]
        return _computed(("accuracy", "f1"), out, y)
    pred = pre.inverse_targets(out)
    true = pre.inverse_targets(table.y[rows])
    result = _computed(("mae", "rmse", "r2"), pred, true)
    for j, name in enumerate(table.target_names):
        result.update({f"{k}_{name}": v for k, v in _computed(("mae", "r2"), pred[:, j], true[:, j]).items()})
    return result


def _computed(names, pred, target):
    result = {}
    for name in names:
        m = get_metric(name)
        m.reset()
        m.update(np.asarray(pred), np.asarray(target))
        result[name] = m.compute()
    return result


def fit_table(source, targets, *, features=None, task=None, hidden=(64, 64), activation="relu", loss=None,
              optimizer="adam", lr=1e-3, epochs=100, batch_size=32, val_split=0.2, seed=0, verbose=None,
              callbacks=()):
    """Read a table, train an MLP on it, and return (model, history, report).

    Numeric columns are standardised and text columns one-hot encoded (redes.data.read_table); the
    fitted preprocessing is kept as `model.preprocessor`, so rd.save/rd.load and rd.predict apply it to
    new rows. Regression uses MSE, classification cross-entropy, unless `loss` says otherwise.

    Example:
        >>> from redes.datasets.students import make_new_students, make_students
        >>> make_students(200).to_csv("students.csv", index=False)     # as examples/data/students.csv
        >>> model, history, report = rd.train.fit_table("students.csv", ["N1", "N2"], epochs=5)
        >>> list(rd.predict(model, make_new_students()).columns)      # a DataFrame of predictions
        ['N1', 'N2']
    """
    start = time.perf_counter()
    manual_seed(seed)
    table = read_table(source, targets=targets, features=features, task=task)
    train_rows, val_rows = _split(len(table), val_split, seed)
    model = mlp(table.n_features, hidden, table.n_outputs, activation)
    classify = table.task == "classification"
    loss = loss or ("cross_entropy" if classify else "mse")
    metrics = ("accuracy",) if classify else ("mae",)
    val = (table.X[val_rows], table.y[val_rows]) if len(val_rows) else None
    history = fit(model, (table.X[train_rows], table.y[train_rows]), loss=loss, optimizer=optimizer, lr=lr,
                  epochs=epochs, batch_size=batch_size, val_data=val, metrics=metrics, callbacks=callbacks,
                  verbose=verbose)
    model.preprocessor = table.preprocessor
    report = {"task": table.task, "targets": list(table.target_names), "features": list(table.feature_names),
              "rows": len(table), "train_rows": len(train_rows), "val_rows": len(val_rows),
              "n_parameters": model.num_parameters(), "epochs": len(history.epoch),
              "interrupted": history.interrupted, "final_loss": history["loss"][-1] if history.epoch else None,
              "val_metrics": report_metrics(model, table, val_rows), "seconds": time.perf_counter() - start}
    return model, history, report
