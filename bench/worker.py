"""One measurement in a fresh process: build a workload, warm up, time full training steps.

    python -m bench.worker --lib redes|torch|numpy --workload NAME --seconds S [--json]
    python -m bench.worker --info        # BLAS / thread report for the header, as JSON
    python -m bench.worker --probe       # how much a second thread helps a GEMM right now, as JSON

Run by `python -m bench` once per (library, workload, round); usable by hand for profiling.
A worker loads only the library it measures, so neither library's thread pools, allocator state
or import-time memory leak into the other's numbers (see bench/README.md). `--lib numpy` is the
hand-written NumPy floor (bench/floor.py): NumPy alone, no redes, no torch.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import warnings

from bench import workloads

# Exceptions that mean "this redes piece does not exist yet" rather than "the benchmark broke".
UNAVAILABLE = (ImportError, AttributeError, NotImplementedError)
WARMUP_STEPS = 3


DEVICES = ("cpu", "cuda", "twin")


def select_device(lib, device):
    """The only place a device is chosen: the library's default device, so workloads stay device-free (their
    factories and layers create tensors there). Returns the function that waits for the device (a GPU runs
    asynchronously: the timed loop ends only when its last step is done).

    "twin" is redes' CPU test device (tests the device plumbing and measures its cost); torch stays on the CPU.
    The NumPy floor and micrograd exist on the CPU only."""
    if device == "cpu":
        return lambda: None
    if lib == "redes":
        import redes as rd
        rd.set_default_device(device)
        if device == "cuda":
            import cupy
            return cupy.cuda.Device().synchronize
        return lambda: None
    if lib == "torch" and device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise NotImplementedError("torch has no CUDA here")
        torch.set_default_device("cuda")
        return torch.cuda.synchronize
    if lib == "torch" and device == "twin":
        return lambda: None
    raise NotImplementedError(f"{lib} runs on the CPU only, not on {device!r}")


def time_steps(step, seconds, warmup=WARMUP_STEPS, sync=lambda: None):
    """Run `warmup` untimed steps, then as many steps as fit in `seconds` (the device waited for at both ends).
    Returns (steps, secs)."""
    for _ in range(warmup):
        step()
    sync()
    steps, start = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        if time.perf_counter() - start >= seconds:
            sync()
            return steps, time.perf_counter() - start


def peak_rss_mib():
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _describe(exc):
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line[:200]}"


def measure(lib, workload, seconds, device="cpu"):
    """Measure one (lib, workload); never raises. Returns a JSON-ready dict."""
    result = {"lib": lib, "impl": workloads.REFERENCE_NAME.get(workload, lib) if lib == "torch" else lib,
              "workload": workload, "device": device, "status": "ok"}
    try:
        if device != "cpu" and workload == "scalar":
            raise NotImplementedError("the scalar workload (micrograd) runs on the CPU only")
        sync = select_device(lib, device)
        step = workloads.get(lib, workload)()
        steps, elapsed = time_steps(step, seconds, sync=sync)
        result.update(steps=steps, seconds=elapsed, steps_per_s=steps / elapsed)
        if workload in workloads.HAS_GEMM and device == "cpu":     # the GEMM floor is NumPy's and torch's CPU
            gemm_steps, gemm_elapsed = time_steps(workloads.get(lib, workload, "gemm")(), seconds)
            # Fraction of a training step that the bare GEMMs would take: t_gemm / t_step.
            result["gemm_fraction"] = (gemm_elapsed / gemm_steps) / (elapsed / steps)
        if workload == "scalar":
            result["ops"] = workloads.scalar_op_count()
    except UNAVAILABLE as exc:
        result.update(status="unavailable", error=_describe(exc))
    except Exception as exc:  # a workload that exists but fails is reported, not fatal
        result.update(status="error", error=_describe(exc))
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def system_info():
    """Versions, BLAS kernels and thread counts as the workers will see them; info['cpu'] (the `machine`
    object of `python -m bench --json`): CPU model and vendor, and the BLAS and threads of each library."""
    info = {"python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "libs": {}, "blas": [],
            "env": {k: os.environ[k] for k in sorted(os.environ)
                    if k.startswith(("OPENBLAS_", "OMP_", "MKL_")) or k == "GOTO_NUM_THREADS"}}
    import numpy
    info["libs"]["numpy"] = numpy.__version__
    # NumPy's pools before torch loads its own: what redes and the NumPy floor run on.
    machine = cpu_info() | {"numpy": numpy_blas(_blas_pools(numpy))}
    try:
        import torch
        info["libs"]["torch"] = torch.__version__
        info["torch_threads"] = {"intra_op": torch.get_num_threads(),
                                 "inter_op": torch.get_num_interop_threads(),
                                 "mkl": torch.backends.mkl.is_available()}
        machine["torch"] = torch_blas(torch)
    except ImportError:
        pass
    info["cpu"] = machine
    for name in ("redes", "micrograd"):
        try:
            module = __import__(name)
            info["libs"][name] = getattr(module, "__version__", "present")
        except Exception as exc:  # a half-written redes must not break the header
            info["libs"][name] = f"missing ({_describe(exc)})"
    info["redes_kernels"] = redes_kernels()
    info["blas"] = _blas_pools(numpy)
    return info


def cpu_info():
    """CPU model, vendor, family/model numbers, widest x86 vector extension and whether it is a VM,
    from /proc/cpuinfo (Linux), else `platform`; plus logical CPUs and the ones this process may use."""
    fields, flags = {}, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "flags" and not flags:
                    flags = set(value.split())
                elif key and key not in fields:
                    fields[key] = value
    except OSError:
        pass
    isa = next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"),
                                        ("sse4_2", "SSE4.2")) if flag in flags), None)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu_model": fields.get("model name") or platform.processor() or platform.machine(),
            "vendor": fields.get("vendor_id"), "family": fields.get("cpu family"), "model": fields.get("model"),
            "isa": isa, "virtualized": "hypervisor" in flags if flags else None,
            "arch": platform.machine(), "logical_cpus": os.cpu_count(), "usable_cpus": affinity}


def numpy_blas(pools):
    """NumPy's BLAS from its thread pools (threadpoolctl: library, version, kernel, threads)."""
    blas = next((p for p in pools if p.get("internal_api") in ("openblas", "mkl", "blis", "flexiblas")
                 or p.get("source") == "numpy.show_config"), None)
    if blas is None:
        return {"blas": "unknown"}
    return {"blas": blas.get("internal_api"), "version": blas.get("version"), "kernel": blas.get("architecture"),
            "threads": blas.get("num_threads"), "threading_layer": blas.get("threading_layer")}


