"""The in-process, deterministic model of the kernel's FS-DAX paths (no I/O, no UI)."""

from .config import BEHAVIOURS, PRESETS, KernelConfig
from .machine import Kernel

__all__ = ["BEHAVIOURS", "PRESETS", "Kernel", "KernelConfig"]
