"""rd.amp: torch.amp's GradScaler (loss scaling) and autocast, for programs written with mixed precision in mind.

redes computes every op in its inputs' dtype; it has no automatic casting to float16/bfloat16. So:
  - autocast(enabled=False) is a no-op context (what CPU code paths pass), and enabled=True raises a clear error;
  - GradScaler runs torch's algorithm (scale the loss, unscale the gradients, skip steps with inf/NaN
    gradients, grow/back off the scale), which also works in float32; GradScaler("cuda") without CUDA
    disables itself with torch's warning, so nanoGPT-style `scaler.scale(loss).backward(); scaler.step(opt)`
    runs as plain steps.
"""
import math
import warnings

from . import backend as B
from .tensor import Tensor


class autocast:  # noqa: N801  (torch's name)
    """Context manager and decorator; only enabled=False is supported (redes has no automatic mixed precision).

    Example:
        >>> with rd.autocast("cpu", enabled=False):
        ...     y = rd.ones(2) * 2
    """

    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        if enabled:
            raise NotImplementedError(f"autocast(device_type={device_type!r}, dtype={dtype}): redes has no automatic "
                                      "mixed precision; every op runs in its inputs' dtype. Pass enabled=False, or "
                                      "cast the model and inputs yourself (model.to(rd.float16))")
        self.device_type, self.dtype, self.enabled = device_type, dtype, enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, func):
        return func


_READY, _UNSCALED, _STEPPED = 0, 1, 2


class GradScaler:
    """Loss scaling as torch.amp.GradScaler: scale(loss).backward(), [unscale_(opt)], step(opt), update().

    Args: device ("cuda" disables the scaler, with torch's warning, since there is no CUDA; "cpu" runs it),
    init_scale (2**16), growth_factor (2.0), backoff_factor (0.5), growth_interval (2000), enabled (True).

    update(): after a step whose gradients had an inf or NaN (the step was skipped), scale *= backoff_factor;
    after growth_interval clean steps in a row, scale *= growth_factor.

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, 2.0]))
        >>> opt = rd.optim.SGD([w], lr=0.1)
        >>> scaler = rd.amp.GradScaler("cpu", init_scale=8.0)
        >>> scaler.scale((w * 3).sum()).backward()        # w.grad = 8 * 3
        >>> scaler.step(opt)                               # unscales to 3, then steps
        >>> scaler.update()
        >>> [round(v, 4) for v in w.tolist()], scaler.get_scale()
        ([0.7, 1.7], 8.0)
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = str(device)
        if enabled and self._device.startswith("cuda") and not B.cuda_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          UserWarning, stacklevel=2)
            enabled = False
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor should be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor should be < 1, got {backoff_factor}")
        if not isinstance(growth_interval, int) or growth_interval <= 0:
            raise ValueError(f"GradScaler: growth_interval should be a positive int, got {growth_interval!r}")
        self._enabled = bool(enabled)
        self._scale, self._growth_factor, self._backoff_factor = float(init_scale), growth_factor, backoff_factor
        self._growth_interval, self._growth_tracker = growth_interval, 0
        self._per_optimizer = {}                   # id(optimizer) -> {"stage": ..., "found_inf": bool}

    def is_enabled(self):
        return self._enabled

    def get_scale(self):
        """The current scale (1.0 when disabled), as torch."""
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """outputs * scale (a Tensor, or lists/tuples of them); unchanged when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError(f"GradScaler.scale: outputs must be a Tensor or an iterable of Tensors, got "
                         f"{type(outputs).__name__}")

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": False})

    def unscale_(self, optimizer):
        """Divide this optimizer's gradients by the scale (new arrays), and note whether any is inf or NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv = float(B.xp.float32(1.0 / self._scale))         # torch: the float64 reciprocal, stored as float32
        found = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.array
                found = found or not bool(B.xp.isfinite(g).all())
                p.grad = Tensor._wrap(g * g.dtype.type(inv))    # a new array: gradient arrays may be shared
        state.update(stage=_UNSCALED, found_inf=found)

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done yet), then optimizer.step() unless a gradient was inf or NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None):
        """Adjust the scale for the next iteration (see the class docstring) and reset the per-optimizer state."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
        else:
            if not self._per_optimizer:
                raise RuntimeError("No inf checks were recorded prior to update.")
            if any(s["found_inf"] for s in self._per_optimizer.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
            self._scale = float(B.xp.float32(self._scale))     # torch keeps the scale in float32
            if not math.isfinite(self._scale):
                raise RuntimeError("GradScaler: the scale overflowed")
        self._per_optimizer = {}

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor, self._backoff_factor = state_dict["growth_factor"], state_dict["backoff_factor"]
        self._growth_interval, self._growth_tracker = state_dict["growth_interval"], state_dict["_growth_tracker"]
