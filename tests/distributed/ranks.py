"""What each rank runs in tests/distributed/test_mpi.py: `mpiexec -n 2 python ranks.py CASE OUTDIR`.

Each case writes OUTDIR/CASE-RANK.npz; the test compares the ranks' files and the single-process reference.
"""
import sys

import numpy as np

import redes as rd
import redes.distributed as dist
from redes.utils.checkpoint import checkpoint

F = rd.nn.functional


def mlp():
    rd.manual_seed(0)
    return rd.nn.Sequential(rd.nn.Linear(5, 16), rd.nn.Tanh(), rd.nn.Linear(16, 16), rd.nn.Tanh(), rd.nn.Linear(16, 3))


class Tied(rd.nn.Module):
    """An embedding whose weight is also the output layer, used once inside a checkpoint and once outside."""
    def __init__(self):
        super().__init__()
        rd.manual_seed(1)
        self.mix = rd.nn.Linear(4, 4)
        self.emb = rd.nn.Embedding(7, 4)      # registered last: its bucket is the first to leave, before the
        self.head = rd.nn.Linear(4, 7, bias=False)     # recomputed use arrives (the 'late' path of ddp.py)
        self.head.weight = self.emb.weight

    def forward(self, idx):
        h = checkpoint(lambda i: self.mix(self.emb(i)).tanh(), idx)
        return self.head(h)


def data(n=8):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 5)), rng.normal(size=(n, 3))


def flat(model):
    return np.concatenate([p.numpy().ravel() for p in model.parameters()])


def train(model, opt, batches, ddp=None):
    for x, y in batches:
        opt.zero_grad()
        F.mse_loss((ddp or model)(rd.tensor(x)), rd.tensor(y)).backward()
        opt.step()


