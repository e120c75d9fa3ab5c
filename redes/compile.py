"""rd.compile: record the ops a function runs once, then replay them as straight-line array code.

    model_loss = rd.compile(lambda x, y: F.cross_entropy(model(x), y))
    for x, y in batches:
        opt.zero_grad()
        model_loss(x, y).backward()     # same values and gradients as without rd.compile
        opt.step()

Eager redes pays, per op, for the Python around the arithmetic: the Module call, argument checks, a Tensor
and a graph node per result, the backward walk. On small models that is most of a step. A compiled function
replays a plan made from the recording (_Plan): a flat list of closures over one list of slots, no Tensor,
no graph node and no option parsing inside. Linear, relu and cross-entropy run as their NumPy calls (or
eager's kernel calls) with what depends only on shapes decided once (relu fused in place with the linear next
to it), writing into buffers allocated once with the plan where the array never leaves the replay; any other
op runs its own forward(). The output gets ONE graph node, whose backward runs the plan's backward code in reverse order;
`out.backward()` on it fills the leaves' .grad directly, in eager's order (accumulation rounds as eagerly),
and any other use (rd.grad, a further op on the output) goes through the engine's walk. So .grad,
accumulation and optimizers behave as without it, and the values are those of eager, bit for bit.

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
import math
import sys
import warnings

import numpy as np
from numpy import ndarray as _ndarray

from . import autograd as _ag
from . import backend as B
from . import random as _random
from .autograd import ArrayMath, Function, modes
from .autograd import _modes_get
from .ops import elementwise as _ew
from .ops import linalg as _la
from .ops import loss as _loss
from .tensor import Tensor

_ARG, _OP, _LEAF, _CONST, _ARGDATA = range(5)        # where an op input comes from
_MAX_PLANS = 16                                        # recorded signatures kept per compiled function
_NO_OPTIONS = {}


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
        self.rng_state = _random.default_rng().bit_generator.state     # to see which ops draw random numbers

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
        # An op that drew from the random stream (dropout) is replayed even when nothing reads its output.
        rng_state = _random.default_rng().bit_generator.state
        random = rng_state != self.rng_state or any(isinstance(o, np.random.Generator) for o in options.values())
        self.rng_state = rng_state
        self.ops.append((type(fn), srcs, options, binary, needs, out.array.shape, out.array.dtype, random))


class _Replayed(Function):
    """The node of a replayed call: its backward runs the plan's backward instructions (see _Plan)."""
    op = "compiled"
    differentiable_backward = False

    def forward(self, *leaf_arrays):              # never called: a replay builds its node directly
        raise NotImplementedError

    def backward(self, m, dy, y, *leaf_arrays):
        """The engine's way in (rd.grad, backward(gradient=...), the output used by further ops): one sum per input."""
        plan = self.plan
        sums = [None] * len(plan.grad_slots)
        for s, dx in plan.backward(self.v, dy):
            j = plan.grad_index[s]
            sums[j] = dx if sums[j] is None else sums[j] + dx
        return tuple(sums)          # (the engine drops this node's __dict__ unless retain_graph)

    def direct_backward(self, out, retain_graph):
        """`out.backward()` on this replay's own output, without the engine's walk: each gradient contribution
        reaches its leaf's .grad in eager's order (so accumulation rounds as eagerly). False: let the engine do it
        (an input made by other ops, retain_grad() on the output, anomaly mode, a non-scalar output)."""
        if self.arrays is None:
            raise RuntimeError(_ag._FREED.format(op=self.op))
        m = _modes_get(None) or modes()
        if out._retain or m.anomaly or out.array.size != 1:
            return False
        inputs = self.inputs
        for t in inputs:
            if t.grad_fn is not None:
                return False
        plan = self.plan
        seed = plan.seed.copy()                 # what the engine seeds a scalar output with: ones of its dtype
        given, index = {id(seed)}, plan.grad_index
        prev, m.grad_enabled = m.grad_enabled, False
        try:
            for s, dx in plan.backward(self.v, seed):
                _ag.leaf_grad(inputs[index[s]], dx, given)
        finally:
            m.grad_enabled = prev
        if not retain_graph:                    # freed as the engine frees a node
            self.arrays = None
            self.__dict__.clear()
        return True


