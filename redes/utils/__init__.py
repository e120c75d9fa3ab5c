"""Utilities beside the engine (torch.utils' names): checkpoint (activation checkpointing)."""