def case_ddp(r, w):
    """3 Adam steps: 1 process on the full batch versus DDP on 1/w of it each (and ZeRO-1, and no_sync)."""
    X, Y = data()
    part = slice(r * len(X) // w, (r + 1) * len(X) // w)
    ref = mlp()
    train(ref, rd.optim.Adam(ref.parameters(), lr=0.01), [(X, Y)] * 3)
    out = {"reference": flat(ref)}

    net = mlp()
    if r:                                       # a different start on rank 1: the broadcast must fix it
        for p in net.parameters():
            p.array *= 3.0
    ddp = dist.DistributedDataParallel(net, bucket_cap_mb=1e-3)    # ~1 KB buckets: several of them
    train(net, rd.optim.Adam(net.parameters(), lr=0.01), [(X[part], Y[part])] * 3, ddp)
    out["ddp"] = flat(net)
    events = ddp._sync.events
    out["first_start"] = [k for k, e in enumerate(events) if e[0] == "start"][0]
    out["last_grad"] = [k for k, e in enumerate(events) if e[0] == "grad"][-1]
    out["n_buckets"] = len(ddp._sync.buckets)

    net = mlp()
    ddp = dist.DistributedDataParallel(net)
    zero = dist.ZeroRedundancyOptimizer(net.parameters(), optimizer_class=rd.optim.Adam, lr=0.01)
    train(net, zero, [(X[part], Y[part])] * 3, ddp)
    out["zero"] = flat(net)
    out["zero_state"] = sum(v.array.size for s in zero.optim.state.values() for v in s.values()
                            if isinstance(v, rd.Tensor))
    out["n_params"] = sum(p.numel() for p in net.parameters())

    net = mlp()                                 # gradient accumulation: 2 micro-batches, only the last synced
    ddp = dist.DistributedDataParallel(net)
    opt = rd.optim.SGD(net.parameters(), lr=0.1)
    xs, ys = X[part], Y[part]
    h = len(xs) // 2
    with ddp.no_sync():
        (F.mse_loss(ddp(rd.tensor(xs[:h])), rd.tensor(ys[:h])) / 2).backward()
    (F.mse_loss(ddp(rd.tensor(xs[h:])), rd.tensor(ys[h:])) / 2).backward()
    opt.step()
    ref = mlp()
    train(ref, rd.optim.SGD(ref.parameters(), lr=0.1), [(X, Y)])
    out["no_sync"], out["no_sync_reference"] = flat(net), flat(ref)

    first = F.mse_loss(ddp(rd.tensor(xs)), rd.tensor(ys))      # two forwards, then backward through the first
    ddp(rd.tensor(xs))
    try:
        first.backward()
        out["stale_error"] = ""
    except RuntimeError as exc:
        out["stale_error"] = str(exc)
    return out


def case_tied(r, w):
    """Tied weights, one use inside a checkpoint (recomputed late in backward): gradients still exact."""
    idx = np.array([[0, 3, 5, 6], [1, 2, 2, 4]])
    target = np.array([[3, 5, 6, 0], [2, 2, 4, 1]])

    def loss(model, i, t):
        return F.cross_entropy(model(rd.tensor(i)).reshape(-1, 7), rd.tensor(t.reshape(-1)))
    ref = Tied()
    loss(ref, idx, target).backward()
    net = Tied()
    ddp = dist.DistributedDataParallel(net, bucket_cap_mb=1e-4)
    loss(ddp, idx[r:r + 1], target[r:r + 1]).backward()
    return {"reference": np.concatenate([p.grad.numpy().ravel() for p in ref.parameters()]),
            "ddp": np.concatenate([p.grad.numpy().ravel() for p in net.parameters()]),
            "late": len(ddp._sync.late)}


def case_fit(r, w):
    """rd.fit(distributed=True) on (X, y) with batch_size b per rank = one process with batch_size w*b."""
    X, Y = data(16)
    ref = mlp()
    ref_hist = rd.fit(ref, (X, Y), loss="mse", optimizer="sgd", lr=0.1, epochs=2, batch_size=16, shuffle=False)
    net = mlp()
    hist = rd.fit(net, (X, Y), loss="mse", optimizer="sgd", lr=0.1, epochs=2, batch_size=16 // w, shuffle=False,
                  distributed=True)
    return {"reference": flat(ref), "fit": flat(net), "loss": np.array(hist["loss"]),
            "reference_loss": np.array(ref_hist["loss"])}


def case_collectives(r, w):
    t = rd.tensor([float(r + 1), 10.0 * r])
    dist.all_reduce(t)
    m = rd.tensor([float(r)])
    dist.all_reduce(m, op="max")
    b = rd.tensor([float(r + 5)] * 3)
    dist.broadcast(b, src=w - 1)
    gathered = [rd.zeros(2) for _ in range(w)]
    dist.all_gather(gathered, rd.tensor([float(r), float(-r)]))
    dist.barrier()
    bn = rd.nn.BatchNorm1d(2)
    bn.running_mean.array[...] = r + 1.0      # rank 0's buffers win at construction
    dist.DistributedDataParallel(bn)
    return {"sum": t.numpy(), "max": m.numpy(), "bcast": b.numpy(), "gather": np.stack([g.numpy() for g in gathered]),
            "running_mean": bn.running_mean.numpy()}


def case_twin(r, w):
    """DDP and fit(distributed=True) with the model on the twin device: MPI's host buffers in between, the
    gradients back on the device, the result the single-process CPU run's."""
    X, Y = data()
    part = slice(r * len(X) // w, (r + 1) * len(X) // w)
    ref = mlp()
    train(ref, rd.optim.Adam(ref.parameters(), lr=0.01), [(X, Y)] * 3)
    net = mlp().to("twin")
    ddp = dist.DistributedDataParallel(net, bucket_cap_mb=1e-3)
    opt = rd.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        F.mse_loss(ddp(rd.tensor(X[part], device="twin")), rd.tensor(Y[part], device="twin")).backward()
        opt.step()
    devices = {str(p.device) for p in net.parameters()} | {str(p.grad.device) for p in net.parameters()}
    X16, Y16 = data(16)
    fit_ref = mlp()
    rd.fit(fit_ref, (X16, Y16), loss="mse", optimizer="sgd", lr=0.1, epochs=2, batch_size=16, shuffle=False)
    fit_net = mlp().to("twin")
    rd.fit(fit_net, (X16, Y16), loss="mse", optimizer="sgd", lr=0.1, epochs=2, batch_size=16 // w, shuffle=False,
           distributed=True)
    t = rd.tensor([float(r + 1)], device="twin")
    dist.all_reduce(t)
    return {"reference": flat(ref), "ddp": np.concatenate([p.cpu().numpy().ravel() for p in net.parameters()]),
            "devices": np.array(sorted(devices)), "fit_reference": flat(fit_ref),
            "fit": np.concatenate([p.cpu().numpy().ravel() for p in fit_net.parameters()]), "sum": t.cpu().numpy()}


def case_fail(r, w):
    """Rank 1 raises while rank 0 waits in a collective: the job must end, non-zero, with rank 1's error."""
    if r == 1:
        raise ValueError("deliberate failure on rank 1")
    dist.barrier()
    return {}


if __name__ == "__main__":
    case, outdir = sys.argv[1], sys.argv[2]
    rd.set_default_dtype(rd.float64)
    dist.init()
    result = globals()[f"case_{case}"](dist.rank(), dist.world_size())
    np.savez(f"{outdir}/{case}-{dist.rank()}.npz", **result)
