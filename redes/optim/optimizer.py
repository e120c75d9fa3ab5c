"""Optimizer: parameter groups, per-parameter state, state_dict, and the step loop every optimizer shares.

A subclass checks its hyperparameters, says which arrays its state holds (`_new_state`), and implements
`_update`, which calls a pure per-array update function (sgd_update, adam_update, ...). The update
writes into the parameter's array in place and never into a gradient (gradient arrays may be shared).

Fast path (torch's `foreach`). With foreach=None (default) or True, when every parameter of a group has a
gradient and they share one float dtype, the group's state arrays live in one contiguous buffer each (the
state Tensors hold views of it), and a step is one gather of the parameters and of the gradients, one
update on the whole flat buffer, and one copy back into each parameter's own array: a handful of NumPy
calls for the model, instead of a handful per parameter. Where a compiled kernel takes the lists of arrays
(SGD with momentum, Adam(W) on float32), one call updates every parameter in its own storage with its slice
of the state buffers, and nothing is gathered; from then on, while nothing changes (the same parameters, arrays,
state), a step is one pass of checks and that call (_FlatGroup.quick_step). As in torch, a parameter's storage
is never swapped: a reference to `p.array` (or `p.numpy()`) taken before the first step sees every update. If a
state Tensor is replaced, or a parameter changes dtype or shape (module.to(dtype), load_state_dict...),
the state is flattened again from the current values. foreach=False, parameters without a gradient,
mixed dtypes or unequal step counts take the per-parameter path, which runs the same update function on
each parameter's own arrays: both paths give the same numbers. fused=True (SGD, Adam, AdamW, Adagrad, as
torch) asks for one fused update per group: the flat path, with the compiled kernels where they apply.
"""
import copy
from collections import defaultdict

from .. import autograd as _ag
from .. import backend as B
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _number(value, name):
    """A hyperparameter as a Python number (a 0-d Tensor or array is accepted, as torch accepts a Tensor lr)."""
    if isinstance(value, Tensor) or hasattr(value, "item"):
        return value.item()
    return value


