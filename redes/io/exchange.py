"""Weights shared with PyTorch (and Hugging Face) through safetensors files.

redes layers name and shape their parameters and buffers as their torch twins do, so a state_dict goes
both ways unchanged:

    safetensors.torch.save_file(torch_model.state_dict(), "w.safetensors")      # in PyTorch
    model.load_state_dict(rd.io.load_safetensors("w.safetensors"))              # in redes
    rd.io.save_safetensors(model.state_dict(), "w.safetensors")                 # in redes
    torch_model.load_state_dict(safetensors.torch.load_file("w.safetensors"))   # in PyTorch

Tied parameters (one array under two names) are stored once, under the first name; the header's
"aliases" entry maps every other name to it (JSON {"alias": "stored name"}), and load_safetensors gives
both names the same Tensor. The header also records "format": "pt" (the layout is torch's, which is what
Hugging Face loaders check), "redes_version", and "dtype": the dtypes of the stored arrays, comma-separated.
"""
import json
from collections import OrderedDict

from .. import backend as B
from ..tensor import Tensor
from .serialize import _dedupe, _restore_aliases, read_safetensors, write_safetensors

_RESERVED = ("format", "redes_version", "dtype", "aliases")


def save_safetensors(state_dict, path, metadata=None):
    """Write a state_dict (name -> Tensor, NumPy or torch array) to a safetensors file PyTorch reads.

    Args:
        state_dict: {name: tensor}, e.g. model.state_dict(). Entries sharing one array are stored once.
        path: file path or binary file object.
        metadata: optional {str: str} kept in the header (keys format/redes_version/dtype/aliases are redes').
    Example:
        >>> model = rd.nn.Linear(3, 2)
        >>> rd.io.save_safetensors(model.state_dict(), "model.safetensors", metadata={"task": "mnist"})
        >>> rd.io.safetensors_metadata("model.safetensors")["task"]
        'mnist'
    """
    from ..version import __version__
    if not isinstance(state_dict, dict):
        raise TypeError(f"save_safetensors: state_dict must be a dict of name -> tensor, "
                        f"got {type(state_dict).__name__}")
    metadata = dict(metadata or {})
    bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise TypeError(f"save_safetensors: metadata must map str to str (safetensors stores text), got {bad[0]!r}: "
                        f"{metadata[bad[0]]!r:.40}")
    clash = [k for k in metadata if k in _RESERVED]
    if clash:
        raise ValueError(f"save_safetensors: metadata key {clash[0]!r} is written by redes; "
                         f"reserved: {list(_RESERVED)}")
    tensors, aliases = _dedupe(state_dict)
    header = {"format": "pt", "redes_version": __version__,
              "dtype": ",".join(sorted({str(a.dtype) for a in tensors.values()})), **metadata}
    if aliases:
        header["aliases"] = json.dumps(aliases)
    write_safetensors(tensors, path, header)


def load_safetensors(path):
    """A state_dict {name: Tensor} from a safetensors file (redes' or safetensors.torch.save_file's).

    Names listed in the header's "aliases" come back as the same Tensor object as their stored twin.
    Example:
        >>> model = rd.nn.Linear(3, 2)
        >>> rd.io.save_safetensors(model.state_dict(), "model.safetensors")
        >>> sorted(rd.io.load_safetensors("model.safetensors"))
        ['bias', 'weight']
        >>> model.load_state_dict(rd.io.load_safetensors("model.safetensors"))
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    arrays, meta = read_safetensors(path, "load_safetensors")
    arrays = _restore_aliases(arrays, meta, "load_safetensors")
    out, wrapped = OrderedDict(), {}
    for k, a in arrays.items():
        if id(a) not in wrapped:
            wrapped[id(a)] = Tensor._wrap(B.xp.asarray(a))
        out[k] = wrapped[id(a)]
    return out


def safetensors_metadata(path):
    """The {str: str} header metadata of a safetensors file (format, redes_version, dtype, aliases, yours)."""
    return read_safetensors(path, "safetensors_metadata")[1]
