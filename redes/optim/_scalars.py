"""Per-parameter scalar state (NAdam's mu_product, ASGD's eta and mu), kept in torch's scalar dtype.

torch holds these scalars as 0-d tensors of its "scalar dtype": float32 unless the default dtype is
float64. Their rounding reaches the parameters (to about 1e-7 relative), so redes rounds the same way,
and float64 runs agree with torch's to the last bits. They are functions of the step count (and of
the hyperparameters), so redes computes them from `step` instead of storing them; state_dict() writes
them out under torch's names, so a torch optimizer can load the result.
"""
import numpy as np

from .. import backend as B
from .. import dtypes as _dt
from ..tensor import Tensor


def scalar_dtype():
    """float64 when the default dtype is float64, else float32 (torch's _get_scalar_dtype)."""
    return np.float64 if _dt.get_default_dtype() == np.float64 else np.float32


def rounded(x):
    """x rounded to the scalar dtype, as a Python float (what torch's copy into a 0-d tensor keeps)."""
    return float(scalar_dtype()(x))


class DerivedStateMixin:
    """state_dict() adds the entries `_derived(group, step)` returns, as 0-d Tensors, to each parameter's state."""

    def _derived(self, group, step):
        raise NotImplementedError

    def state_dict(self):
        sd = super().state_dict()
        groups = {i: g for g, packed in zip(self.param_groups, sd["param_groups"]) for i in packed["params"]}
        for i, st in sd["state"].items():
            if "step" in st:
                for name, value in self._derived(groups[i], st["step"]).items():
                    st[name] = Tensor._wrap(B.xp.asarray(value, scalar_dtype()))
        return sd
