"""Compare redes with PyTorch: training steps per second, each measurement in a fresh process.

    python -m bench [--only NAME[,NAME]] [--rounds N] [--seconds S] [--json] [--threads N]
                    [--unset-openblas-coretype]
    python -m bench tables [--only DATASET[,...]] [--seeds N]     # model quality vs scikit-learn (bench/tables.py)

For each workload and round, runs `python -m bench.worker` for redes, then for torch, then for the
hand-written NumPy floor where the workload has one (A B C A B C ...), and reports medians over rounds,
the spread of the per-round redes/torch and redes/floor ratios, and peak RSS.
Methodology and column meanings: bench/README.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.floor import FLOOR_WORKLOADS
from bench.workloads import HAS_GEMM, REFERENCE_NAME, WORKLOADS

LIBS = ("redes", "torch", "numpy")     # numpy: the hand-written floor (bench/floor.py), FLOOR_WORKLOADS only
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated workloads (default: all): " + ",".join(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds per workload (default 3)")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="timed seconds per measurement, after warm-up (default 2)")
    parser.add_argument("--threads", type=int,
                        help="set OMP/OPENBLAS/MKL_NUM_THREADS in the workers (default: libraries' own choice)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "twin"],
                        help="cpu (default); cuda: redes on CuPy vs torch CUDA; twin: redes' CPU test device vs "
                             "torch CPU (the cost of the device plumbing)")
    parser.add_argument("--compile", action="store_true",
                        help="redes runs each step's forward + loss through rd.compile (torch stays eager)")
    parser.add_argument("--json", action="store_true", help="machine-readable results on stdout")
    parser.add_argument("--unset-openblas-coretype", action="store_true",
                        help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the workers' environment")
    args = parser.parse_args(argv)
    args.workloads = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be >= 1 and --seconds > 0")
    return args


def child_env(unset_openblas, threads=None):
    """The workers' environment: ours, minus the OpenBLAS overrides only when asked to, with
    every thread pool (numpy's OpenBLAS, torch's OpenMP/MKL) capped when --threads is given."""
    env = dict(os.environ)
    if threads:
        env.update({var: str(threads) for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    if unset_openblas:
        for var in OPENBLAS_VARS:
            env.pop(var, None)
    # Workers import `bench` and `redes` from this checkout, wherever we were started from.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def run_worker(worker_args, env, timeout):
    """Run one worker process and parse the JSON on its last stdout line; never raises."""
    cmd = [sys.executable, "-m", "bench.worker", *worker_args]
    try:
        proc = subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"worker timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "error", "error": f"worker exited {proc.returncode}: {tail[:200]}"}


def measure_workload(name, args, env, log):
    """All rounds of one workload, alternating libraries; a library that is unavailable in one
    round is not retried (it will not appear mid-run)."""
    rounds, skip = [], set() if name in FLOOR_WORKLOADS and args.device == "cpu" else {"numpy"}
    timeout = 120 + 20 * args.seconds   # generous: warm-up of a slow redes step can take a while
    for r in range(args.rounds):
        this_round = {}
        for lib in LIBS:
            if lib in skip:
                continue
            compiled = ["--compile"] if args.compile and lib == "redes" and name != "scalar" else []
            res = run_worker(["--lib", lib, "--workload", name, "--seconds", str(args.seconds),
                              "--device", args.device, "--json", *compiled], env, timeout)
            this_round[lib] = res
            if res["status"] == "unavailable":
                skip.add(lib)
            log(f"[{r + 1}/{args.rounds}] {name:<12} {lib:<6} " + (
                f"{res['steps_per_s']:.4g} steps/s" if res["status"] == "ok"
                else f"{res['status']}: {res['error']}"))
        rounds.append(this_round)
    return {"workload": name, "rounds": rounds, "summary": summarize(name, rounds)}


def summarize(name, rounds):
    """Medians per library; per-round ratios redes/torch and redes/floor, their medians and ranges
    (`ratio*` and `floor_ratio*`). A library that did not run (no floor for this workload) has
    status 'none'."""
    summary = {"reference": REFERENCE_NAME.get(name, "torch")}
    for lib in LIBS:
        results = [rnd[lib] for rnd in rounds if lib in rnd]
        if not results:
            summary[lib] = {"status": "none", "error": None}
            continue
        ok = [res for res in results if res["status"] == "ok"]
        s = {"status": "ok" if ok else results[0]["status"], "error": None if ok else results[0].get("error")}
        if ok:
            s["steps_per_s"] = statistics.median(res["steps_per_s"] for res in ok)
            s["peak_rss_mib"] = max(res["peak_rss_mib"] for res in ok)
            if name in HAS_GEMM:
                s["gemm_fraction"] = statistics.median(res["gemm_fraction"] for res in ok)
            if "ops" in ok[0]:
                s["ops"] = ok[0]["ops"]
        summary[lib] = s
    for prefix, other in (("ratio", "torch"), ("floor_ratio", "numpy")):
        ratios = [rnd["redes"]["steps_per_s"] / rnd[other]["steps_per_s"] for rnd in rounds
                  if all(lib in rnd and rnd[lib]["status"] == "ok" for lib in ("redes", other))]
        summary[prefix + "s"] = ratios
        if ratios:
            summary.update({prefix: statistics.median(ratios), prefix + "_min": min(ratios),
                            prefix + "_max": max(ratios)})
    return summary


# --- Output ---------------------------------------------------------------------------------------

def machine_lines(cpu):
    """The CPU and each library's BLAS and threads: the ratios change with them (bench/README.md)."""
    if not cpu:
        return []
    family = cpu.get("family") and f"family {cpu['family']} model {cpu.get('model')}"
    kind = ", ".join(x for x in (cpu.get("vendor"), family, cpu.get("isa"),
                                 "virtualized" if cpu.get("virtualized") else None) if x)
    lines = [f"cpu: {cpu.get('cpu_model')}" + (f" ({kind})" if kind else "")
             + f", {cpu.get('logical_cpus')} logical CPUs ({cpu.get('usable_cpus')} usable)"]
    if "numpy" in cpu:
        blas = cpu["numpy"]
        kernel = blas.get("kernel") and f"kernel {blas['kernel']}"
        detail = ", ".join(str(x) for x in (blas.get("version"), kernel) if x)
        lines.append(f"numpy BLAS (redes, floor): {blas.get('blas')}" + (f" {detail}" if detail else "")
                     + f", {blas.get('threads') if blas.get('threads') is not None else '?'} threads")
    if "torch" in cpu:
        blas = cpu["torch"]
        lines.append(f"torch BLAS: {blas.get('blas')}" + (f" (MKL {blas['mkl']})" if blas.get("mkl") else "")
                     + (f", oneDNN {blas['onednn']}" if blas.get("onednn") else "")
                     + (f", kernels {blas['cpu_capability']}" if blas.get("cpu_capability") else "")
                     + f"; {blas.get('intra_op_threads')} intra-op / {blas.get('inter_op_threads')} inter-op threads"
                     + (f" ({blas['parallel_backend']})" if blas.get("parallel_backend") else ""))
    return lines


