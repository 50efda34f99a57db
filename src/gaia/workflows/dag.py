"""Task dependency graphs (the shared graph helpers, as the workflows component uses them)."""

from gaia._graph import find_cycles, layers

__all__ = ["find_cycles", "layers"]
