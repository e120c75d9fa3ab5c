"""PyTorch API coverage: which of PyTorch's public names redes provides, category by category.

Run with torch installed (a test dependency only):
    PYTHONPATH=. python tools/pytorch_coverage.py            # writes docs/pytorch-coverage.md
    PYTHONPATH=. python tools/pytorch_coverage.py --check    # exits 1 if the committed doc is out of date

A name counts as provided when it is reachable at the place the import rule gives (`import torch` ->
`import redes as torch`): torch.X -> redes.X, torch.nn.functional.X -> redes.nn.functional.X, Tensor.X ->
redes.Tensor.X, torch.utils.data.X -> redes.utils.data.X. Names that are out of scope are excluded, each by a
stated rule or by an explicit list with a reason (EXCLUDE_RULES and EXCLUDED below); the percentages are of
the names that remain.
"""
import argparse
import importlib
import inspect
import pathlib
import re
import sys
import types

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "pytorch-coverage.md"

# --------------------------------------------------------------------------------------------- exclusions
# (category or "*", regex on the name, reason). Checked in order; the first match gives the reason.
EXCLUDE_RULES = [
    ("*", r"sparse|(^|_)coo|csr|csc|bsr|bsc|crow_|ccol_|col_indices|row_indices|^indices|^values|coalesce|"
          r"^s?spaddmm$|^[dh]?smm$|^h?spmm$|^saddmm$|^dense_dim$|^to_dense$",
     "sparse tensors (redes arrays are dense)"),
    ("*", r"quantiz|^q_|qscheme|int_repr|fbgemm|fake_quant|qparams|^quantized_",
     "quantized tensors"),
    ("*", r"complex|conj|^real$|^imag$|^isreal$|^angle$|^polar$|^view_as_real|^chalf$|^cfloat$|^cdouble$|"
          r"resolve_neg|^is_neg$",
     "complex numbers (redes has real dtypes only)"),
    ("*", r"cudnn|miopen|mkldnn|^(ipu|xpu|mtia)$|^is_(ipu|xpu|mps|mtia|maia|meta|xla|vulkan|mkldnn)$|"
          r"vulkan|autocast|pin_memory|is_pinned|record_stream|float32_matmul_precision|set_flush_denormal",
     "hardware backends (cuDNN, MIOpen, oneDNN, IPU, XPU, MPS, MTIA, XLA, Vulkan), autocast, pinned memory"),
    ("*", r"distributed|share_memory_|is_shared|^DistributedSampler$|^SyncBatchNorm$",
     "distributed training and multiprocessing shared memory"),
    ("*", r"storage|data_ptr|^as_strided|^set_$|^resize|^is_set_to$|strided|^empty_permuted$|^dim_order$|"
          r"^from_file$|^frombuffer$|^module_load$|^output_nr$|^as_subclass$|^slice_inverse$",
     "storage, stride and tensor-subclass internals"),
    ("torch", r"(?<!^index)(?<!^narrow)_copy$", "torch.compile functionalization variants (view op copies)"),
    ("*", r"^sym_|^fork$|^wait$|ir_module|^parse_|type_comment|^unify_type_list$|^cond$|^while_loop$|"
          r"compiled_with_cxx11_abi|^classproperty$|^get_file_path$|multiprocessing_environment|^profiler_|"
          r"^thread_safe_generator$|^segment_reduce$|^is_storage$",
     "JIT / fx / torch.compile / torch.func internals and build information"),
    ("*", r"bfloat16", "dtype-specific (bfloat16: NumPy has no such dtype)"),
    ("torch", r"^(native_|batch_norm_|rnn_|lstm|gru|embedding_renorm_|constant_pad_nd$|convolution$|conv_tbc$|"
              r"grid_sampler|affine_grid_generator$|norm_except_dim$|frobenius_norm$|nuclear_norm$|"
              r"choose_qparams|max_pool1d_with_indices$|fused_|_?unsafe_)",
     "undocumented ATen kernels exposed in torch.* (internals of nn.functional and torch.linalg)"),
    ("torch", r"^[a-z0-9_]+[a-z0-9]_$", "in-place torch.*_ module functions (undocumented; the in-place "
                                          "forms are counted as Tensor methods)"),
    ("torch", r"^(stft|istft|bartlett_window|blackman_window|hamming_window|hann_window|kaiser_window)$",
     "signal processing (complex STFT; window functions belong with it)"),
    ("Tensor", r"^(stft|istft)$", "signal processing (complex STFT)"),
    ("*", r"^(symeig|eig|lstsq|solve|matrix_rank)$",
     "removed from torch: calling it raises an error pointing to torch.linalg"),
    ("*", r"^(chain_matmul|cholesky|lu|lu_solve|qr|svd|triangular_solve|range|set_default_tensor_type)$",
     "deprecated in torch's own docstring (in favour of torch.linalg, torch.arange, set_default_dtype)"),
    ("*", r"^(volatile|reinforce|new)$", "legacy autograd attributes and constructor (Variable era)"),
    ("*", r"^(is_nested|to_padded_tensor)$", "nested (ragged) tensors"),
    ("*", r"^(IterDataPipe|MapDataPipe|DFIterDataPipe|DataChunk|functional_datapipe|datapipes|graph|graph_settings|"
          r"guaranteed_datapipes_determinism|non_deterministic|runtime_validation|runtime_validation_disabled|"
          r"argument_validation)$",
     "DataPipes (deprecated in torch, moved to torchdata)"),
    ("*", r"^(upsample|upsample_bilinear|upsample_nearest)$", "deprecated aliases of F.interpolate"),
    ("*", r"^(Container|NLLLoss2d)$", "deprecated module classes"),
    ("*", r"^(SparseAdam)$", "sparse gradients"),
    ("*", r"^(Muon|Adafactor)$", "added to torch.optim after redes' target list (torch 2.5+); not in issue 13's list"),
]
EXCLUDED = {
    # name: reason, for names no rule above covers (category-qualified where the name is ambiguous)
    "torch.nn.functional.boolean_dispatch": "helper of torch's own code, not an op",
    "torch.nn.functional.handle_torch_function": "__torch_function__ dispatch helper",
    "torch.nn.functional.has_torch_function": "__torch_function__ dispatch helper",
    "torch.nn.functional.has_torch_function_unary": "__torch_function__ dispatch helper",
    "torch.nn.functional.has_torch_function_variadic": "__torch_function__ dispatch helper",
    "torch.nn.functional.assert_int_or_pair": "argument-checking helper of torch's own code",
}


