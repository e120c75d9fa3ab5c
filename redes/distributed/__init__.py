"""Data-parallel training over MPI (mpi4py): many processes, one model.

    mpiexec -n 4 python train.py            # each of the 4 processes runs the whole script

    import redes.distributed as dist
    dist.init()                              # joins the job; an error on any rank ends all of them
    model = dist.DistributedDataParallel(net)                    # same start, averaged gradients
    opt = dist.ZeroRedundancyOptimizer(model.parameters(), optimizer_class=rd.optim.Adam, lr=1e-3)
    sampler = dist.DistributedSampler(dataset)                   # each rank reads its share of the rows

`rd.fit(..., distributed=True)` does all of this for you. mpi4py is imported by init() only.
"""
from .comm import (ReduceOp, abort, all_gather, all_reduce, barrier, broadcast, get_rank, get_world_size, init,
                   is_initialized, launched_by_mpi, quiet_other_ranks, rank, world_size)
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler
from .zero import ZeroRedundancyOptimizer

__all__ = ["ReduceOp", "abort", "all_gather", "all_reduce", "barrier", "broadcast", "get_rank", "get_world_size",
           "init", "is_initialized", "launched_by_mpi", "quiet_other_ranks", "rank", "world_size", "DistributedDataParallel",
           "DistributedSampler", "ZeroRedundancyOptimizer"]
