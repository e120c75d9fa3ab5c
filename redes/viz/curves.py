"""Training curves as PNG: the loss/metric history and per-layer gradient statistics (matplotlib).

Figures are made with matplotlib's object API (no pyplot state), so this works in scripts, servers and
notebooks alike, and never changes the user's matplotlib backend.
"""


def _figure(n_panels, width=6.0, height=3.4):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("redes.viz curves need matplotlib: pip install matplotlib") from None
    fig = Figure(figsize=(width, height * n_panels), dpi=100, layout="constrained")
    return fig, [fig.add_subplot(n_panels, 1, i + 1) for i in range(n_panels)]


def _history_dict(history):
    """A dict of name -> list of numbers, from a dict or an object holding `.history` (as Keras' History)."""
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if not isinstance(history, dict):
        raise TypeError(f"plot_history: expected a dict of lists (e.g. {{'loss': [...]}}), got {type(history).__name__}")
    return {k: [float(v) for v in vals] for k, vals in history.items()
            if isinstance(vals, (list, tuple)) and vals and all(isinstance(v, (int, float)) or hasattr(v, "__float__") for v in vals)}


def _families(keys):
    """Group 'loss' with 'val_loss', 'acc' with 'val_acc': one panel per family, in first-seen order."""
    fams = {}
    for k in keys:
        base = k[4:] if k.startswith("val_") else k
        fams.setdefault(base, []).append(k)
    return fams


def _log_if_wide(ax, values, always=False):
    """A log axis for positive values spanning over 10x (or always, for ratios and norms)."""
    vals = [float(v) for v in values if v is not None and v == v]
    if always:
        vals = [v for v in vals if v > 0]             # zeros (no step taken) are simply not drawn
    if vals and min(vals) > 0 and (always or max(vals) / min(vals) > 10):
        ax.set_yscale("log")


def _save(fig, path):
    if path is not None:
        from ..io.atomic import atomic_write
        atomic_write(path, fig.savefig)                 # the temporary name keeps the suffix savefig reads
    return fig


def _plot_history_panels(axes, hist):
    for ax, (base, keys) in zip(axes, _families(hist).items()):
        for k in keys:
            ys = hist[k]
            ax.plot(range(1, len(ys) + 1), ys, marker="o" if len(ys) <= 30 else None, ms=3,
                    label=k, ls="--" if k.startswith("val_") else "-")
        ax.set_xlabel("epoch")
        ax.set_ylabel(base)
        ax.xaxis.get_major_locator().set_params(integer=True)
        _log_if_wide(ax, [v for k in keys for v in hist[k]])
        ax.grid(alpha=0.3)
        ax.legend()


def plot_history(history, path=None):
    """Loss and metric curves per epoch (one panel per quantity, validation dashed); saved to `path` (PNG).

    Args: history: dict name -> list of per-epoch values ({'loss': [...], 'val_loss': [...]}) or an object
          with such a dict in `.history`. path: where to save (suffix picks the format); None: don't save.
    Returns: the matplotlib Figure.
    """
    hist = _history_dict(history)
    if not hist:
        raise ValueError("plot_history: the history holds no series of numbers to plot")
    fig, axes = _figure(len(_families(hist)))
    _plot_history_panels(axes, hist)
    return _save(fig, path)


def _series(records, key):
    """layer -> (steps, values) for one statistic, from GradientStats records."""
    out = {}
    for r in records:
        v = r.get(key)
        if v is None:
            continue
        steps, vals = out.setdefault(r["name"], ([], []))
        steps.append(r["step"])
        vals.append(v)
    return out


def plot_grad_stats(records, path=None, history=None, which="weights"):
    """Per-layer gradient norms and update/weight ratios over training steps (and the loss curves if given).

    Args:
        records: GradientStats.records: dicts with 'step', 'name', 'ndim', 'grad_norm', 'update_ratio'.
        path: where to save the figure (PNG by suffix); None: don't save.
        history: optional epoch history (see plot_history), drawn above the gradient panels.
        which: "weights" plots parameters with 2+ dims (the weight matrices), "all" every parameter.
    Returns: the matplotlib Figure.

    A healthy update/weight ratio ||Δw|| / ||w|| is around 1e-3 per step (a dotted line marks it):
    far below, the layer barely learns; far above, the step size is too large for it.
    """
    records = [r for r in records if which == "all" or r.get("ndim", 2) >= 2] or list(records)
    if not records:
        raise ValueError("plot_grad_stats: no records to plot (did training run with the GradientStats callback?)")
    hist = _history_dict(history) if history is not None else {}
    fams = _families(hist)
    fig, axes = _figure(len(fams) + 2)
    _plot_history_panels(axes[:len(fams)], hist)
    ax_g, ax_r = axes[len(fams):]
    for name, (steps, vals) in _series(records, "grad_norm").items():
        ax_g.plot(steps, vals, label=name)
    ax_g.set_ylabel("gradient norm ‖∇w‖")
    for name, (steps, vals) in _series(records, "update_ratio").items():
        ax_r.plot(steps, vals, label=name)
    ax_r.axhline(1e-3, color="k", ls=":", lw=1)
    ax_r.set_ylabel("update / weight ‖Δw‖/‖w‖")
    for ax in (ax_g, ax_r):
        ax.set_xlabel("step")
        _log_if_wide(ax, [v for line in ax.get_lines() for v in line.get_ydata()], always=True)
        ax.grid(alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize=8)
    return _save(fig, path)
