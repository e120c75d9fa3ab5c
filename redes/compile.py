"""rd.compile: record the ops a function runs once, then replay them on arrays as ONE graph node.

    model_loss = rd.compile(lambda x, y: F.cross_entropy(model(x), y))
    for x, y in batches:
        opt.zero_grad()
        model_loss(x, y).backward()     # same values and gradients as without rd.compile
        opt.step()

Eager redes pays, per op, for the Python around the arithmetic: the Module call, argument checks, a Tensor
and a graph node per result, the backward walk. On small models that is most of a step. A compiled function
runs its ops' own forward() on arrays in the recorded order, and its output's single node runs their
backward() in reverse order, handing each parameter its gradient through the usual backward (so .grad,
accumulation, hooks on leaves and optimizers behave as without it).

How a call goes:
  1. first call, or a new signature (Tensor arguments' shapes/dtypes/requires_grad, grad mode, the other
     arguments' values): run eagerly while recording every op (Function.run / apply2) with where each input
     came from: an argument, an earlier op, or a tensor that existed before the call (a parameter: read
     again at every replay, so optimizer updates are seen);
  2. the next call with that signature runs BOTH eagerly and by replay, from the same random state, and
     compares the outputs bit for bit; any difference means the function does something a replay cannot
     repeat, and it then runs eagerly from then on (with a warning);
  3. later calls replay. A parameter that changed shape, dtype or requires_grad, or a module switched
     between train() and eval(), makes the next call record again.
It runs eagerly for good (with a warning saying why) when the function cannot be replayed: it returns
something other than one Tensor made by its ops; an op reads a tensor made during the call outside the
recorded ops; or code with side effects ran (batch norm updating running statistics, embedding max_norm).

Like torch.jit.trace and CUDA graphs, a replay repeats the recorded ops, not the Python around them:
a function whose ops depend on values (`if x.sum() > 0:`), prints, or list appends is replayed as recorded.
The check in step 2 catches the first kind when the second call takes another branch.
"""
import warnings

import numpy as np

from . import autograd as _ag
from . import backend as B
from . import random as _random
from .autograd import ArrayMath, Function, modes
from .tensor import Tensor

_ARG, _OP, _LEAF, _CONST, _ARGDATA = range(5)        # where an op input comes from
_MAX_PLANS = 16                                        # recorded signatures kept per compiled function


