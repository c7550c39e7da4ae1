"""The model's replay of the real-kernel scenarios: their [expect] records what the real kernel
did, so where the model is known to disagree (``daxsh.real.known``) the replay is an expected
failure, strict: it turns into a failure the day the model is fixed."""

from __future__ import annotations

from typing import Any

import pytest

from daxsh.real.known import disagreement


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        path = getattr(item, "path", None)
        spec = getattr(item, "spec", "")
        if path is None or path.parent.name != "real" or path.parent.parent.name != "scenarios" or not spec:
            continue
        reason = disagreement(path.stem, spec)
        if reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
