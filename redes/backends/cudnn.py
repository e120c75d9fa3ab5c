"""rd.backends.cudnn: torch.backends.cudnn's flags, settable and inert (redes has no cuDNN).

    rd.backends.cudnn.deterministic = True     # as in a seeded PyTorch script: accepted, no effect
    rd.backends.cudnn.benchmark = False

redes' CPU kernels are deterministic anyway: the same inputs give the same bits on every run.
"""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    """False: redes has no cuDNN."""
    return False


def version():
    """None: no cuDNN library is loaded."""
    return None
