"""Synthetic demo trust generator (register, destination returns, truth files)."""
from .trust import GenerateError, generate_trust

__all__ = ["generate_trust", "GenerateError"]
