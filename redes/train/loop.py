"""fit / evaluate / predict: the training loop every redes model uses.

The loop is the five lines a user would write (zero_grad, forward, loss, backward, step) plus
callbacks, metrics, gradient clipping and accumulation, and a clean stop on Ctrl-C.
"""
import math
import os
import sys
import time

import numpy as np

from .. import backend as B
from ..autograd import no_grad
from ..data import DataLoader, Dataset, Table, TensorDataset
from ..random import manual_seed
from ..tensor import Tensor
from .callbacks import Callback, LRSchedulerCallback
from .metrics import get_metric

_LOSSES = {"mse": "mse_loss", "l2": "mse_loss", "mae": "l1_loss", "l1": "l1_loss", "huber": "huber_loss",
           "smooth_l1": "smooth_l1_loss", "cross_entropy": "cross_entropy", "ce": "cross_entropy",
           "nll": "nll_loss", "bce": "binary_cross_entropy", "bce_with_logits": "binary_cross_entropy_with_logits",
           "kl_div": "kl_div"}
_OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def get_loss(loss):
    """A loss function from a name ('mse', 'cross_entropy', 'bce_with_logits', 'l1', 'huber', ...) or a callable."""
    if callable(loss):
        return loss
    from ..nn import functional as F
    if isinstance(loss, str) and loss.lower() in _LOSSES:
        return getattr(F, _LOSSES[loss.lower()])
    raise ValueError(f"fit: unknown loss {loss!r}; expected a callable or one of {sorted(_LOSSES)}")


def get_optimizer(optimizer, model, lr):
    """An optimizer over model.parameters() from a name ('adam', 'sgd', ...) or an Optimizer instance."""
    from .. import optim
    if isinstance(optimizer, str):
        name = _OPTIMIZERS.get(optimizer.lower())
        if name is None:
            raise ValueError(f"fit: unknown optimizer {optimizer!r}; expected one of {sorted(_OPTIMIZERS)}")
        return getattr(optim, name)(model.parameters(), lr=lr)
    if not hasattr(optimizer, "step"):
        raise TypeError(f"fit: optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
    return optimizer


def as_loader(data, batch_size, shuffle, name="data"):
    """A DataLoader from a DataLoader, Dataset, Table or (X, y) arrays/Tensors."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Table):
        data = data.dataset()
    elif isinstance(data, (tuple, list)):
        data = TensorDataset(*[d.numpy() if isinstance(d, Tensor) else np.asarray(d) for d in data])
    if not isinstance(data, Dataset) and not (hasattr(data, "__getitem__") and hasattr(data, "__len__")):
        raise TypeError(f"fit: {name} must be a DataLoader, Dataset, Table or an (X, y) tuple, "
                        f"got {type(data).__name__}")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle)


def _split_batch(batch, device=None):
    """(inputs, target) from a loader batch (the last element is the target), moved to the model's device."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError("fit: each batch must be (inputs..., target); got a batch of "
                         f"{len(batch) if isinstance(batch, (tuple, list)) else 1} element(s)")
    batch = _to_device(batch, device)
    return batch[:-1], batch[-1]


def _model_device(model):
    """The device of the model's first parameter (None: no parameters, or the CPU with no other device in use)."""
    if not B.multi:
        return None
    for p in model.parameters():
        return p.device
    return None


def _to_device(batch, device):
    """A loader's batch (CPU tensors) moved to the model's device, as `x.to(device)` in a torch loop."""
    if device is None:
        return batch
    return type(batch)(b.to(device) if isinstance(b, Tensor) else b for b in batch)


def _host(t):
    """A result as a NumPy array (a copy from another device), for metrics and predictions."""
    return B.to_numpy(t.array)


