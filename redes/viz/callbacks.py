"""GradientStats: a training callback recording per-layer gradient norms and update/weight ratios.

Loosely coupled to the training loop: it needs `trainer.model`, and uses `trainer.optimizer` when there
is one. It wraps the optimizer's `step` for the length of training, so it reads every gradient just
before the step (a loop may clear them before on_batch_end runs) and the weights just before and after
it, which gives the step's exact update. Without an optimizer it reads `.grad` and the change of the
weights since the previous batch in on_batch_end.
"""
import os

import numpy as np

from .. import backend as B


def _norm(a):
    return float(np.linalg.norm(B.to_numpy(a).astype(np.float64, copy=False)))


class GradientStats:
    """Record ||grad||, ||w|| and ||Δw||/||w|| of every parameter every `every` optimizer steps; plot at the end.

    Args:
        path: PNG written at the end of training (gradient panels below the loss curves); None: no file.
        every: record one step in `every`.

    Attributes: records (list of dicts: step, epoch, name, ndim, grad_norm, weight_norm, update_norm,
        update_ratio), history (the epoch logs: name -> list of values).

    Example:
        >>> stats = rd.viz.GradientStats("runs/gradients.png")
        >>> # rd.fit(model, data, loss="mse", callbacks=[stats]);  rd.viz.plot_grad_stats(stats.records)
    """
    def __init__(self, path=None, every=1):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"GradientStats: every must be a positive int, got {every!r}")
        self.path, self.every = path, every
        self.records, self.history = [], {}
        self._step, self._epoch, self._pending, self._opt, self._last = 0, 0, None, None, None

    # ------------------------------------------------------------------ what is measured
    def _params(self, trainer):
        model = getattr(trainer, "model", None)
        if model is None:
            raise AttributeError("GradientStats: the trainer passed to the callback has no .model")
        return list(model.named_parameters())

    def _before(self, trainer):
        """Gradients and weights just before an update (when this step is recorded)."""
        if self._step % self.every:
            self._pending = None
            return
        self._pending = [(name, p, None if p.grad is None else _norm(p.grad.array), B.to_numpy(p.array).copy())
                         for name, p in self._params(trainer)]

    def _after(self):
        """The update just made: one record per parameter."""
        for name, p, gn, w0 in self._pending or ():
            w = B.to_numpy(p.array)
            wn, un = _norm(w), _norm(w - w0)
            self.records.append({"step": self._step, "epoch": self._epoch, "name": name, "ndim": p.ndim,
                                 "grad_norm": gn, "weight_norm": wn, "update_norm": un,
                                 "update_ratio": un / wn if wn > 0 else None})
        self._pending = None
        self._step += 1

    # ------------------------------------------------------------------ callback hooks
    def on_train_begin(self, trainer, logs=None):
        self._step, self._epoch = 0, 0
        opt = getattr(trainer, "optimizer", None)
        if opt is not None and callable(getattr(opt, "step", None)):
            inner = opt.step

            def step(*args, **kwargs):
                self._before(trainer)
                out = inner(*args, **kwargs)
                self._after()
                return out
            opt.step, self._opt = step, opt
        else:                                            # no optimizer to watch: compare batch ends
            self._before(trainer)

    def on_epoch_begin(self, trainer, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, trainer, batch, logs=None):
        if self._opt is None:
            self._after()
            self._before(trainer)

    def on_epoch_end(self, trainer, epoch, logs=None):
        for k, v in (logs or {}).items():
            if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool):
                self.history.setdefault(k, []).append(float(v))

    def on_train_end(self, trainer, logs=None):
        if self._opt is not None:
            self._opt.__dict__.pop("step", None)         # the optimizer's own step again
            self._opt = None
        if self.path is not None and self.records:
            from .curves import plot_grad_stats
            hist = {k: v for k, v in self.history.items() if k != "lr"} or None
            plot_grad_stats(self.records, os.fspath(self.path), history=hist)