class _Op:
    """One recorded op while a plan is built: where its inputs are (slots), what it needs, who reads it."""

    def __init__(self, k, cls, srcs, options, binary, needs, shape, dtype, random):
        self.k, self.cls, self.srcs, self.options, self.binary, self.needs = k, cls, srcs, options, binary, needs
        self.shape, self.dtype, self.random = shape, dtype, random
        self.ins, self.in_shapes, self.out, self.routes = [], [], None, ()
        self.readers = []            # the live ops reading this op's output
        self.lowered = False         # runs as specialised array code (not its Function's forward/backward)
        self.aliases_input = False   # its output is its input's array (a relu run in place)
        self.grad_in_place = False   # its input's gradient is its output's gradient's array (idem, in backward)


class _Plan:
    """A recorded call compiled to straight-line array code, ready to replay.

    Every value of a call lives in one list `v` of slots: the arguments' arrays, the leaves' arrays (read again
    at each call, so optimizer updates are seen), constants, then each live op's output and whatever it keeps
    for backward. The forward is a flat list of closures bound to their slots; the backward another one, in
    reverse order, for the ops a gradient flows through. Common ops (linear, relu, cross-entropy) are lowered to
    their NumPy calls with everything that depends only on shapes decided here; every other op runs its own
    Function's forward() and backward(). Ops whose outputs nothing reads are dropped (unless they draw random
    numbers: dropping one would shift the random stream). No Tensor or graph node is made inside a replay.
    """

    def __init__(self, rec, out_k, arg_tensors):
        self.leaves = rec.leaves
        self.leaf_flags = [(t.requires_grad, t.array.shape, t.array.dtype) for t in rec.leaves]
        self.leaf_arrays = [t.array for t in rec.leaves]      # fresh()'s shortcut: the same array, the same shape
        self.modules = list(rec.modules.values())
        self.xp = B.xp
        n_args = len(arg_tensors)
        template = [None] * (n_args + len(rec.leaves))
        self.arg_slots = [i for i, a in enumerate(arg_tensors) if a is not None]
        self.leaf_slots = slice(n_args, n_args + len(rec.leaves))     # the leaves' arrays, in order
        self.reshaped = []                      # (arg, slot, shape): a raw array handed to an op is the arg's, reshaped
        tensors = {i: a for i, a in enumerate(arg_tensors) if a is not None}
        tensors.update({n_args + j: t for j, t in enumerate(rec.leaves)})
        grad_flag = {s: t.requires_grad for s, t in tensors.items()}
        shape_of = {s: t.array.shape for s, t in tensors.items()}
        self.dtype_of = {s: t.array.dtype for s, t in tensors.items()}
        ops = [_Op(k, *r) for k, r in enumerate(rec.ops)]
        for op in ops:                           # inputs -> slots
            for kind, payload in op.srcs:
                if kind == _OP:
                    s = ops[payload].out
                elif kind == _ARG:
                    s = payload
                elif kind == _LEAF:
                    s = n_args + payload
                elif kind == _ARGDATA and payload[1] == shape_of.get(payload[0]):
                    s = payload[0]
                elif kind == _ARGDATA:                      # an argument's array, reshaped
                    s = self.slot(template)
                    self.reshaped.append((payload[0], s, payload[1]))
                    shape_of[s], self.dtype_of[s] = payload[1], self.dtype_of[payload[0]]
                else:                                       # a constant
                    s = self.slot(template, payload)
                    shape_of[s], self.dtype_of[s] = getattr(payload, "shape", None), getattr(payload, "dtype", None)
                op.ins.append(s)
                op.in_shapes.append(shape_of.get(s))
            op.out = self.slot(template)
            shape_of[op.out], self.dtype_of[op.out] = op.shape, op.dtype
        self.out = ops[out_k].out
        # Live ops: what the output depends on, and ops that draw random numbers (with what they read).
        self.producer = producer = {op.out: op for op in ops}
        live, stack = set(), [ops[out_k]] + [op for op in ops if op.random]
        while stack:
            op = stack.pop()
            if op.k not in live:
                live.add(op.k)
                stack.extend(producer[s] for s in op.ins if s in producer)
        ops = [op for op in ops if op.k in live]
        for op in ops:
            for s in op.ins:
                if s in producer:
                    producer[s].readers.append(op)
        # Gradient routes: (input position, slot, is a leaf or argument) for each input that needs a gradient.
        self.grad_slots = []
        for op in ops:
            routes = []
            for i, (s, need) in enumerate(zip(op.ins, op.needs)):
                if need and s in producer:
                    routes.append((i, s, False))
                elif need and grad_flag.get(s):
                    routes.append((i, s, True))
                    if s not in self.grad_slots:
                        self.grad_slots.append(s)
            op.routes = tuple(routes)
        self.grad_index = {s: j for j, s in enumerate(self.grad_slots)}
        # the node's inputs: fixed when no argument needs a gradient (the usual case: parameters only)
        self.grad_args = [(s < n_args, s if s < n_args else tensors[s]) for s in self.grad_slots]
        self.grad_inputs = None if any(is_arg for is_arg, _ in self.grad_args) else tuple(
            tensors[s] for s in self.grad_slots)
        self.grad_needs = (True,) * len(self.grad_slots)
        self.forward, backward, self.steps, self.requests = [], [], [], []
        for op in ops:
            lower = _LOWER.get(op.cls) if B.xp is np else None
            code = lower(op, self, template) if lower is not None else None
            op.lowered = code is not None
            self.steps.append((op.cls.op, "lowered" if op.lowered else "op"))     # what a replay runs, for reading
            code = code or _generic(op, template)
            self.forward.append(code[0])
            if op.routes:
                backward.append((op.out, code[1]))
        self.backward_code = backward[::-1]
        # Preallocated buffers: the arrays that never leave a replay, allocated once, in the template; a call takes
        # them when no earlier call's slots still hold them (its node not yet backpropagated or freed), which the
        # marker's reference count tells (each slot list made from the template holds it once).
        self.marker, self.buffer_slots = None, []
        for s, shape, dtype, private in self.requests:
            if private():
                template[s] = np.empty(shape, dtype)
                self.buffer_slots.append(s)
        if self.buffer_slots:
            self.marker = template[self.slot(template)] = []
            self.marker_free = sys.getrefcount(self.marker) + 1     # + the slot list of the call that checks
        del self.requests
        self.template = template
        out = producer[self.out]
        # what the engine seeds a scalar output's backward with (direct_backward copies it)
        self.seed = B.xp.array(1, dtype=out.dtype).reshape(out.shape) if math.prod(out.shape) == 1 else None

    def slot(self, template, value=None):
        """A new slot (for what an op keeps between its forward and backward)."""
        template.append(value)
        return len(template) - 1

    def buffer(self, template, shape, dtype, private):
        """A slot that holds a preallocated array of this shape when private() (asked once every op is lowered)
        says it never leaves the replay, else None: the op's code then allocates its array."""
        s = self.slot(template)
        self.requests.append((s, shape, dtype, private))
        return s

    def private(self, op):
        """Whether op's output array stays inside the replay: not the output, read only by lowered ops (lowered ops
        make new arrays from their inputs, except a relu run in place, whose output is then checked the same way)."""
        return op.out != self.out and all(r.lowered and (not r.aliases_input or self.private(r)) for r in op.readers)

    def grad_private(self, op, i):
        """Whether the gradient op sends to its input i stays inside the replay: that input is made by a lowered
        linear (its backward only reads it), or by a relu that passes it on in place to such a linear."""
        if not any(j == i and not leaf for j, _, leaf in op.routes):
            return False
        before = self.producer.get(op.ins[i])
        return before is not None and before.lowered and (
            before.cls is _la.LinearOp or (before.grad_in_place and self.grad_private(before, 0)))

    def fresh(self):
        """False when a parameter changed shape, dtype or requires_grad, or a module train()/eval(), since recording."""
        if B.xp is not self.xp:
            return False
        for m, training in self.modules:
            if m.training != training:
                return False
        for t, a, (r, _, _) in zip(self.leaves, self.leaf_arrays, self.leaf_flags):
            if t.array is not a or t.requires_grad is not r:
                return self._leaves_fresh()
        return True

    def _leaves_fresh(self):
        """fresh() for leaves whose arrays were replaced (p.data = ..., module.to()): same shape and dtype?"""
        for t, (r, shape, dtype) in zip(self.leaves, self.leaf_flags):
            a = t.array
            if t.requires_grad is not r or a.shape != shape or (a.dtype is not dtype and a.dtype != dtype):
                return False
        self.leaf_arrays = [t.array for t in self.leaves]
        return True

    def run(self, args):
        """Replay the forward on arrays; the output Tensor (with one node when gradients are needed).
        Called right after fresh(), which saw that each leaf still has the array in leaf_arrays."""
        v = self.template[:]
        if self.marker is not None and sys.getrefcount(self.marker) != self.marker_free:
            for s in self.buffer_slots:         # an earlier call's node still uses them: allocate this call's
                v[s] = None
        for i in self.arg_slots:
            v[i] = args[i].array
        v[self.leaf_slots] = self.leaf_arrays
        for i, s, shape in self.reshaped:
            v[s] = args[i].array.reshape(shape)
        for f in self.forward:
            f(v)
        node = _Replayed()          # one node for the whole call, made where every op's node is made
        ins = self.grad_inputs
        if ins is None:
            ins = tuple([args[x] if is_arg else x for is_arg, x in self.grad_args])
        out = _ag._output(node, v[self.out], ins, tuple([v[s] for s in self.grad_slots]), self.grad_needs,
                          bool(ins), _NO_OPTIONS)
        if out.grad_fn is node:
            node.plan, node.v = self, v
        return out

    def backward(self, v, dy):
        """Run the backward code from dy (the output's gradient); the (slot, gradient) pairs that reach leaves and
        arguments, in the order eager backward would deliver them."""
        g = [None] * len(v)
        g[self.out] = dy
        to_leaves = []
        for k, code in self.backward_code:
            if g[k] is not None:
                code(v, g, to_leaves)
                g[k] = None
        return to_leaves


