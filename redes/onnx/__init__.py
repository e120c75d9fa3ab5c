"""redes.onnx: export a model to ONNX (rd.onnx.export, named as torch.onnx.export). Needs the `onnx` package
(pip install redes[onnx]); onnxruntime runs the file. See docs/exchange.md for the exportable ops."""
from .converters import CONVERTERS
from .export import export
from .graph import ExportError

__all__ = ["export", "ExportError", "CONVERTERS"]
