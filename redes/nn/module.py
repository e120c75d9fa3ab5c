"""Module, Parameter and the containers (Sequential, ModuleList, ModuleDict), as in torch.nn.

Parameters and sub-modules are found by walking a module's attributes in the order they were set (as
micrograd and tinygrad do): no registration scope, no __setattr__ tricks. Buffers (running statistics)
are the one thing registered, with `register_buffer`, because a plain tensor attribute may be a cache.
"""
import functools
import inspect
from collections import OrderedDict, namedtuple

from .. import autograd as _ag
from ..autograd import _modes_get
from .. import backend as B
from .. import devices as _device
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


def _on_device(init):
    """__init__(..., device=...) followed by self.to(device): a device the machine lacks is an error, never ignored."""
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        init(self, *args, **kwargs)
        device = (kwargs.get("device") if not args else
                  inspect.signature(init).bind(self, *args, **kwargs).arguments.get("device"))
        if device is not None:
            self.to(device)
    return wrapper


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

    def __init_subclass__(cls, **kw):
        """A layer whose __init__ takes device= (torch's factory argument) is created on that device."""
        super().__init_subclass__(**kw)
        init = cls.__dict__.get("__init__")
        code = getattr(init, "__code__", None)      # the code's names, not inspect.signature: import time counts
        if code is not None and "device" in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
            cls.__init__ = _on_device(init)

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
        state = _modes_get(None) or _ag.modes()   # this thread's modes (the ContextVar read inlined: a call per layer)
        prev = state.module
        state.module = self                        # every op recorded in forward remembers its module
        if prev is None:
            state.root = self
        try:
            if self._forward_pre_hooks or self._forward_hooks:
                return self._call_hooked(args, kwargs)
            return self.forward(*args, **kwargs)
        finally:
            state.module = prev

    def _call_hooked(self, args, kwargs):
        """forward with its pre-hooks (may replace the inputs) and hooks (may replace the output)."""
        for hook in list(self._forward_pre_hooks.values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            new = hook(self, args, out)
            if new is not None:
                out = new
        return out

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
        in the same order as in the PyTorch twin. As in torch, a shared (tied) parameter appears under each
        of its names, the values sharing one array; rd.io's writers store it once.
        """
        out = OrderedDict() if destination is None else destination
        for mprefix, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            persistent = module.__dict__.get("_buffer_names", {})
            for name, value in module._own("p") + [(n, b) for n, b in module._own("b") if persistent[n]]:
                out[f"{mprefix}.{name}" if mprefix else name] = value if keep_vars else value.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into this module's parameters and buffers by name (values: Tensors, NumPy or torch arrays).

        Shapes must match; values are cast to each parameter's dtype. With strict=True, missing or
        unexpected keys raise an error listing them. A tied parameter counts as loaded when any of its names
        is in state_dict (files that store it once, as safetensors' save_model writes them).
        """
        own = self.state_dict(keep_vars=True)
        loaded = {id(v) for k, v in own.items() if k in state_dict}
        missing = [k for k, v in own.items() if k not in state_dict and id(v) not in loaded]
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
            target.array = B.xp_of(target.array).array(B.move(array, B.backend_of(target.array).type),
                                                       dtype=target.dtype)      # a copy, on the module's device
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

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """Move and convert parameters and buffers in place (module.to("twin"), module.to(rd.float64)); returns self.

        module.to(device), .to(tensor) and .to(device, dtype) work as in torch: each parameter keeps its
        identity (optimizers made before still hold it) and its gradient moves with it. "cuda" without CuPy
        or a GPU raises a clear error.
        """
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, _device.device) or (isinstance(a, str) and a.split(":")[0] in _device.TYPES):
                device = a
            else:
                dtype = a
        if device is not None:
            device = _device.check(device, "Module.to").type
        if dtype is not None:
            dtype = _dt.as_dtype(dtype)
        for t in list(self.parameters()) + list(self.buffers()):
            if device is not None:
                t.array = B.move(t.array, device)
                if t.grad is not None:
                    t.grad = Tensor._wrap(B.move(t.grad.array, device))
            if dtype is not None and t.dtype.kind == "f":
                t.array = t.array.astype(dtype)
                if t.grad is not None:
                    t.grad = Tensor._wrap(t.grad.array.astype(dtype))
        return self

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to(_device.device("cuda" if device is None else device))

    def num_parameters(self, trainable_only=False):
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        # as torch: with children, the extra_repr gets a line of its own
        return f"{type(self).__name__}(" + "\n  " + "\n  ".join(([extra] if extra else []) + lines) + "\n)"


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
        # children() without its two generators (same order, same test): a cost per step on small models
        values = self.__dict__.values() if type(self)._items is Module._items else self.children()
        for m in values:
            if isinstance(m, Module):
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
    """A list of modules whose parameters the parent finds; children are named '0', '1', ...

    Example:
        >>> layers = rd.nn.ModuleList([rd.nn.Linear(2, 2) for _ in range(3)])
        >>> _ = layers.append(rd.nn.ReLU())
        >>> len(layers), type(layers[-1]).__name__, len(layers[1:])
        (4, 'ReLU', 3)
    """
    def __init__(self, modules=()):
        super().__init__()
        self._list = []
        self.extend(modules)

    def _items(self):
        return [(k, v) for k, v in self.__dict__.items() if k != "_list"] + \
            [(str(i), m) for i, m in enumerate(self._list)]

    @staticmethod
    def _check(module, caller):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.{caller}: expected a Module, got {type(module).__name__}")
        return module

    def append(self, module):
        self._list.append(self._check(module, "append"))
        return self

    def extend(self, modules):
        for m in modules:
            self._list.append(self._check(m, "extend"))
        return self

    def insert(self, index, module):
        self._list.insert(index, self._check(module, "insert"))

    def pop(self, index=-1):
        return self._list.pop(index)

    def __getitem__(self, i):
        return ModuleList(self._list[i]) if isinstance(i, slice) else self._list[i]

    def __setitem__(self, i, module):
        self._list[i] = self._check(module, "__setitem__")

    def __delitem__(self, i):
        del self._list[i]

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __iadd__(self, modules):
        return self.extend(modules)

    def __len__(self):
        return len(self._list)

    def __iter__(self):
        return iter(self._list)

    def __getattr__(self, name):               # getattr(layers, "0"), as torch's named children allow
        items = self.__dict__.get("_list")
        if items is not None and name.isdigit() and int(name) < len(items):
            return items[int(name)]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


