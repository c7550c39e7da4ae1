"""The explorer: decide a race over every interleaving of a scenario's threads, find the
shortest counterexample, shrink it and write it as a scenario that replays it.

Uses only the language and the kernel layers (and the scenario loader).
"""

from .runner import Machine, Problem, ProblemError, Run
from .search import MODES, Execution, Result, explore

__all__ = ["MODES", "Execution", "Machine", "Problem", "ProblemError", "Result", "Run", "explore"]
