"""Function (one graph node: forward + backward), the backward walk, no_grad and grad().

The graph is define-by-run: `Function.apply` runs the forward on arrays and, when some input needs a
gradient, links the output Tensor to the Function (`grad_fn`), which holds its inputs. A node holds
its inputs, never its outputs, so the graph has no reference cycles and reference counting frees it.
Every op result becomes a Tensor in one place, `_output` (from `Function.run` and the operators'
`Function.apply2`). A Tensor's array is always a backend array: a 0-D value is a 0-d array, never a
NumPy scalar (ops may compute on scalars internally, where it is ~5x faster).

Backward walks nodes in decreasing creation order (`Tensor._seq`), so every consumer of a value has
added its contribution before the value's own node runs: a node used n times gets the sum of its n
gradients, and there is no recursion, whatever the depth of the graph. As in torch, backward frees
the saved arrays and the intermediate tensors but keeps the graph's structure (`grad_fn`,
`next_functions`): it can still be drawn, and a second backward through it raises clearly. A node whose
inputs are all leaves may run `out.backward()` alone (`Function.direct_backward`: rd.compile's replay,
which hands each contribution to `leaf_grad` in the walk's order).

Grad mode, anomaly mode and rd.compile's recorder are per thread (`modes()`), as torch's grad mode is.
The engine imports nothing above it: tensor.py and ops/tensor_math.py register the Tensor class and the
create_graph math namespace with `register()`.

One backward per op serves both modes. `backward(m, dy, y, *xs)` computes with the math namespace `m`:
  - plain backward: `m` is `ArrayMath`, and dy, y, xs are backend arrays (fast: no graph is built);
  - create_graph=True: `m` is `TensorMath`, and dy, y, xs are Tensors, so the gradient computation is
    itself recorded and can be differentiated again (higher-order derivatives).
"""
import contextvars
import heapq
import itertools
import sys
import weakref

from numpy import array as _np_array
from numpy import asarray as _np_asarray
from numpy import ndarray as _ndarray    # the hot path tests `type(a) is _ndarray` (CuPy has no scalars)

from . import backend as B


class _Modes:
    """One thread's switches (torch's grad mode is thread-local too): read once per op on the hot path."""
    __slots__ = ("grad_enabled", "module", "root", "anomaly", "recorder")

    def __init__(self):
        self.grad_enabled = True
        self.module = None      # the Module whose forward is running: recorded on each node (viz, anomaly)
        self.root = None        # the outermost Module of the current forward (to name module paths)
        self.anomaly = False    # detect_anomaly(): check every forward output and backward gradient
        self.recorder = None    # rd.compile's recorder while it records a call (compile.py)


# NOTE: a ContextVar, not threading.local: each thread has its own context, so each gets its own _Modes, and
# ContextVar.get is ~3x cheaper than a threading.local attribute (the op path reads it once per op)
_modes_var = contextvars.ContextVar("redes_modes")
_modes_get = _modes_var.get


def modes():
    """This thread's _Modes, made on the thread's first use (a new thread starts with grad enabled)."""
    m = _modes_get(None)
    if m is None:
        m = _Modes()
        _modes_var.set(m)
    return m


class _State:
    """`state.grad_enabled`, `state.module`, ...: reads and writes the calling thread's modes (off the hot path)."""
    __slots__ = ()

    def __getattr__(self, name):
        return getattr(modes(), name)

    def __setattr__(self, name, value):
        setattr(modes(), name, value)


state = _State()
_seq = itertools.count(1)       # creation order of tensors: nodes in backward, leaves' default names in viz
_new = object.__new__
_ref = weakref.ref
_refcount = sys.getrefcount
_NEEDS2 = ((None, (False, True)), ((True, False), (True, True)))    # apply2's needs, shared (never mutated)
_BINARY = {}                    # apply2's options: none (its identity tells rd.compile the call was binary)


_asarray = _np_asarray         # a scalar -> a 0-d array; with several devices, B.as_array (keeps device arrays)


