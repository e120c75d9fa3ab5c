"""Training checkpoints: model + optimizer + scheduler + epoch + RNG state in one safetensors file.

Nested states (an optimizer's state_dict) are split in two: every array goes to safetensors under a
dotted key, the rest (numbers, lists, strings) stays JSON with {"__array__": key} placeholders.
Resuming from a checkpoint continues exactly as the uninterrupted run would.
"""
import numpy as np

from .. import random as _random
from ..tensor import Tensor
from .serialize import load_arrays, save_arrays


def _split(obj, key, arrays):
    """JSON-able copy of obj with arrays moved into `arrays` under dotted keys."""
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {"__items__": [[_split(k, f"{key}.k{i}", arrays), _split(v, f"{key}.{i}", arrays)]
                              for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        items = [_split(v, f"{key}.{i}", arrays) for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else {"__tuple__": items}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save_checkpoint: cannot store {key} of type {type(obj).__name__}")


def _join(obj, arrays):
    if isinstance(obj, list):
        return [_join(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            return Tensor._wrap(arrays[obj["__array__"]])
        if "__tuple__" in obj:
            return tuple(_join(v, arrays) for v in obj["__tuple__"])
        return {_join(k, arrays): _join(v, arrays) for k, v in obj["__items__"]}
    return obj


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, extra=None):
    """Write everything needed to resume training at the end of `epoch`."""
    arrays = {}
    state = {"model": _split(model.state_dict(), "model", arrays),
             "optimizer": _split(optimizer.state_dict(), "optimizer", arrays) if optimizer is not None else None,
             "scheduler": _split(scheduler.state_dict(), "scheduler", arrays) if scheduler is not None else None,
             "epoch": epoch, "rng": _split(_random.get_rng_state(), "rng", arrays), "extra": extra or {}}
    save_arrays(arrays, path, {"checkpoint": state})


def load_checkpoint(path, model, optimizer=None, scheduler=None):
    """Restore model/optimizer/scheduler/RNG from save_checkpoint's file; returns (epoch, extra)."""
    arrays, meta = load_arrays(path)
    if "checkpoint" not in meta:
        raise ValueError(f"load_checkpoint: {path} is not a checkpoint (no training state inside)")
    state = meta["checkpoint"]
    model.load_state_dict(_join(state["model"], arrays))
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(_join(state["optimizer"], arrays))
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(_join(state["scheduler"], arrays))
    _random.set_rng_state(_join(state["rng"], arrays))
    return state["epoch"], state["extra"]