class _DictAccess:
    """The read/delete side of a dict, over `self._dict`: shared by ModuleDict and ParameterDict."""
    def _items(self):
        return [(k, v) for k, v in self.__dict__.items() if k != "_dict"] + list(self._dict.items())

    # NOTE: attribute access is the one place redes uses __getattr__/__setattr__ on a module: torch programs
    # write `self.transformer.wte(idx)` with transformer a ModuleDict, and the entries must stay in one dict.
    def __getattr__(self, name):
        entries = self.__dict__.get("_dict")
        if entries is not None and name in entries:
            return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delitem__(self, key):
        del self._dict[key]

    def pop(self, key):
        return self._dict.pop(key)

    def clear(self):
        self._dict.clear()

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


class ModuleDict(_DictAccess, Module):
    """A dict of modules whose parameters the parent finds; children are named by their keys.

    As torch, an entry is also an attribute: `blocks.wte` is `blocks["wte"]`, and assigning a Module to an
    attribute (`blocks.ln_f = LayerNorm(8)`) adds an entry. Methods (keys, train, ...) keep their names.

    Example:
        >>> t = rd.nn.ModuleDict(dict(wte=rd.nn.Embedding(10, 4), ln_f=rd.nn.LayerNorm(4)))
        >>> t.wte is t["wte"], list(t.keys())
        (True, ['wte', 'ln_f'])
    """
    def __init__(self, modules=None):
        super().__init__()
        self._dict = OrderedDict()
        if modules is not None:
            self.update(modules)


    def __setattr__(self, name, value):
        if isinstance(value, Module) and "_dict" in self.__dict__:
            self[name] = value
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if name in self.__dict__.get("_dict", ()):
            del self._dict[name]
        else:
            object.__delattr__(self, name)

    def update(self, modules):
        for k, m in (modules.items() if hasattr(modules, "items") else modules):
            self[k] = m

    def __getitem__(self, key):
        return self._dict[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {type(key).__name__} {key!r}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: value for {key!r} must be a Module, got {type(module).__name__}")
        self._dict[key] = module



def _as_parameter(value, caller):
    """A Parameter as is; another Tensor (or array) becomes a Parameter sharing nothing with the caller's."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value, requires_grad=value.requires_grad or value.dtype.kind in "fc")
    raise TypeError(f"{caller}: expected a Parameter or Tensor, got {type(value).__name__}")


class ParameterList(Module):
    """A list of Parameters that the parent module finds ('0', '1', ... in state_dict), as torch.nn.ParameterList.

    Tensors given to it become Parameters.

    Example:
        >>> ps = rd.nn.ParameterList([rd.nn.Parameter(rd.zeros(2)) for _ in range(2)])
        >>> _ = ps.append(rd.ones(3))
        >>> len(ps), [tuple(p.shape) for p in ps], list(ps.state_dict())
        (3, [(2,), (2,), (3,)], ['0', '1', '2'])
    """
    def __init__(self, values=None):
        super().__init__()
        self._list = []
        if values is not None:
            self.extend(values)

    def _items(self):
        return [(k, v) for k, v in self.__dict__.items() if k != "_list"] + \
            [(str(i), p) for i, p in enumerate(self._list)]

    def append(self, value):
        self._list.append(_as_parameter(value, "ParameterList.append"))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def __getitem__(self, i):
        return ParameterList(self._list[i]) if isinstance(i, slice) else self._list[i]

    def __setitem__(self, i, value):
        self._list[i] = _as_parameter(value, "ParameterList.__setitem__")

    def __len__(self):
        return len(self._list)

    def __iter__(self):
        return iter(self._list)

    def __repr__(self):
        lines = [f"  ({i}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                 for i, p in enumerate(self._list)]
        return "ParameterList(" + ("\n" + "\n".join(lines) + "\n" if lines else "") + ")"


class ParameterDict(_DictAccess, Module):
    """A dict of Parameters that the parent module finds (keys become state_dict names), as torch.nn.ParameterDict.

    Example:
        >>> pd = rd.nn.ParameterDict({"scale": rd.nn.Parameter(rd.ones(2))})
        >>> pd["shift"] = rd.zeros(2)
        >>> list(pd.keys()), list(pd.state_dict())
        (['scale', 'shift'], ['scale', 'shift'])
    """
    def __init__(self, parameters=None):
        super().__init__()
        self._dict = OrderedDict()
        if parameters is not None:
            self.update(parameters)


    def update(self, parameters):
        for k, v in (parameters.items() if hasattr(parameters, "items") else parameters):
            self[k] = v

    def __getitem__(self, key):
        return self._dict[key]

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__} {key!r}")
        self._dict[key] = _as_parameter(value, f"ParameterDict[{key!r}]")


    def __repr__(self):
        lines = [f"  ({k}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                 for k, p in self._dict.items()]
        return "ParameterDict(" + ("\n" + "\n".join(lines) + "\n" if lines else "") + ")"


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


# Symbolic calls (a layer applied to an nn.Input): nn/graph.py, built on Module, registers how they are handled,
# so this file never imports it (see tests/test_import_cycles.py).
_Node = None                 # the class of symbolic values (graph.Node); `type(x) is None` is never true before
_symbolic_call = None


def register_symbolic(node_class, call):
    """Called by nn/graph.py: `module(node, ...)` with a `node_class` first argument returns call(module, args, kwargs)."""
    global _Node, _symbolic_call
    _Node, _symbolic_call = node_class, call
