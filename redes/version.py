"""The package version, in a module of its own so that any part of redes can read it without importing the whole."""
__version__ = "0.1.0"