def header_lines(info, args):
    """CPU, versions, BLAS kernels, thread counts, and a note on OpenBLAS overrides."""
    libs = ", ".join(f"{k} {v}" for k, v in info.get("libs", {}).items())
    lines = machine_lines(info.get("cpu"))
    lines.append(f"python {info.get('python')} on {info.get('machine')}, {info.get('cpu_count')} CPUs; {libs}")
    for pool in info.get("blas", []):
        threads = pool.get("num_threads")
        detail = ", ".join(str(x) for x in (pool.get("version"), pool.get("architecture"),
                                            pool.get("threading_layer")) if x)
        lines.append(f"  {pool.get('internal_api')}" + (f" ({detail})" if detail else "")
                     + f": {threads if threads is not None else '?'} threads"
                     + (f"  [{pool['file']}]" if pool.get("file") else ""))
    if info.get("redes_kernels"):
        lines.append(f"  redes: {info['redes_kernels']}")
    if info.get("env"):
        lines.append("  env: " + " ".join(f"{k}={v}" for k, v in info["env"].items()))
    lines += openblas_notes(args.unset_openblas_coretype)
    # A busy machine (two CPUs shared with tests, builds) is the commonest cause of odd numbers.
    lines.append("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    lines.append(f"device {args.device}; {args.rounds} round(s) x {args.seconds:g} s per measurement, "
                 "fresh process each, redes/torch/floor alternated")
    if args.compile:
        lines.append("redes: forward + loss through rd.compile (recorded once, replayed); torch eager; scalar eager")
    return lines


def probe_line(when, probe):
    """The machine's state from `worker --probe`: a ~1.0x GEMM speedup means the second core was busy."""
    if not isinstance(probe, dict) or "exp_1m_ms" not in probe:
        return f"machine probe at {when}: unavailable ({probe})"
    speedup = probe.get("gemm_speedup")
    threads = f"{speedup:.2f}x on all BLAS threads vs one" if speedup else "one-thread time unknown (no threadpoolctl)"
    return (f"machine probe at {when}: (256x512)@(512x512) float32 GEMM {probe['gemm_all_ms']:.2f} ms, {threads}; "
            f"np.exp over 1M float32 {probe['exp_1m_ms']:.2f} ms")


