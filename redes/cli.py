"""The ``redes`` command: train a network from a table, predict new rows, evaluate, summarise, run demos.

    redes train examples/data/students.csv --target N1 N2 --out students.model
    redes predict students.model examples/data/students_new.csv --out preds.csv
    redes evaluate students.model examples/data/students.csv
    redes summary students.model
    redes demo students

Each command only parses arguments and calls library functions (``rd.train.fit_table``, ``rd.save``,
``rd.load``, ``rd.predict``, ``rd.evaluate``, ``redes.demos``). Exit codes: 0 success; 1 an expected
error (missing file, bad table, unreadable model), reported as one line ``redes: error: ...`` without a
traceback (``--traceback`` shows it); 2 a usage error (argparse); 130 interrupted with Ctrl-C (after
saving the model trained so far, for ``train``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

PROG = "redes"

# Errors a user can cause and fix (bad path, bad table, wrong model file): one line, no traceback.
_EXPECTED = (OSError, ValueError, ImportError, ArithmeticError)


class CLIError(Exception):
    """An error found by the command line itself (message printed as ``redes: error: ...``)."""


# ----------------------------------------------------------------------------------------------- helpers

def _info(*parts, quiet=False):
    """Progress and report lines go to stderr, so stdout stays clean for data (predict's CSV)."""
    if not quiet:
        print(*parts, file=sys.stderr)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _plot_path(model_path: Path, plot: str | None) -> Path | None:
    if plot is not None:
        return None if plot.lower() == "none" else Path(plot)
    return model_path.with_suffix(".png") if model_path.suffix != ".png" else Path(str(model_path) + ".png")


def _jsonable(value):
    """The report as plain JSON types (NumPy scalars to floats), for the model file's metadata."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _print_metrics(metrics: dict, targets=(), indent: str = "  ") -> None:
    """Metrics as a small table: one row per target ('mae_N1' -> row N1, column mae) and a row 'all'."""
    per_target = {t: {k[:-len(t) - 1]: v for k, v in metrics.items() if k.endswith(f"_{t}")} for t in targets}
    per_target = {t: row for t, row in per_target.items() if row}
    used = {f"{k}_{t}" for t, row in per_target.items() for k in row}
    overall = {k: v for k, v in metrics.items() if k not in used}
    if not per_target:
        width = max(map(len, overall), default=0)
        for k, v in overall.items():
            print(f"{indent}{k:<{width}}  {_fmt(v)}")
        return
    rows = dict(per_target, all=overall) if len(per_target) > 1 else per_target
    columns = list(dict.fromkeys([*overall, *(k for row in per_target.values() for k in row)]))
    name_w = max(map(len, rows))
    col_w = {c: max(len(c), *(len(_fmt(r[c])) for r in rows.values() if c in r)) for c in columns}
    print(indent + " " * name_w + "".join(f"  {c:>{col_w[c]}}" for c in columns))
    for name, row in rows.items():
        print(indent + f"{name:<{name_w}}" + "".join(f"  {_fmt(row[c]) if c in row else '-':>{col_w[c]}}"
                                                    for c in columns))


def _load_model(path: str):
    import redes as rd
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such model file {path!r}")
    return rd.io.load(path)


def _require_preprocessor(model, path: str, command: str):
    if getattr(model, "preprocessor", None) is None:
        raise CLIError(f"{command}: the model {path!r} has no table preprocessing saved with it; "
                       f"'redes {command}' needs a model trained from a table with 'redes train'")
    return model.preprocessor


# ---------------------------------------------------------------------------------------------- commands

def cmd_train(args) -> int:
    import redes as rd
    out = Path(args.out)
    if out.is_dir():
        raise CLIError(f"--out {args.out!r} is a folder; give a file name such as {str(out / 'model.safetensors')!r}")
    if not Path(args.table).is_file():
        raise FileNotFoundError(f"no such table file {args.table!r}")
    plot = _plot_path(out, args.plot)
    quiet = args.quiet
    _info(f"redes train: {args.table} -> {', '.join(args.target)}; hidden {tuple(args.hidden)}, "
          f"{args.activation}, {args.optimizer} lr {args.lr:g}, {args.epochs} epochs", quiet=quiet)
    model, history, report = rd.train.fit_table(
        args.table, args.target, features=args.features, task=args.task, hidden=tuple(args.hidden),
        activation=args.activation, loss=args.loss, optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
        batch_size=args.batch_size, val_split=args.val_split, seed=args.seed, verbose=not quiet)
    interrupted = bool(getattr(history, "interrupted", False))
    rd.io.save(model, out, extra={"report": _jsonable(report), "history": _jsonable(history.history)})
    if plot is not None:
        try:
            curves = {k: v for k, v in history.history.items() if k != "lr" or len(set(v)) > 1}
            rd.viz.plot_history(curves, plot)        # (a constant learning rate is not worth a panel)
        except Exception as exc:       # the model is saved; a missing plot is not worth failing the run
            print(f"{PROG}: warning: could not write the training curves {str(plot)!r}: {_one_line(exc)}",
                  file=sys.stderr)
            plot = None
    _print_report(report)
    print(f"model saved to {out}" + (f"; training curves in {plot}" if plot else ""))
    if interrupted:
        print(f"{PROG}: interrupted; the model above is the one trained so far", file=sys.stderr)
        return 130
    return 0


def _print_report(report: dict) -> None:
    """The training report of rd.train.fit_table: validation metrics, parameters, time."""
    task, epochs = report.get("task", "?"), report.get("epochs", "?")
    rows = report.get("rows")
    print(f"{task} of {', '.join(report.get('targets', []))} from {len(report.get('features', []))} input "
          f"columns" + (f"; {report.get('train_rows')} training rows, {report.get('val_rows')} validation rows"
                        if rows is not None else ""))
    metrics = report.get("val_metrics") or {}
    if metrics:
        print("validation metrics" + (" (original units)" if task == "regression" else "") + ":")
        _print_metrics(metrics, report.get("targets", ()))
    n_params, seconds = report.get("n_parameters"), report.get("seconds")
    line = f"{n_params:,} parameters, " if n_params is not None else ""
    line += f"{epochs} epochs"
    if seconds is not None:
        line += f" in {seconds:.1f} s"
    if report.get("final_loss") is not None:
        line += f"; final training loss {_fmt(report['final_loss'])}"
    print(line)


def cmd_predict(args) -> int:
    import redes as rd
    from .data.reading import load_frame
    model = _load_model(args.model)
    _require_preprocessor(model, args.model, "predict")
    frame = load_frame(args.table, "predict")
    preds = rd.predict(model, frame, batch_size=args.batch_size)
    result = frame.copy()
    for name in preds.columns:
        column = name if name not in result.columns else f"{name}_pred"
        result[column] = preds[name].to_numpy()
    if args.out is None:
        result.to_csv(sys.stdout, index=False, float_format="%.6g")
    else:
        rd.io.atomic.atomic_write(args.out, lambda tmp: result.to_csv(tmp, index=False, float_format="%.6g"))
        print(f"{len(result)} predictions ({', '.join(map(str, preds.columns))}) written to {args.out}",
              file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    import numpy as np
    import redes as rd
    from .train.tabular import report_metrics
    model = _load_model(args.model)
    pre = _require_preprocessor(model, args.model, "evaluate")
    table = rd.data.read_table(args.table, preprocessor=pre)
    metrics = report_metrics(model, table, np.arange(len(table)))
    if args.json:
        print(json.dumps(_jsonable(metrics), indent=2))
    else:
        print(f"{args.table}: {len(table)} rows, {table.task}" +
              (" (metrics in original units)" if table.task == "regression" else ""))
        _print_metrics(metrics, table.target_names)
    return 0


def cmd_summary(args) -> int:
    import redes as rd
    model = _load_model(args.model)
    pre = getattr(model, "preprocessor", None)
    n_in = pre.n_features if pre is not None else args.inputs
    if n_in is not None:
        print(rd.viz.summary_text(model, (1, n_in)))
    else:                                       # no input width known: layers and parameter count only
        print(model)
        n = sum(int(p.numel()) for p in model.parameters())
        print(f"parameters: {n:,}")
    if pre is not None:
        print(f"inputs ({pre.n_features}): {', '.join(pre.feature_names)}")
        outputs = f"classes {pre.classes}" if pre.task == "classification" else ", ".join(pre.target_names)
        print(f"outputs ({pre.n_outputs}, {pre.task}): {outputs}")
    report = getattr(model, "saved_extra", {}).get("report")
    if report:
        _print_report(report)
    return 0


def cmd_demo(args) -> int:
    from . import demos
    if args.name is None:
        print("Demos (run one with 'redes demo NAME'; add --full for the long run, --help for its options):")
        width = max(map(len, demos.DEMOS))
        for name, demo in demos.DEMOS.items():
            print(f"  {name:<{width}}  {demo.summary}")
        return 0
    if args.name not in demos.DEMOS:
        raise CLIError(f"unknown demo {args.name!r}; choose one of: {', '.join(demos.DEMOS)}")
    demos.run_demo(args.name, args.demo_args)
    return 0


# ------------------------------------------------------------------------------------------------ parser

_EPILOGS = {
    "main": """examples:
  redes train examples/data/students.csv --target N1 N2 --out students.model
  redes predict students.model examples/data/students_new.csv --out preds.csv
  redes evaluate students.model examples/data/students.csv
  redes summary students.model
  redes demo                 # list the bundled examples
  redes demo students --full

'redes COMMAND --help' shows each command's options.""",
    "train": """examples:
  redes train examples/data/students.csv --target N1 N2 --out students.model
  redes train examples/data/students.csv --target N1 N2 --hidden 32 32 32 --epochs 300 --lr 3e-3 --out s.model
  redes train examples/data/students_cat.csv --target Aprobado --features Carrera Estudio Edad Promedio \\
      --out aprobado.model

The model file (safetensors weights + JSON architecture and preprocessing) is written only when training
finishes; the training curves go next to it as MODEL.png (with the .png suffix in place of the model's
suffix), or to --plot PATH (--plot none: no plot). Ctrl-C stops training, saves the model trained so far
and exits with status 130.""",
    "predict": """examples:
  redes predict students.model examples/data/students_new.csv --out preds.csv
  redes predict students.model examples/data/students_new.csv | head -4

The output has the input columns followed by one column per target (original units, or class labels);
a target column already present in the input is written as TARGET_pred next to it.""",
    "evaluate": """examples:
  redes evaluate students.model examples/data/students.csv
  redes evaluate students.model examples/data/students.csv --json""",
    "summary": """examples:
  redes summary students.model""",
    "demo": """examples:
  redes demo                        # list the demos
  redes demo students               # quick run (seconds), plots in runs/students/
  redes demo digits_cnn --full      # the real run
  redes demo char_transformer --text my_book.txt --full
  redes demo depth --help           # a demo's own options

Arguments after NAME go to the demo.""",
}


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=fmt, epilog=_EPILOGS["main"],
        description="redes: train a neural network from a table and predict new rows.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", help="train an MLP on a table (CSV/Parquet) and save it",
                       formatter_class=fmt, epilog=_EPILOGS["train"],
                       description="Train an MLP on a table: features are standardised (text columns one-hot "
                                   "encoded), a part of the rows is held out for validation, and the model is "
                                   "saved with its preprocessing so 'redes predict' can use raw rows.")
    p.add_argument("table", help="training table: .csv, .tsv or .parquet file with a header row")
    p.add_argument("--target", "-t", nargs="+", required=True, metavar="COLUMN",
                   help="target column(s) to predict")
    p.add_argument("--features", "-f", nargs="+", metavar="COLUMN",
                   help="feature columns (default: every column that is not a target)")
    p.add_argument("--task", choices=["regression", "classification"],
                   help="default: classification for one text (or small-integer) target, else regression")
    p.add_argument("--hidden", nargs="*", type=_positive_int, default=[64, 64], metavar="N",
                   help="hidden layer widths (default: 64 64; none for a linear model)")
    p.add_argument("--activation", default="relu", help="hidden activation: relu, tanh, gelu, ... (default: relu)")
    p.add_argument("--loss", help="loss name (default: mse for regression, cross_entropy for classification)")
    p.add_argument("--optimizer", default="adam", help="adam, adamw, sgd, rmsprop, adagrad (default: adam)")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="learning rate (default: 1e-3)")
    p.add_argument("--epochs", type=_positive_int, default=100, help="passes over the training rows (default: 100)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="rows per step (default: 32)")
    p.add_argument("--val-split", type=_fraction, default=0.2,
                   help="fraction of rows held out for validation, 0 <= f < 1 (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="random seed: split, initialisation, shuffling (default: 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-epoch progress, only the final report")
    p.add_argument("--out", "-o", required=True, metavar="MODEL", help="model file to write (e.g. students.model)")
    p.add_argument("--plot", metavar="PATH", help="training-curve PNG (default: next to MODEL; 'none': no plot)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="predict the targets of new rows with a trained model",
                       formatter_class=fmt, epilog=_EPILOGS["predict"],
                       description="Apply a model saved by 'redes train' to the rows of a table (same feature "
                                   "columns as training; target columns may be absent) and write CSV.")
    p.add_argument("model", help="model file written by 'redes train'")
    p.add_argument("table", help="table of rows to predict (.csv, .tsv, .parquet)")
    p.add_argument("--out", "-o", metavar="CSV", help="CSV file to write (default: standard output)")
    p.add_argument("--batch-size", type=_positive_int, default=256, help="rows per forward pass (default: 256)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="metrics of a trained model on a table with targets",
                       formatter_class=fmt, epilog=_EPILOGS["evaluate"],
                       description="Print the loss and metrics of a model saved by 'redes train' on a labelled "
                                   "table (it must have the target columns).")
    p.add_argument("model", help="model file written by 'redes train'")
    p.add_argument("table", help="labelled table (.csv, .tsv, .parquet)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("summary", help="layers, shapes and parameter counts of a saved model",
                       formatter_class=fmt, epilog=_EPILOGS["summary"],
                       description="Describe a saved model: its layers, output shapes and parameters, its input "
                                   "and output columns, and the report of the run that trained it.")
    p.add_argument("model", help="model file")
    p.add_argument("--inputs", type=_positive_int, metavar="N",
                   help="input width, for a model saved without table preprocessing")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("demo", help="run a bundled example (no NAME: list them)",
                       formatter_class=fmt, epilog=_EPILOGS["demo"],
                       description="Run one of the bundled examples end to end: quick settings by default, "
                                   "--full for the long run. Plots go to runs/NAME/ (or --out DIR).")
    p.add_argument("name", nargs="?", metavar="NAME", help="demo to run (omit to list them)")
    p.add_argument("demo_args", nargs=argparse.REMAINDER, metavar="...",
                   help="options for the demo (--full, --out DIR, --epochs N, ...; see 'redes demo NAME --help')")
    p.set_defaults(func=cmd_demo)
    return parser


def _checked(convert, ok, expected):
    """An argparse type: convert the text, then require ok(value); the error says what was expected."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


_positive_int = _checked(int, lambda v: v > 0, "a positive integer")
_positive_float = _checked(float, lambda v: v > 0 and math.isfinite(v), "a positive number")
_fraction = _checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def main(argv=None) -> int:
    """Run the ``redes`` command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                      # `redes predict ... | head`: the reader left early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error at exit
        return 0
    except (CLIError, *_EXPECTED) as exc:
        if args.traceback:
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
