"""Where the model is known to disagree with a real kernel, per real-kernel scenario and preset,
with what the real kernel did (the evidence is in the run: ``daxsh real FILE --kernel K -v``).

The model is not changed here; each entry is a known limit (man page: REAL KERNELS) until the
model's behaviour is fixed, when the strict expected failure turns into a failure and the entry
goes.
"""

from __future__ import annotations

KNOWN: dict[tuple[str, str], str] = {
}


def disagreement(scenario: str, preset: str) -> str | None:
    """Why the model and the real kernel differ on ``scenario`` (its file's stem) at ``preset``."""
    return KNOWN.get((scenario, preset))
