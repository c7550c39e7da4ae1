"""What counts as a bad execution for ``daxsh explore``: ``[expect] bad``.

Either an outcome (``bad = "corruption"``), or a table of conditions that must all hold at the
end of the execution -- the "exists" clause of a litmus test, stated over the kernel's final
state in the daxsh language::

    [expect.bad]
    outcome = "corruption"     # optional: one of the outcomes `check` reports
    dmesg = "WARNING"          # optional: the final kernel log contains this text
    query = "show blocks"      # optional: a read-only command run on the final state ...
    contains = "ino 14"        # ... a line of whose output contains this text
    lacks = "pinned"           # ... and/or no line of whose output contains this one

A query is one command line of the daxsh language that reads the state and runs no kernel task
(``show``, ``check``, ``dmesg``, ``ndctl``, ``jobs``...): it sees the state the threads left,
however they ended, and cannot change it.  With no ``outcome``, any outcome counts (clean too)
when the other conditions hold; with nothing at all, any outcome but clean does.  The checks
are the ones ``daxsh run`` applies to ``[expect] dmesg`` and to a step's ``output`` and
``no_output``, so a counterexample written as a scenario states the same conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..kernel.outcomes import OUTCOMES
from ..lang.lexer import LexError, split
from ..lang.registry import REGISTRY

if TYPE_CHECKING:
    from ..kernel.outcomes import Outcome
    from ..lang.session import Session

KEYS = ("outcome", "dmesg", "query", "contains", "lacks")
FLAGS = {("--bad" if k == "outcome" else f"--{k}"): k for k in KEYS}  # the shell's `explore`


def query_commands() -> list[str]:
    """The commands a query may use: they read the state and run no kernel task."""
    return sorted(n for n, c in REGISTRY.items() if not c.changes_state and not c.task)


@dataclass(frozen=True)
class Bad:
    outcome: str | None = None
    dmesg: str | None = None
    query: str | None = None
    contains: str | None = None
    lacks: str | None = None

    @classmethod
    def parse(cls, raw: object, flags: bool = False) -> Bad:
        """``bad`` as written in a scenario: an outcome or a table.  Raises ``ValueError``
        with what to write instead -- as TOML, or with ``flags`` as the shell's ``explore``
        options (``--bad OUTCOME``, ``--query CMD``...)."""
        def say(key: str, val: str | None = None) -> str:
            name = next(f for f, k in FLAGS.items() if k == key) if flags else key
            return name if val is None else f"{name} '{val}'" if flags else f'{name} = "{val}"'

        if isinstance(raw, str):
            raw = {"outcome": raw}
        if not isinstance(raw, dict):
            raise ValueError("must be an outcome (bad = \"corruption\") or a table of "
                             f"conditions ({', '.join(KEYS)})")
        for key, val in raw.items():
            if key not in KEYS:
                raise ValueError(f"unknown condition '{key}' (one of: {', '.join(KEYS)})")
            if not isinstance(val, str) or not val:
                raise ValueError(f"{say(key)} must be a non-empty string")
        bad = cls(**raw)
        if bad.outcome is not None and (bad.outcome not in OUTCOMES or bad.outcome == "clean"):
            raise ValueError(f"{say('outcome')} '{bad.outcome}' is not a bad outcome (one of: "
                             f"{', '.join(o for o in OUTCOMES if o != 'clean')})")
        if (bad.query is None) != (bad.contains is None and bad.lacks is None):
            raise ValueError(f"a query needs {say('contains', 'TEXT')} or {say('lacks', 'TEXT')}"
                             f", and {say('contains')}/{say('lacks')} need "
                             f"{say('query', 'COMMAND')} (e.g. {say('query', 'show blocks')}, "
                             f"{say('contains', 'ino 14')})")
        if bad.query is not None:
            try:
                words = split(bad.query).words
            except LexError as e:
                raise ValueError(f"{say('query')}: {e}") from None
            cmd = REGISTRY.get(words[0].text) if words else None
            if cmd is None or cmd.changes_state or cmd.task:
                raise ValueError(f"{say('query')} '{bad.query}': a query is one command that "
                                 "reads the state and runs no kernel task "
                                 f"({', '.join(query_commands())})")
        return bad

    @property
    def has_conditions(self) -> bool:
        return self.dmesg is not None or self.query is not None

    def holds(self, s: Session, o: Outcome) -> bool:
        """Is the execution that ended in ``s`` (with outcome ``o``) bad?"""
        if self.outcome is not None:
            if self.outcome not in o.found:
                return False
        elif not self.has_conditions and o.outcome == "clean":
            return False
        if self.dmesg is not None and self.dmesg not in "\n".join(s.k.dmesg.format()):
            return False
        if self.query is not None:
            lines = self.query_output(s)
            if self.contains is not None and not any(self.contains in x for x in lines):
                return False
            if self.lacks is not None and any(self.lacks in x for x in lines):
                return False
        return True

    def query_output(self, s: Session) -> list[str]:
        """The query's output on the state ``s`` (an error counts as its message)."""
        assert self.query is not None
        r = s.execute(self.query)
        return r.output if not r.error else [*r.output, r.error]

    def describe(self) -> str:
        parts = [self.outcome] if self.outcome else []
        if self.dmesg is not None:
            parts.append(f"dmesg contains '{self.dmesg}'")
        if self.contains is not None:
            parts.append(f"`{self.query}` shows '{self.contains}'")
        if self.lacks is not None:
            parts.append(f"`{self.query}` does not show '{self.lacks}'")
        return ", and ".join(parts) or "any outcome but clean"