def wrap(array):
    """A new leaf Tensor around an array (no copy, no checks): every Tensor the engine makes starts here."""
    if type(array) is not _ndarray:     # a NumPy scalar (a gradient at the numbers scale): a 0-d array
        array = _asarray(array)         # (another device's array comes back as it is)
    t = _new(Tensor)
    t.array = array
    t.grad = t.grad_fn = t.name = None
    t.requires_grad = t._retain = False
    t._seq = 0
    return t


def _output(fn, array, args, arrays, needs, any_need, options):
    """The one place a forward result becomes a Tensor and, when an input needs a gradient, a graph node.

    Function.run and Function.apply2 both end here (and rd.compile's recorder is told here), so a test or a
    tool that wants to see every op patches this one function.
    """
    if type(array) is not _ndarray:     # a NumPy scalar (the numbers scale computes on scalars): a 0-d array
        array = _asarray(array)
    out = _new(Tensor)                  # wrap() inlined: a call per op costs as much as the arithmetic of a number
    out.array = array
    out.grad = out.grad_fn = out.name = None
    out._retain = False
    m = _modes_get(None) or modes()
    if any_need and m.grad_enabled:
        fn.inputs, fn.arrays, fn.needs, fn.module, fn.pending = args, arrays, needs, m.module, None
        out.grad_fn, out.requires_grad, out._seq = fn, True, next(_seq)
    else:
        out.requires_grad, out._seq = False, 0
    if m.anomaly:
        _anomaly_forward(fn, out, args)
    if m.recorder is not None:
        m.recorder.record(fn, args, options, out, options is _BINARY)
    return out


class Function:
    """One differentiable operation: `forward` on arrays, `backward` with the math namespace `m`.

    Subclasses define:
      forward(self, *arrays, **options) -> array        (may keep what backward needs on self)
      backward(self, m, dy, y, *xs) -> tuple            (one gradient per input, None where not needed)
    `self.needs[i]` tells backward whether input i needs a gradient (torch's needs_input_grad).
    Set `differentiable_backward = False` for ops whose backward uses raw arrays only: create_graph
    through them then raises a clear error instead of computing a wrong higher derivative.
    `op` is the op's name (its key in `redes.ops.OPS`), shown in errors, reprs and drawings.
    """
    # Graph fields, set by _output() when the node is recorded (slots: a node is made per op, so they are hot):
    # inputs (the Tensors or constants given to apply), arrays (the same as arrays: the values backward reads;
    # None once backward freed them), needs (per input: does it need a gradient?) and module (the nn.Module
    # whose forward made the node); pending is the sum of the gradients that reached the node while backward
    # walks (no dict lookups). What an op saves for backward goes in its __dict__. path: the module path
    # anomaly mode records. out: after backward, a weak reference to the node's output (for drawings).
    # An op that saves nothing may declare `__slots__ = ()`: its nodes then have no __dict__.
    __slots__ = ("inputs", "arrays", "needs", "module", "pending", "path", "out", "__weakref__")
    differentiable_backward = True
    op = "function"
    direct_backward = None      # (out, retain_graph) -> True when the node did out.backward() alone (rd.compile)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls._saves = cls.__dictoffset__ != 0    # instances have a __dict__ for what forward keeps
        # backward checks the gradients' shapes of ops defined outside redes (and of all ops under detect_anomaly):
        # the built-in ones are checked against PyTorch by the test suite, and at the numbers scale the check costs 7%
        cls._check_shapes = not cls.__module__.startswith("redes.")
        if "op" not in cls.__dict__:            # a user's op: its lowercased class name (redes.ops.OPS names redes' own)
            cls.op = cls.__name__.lower()

    @classmethod
    def apply(cls, *args, **options):
        """Run forward on the inputs' arrays; return a Tensor linked to this node when a gradient is needed."""
        return cls().run(args, options)

    def run(self, args, options):
        """apply() on this node object, so a caller can read what forward stored on it (e.g. argmax indices)."""
        arrays, needs, any_need = [], [], False          # one loop: two comprehensions cost twice as much
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.array)
                needs.append(a.requires_grad)
                any_need = any_need or a.requires_grad
            else:
                arrays.append(a)
                needs.append(False)
        return _output(self, self.forward(*arrays, **options), args, arrays, needs, any_need, options)

    @classmethod
    def apply2(cls, a, b):
        """apply(a, b) for a two-operand op without options: the arithmetic operators' hot path.

        Same result as apply(); it skips the generic loop, which at the numbers scale costs more than the
        arithmetic. A 0-d array operand is read as a NumPy scalar, whose arithmetic (here and in backward)
        is ~5x cheaper; NumPy promotes both alike, and _output makes the result a 0-d array again.
        """
        # NOTE: the two operands are unrolled on purpose: a helper call per operand costs as much as the arithmetic
        if isinstance(a, Tensor):
            ad, ra = a.array, a.requires_grad
            if not ad.shape and type(ad) is _ndarray:
                ad = ad[()]
        else:
            ad, ra = a, False
        if isinstance(b, Tensor):
            bd, rb = b.array, b.requires_grad
            if not bd.shape and type(bd) is _ndarray:
                bd = bd[()]
        else:
            bd, rb = b, False
        fn = _new(cls)
        return _output(fn, fn.forward(ad, bd), (a, b), (ad, bd), _NEEDS2[ra][rb], ra or rb, _BINARY)

    def __repr__(self):
        def show(a):
            return f"Tensor{tuple(a.shape)} {a.dtype}" if isinstance(a, Tensor) else repr(a)
        if getattr(self, "arrays", None) is None:
            return f"<{self.op} (freed by backward)>"
        return f"<{self.op}({', '.join(show(a) for a in self.inputs)})>"

    @property
    def next_functions(self):
        """The nodes that made this node's inputs (None for leaves and constants), as in PyTorch.

        Kept after backward() (which frees only the arrays), so the graph can still be walked and drawn.
        """
        return tuple(a if isinstance(a, Function) else a.grad_fn if isinstance(a, Tensor) else None
                     for a in (getattr(self, "inputs", None) or ()))


