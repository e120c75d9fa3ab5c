"""Training checkpoints: model + optimizer + scheduler + epoch + RNG state in one safetensors file.

Nested states (an optimizer's state_dict) are split in two: every array goes to safetensors under a
dotted key, the rest (numbers, lists, strings) stays JSON with {"__array__": key} placeholders (objects.py).
Resuming from a checkpoint continues exactly as the uninterrupted run would.
"""
from .. import random as _random
from .objects import join, split
from .serialize import load_arrays, save_arrays


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, extra=None):
    """Write everything needed to resume training at the end of `epoch`."""
    arrays, memo = {}, {}
    state = {"model": split(model.state_dict(), "model", arrays, memo),
             "optimizer": split(optimizer.state_dict(), "optimizer", arrays, memo) if optimizer is not None else None,
             "scheduler": split(scheduler.state_dict(), "scheduler", arrays, memo) if scheduler is not None else None,
             "epoch": epoch, "rng": split(_random.get_rng_state(), "rng", arrays, memo), "extra": extra or {}}
    save_arrays(arrays, path, {"checkpoint": state})


def load_checkpoint(path, model, optimizer=None, scheduler=None):
    """Restore model/optimizer/scheduler/RNG from save_checkpoint's file; returns (epoch, extra)."""
    arrays, meta = load_arrays(path)
    if "checkpoint" not in meta:
        raise ValueError(f"load_checkpoint: {path} is not a checkpoint (no training state inside)")
    state = meta["checkpoint"]
    model.load_state_dict(join(state["model"], arrays))
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(join(state["optimizer"], arrays))
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(join(state["scheduler"], arrays))
    _random.set_rng_state(join(state["rng"], arrays))
    return state["epoch"], state["extra"]