class _Recorder:
    """Collects the ops of one eager call (installed as this thread's autograd.modes().recorder while it runs)."""

    def __init__(self, args):
        self.args = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        self.arg_data = {id(a.array): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        self.ops, self.out_index, self.leaves, self.leaf_index = [], {}, [], {}
        self.modules = {}               # id -> (module, its .training when recorded): train()/eval() re-records
        self.made = set()               # ids of tensors created during the call
        self.keep = []                  # ...and the tensors themselves, so that no id is reused while recording
        self.unsafe = None              # why this call cannot be replayed, or None

    def side_effect(self, why):
        if self.unsafe is None:
            self.unsafe = why

    def source(self, x):
        """(kind, payload) telling the replay where input x comes from."""
        if isinstance(x, Tensor):
            k = self.out_index.get(id(x))
            if k is not None:
                return _OP, k
            i = self.args.get(id(x))
            if i is not None:
                return _ARG, i
            if id(x) in self.made:
                self.side_effect(f"an op reads a tensor made during the call outside the recorded ops "
                                 f"(shape {tuple(x.shape)}): its value would not be recomputed by a replay")
            li = self.leaf_index.get(id(x))
            if li is None:
                li = self.leaf_index[id(x)] = len(self.leaves)
                self.leaves.append(x)
            return _LEAF, li
        if isinstance(x, B.xp.ndarray):     # raw arrays handed to an op (e.g. class-index targets)
            i = self.arg_data.get(id(x)) if x.base is None else self.arg_data.get(id(x.base))
            if i is not None:
                return _ARGDATA, (i, x.shape)
        return _CONST, x

    def record(self, fn, args, options, out, binary):
        module = modes().module
        if module is not None and id(module) not in self.modules:
            self.modules[id(module)] = (module, module.training)
        srcs = tuple(self.source(a) for a in args)
        needs = tuple(fn.needs) if out.grad_fn is fn else (False,) * len(args)
        self.out_index[id(out)] = len(self.ops)
        self.keep.append(out)
        self.ops.append((type(fn), srcs, options, binary, needs))


class _Replayed(Function):
    """The node of a replayed call: its backward runs the recorded ops' backward in reverse order."""
    op = "compiled"
    differentiable_backward = False

    def forward(self, *leaf_arrays):              # never called: a replay builds its node directly
        raise NotImplementedError

    def backward(self, m, dy, y, *leaf_arrays):
        plan, fns, inputs, values = self.plan, self.fns, self.inputs_of, self.values
        grads = [None] * len(fns)
        grads[plan.out] = dy
        leaf_grads = [None] * len(plan.grad_leaves)
        for k in plan.backward_order:
            g = grads[k]
            if g is None:
                continue
            grads[k] = None
            dxs = fns[k].backward(ArrayMath, g, values[k], *inputs[k])
            for i, kind, j in plan.routes[k]:
                dx = dxs[i]
                if dx is None:
                    continue
                if kind == _OP:
                    grads[j] = dx if grads[j] is None else grads[j] + dx
                else:
                    leaf_grads[j] = dx if leaf_grads[j] is None else leaf_grads[j] + dx
        return tuple(leaf_grads)          # (the engine drops this node's __dict__ unless retain_graph)


class _Plan:
    """A recorded call, ready to replay."""

    def __init__(self, rec, out_k, arg_tensors):
        self.ops, self.leaves, self.out = rec.ops, rec.leaves, out_k
        self.leaf_flags = [(t.requires_grad, t.array.shape, t.array.dtype) for t in rec.leaves]
        self.modules = list(rec.modules.values())
        # Which inputs get gradients (a leaf or an argument that requires grad), numbered for the node's inputs.
        grad_inputs, index = [], {}
        for kind, j in [(_LEAF, j) for j in range(len(rec.leaves))] + [(_ARG, i) for i in range(len(arg_tensors))]:
            t = rec.leaves[j] if kind == _LEAF else arg_tensors[j]
            if t is not None and t.requires_grad:
                index[kind, j] = len(grad_inputs)
                grad_inputs.append((kind, j))
        self.grad_leaves = grad_inputs
        self.routes = []
        for cls, srcs, options, binary, needs in rec.ops:
            route = []
            for i, ((kind, payload), need) in enumerate(zip(srcs, needs)):
                if not need:
                    continue
                if kind == _OP:
                    route.append((i, _OP, payload))
                elif (kind, payload) in index:
                    route.append((i, _LEAF, index[kind, payload]))
            self.routes.append(tuple(route))
        self.backward_order = [k for k in range(len(rec.ops) - 1, -1, -1) if self.routes[k]]

    def fresh(self):
        """False when a parameter changed shape, dtype or requires_grad, or a module train()/eval(), since recording."""
        return (all(m.training == training for m, training in self.modules)
                and all((t.requires_grad, t.array.shape, t.array.dtype) == f for t, f in zip(self.leaves, self.leaf_flags)))

    def run(self, args):
        """Replay the forward on arrays; the output Tensor (with one node when gradients are needed)."""
        leaves, values, fns, inputs = self.leaves, [], [], []
        for cls, srcs, options, binary, needs in self.ops:
            arrays = []
            for kind, payload in srcs:
                if kind == _OP:
                    a = values[payload]
                elif kind == _LEAF:
                    a = leaves[payload].array
                elif kind == _ARG:
                    a = args[payload].array
                elif kind == _CONST:
                    a = payload
                else:
                    a = args[payload[0]].array.reshape(payload[1])
                if binary and type(a) is np.ndarray and not a.shape:
                    a = a[()]                                  # as Function.apply2 reads 0-d arrays
                arrays.append(a)
            fn = cls()
            fn.needs = needs
            y = fn.forward(*arrays, **options)
            if type(y) is not np.ndarray and not isinstance(y, np.generic):
                y = Tensor._wrap(y).array                       # as Function.run stores it
            values.append(y)
            fns.append(fn)
            inputs.append(arrays)
        node = _Replayed()          # one node for the whole call, made where every op's node is made
        ins = tuple(leaves[j] if kind == _LEAF else args[j] for kind, j in self.grad_leaves)
        out = _ag._output(node, values[self.out], ins, tuple(t.array for t in ins), (True,) * len(ins), bool(ins), {})
        if out.grad_fn is node:
            node.plan, node.fns, node.inputs_of, node.values = self, fns, inputs, values
        return out


class compile:  # noqa: A001  (named as torch.compile)
    """Wrap `fn` (Tensors and other arguments -> one Tensor) so that its ops are recorded once and replayed.

    See the module docstring for what a replay repeats and when it falls back to running `fn` eagerly.
    `rd.compile(fn)(*args)` gives the values and gradients of `fn(*args)`.
    """

    def __init__(self, fn):
        self.fn = fn
        self.plans = {}              # signature -> a _Plan checked against eager: replayed
        self.pending = {}            # signature -> _Plan recorded but not yet checked against eager
        self.eager_reason = None     # set when fn cannot be replayed: it then always runs eagerly

    def __call__(self, *args):
        m = modes()
        if self.eager_reason is not None or m.anomaly or m.recorder is not None:
            return self.fn(*args)
        key = _signature(args)
        plan = self.plans.get(key)
        if plan is not None and plan.fresh():
            return plan.run(args)
        plan = self.pending.pop(key, None)
        if plan is not None and plan.fresh():
            return self._verify(plan, key, args)
        return self._record(key, args)

    def _record(self, key, args):
        rec = _Recorder(args)
        m = modes()
        prev, m.recorder = m.recorder, rec
        wrap, init = Tensor.__dict__["_wrap"], Tensor.__init__

        def noting_wrap(array):                 # every Tensor made during the call outside the ops (rd.zeros, ...)
            t = wrap.__func__(array)
            rec.made.add(id(t))
            rec.keep.append(t)
            return t

        def noting_init(t, *a, **k):
            init(t, *a, **k)
            rec.made.add(id(t))
            rec.keep.append(t)
        Tensor._wrap, Tensor.__init__ = staticmethod(noting_wrap), noting_init
        try:
            out = self.fn(*args)
        finally:
            m.recorder = prev
            Tensor._wrap, Tensor.__init__ = wrap, init
        if not isinstance(out, Tensor) or id(out) not in rec.out_index:
            self._give_up("the function must return one Tensor computed by its ops")
        elif rec.unsafe is not None:
            self._give_up(rec.unsafe)
        else:
            if len(self.plans) + len(self.pending) >= _MAX_PLANS:    # e.g. a changing number argument
                self.plans.clear()
                self.pending.clear()
            self.pending[key] = _Plan(rec, rec.out_index[id(out)], [a if isinstance(a, Tensor) else None for a in args])
        return out

    def _verify(self, plan, key, args):
        """Run eagerly and by replay from the same random state; keep the plan only if they agree bit for bit."""
        rng = _random.default_rng().bit_generator
        before = rng.state
        eager = self.fn(*args)
        rng.state = before
        out = plan.run(args)
        if (isinstance(eager, Tensor) and eager.shape == out.shape and eager.dtype == out.dtype
                and np.array_equal(B.to_numpy(eager.array), B.to_numpy(out.array), equal_nan=True)):
            self.plans[key] = plan
            return out
        self._give_up("a replay gave another result than running the function (its ops depend on values, "
                      "e.g. Python branches on tensor contents)")
        return eager

    def _give_up(self, why):
        self.eager_reason = why
        warnings.warn(f"rd.compile({getattr(self.fn, '__name__', 'fn')}): runs eagerly: {why}", stacklevel=3)


def _signature(args):
    """What a recorded plan depends on besides the parameters: grad mode and each argument's kind."""
    parts = [modes().grad_enabled]
    for a in args:
        if isinstance(a, Tensor):
            parts.append((a.array.shape, a.array.dtype.str, a.requires_grad))
        else:
            try:
                hash(a)
                parts.append(("value", a))
            except TypeError:
                parts.append(("object", id(a)))
    return tuple(parts)