def _send(routes, dxs, g, to_leaves):
    """Pass an op's input gradients on: summed into an earlier op's gradient slot, or queued for a leaf."""
    for i, s, leaf in routes:
        dx = dxs[i]
        if dx is not None:
            if leaf:
                to_leaves.append((s, dx))
            else:
                old = g[s]
                g[s] = dx if old is None else old + dx


def _generic(op, template):
    """(forward, backward) closures that run the op's own Function, as Function.run / apply2 would."""
    cls, ins, out, options, needs, routes = op.cls, tuple(op.ins), op.out, op.options, op.needs, op.routes
    fn_slot, arrays_slot = len(template), len(template) + 1
    template += [None, None]
    # apply2 reads a 0-d operand that is a Tensor as a NumPy scalar (not a constant): so does the replay
    scalars = tuple(i for i, ((kind, _), shape) in enumerate(zip(op.srcs, op.in_shapes))
                    if op.binary and kind in (_OP, _ARG, _LEAF) and shape == ())

    def forward(v):
        arrays = [v[s] for s in ins]
        for i in scalars:
            arrays[i] = arrays[i][()]
        fn = cls()
        fn.needs = needs
        y = fn.forward(*arrays, **options)
        v[out] = y if type(y) is _ndarray else B.xp.asarray(y)     # as _output stores it
        v[fn_slot], v[arrays_slot] = fn, arrays

    def backward(v, g, to_leaves):
        _send(routes, v[fn_slot].backward(ArrayMath, g[out], v[out], *v[arrays_slot]), g, to_leaves)
    return forward, backward


