"""How a search's result is said: one place for the verdict's words, for ``daxsh explore``,
``daxsh run``, the shell's ``explore``, the screen and the pytest plugin (no UI import)."""

from __future__ import annotations

from .search import Result

WORDS = {"never": "Never", "sometimes": "Sometimes", "always": "Always", "undecided": "Undecided"}
REASONS = {
    "budget": "the execution budget ran out",
    "time-limit": "the time limit passed",
    "interrupted": "interrupted",
    "preemption-bound": "a preemption bound leaves schedules out",
    "sampling": "random sampling explores no whole tree",
}


def verdict_matches(res: Result, expected: str | None) -> bool | None:
    """Does the verdict match what is expected?  None: undecided (nothing the search saw
    settles it).  A bad execution contradicts ``never`` and a good one ``always`` even when
    the search went no further."""
    v = res.verdict
    if expected is None:
        return None if v == "undecided" else True
    if v != "undecided":
        return v == expected
    if expected == "never" and res.positive:
        return False
    if expected == "always" and res.negative:
        return False
    return None


def verdict_word(res: Result) -> str:
    """``Never``, ``Sometimes``, ``Always`` or ``Undecided (reason)``."""
    word = WORDS[res.verdict]
    return f"{word} ({res.reason})" if res.verdict == "undecided" else word


def verdict_line(res: Result) -> str:
    """The verdict with its counts, herd7-style: ``Never (Positive: 0, Negative: 68)``."""
    if res.complete_counts or res.verdict == "undecided":
        counts = f"Positive: {res.positive}, Negative: {res.negative}"
    else:  # stopped once decided: at least these
        counts = f"Positive: {res.positive}+, Negative: {res.negative}+"
    if res.verdict == "undecided":
        counts += " so far"
    return f"{verdict_word(res)}  ({counts})"


def expectation_line(res: Result, expected: str | None) -> str:
    ok = verdict_matches(res, expected)
    if expected is None:
        return "Expected: (no verdict in [expect])"
    if ok is None:
        return f"Expected: {expected} -> UNDECIDED ({res.reason}: {REASONS.get(res.reason, '')})"
    return f"Expected: {expected} -> {'ok' if ok else 'MISMATCH'}"


def search_line(res: Result) -> str:
    """What was searched: traces, executions, the phases, the time."""
    how = {"auto": "bug hunting, then optimal DPOR", "dpor": "optimal DPOR",
           "dfs": "plain enumeration", "random": "random schedules",
           "pct": "PCT schedules"}.get(res.mode, res.mode)
    if res.bound is not None:
        how += f", <= {res.bound} preemptions"
    extra = []
    redundant = res.executions - res.blocked - res.traces
    if redundant > 0:
        extra.append(f"{redundant} redundant")
    if res.blocked:
        extra.append(f"{res.blocked} sleep-set blocked")
    phases = ", ".join(f"{name}: {n}" for name, n, _t in res.phases) if res.phases else ""
    out = f"Traces {res.traces}, executions {res.executions} ({how}"
    if extra:
        out += "; " + ", ".join(extra)
    out += f"), {res.elapsed:.2f} s"
    if phases:
        out += f"  [{phases}]"
    return out
