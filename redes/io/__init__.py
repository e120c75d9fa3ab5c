"""redes.io: model files (safetensors weights + JSON architecture/preprocessing), torch-style save/load of any
state, safetensors weights shared with PyTorch, and checkpoints. No pickle."""
from .architecture import ArchitectureError, from_config, to_config
from .atomic import atomic_write
from .checkpoint import load_checkpoint, save_checkpoint
from .exchange import load_safetensors, safetensors_metadata, save_safetensors
from .serialize import load, load_arrays, load_state_dict, save, save_arrays, save_state_dict

__all__ = ["ArchitectureError", "atomic_write", "from_config", "to_config", "load_checkpoint", "save_checkpoint", "load",
           "load_arrays", "load_safetensors", "load_state_dict", "safetensors_metadata", "save", "save_arrays",
           "save_safetensors", "save_state_dict"]