def torch_blas(torch):
    """torch's BLAS and threads from its build configuration (`torch.__config__.show()`: BLAS_INFO, the MKL
    and oneDNN versions, the CPU capability its kernels use) and its thread settings."""
    import re
    config, parallel = torch.__config__.show(), torch.__config__.parallel_info()

    def find(pattern, text=config):
        match = re.search(pattern, text)
        return match.group(1).strip() if match else None
    return {"blas": find(r"BLAS_INFO=(\w+)"), "mkl": find(r"Math Kernel Library Version ([\d.]+)"),
            "onednn": find(r"MKL-DNN (v[\d.]+)"), "cpu_capability": find(r"CPU capability usage: (\w+)"),
            "intra_op_threads": torch.get_num_threads(), "inter_op_threads": torch.get_num_interop_threads(),
            "parallel_backend": find(r"ATen parallel backend: (.+)", parallel)}


def redes_kernels():
    """Whether redes runs its compiled float32 kernels (docs/kernels.md): they change what is measured."""
    try:
        from redes import backend
    except Exception as exc:  # a half-written redes must not break the header
        return f"unknown ({_describe(exc)})"
    if backend.kernels is not None:
        return "compiled kernels on (redes/_kernels.c)"
    if backend._compiled is not None:
        return "compiled kernels built but off (REDES_KERNELS=0 or set_kernels(False)): NumPy code only"
    return "compiled kernels not built (no C compiler at install): NumPy code only"


def _blas_pools(numpy):
    """Thread pools loaded in this process (numpy's BLAS, torch's OpenMP/MKL), via threadpoolctl
    when installed, else numpy's build config (which cannot tell the thread count)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return [{"internal_api": blas.get("name"), "version": blas.get("version"),
                 "num_threads": None, "source": "numpy.show_config"}]
    return [{k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                      "threading_layer")}
            | {"file": os.path.basename(pool["filepath"])} for pool in threadpool_info()]


def cores_probe(repeats=60):
    """How much a second thread helps a GEMM right now: the machine's state, which moves every ratio.

    Times a float32 (256, 512) @ (512, 512) product with NumPy's BLAS on all its threads and on one, and
    np.exp over 1M float32 values on one core. A GEMM speedup near 1 means the second core was busy (on the
    2-CPU development VM: 1.1-1.5x from one minute to the next while nothing else ran there, so the host
    takes it at times), and a slow exp means a slow core: read the ratios of such a run with that in mind.
    Returns {"gemm_speedup": t_one / t_all, "gemm_all_ms", "gemm_one_ms", "exp_1m_ms"} (None where
    threadpoolctl is missing and the thread count cannot be changed).
    """
    import numpy as np
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s, dtype=np.float32) for s in ((256, 512), (512, 512)))
    x = rng.standard_normal(1 << 20, dtype=np.float32)

    def median_ms(fn):
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e3

    result = {"gemm_all_ms": median_ms(lambda: a @ b), "exp_1m_ms": median_ms(lambda: np.exp(x))}
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return result | {"gemm_one_ms": None, "gemm_speedup": None}
    with threadpool_limits(limits=1, user_api="blas"):
        one = median_ms(lambda: a @ b)
    return result | {"gemm_one_ms": one, "gemm_speedup": one / result["gemm_all_ms"]}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--lib", choices=["redes", "torch", "numpy"], help="numpy: the hand-written floor")
    parser.add_argument("--workload", choices=workloads.WORKLOADS)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    parser.add_argument("--compile", action="store_true", help="redes runs forward + loss through rd.compile")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.add_argument("--info", action="store_true", help="print BLAS/thread info as JSON and exit")
    parser.add_argument("--probe", action="store_true", help="print the second-core probe (cores_probe) as JSON and exit")
    args = parser.parse_args(argv)
    if args.info:
        print(json.dumps(system_info()))
        return
    if args.probe:
        print(json.dumps(cores_probe()))
        return
    if not (args.lib and args.workload):
        parser.error("--lib and --workload are required (or --info)")
    warnings.simplefilter("ignore")  # e.g. torch's nested-tensor notice for norm_first encoders
    workloads.COMPILE = args.compile
    result = measure(args.lib, args.workload, args.seconds, args.device)
    if args.json:
        print(json.dumps(result))
    elif result["status"] == "ok":
        print(f"{result['impl']} {args.workload}: {result['steps_per_s']:.2f} steps/s "
              f"({result['steps']} steps), peak RSS {result['peak_rss_mib']:.0f} MiB"
              + (f", gemm_fraction {result['gemm_fraction']:.2f}" if "gemm_fraction" in result else ""))
    else:
        print(f"{result['impl']} {args.workload}: {result['status']} ({result['error']})")


if __name__ == "__main__":
    main()