# ----------------------------------------------------------------------------------- lowered ops
# Each gives the same arrays as the op's Function (same NumPy calls, same order: tests compare bit for bit),
# minus what only depends on shapes (checked once here) and the Python around it. None: not this case.

def _lower_linear(op, plan, template):
    """LinearOp on a 2-D input: y = x @ w.T (+= b); dx = dy @ w, dw = dy.T @ x, db = sum(dy, 0).

    float32 runs eager's kernel calls (linear_forward / linear_backward: NumPy's own GEMMs, bias in the same
    call), and the NumPy calls where the kernel declines, as eager does."""
    if op.options or len(op.ins) not in (2, 3) or len(op.in_shapes[0] or ()) != 2 or len(op.in_shapes[1] or ()) != 2:
        return None
    x, w = op.ins[0], op.ins[1]
    b = op.ins[2] if len(op.ins) == 3 and op.in_shapes[2] is not None else None
    if len(op.ins) == 3 and b is None and template[op.ins[2]] is not None:
        return None
    out, routes, matmul = op.out, op.routes, np.matmul
    need = dict.fromkeys(i for i, _, _ in routes)
    nx, nw, nb = 0 in need, 1 in need, 2 in need
    # db: ArrayMath.sum's own choice, taken here for the sizes where it is plain add.reduce
    add_reduce, sum_rows = np.add.reduce, ArrayMath.sum
    n, i = op.in_shapes[0]
    o = op.in_shapes[1][0]
    small = n * o < _ag._GEMV_MIN_SIZE
    # the kernel path is LinearOp's (_la._linear_forward_kernel / _backward_kernel) written inline: a call to those
    # helpers cost ~2.5 us of a 36 us compiled mlp_tiny step
    empty, float32 = np.empty, np.float32
    f32 = op.dtype == float32 and op.shape == (n, o)
    y_buf = plan.buffer(template, (n, o), float32, lambda: f32 and plan.private(op))
    dx_buf = plan.buffer(template, (n, i), float32, lambda: f32 and nx and plan.grad_private(op, 0))

    def forward(v):
        xa, wa, ba = v[x], v[w], None if b is None else v[b]
        k = B.kernels
        if f32 and k is not None:
            y = v[y_buf]
            if y is None:
                y = empty((n, o), float32)
            if k.linear_forward(xa, wa, ba, y, n, i, o):
                v[out] = y
                return
        y = matmul(xa, wa.T)
        if ba is not None:
            y += ba
        v[out] = y

    def backward(v, g, to_leaves):
        dy, k = g[out], B.kernels
        if f32 and k is not None and type(dy) is _ndarray and dy.dtype == float32:
            dx = v[dx_buf] if nx else None
            if nx and dx is None:
                dx = empty((n, i), float32)
            dw = empty((o, i), float32) if nw else None
            db = empty(o, float32) if nb and small else None
            if k.linear_backward(dy, v[x], v[w], dx, dw, db, n, i, o):
                _send(routes, (dx, dw, sum_rows(dy, 0) if nb and not small else db), g, to_leaves)
                return
        dx = matmul(dy, v[w]) if nx else None
        dw = matmul(dy.T, v[x]) if nw else None
        db = (add_reduce(dy, axis=0) if small else sum_rows(dy, 0)) if nb else None
        _send(routes, (dx, dw, db), g, to_leaves)
    return forward, backward


