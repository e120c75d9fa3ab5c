"""rd.nn.parallel: DataParallel as a pass-through, since redes computes on one device.

torch.nn.DataParallel splits each batch across GPUs and gathers the outputs; with one device that
is the module itself. The wrapper keeps torch's attribute (`.module`) and state_dict keys ("module.*"),
so code and checkpoints written for DataParallel work unchanged.
"""
from .module import Module


class DataParallel(Module):
    """Runs `module` on the one device: forward(*args) = module(*args); parameters under "module.".

    Args: module: the model. device_ids, output_device: accepted, unused (one device). dim: the batch
    dim torch would split along (kept for reference).

    Example:
        >>> net = rd.nn.DataParallel(rd.nn.Linear(3, 2))
        >>> list(net.state_dict())
        ['module.weight', 'module.bias']
        >>> net(rd.zeros(4, 3)).shape
        (4, 2)
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module must be a Module, got {type(module).__name__}")
        super().__init__()
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """The functional form: module(*inputs) on the one device."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))


__all__ = ["DataParallel", "data_parallel"]
