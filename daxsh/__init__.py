"""daxsh: a shell for the Linux filesystem-DAX lifecycle."""

__version__ = "0.1.0"
