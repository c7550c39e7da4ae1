"""Which kernel, and which commit, changes a scenario's outcome.

:func:`bisect` runs the scenario on every preset of a range (the matrix: one outcome per
preset, or one verdict for a [threads] race), then for each pair of neighbouring presets whose
outcomes differ finds the smallest set of behaviours whose change alone flips the older
preset's outcome to the newer one's: it toggles subsets of the behaviours the newer preset
changes on the older preset, smallest first (in the order the behaviours are listed), and
keeps the first subset that gives the newer outcome.  Each behaviour carries its commit,
title and version (kernel/config.py).  No UI: ``daxsh bisect`` and the shell's ``bisect``
print what this returns.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from ..kernel.config import BY_NAME, PRESETS, Behaviour, ConfigError, KernelConfig, preset
from ..lang.hints import error_text
from .load import Scenario, ScenarioError
from .run import Judge, run

MAX_TRIALS = 256  # toggled kernels tried per flip before giving up on the smallest set


@dataclass
class Flip:
    older: str
    newer: str
    outcome_from: str
    outcome_to: str
    behaviours: list[Behaviour] = field(default_factory=list)  # the smallest set found
    trials: int = 0  # toggled kernels run
    note: str = ""  # why no set is given (undecided, more than MAX_TRIALS, not reproduced)

    def to_json(self) -> dict[str, Any]:
        return {"from": self.older, "to": self.newer, "outcome_from": self.outcome_from,
                "outcome_to": self.outcome_to, "spec": self.spec,
                "behaviours": [behaviour_json(b) for b in self.behaviours],
                "trials": self.trials, **({"note": self.note} if self.note else {})}

    @property
    def spec(self) -> str:
        """The older preset with the set toggled: the kernel that shows the newer outcome."""
        return toggled(self.older, self.newer, self.behaviours) if self.behaviours else ""


@dataclass
class Bisect:
    path: str
    matrix: list[tuple[str, str]]  # (kernel, outcome)
    flips: list[Flip]
    race: bool  # outcomes are verdicts

    @property
    def undecided(self) -> bool:
        return any(o.startswith("undecided") for _k, o in self.matrix)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.path, "kind": "verdict" if self.race else "outcome",
                "matrix": [{"kernel": k, "outcome": o} for k, o in self.matrix],
                "flips": [f.to_json() for f in self.flips]}


def behaviour_json(b: Behaviour) -> dict[str, Any]:
    commit, _, title = (b.commits[0] if b.commits else "").partition(" ")
    return {"name": b.name, "commit": commit, "version": b.version, "title": title,
            "commits": list(b.commits)}


def presets_between(first: str | None, last: str | None) -> list[str]:
    """The presets from ``first`` to ``last`` (both included); ValueError names a bad one."""
    for name, v in (("--kernel-from", first), ("--kernel-to", last)):
        if v is not None and v not in PRESETS:
            try:
                KernelConfig.parse(v)
            except ConfigError as e:
                raise ValueError(f"{name}: {error_text(e)}") from None
            raise ValueError(f"{name}: '{v}' is not a preset (one of {', '.join(PRESETS)})")
    i = PRESETS.index(first) if first else 0
    j = PRESETS.index(last) if last else len(PRESETS) - 1
    if i > j:
        raise ValueError(f"--kernel-from {first} is newer than --kernel-to {last}")
    return list(PRESETS[i:j + 1])


def toggled(older: str, newer: str, subset: list[Behaviour]) -> str:
    """``older`` with the behaviours of ``subset`` set as ``newer`` has them."""
    have = preset(newer)
    return " ".join([older] + [("+" if b.name in have else "-") + b.name for b in subset])


def outcome(sc: Scenario, spec: str, judge: Judge | None, time_limit: float | None = None,
            budget: int | None = None) -> str:
    """The outcome of ``sc`` on ``spec`` (a race: its verdict, or ``undecided (REASON)``)."""
    rep = run(sc, spec, judge=judge, time_limit=time_limit, budget=budget)
    v = rep.verdict
    if v is None:
        return rep.outcome
    return v.verdict if v.verdict != "undecided" else f"undecided ({v.reason})"


def bisect(sc: Scenario, first: str | None = None, last: str | None = None,
           judge: Judge | None = None, time_limit: float | None = None,
           budget: int | None = None) -> Bisect:
    """See the module docstring; ScenarioError for a scenario that cannot run."""
    try:
        kernels = presets_between(first, last)
    except ValueError as e:
        raise ScenarioError(str(e)) from None
    race = bool(sc.threads) and not sc.steps

    def out(spec: str) -> str:
        return outcome(sc, spec, judge, time_limit, budget)

    matrix = [(k, out(k)) for k in kernels]
    flips: list[Flip] = []
    for (a, oa), (b, ob) in itertools.pairwise(matrix):
        if oa == ob:
            continue
        flip = Flip(a, b, oa, ob)
        flips.append(flip)
        if oa.startswith("undecided") or ob.startswith("undecided"):
            flip.note = "an undecided verdict: nothing to compare"
            continue
        changed = [BY_NAME[n] for n in sorted(preset(a) ^ preset(b),
                                              key=lambda n: list(BY_NAME).index(n))]
        for size in range(1, len(changed) + 1):
            for subset in itertools.combinations(changed, size):
                if flip.trials >= MAX_TRIALS:
                    break
                flip.trials += 1
                if out(toggled(a, b, list(subset))) == ob:
                    flip.behaviours = list(subset)
                    break
            if flip.behaviours or flip.trials >= MAX_TRIALS:
                break
        if not flip.behaviours:
            flip.note = (f"no set within {MAX_TRIALS} trials" if flip.trials >= MAX_TRIALS else
                         f"toggling every behaviour {b} changes ({len(changed)}) on {a} does not "
                         f"give {ob}")
    return Bisect(sc.path, matrix, flips, race)


COLOURS = {"clean": "32", "never": "32", "sometimes": "33", "always": "31", "corruption": "31",
           "oops": "31", "bug": "31", "deadlock": "35", "hung": "35"}


def render(r: Bisect, colour: bool = False) -> list[str]:
    """The matrix and the flips as text (``colour``: ANSI colours, for a terminal)."""
    def paint(o: str) -> str:
        code = COLOURS.get(o.split()[0], "33" if o.startswith("undecided") else "")
        return f"\033[{code}m{o}\033[0m" if colour and code else o

    what = "verdict" if r.race else "outcome"
    out = [f"{r.path}: {what} per kernel"]
    width = max(len(k) for k, _o in r.matrix)
    prev = None
    for k, o in r.matrix:
        mark = "" if prev is None or o == prev else "   <- changes"
        out.append(f"  {k:<{width}}  {paint(o)}{mark}")
        prev = o
    if not r.flips:
        out.append(f"the {what} is the same on every kernel of the range")
    for f in r.flips:
        out.append(f"{f.older} -> {f.newer}: {f.outcome_from} -> {f.outcome_to}")
        if not f.behaviours:
            out.append(f"  {f.note}")
            continue
        n = len(f.behaviours)
        who = "this behaviour alone flips" if n == 1 else f"these {n} behaviours alone flip"
        tried = f"{f.trials} kernel{'s' if f.trials != 1 else ''} tried"
        out.append(f"  {who} it (`{f.spec}` gives {f.outcome_to}; {tried}):")
        for b in f.behaviours:
            out.append(f"    {b.name} ({b.version or ('stable series only' if b.stable else 'proposal')})")
            for c in b.commits:
                out.append(f"      commit {c}")
    return out


def render_lines(r: Bisect, colour: bool = False) -> list[tuple[bool, str]]:
    """:func:`render`'s lines, each with whether it is a kernel where the outcome changes
    (the ``<- changes`` mark): line 0 is the heading, line k + 1 the matrix's row k."""
    changed = {k + 1 for k in range(1, len(r.matrix)) if r.matrix[k][1] != r.matrix[k - 1][1]}
    return [(i in changed, x) for i, x in enumerate(render(r, colour))]
