"""Train a 10^9-parameter transformer for a few steps with Adam on one CPU machine (24 GB).

    python examples/billion.py                      # 20 blocks of width 2048: 1.01e9 parameters
    python examples/billion.py --layers 2 --d-model 64 --steps 2      # the same program, small

Memory, float32 (4 bytes) throughout, N = 1.01e9 parameters:
    weights 4N + gradients 4N + Adam's two moments 8N = 16N bytes = 16.1 GB, with nothing duplicated:
  - each parameter gets its own Adam parameter group, so every step runs parameter by parameter and its
    temporaries are the size of one weight matrix (one group of all parameters would be stepped as one flat
    buffer, which needs another copy of the weights and of the gradients);
  - `zero_grad()` (set_to_none) frees the gradients before the next forward;
  - each block runs under redes.utils.checkpoint: the forward keeps only the blocks' inputs (batch x seq x
    d_model floats per block) and each block's inside is recomputed during backward, so the activations cost
    one block's inside at a time instead of all 20 (--no-checkpoint keeps them all, to compare).
It prints the peak RSS (getrusage ru_maxrss) and the time of each step; docs/scale.md quotes a run.
"""
import argparse
import math
import resource
import time

import numpy as np

import redes as rd
from redes.utils.checkpoint import checkpoint

F = rd.nn.functional


class Block(rd.nn.Module):
    """Pre-norm transformer block: x + attn(ln1(x)), then x + mlp(ln2(x)); 12 d^2 + 13 d parameters."""
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = rd.nn.LayerNorm(d), rd.nn.LayerNorm(d)
        self.qkv, self.proj = rd.nn.Linear(d, 3 * d), rd.nn.Linear(d, d)
        self.fc1, self.fc2 = rd.nn.Linear(d, 4 * d), rd.nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class GPT(rd.nn.Module):
    def __init__(self, vocab, seq, d, layers, heads, use_checkpoint=True):
        super().__init__()
        self.use_checkpoint = use_checkpoint
        self.tok, self.pos = rd.nn.Embedding(vocab, d), rd.nn.Embedding(seq, d)
        self.blocks = rd.nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln, self.head = rd.nn.LayerNorm(d), rd.nn.Linear(d, vocab)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(rd.arange(idx.shape[1]))
        for block in self.blocks:
            x = checkpoint(block, x, use_reentrant=False) if self.use_checkpoint else block(x)
        return self.head(self.ln(x))


def peak_rss_gb():
    """Peak resident memory in GB (10^9 bytes, as the weights' total above); Linux reports ru_maxrss in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=20)
    p.add_argument("--d-model", type=int, default=2048)
    p.add_argument("--heads", type=int, default=16)
    p.add_argument("--vocab", type=int, default=256, help="byte-level tokens")
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--no-checkpoint", action="store_true", help="keep every block's activations")
    args = p.parse_args(argv)

    start = time.perf_counter()
    rd.manual_seed(0)
    model = GPT(args.vocab, args.seq, args.d_model, args.layers, args.heads, not args.no_checkpoint)
    n = sum(p.numel() for p in model.parameters())
    opt = rd.optim.Adam([{"params": [p]} for p in model.parameters()], lr=args.lr)
    print(f"{n:,} parameters ({n / 1e9:.2f}e9), float32; built in {time.perf_counter() - start:.0f} s; "
          f"weights + gradients + Adam moments = {16 * n / 1e9:.1f} GB")
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, args.vocab, (args.batch, args.seq + 1))
    x, y = rd.tensor(tokens[:, :-1]), rd.tensor(tokens[:, 1:].reshape(-1))
    times, losses = [], []
    for step in range(args.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, args.vocab), y)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())
        print(f"step {step + 1}: loss {losses[-1]:.4f} ({math.log(args.vocab):.4f} = uniform), "
              f"{times[-1]:.1f} s, peak RSS so far {peak_rss_gb():.2f} GB", flush=True)
    print(f"peak RSS {peak_rss_gb():.2f} GB; step time {np.median(times):.1f} s (median of {len(times)})")
    return {"parameters": n, "losses": losses, "step_seconds": times, "peak_rss_gb": peak_rss_gb()}


if __name__ == "__main__":
    main()
