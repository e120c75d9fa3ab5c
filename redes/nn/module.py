"""Module, Parameter and the containers (Sequential, ModuleList, ModuleDict), as in torch.nn.

Parameters and sub-modules are found by walking a module's attributes in the order they were set (as
micrograd and tinygrad do): no registration scope, no __setattr__ tricks. Buffers (running statistics)
are the one thing registered, with `register_buffer`, because a plain tensor attribute may be a cache.
"""
from collections import OrderedDict, namedtuple

from .. import autograd as _ag
from .. import backend as B
from .. import dtypes as _dt
from ..tensor import Tensor
from . import _checks

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module learns: requires_grad=True, and found by Module.parameters().

    A NumPy float array becomes the default float dtype (float32); a Tensor keeps its dtype.
    """
    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = B.xp.zeros(0, _dt.get_default_dtype())
        if isinstance(data, Tensor):
            array = B.xp.asarray(data.array)
        else:
            array = B.xp.asarray(data)
            if array.dtype.kind == "f" and array.dtype != _dt.get_default_dtype():
                array = array.astype(_dt.get_default_dtype())
        self.array = array
        self.grad = self.grad_fn = self.name = None
        self._seq, self._retain, self.requires_grad = 0, False, False
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _Handle:
    def __init__(self, hooks, key):
        self.hooks, self.key = hooks, key

    def remove(self):
        self.hooks.pop(self.key, None)


class Module:
    """Base class of every layer and model: subclass it, set layers/parameters as attributes, write forward().

    Example:
        >>> class TwoLayer(rd.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = rd.nn.Linear(3, 4)
        ...         self.out = rd.nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).relu())
        >>> TwoLayer()(rd.zeros(5, 3)).shape
        (5, 2)
    """
    _forward_hooks = _forward_pre_hooks = {}      # instance dicts are made on first registration

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        self._init_args = (args, kwargs)           # the constructor call, so rd.save can store the architecture as JSON
        return self

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if args and type(args[0]) is _Node:        # a symbolic input (nn.Input): record a graph node (graph.py)
            return _symbolic_call(self, args, kwargs)
        state = _ag.state
        prev = state.module
        state.module = self                        # every op recorded in forward remembers its module
        if prev is None:
            state.root = self
        try:
            if self._forward_pre_hooks:
                for hook in list(self._forward_pre_hooks.values()):
                    new = hook(self, args)
                    if new is not None:
                        args = new if isinstance(new, tuple) else (new,)
            out = self.forward(*args, **kwargs)
            if self._forward_hooks:
                for hook in list(self._forward_hooks.values()):
                    new = hook(self, args, out)
                    if new is not None:
                        out = new
            return out
        finally:
            state.module = prev

    def register_forward_hook(self, hook):
        """hook(module, inputs, output) runs after forward; a non-None return replaces the output."""
        if "_forward_hooks" not in self.__dict__:
            self._forward_hooks = {}
        key = object()
        self._forward_hooks[key] = hook
        return _Handle(self._forward_hooks, key)

    def register_forward_pre_hook(self, hook):
        """hook(module, inputs) runs before forward; a non-None return replaces the inputs."""
        if "_forward_pre_hooks" not in self.__dict__:
            self._forward_pre_hooks = {}
        key = object()
        self._forward_pre_hooks[key] = hook
        return _Handle(self._forward_pre_hooks, key)

    # ------------------------------------------------------------------ walking the tree
    def _items(self):
        """(name, value) pairs to walk: the attributes, in the order they were set."""
        return self.__dict__.items()

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not learned (e.g. running_mean): saved in state_dict, moved by .to()."""
        if "_buffer_names" not in self.__dict__:
            self._buffer_names = {}
        self._buffer_names[name] = persistent
        setattr(self, name, tensor if tensor is None or isinstance(tensor, Tensor) else Tensor(tensor))

    def register_parameter(self, name, param):
        setattr(self, name, param)

    def add_module(self, name, module):
        setattr(self, name, module)

    def named_children(self):
        for name, value in self._items():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        return (m for _, m in self.named_children())

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        return (m for _, m in self.named_modules())

    def _own(self, kind):
        """This module's own parameters (kind 'p') or buffers (kind 'b'), without descending."""
        if kind == "p":
            return [(n, v) for n, v in self._items() if isinstance(v, Parameter)]
        names = self.__dict__.get("_buffer_names", {})
        return [(n, getattr(self, n)) for n in names if getattr(self, n, None) is not None]

    def _named(self, kind, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mprefix, module in modules:
            for name, value in module._own(kind):
                if remove_duplicate:
                    if id(value) in seen:              # a parameter shared by two modules counts once
                        continue
                    seen.add(id(value))
                yield (f"{mprefix}.{name}" if mprefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("p", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("b", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    # ------------------------------------------------------------------ state
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name ('0.weight', 'bn.running_mean'), as torch.

        Each module contributes its own parameters, then its buffers, then its children's, so keys come
        in the same order as in the PyTorch twin. A shared parameter appears under its first name only.
        """
        out = OrderedDict() if destination is None else destination
        seen = set()
        for mprefix, module in self.named_modules(prefix=prefix.rstrip(".")):
            persistent = module.__dict__.get("_buffer_names", {})
            for name, value in module._own("p") + [(n, b) for n, b in module._own("b") if persistent[n]]:
                if id(value) in seen:
                    continue
                seen.add(id(value))
                out[f"{mprefix}.{name}" if mprefix else name] = value if keep_vars else value.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into this module's parameters and buffers by name (values: Tensors, NumPy or torch arrays).

        Shapes must match; values are cast to each parameter's dtype. With strict=True, missing or
        unexpected keys raise an error listing them.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                               f"unexpected keys {unexpected}")
        for key, target in own.items():
            if key not in state_dict:
                continue
            array = _as_array(state_dict[key])
            if tuple(array.shape) != tuple(target.shape):
                raise RuntimeError(f"load_state_dict: size mismatch for {key}: the checkpoint has shape "
                                   f"{tuple(array.shape)}, this module has {tuple(target.shape)}")
            target.array = B.xp.array(array, dtype=target.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ modes and conversions
    def train(self, mode=True):
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._wrap(B.xp.zeros_like(p.array))

    def apply(self, fn):
        """fn(module) on every sub-module, children first, then self (as torch)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args, dtype=None, device=None):
        """Convert floating parameters and buffers in place (module.to(rd.float64)); returns self."""
        for a in args:
            if isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda"):
                device = a
            else:
                dtype = a
        if device is not None and str(device).split(":")[0] != ("cpu" if B.name == "numpy" else "cuda"):
            raise RuntimeError(f"Module.to: device {device!r} is not the active backend ('{B.name}')")
        if dtype is not None:
            dtype = _dt.as_dtype(dtype)
            for t in list(self.parameters()) + list(self.buffers()):
                if t.dtype.kind == "f":
                    t.array = t.array.astype(dtype)
                    if t.grad is not None:
                        t.grad = Tensor._wrap(t.grad.array.astype(dtype))
        return self

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def cpu(self):
        return self

    def num_parameters(self, trainable_only=False):
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _as_array(value):
    """NumPy/backend array from a Tensor, a NumPy array, or anything array-like (a torch tensor included)."""
    if isinstance(value, Tensor):
        return value.array
    if hasattr(value, "detach") and hasattr(value, "cpu"):          # a torch.Tensor, without importing torch
        return value.detach().cpu().numpy()
    return B.xp.asarray(value)


class Sequential(Module):
    """Modules applied one after the other; children are named '0', '1', ... (or by an OrderedDict's keys)."""
    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                setattr(self, name, m)
        else:
            for i, m in enumerate(modules):
                setattr(self, str(i), m)

    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x

    def __getitem__(self, i):
        mods = list(self.children())
        if isinstance(i, slice):
            return Sequential(*mods[i])
        return mods[i]

    def __len__(self):
        return sum(1 for _ in self.children())

    def __iter__(self):
        return iter(list(self.children()))

    def append(self, module):
        setattr(self, str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters the parent finds; children are named '0', '1', ..."""
    def __init__(self, modules=()):
        super().__init__()
        self._list = []
        self.extend(modules)

    def _items(self):
        return [(k, v) for k, v in self.__dict__.items() if k != "_list"] + \
            [(str(i), m) for i, m in enumerate(self._list)]

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        self._list.append(module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        self._list.insert(index, module)

    def __getitem__(self, i):
        return ModuleList(self._list[i]) if isinstance(i, slice) else self._list[i]

    def __setitem__(self, i, module):
        self._list[i] = module

    def __len__(self):
        return len(self._list)

    def __iter__(self):
        return iter(self._list)


class ModuleDict(Module):
    """A dict of modules whose parameters the parent finds; children are named by their keys."""
    def __init__(self, modules=None):
        super().__init__()
        self._dict = OrderedDict()
        if modules is not None:
            self.update(modules)

    def _items(self):
        return [(k, v) for k, v in self.__dict__.items() if k != "_dict"] + list(self._dict.items())

    def update(self, modules):
        for k, m in (modules.items() if hasattr(modules, "items") else modules):
            self[k] = m

    def __getitem__(self, key):
        return self._dict[key]

    def __setitem__(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: value for {key!r} must be a Module, got {type(module).__name__}")
        self._dict[key] = module

    def __contains__(self, key):
        return key in self._dict

    def __len__(self):
        return len(self._dict)

    def __iter__(self):
        return iter(self._dict)

    def keys(self):
        return self._dict.keys()

    def values(self):
        return self._dict.values()

    def items(self):
        return self._dict.items()


class Identity(Module):
    """y = x (a placeholder layer, e.g. an empty shortcut)."""
    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Flattens dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""
    def __init__(self, start_dim=1, end_dim=-1):
        if not (_checks._is_int(start_dim) and _checks._is_int(end_dim)):
            raise TypeError(f"Flatten: start_dim and end_dim must be ints, got {start_dim!r}, {end_dim!r}")
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits one dim into several: Unflatten(1, (C, H, W)) maps (N, C*H*W) -> (N, C, H, W)."""
    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


from .graph import Node as _Node, symbolic_call as _symbolic_call  # noqa: E402  (graph.py builds on Module)
