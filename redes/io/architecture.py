"""A module's architecture as JSON: the constructor calls that rebuild it (never pickle).

Every Module records its constructor arguments (`Module.__new__` keeps `_init_args`), so a model is
described by {"class": "redes.nn.linear.Linear", "args": [...], "kwargs": {...}}, nested for modules
given to constructors (Sequential(*layers), Residual(body), ...). A class may instead define
`get_config()` returning such a dict and a classmethod `from_config(config)` to rebuild itself.
Loading only imports classes from `redes` unless the caller trusts more modules.
"""
import importlib

import numpy as np

_SKIP_KWARGS = {"rng", "generator"}     # randomness only matters for the initial weights, which are stored


class ArchitectureError(ValueError):
    """The architecture cannot be written to (or read from) JSON."""


def to_config(module):
    """The JSON-able description of a module's construction."""
    from ..nn.module import Module
    if hasattr(module, "get_config"):
        return {"class": _qualname(module), "config": module.get_config()}
    args, kwargs = getattr(module, "_init_args", ((), {}))
    where = type(module).__name__
    return {"class": _qualname(module),
            "args": [_value(a, f"{where} argument {i}", Module) for i, a in enumerate(args)],
            "kwargs": {k: _value(v, f"{where} argument {k}", Module) for k, v in kwargs.items()
                       if k not in _SKIP_KWARGS}}


def _qualname(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _value(v, where, Module):
    if isinstance(v, Module):
        return {"__module__": to_config(v)}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.dtype):
        return {"__dtype__": str(v)}
    if isinstance(v, (list, tuple)):
        items = [_value(x, where, Module) for x in v]
        return items if isinstance(v, list) else {"__tuple__": items}
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        return {"__dict__": {k: _value(x, where, Module) for k, x in v.items()}}
    raise ArchitectureError(f"save: cannot store the architecture: {where} is a {type(v).__name__} ({v!r:.60}), "
                            "which is not JSON; pass a name instead (e.g. activation='gelu'), or save only the "
                            "weights with rd.save_state_dict(model.state_dict(), path)")


def from_config(config, trusted=("redes",)):
    """Rebuild a module from to_config's description, importing classes only from `trusted` packages."""
    if not isinstance(config, dict) or not isinstance(config.get("class"), str):
        raise ArchitectureError(f"load: an architecture entry must be an object with a 'class' name, got {config!r:.80}")
    cls = _import(config["class"], trusted)
    if "config" in config:
        return cls.from_config(config["config"])
    args = [_restore(a, trusted) for a in config.get("args", [])]
    kwargs = {k: _restore(v, trusted) for k, v in config.get("kwargs", {}).items()}
    return cls(*args, **kwargs)


def _restore(v, trusted):
    if isinstance(v, list):
        return [_restore(x, trusted) for x in v]
    if isinstance(v, dict):
        if "__module__" in v:
            return from_config(v["__module__"], trusted)
        if "__tuple__" in v:
            return tuple(_restore(x, trusted) for x in v["__tuple__"])
        if "__dtype__" in v:
            return np.dtype(v["__dtype__"])
        if "__dict__" in v:
            return {k: _restore(x, trusted) for k, x in v["__dict__"].items()}
    return v


def _import(qualname, trusted):
    module_name, _, cls_name = qualname.rpartition(".")
    if not any(module_name == t or module_name.startswith(t + ".") for t in trusted):
        raise ArchitectureError(f"load: the file asks for class {qualname!r}, outside the trusted packages "
                                f"{list(trusted)}; pass trusted=[..., {module_name.split('.')[0]!r}] if you trust it")
    try:
        obj = importlib.import_module(module_name)
        for part in cls_name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ArchitectureError(f"load: cannot find class {qualname!r}: {e}") from None
    from ..nn.module import Module
    if not (isinstance(obj, type) and (issubclass(obj, Module) or hasattr(obj, "from_config"))):
        # a file must not make load() call an arbitrary function of a trusted package (atomic_write, save...)
        raise ArchitectureError(f"load: {qualname!r} is not a Module class (got {type(obj).__name__}); "
                                "an architecture names only layer classes")
    return obj