# --------------------------------------------------------------------------------------------- categories
def _public(module):
    return [n for n in dir(module) if not n.startswith("_")]


def _is_function(obj):
    return callable(obj) and not inspect.isclass(obj) and not isinstance(obj, types.ModuleType)


def categories(torch):
    """{category: (torch names, how to look each up in redes)}."""
    import torch.nn.functional as F
    import torch.optim.lr_scheduler as lrs
    import torch.utils.data as tud
    nn_modules = [n for n in _public(torch.nn) if inspect.isclass(getattr(torch.nn, n))
                  and issubclass(getattr(torch.nn, n), torch.nn.Module)]
    functional = [n for n in _public(F) if _is_function(getattr(F, n))
                  and getattr(getattr(F, n), "__module__", "") not in ("typing", "warnings", "math")]
    optimizers = [n for n in _public(torch.optim) if inspect.isclass(getattr(torch.optim, n))
                  and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)]
    schedulers = [n for n in _public(lrs) if inspect.isclass(getattr(lrs, n))
                  and getattr(lrs, n).__module__ == lrs.__name__ and n != "TypedDict"]
    functions = [n for n in _public(torch) if _is_function(getattr(torch, n))]
    methods = _public(torch.Tensor)
    data = [n for n in _public(tud) if not isinstance(getattr(tud, n), types.ModuleType) or n == "datapipes"]
    return {
        "torch.nn modules": (nn_modules, "redes.nn"),
        "torch.nn.functional": (functional, "redes.nn.functional"),
        "torch.optim optimizers": (optimizers, "redes.optim"),
        "torch.optim.lr_scheduler": (schedulers, "redes.optim.lr_scheduler"),
        "torch.* functions": (functions, "redes"),
        "Tensor methods": (methods, "redes.Tensor"),
        "torch.utils.data": (data, "redes.utils.data"),
    }


def _torch_prefix(category, where):
    return {"redes": "torch", "redes.Tensor": "Tensor"}.get(where, where.replace("redes", "torch", 1))


def exclusion(category, where, name, functional=()):
    """The reason `name` is excluded, or None. `functional`: the names of torch.nn.functional."""
    qualified = f"{_torch_prefix(category, where)}.{name}"
    if qualified in EXCLUDED:
        return EXCLUDED[qualified]
    if where == "redes" and name in functional:
        return "also torch.nn.functional.X, the same op: counted in that category"
    scope = "torch" if where == "redes" else "Tensor" if where == "redes.Tensor" else "other"
    for cat, pattern, reason in EXCLUDE_RULES:
        if cat in ("*", scope) and re.search(pattern, name):
            return reason
    return None


