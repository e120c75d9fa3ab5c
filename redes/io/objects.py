"""Nested Python objects (state_dicts, optimizer states, lists/tuples/dicts of tensors and numbers) in one
safetensors file, without pickle: what torch.save/torch.load do, in a file any safetensors reader opens.

The object is split in two. Every array goes to the safetensors body under a dotted key; the rest stays a
JSON description in the header, where an array is a placeholder:

    {"__array__": key}                         a redes Tensor  ("requires_grad": true when it did)
    {"__ndarray__": key}                       a NumPy array (comes back as one)
    {"__tuple__": [...]}                       a tuple;  a JSON list is a list
    {"__items__": [[key, value], ...]}         a dict (keys may be ints, tuples, ...: optimizer states use ints);
                                               "ordered": true for an OrderedDict (a state_dict)
    null, true, 1, 2.5, "text"                 themselves

The same Tensor reached twice is stored once and comes back as one object (as torch.load keeps shared
tensors shared). Loading accepts only this grammar: anything else in the header is a clear ValueError,
never code run or a class imported.
"""
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor

_MAX_DEPTH = 64          # deeper than any state a library writes; a hostile header cannot exhaust the stack


def split(obj, key, arrays, memo=None, who="save"):
    """JSON-able copy of obj with its arrays moved into `arrays` under dotted keys (see the module docstring)."""
    memo = {} if memo is None else memo
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        tag = "__ndarray__" if isinstance(obj, np.ndarray) else "__array__"
        if id(obj) in memo:
            return {tag: memo[id(obj)][0]}
        memo[id(obj)] = (key, obj)                      # keeps obj alive, so its id is not reused meanwhile
        if obj.dtype.kind in "OUSVc":
            raise TypeError(f"{who}: cannot store {key}: dtype {obj.dtype} has no safetensors type")
        arrays[key] = obj
        out = {tag: key}
        if isinstance(obj, Tensor) and obj.requires_grad:
            out["requires_grad"] = True
        return out
    if isinstance(obj, dict):
        out = {"__items__": [[split(k, f"{key}.k{i}", arrays, memo, who), split(v, f"{key}.{i}", arrays, memo, who)]
                             for i, (k, v) in enumerate(obj.items())]}
        if isinstance(obj, OrderedDict):
            out["ordered"] = True
        return out
    if isinstance(obj, (list, tuple)):
        items = [split(v, f"{key}.{i}", arrays, memo, who) for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else {"__tuple__": items}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"{who}: cannot store {key} of type {type(obj).__name__}: expected tensors, arrays, numbers, "
                    "strings, None, or dicts/lists/tuples of them")


def join(obj, arrays, who="load", where="object", depth=0, memo=None):
    """Rebuild what split() described, checking every node against the grammar."""
    memo = {} if memo is None else memo
    if depth > _MAX_DEPTH:
        raise ValueError(f"{who}: bad structure at {where}: nested deeper than {_MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [join(v, arrays, who, f"{where}[{i}]", depth + 1, memo) for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        raise ValueError(f"{who}: bad structure at {where}: unexpected {type(obj).__name__}")
    tags = [k for k in ("__array__", "__ndarray__", "__tuple__", "__items__") if k in obj]
    if len(tags) != 1 or set(obj) - {tags[0], "requires_grad", "ordered"}:
        raise ValueError(f"{who}: bad structure at {where}: expected one of __array__, __ndarray__, __tuple__, "
                         f"__items__, got keys {sorted(obj)[:6]}")
    tag, body = tags[0], obj[tags[0]]
    if tag in ("__array__", "__ndarray__"):
        if not isinstance(body, str) or body not in arrays:
            raise ValueError(f"{who}: bad structure at {where}: array {body!r:.60} is not in the file")
        if (tag, body) not in memo:
            if tag == "__ndarray__":
                memo[tag, body] = arrays[body]
            else:
                t = Tensor._wrap(arrays[body])
                if obj.get("requires_grad") is True:
                    t.requires_grad_(True)
                memo[tag, body] = t
        return memo[tag, body]
    if not isinstance(body, list):
        raise ValueError(f"{who}: bad structure at {where}: {tag} must hold a list, got {type(body).__name__}")
    if tag == "__tuple__":
        return tuple(join(v, arrays, who, f"{where}[{i}]", depth + 1, memo) for i, v in enumerate(body))
    out = OrderedDict() if obj.get("ordered") is True else {}
    for i, pair in enumerate(body):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"{who}: bad structure at {where}: dict item {i} must be a [key, value] pair")
        k = join(pair[0], arrays, who, f"{where}.key{i}", depth + 1, memo)
        try:
            hash(k)
        except TypeError:
            raise ValueError(f"{who}: bad structure at {where}: dict key {i} is a {type(k).__name__}, "
                             "which cannot be a key") from None
        out[k] = join(pair[1], arrays, who, f"{where}[{k!r:.40}]", depth + 1, memo)
    return out
