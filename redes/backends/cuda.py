"""rd.backends.cuda: torch.backends.cuda's switches, settable and inert (redes has no CUDA matmul to tune).

    rd.backends.cuda.matmul.allow_tf32 = True      # as nanoGPT's train.py sets it: accepted, no effect
"""


class _Flags:
    """A namespace of settable flags (torch's backends.cuda.matmul)."""

    def __init__(self, **flags):
        self.__dict__.update(flags)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


matmul = _Flags(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                allow_bf16_reduced_precision_reduction=True)


def is_built():
    """False: redes is not built with CUDA (its GPU path is the CuPy backend)."""
    return False