class Optimizer:
    """Base class of all optimizers: holds `param_groups` (list of dicts) and `state` (param -> dict).

    Args:
        params: an iterable of Tensors, of (name, Tensor) pairs, or of dicts ({"params": [...], "lr": ...})
            that form parameter groups with their own hyperparameters.
        defaults: the hyperparameters a group gets when it does not set them.

    Example:
        >>> model = rd.nn.Sequential(rd.nn.Linear(3, 4), rd.nn.Linear(4, 1))
        >>> opt = rd.optim.SGD([{"params": model[0].parameters()},
        ...                     {"params": model[1].parameters(), "lr": 1e-3}], lr=1e-2, momentum=0.9)
        >>> opt.param_groups[1]["lr"], opt.param_groups[1]["momentum"]
        (0.001, 0.9)
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._layouts = {}              # id(group) -> _FlatGroup (the fast path's buffers)
        self._step_calls = 0            # read by the lr schedulers to warn when they step first
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a Tensor (wrap it in a list: [param])")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k not in ("params", "param_names")]
        return "\n".join(lines + [")"])

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group of parameters (with its own hyperparameters) to optimize, e.g. unfrozen layers."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but params[{i}] is {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"can't optimize a non-leaf Tensor (params[{i}] was computed by "
                                 f"'{p.grad_fn.op}'); optimize the leaves it was computed from")
        param_group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        _check_foreach(param_group)
        self._check_group(param_group)
        self.param_groups.append(param_group)

    def _check_group(self, group):
        """Validate a group's hyperparameters (subclasses raise ValueError naming the bad value)."""

    # ------------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: p.grad = None (default), or a new zero array (never zeroed in place)."""
        for group in self.param_groups:
            if set_to_none:
                for p in group["params"]:
                    p.grad = None
                continue
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = Tensor._wrap(B.xp_of(p.grad.array).zeros_like(p.grad.array))

    # ------------------------------------------------------------------ the step
    def step(self, closure=None):
        """One update of every parameter that has a gradient. `closure` (optional) re-evaluates the loss."""
        loss = None
        if closure is not None:
            with _ag.enable_grad():
                loss = closure()
        self._step_calls += 1
        for group in self.param_groups:
            if B.multi:
                self._step_on_device(group)
            else:
                self._step_group(group)
        return loss

    def _step_on_device(self, group):
        """_step_group with its state and arithmetic on the device of the group's parameters."""
        found = {B.backend_of(p.array) for p in group["params"]}
        if len(found) > 1:
            raise RuntimeError(f"{type(self).__name__}.step: the parameters of one group are on several devices "
                               f"({', '.join(sorted(b.type for b in found))}); move the model with "
                               "model.to(device) before making the optimizer")
        B.call_on(found.pop() if found else B.default, self._step_group, group)

    def _new_state(self, p, group):
        """The state of a parameter on its first step: {'step': 0} and zeros for each of _state_names."""
        state = {"step": 0}
        for name in self._state_names(group):
            state[name] = Tensor._wrap(B.xp_of(p.array).zeros_like(p.array))
        return state

    def _state_names(self, group):
        """Names of the state entries that are arrays of the parameter's shape."""
        return ()

    def _update(self, group, param, grad, bufs, step, first):
        """Update one array (a parameter, or a whole flat group) in place; bufs maps state names to arrays."""
        raise NotImplementedError

    def _update_many(self, group, params, grads, bufs, step, first):
        """The flat update without gathering: params and grads are lists of arrays, bufs the flat state buffers
        (consecutive slices per parameter). True when done; False (nothing changed) sends the group through
        the gather path. Optimizers with a compiled multi-array kernel override it."""
        return False

    def _step_group(self, group):
        layout = self._layouts.get(id(group))
        if layout is not None and layout.quick and layout.quick_step(self, group):
            return                                          # the common case: nothing changed since the last step
        params = group["params"]
        grads = [p.grad for p in params]
        if len(params) > 1 and group.get("foreach") is not False and all(g is not None for g in grads):
            if layout is None or not layout.intact(self, group):
                layout = self._layouts[id(group)] = _FlatGroup.build(self, group)
            if layout is not None and layout.step(self, group, grads):
                return
        names = self._state_names(group)
        for p, g in zip(params, grads):                    # the per-parameter path
            if g is None:
                continue
            st = self.state[p]
            first = not st or any(name not in st for name in names)    # e.g. momentum switched on mid-training
            if first:
                for key, value in self._new_state(p, group).items():
                    st.setdefault(key, value)
            if "step" in st:
                st["step"] += 1
            if g.shape != p.shape:
                raise RuntimeError(f"{type(self).__name__}: a gradient has shape {tuple(g.shape)} but its parameter "
                                   f"has shape {tuple(p.shape)}")
            bufs = {name: st[name].array for name in names}
            self._update(group, p.array, g.array, bufs, st.get("step"), first)

    # ------------------------------------------------------------------ saving and loading
    def state_dict(self):
        """{'state': {index: {name: Tensor or number}}, 'param_groups': [{hyperparameters..., 'params': [indices]}]}.

        The format of torch.optim: parameters are numbered in group order, state is keyed by those numbers,
        and the arrays are the live state Tensors (copy them to keep a snapshot). Everything but the
        Tensors is a plain number, string, bool, list or tuple, so it serialises as JSON.
        """
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(st) for p, st in self.state.items() if st and id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by state_dict() (redes' or torch's; arrays are copied).

        Groups must have the same sizes as this optimizer's. Array state is cast to each parameter's dtype;
        state keys may be ints or strings (as after a JSON round trip).
        """
        saved_groups = [dict(copy.deepcopy({k: v for k, v in g.items() if k != "params"}), params=list(g["params"]))
                        for g in state_dict["param_groups"]]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups ({len(saved_groups)}) "
                             f"than this optimizer ({len(self.param_groups)})")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group: group {i} has {len(s['params'])} parameters in the state dict, "
                                 f"{len(g['params'])} here")
        id_map = {int(k): p for g, s in zip(self.param_groups, saved_groups) for k, p in zip(s["params"], g["params"])}
        state = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            p = id_map.get(int(key))
            if p is None:
                continue
            state[p] = {name: _load_value(type(self).__name__, p, name, value) for name, value in entry.items()}
        for g, s in zip(self.param_groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            if isinstance(s.get("betas"), list):
                s["betas"] = tuple(s["betas"])
        self.state = state
        self.param_groups = saved_groups
        self._layouts.clear()


def _load_value(cls, p, name, value):
    """One state entry from a checkpoint: 'step' as a number, arrays copied to a Tensor of p's dtype and shape."""
    if name == "step":
        v = float(_number(value, name))
        return int(v) if v.is_integer() else v
    if isinstance(value, list):
        value = B.xp_of(p.array).asarray(value)                 # an array that went through JSON as nested lists
    if isinstance(value, Tensor) or hasattr(value, "shape"):
        from ..nn.module import _as_array
        a = _as_array(value)
        dtype = p.dtype if a.dtype.kind == "f" and p.dtype.kind == "f" else a.dtype
        a = B.xp_of(p.array).array(B.move(a, B.backend_of(p.array).type), dtype=dtype)   # a copy, on p's device
        if a.ndim and a.shape != p.shape:
            raise ValueError(f"{cls}.load_state_dict: state '{name}' has shape {tuple(a.shape)} but its parameter "
                             f"has shape {tuple(p.shape)}")
        return Tensor._wrap(a)
    return value


