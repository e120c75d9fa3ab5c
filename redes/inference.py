"""rd.inference_mode: torch.inference_mode, a no_grad that reads as "this is inference"."""
import functools

from .autograd import is_grad_enabled, set_grad_enabled


class inference_mode:  # noqa: N801  (torch's name)
    """Context manager or decorator in which ops record no graph (as no_grad); mode=False changes nothing.

    torch's inference tensors also refuse later use in autograd; redes' tensors made here are ordinary
    tensors without a graph, as under no_grad.

    Example:
        >>> w = rd.ones(2, requires_grad=True)
        >>> with rd.inference_mode():
        ...     y = w * 2
        >>> y.requires_grad
        False
        >>> @rd.inference_mode()
        ... def predict(x):
        ...     return w * x
        >>> predict(rd.ones(2)).requires_grad
        False
    """

    def __new__(cls, mode=True):
        if callable(mode):                  # @rd.inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self._prev = []

    def __enter__(self):
        self._prev.append(is_grad_enabled())
        if self.mode:
            set_grad_enabled(False)

    def __exit__(self, *exc):
        set_grad_enabled(self._prev.pop())

    def __call__(self, func):
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return func(*args, **kwargs)
        return wrapper
