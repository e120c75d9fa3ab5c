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
    if len(per_target) < 2:                     # one target: its metrics are the overall ones
        overall = {k: v for k, v in metrics.items() if k not in used or not per_target}
        width = max(map(len, overall), default=0)
        for k, v in overall.items():
            print(f"{indent}{k:<{width}}  {_fmt(v)}")
        return
    rows = dict(per_target, all=overall)
    columns = list(dict.fromkeys([*overall, *(k for row in per_target.values() for k in row)]))
    name_w = max(map(len, rows))
    col_w = {c: max([len(c), *(len(_fmt(r[c])) for r in rows.values() if c in r)]) for c in columns}
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

def _read_options(args, model=None) -> dict:
    """pandas reader options from --sep/--decimal; at predict time, those the model was trained with
    unless given again (a semicolon table stays a semicolon table)."""
    saved = {}
    if model is not None:
        saved = dict((getattr(model, "saved_extra", {}).get("report") or {}).get("read_options") or {})
    given = {k: v for k, v in (("sep", args.sep), ("decimal", args.decimal)) if v is not None}
    return {**saved, **given}


def _hidden(values) -> tuple:
    """--hidden 64 64 -> (64, 64); --hidden none (or 0) -> () for a linear model."""
    if [v.lower() for v in values] in (["none"], ["0"]):
        return ()
    widths = []
    for v in values:
        if not v.isdigit() or int(v) <= 0:
            raise CLIError(f"--hidden expects positive layer widths or 'none', got {' '.join(values)!r}")
        widths.append(int(v))
    return tuple(widths)


def _join_mpi_job() -> bool:
    """Under mpiexec with several ranks, join the job (fit then trains one model over all of them) and
    silence the ranks other than 0. True when this process is the one that prints and writes files."""
    from . import distributed as dist
    if not dist.launched_by_mpi():
        return True
    dist.init()
    dist.quiet_other_ranks()
    return dist.rank() == 0


def _fail(message: str) -> int:
    """Print a one-line error; in an MPI job, name the rank and end every rank (the others would wait forever)."""
    from . import distributed as dist
    if dist.is_initialized() and dist.world_size() > 1:
        print(f"{PROG}: error on rank {dist.rank()}: {message}", file=sys.__stderr__, flush=True)
        dist.abort(1)
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


def cmd_train(args) -> int:
    import redes as rd
    out = Path(args.out)
    if out.is_dir():
        raise CLIError(f"--out {args.out!r} is a folder; give a file name such as {str(out / 'model.model')!r}")
    if not Path(args.table).is_file():
        raise FileNotFoundError(f"no such table file {args.table!r}")
    hidden = _hidden(args.hidden)
    writer = _join_mpi_job()                     # under mpiexec -n N: N ranks train one model; rank 0 writes
    plot = _plot_path(out, args.plot)
    quiet = args.quiet
    verbose = False if quiet else (True if args.verbose else None)
    read_options = _read_options(args)
    ensemble = args.ensemble if args.val_split > 0 else 1
    _info(f"redes train: {args.table} -> {', '.join(args.target)}; hidden {hidden or 'none (linear)'}, "
          f"{args.activation}, {args.optimizer} lr {args.lr:g} weight decay {args.weight_decay:g}, "
          f"at most {args.epochs} epochs" +
          (f", early stopping after {args.patience} epochs without progress" if args.patience and args.val_split
           else "") + (f", {ensemble} models averaged" if ensemble > 1 else ""), quiet=quiet)
    model, history, report = rd.train.fit_table(
        args.table, args.target, features=args.features, task=args.task, categorical=args.categorical,
        read_options=read_options, hidden=hidden, activation=args.activation, loss=args.loss,
        optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay, epochs=args.epochs,
        batch_size=args.batch_size, val_split=args.val_split, patience=args.patience, ensemble=ensemble,
        seed=args.seed, verbose=verbose)
    report["read_options"] = read_options
    interrupted = bool(getattr(history, "interrupted", False))
    if not writer:
        return 130 if interrupted else 0
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
    """The training report of rd.train.fit_table: the task and why, validation metrics, epochs kept, time."""
    task, epochs = report.get("task", "?"), report.get("epochs", "?")
    rows, n_models = report.get("rows"), report.get("n_models", 1)
    reason = report.get("task_reason")
    if reason and reason != "given":
        other = "regression" if task == "classification" else "classification"
        hint = f" (--task {other} to change it)" if len(report.get("targets", ())) == 1 else ""
        print(f"task: {task}, because {reason}{hint}")
    if rows is None:
        split = ""
    elif n_models > 1:
        split = (f"; {rows} rows: {n_models} models, each trained on {report.get('train_rows')} and validated "
                 f"on the other {rows - report.get('train_rows', 0)}")
    else:
        split = f"; {report.get('train_rows')} training rows, {report.get('val_rows')} validation rows"
    print(f"{task} of {', '.join(report.get('targets', []))} from {len(report.get('features', []))} input "
          f"columns" + split)
    metrics = report.get("val_metrics") or {}
    if metrics:
        print("validation metrics" + (" (original units)" if task == "regression" else "")
              + (" (out of fold: each row scored by the model that did not train on it)" if n_models > 1 else "")
              + ":")
        _print_metrics(metrics, report.get("targets", ()))
    best = report.get("best_epoch")
    if report.get("early_stopping") and best:
        print(f"early stopping kept epoch {', '.join(map(str, best))} (best validation loss"
              + (" of each model" if len(best) > 1 else "") + ")")
    n_params, seconds = report.get("n_parameters"), report.get("seconds")
    line = f"{n_params:,} parameters, " if n_params is not None else ""
    run = report.get("epochs_run")
    line += f"{max(run)} epochs at most" if run and len(run) > 1 else f"{epochs} epochs"
    if seconds is not None:
        line += f" in {seconds:.1f} s"
    if report.get("final_loss") is not None:
        line += f"; final training loss {_fmt(report['final_loss'])}"
    print(line)


