"""Real PyTorch programs on redes with only their imports changed (issue 13).

Each file in this folder is a plain PyTorch program (`python tests/programs/gpt_tiny.py` runs it with torch).
The test applies the import rule (redes.port) to it, runs the torch original and the ported copy, and compares
what `main(init, steps)` returns. The protocol every program follows:

    main(init=None, steps=5) -> dict with
        "state":  {name: array} the weights before training (the torch run's are given to the redes run as
                  `init`, which the program loads with load_state_dict, so both start from the same weights),
        "output": the first forward pass's output,
        "grads":  {name: array} the gradients of the first backward pass,
        "losses": the loss at each of `steps` optimizer steps,
        "final":  {name: array} the weights after training,
    and optionally more arrays (compared the same way) and "checks": {name: bool} that must hold in both runs.

Randomness that differs between the libraries' streams (data, noise, dropout masks) is drawn with NumPy inside
the programs, or removed (dropout 0), so that both runs see the same numbers.

Tolerance: float32 rounding. Both libraries compute in float32 with different summation orders and kernels;
after 5 optimizer steps the values agree to rtol=2e-4, atol=2e-5 times the largest magnitude of the compared
array (gradients that are near zero where others are large differ in absolute, not relative, terms).
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from redes.port import port_source

torch = pytest.importorskip("torch")
torch.set_num_threads(1)        # small programs: threads only add overhead (as tests/nn/helpers.py)
HERE = Path(__file__).resolve().parent
RTOL, ATOL = 2e-4, 2e-5


def _load(path, name, ported, tmp_path):
    """Import a program as a module: the torch original, or its ported copy written to tmp_path."""
    if ported:
        target = tmp_path / f"{name}_redes.py"
        target.write_text(port_source(path.read_text()))
        path = target
    spec = importlib.util.spec_from_file_location(f"program_{name}_{'redes' if ported else 'torch'}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compare(ours, ref, what):
    if isinstance(ref, dict):
        assert list(ours) == list(ref), f"{what}: keys {list(ours)} vs torch {list(ref)}"
        for k in ref:
            _compare(ours[k], ref[k], f"{what}[{k!r}]")
        return
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs torch {ref.shape}"
    if ref.dtype.kind in "iub":
        np.testing.assert_array_equal(ours, ref, err_msg=f"{what} vs torch")
        return
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL * max(scale, 1e-3), err_msg=f"{what} vs torch")


PROGRAMS = [
    "gpt_tiny",
    "loader_training",
    "lbfgs_fit",
    "gan_step",
    "vae",
    "char_lstm",
    "digits_cnn",
    "sequence_lstm",
    "poly_regression",
    "generate_topk",
    "checkpoint",
    "super_resolution",
]


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_matches_torch(name, tmp_path):
    path = HERE / f"{name}.py"
    ref = _load(path, name, ported=False, tmp_path=tmp_path).main()
    ours = _load(path, name, ported=True, tmp_path=tmp_path).main(init=ref["state"])
    assert sorted(ours) == sorted(ref)
    for key in ref:
        if key == "checks":
            assert all(ours[key].values()) and all(ref[key].values()), f"{name}: checks {ours[key]} / torch {ref[key]}"
        elif key != "state":
            _compare(ours[key], ref[key], f"{name}: {key}")
    assert len(ref["losses"]) == 5 and np.isfinite(ref["losses"]).all()


def test_programs_only_import_torch_in_their_import_lines():
    """The programs are plain PyTorch: porting changes import lines only, and leaves no `torch` module import."""
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("test_"):
            continue
        before, after = path.read_text().splitlines(), port_source(path.read_text()).splitlines()
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        assert changed and len(before) == len(after), path.name
        assert all(("import" in a and "torch" in a) for a, _ in changed), (path.name, changed)
        assert all("redes" in b for _, b in changed), (path.name, changed)
