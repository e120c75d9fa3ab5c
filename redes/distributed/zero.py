"""ZeroRedundancyOptimizer: ZeRO stage 1 (Rajbhandari et al. 2020): each rank keeps 1/N of the optimizer state.

Data-parallel ranks (DistributedDataParallel) all hold the same averaged gradients and would all run
the same optimizer step on the same values, each keeping a full copy of the optimizer state (Adam: two
arrays the size of the model). Here the parameters of each group are laid end to end and cut into N
equal ranges of elements; rank r steps only range r, with a local optimizer (`optimizer_class`) over
the pieces of the parameters that fall in it, so it holds only that range's state. After the step the
ranks exchange their updated ranges (one MPI Allgatherv per parameter, written straight into the
parameter), and every rank again holds the whole updated model.

Cutting by elements gives each rank exactly 1/N of the state whatever the parameter sizes (torch cuts
by whole parameters instead). It is exact for optimizers that update each element from its own
gradient and state (SGD, Adam, AdamW, RMSprop, Adagrad); one that reads a whole parameter at once (a
per-tensor norm, as LAMB) would see pieces and must not be sharded this way.
"""
import numpy as np

from ..nn.module import Parameter
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from . import comm


class _Piece:
    """Elements [start, stop) of parameter `param` (flattened), stepped on this rank as `shard`."""
    __slots__ = ("param", "start", "stop", "shard")

    def __init__(self, param, start, stop):
        self.param, self.start, self.stop = param, start, stop
        self.shard = Parameter(Tensor._wrap(np.ascontiguousarray(param.array).reshape(-1)[start:stop].copy()))


class ZeroRedundancyOptimizer(Optimizer):
    """Shard `optimizer_class`'s state over the ranks; after each step every rank has the whole updated model.

    Args:
        params: the parameters (or parameter groups) to optimize, the same on every rank.
        optimizer_class: the optimizer to shard, e.g. rd.optim.Adam.
        **defaults: its hyperparameters (lr, betas, weight_decay, ...).
    The gradients must already be the same on every rank (the model wrapped in DistributedDataParallel).
    `param_groups` holds the full groups, so LR schedulers work as usual; each step passes their
    hyperparameters on to the local optimizer, `self.optim`.

    Example (each rank of `mpiexec -n N`; each keeps 1/N of Adam's moments):
        >>> model = DistributedDataParallel(net)  # doctest: +SKIP
        >>> opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=rd.optim.Adam, lr=1e-3)  # doctest: +SKIP
        >>> model(x).pow(2).mean().backward()  # doctest: +SKIP
        >>> opt.step()  # doctest: +SKIP
    """

    def __init__(self, params, optimizer_class, **defaults):
        if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, Optimizer)):
            raise TypeError("ZeroRedundancyOptimizer: optimizer_class must be an Optimizer class such as "
                            f"rd.optim.Adam, got {optimizer_class!r}")
        self.MPI, self.comm = comm._mpi(), comm._comm("ZeroRedundancyOptimizer")
        self.optimizer_class = optimizer_class
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if type(p.array) is not np.ndarray:
                    raise RuntimeError(f"ZeroRedundancyOptimizer: a parameter is on device {p.device}; ZeRO-1 shards "
                                       "CPU parameters (its allgather writes host memory): train it on the CPU, or "
                                       "use DistributedDataParallel with a plain optimizer on other devices")
        rank, size = self.comm.Get_rank(), self.comm.Get_size()
        self._pieces, self._counts, local_groups = [], [], []
        for group in self.param_groups:
            sizes = [p.array.size for p in group["params"]]
            total = sum(sizes)
            bounds = [total * r // size for r in range(size + 1)]     # rank r owns elements [bounds[r], bounds[r+1])
            pieces, counts, offset = [], [], 0
            for p, n in zip(group["params"], sizes):
                # per parameter: how many of its elements each rank owns (the Allgatherv counts)
                counts.append([max(0, min(offset + n, bounds[r + 1]) - max(offset, bounds[r])) for r in range(size)])
                lo, hi = max(offset, bounds[rank]), min(offset + n, bounds[rank + 1])
                pieces.append(_Piece(p, lo - offset, hi - offset) if hi > lo else None)
                offset += n
            self._pieces.append(pieces)
            self._counts.append(counts)
            hyper = {k: v for k, v in group.items() if k not in ("params", "param_names")}
            # one group per piece: the local optimizer then steps piece by piece (no flat copy of the shard)
            local_groups += [{"params": [piece.shard], **hyper} for piece in pieces if piece is not None]
        self.optim = optimizer_class(local_groups or [{"params": [Parameter(np.zeros(0, np.float32))]}], **defaults)
        self.state = self.optim.state               # only this rank's pieces: the point of ZeRO

    def step(self, closure=None):
        """Step this rank's range of every parameter, then allgather the ranges into the parameters."""
        from .. import autograd as _ag
        loss = None
        if closure is not None:
            with _ag.enable_grad():
                loss = closure()
        self._step_calls += 1
        local = iter(self.optim.param_groups)
        for group, pieces in zip(self.param_groups, self._pieces):
            hyper = {k: v for k, v in group.items() if k not in ("params", "param_names")}
            for piece in pieces:
                if piece is None:
                    continue
                next(local).update(hyper)           # lr set by a scheduler on param_groups reaches the shard
                g = piece.param.grad
                piece.shard.grad = None if g is None else \
                    Tensor._wrap(np.ascontiguousarray(g.array).reshape(-1)[piece.start:piece.stop])
        self.optim.step()
        for group, pieces, counts in zip(self.param_groups, self._pieces, self._counts):
            for p, piece, cnt in zip(group["params"], pieces, counts):
                self._gather(p, piece, cnt)
        return loss

    def _gather(self, p, piece, counts):
        """Every rank's updated range of p, written into p's array on every rank."""
        flat = p.array.reshape(-1) if p.array.flags.c_contiguous else np.ascontiguousarray(p.array).reshape(-1)
        mine = piece.shard.array if piece is not None else flat[:0]
        displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist()
        self.comm.Allgatherv(np.ascontiguousarray(mine), [flat, (counts, displs)])
        if not np.shares_memory(flat, p.array):
            p.array[...] = flat.reshape(p.array.shape)
        if piece is not None:
            piece.shard.grad = None

    def zero_grad(self, set_to_none=True):
        super().zero_grad(set_to_none)
        self.optim.zero_grad(set_to_none)

    def state_dict(self):
        """This rank's shard of the optimizer state (the local optimizer's state_dict) with rank and world size."""
        return {"rank": self.comm.Get_rank(), "world_size": self.comm.Get_size(), "local": self.optim.state_dict()}

    def load_state_dict(self, state_dict):
        """Load what state_dict() gave on this rank, in a job of the same size."""
        rank, size = self.comm.Get_rank(), self.comm.Get_size()
        if state_dict.get("rank") != rank or state_dict.get("world_size") != size:
            raise ValueError(f"ZeroRedundancyOptimizer.load_state_dict: the state is rank {state_dict.get('rank')} "
                             f"of {state_dict.get('world_size')} ranks; this is rank {rank} of {size}")
        self.optim.load_state_dict(state_dict["local"])
        self.state = self.optim.state