SLICE_MIN_SIZE = 65536      # from this mean size a parameter, a group updates per slice, without gathering gradients


class _FlatGroup:
    """One contiguous buffer per state array of a group, one for the gathered gradients and one for the parameters.

    Invisible to the user, as torch's foreach path: the state Tensors are views into the optimizer's own
    buffers, but a parameter's storage is never swapped. Each step gathers the parameters' current values
    (one concatenate), updates the flat copy, and writes each slice back into the parameter's own array.
    """

    @classmethod
    def build(cls, opt, group):
        """Flatten a group's state from its current values; None if it cannot be flattened."""
        xp = B.xp
        params = group["params"]
        dtype = params[0].array.dtype
        if dtype.kind != "f" or any(p.array.dtype != dtype for p in params):
            return None
        names = opt._state_names(group)
        fresh = [not opt.state.get(p) for p in params]
        if any(fresh) and not all(fresh):
            return None                  # some parameters missed earlier steps: per parameter until all have state
        for p in params:
            if fresh[0]:
                opt.state[p].update(opt._new_state(p, group))
            if any(name not in opt.state[p] for name in names):
                return None                                       # state edited by hand: per parameter
        self = cls()
        n = sum(p.array.size for p in params)
        self.bufs = {name: xp.empty(n, dtype) for name in names}
        self.params, self.names, self.checks = list(params), names, []
        self.shapes = [p.array.shape for p in params]
        self.dtype = dtype
        start = 0
        for p in params:
            shape, end = p.array.shape, start + p.array.size
            st = opt.state[p]
            for name in names:
                t = st[name]
                if t.shape != shape:
                    raise RuntimeError(f"{type(opt).__name__}: state '{name}' has shape {tuple(t.shape)} but its "
                                       f"parameter has shape {tuple(shape)}")
                self.bufs[name][start:end] = t.array.reshape(-1)
                t.array = self.bufs[name][start:end].reshape(shape)
                self.checks.append((st, name, t, t.array))
            start = end
        self.states = [opt.state[p] for p in params]
        self.fresh = fresh[0]                                     # every state is new: this is their first step
        self.quick, self.arrays = False, None                     # set by the first step the kernel takes
        self.counted = "step" in self.states[0]
        # Few large parameters: update each parameter's own array in place, with its slice of the state buffers.
        # Gathering the parameters and gradients would cost more passes over memory than the calls it saves.
        self.slices = self.array = self.grad = None
        if n < SLICE_MIN_SIZE * len(params):
            self.array = xp.empty(n, dtype)                     # the parameters' values, gathered each step
            self.grad = xp.empty(n, dtype)                      # the gradients, gathered each step
            self.outs, start = [], 0
            for shape, p in zip(self.shapes, params):
                end = start + p.array.size
                self.outs.append(self.array[start:end].reshape(shape))
                start = end
        else:
            self.slices, start = [], 0
            for p in params:
                end = start + p.array.size
                self.slices.append({k: b[start:end].reshape(p.array.shape) for k, b in self.bufs.items()})
                start = end
        return self

    def intact(self, opt, group):
        """True when the parameters keep their shapes and dtype and every state Tensor still holds its view."""
        params, state = group["params"], opt.state
        if len(params) != len(self.params) or opt._state_names(group) != self.names:
            return False
        for p, q, shape, st in zip(params, self.params, self.shapes, self.states):
            a = p.array
            if p is not q or a.shape != shape or a.dtype != self.dtype or state.get(p) is not st:
                return False
        for st, name, t, v in self.checks:
            if st.get(name) is not t or t.array is not v:
                return False
        return True

    def step(self, opt, group, grads):
        """One update of the whole group on the flat buffers; False (nothing done) if it must go per parameter."""
        states = self.states
        step = states[0].get("step")
        if step is not None and any(st["step"] != step for st in states):
            return False
        for g, shape in zip(grads, self.shapes):
            if g.array.shape != shape:
                return False
        if step is not None:
            step += 1
            for st in states:
                st["step"] = step
        params = group["params"]
        if self.slices is not None:
            dtype = self.dtype
            for p, g, bufs in zip(params, grads, self.slices):
                opt._update(group, p.array, g.array.astype(dtype, copy=False), bufs, step, self.fresh)
        elif opt._update_many(group, [p.array for p in params], [g.array for g in grads], self.bufs, step,
                              self.fresh):
            self.quick, self.arrays = True, [p.array for p in params]     # the next step may take quick_step
        else:
            xp = B.xp
            xp.concatenate([p.array.reshape(-1) for p in params], out=self.array)
            xp.concatenate([g.array.reshape(-1) for g in grads], out=self.grad, casting="same_kind")
            opt._update(group, self.array, self.grad, self.bufs, step, self.fresh)
            for p, out in zip(params, self.outs):
                xp.copyto(p.array, out)                         # back into the parameter's own storage
        self.fresh = False
        return True

    def quick_step(self, opt, group):
        """The common step after one the kernel took (_update_many): when nothing changed since, one update call.

        It checks in one pass what intact() and step() check: the same parameters, with arrays and gradients
        of the recorded shapes, the same state dicts holding the same state Tensors with their views, equal
        step counts. True when the kernel updated the group; False (nothing changed) sends the group through
        the full path, which re-checks, re-flattens or goes per parameter as it must.
        """
        params, state = group["params"], opt.state
        if len(params) != len(self.params) or group.get("foreach") is False or opt._state_names(group) != self.names:
            return False
        grads = []
        for p, q, a, shape, st in zip(params, self.params, self.arrays, self.shapes, self.states):
            g = p.grad
            if p is not q or p.array is not a or g is None or g.array.shape != shape or state.get(p) is not st:
                return False
            grads.append(g.array)
        for st, name, t, v in self.checks:
            if st.get(name) is not t or t.array is not v:
                return False
        step = None
        if self.counted:
            step = self.states[0].get("step")
            for st in self.states:
                if step is None or st.get("step") != step:
                    return False
            step += 1
        if not opt._update_many(group, self.arrays, grads, self.bufs, step, False):
            return False                                    # e.g. a hyperparameter the kernel does not take
        if step is not None:
            for st in self.states:
                st["step"] = step
        return True


