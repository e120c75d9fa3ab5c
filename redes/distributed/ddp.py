"""DistributedDataParallel: one model trained by N processes, each on its own part of every batch.

Every rank holds the whole model. The constructor copies rank 0's parameters and buffers to all ranks;
after each backward, every parameter's `.grad` is the average of the ranks' gradients, so the same
optimizer step on every rank keeps the copies identical: N ranks on batches of b rows take the steps
one process takes on batches of N*b rows (for a loss that is a mean over rows).

How gradients are averaged while backward runs. The gradients travel in buckets (about `bucket_cap_mb`
each, the last layers' parameters first, as torch fills them). A bucket's nonblocking MPI Iallreduce
starts as soon as all of its parameters' gradients are known, while backward goes on through the
earlier layers. To learn when a parameter's gradient is complete, the wrapper needs a hook that runs
when backward has summed every use of the parameter. redes' autograd has no per-tensor gradient hooks,
so the wrapper makes one from a Function: a forward pre-hook on each module that owns parameters swaps
each parameter, for the duration of that module's forward, for `_GradReady(p)`: an identity node
created just before the module's ops, so backward reaches it right after them (nodes run in reverse
creation order), with the parameter's whole gradient from that use. The node hands the gradient to the
bucket and returns none to the parameter: `.grad` is written once, averaged, at the end. A `_Finish`
node made before the module runs and joined to its outputs is reached after every node of the forward:
there the last buckets start, all are waited for, and the averaged gradients are stored.

A parameter used several times (a module called per time step, tied weights, a recomputed checkpoint)
gets one node per use and is complete when all of them have run; a use that arrives after its bucket
left (possible with tied weights under checkpointing) is summed over the ranks at the end, so the result
stays exact. Parameters must be read as module attributes in forward (all redes layers do).
"""
import contextlib

import numpy as np

from .. import autograd as _ag
from .. import backend as B
from ..autograd import Function
from ..nn.module import Module, Parameter
from ..tensor import Tensor
from . import comm


class _GradReady(Function):
    """y = p (the parameter itself, for one module call). Backward: hand dy to the gradient bucket; nothing to p."""
    differentiable_backward = False

    def forward(self, p, sync, index):
        self.sync, self.index, self.generation = sync, index, sync.generation
        return p

    def backward(self, m, dy, y, p):
        self.sync.contribute(self.index, dy, self.generation)
        return (None,)


class _Finish(Function):
    """A 0-d anchor made before the forward; backward reaches it after every node of that forward."""
    differentiable_backward = False

    def forward(self, anchor, sync):
        self.sync, self.generation = sync, sync.generation
        return anchor

    def backward(self, m, dy, y, anchor):
        self.sync.check(self.generation)
        self.sync.finish()
        return (None,)


class _Join(Function):
    """y = a (an output of the model), tied to the _Finish anchor so backward walks on to it."""
    differentiable_backward = False

    def forward(self, a, token):
        return a

    def backward(self, m, dy, y, a, token):
        return dy, m.zeros((), token.dtype)


class _Bucket:
    __slots__ = ("indices", "offsets", "size", "dtype", "buffer", "pending", "request")

    def __init__(self, indices, params):
        self.indices, self.offsets, self.size = indices, [], 0
        for i in indices:
            self.offsets.append(self.size)
            self.size += params[i].array.size
        self.dtype = params[indices[0]].array.dtype
        self.buffer = self.request = None
        self.pending = 0


