"""The embedded online state: NumPy arrays in process memory, snapshotted to disk."""

from streamrec.state.memory.state import MemoryState

__all__ = ["MemoryState"]
