"""Callbacks: code that runs at fixed points of training (Keras-style names).

A callback subclasses Callback and overrides any of on_train_begin(trainer), on_epoch_begin(trainer,
epoch), on_batch_end(trainer, batch, logs), on_epoch_end(trainer, epoch, logs), on_train_end(trainer).
`trainer` exposes model, optimizer, scheduler, history, epoch and `stop_training` (set it to stop).
"""
import csv
import math
import os

import numpy as np

from .. import backend as B
from ..io.checkpoint import save_checkpoint
from ..io.serialize import save


class Callback:
    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, batch, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_end(self, trainer):
        pass


def _improved(mode, value, best, min_delta):
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode(mode, monitor):
    if mode == "auto":
        return "max" if any(k in monitor for k in ("acc", "r2", "f1")) else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


def _monitored(logs, monitor, who):
    if monitor not in logs:
        raise KeyError(f"{who}: monitored value {monitor!r} is not in the epoch logs {sorted(logs)}; "
                       "pass val_data to fit() to get val_* values, or monitor='loss'")
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by min_delta for `patience` epochs; optionally restore the best weights."""
    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto", restore_best_weights=True):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode, self.restore_best_weights = _mode(mode, monitor), restore_best_weights

    def on_train_begin(self, trainer):
        self.best, self.best_epoch, self.wait, self.best_state, self.stopped_epoch = None, None, 0, None, None

    def on_epoch_end(self, trainer, epoch, logs):
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if _improved(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = {k: np.array(B.to_numpy(v.array), copy=True) for k, v in trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training, self.stopped_epoch = True, epoch

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)


class ModelCheckpoint(Callback):
    """Save the model (rd.save format) or a full training checkpoint after each epoch or when `monitor` improves.

    path may contain '{epoch}' and any log key, e.g. 'ckpt-{epoch:03d}.safetensors'.
    """
    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto", full_state=False):
        self.path, self.monitor, self.save_best_only = path, monitor, save_best_only
        self.mode, self.full_state = _mode(mode, monitor), full_state
        self.best = None

    def on_epoch_end(self, trainer, epoch, logs):
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not _improved(self.mode, value, self.best, 0.0):
                return
            self.best = value
        path = self.path.format(epoch=epoch, **logs)
        if self.full_state:
            save_checkpoint(path, trainer.model, trainer.optimizer, trainer.scheduler, epoch + 1)
        else:
            save(trainer.model, path)
        self.last_path = path


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler after every epoch (or batch); ReduceLROnPlateau gets `monitor`'s value."""
    def __init__(self, scheduler, monitor="val_loss", per_batch=False):
        self.scheduler, self.monitor, self.per_batch = scheduler, monitor, per_batch

    def on_batch_end(self, trainer, batch, logs):
        if self.per_batch:
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.per_batch:
            return
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            key = self.monitor if self.monitor in logs else "loss"
            self.scheduler.step(logs[key])
        else:
            self.scheduler.step()


class CSVLogger(Callback):
    """Append one row of epoch logs per epoch to a CSV file."""
    def __init__(self, path, append=False):
        self.path, self.append = path, append

    def on_train_begin(self, trainer):
        self.keys = None
        if not self.append and os.path.exists(self.path):
            os.remove(self.path)

    def on_epoch_end(self, trainer, epoch, logs):
        new = not os.path.exists(self.path)
        if self.keys is None:
            self.keys = ["epoch"] + sorted(logs)
        with open(self.path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(self.keys)
            w.writerow([epoch] + [logs.get(k, math.nan) for k in self.keys[1:]])