class _GradSync:
    """The bookkeeping of one backward: per parameter, uses seen in forward and gradients received."""

    def __init__(self, params, bucket_cap_mb):
        self.params = params
        self.MPI, self.comm = comm._mpi(), comm._comm("DistributedDataParallel")
        self.world = self.comm.Get_size()
        self.buckets, self.where = [], {}          # where[i] = (bucket index, position in bucket)
        current, nbytes, cap = [], 0, bucket_cap_mb * 2 ** 20
        for i in reversed(range(len(params))):    # the last layers' gradients are ready first
            p = params[i]
            if current and (nbytes + p.array.nbytes > cap or p.array.dtype != params[current[0]].array.dtype):
                self._add_bucket(current)
                current, nbytes = [], 0
            current.append(i)
            nbytes += p.array.nbytes
        if current:
            self._add_bucket(current)
        self.events = []                           # ("grad", i) / ("start", b) of the last backward (tests read it)
        self.active, self.generation = False, 0
        xp = B.xp_of(params[0].array) if params else np        # on the model's device: ops refuse a mix
        self.anchor = Tensor._wrap(xp.zeros(())).requires_grad_()

    def _add_bucket(self, indices):
        b = len(self.buckets)
        self.buckets.append(_Bucket(indices, self.params))
        for k, i in enumerate(indices):
            self.where[i] = (b, k)

    def begin(self):
        """Reset before a forward that records a graph."""
        if self.active and any(self.fired):
            raise RuntimeError("DistributedDataParallel: the previous backward did not reach every output of the "
                               "model, so its gradients were never averaged; compute the loss from the model's "
                               "outputs and call backward() once per forward")
        n = len(self.params)
        self.created, self.fired, self.ready = [0] * n, [0] * n, [False] * n
        self.late = {}
        for bucket in self.buckets:
            bucket.buffer = np.zeros(bucket.size, bucket.dtype)
            bucket.pending, bucket.request = len(bucket.indices), None
        self.next_bucket, self.events, self.active = 0, [], True
        self.generation += 1

    def check(self, generation):
        if generation != self.generation or not self.active:
            raise RuntimeError("DistributedDataParallel: backward went through the output of an earlier forward; "
                               "each forward's output must be backpropagated before the next forward")

    def use(self, i):
        """Forward made one more _GradReady node for parameter i."""
        self.created[i] += 1
        if self.ready[i]:                          # a recomputed use (checkpoint) after the others were done
            self.ready[i] = False
            b, _ = self.where[i]
            if self.buckets[b].request is None:
                self.buckets[b].pending += 1

    def contribute(self, i, dy, generation):
        self.check(generation)
        b, k = self.where[i]
        bucket = self.buckets[b]
        n = self.params[i].array.size
        self.events.append(("grad", i))
        self.fired[i] += 1
        if bucket.request is not None:             # its bucket already left: sum this use over the ranks at the end
            self.late[i] = self.late.get(i, 0) + B.to_numpy(dy).astype(bucket.dtype, copy=False).reshape(-1)
            return
        view = bucket.buffer[bucket.offsets[k]:bucket.offsets[k] + n]
        view += B.to_numpy(dy).reshape(-1)         # MPI reduces host buffers: a device gradient is copied here
        if self.fired[i] == self.created[i] and not self.ready[i]:
            self.ready[i] = True
            bucket.pending -= 1
            self._start_ready()

    def _start_ready(self):
        """Start the ready buckets, in bucket order: MPI needs every rank to start the collectives in one order."""
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            self._start(self.buckets[self.next_bucket])
            self.next_bucket += 1
        requests = [b.request for b in self.buckets if b.request is not None]
        if requests:
            self.MPI.Request.Testall(requests)     # lets MPI progress the buckets already in flight

    def _start(self, bucket):
        for k, i in enumerate(bucket.indices):     # gradients accumulated before (no_sync, accumulation) join in
            g = self.params[i].grad
            if g is not None:
                start = bucket.offsets[k]
                bucket.buffer[start:start + self.params[i].array.size] += B.to_numpy(g.array).reshape(-1)
        bucket.request = self.comm.Iallreduce(self.MPI.IN_PLACE, bucket.buffer, op=self.MPI.SUM)
        self.events.append(("start", self.buckets.index(bucket)))

    def finish(self):
        """End of backward: start what is left, wait for all buckets, store the averaged gradients."""
        for bucket in self.buckets:
            bucket.pending = 0                     # unused parameters: nothing more will come
        self._start_ready()
        used = np.array([c > 0 for c in self.created], np.uint8)
        # which parameters some rank used: those get a .grad (as in one process, an unused one keeps None)
        self.comm.Allreduce(self.MPI.IN_PLACE, used, op=self.MPI.MAX)
        late_any = np.array([1 if self.late else 0], np.uint8)
        self.comm.Allreduce(self.MPI.IN_PLACE, late_any, op=self.MPI.MAX)
        self.MPI.Request.Waitall([b.request for b in self.buckets])
        late = self._reduce_late() if late_any[0] else {}
        for bucket in self.buckets:
            bucket.buffer /= self.world
            for k, i in enumerate(bucket.indices):
                p = self.params[i]
                if not used[i]:
                    continue
                start = bucket.offsets[k]
                g = bucket.buffer[start:start + p.array.size].reshape(p.array.shape)
                if i in late:
                    g = g + late[i].reshape(p.array.shape)
                if type(p.array) is not np.ndarray:
                    g = B.xp_of(p.array).asarray(g)    # back to the parameter's device
                p.grad = Tensor._wrap(g)           # views of a buffer made new for each backward
            bucket.buffer = bucket.request = None
        self.active = False

    def _reduce_late(self):
        """The late uses of all parameters in one allreduce (every rank sends the same layout)."""
        sizes = [p.array.size for p in self.params]
        flat = np.zeros(sum(sizes), np.float64)
        starts = np.cumsum([0] + sizes)
        for i, g in self.late.items():
            flat[starts[i]:starts[i + 1]] = g
        self.comm.Allreduce(self.MPI.IN_PLACE, flat, op=self.MPI.SUM)
        flat /= self.world
        return {i: flat[starts[i]:starts[i + 1]].astype(self.params[i].array.dtype)
                for i in range(len(self.params)) if flat[starts[i]:starts[i + 1]].any()}