def cmd_predict(args) -> int:
    import redes as rd
    from .data.reading import load_frame
    model = _load_model(args.model)
    pre = _require_preprocessor(model, args.model, "predict")
    frame = load_frame(args.table, "predict", **_read_options(args, model))
    proba = args.proba and pre.task == "classification"
    if args.proba and not proba:
        print(f"{PROG}: note: --proba: a regression model has no class probabilities; writing its predictions",
              file=sys.stderr)
    preds = rd.predict(model, frame, batch_size=args.batch_size, proba=proba)
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
    table = rd.data.read_table(args.table, preprocessor=pre, **_read_options(args, model))
    metrics = report_metrics(model, table, np.arange(len(table)))
    if args.json:
        print(json.dumps(_jsonable(metrics), indent=2))
    else:
        loss = "cross-entropy" if table.task == "classification" else "mean squared error of standardised targets"
        print(f"{args.table}: {len(table)} rows, {table.task}" +
              (" (metrics in original units)" if table.task == "regression" else "") + f"; loss is the {loss}")
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
  redes train notas.csv --sep ';' --decimal ',' --target Nota --categorical Curso --out notas.model
  redes train examples/data/students.csv --target N1 --hidden none --ensemble 1 --patience 0 --out linear.model

The model file (a .model file: safetensors weights + JSON architecture and preprocessing) is written only
when training finishes; the training curves go next to it as MODEL.png (with the .png suffix in place of
the model's suffix), or to --plot PATH (--plot none: no plot). Ctrl-C stops training, saves the model
trained so far and exits with status 130.""",
    "predict": """examples:
  redes predict students.model examples/data/students_new.csv --out preds.csv
  redes predict students.model examples/data/students_new.csv | head -4
  redes predict aprobado.model examples/data/students_cat.csv --proba --out aprobado.csv

The output has the input columns followed by one column per target (original units, or class labels);
a target column already present in the input is written as TARGET_pred next to it. With --proba, a
classifier also writes one column TARGET_proba_CLASS per class.""",
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
    from .version import __version__
    from .train.tabular import DEFAULTS as D
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=fmt, epilog=_EPILOGS["main"],
        description="redes: train a neural network from a table and predict new rows.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback of an error (for bug reports)")
    # The global flags again for every command, so `redes train ... --traceback` works too (SUPPRESS: a
    # command's parser sets the value only when the flag is given there, never resets the global one).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                        help="show the full Python traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--sep", metavar="CHAR",
                         help="column separator of a CSV (default: ',', tab for .tsv; predict and evaluate "
                              "default to the training table's)")
    reading.add_argument("--decimal", metavar="CHAR", help="decimal mark of numbers, e.g. ',' (default: '.')")

    p = sub.add_parser("train", help="train a network on a table (CSV/Parquet) and save it",
                       parents=[common, reading], formatter_class=fmt, epilog=_EPILOGS["train"],
                       description="Train a network on a table: features are standardised (text columns one-hot "
                                   "encoded, missing cells imputed); by default 5 MLPs, each validated on a "
                                   "different fifth of the rows and stopped early at its best epoch, are "
                                   "averaged. The model is saved with its preprocessing so 'redes predict' can "
                                   "use raw rows.")
    p.add_argument("table", help="training table: .csv, .tsv or .parquet file with a header row")
    p.add_argument("--target", "-t", nargs="+", required=True, metavar="COLUMN",
                   help="target column(s) to predict")
    p.add_argument("--features", "-f", nargs="+", metavar="COLUMN",
                   help="feature columns (default: every column that is not a target)")
    p.add_argument("--categorical", "-c", nargs="+", metavar="COLUMN",
                   help="numeric-looking feature columns to one-hot encode as categories (text columns always are)")
    p.add_argument("--task", choices=["regression", "classification"],
                   help="default: guessed, and the guess explained: classification for one text target, or one "
                        "whole-number target with at most 20 values and 2+ rows per value; else regression")
    p.add_argument("--hidden", nargs="+", default=[str(h) for h in D["hidden"]], metavar="N",
                   help=f"hidden layer widths (default: {' '.join(map(str, D['hidden']))}; 'none' for a linear model)")
    p.add_argument("--activation", default=D["activation"],
                   help=f"hidden activation: relu, tanh, gelu, ... (default: {D['activation']})")
    p.add_argument("--loss", help="loss name (default: mse for regression, cross_entropy for classification)")
    p.add_argument("--optimizer", default=D["optimizer"],
                   help=f"adam, adamw, sgd, rmsprop, adagrad (default: {D['optimizer']})")
    p.add_argument("--lr", type=_positive_float, default=D["lr"], help=f"learning rate (default: {D['lr']:g})")
    p.add_argument("--weight-decay", type=_nonnegative_float, default=D["weight_decay"],
                   help=f"weight decay (default: {D['weight_decay']:g}; 0: none)")
    p.add_argument("--epochs", type=_positive_int, default=D["epochs"],
                   help=f"most passes over the training rows; early stopping usually ends sooner "
                        f"(default: {D['epochs']})")
    p.add_argument("--patience", type=_nonnegative_int, default=D["patience"],
                   help=f"stop a model after this many epochs without a better validation loss and keep its best "
                        f"epoch (default: {D['patience']}; 0: no early stopping, train all --epochs)")
    p.add_argument("--ensemble", type=_positive_int, default=D["ensemble"],
                   help=f"models to average, each validated on a different 1/N of the rows (default: "
                        f"{D['ensemble']}; 1: one model validated on --val-split of the rows)")
    p.add_argument("--batch-size", type=_positive_int, default=D["batch_size"],
                   help=f"rows per step (default: {D['batch_size']})")
    p.add_argument("--val-split", type=_fraction, default=D["val_split"],
                   help=f"with --ensemble 1: fraction of rows held out for validation, 0 <= f < 1 (default: "
                        f"{D['val_split']}); 0 trains on every row with no validation (so no early stopping)")
    p.add_argument("--seed", type=int, default=0, help="random seed: split, initialisation, shuffling (default: 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress, only the final report")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="a line per epoch (default: a progress bar on a terminal, else a line every tenth of "
                        "the epochs)")
    p.add_argument("--out", "-o", required=True, metavar="MODEL", help="model file to write (e.g. students.model)")
    p.add_argument("--plot", metavar="PATH", help="training-curve PNG (default: next to MODEL; 'none': no plot)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="predict the targets of new rows with a trained model",
                       parents=[common, reading], formatter_class=fmt, epilog=_EPILOGS["predict"],
                       description="Apply a model saved by 'redes train' to the rows of a table (same feature "
                                   "columns as training; target columns may be absent) and write CSV.")
    p.add_argument("model", help="model file written by 'redes train'")
    p.add_argument("table", help="table of rows to predict (.csv, .tsv, .parquet)")
    p.add_argument("--out", "-o", metavar="CSV", help="CSV file to write (default: standard output)")
    p.add_argument("--batch-size", type=_positive_int, default=256, help="rows per forward pass (default: 256)")
    p.add_argument("--proba", action="store_true",
                   help="also write each class's probability, one column TARGET_proba_CLASS per class")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="loss and metrics of a trained model on a table with targets",
                       parents=[common, reading], formatter_class=fmt, epilog=_EPILOGS["evaluate"],
                       description="Print the loss and metrics of a model saved by 'redes train' on a labelled "
                                   "table (it must have the target columns).")
    p.add_argument("model", help="model file written by 'redes train'")
    p.add_argument("table", help="labelled table (.csv, .tsv, .parquet)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("summary", help="layers, shapes and parameter counts of a saved model",
                       parents=[common], formatter_class=fmt, epilog=_EPILOGS["summary"],
                       description="Describe a saved model: its layers, output shapes and parameters, its input "
                                   "and output columns, and the report of the run that trained it.")
    p.add_argument("model", help="model file")
    p.add_argument("--inputs", type=_positive_int, metavar="N",
                   help="input width, for a model saved without table preprocessing")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("demo", help="run a bundled example (no NAME: list them)",
                       parents=[common], formatter_class=fmt, epilog=_EPILOGS["demo"],
                       description="Run one of the bundled examples end to end: quick settings by default, "
                                   "--full for the long run. Plots go to runs/NAME/ (or --out DIR).")
    p.add_argument("name", nargs="?", metavar="NAME", help="demo to run (omit to list them)")
    p.add_argument("demo_args", nargs=argparse.REMAINDER, metavar="...",
                   help="options for the demo (--full, --out DIR, --epochs N, ...; see 'redes demo NAME --help')")
    p.set_defaults(func=cmd_demo)
    from .onnx.tabular import add_export_command            # `redes export MODEL --onnx OUT` (redes/onnx/tabular.py)
    add_export_command(sub, fmt)

    from . import port        # redes port FILE [-o OUT]: the logic and its arguments live in redes/port.py
    port.add_arguments(sub.add_parser("port", help="rewrite a PyTorch file's imports to run it on redes",
                                      description=port.__doc__.split("\n")[0])).set_defaults(func=port.run)
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
_nonnegative_int = _checked(int, lambda v: v >= 0, "a whole number >= 0")
_nonnegative_float = _checked(float, lambda v: v >= 0 and math.isfinite(v), "a number >= 0")


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
        return _fail(_one_line(exc))


if __name__ == "__main__":
    sys.exit(main())
