"""Saving and loading: weights in safetensors, everything else (architecture, preprocessing, optimizer
settings, RNG state) as JSON in the safetensors header. No pickle: loading a file never runs its code.

Writes are atomic (redes.io.atomic: a temporary file, fsync'd, renamed into place), so a failed or
interrupted save leaves the previous file intact. Reads check the safetensors header first (its length,
each tensor's dtype, shape and byte range against the file's size), so a truncated, corrupted or hostile
file fails at once with a clear error, before anything of its declared size is allocated.
"""
import json
import math
import os

import numpy as np

from .. import backend as B
from ..tensor import Tensor
from .architecture import from_config, to_config
from .atomic import atomic_write
from .objects import join, split

FORMAT = "redes/1"


def _tie_key(a):
    """Arrays with the same key are one storage seen twice (a tied parameter under two names)."""
    return (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str) if a.size else None


def _dedupe(arrays):
    """({stored name: contiguous array}, {alias: stored name}): an array that appears twice is stored once."""
    tensors, aliases, first = {}, {}, {}
    for k, v in arrays.items():
        if not isinstance(k, str):
            raise TypeError(f"save: tensor names must be strings, got {k!r} ({type(k).__name__})")
        raw = v.array if isinstance(v, Tensor) else v
        raw = raw.detach().cpu().numpy() if hasattr(raw, "detach") else B.to_numpy(B.xp.asarray(raw))
        key = _tie_key(raw)
        if key is not None and key in first:
            aliases[k] = first[key]
            continue
        if key is not None:
            first[key] = k
        tensors[k] = raw if raw.flags.c_contiguous else np.ascontiguousarray(raw)   # (which would make 0-d 1-d)
    return tensors, aliases


def _is_file(f):
    return hasattr(f, "write") or hasattr(f, "read")


def write_safetensors(tensors, f, metadata):
    """Write {name: contiguous array} and a {str: str} header to a path (atomically) or a binary file object."""
    from safetensors.numpy import save, save_file
    if _is_file(f):
        f.write(save(tensors, metadata=metadata))
    else:
        atomic_write(f, lambda tmp: save_file(tensors, tmp, metadata=metadata))


_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
             "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
MAX_HEADER = 100_000_000        # bytes of JSON header: safetensors' own limit


