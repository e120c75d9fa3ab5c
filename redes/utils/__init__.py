"""rd.utils: torch.utils' layout for what redes has (rd.utils.data is redes.data's dataset and loader part)."""
from . import data

__all__ = ["data"]