class DistributedDataParallel(Module):
    """Wrap `module` so that N ranks train one model: gradients are averaged over the ranks in backward.

    Args:
        module: the model (the same architecture on every rank; rank 0's values win at construction).
        bucket_cap_mb: size of the gradient buckets whose allreduce starts while backward runs (25, as torch).
        broadcast_buffers: copy rank 0's buffers (batch-norm statistics) to all ranks at construction and at
            the start of every forward in training mode, as torch does.
    Shape: whatever `module` takes and returns.
    Example (each rank of `mpiexec -n 2 python script.py`; .grad is then the mean of both ranks' gradients,
    and the same step on both ranks keeps the copies equal):
        >>> dist.init()  # doctest: +SKIP
        >>> model = DistributedDataParallel(rd.nn.Linear(3, 1))  # doctest: +SKIP
        >>> model(x_of_this_rank).pow(2).mean().backward()  # doctest: +SKIP
        >>> opt.step()  # doctest: +SKIP
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True):
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got {type(module).__name__}")
        if not comm.is_initialized():
            raise RuntimeError("DistributedDataParallel: call redes.distributed.init() first "
                               "(and launch the script with mpiexec -n N)")
        if bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        super().__init__()
        self.module = module
        params = [p for p in module.parameters() if p.requires_grad]
        self.broadcast_buffers = broadcast_buffers
        for t in params:
            comm.broadcast(t, 0)
        self._broadcast_buffers()
        self._sync = _GradSync(params, bucket_cap_mb)
        index = {id(p): i for i, p in enumerate(params)}
        for m in module.modules():                 # hooks on each module that owns parameters: they swap them
            own = [(name, index[id(v)]) for name, v in list(m.__dict__.items())
                   if isinstance(v, Parameter) and id(v) in index]
            if own:
                m.register_forward_pre_hook(self._swap_in(own))
                m.register_forward_hook(self._swap_out(own))
        self._swapped, self._sync_enabled = [], True

    def _swap_in(self, own):
        def hook(m, args):
            sync = self._sync
            if not (sync.active and _ag.is_grad_enabled()):
                return None
            for name, i in own:
                p = m.__dict__[name]
                if isinstance(p, Parameter):       # (not already swapped by an outer call of this module)
                    sync.use(i)
                    m.__dict__[name] = _GradReady.apply(p, sync=sync, index=i)
                    self._swapped.append((m, name, p))
            return None
        return hook

    def _swap_out(self, own):
        def hook(m, args, out):
            self._restore(m)
            return None
        return hook

    def _restore(self, only=None):
        keep = []
        for m, name, p in self._swapped:
            if only is None or m is only:
                m.__dict__[name] = p
            else:
                keep.append((m, name, p))
        self._swapped = keep

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward accumulates local gradients only; the next synced backward averages the sum."""
        prev, self._sync_enabled = self._sync_enabled, False
        try:
            yield
        finally:
            self._sync_enabled = prev

    def _broadcast_buffers(self):
        if self.broadcast_buffers:
            for t in self.module.buffers():
                if t is not None:
                    comm.broadcast(t, 0)

    def forward(self, *args, **kwargs):
        sync = self._sync
        if self.training:
            self._broadcast_buffers()
        if not (self._sync_enabled and _ag.is_grad_enabled() and sync.params):
            return self.module(*args, **kwargs)
        sync.begin()
        token = _Finish.apply(sync.anchor, sync=sync)
        try:
            out = self.module(*args, **kwargs)
        finally:
            self._restore()
        joined = _join(out, token)
        if joined is None:                         # nothing to differentiate (a frozen model): nothing to average
            sync.active = False
            return out
        return joined[0]


def _join(out, token):
    """out with every Tensor that requires grad passed through _Join(t, token); None if there is none."""
    if isinstance(out, Tensor):
        return (_Join.apply(out, token),) if out.requires_grad else None
    if isinstance(out, (tuple, list)):
        parts = [_join(o, token) for o in out]
        if all(p is None for p in parts):
            return None
        return (type(out)(p[0] if p is not None else o for o, p in zip(out, parts)),)
    if isinstance(out, dict):
        parts = {k: _join(v, token) for k, v in out.items()}
        if all(p is None for p in parts.values()):
            return None
        return ({k: (parts[k][0] if parts[k] is not None else v) for k, v in out.items()},)
    return None