def check_header(path):
    """The parsed safetensors header of `path`, after checking it against the file's size; ValueError if not.

    Reads only the first 8 + header-length bytes. Checks: the 8-byte length fits the file, the header is a
    JSON object, every tensor has a known dtype, a shape of non-negative ints and data_offsets [begin, end]
    inside the data area with end - begin = (product of the shape) * itemsize, and no two byte ranges overlap.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    where = f"load: {path} is not a readable safetensors file"
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{where}: truncated: {size} bytes, less than the 8-byte safetensors header length")
        n = int.from_bytes(head, "little")
        if n > size - 8 or n > MAX_HEADER:
            raise ValueError(f"{where}: corrupted or truncated: the header declares {n} bytes but the file holds "
                             f"{size - 8} after the length field (limit {MAX_HEADER})")
        text = f.read(n)
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"{where}: corrupted: the safetensors header is not valid JSON") from None
    if not isinstance(header, dict):
        raise ValueError(f"{where}: corrupted: the safetensors header is a {type(header).__name__}, not an object")
    data = size - 8 - n
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise ValueError(f"{where}: corrupted: __metadata__ must map strings to strings")
            continue
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: corrupted: tensor {name!r} has no dtype/shape/data_offsets entry")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in _ITEMSIZE:
            raise ValueError(f"{where}: tensor {name!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise ValueError(f"{where}: tensor {name!r} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1] <= data):
            raise ValueError(f"{where}: tensor {name!r} has data_offsets {offsets!r} outside the {data} bytes of "
                             "data in the file (truncated or corrupted)")
        nbytes = math.prod(shape) * _ITEMSIZE[dtype]
        if offsets[1] - offsets[0] != nbytes:
            raise ValueError(f"{where}: tensor {name!r} of dtype {dtype} and shape {tuple(shape)} needs {nbytes} "
                             f"bytes but its data_offsets {offsets} hold {offsets[1] - offsets[0]}")
        spans.append((offsets[0], offsets[1], name))
    spans.sort()
    for (_, end, a), (begin, _, b) in zip(spans, spans[1:]):
        if begin < end:
            raise ValueError(f"{where}: corrupted: the bytes of tensors {a!r} and {b!r} overlap")
    return header


def read_safetensors(f, who="load"):
    """({name: numpy array}, {str: str} header metadata) from a safetensors path or binary file object."""
    from safetensors import safe_open
    from safetensors.numpy import load
    if _is_file(f):
        data = f.read()
        try:
            arrays = load(data)
            n = int.from_bytes(data[:8], "little")
            meta = json.loads(data[8:8 + n]).get("__metadata__") or {}
        except Exception as e:
            raise ValueError(f"{who}: the file object does not hold a readable safetensors file ({e})") from None
        return arrays, meta
    path = os.fspath(f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: no such file: {path}")
    check_header(path)          # a truncated or hostile file fails here, before its declared sizes are allocated
    try:
        with safe_open(path, framework="numpy") as sf:
            meta = sf.metadata() or {}
            arrays = {k: sf.get_tensor(k) for k in sf.keys()}
    except Exception as e:
        raise ValueError(f"{who}: {path} is not a readable safetensors file ({e})") from None
    return arrays, meta


def _restore_aliases(arrays, meta, who):
    """Put the aliases recorded by _dedupe back: each names the same array object as its stored twin."""
    try:
        aliases = json.loads(meta.get("aliases", "{}"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{who}: the 'aliases' metadata is not JSON ({e})") from None
    if not isinstance(aliases, dict):
        raise ValueError(f"{who}: the 'aliases' metadata must map names to stored names, got {type(aliases).__name__}")
    for alias, stored in aliases.items():
        if stored not in arrays:
            raise ValueError(f"{who}: alias {alias!r} points to {stored!r}, which the file does not hold")
        arrays[alias] = arrays[stored]
    return arrays


def save_arrays(arrays, path, metadata=None):
    """Write {name: array} to a safetensors file (a path or a binary file object) with a JSON-able metadata dict.

    Arrays sharing one storage (tied parameters) are stored once; the header's "aliases" entry maps each
    other name to the stored one, and load_arrays gives both names the same array back.
    """
    tensors, aliases = _dedupe(arrays)
    meta = {"format": FORMAT, "redes": json.dumps(metadata or {})}
    if aliases:
        meta["aliases"] = json.dumps(aliases)
    write_safetensors(tensors, path, meta)


def load_arrays(path):
    """({name: numpy array}, metadata dict) from a file written by save_arrays (a path or binary file object)."""
    arrays, meta = read_safetensors(path)
    arrays = _restore_aliases(arrays, meta, "load")
    where = "load: " + ("the file object" if _is_file(path) else os.fspath(path))
    try:
        extra = json.loads(meta.get("redes", "{}"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: corrupted: the 'redes' metadata is not JSON ({e})") from None
    except RecursionError:
        raise ValueError(f"{where}: the 'redes' metadata is nested too deeply") from None
    if not isinstance(extra, dict):
        raise ValueError(f"{where}: corrupted: the 'redes' metadata must be a JSON object, got {type(extra).__name__}")
    return arrays, extra


def save_state_dict(state_dict, path, metadata=None):
    """Save a state_dict (name -> Tensor) to safetensors."""
    save_arrays(state_dict, path, metadata)


def load_state_dict(path):
    """A state_dict of Tensors from a safetensors file (for module.load_state_dict)."""
    arrays, _ = load_arrays(path)
    return {k: Tensor._wrap(B.xp.asarray(v)) for k, v in arrays.items()}


def save(obj, f, preprocessor=None, extra=None):
    """Save a model with its architecture, or any state (as torch.save), to a safetensors file. No pickle.

    A Module is saved whole: weights in safetensors, its architecture (and a table preprocessor) as JSON
    metadata; rd.load rebuilds it. Anything else (a state_dict, an optimizer's state_dict, a tensor, nested
    dicts/lists/tuples of them, numbers, strings, None) is stored as arrays plus a JSON description of the
    structure (redes/io/objects.py); rd.load gives the same structure back.

    Args:
        obj: an nn.Module built from redes layers (or classes with get_config/from_config), or a state.
        f: a path (conventionally *.safetensors, *.model or *.pt) or a binary file object open for writing.
        preprocessor: (models only) a redes.data.Preprocessor to store (defaults to `model.preprocessor`).
        extra: (models only) any JSON-able dict kept in the file (e.g. training report).
    Example:
        >>> model = rd.nn.Sequential(rd.nn.Linear(2, 3), rd.nn.ReLU(), rd.nn.Linear(3, 1))
        >>> rd.save(model, "net.model")
        >>> model2 = rd.load("net.model")
        >>> bool((model2(rd.ones(1, 2)) == model(rd.ones(1, 2))).all())
        True
        >>> rd.save({"weights": model.state_dict(), "epoch": 3}, "net.pt")
        >>> sorted(rd.load("net.pt"))
        ['epoch', 'weights']
    """
    from ..nn.module import Module
    if not isinstance(obj, Module):
        if preprocessor is not None or extra is not None:
            raise TypeError(f"save: preprocessor= and extra= apply to models, not to a {type(obj).__name__}")
        arrays = {}
        save_arrays(arrays, f, {"object": split(obj, "obj", arrays)})
        return
    model = obj
    preprocessor = preprocessor if preprocessor is not None else getattr(model, "preprocessor", None)
    meta = {"architecture": to_config(model),
            "preprocessor": preprocessor.to_dict() if preprocessor is not None else None,
            "extra": extra or {}}
    save_arrays(model.state_dict(), f, meta)


def load(f, trusted=("redes",)):
    """What rd.save wrote: a rebuilt model (architecture from JSON, weights from safetensors), or the state.

    `f` is a path or a binary file object. A model comes back in eval mode; `model.preprocessor` holds the
    table preprocessing if one was saved, and `model.saved_extra` the extra dict.
    """
    arrays, meta = load_arrays(f)
    if "object" in meta:
        return join(meta["object"], arrays)
    where = os.fspath(f) if not hasattr(f, "read") else "the file"
    if "checkpoint" in meta:
        raise ValueError(f"load: {where} is a training checkpoint; restore it with rd.load_checkpoint(path, model, "
                         "optimizer, scheduler)")
    if "architecture" not in meta:
        raise ValueError(f"load: {where} holds weights only (no architecture); build the model and call "
                         "model.load_state_dict(rd.io.load_safetensors(path))")
    model = from_config(meta["architecture"], trusted)
    model.load_state_dict(arrays)
    model.eval()
    if meta.get("preprocessor") is not None:
        from ..data import Preprocessor
        model.preprocessor = Preprocessor.from_dict(meta["preprocessor"])
    model.saved_extra = meta.get("extra", {})
    return model
