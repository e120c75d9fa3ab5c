"""The main job: train a network from a table (Estudio, Edad, Promedio -> N1, N2) and predict new rows.

The defaults were chosen by measurement against scikit-learn (``python -m bench tables``; numbers and the
runs that decided them in docs/tables.md): an MLP with a linear skip path, AdamW with weight decay,
early stopping on validation rows that keeps the best epoch's weights, and a small ensemble of such
models, one per fold of the training rows, averaged (so every row is used for training by most members
and every row is validated on once).
"""
import math
import sys
import time

import numpy as np

from ..data import read_table
from ..nn.module import Module, ModuleList
from ..random import manual_seed
from .callbacks import Callback, EarlyStopping
from .loop import fit, predict, report_metrics

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


class SkipMLP(Module):
    """An MLP plus a linear map of the same inputs: y = mlp(x) + linear(x).

    The linear path lets the network start from, and never do worse than, a linear model when the table
    is mostly linear (small tables often are); the MLP learns what the linear map misses.

    Args: in_features / hidden / out_features / activation: as :func:`mlp`.
    Shape: (N, in_features) -> (N, out_features)
    Example:
        >>> net = SkipMLP(3, (16, 16), 2)
        >>> net(rd.randn(5, 3)).shape
        (5, 2)
    """
    def __init__(self, in_features, hidden, out_features, activation="relu"):
        from .. import nn
        super().__init__()
        self.mlp = mlp(in_features, hidden, out_features, activation)
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return self.mlp(x) + self.linear(x)


class Ensemble(Module):
    """The average of several models' outputs.

    combine='mean': the mean of the outputs (regression). combine='probability': the log of the mean of
    the members' softmax probabilities, so argmax and softmax of the result are the averaged prediction
    (classification; averaging probabilities is better calibrated than averaging logits).

    Shape: (N, *) -> (N, out_features)
    Example:
        >>> ens = Ensemble([rd.nn.Linear(3, 2), rd.nn.Linear(3, 2)], combine="mean")
        >>> ens(rd.randn(4, 3)).shape
        (4, 2)
    """
    def __init__(self, members, combine="mean"):
        if combine not in ("mean", "probability"):
            raise ValueError(f"Ensemble: combine must be 'mean' or 'probability', got {combine!r}")
        if not members:
            raise ValueError("Ensemble: needs at least one member model")
        super().__init__()
        self.members = ModuleList(members)
        self.combine = combine

    def forward(self, *inputs):
        outs = [m(*inputs) for m in self.members]
        if self.combine == "mean":
            total = outs[0]
            for o in outs[1:]:
                total = total + o
            return total / len(outs)
        total = outs[0].softmax(-1)
        for o in outs[1:]:
            total = total + o.softmax(-1)
        return (total / len(outs)).clamp(min=1e-30).log()


def tabular_model(in_features, hidden, out_features, activation="relu", skip=True):
    """The network fit_table trains: SkipMLP, a plain MLP (skip=False), or one Linear (hidden=())."""
    hidden = tuple(hidden or ())
    if skip and hidden:
        return SkipMLP(in_features, hidden, out_features, activation)
    return mlp(in_features, hidden, out_features, activation)


def _splits(n, val_split, ensemble, seed):
    """(train_rows, val_rows) per member: k-fold for an ensemble, one random split otherwise."""
    if not 0 <= val_split < 1:
        raise ValueError(f"fit_table: val_split must be in [0, 1), got {val_split}")
    if not isinstance(ensemble, (int, np.integer)) or ensemble < 1:
        raise ValueError(f"fit_table: ensemble must be a positive integer, got {ensemble!r}")
    order = np.random.default_rng(seed).permutation(n)
    if val_split == 0 or n < 2:                    # no validation: every member sees every row
        return [(order, order[:0])] * ensemble
    if ensemble == 1:
        n_val = min(max(int(round(n * val_split)), 1), n - 1)
        return [(order[n_val:], order[:n_val])]
    folds = np.array_split(order, min(ensemble, n))
    return [(np.concatenate(folds[:k] + folds[k + 1:]), folds[k]) for k in range(len(folds))]


