"""Saving and loading: weights in safetensors, everything else (architecture, preprocessing, optimizer
settings, RNG state) as JSON in the safetensors header. No pickle: loading a file never runs its code.

Writes are atomic (a temporary file renamed into place), so a failed or interrupted save leaves no
truncated file behind.
"""
import json
import os
import tempfile

import numpy as np

from .. import backend as B
from ..tensor import Tensor
from .architecture import from_config, to_config

FORMAT = "redes/1"


def _numpy(v):
    a = v.array if isinstance(v, Tensor) else v
    if hasattr(a, "detach"):                      # a torch tensor
        a = a.detach().cpu().numpy()
    return np.ascontiguousarray(B.to_numpy(B.xp.asarray(a)))


def _atomic_write(path, write):
    """write(tmp_path), then rename over path: readers never see half a file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_arrays(arrays, path, metadata=None):
    """Write {name: array} to a safetensors file with a JSON-able metadata dict."""
    from safetensors.numpy import save_file
    tensors = {k: _numpy(v) for k, v in arrays.items()}
    meta = {"format": FORMAT, "redes": json.dumps(metadata or {})}
    _atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_arrays(path):
    """({name: numpy array}, metadata dict) from a file written by save_arrays."""
    from safetensors import safe_open
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:
        raise ValueError(f"load: {path} is not a readable safetensors file ({e})") from None
    return arrays, json.loads(meta.get("redes", "{}"))


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
        >>> model = rd.nn.Sequential(rd.nn.Linear(2, 3), rd.nn.ReLU(), rd.nn.Linear(3, 1))
        >>> rd.save(model, "net.model")
        >>> model2 = rd.load("net.model")
        >>> bool((model2(rd.ones(1, 2)) == model(rd.ones(1, 2))).all())
        True
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
