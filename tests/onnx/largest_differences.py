"""Print the largest output differences quoted in docs/exchange.md (not a test; run from the repository root):

    PYTHONPATH=$PWD python tests/onnx/largest_differences.py

ONNX: onnxruntime vs redes (float32) over batch 2 and 5, for the cases of tests/onnx/test_export.py.
safetensors: PyTorch vs redes (float64) after loading PyTorch's file, for the cases of tests/io/test_exchange.py.
"""
import os
import sys
import tempfile
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "io")]
warnings.filterwarnings("ignore", "enable_nested_tensor")

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import safetensors.torch as st  # noqa: E402
import torch  # noqa: E402

import redes as rd  # noqa: E402
import test_exchange as X  # noqa: E402
import test_export as T  # noqa: E402


def onnx_table():
    print("| family | max abs diff | ONNX operators |")
    for name, build, make, axes in T.CASES:
        model, names, data = T._export(name, build, make, axes)
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        worst = 0.0
        for batch in (2, 5):
            inputs = make(batch)
            with rd.no_grad():
                want = T._outputs(model(*T._tensors(inputs)))
            got = sess.run(None, dict(zip(names, T._leaves(inputs))))
            worst = max([worst] + [float(np.abs(g.astype(np.float64) - w).max()) for g, w in zip(got, want)])
        ops = sorted({n.op_type for n in onnx.load_from_string(data).graph.node} - {"Identity"})
        print(f"| {name} | {worst:.1e} | {', '.join(ops)} |")


def safetensors_table():
    print("| family | max abs diff |")
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "t.safetensors")
    for name, build, inputs in X.CASES:
        torch.manual_seed(1)
        tm = build(torch.nn).double()
        X._trained_stats(tm, inputs, torch)
        st.save_file(tm.state_dict(), path)
        rm = build(rd.nn).double()
        rm.load_state_dict(rd.io.load_safetensors(path))
        rm.eval()
        diff = np.abs(X._run(rm, inputs, rd) - X._run(tm, inputs, torch)).max()
        print(f"| {name} | {diff:.1e} |")


if __name__ == "__main__":
    onnx_table()
    safetensors_table()
