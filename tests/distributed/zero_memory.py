"""Optimizer-state bytes and RSS per rank with and without ZeRO-1 (docs/scale.md quotes the output).

    mpiexec -n 2 python tests/distributed/zero_memory.py            # DDP + Adam: every rank has all the state
    mpiexec -n 2 python tests/distributed/zero_memory.py --zero     # DDP + ZeroRedundancyOptimizer(Adam)

The model: 4 Linear(1792, 1792) layers, 12.9M float32 parameters. Two Adam steps on random data.
"""
import sys

import numpy as np

import redes as rd
import redes.distributed as dist


def rss_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    zero = "--zero" in sys.argv
    dist.init()
    rd.manual_seed(0)
    net = rd.nn.Sequential(*[rd.nn.Linear(1792, 1792) for _ in range(4)])
    model = dist.DistributedDataParallel(net)
    if zero:
        opt = dist.ZeroRedundancyOptimizer(net.parameters(), optimizer_class=rd.optim.Adam, lr=1e-3)
        state = opt.optim.state
    else:
        opt = rd.optim.Adam(net.parameters(), lr=1e-3)
        state = opt.state
    x = rd.randn(16, 1792)
    for _ in range(2):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    n = sum(p.numel() for p in net.parameters())
    state_bytes = sum(v.array.nbytes for s in state.values() for v in s.values() if isinstance(v, rd.Tensor))
    row = np.array([state_bytes / 2 ** 20, rss_mb("VmRSS"), rss_mb("VmHWM")])
    rows = [rd.zeros(3, dtype=rd.float64) for _ in range(dist.world_size())]
    dist.all_gather(rows, rd.tensor(row))
    if dist.rank() == 0:
        print(f"{'ZeRO-1' if zero else 'unsharded'} Adam, {n / 1e6:.1f}M float32 parameters, "
              f"{dist.world_size()} ranks")
        print("rank  optimizer state MB  RSS MB  peak RSS MB")
        for r, t in enumerate(rows):
            s, cur, peak = t.tolist()
            print(f"{r:4d}  {s:18.1f}  {cur:6.0f}  {peak:11.0f}")


if __name__ == "__main__":
    main()