class EpochProgress(Callback):
    """One progress line every `every` epochs (and the first and last), or a tqdm bar over the epochs.

    The bar is used when `bar` is true (stderr is a terminal and tqdm is installed); a log file or a pipe
    gets the lines.
    """
    def __init__(self, epochs, every=None, prefix="", bar=None):
        self.epochs, self.prefix = epochs, prefix
        self.every = every or max(1, int(math.ceil(epochs / 10)))
        self.bar = sys.stderr.isatty() if bar is None else bar

    def on_train_begin(self, trainer):
        self._bar = None
        if self.bar:
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=self.epochs, desc=self.prefix.strip() or "training", leave=False,
                                 dynamic_ncols=True, file=sys.stderr)
            except ImportError:
                pass

    def on_epoch_end(self, trainer, epoch, logs):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k != "lr"})
            return
        if epoch == 0 or (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            shown = " - ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "lr")
            print(f"epoch {epoch + 1}/{self.epochs}{self.prefix} - {shown}", file=sys.stderr, flush=True)

    def on_train_end(self, trainer):
        if self._bar is not None:
            self._bar.close()


DEFAULTS = dict(hidden=(64, 64), activation="relu", skip=True, optimizer="adamw", lr=2e-3, weight_decay=0.1,
                epochs=200, batch_size=32, val_split=0.2, patience=20, ensemble=5, lr_schedule=None)


def fit_table(source, targets, *, features=None, task=None, categorical=None, read_options=None,
              hidden=DEFAULTS["hidden"], activation=DEFAULTS["activation"], skip=DEFAULTS["skip"], loss=None,
              optimizer=DEFAULTS["optimizer"], lr=DEFAULTS["lr"], weight_decay=DEFAULTS["weight_decay"],
              epochs=DEFAULTS["epochs"], batch_size=DEFAULTS["batch_size"], val_split=DEFAULTS["val_split"],
              patience=DEFAULTS["patience"], ensemble=DEFAULTS["ensemble"], lr_schedule=DEFAULTS["lr_schedule"],
              seed=0, verbose=None, callbacks=()):
    """Read a table, train a network on it, and return (model, history, report).

    Numeric columns are standardised and text columns one-hot encoded (redes.data.read_table); missing
    cells are imputed. The fitted preprocessing is kept as `model.preprocessor`, so rd.save/rd.load and
    rd.predict apply it to new rows. Regression uses MSE, classification cross-entropy, unless `loss`
    says otherwise.

    Args:
        source: CSV/Parquet path, DataFrame or dict of columns. targets: target column name(s).
        features / task / categorical: as read_table (task None: guessed; report['task_reason'] says why).
        read_options: passed to pandas' reader, e.g. {'sep': ';', 'decimal': ','}.
        hidden: hidden layer widths; () for a linear model. skip: add a linear path beside the MLP.
        optimizer / lr / weight_decay: the optimizer by name ('adamw', 'adam', 'sgd', ...).
        epochs: the most passes over the training rows; early stopping usually ends sooner.
        patience: stop a model when its validation loss has not improved for this many epochs and keep
            its best epoch's weights; 0 turns early stopping off (all `epochs` run).
        ensemble: train this many models, each validated on a different 1/ensemble of the rows (k-fold),
            and average their outputs; 1 trains one model, validated on a random `val_split` of the rows.
        val_split: validation fraction for ensemble=1; 0 means no validation rows (and no early stopping).
        seed: split, initialisation and shuffling. verbose: None: a progress line every tenth of the
            epochs (a bar on a terminal); True: a line per epoch; False: silent.
    Returns:
        (model, history of the first member, report dict: task, task_reason, targets, features, rows,
        train_rows, val_rows, epochs, best_epoch, val_metrics (out-of-fold for an ensemble), seconds, ...)

    Example:
        >>> from redes.datasets import make_students
        >>> make_students(60).to_csv("students.csv", index=False)
        >>> model, history, report = rd.train.fit_table("students.csv", ["N1", "N2"], epochs=3, verbose=False)
        >>> list(rd.predict(model, make_students(4).drop(columns=["N1", "N2"])).columns)   # a DataFrame
        ['N1', 'N2']
    """
    start = time.perf_counter()
    if not isinstance(patience, (int, np.integer)) or patience < 0:
        raise ValueError(f"fit_table: patience must be a whole number >= 0 (0: no early stopping), got {patience!r}")
    table = read_table(source, targets=targets, features=features, task=task, categorical=categorical,
                       **(read_options or {}))
    splits = _splits(len(table), val_split, ensemble, seed)
    classify = table.task == "classification"
    loss = loss or ("cross_entropy" if classify else "mse")
    metrics = ("accuracy",) if classify else ("mae",)
    members, histories, stoppers, oof_rows, oof_out = [], [], [], [], []
    interrupted = False
    for k, (train_rows, val_rows) in enumerate(splits):
        manual_seed(seed + k)
        model = tabular_model(table.n_features, hidden, table.n_outputs, activation, skip)
        val = (table.X[val_rows], table.y[val_rows]) if len(val_rows) else None
        stopper = EarlyStopping("val_loss", patience=patience) if patience and val is not None else None
        extra = [stopper] if stopper else []
        if verbose is None:
            extra.append(EpochProgress(epochs, prefix=f" (model {k + 1}/{len(splits)})" if len(splits) > 1 else ""))
        opt = _optimizer(optimizer, model, lr, weight_decay)
        history = fit(model, (table.X[train_rows], table.y[train_rows]), loss=loss, optimizer=opt,
                      epochs=epochs, batch_size=batch_size, val_data=val, metrics=metrics,
                      callbacks=[*callbacks, *extra], scheduler=_scheduler(lr_schedule, opt, epochs, val),
                      verbose=bool(verbose))
        members.append(model)
        histories.append(history)
        stoppers.append(stopper)
        if len(val_rows):
            oof_rows.append(val_rows)
            oof_out.append(predict(model, table.X[val_rows]))
        if history.interrupted:
            interrupted = True
            break
    if len(members) == 1:
        model = members[0]
    else:
        model = Ensemble(members, combine="probability" if classify else "mean")
    model.preprocessor = table.preprocessor
    rows = np.concatenate(oof_rows) if oof_rows else np.zeros(0, dtype=np.int64)
    outputs = np.concatenate(oof_out) if oof_out else None
    best = [s.best_epoch + 1 if s is not None and s.best_epoch is not None else len(h.epoch)
            for s, h in zip(stoppers, histories)]
    history = histories[0]
    history.interrupted = interrupted
    report = {"task": table.task, "task_reason": table.preprocessor.task_reason,
              "targets": list(table.target_names), "features": list(table.feature_names),
              "rows": len(table), "train_rows": len(splits[0][0]), "val_rows": len(rows),
              "n_models": len(members), "n_parameters": model.num_parameters(),
              "epochs": len(history.epoch), "epochs_run": [len(h.epoch) for h in histories], "best_epoch": best,
              "early_stopping": bool(patience and len(rows)), "interrupted": interrupted,
              "final_loss": history["loss"][-1] if history.epoch else None,
              "val_metrics": report_metrics(model, table, rows, outputs) if len(rows) else {},
              "seconds": time.perf_counter() - start}
    return model, history, report


def _scheduler(name, opt, epochs, val):
    """None, 'plateau' (lr x0.3 after 5 epochs without a better validation loss) or 'cosine' (to lr/100)."""
    from .. import optim
    if name is None or name == "none":
        return None
    if name == "plateau":
        return optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.3, patience=5)
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=opt.param_groups[0]["lr"] / 100)
    raise ValueError(f"fit_table: lr_schedule must be None, 'plateau' or 'cosine', got {name!r}")


def _optimizer(name, model, lr, weight_decay):
    """The optimizer by name with weight decay (AdamW's decoupled decay, or L2 for the others)."""
    from .. import optim
    from .loop import _OPTIMIZERS
    if not isinstance(name, str):
        return name
    cls = _OPTIMIZERS.get(name.lower())
    if cls is None:
        raise ValueError(f"fit_table: unknown optimizer {name!r}; expected one of {sorted(_OPTIMIZERS)}")
    if weight_decay < 0:
        raise ValueError(f"fit_table: weight_decay must be >= 0, got {weight_decay}")
    return getattr(optim, cls)(model.parameters(), lr=lr, weight_decay=weight_decay)
