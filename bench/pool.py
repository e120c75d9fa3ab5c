"""The kernels right after a GEMM, on the thread pool shared with OpenBLAS and on one thread.

    python -m bench.pool [--reps 200]

Each kernel runs right after a (2048x128)@(128x512) GEMM, as in a training step, and is timed alone (median of
--reps). Both settings run in fresh processes: REDES_THREAD_POOL=0 leaves OpenBLAS's own threads in charge and
the kernels on one thread. Prints microseconds per call and the ratio.
"""
import argparse
import json
import os
import subprocess
import sys


def _measure(reps):
    import time

    import numpy as np

    import redes  # noqa: F401  (installs the pool unless REDES_THREAD_POOL=0)
    from redes import backend as B
    from redes.ops import elementwise as E
    from redes.ops.attention import causal_bias
    k = B.kernels
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((2048, 128), dtype=np.float32), rng.standard_normal((128, 512), dtype=np.float32)

    def timed(fn, n=reps):
        ts = []
        for _ in range(n):
            np.matmul(a, w)
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts) * 1e6)

    x = rng.standard_normal((32, 64, 512), dtype=np.float32)
    out = np.empty_like(x)
    s = rng.standard_normal((32, 4, 64, 64), dtype=np.float32)
    bias = causal_bias(64, 64, np.float32)
    xl = rng.standard_normal((2048, 128), dtype=np.float32)
    lw, lb = np.ones(128, np.float32), np.zeros(128, np.float32)
    y, st, inv = np.empty_like(xl), np.empty((2048, 2), np.float32), np.empty(2048, np.float32)
    dy, dx = rng.standard_normal((2048, 128), dtype=np.float32), np.empty_like(xl)
    dw, db = np.empty(128, np.float32), np.empty(128, np.float32)
    xr = rng.standard_normal((256, 2048), dtype=np.float32)
    yr = np.empty_like(xr)
    n = 6_300_000
    p, g, m = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    k.layer_norm_forward(xl, lw, lb, y, st, inv, 128, 1e-5)
    return {
        "GELU, 1M values": timed(lambda: k.gelu(x, None, out, E._AS_C32, E._AS_K)),
        "attention softmax, 32x4x64x64": timed(lambda: k.softmax_rows(s, bias, 64, 0.17)),
        "LayerNorm forward, 2048x128": timed(lambda: k.layer_norm_forward(xl, lw, lb, y, st, inv, 128, 1e-5)),
        "LayerNorm backward, 2048x128": timed(lambda: k.layer_norm_backward(dy, xl, st, inv, lw, dx, dw, db, 128)),
        "ReLU forward, 256x2048": timed(lambda: k.relu_forward(xr, yr)),
        "SGD momentum, 6.3M values": timed(lambda: k.sgd_momentum(p, g, m, 0.01, 0.9, 1.0), max(10, reps // 7)),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_measure(args.reps)))
        return
    runs = {}
    for pool in ("0", "1"):
        env = dict(os.environ, REDES_THREAD_POOL=pool)
        out = subprocess.run([sys.executable, "-m", "bench.pool", "--worker", "--reps", str(args.reps)], env=env,
                             capture_output=True, text=True, check=True).stdout
        runs[pool] = json.loads(out.strip().splitlines()[-1])
    print(f"{'kernel, size (right after a GEMM)':36s} {'one thread us':>14s} {'pool us':>9s} {'ratio':>6s}")
    for name, one in runs["0"].items():
        both = runs["1"][name]
        print(f"{name:36s} {one:14.1f} {both:9.1f} {one / both:6.2f}")


if __name__ == "__main__":
    main()
