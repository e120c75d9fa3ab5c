"""redes.io: model files (safetensors weights + JSON architecture/preprocessing) and checkpoints. No pickle."""
from .architecture import ArchitectureError, from_config, to_config
from .atomic import atomic_write
from .checkpoint import load_checkpoint, save_checkpoint
from .serialize import load, load_arrays, load_state_dict, save, save_arrays, save_state_dict

__all__ = ["ArchitectureError", "atomic_write", "from_config", "to_config", "load_checkpoint", "save_checkpoint", "load",
           "load_arrays", "load_state_dict", "save", "save_arrays", "save_state_dict"]