def _lookup(where):
    if where == "redes.Tensor":
        import redes
        return redes.Tensor
    try:
        return importlib.import_module(where)
    except ImportError:
        return None


def provided(where, name):
    target = _lookup(where)
    return target is not None and hasattr(target, name)


def coverage(torch):
    """{category: dict(provided=[...], missing=[...], excluded={name: reason}, where=...)}."""
    out = {}
    cats = categories(torch)
    functional = set(cats["torch.nn.functional"][0])
    for category, (names, where) in cats.items():
        row = {"provided": [], "missing": [], "excluded": {}, "where": where}
        for name in sorted(set(names)):
            reason = exclusion(category, where, name, functional)
            if reason is not None:
                row["excluded"][name] = reason
            elif provided(where, name):
                row["provided"].append(name)
            else:
                row["missing"].append(name)
        out[category] = row
    return out


def percent(row):
    n = len(row["provided"]) + len(row["missing"])
    return 100.0 * len(row["provided"]) / n if n else 100.0


# --------------------------------------------------------------------------------------------- the report
TOTALS_HEADER = "| category | provided | missing | excluded | coverage |"


def totals_table(cov):
    lines = [TOTALS_HEADER, "|---|---:|---:|---:|---:|"]
    for category, row in cov.items():
        lines.append(f"| {category} | {len(row['provided'])} | {len(row['missing'])} | {len(row['excluded'])} "
                     f"| {percent(row):.1f}% |")
    return lines


def render(cov, torch_version):
    lines = ["# PyTorch API coverage", "",
             f"Generated by `tools/pytorch_coverage.py` against PyTorch {torch_version}; do not edit by hand "
             "(rerun the script: `PYTHONPATH=. python tools/pytorch_coverage.py`).", "",
             "A name counts as provided when it is reachable where the import rule puts it (`torch.X` -> `redes.X`, "
             "`torch.nn.functional.X` -> `redes.nn.functional.X`, `Tensor.X` -> `redes.Tensor.X`, "
             "`torch.utils.data.X` -> `redes.utils.data.X`). Coverage is provided / (provided + missing): "
             "excluded names are out of scope, each for the reason given below.", "",
             "The Tensor methods and torch.* functions added for issue 13 are compared with PyTorch in the test suite: "
             "the differentiable ones in the op tables (`tests/ops/cases.py`, `tests/ops/cases_api.py`: forward, "
             "gradients in float64 and float32, central differences, second derivatives), the others in "
             "table-driven forward comparisons (`tests/ops/test_api_forward.py`: values, dtype and shape of every "
             "output, every in-place method, errors), and the random draws by their distributions "
             "(`tests/ops/test_sampling.py`).", "",
             "## Totals", ""] + totals_table(cov)
    for category, row in cov.items():
        lines += ["", f"## {category}", "",
                  f"Looked up in `{row['where']}`.", "",
                  f"**Provided ({len(row['provided'])}):** " + (", ".join(f"`{n}`" for n in row["provided"]) or "none"),
                  "",
                  f"**Missing ({len(row['missing'])}):** " + (", ".join(f"`{n}`" for n in row["missing"]) or "none"),
                  ""]
        by_reason = {}
        for name, reason in row["excluded"].items():
            by_reason.setdefault(reason, []).append(name)
        lines.append(f"**Excluded ({len(row['excluded'])}):**" + ("" if by_reason else " none"))
        lines.append("")
        for reason, names in by_reason.items():
            lines.append(f"- {reason}: " + ", ".join(f"`{n}`" for n in names))
    return "\n".join(lines) + "\n"


def parse_totals(text):
    """{category: (provided, missing, excluded)} from a rendered report's totals table."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\| (.+?) \| (\d+) \| (\d+) \| (\d+) \| [\d.]+% \|$", line)
        if m:
            out[m.group(1)] = tuple(int(g) for g in m.groups()[1:])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed doc instead of writing it")
    parser.add_argument("--output", default=str(DOC), help=f"where to write the report (default {DOC})")
    args = parser.parse_args(argv)
    import torch
    cov = coverage(torch)
    text = render(cov, torch.__version__.split("+")[0])
    if args.check:
        current = pathlib.Path(args.output).read_text() if pathlib.Path(args.output).exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run PYTHONPATH=. python tools/pytorch_coverage.py", file=sys.stderr)
            return 1
        return 0
    pathlib.Path(args.output).write_text(text)
    print("\n".join(totals_table(cov)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