def _lower_relu(op, plan, template):
    """ReLUOp on a float array: y = maximum(x, 0); dx = dy * (y > 0).

    Fused with the linear before it when the relu is that output's only reader: the maximum runs in place on
    the linear's fresh output (the linear's backward never reads it). Fused with the linear after it when that
    linear is its only reader, as input x: the mask multiply runs in place on the fresh dx that linear made.
    """
    if op.options or not op.in_shapes[0] or op.dtype is None or op.dtype.char not in "fd":
        return None
    x, out, routes = op.ins[0], op.out, op.routes
    before = plan.producer.get(x)
    in_place = (before is not None and before.cls is _la.LinearOp and len(before.readers) == 1
                and before.out != plan.out)
    after = op.readers[0] if len(op.readers) == 1 else None
    grad_in_place = (after is not None and after.cls is _la.LinearOp and after.ins[0] == out
                     and out not in after.ins[1:] and out != plan.out)
    op.aliases_input, op.grad_in_place = in_place, grad_in_place
    # a linear's output on 2-D input is C-contiguous: the zeros that match its layout can be taken once
    zeros = _ew._zeros_in_layout(np.empty(op.shape, op.dtype)) if in_place and len(op.shape) == 2 else None
    # between two linears, y and dy are new C-contiguous arrays made by them (matmul's or the kernels'): the kernel
    # takes them without eager's check
    known = in_place and grad_in_place and op.dtype == np.float32
    maximum, multiply = np.maximum, np.multiply

    def forward(v):
        a = v[x]
        z = zeros if zeros is not None else _ew._zeros_in_layout(a)
        v[out] = maximum(a, z, out=a) if in_place else maximum(a, z)

    def backward(v, g, to_leaves):
        dy, y = g[out], v[out]
        k = B.kernels
        if k is not None:
            if known or B.fused(dy, y) is not None:     # eager's kernel call (in place on a fresh dx when fused)
                dx = dy if grad_in_place else B.xp.empty_like(y)
                k.relu_backward(dy, y, dx)
                _send(routes, (dx,), g, to_leaves)
                return
            if dy.size >= _ew._RELU_KERNEL_MIN:
                dx = _ew._relu_backward_compiled(dy, y)
                if dx is not None:
                    _send(routes, (dx,), g, to_leaves)
                    return
        _send(routes, (multiply(dy, y > 0, out=dy) if grad_in_place else dy * (y > 0),), g, to_leaves)
    return forward, backward