class History:
    """What fit() returns: `history` maps 'loss', 'val_loss', metric names, 'lr' to per-epoch lists."""
    def __init__(self):
        self.history, self.epoch, self.interrupted = {}, [], False

    def record(self, epoch, logs):
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        last = {k: round(v[-1], 5) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


class Trainer:
    """Holds what one training run needs; `fit()` is the convenient way to use it."""
    def __init__(self, model, loss, optimizer="adam", lr=1e-3, metrics=(), callbacks=(), scheduler=None,
                 grad_clip=None, accumulate=1, verbose=None, distributed=None):
        if accumulate < 1:
            raise ValueError(f"fit: accumulate must be >= 1, got {accumulate}")
        self.model, self.loss_fn = model, get_loss(loss)
        self.optimizer = get_optimizer(optimizer, model, lr)
        self.distributed = _distributed(distributed)
        self.rank, self.seed = 0, 0           # seed: the shuffling of the ranks' shares (fit passes its own)
        self.forward_model = model          # what the training steps call: model, or its DistributedDataParallel
        if self.distributed:
            from .. import distributed as dist
            from .callbacks import CSVLogger, ModelCheckpoint
            self.rank = dist.rank()
            if not isinstance(model, dist.DistributedDataParallel):
                self.forward_model = dist.DistributedDataParallel(model)
            if self.rank:                   # only rank 0 prints and writes files
                verbose = False
                callbacks = [c for c in callbacks if not isinstance(c, (CSVLogger, ModelCheckpoint))]
        self.metrics = [get_metric(m) for m in metrics]
        self.scheduler, self.grad_clip, self.accumulate = scheduler, grad_clip, accumulate
        self.callbacks = list(callbacks)
        if scheduler is not None and not any(isinstance(c, LRSchedulerCallback) for c in self.callbacks):
            self.callbacks.append(LRSchedulerCallback(scheduler))
        for c in self.callbacks:
            if not isinstance(c, Callback) and not hasattr(c, "on_epoch_end"):
                raise TypeError(f"fit: callbacks must be Callback objects, got {type(c).__name__}")
        self.verbose = sys.stderr.isatty() if verbose is None else bool(verbose)
        self.history, self.stop_training, self.epoch = History(), False, 0

    def _call(self, hook, *args):
        for c in self.callbacks:
            method = getattr(c, hook, None)
            if method is not None:
                method(self, *args)

    def train_epoch(self, loader):
        """One pass over loader; returns the epoch's logs (mean loss and metrics on the training batches)."""
        model, opt, acc = self.forward_model, self.optimizer, self.accumulate
        model.train()
        for m in self.metrics:
            m.reset()
        total, count = 0.0, 0
        batches = _progress(loader, self.verbose, f"epoch {self.epoch + 1}")
        n_batches = len(loader)
        device = _model_device(model)
        opt.zero_grad()
        for i, batch in enumerate(batches):
            inputs, target = _split_batch(batch, device)
            out = model(*inputs)
            loss = self.loss_fn(out, target)
            value, n = loss.item(), len(target)
            if not math.isfinite(value):          # before the step: the weights stay those of the last good batch
                raise FloatingPointError(f"fit: the loss became {value} at epoch {self.epoch + 1}, batch {i + 1}; "
                                         "the weights are those before this batch's step; lower the learning "
                                         "rate, or run under rd.detect_anomaly() to find the op")
            (loss / acc if acc > 1 else loss).backward()
            if (i + 1) % acc == 0 or i + 1 == n_batches:
                if self.grad_clip is not None:
                    from ..nn.utils import clip_grad_norm_
                    clip_grad_norm_(model.parameters(), self.grad_clip)
                opt.step()
                opt.zero_grad()
            total, count = total + value * n, count + n
            for m in self.metrics:
                m.update(_host(out), _host(target))
            self._call("on_batch_end", i, {"loss": value})
            if hasattr(batches, "set_postfix"):
                batches.set_postfix(loss=f"{total / count:.4f}")
        logs = {"loss": total / max(count, 1)}
        logs.update({m.name: m.compute() for m in self.metrics})
        return _mean_over_ranks(logs, count) if self.distributed else logs

    def fit(self, train_data, epochs=10, batch_size=32, shuffle=True, val_data=None, initial_epoch=0,
            checkpoint_on_interrupt=None):
        if self.distributed and not isinstance(train_data, DataLoader):
            from ..distributed.sampler import ShardedLoader      # this rank's share of the rows, batch_size each
            loader = ShardedLoader(as_loader(train_data, batch_size, shuffle, "train_data").dataset, batch_size,
                                   shuffle, seed=self.seed)
        else:
            loader = as_loader(train_data, batch_size, shuffle, "train_data")
        val_loader = as_loader(val_data, max(batch_size, 256), False, "val_data") if val_data is not None else None
        self._call("on_train_begin")
        try:
            for epoch in range(initial_epoch, epochs):
                self.epoch, start = epoch, time.perf_counter()
                self._call("on_epoch_begin", epoch)
                if hasattr(loader, "set_epoch"):
                    loader.set_epoch(epoch)
                logs = self.train_epoch(loader)
                if val_loader is not None:
                    val = evaluate(self.model, val_loader, loss=self.loss_fn, metrics=self.metrics)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = self.optimizer.param_groups[0]["lr"]
                self._call("on_epoch_end", epoch, logs)
                self.history.record(epoch, logs)
                if self.verbose:
                    shown = " - ".join(f"{k} {v:.4g}" for k, v in logs.items())
                    print(f"epoch {epoch + 1}/{epochs} - {shown} - {time.perf_counter() - start:.1f}s", file=sys.stderr)
                if self.stop_training:
                    break
        except KeyboardInterrupt:
            self.history.interrupted = True
            if checkpoint_on_interrupt is not None:
                from ..io.checkpoint import save_checkpoint
                save_checkpoint(checkpoint_on_interrupt, self.model, self.optimizer, self.scheduler, self.epoch)
            print(f"\ninterrupted at epoch {self.epoch + 1}" +
                  (f"; checkpoint saved to {checkpoint_on_interrupt}" if checkpoint_on_interrupt else ""),
                  file=sys.stderr)
        self._call("on_train_end")
        return self.history


def _distributed(distributed):
    """fit's distributed= setting: None follows redes.distributed (initialized with more than one rank)."""
    from .. import distributed as dist
    if distributed is None:
        return dist.is_initialized() and dist.world_size() > 1
    if distributed:
        dist.init()
    return bool(distributed)


def _mean_over_ranks(logs, count):
    """The epoch's logs averaged over the ranks, weighted by their rows: every rank then decides alike
    (early stopping, LR on plateau). Exact for the loss; a mean of the ranks' values for other metrics."""
    from .. import distributed as dist
    values = np.array([v * count for v in logs.values()] + [count], np.float64)
    values = dist.all_reduce(Tensor(values)).numpy()
    return {k: float(v / max(values[-1], 1)) for k, v in zip(logs, values[:-1])}


def _progress(loader, verbose, desc):
    """A tqdm bar over the batches when verbose and attached to a terminal; the loader itself otherwise."""
    if not verbose or not sys.stderr.isatty():
        return loader
    try:
        from tqdm import tqdm
    except ImportError:
        return loader
    return tqdm(loader, desc=desc, leave=False, dynamic_ncols=True)


def fit(model, train_data, *, loss, optimizer="adam", lr=1e-3, epochs=10, batch_size=32, shuffle=True,
        val_data=None, metrics=(), callbacks=(), scheduler=None, grad_clip=None, accumulate=1, seed=None,
        verbose=None, initial_epoch=0, checkpoint_on_interrupt=None, distributed=None):
    """Train `model` on `train_data` and return a History.

    Args:
        model: an nn.Module. train_data / val_data: a DataLoader, Dataset, Table or (X, y) arrays.
        loss: a callable loss(output, target) or a name ('mse', 'cross_entropy', 'bce_with_logits', ...).
        optimizer: an Optimizer, or a name ('adam', 'adamw', 'sgd', 'rmsprop', 'adagrad') built with `lr`.
        metrics: names or Metric objects ('accuracy', 'top5', 'mae', 'rmse', 'r2', 'f1').
        callbacks: Callback objects (EarlyStopping, ModelCheckpoint, CSVLogger, ...).
        scheduler: an LR scheduler stepped once per epoch (ReduceLROnPlateau gets val_loss, or loss).
        grad_clip: clip the gradients' global norm to this value before each step.
        accumulate: sum gradients over this many batches before each optimizer step.
        seed: reseed redes' global generator first (shuffling, dropout) for a reproducible run.
        verbose: progress bar and one line per epoch (default: only when stderr is a terminal).
        initial_epoch: start counting here (resuming from a checkpoint).
        checkpoint_on_interrupt: on Ctrl-C, save a checkpoint here and stop cleanly (history.interrupted is True).
        distributed: train one model with every rank of an `mpiexec -n N` job (redes.distributed): the model is
            wrapped in DistributedDataParallel, each rank reads its 1/N of train_data (batch_size rows per rank
            per step; a DataLoader is used as given, so shard it yourself), the logs are averaged over the ranks,
            and only rank 0 prints and writes files.
            None (default): on when redes.distributed.init() has run with more than one rank.
    Example:
        >>> X = rd.randn(64, 3); y = X.sum(1, keepdim=True)
        >>> model = rd.nn.Linear(3, 1)
        >>> history = rd.fit(model, (X, y), loss="mse", epochs=20, lr=0.1, verbose=False, val_data=(X[:16], y[:16]))
        >>> history["val_loss"][-1] < history["val_loss"][0] / 10
        True
    """
    if seed is not None:
        manual_seed(seed)
    trainer = Trainer(model, loss, optimizer, lr, metrics, callbacks, scheduler, grad_clip, accumulate, verbose,
                      distributed)
    trainer.seed = seed or 0
    return trainer.fit(train_data, epochs, batch_size, shuffle, val_data, initial_epoch, checkpoint_on_interrupt)


def evaluate(model, data, *, loss=None, metrics=(), batch_size=256):
    """Mean loss (if given) and metrics of `model` on `data`, in eval mode and without a graph.

    For a model trained from a table (it has `.preprocessor`), `data` may be a labelled CSV path or
    DataFrame: the result is its loss and metrics in the original units (as `redes evaluate` prints).

    Example:
        >>> model = rd.nn.Linear(4, 3)
        >>> X_val, y_val = rd.randn(10, 4), rd.randint(0, 3, (10,))
        >>> sorted(rd.evaluate(model, (X_val, y_val), loss="cross_entropy", metrics=["accuracy"]))
        ['accuracy', 'loss']
    """
    pre = getattr(model, "preprocessor", None)
    if pre is not None and (isinstance(data, (str, os.PathLike)) or hasattr(data, "columns")):
        from ..data import read_table
        table = read_table(os.fspath(data) if isinstance(data, os.PathLike) else data, preprocessor=pre)
        return report_metrics(model, table, np.arange(len(table)))
    loader = as_loader(data, batch_size, False)
    loss_fn = get_loss(loss) if loss is not None else None
    metrics = [get_metric(m) for m in metrics]
    for m in metrics:
        m.reset()
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    device = _model_device(model)
    try:
        with no_grad():
            for batch in loader:
                inputs, target = _split_batch(batch, device)
                out = model(*inputs)
                if loss_fn is not None:
                    total += loss_fn(out, target).item() * len(target)
                count += len(target)
                for m in metrics:
                    m.update(_host(out), _host(target))
    finally:
        model.train(was_training)
    result = {"loss": total / max(count, 1)} if loss_fn is not None else {}
    result.update({m.name: m.compute() for m in metrics})
    return result


def predict(model, data, *, batch_size=256, proba=False):
    """Model outputs for `data` (arrays/Tensor/Dataset/DataLoader) as a NumPy array.

    Every element of a batch is an input: a tuple (X1, X2) of arrays, or a Dataset whose items are
    (x1, x2), calls model(x1, x2). (A Table gives its X; for a labelled Dataset use rd.evaluate.)
    For a model trained from a table (it has `.preprocessor`), `data` may be a CSV path or a DataFrame of
    new rows: the saved preprocessing is applied and a DataFrame of predictions in the original units
    (or class labels) is returned; with proba=True (classification) it also has one column
    TARGET_proba_CLASS per class, the softmax of the outputs.

    Example:
        >>> model = rd.nn.Linear(4, 3)
        >>> rd.predict(model, rd.randn(5, 4)).argmax(1).shape    # class indices
        (5,)
        >>> class TwoInputs(rd.nn.Module):
        ...     def forward(self, x1, x2):
        ...         return x1 + x2
        >>> rd.predict(TwoInputs(), (rd.ones(2, 3), rd.ones(2, 3))).tolist()      # model(x1, x2) per batch
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """
    pre = getattr(model, "preprocessor", None)
    if proba and (pre is None or not (isinstance(data, (str, os.PathLike)) or hasattr(data, "columns"))):
        raise ValueError("predict: proba=True is for a model trained from a table, given a path or DataFrame "
                         "of rows; for raw outputs take rd.nn.functional.softmax of the result")
    if pre is not None and (isinstance(data, (str, os.PathLike)) or hasattr(data, "columns")):
        data = os.fspath(data) if isinstance(data, os.PathLike) else data
        outputs = predict(model, pre.transform(data, extra="ignore"), batch_size=batch_size)
        frame = pre.inverse_targets(outputs, as_frame=True)
        if proba:
            if pre.task != "classification":
                raise ValueError("predict: proba=True needs a classification model; this one does regression "
                                 f"of {pre.target_names}")
            z = np.exp(outputs - outputs.max(1, keepdims=True))
            p = z / z.sum(1, keepdims=True)
            for j, c in enumerate(pre.classes):
                frame[f"{pre.target_names[0]}_proba_{c}"] = p[:, j]
        return frame
    if isinstance(data, Table):
        data = data.X
    if isinstance(data, tuple) and all(isinstance(d, (np.ndarray, Tensor)) for d in data):
        data = TensorDataset(*[d.numpy() if isinstance(d, Tensor) else d for d in data])
    if isinstance(data, Tensor):
        data = data.numpy()
    if isinstance(data, (np.ndarray,)) or hasattr(data, "__cuda_array_interface__"):
        data = TensorDataset(B.to_numpy(data) if isinstance(data, np.ndarray) else data)
    loader = as_loader(data, batch_size, False)
    was_training = model.training
    model.eval()
    device = _model_device(model)
    outs = []
    try:
        with no_grad():
            for batch in loader:
                inputs = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)   # all inputs, no target
                outs.append(_host(model(*_to_device(inputs, device))))
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,))


