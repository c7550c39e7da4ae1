"""Fixtures for the shell tests (helpers in repl_helpers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from repl_helpers import make


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "state" / "daxsh"
    d.mkdir(parents=True)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return d


@pytest.fixture
def shell(state: Path) -> Any:
    d = make(state)
    yield d
    d.close()