def _lower_cross_entropy(op, plan, template):
    """CrossEntropy without class weights or label smoothing, 'mean' or 'sum', an ignore_index no class has.

    The targets are checked with one reduction per call (eager takes two): all in range, the lowered code runs;
    else the op's own forward runs (it handles ignored targets and raises on bad ones).
    """
    o = op.options
    shape_x, shape_t = op.in_shapes[0], op.in_shapes[1] if len(op.in_shapes) > 1 else None
    if (len(op.ins) != 2 or set(o) - {"weight", "ignore_index", "label_smoothing", "reduction"}
            or o.get("weight") is not None or o.get("label_smoothing", 0.0) != 0 or shape_x is None
            or len(shape_x) != 2 or not shape_x[0] or shape_t != shape_x[:1]
            or o.get("reduction", "mean") not in ("mean", "sum")):
        return None
    n, c = shape_x
    ignore = o.get("ignore_index", -100)
    dtype_t = plan.dtype_of.get(op.ins[1])
    if 0 <= ignore < c or dtype_t is None or dtype_t.kind != "i" or not dtype_t.isnative:
        return None
    if B.kernels is not None and plan.dtype_of.get(op.ins[0]) == np.float32:
        return _lower_cross_entropy_kernel(op, plan, template, n, c) if dtype_t == np.int64 else None
    as_unsigned = np.dtype(f"u{dtype_t.itemsize}")      # a negative target reads as a huge one: one test does
    mean = o.get("reduction", "mean") == "mean"
    x, t, out, routes = op.ins[0], op.ins[1], op.out, op.routes
    keep = plan.slot(template)                          # (e, se, target) for backward, or None when eager ran
    eager_forward, eager_backward = _generic(op, template)
    # each row's target as a flat index: picking and subtracting through it is 2-3x faster than x[rows, t]
    row_starts = np.arange(n) * c
    maximum, exp, add, log, asarray = np.maximum, np.exp, np.add, np.log, np.asarray
    count_nonzero, greater_equal = np.count_nonzero, np.greater_equal

    def forward(v):
        xa, ta = v[x], v[t]
        # (one test: half the time of a max reduction) and C order, so that the flat views below are views
        if count_nonzero(greater_equal(ta.view(as_unsigned), c)) or not xa.flags.c_contiguous:
            eager_forward(v)
            return
        s = xa - maximum.reduce(xa, axis=1, keepdims=True)
        at = row_starts + ta
        picked = s.ravel()[at]                          # s[rows, t]
        e = exp(s, out=s)                               # s is not needed any more
        se = add.reduce(e, axis=1, keepdims=True)
        total = add.reduce(log(se).reshape(n) - picked, axis=None)
        v[out] = asarray(total / n if mean else total)
        v[keep] = (e, se, at)

    def backward(v, g, to_leaves):
        if v[keep] is None:
            eager_backward(v, g, to_leaves)
            return
        e, se, at = v[keep]
        dy = g[out]
        hit = dy / n if mean else dy
        dx = e * (asarray(hit, dtype=e.dtype) / se)     # the softmax, scaled by the output's gradient
        dx.ravel()[at] -= hit                           # dx[rows, t] -= hit
        _send(routes, (dx, None), g, to_leaves)
    return forward, backward