# ----------------------------------------------------------------------------------- math namespaces
class ArrayMath:
    """What backward formulas call, on backend arrays (read `B.xp` at call time: the backend can switch)."""
    @staticmethod
    def sum(a, axis=None, keepdims=False):
        if axis is not None and a.size >= _GEMV_MIN_SIZE and a.ndim > 1 and a.dtype.char in "fd":
            k = 1 if axis == 0 else len(axis) if type(axis) is tuple and axis == _LEADING[min(len(axis), 32)] else 0
            if k and k < a.ndim and a.flags.c_contiguous:
                rows = a.size // _prod(a.shape[k:]) if a.size else 0
                if 1 < rows <= _GEMV_MAX_ROWS:
                    out = B.xp.matmul(B.ones(rows, a.dtype), a.reshape(rows, -1)).reshape(a.shape[k:])
                    return out.reshape((1,) * k + a.shape[k:]) if keepdims else out
        return B.xp.add.reduce(a, axis=axis, keepdims=keepdims)   # C-level: ndarray.sum is a Python wrapper

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)

    @staticmethod
    def broadcast_to(a, shape):
        out = B.xp.empty(shape, a.dtype)        # materialised: np.broadcast_to is a slow Python wrapper, and
        out[...] = a                            # a writable gradient is what users (and torch) expect
        return out

    @staticmethod
    def transpose(a, axes):
        return a.transpose(axes)

    @staticmethod
    def swapaxes(a, i, j):
        return a.swapaxes(i, j)

    @staticmethod
    def matmul(a, b):
        return B.xp.matmul(a, b)

    @staticmethod
    def where(cond, a, b):
        return B.xp.where(cond, a, b)

    @staticmethod
    def zeros(shape, dtype):
        return B.xp.zeros(shape, dtype)

    @staticmethod
    def getitem(a, index):
        return a[index]

    @staticmethod
    def index_add(shape, index, src):
        """zeros(shape) with src added at index; repeated indices accumulate (np.add.at)."""
        out = B.xp.zeros(shape, src.dtype)
        if _is_basic_index(index):
            out[index] = src                # basic indices never repeat: plain assignment is exact
        else:
            B.xp.add.at(out, index, src)
        return out

    @staticmethod
    def scatter_add(shape, dim, index, src):
        out = B.xp.zeros(shape, src.dtype)
        _scatter_add_into(out, dim, index, src)
        return out

    @staticmethod
    def gather(a, dim, index):
        """torch.gather: index may be smaller than a in the dims other than dim (only that corner is read)."""
        if index.shape != a.shape:
            a = a[tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(index.shape))]
        return B.xp.take_along_axis(a, index, axis=dim)

    @staticmethod
    def flip(a, axes):
        return B.xp.flip(a, axes)

    @staticmethod
    def roll(a, shifts, axes):
        return B.xp.roll(a, shifts, axes)

    @staticmethod
    def cumsum(a, axis):
        return B.xp.cumsum(a, axis=axis)

    @staticmethod
    def tril(a, k):
        return B.xp.tril(a, k)

    @staticmethod
    def triu(a, k):
        return B.xp.triu(a, k)

    @staticmethod
    def cat(arrays, axis):
        return B.xp.concatenate(arrays, axis=axis)

    @staticmethod
    def pad_constant(a, pad_width):
        return B.xp.pad(a, pad_width)

    @staticmethod
    def cast(a, dtype):
        return a.astype(dtype, copy=False)

    @staticmethod
    def to_device(a, device):
        return B.move(a, device)

    @staticmethod
    def sigmoid(a):
        return B.sigmoid(a)