# ------------------------------------------------------------------ helpers for the update functions
def _direction(param, grad, weight_decay, maximize):
    """(-grad if maximize else grad) + weight_decay * param, and whether it is a new array we may write into.

    The gradient array itself is never written: it may be shared with another parameter's gradient.
    """
    if weight_decay != 0:
        d = param * weight_decay
        if maximize:
            d -= grad
        else:
            d += grad
        return d, True
    if maximize:
        return -grad, True
    return grad, False


def _lerp_(a, b, weight, tmp):
    """a += weight * (b - a) in place, with torch.lerp_'s two formulas (the accurate one for each weight)."""
    xp = B.xp
    xp.subtract(b, a, out=tmp)
    if weight < 0.5:
        tmp *= weight
        a += tmp
    else:
        tmp *= 1 - weight
        xp.subtract(b, tmp, out=a)


def _check_foreach(group):
    """foreach / fused: None, True or False, and not both True (torch's rule)."""
    for key in ("foreach", "fused"):
        if group.get(key) not in (None, True, False):
            raise ValueError(f"optimizer: {key} must be None, True or False, got {group[key]!r}")
    if group.get("foreach") and group.get("fused"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _check(value, ok, message):
    if not ok:
        raise ValueError(f"{message}: {value}")


_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _check_nonnegative(group, *keys):
    """Each group[key] >= 0, with torch's message ('Invalid learning rate: -1'); lr becomes a Python number."""
    if "lr" in keys:
        group["lr"] = _number(group["lr"], "lr")
    for key in keys:
        _check(group[key], group[key] >= 0.0, f"Invalid {_LABELS.get(key, key + ' value')}")
