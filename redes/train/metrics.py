"""Metrics accumulated over an epoch: accuracy, top-k accuracy, MAE, RMSE, R², F1.

Each metric keeps running sums over batches (update) and reports at the end (compute), so the
result is exact for the whole epoch, not an average of per-batch values.
"""
import numpy as np


class Metric:
    """Base: reset(), update(pred, target) with NumPy arrays, compute() -> float."""
    name = "metric"
    higher_is_better = True

    def reset(self):
        raise NotImplementedError

    def update(self, pred, target):
        raise NotImplementedError

    def compute(self):
        raise NotImplementedError


def _class_pred(pred):
    """Class indices from logits (N, C), a single logit (N,) / (N, 1) (threshold 0), or indices."""
    if pred.ndim >= 2 and pred.shape[1] > 1:
        return pred.argmax(1)
    p = pred.reshape(len(pred))
    return (p > 0).astype(np.int64) if p.dtype.kind == "f" else p


class Accuracy(Metric):
    """Fraction of samples whose predicted class (argmax of the logits) equals the target."""
    name = "accuracy"

    def reset(self):
        self.correct = self.total = 0

    def update(self, pred, target):
        t = target.reshape(len(target)) if target.ndim > 1 and target.shape[1] == 1 else target
        if t.ndim > 1:                                  # probability / one-hot targets
            t = t.argmax(1)
        self.correct += int((_class_pred(pred) == t).sum())
        self.total += len(t)

    def compute(self):
        return self.correct / max(self.total, 1)


class TopKAccuracy(Accuracy):
    """Fraction of samples whose target is among the k largest logits."""
    def __init__(self, k=5):
        if k < 1:
            raise ValueError(f"TopKAccuracy: k must be >= 1, got {k}")
        self.k, self.name = k, f"top{k}_accuracy"

    def update(self, pred, target):
        top = np.argpartition(-pred, min(self.k, pred.shape[1]) - 1, axis=1)[:, :self.k]
        self.correct += int((top == target.reshape(-1, 1)).any(1).sum())
        self.total += len(target)


class MAE(Metric):
    """Mean absolute error over all outputs."""
    name, higher_is_better = "mae", False

    def reset(self):
        self.sum = self.n = 0.0

    def update(self, pred, target):
        d = pred.reshape(target.shape) - target
        self.sum += float(np.abs(d).sum())
        self.n += d.size

    def compute(self):
        return self.sum / max(self.n, 1)


class RMSE(MAE):
    """Root mean squared error over all outputs."""
    name = "rmse"

    def update(self, pred, target):
        d = pred.reshape(target.shape) - target
        self.sum += float((d * d).sum())
        self.n += d.size

    def compute(self):
        return float(np.sqrt(self.sum / max(self.n, 1)))


class R2(Metric):
    """Coefficient of determination, averaged over outputs (as sklearn's r2_score 'uniform_average')."""
    name = "r2"

    def reset(self):
        self.n, self.s, self.ss, self.sse = 0, 0.0, 0.0, 0.0

    def update(self, pred, target):
        t = target.reshape(len(target), -1).astype(np.float64)
        p = pred.reshape(t.shape).astype(np.float64)
        self.n += len(t)
        self.s = self.s + t.sum(0)
        self.ss = self.ss + (t * t).sum(0)
        self.sse = self.sse + ((p - t) ** 2).sum(0)

    def compute(self):
        sst = self.ss - self.s * self.s / max(self.n, 1)
        r2 = 1 - self.sse / np.where(sst == 0, np.nan, sst)
        return float(np.nanmean(r2)) if np.any(sst != 0) else float("nan")


class F1(Metric):
    """Macro-averaged F1 over the classes seen in targets or predictions (binary: F1 of class 1)."""
    name = "f1"

    def reset(self):
        self.pairs = []

    def update(self, pred, target):
        self.pairs.append((_class_pred(pred), target.reshape(len(target))))

    def compute(self):
        p = np.concatenate([a for a, _ in self.pairs])
        t = np.concatenate([b for _, b in self.pairs])
        classes = np.union1d(p, t)
        if len(classes) <= 2 and set(classes.tolist()) <= {0, 1}:
            classes = np.array([1])
        f1s = []
        for c in classes:
            tp = np.sum((p == c) & (t == c))
            fp, fn = np.sum((p == c) & (t != c)), np.sum((p != c) & (t == c))
            f1s.append(2 * tp / max(2 * tp + fp + fn, 1))
        return float(np.mean(f1s))


_NAMES = {"accuracy": Accuracy, "acc": Accuracy, "mae": MAE, "rmse": RMSE, "r2": R2, "f1": F1}


def get_metric(spec):
    """A Metric from a name ('accuracy', 'top5', 'top_k_accuracy', 'mae', 'rmse', 'r2', 'f1') or a Metric."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key in _NAMES:
            return _NAMES[key]()
        if key.startswith("top") and key[3:].split("_")[0].isdigit():
            return TopKAccuracy(int(key[3:].split("_")[0]))
        if key == "top_k_accuracy":
            return TopKAccuracy(5)
    raise ValueError(f"metrics: unknown metric {spec!r}; expected one of {sorted(_NAMES)} or 'top<k>', "
                     "or a redes.train.metrics.Metric instance")