def openblas_notes(unset):
    """Say loudly when OpenBLAS kernel overrides are in effect: they can change GEMM speed a lot."""
    found = {var: os.environ[var] for var in OPENBLAS_VARS if var in os.environ}
    if not found:
        return []
    setting = ", ".join(f"{k}={v}" for k, v in found.items())
    if unset:
        return [f"note: {setting} set here but removed in the workers (--unset-openblas-coretype)"]
    return [f"note: {setting} is set and passed to the workers: numpy's OpenBLAS uses it instead of "
            "auto-detection; --unset-openblas-coretype removes it there"]


def _rate(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.3g}"


def _cell(s, key, fmt, missing=None):
    return fmt(s[key]) if s["status"] == "ok" else missing or s["status"]


def table_lines(results):
    """The results table plus footnotes (reference library, op counts, GEMM share, errors).
    'floor' is the hand-written NumPy step (bench/floor.py); '-' where a workload has none."""
    head = ("workload", "redes steps/s", "torch steps/s", "floor steps/s", "redes/torch", "spread",
            "redes/floor", "spread", "redes MiB", "torch MiB")
    rows, notes = [head], []
    ratio = lambda s, key: f"{s[key]:.3g}" if key in s else "-"
    spread = lambda s, key: f"{s[key + '_min']:.3g}-{s[key + '_max']:.3g}" if key in s else "-"
    for res in results:
        s, name = res["summary"], res["workload"]
        floor = s.get("numpy", {"status": "none"})
        rows.append((name, _cell(s["redes"], "steps_per_s", _rate), _cell(s["torch"], "steps_per_s", _rate),
                     "-" if floor["status"] == "none" else _cell(floor, "steps_per_s", _rate),
                     ratio(s, "ratio"), spread(s, "ratio"), ratio(s, "floor_ratio"), spread(s, "floor_ratio"),
                     _cell(s["redes"], "peak_rss_mib", "{:.0f}".format, "-"),
                     _cell(s["torch"], "peak_rss_mib", "{:.0f}".format, "-")))
        if s["reference"] != "torch":
            ops = s["redes"].get("ops") or s["torch"].get("ops")
            notes.append(f"{name}: the torch column is {s['reference']}" + (f"; graph of {ops:,} ops" if ops else ""))
        gemm = [f"{'floor' if lib == 'numpy' else lib} {s[lib]['gemm_fraction']:.2f}"
                for lib in LIBS if "gemm_fraction" in s.get(lib, {})]
        if gemm:
            notes.append(f"{name}: gemm_fraction (bare GEMM time / step time): {', '.join(gemm)}")
        notes += [f"{name}: {'floor' if lib == 'numpy' else lib} {s[lib]['status']} ({s[lib]['error']})"
                  for lib in LIBS if s.get(lib, {"status": "none"})["status"] not in ("ok", "none")]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    fmt_row = lambda row: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
    lines = [fmt_row(rows[0]), "  ".join("-" * w for w in widths)] + [fmt_row(r) for r in rows[1:]]
    return lines + [""] * bool(notes) + notes


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["tables"]:                  # `python -m bench tables`: model quality on tables, not speed
        from bench.tables import main as tables_main
        return tables_main(argv[1:])
    args = parse_args(argv)
    env = child_env(args.unset_openblas_coretype, args.threads)
    log = (lambda msg: print(msg, file=sys.stderr, flush=True))
    info = run_worker(["--info"], env, timeout=120)
    probes = {"start": run_worker(["--probe"], env, timeout=120)}
    if not args.json:
        print("\n".join(header_lines(info, args) + [probe_line("start", probes["start"])]), flush=True)
    results = [measure_workload(name, args, env, log) for name in args.workloads]
    probes["end"] = run_worker(["--probe"], env, timeout=120)
    if args.json:
        json.dump({"machine": info.get("cpu"), "info": info, "loadavg": os.getloadavg(),
                   "openblas_notes": openblas_notes(args.unset_openblas_coretype),
                   "args": {k: v for k, v in vars(args).items()}, "probes": probes, "results": results},
                  sys.stdout, indent=1)
        print()
    else:
        print("\n" + "\n".join(table_lines(results) + ["", probe_line("end", probes["end"])]))


if __name__ == "__main__":
    main()