def report_metrics(model, table, rows, outputs=None):
    """Loss and metrics on `rows` of the table, in the original units (regression) or on class labels.

    'loss' is the default training loss: cross-entropy, or the MSE of the standardised targets.

    `outputs` (model outputs for those rows) skips the forward pass, e.g. for out-of-fold predictions.
    """
    if len(rows) == 0:
        return {}
    out = np.asarray(predict(model, table.X[rows]) if outputs is None else outputs, dtype=np.float64)
    pre = table.preprocessor
    if table.task == "classification":
        y = table.y[rows]
        z = out - out.max(1, keepdims=True)                # cross-entropy, as the training loss
        loss = float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]))
        return {"loss": loss, **_computed(("accuracy", "f1"), out, y)}
    loss = float(np.mean((out.reshape(table.y[rows].shape) - table.y[rows]) ** 2))   # MSE, standardised units
    pred = pre.inverse_targets(out)
    true = pre.inverse_targets(table.y[rows])
    result = {"loss": loss, **_computed(("mae", "rmse", "r2"), pred, true)}
    if len(table.target_names) > 1:
        for j, name in enumerate(table.target_names):
            result.update({f"{k}_{name}": v
                           for k, v in _computed(("mae", "rmse", "r2"), pred[:, j], true[:, j]).items()})
    return result


def _computed(names, pred, target):
    result = {}
    for name in names:
        m = get_metric(name)
        m.reset()
        m.update(np.asarray(pred), np.asarray(target))
        result[name] = m.compute()
    return result