def _lower_cross_entropy_kernel(op, plan, template, n, c):
    """_lower_cross_entropy for float32 logits with the compiled kernels: the calls eager's CrossEntropy makes
    (softmax, pick and sum in one pass; backward dx = g (p - one_hot)), same bits. Eager's own forward runs
    when the kernels are off or the arrays are not C-contiguous, or a target is outside [0, C) (it handles the
    ignored ones and raises on bad ones)."""
    mean = op.options.get("reduction", "mean") == "mean"
    x, t, out, routes = op.ins[0], op.ins[1], op.out, op.routes
    keep = len(template)                                # (the kernels, the softmax p), or None when eager ran
    template.append(None)
    eager_forward, eager_backward = _generic(op, template)
    empty_like, asarray, float32 = np.empty_like, np.asarray, np.float32
    p_buf = plan.buffer(template, (n, c), float32, lambda: True)          # the softmax never leaves the replay
    dx_buf = plan.buffer(template, (n, c), float32, lambda: plan.grad_private(op, 0))

    def forward(v):
        xa, ta, k = v[x], v[t], B.kernels
        if k is not None and xa.flags.c_contiguous and ta.flags.c_contiguous and type(xa) is _ndarray:
            p = v[p_buf]
            if p is None:
                p = empty_like(xa)
            total = k.cross_entropy_forward(xa, ta, p, c)
            if total is not None:
                v[out] = asarray(total / n if mean else total, dtype=float32)
                v[keep] = k, p
                return
        v[keep] = None
        eager_forward(v)

    def backward(v, g, to_leaves):
        if v[keep] is None:
            eager_backward(v, g, to_leaves)
            return
        k, p = v[keep]
        dx = v[dx_buf]
        if dx is None:
            dx = empty_like(p)
        k.cross_entropy_backward(p, v[t], dx, float(g[out]) / n if mean else float(g[out]), c)
        _send(routes, (dx, None), g, to_leaves)
    return forward, backward


_LOWER = {_la.LinearOp: _lower_linear, _ew.ReLUOp: _lower_relu, _loss.CrossEntropy: _lower_cross_entropy}


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
        m = _modes_get(None) or modes()
        if self.eager_reason is not None or m.anomaly or m.recorder is not None:
            return self.fn(*args)
        if B.multi:                 # a replay runs ops' code outside Function.run: it runs in the arguments' device
            return B.call_on(_ag._device_of("compile", args, None), self._call, args, m.grad_enabled)
        return self._call(args, m.grad_enabled)

    def _call(self, args, grad_enabled):
        key = _signature(args, grad_enabled)
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


def _signature(args, grad_enabled):
    """What a recorded plan depends on besides the parameters: grad mode and each argument's kind."""
    parts = [grad_enabled]
    for a in args:
        if isinstance(a, Tensor):
            parts.append((a.array.shape, a.array.dtype, a.requires_grad))
        else:
            try:
                hash(a)
                parts.append(("value", a))
            except TypeError:
                parts.append(("object", id(a)))
    return tuple(parts)
