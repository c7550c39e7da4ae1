"""Scenarios: TOML files of command lines with expected outcomes per kernel; replay and check."""

from .load import Expect, Scenario, ScenarioError, Step, load, loads
from .run import RunReport, run

__all__ = ["Expect", "RunReport", "Scenario", "ScenarioError", "Step", "load", "loads", "run"]
