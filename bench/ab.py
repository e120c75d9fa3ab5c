"""A/B two redes source trees on the same workloads: fresh processes, alternated, medians.

    python -m bench.ab /path/to/tree_a /path/to/tree_b --only scalar,mlp_tiny --rounds 7 --seconds 1 [--compile]

Each measurement is one `python -m bench.worker --lib redes` process with PYTHONPATH set to one tree; the
two trees alternate (A B A B ..., the order flipped every other round) so drift in machine load hits both
alike. Prints, per workload, each tree's median steps/s and the median of the per-round ratios B/A.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def measure(tree, workload, seconds, compiled=False):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    out = subprocess.run([sys.executable, "-m", "bench.worker", "--lib", "redes", "--workload", workload,
                          "--seconds", str(seconds), "--json"] + ["--compile"] * compiled, env=env, cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["status"] != "ok":
        raise RuntimeError(f"{tree} {workload}: {result.get('error')}")
    return result["steps_per_s"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--only", default="scalar,mlp_tiny")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--compile", action="store_true", help="both trees run forward + loss through rd.compile")
    args = p.parse_args(argv)
    for workload in args.only.split(","):
        rates = {"a": [], "b": []}
        for r in range(args.rounds):
            for side in ("a", "b") if r % 2 == 0 else ("b", "a"):
                rates[side].append(measure(getattr(args, side), workload, args.seconds, args.compile))
        ratios = [b / a for a, b in zip(rates["a"], rates["b"])]
        print(f"{workload}: A {statistics.median(rates['a']):.2f} steps/s, B {statistics.median(rates['b']):.2f} "
              f"steps/s, B/A median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}, "
              f"{args.rounds} rounds x {args.seconds} s)", flush=True)


if __name__ == "__main__":
    main()
