"""`redes export MODEL --onnx out.onnx`: a model trained from a table (`redes train`) as ONNX.

The graph holds the network only: input "features" (batch, n_features) float32, the rows AFTER
preprocessing; output "outputs" (batch, n_outputs), standardised targets (regression) or class logits
(classification). The fitted preprocessing is written beside it as JSON (out.onnx -> out.preprocess.json),
the same dict the model file holds, because one-hot encoding text columns needs string handling that an
ONNX graph of numbers does not do. To predict a row with onnxruntime:
    features: numeric column -> (value - mean) / std; text column -> one-hot over "categories", in the
              order of "feature_names";
    outputs:  regression -> outputs * std + mean per target; classification -> classes[argmax].
"""
import json
from pathlib import Path

from ..tensor import Tensor

FORMAT = "redes-onnx-preprocessing/1"


def export_table_model(model_path, onnx_path, opset_version=17):
    """Write the ONNX graph of a model saved by `redes train`, and its preprocessing as JSON beside it.

    Returns (onnx path, JSON path).
    Example:
        >>> from redes.datasets import make_students
        >>> make_students(60).to_csv("students.csv", index=False)
        >>> model, _, _ = rd.train.fit_table("students.csv", ["N1", "N2"], epochs=3, ensemble=1, verbose=False)
        >>> rd.save(model, "students.model")
        >>> export_table_model("students.model", "students.onnx")
        (PosixPath('students.onnx'), PosixPath('students.preprocess.json'))
    """
    import numpy as np

    from ..io import load
    from ..io.atomic import atomic_write
    from .export import export
    model = load(model_path)
    pre = getattr(model, "preprocessor", None)
    if pre is None:
        raise ValueError(f"export: {model_path} has no table preprocessing (not written by 'redes train'); "
                         "export it from Python with rd.onnx.export(model, example_input, path)")
    onnx_path = Path(onnx_path)
    json_path = onnx_path.with_suffix(".preprocess.json")
    example = Tensor._wrap(np.zeros((2, pre.n_features), np.float32))
    export(model, example, onnx_path, input_names=["features"], output_names=["outputs"],
           dynamic_axes={"features": {0: "batch"}, "outputs": {0: "batch"}}, opset_version=opset_version)
    doc = {"format": FORMAT, "onnx": onnx_path.name, "input": "features", "output": "outputs",
           "feature_names": list(pre.feature_names), "task": pre.task,
           "how": "features: numeric (value - mean) / std, text one-hot over categories, in feature_names order; "
                  "outputs: regression outputs * std + mean per target, classification classes[argmax]",
           "preprocessor": pre.to_dict()}
    text = json.dumps(doc, indent=2, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    atomic_write(json_path, lambda tmp: Path(tmp).write_text(text))
    return onnx_path, json_path


def add_export_command(sub, formatter_class):
    """The `export` subcommand of the `redes` CLI (kept here so cli.py only registers it)."""
    p = sub.add_parser("export", help="write a model trained from a table as ONNX",
                       formatter_class=formatter_class,
                       epilog="examples:\n  redes export students.model --onnx students.onnx\n"
                              "      (writes students.onnx and students.preprocess.json)",
                       description="Write a model saved by 'redes train' as an ONNX graph (input 'features': the "
                                   "preprocessed rows, dynamic batch) and its preprocessing as JSON beside it "
                                   "(OUT.preprocess.json).")
    p.add_argument("model", help="model file written by 'redes train'")
    p.add_argument("--onnx", required=True, metavar="OUT", help="ONNX file to write (e.g. students.onnx)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version, 17 or later (default: 17)")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args):
    import sys

    from .graph import ExportError
    try:
        onnx_path, json_path = export_table_model(args.model, args.onnx, args.opset)
    except ExportError as e:
        raise ValueError(str(e)) from None                # the CLI prints it as one line
    print(f"ONNX graph written to {onnx_path}; preprocessing to {json_path}", file=sys.stderr)
    return 0
