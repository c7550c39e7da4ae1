"""The in-process, deterministic model of the kernel's FS-DAX paths (no I/O, no UI)."""

from . import failure, fsx, leases, reclaim  # noqa: F401  (register their kernel functions)
from .config import BEHAVIOURS, PRESETS, KernelConfig
from .machine import Kernel

__all__ = ["BEHAVIOURS", "PRESETS", "Kernel", "KernelConfig"]
