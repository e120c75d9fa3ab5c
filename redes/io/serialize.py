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

FORMAT = "redes/1"


def _numpy(v):
    a = v.array if isinstance(v, Tensor) else v
    if hasattr(a, "detach"):                      # a torch tensor
        a = a.detach().cpu().numpy()
    return np.ascontiguousarray(B.to_numpy(B.xp.asarray(a)))


def save_arrays(arrays, path, metadata=None):
    """Write {name: array} to a safetensors file with a JSON-able metadata dict."""
    from safetensors.numpy import save_file
    tensors = {k: _numpy(v) for k, v in arrays.items()}
    meta = {"format": FORMAT, "redes": json.dumps(metadata or {})}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


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


def load_arrays(path):
    """({name: numpy array}, metadata dict) from a file written by save_arrays (the header checked first)."""
    from safetensors import safe_open
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    check_header(path)
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:
        raise ValueError(f"load: {path} is not a readable safetensors file ({e})") from None
    try:
        extra = json.loads(meta.get("redes", "{}"))
    except ValueError:
        raise ValueError(f"load: {path}: corrupted: the redes metadata is not valid JSON") from None
    if not isinstance(extra, dict):
        raise ValueError(f"load: {path}: corrupted: the redes metadata is a {type(extra).__name__}, not an object")
    return arrays, extra


def save_state_dict(state_dict, path, metadata=None):
    """Save a state_dict (name -> Tensor) to safetensors."""
    save_arrays(state_dict, path, metadata)


def load_state_dict(path):
    """A state_dict of Tensors from a safetensors file (for module.load_state_dict)."""
    arrays, _ = load_arrays(path)
    return {k: Tensor._wrap(B.xp.asarray(v)) for k, v in arrays.items()}


def save(model, path, preprocessor=None, extra=None):
    """Save a model: weights in safetensors, its architecture (and a table preprocessor) as JSON metadata.

    Args:
        model: an nn.Module built from redes layers (or classes with get_config/from_config).
        path: file to write (conventionally *.safetensors or *.model).
        preprocessor: a redes.data.Preprocessor to store with it (defaults to `model.preprocessor` if set).
        extra: any JSON-able dict kept in the file (e.g. training report).
    Example:
        >>> rd.save(model, "students.model"); model2 = rd.load("students.model")
    """
    preprocessor = preprocessor if preprocessor is not None else getattr(model, "preprocessor", None)
    meta = {"architecture": to_config(model),
            "preprocessor": preprocessor.to_dict() if preprocessor is not None else None,
            "extra": extra or {}}
    save_arrays(model.state_dict(), path, meta)


def load(path, trusted=("redes",)):
    """Rebuild a model saved by rd.save: architecture from JSON, weights from safetensors.

    The model comes back in eval mode; `model.preprocessor` holds the table preprocessing if one was
    saved, and `model.saved_extra` the extra dict.
    """
    arrays, meta = load_arrays(path)
    if "architecture" not in meta:
        raise ValueError(f"load: {os.fspath(path)} holds weights only (no architecture); build the model and call "
                         "model.load_state_dict(rd.io.load_state_dict(path))")
    model = from_config(meta["architecture"], trusted)
    model.load_state_dict(arrays)
    model.eval()
    if meta.get("preprocessor") is not None:
        from ..data import Preprocessor
        model.preprocessor = Preprocessor.from_dict(meta["preprocessor"])
    model.saved_extra = meta.get("extra", {})
    return model