# Sums over the leading axes of a C-contiguous float array (bias gradients: (rows, features) -> (features,)) go
# to BLAS as ones @ a: 3x faster than add.reduce, which walks the columns. BLAS sums in SIMD-lane chains rather
# than pairwise, so very tall sums stay with add.reduce.
_LEADING = [tuple(range(k)) for k in range(33)]
_GEMV_MAX_ROWS = 1 << 16
_GEMV_MIN_SIZE = 4096           # below, add.reduce is as fast and the tests above would be the cost


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


for _name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sign", "abs", "maximum", "minimum", "square"):
    setattr(ArrayMath, _name, staticmethod(lambda *a, _n=_name: getattr(B.xp, _n)(*a)))
ArrayMath.erf = staticmethod(lambda a: B.erf(a))


def _is_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def _scatter_add_into(out, dim, index, src):
    """out[index[i][j][k]][j][k] += src[i][j][k] for dim 0 (and likewise for other dims)."""
    idx = list(B.xp.indices(index.shape, sparse=True))
    idx[dim] = index
    B.xp.add.at(out, tuple(idx), src[tuple(slice(0, s) for s in index.shape)])


def unbroadcast(m, g, shape):
    """Sum a broadcast gradient back to an input's shape (leading dims, then size-1 dims)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
    if axes:
        g = m.sum(g, axes, True)
    return m.reshape(g, shape) if lead or g.shape != shape else g


# ----------------------------------------------------------------------------------- grad mode
class _GradMode:
    """Base of no_grad / enable_grad: a context manager and a decorator (per thread, as torch's grad mode)."""
    enabled = True

    def __enter__(self):
        m = modes()
        self.prev, m.grad_enabled = m.grad_enabled, self.enabled

    def __exit__(self, *exc):
        modes().grad_enabled = self.prev

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Context (or decorator) in which ops record no graph: for inference and parameter updates.

    Example:
        >>> import redes as rd
        >>> x = rd.tensor(2.0, requires_grad=True)
        >>> with rd.no_grad():
        ...     y = x * 3
        >>> y.requires_grad
        False
    """
    enabled = False


class enable_grad(_GradMode):
    """Context (or decorator) that turns graph recording back on inside no_grad."""
    enabled = True


def side_effect(why):
    """Called by code that changes state outside the ops (running statistics, in-place renorms): a function
    being recorded by rd.compile cannot be replayed then, and runs eagerly."""
    recorder = modes().recorder
    if recorder is not None:
        recorder.side_effect(why)


def is_grad_enabled():
    """Whether ops record a graph in this thread (False inside no_grad)."""
    return modes().grad_enabled


class set_grad_enabled(_GradMode):
    """Switch graph recording on or off: as a function call, a context manager or a decorator (as torch)."""
    def __init__(self, mode: bool):
        self.enabled = bool(mode)
        m = modes()
        self.prev, m.grad_enabled = m.grad_enabled, self.enabled

    def __enter__(self):
        pass


# ----------------------------------------------------------------------------------- backward walk
_FREED = ("backward: Trying to backward through the graph a second time: the saved values of '{op}' were already "
          "freed by an earlier backward() or grad(). Pass retain_graph=True to the first call to keep them, "
          "or run the forward again.")


def _seed_grads(outputs, grad_outputs, create_graph, caller):
    """(output, its starting gradient) pairs: ones for a scalar output, else the given grad_outputs."""
    seeds = []
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{caller}: outputs[{i}] must be a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"{caller}: outputs[{i}] does not require grad and has no grad_fn "
                               "(was it computed under no_grad, or from tensors without requires_grad=True?)")
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if t.array.size != 1:
                raise RuntimeError(f"{caller}: grad can be implicitly created only for scalar outputs, but "
                                   f"outputs[{i}] has shape {tuple(t.shape)}; pass gradient= (or grad_outputs=) "
                                   "of that shape, or reduce it first (e.g. .sum())")
            a = t.array         # a 0-d NumPy output (a loss): np.array is one C call, np.ones a Python function
            g = _np_array(1, a.dtype) if type(a) is _ndarray and not a.ndim else B.xp_of(a).ones(a.shape, dtype=a.dtype)
        else:
            g = g.array if isinstance(g, Tensor) else B.xp_of(t.array).asarray(g, dtype=t.array.dtype)
            if g.shape != t.array.shape:
                raise RuntimeError(f"{caller}: gradient for outputs[{i}] has shape {tuple(g.shape)}, "
                                   f"expected the output's shape {tuple(t.shape)}")
        seeds.append((t, wrap(g) if create_graph else g))
    return seeds


class _Walk:
    """One backward pass: the heap of nodes still to run, and where gradients that reach leaves go.

    Nodes run in decreasing _seq. A node's incoming gradients are summed on the node itself (fn.pending)
    until the heap reaches it; `waiting` maps -_seq to the node's output tensor.
    targets None: leaves (and retain_grad() tensors) accumulate into `.grad`.
    targets a list: their gradients are collected in `found` (grad()), touching no `.grad`.
    """
    def __init__(self, seeds, targets, create_graph):
        self.heap, self.waiting, self.create_graph = [], {}, create_graph
        self.collect = targets is not None
        self.plain = not (self.collect or create_graph or B.multi)
        self.found, self.stop = {}, 0
        if self.collect:
            self.want = {id(t) for t in targets}
            nonleaf = [t._seq for t in targets if t.grad_fn is not None]
            self.stop = min(nonleaf) if len(nonleaf) == len(targets) else 0   # below every target: done
        self.given = {id(g) for _, g in seeds}      # arrays someone else holds: the caller's seeds, leaves' grads
        for t, g in seeds:
            if t.grad_fn is None:
                self.to_leaf(t, g)
            else:
                self.send(t, g)

    def send(self, x, dx):
        """Add dx to the gradient pending on x's node; queue the node on its first gradient."""
        fx = x.grad_fn
        if fx.pending is None:
            fx.pending = dx
            k = -x._seq                     # _seq is unique among nodes; a heap of ints: 40% cheaper than tuples
            self.waiting[k] = x
            heapq.heappush(self.heap, k)
        else:
            fx.pending = fx.pending + dx

    def to_leaf(self, x, dx):
        """A gradient contribution reaching a leaf: accumulate it (or collect it, for grad())."""
        if self.collect:
            k = id(x)
            if k in self.want:
                self.found[k] = self.found[k] + dx if k in self.found else dx
        elif self.create_graph:
            x.grad = dx if x.grad is None else x.grad + dx
        else:
            leaf_grad(x, dx, self.given)

    def run(self, retain_graph, anomaly):
        """Pop nodes in decreasing _seq, run each backward and pass the gradients on to its inputs."""
        heap, waiting, heappop, heappush, to_leaf = self.heap, self.waiting, heapq.heappop, heapq.heappush, self.to_leaf
        collect, create_graph, plain, stop, given = self.collect, self.create_graph, self.plain, self.stop, self.given
        slow = create_graph or B.multi          # _node_backward: create_graph, or the device scope of each node
        m = TensorMath if create_graph else ArrayMath
        while heap:
            neg_seq = heappop(heap)
            t = waiting.pop(neg_seq)
            fn = t.grad_fn
            g, fn.pending = fn.pending, None
            if collect:
                k = id(t)
                if k in self.want:
                    self.found[k] = g
                if -neg_seq <= stop:
                    continue                                     # below every target: nothing left to find
            elif t._retain:
                _accumulate(t, g if create_graph else g.copy(), create_graph)
            if fn.arrays is None or slow:
                dxs = _node_backward(fn, m, g, t, create_graph)
            else:                               # _node_backward's common case, inlined (the numbers scale's hot loop)
                dxs = fn.backward(m, g, t.array, *fn.arrays)
            if anomaly:
                _anomaly_backward(fn, dxs)
            check = anomaly or fn._check_shapes
            made = False                        # does an input come from another node (kept as that node below)?
            for x, need, dx in zip(fn.inputs, fn.needs, dxs):
                if not need:
                    continue
                fx = x.grad_fn
                if fx is not None:
                    made = True
                if dx is None:
                    continue
                if check and dx.shape != x.array.shape:
                    raise RuntimeError(f"{fn.op} backward gave a gradient of shape {tuple(dx.shape)} for an "
                                       f"input of shape {tuple(x.array.shape)} (a bug in this op)")
                if fx is not None:              # send(x, dx) inlined: one call per edge is 5% of a scalar step
                    if fx.pending is None:
                        fx.pending = dx
                        k = -x._seq
                        waiting[k] = x
                        heappush(heap, k)
                    else:
                        fx.pending = fx.pending + dx
                elif plain and x.grad is None and dx.dtype is x.array.dtype:
                    # to_leaf's first visit, inlined (leaf_grad without the cast): an array that is a view or
                    # reached another place already is copied; a NumPy scalar becomes a 0-d array in wrap
                    if type(dx) is _ndarray:
                        if dx.base is not None or id(dx) in given:
                            dx = dx.copy()
                        given.add(id(dx))
                    x.grad = wrap(dx)
                else:
                    to_leaf(x, dx)
            if not retain_graph:
                # Free the node as torch does: drop its saved arrays and the intermediate tensors, keep its place in
                # the graph (next_functions). An input made by another node is replaced by that node (the tensor goes
                # unless someone else holds it), a leaf stays, and `out` refers weakly to the output when someone
                # still holds it (only this walk's `t` and getrefcount's argument otherwise), so rd.viz.graph can
                # draw the graph with the values that are alive. `made` spares the rewrite when no input came from
                # a node.
                if made:
                    fn.inputs = tuple([x.grad_fn if isinstance(x, Tensor) and x.grad_fn is not None else x
                                       for x in fn.inputs])
                fn.arrays = None
                if _refcount(t) > 2:            # held outside this walk (by the user): drawable later
                    fn.out = _ref(t)
                if fn._saves:
                    fn.__dict__.clear()

    def close(self):
        """Stopped early (an error, or grad() done): nothing stays pending on a node."""
        for t in self.waiting.values():
            t.grad_fn.pending = None


def leaf_grad(x, dx, given):
    """x.grad += dx for a leaf in plain backward (also rd.compile's direct backward); `given`: ids of the arrays
    already handed out in this backward (the seed, other leaves' gradients)."""
    if dx.dtype != x.array.dtype:
        dx = dx.astype(x.array.dtype)
    if x.grad is not None:
        x.grad = wrap(x.grad.array + dx)            # a new array, never in place
    elif type(dx) not in B.array_types:
        x.grad = wrap(dx)                          # a NumPy scalar: wrap makes a fresh 0-d array
    else:
        # NOTE: one array may reach several places (x + y passes dy to both, views share memory):
        # a leaf keeps its own copy then, so an in-place change of one .grad touches no other
        if dx.base is not None or id(dx) in given:
            dx = dx.copy()
        given.add(id(dx))
        x.grad = wrap(dx)


def _node_backward(fn, m, g, t, create_graph):
    """The gradients of fn's inputs, given g = dE/dt for its output t."""
    if fn.arrays is None:
        raise RuntimeError(_FREED.format(op=fn.op))
    if create_graph:
        if not fn.differentiable_backward:
            raise RuntimeError(f"create_graph: the backward of '{fn.op}' is not differentiable in redes; "
                               "higher-order gradients through it are not supported")
        return fn.backward(m, g, t, *fn.inputs)
    if B.multi:                                 # run it on its output's device
        return B.call_on(B.backend_of(t.array), fn.backward, m, g, t.array, *fn.arrays)
    return fn.backward(m, g, t.array, *fn.arrays)


def _direct(fn, out, retain_graph):
    """fn.direct_backward(out, retain_graph), on out's device when several devices are in use."""
    if not B.multi:
        return fn.direct_backward(out, retain_graph)
    return B.call_on(B.backend_of(out.array), fn.direct_backward, out, retain_graph)


def run_backward(outputs, grad_outputs=None, retain_graph=False, create_graph=False,
                 targets=None, caller="backward"):
    """Backpropagate from `outputs`.

    targets None: accumulate into `.grad` of leaves (and of tensors that called retain_grad()).
    targets a list of Tensors: return their gradients (None where unreached), touching no `.grad`.
    """
    if targets is None and grad_outputs is None and not create_graph and len(outputs) == 1:
        fn = getattr(outputs[0], "grad_fn", None)
        if fn is not None and fn.direct_backward is not None and _direct(fn, outputs[0], retain_graph):
            return                              # a node that ran the whole backward itself (rd.compile's replay)
    seeds = _seed_grads(outputs, grad_outputs, create_graph, caller)
    m = _modes_get(None) or modes()
    prev_mode, m.grad_enabled = m.grad_enabled, create_graph
    walk = None
    try:
        walk = _Walk(seeds, targets, create_graph)
        walk.run(retain_graph, m.anomaly)
    finally:
        m.grad_enabled = prev_mode
        if walk is not None:
            walk.close()
    if targets is not None:
        return [walk.found.get(id(t)) for t in targets]


def _accumulate(t, g, create_graph):
    """t.grad += g, always into a new array: gradients may alias each other (x + y passes dy to both)."""
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    if g.dtype != t.array.dtype:
        g = g.astype(t.array.dtype)
    t.grad = wrap(g) if t.grad is None else wrap(t.grad.array + g)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """dE/dx for any nodes x (inputs, parameters or intermediates), without touching `.grad`.

    Mirrors torch.autograd.grad. Returns a tuple with one Tensor per input.
    """
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is not None and isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad, so no gradient can be computed for it")
    retain = create_graph if retain_graph is None else retain_graph
    gs = run_backward(outputs, grad_outputs, retain, create_graph, targets=inputs, caller="grad")
    result = []
    for i, (x, g) in enumerate(zip(inputs, gs)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: inputs[{i}] was not used to compute the outputs; "
                                   "pass allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(g if create_graph else wrap(g))
    return tuple(result)


# ----------------------------------------------------------------------------------- anomaly detection
def _bad_values(a):
    xp = B.xp_of(a)
    if not hasattr(a, "dtype") or a.dtype.kind not in "fc":
        return None
    bad = ~xp.isfinite(a)
    if not bad.any():
        return None
    return B.to_numpy(a[bad][:5]).tolist()


def _module_path():
    """Dotted path of the running module inside the outermost one, e.g. 'Sequential.2 (Linear)'."""
    m = modes()
    mod, root = m.module, m.root
    if mod is None:
        return None
    if root is not None:
        for name, m in root.named_modules():
            if m is mod:        # the root itself is just its class name: 'Net', not 'Net (Net)'
                return f"{type(root).__name__}.{name} ({type(mod).__name__})" if name else type(root).__name__
    return type(mod).__name__


def _where(fn):
    path = getattr(fn, "path", None)
    return f" in module {path}" if path else ""


def _shapes(args):
    return ", ".join(f"{tuple(a.shape)} {a.dtype}" if hasattr(a, "shape") else repr(a) for a in args)


class AnomalyError(RuntimeError):
    """Raised by detect_anomaly() at the first NaN/Inf born in forward or backward."""


def _anomaly_forward(fn, out, args):
    fn.path = _module_path()
    bad = _bad_values(out.array)
    if bad is not None:
        inputs_bad = any(_bad_values(a.array if isinstance(a, Tensor) else a) is not None for a in args)
        if not inputs_bad:
            raise AnomalyError(f"detect_anomaly: forward of '{fn.op}'{_where(fn)} produced NaN/Inf "
                               f"from finite inputs ({_shapes([a.array if isinstance(a, Tensor) else a for a in args])}); "
                               f"offending values: {bad}")


def _anomaly_backward(fn, dxs):
    for i, dx in enumerate(dxs):
        if dx is None:
            continue
        bad = _bad_values(dx.array if isinstance(dx, Tensor) else dx)
        if bad is not None:
            raise AnomalyError(f"detect_anomaly: backward of '{fn.op}'{_where(fn)} produced NaN/Inf in the gradient "
                               f"of input {i} (inputs: {_shapes(fn.arrays)}); offending values: {bad}")


class detect_anomaly:
    """Context: raise at the first op whose forward output or backward gradient holds NaN/Inf."""
    def __enter__(self):
        m = modes()
        self.prev, m.anomaly = m.anomaly, True
        return self

    def __exit__(self, *exc):
        modes().anomaly = self.prev


# ----------------------------------------------------------------------------------- devices
def _device_of(op, args, options):
    """The Backend of an op's tensor and array inputs (the default device when it has none); a mix raises."""
    return _find_device(op, (*args, *options.values()) if options else args) or B.current()


def _find_device(op, items):
    found = None
    for a in items:
        arr = a.array if isinstance(a, Tensor) else a
        b = B._by_type.get(type(arr))
        if b is None:
            if type(arr) not in (list, tuple) or not arr or all(isinstance(v, (int, float)) for v in arr):
                continue
            b = _find_device(op, arr)           # a list of tensors (cat, stack), nested options
            if b is None:
                continue
        if found is None:
            found = b
        elif b is not found:
            raise RuntimeError(f"{op}: expected all tensors to be on the same device, but found at least two "
                               f"devices, {found.type} and {b.type} (move one with .to(), as in torch)")
    return found


def _devices(on):
    """Installed when a second device is first used: every op runs in the device scope of its inputs.

    Until then none of this runs: a CPU-only program keeps the plain Function.run/apply2 (and gets them back
    from backend.cpu_only()).
    """
    global _asarray
    if not on:
        _asarray = _np_asarray
        Function.run, Function.apply2 = _plain_run, classmethod(_plain_apply2)
        return
    _asarray = B.as_array

    def run(self, args, options):
        return B.call_on(_device_of(self.op, args, options), _plain_run, self, args, options)

    def apply2(cls, a, b):
        return B.call_on(_device_of(cls.op, (a, b), None), _plain_apply2, cls, a, b)

    Function.run, Function.apply2 = run, classmethod(apply2)


_plain_run, _plain_apply2 = Function.run, Function.apply2.__func__
B._multi_hooks.append(_devices)


# ----------------------------------------------------------------------------------- hooks from above
# The engine sits below the Tensor class and the ops: tensor.py registers the class whose instances the engine
# makes, and ops/tensor_math.py the math namespace of create_graph backward (see tests/test_import_cycles.py).
Tensor = None
TensorMath = None


def register(tensor_class=None, tensor_math=None):
    """Called once by redes.tensor (the Tensor class) and redes.ops.tensor_math (create_graph's namespace)."""
    global Tensor, TensorMath
    if tensor_class is not None:
        Tensor = tensor_class
    if tensor_math is not None:
        TensorMath = tensor_math
