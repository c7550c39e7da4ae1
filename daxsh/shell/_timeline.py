"""Time travel over a session, its journal, and saving it as a scenario (UI-free).

The model is deterministic, so a state is named by the state-changing command lines that led to
it.  A :class:`Timeline` numbers every line that changed the machine (``Session.executed``),
keeps the branches a person makes by going back and typing something new, and rebuilds any
point ``BRANCH:N`` by replaying lines ``1..N`` of that branch into a fresh :class:`Session`.

Point ``0`` is the fresh machine; point ``N`` is the state after the branch's N-th line.
The first branch is ``main``; typing a new state-changing command while looking at an earlier
point of a branch starts branch ``b1``, ``b2``, ... (sharing the lines before it); typing the
very line the branch already has next just moves forward on it.

A kernel switch (``kernel v6.14``) is an ordinary numbered line; ``reset`` (``replay FILE`` at
the prompt) starts a new *root* branch on a fresh machine of its own, and the branches before
it stay (``branches``, ``goto main``).  The journal (:mod:`._journal`) records all of it.

Nothing here imports a UI library: the REPL and the TUI share it.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ..kernel import outcomes
from ..kernel.machine import DEFAULT_PMEM
from ..lang import Result, Session, render
from ..lang.lexer import Line, fmt_size
from ._journal import Journal, read_journal

DIFF_VIEWS = ("pages", "ptes", "inodes", "waiters")


class TimelineError(ValueError):
    """A bad point or branch (the message says what exists)."""


@dataclass
class Branch:
    name: str
    lines: list[str] = field(default_factory=list)
    parent: str | None = None
    fork: int = 0  # how many leading lines it shares with its parent
    # lines that went through the kernel without changing what it models (``stat``, ``ls``, a
    # failed ``truncate``): not numbered, but they use pids and trace events, so a replay runs
    # them again, after line i (key i), to rebuild the state byte for byte.
    hidden: dict[int, list[str]] = field(default_factory=dict)
    # the machine its point 0 is: (kernel spec, pmem, seed); a root branch's own, a fork's
    # its parent's
    machine: tuple[str, int, int] = ("", DEFAULT_PMEM, 0)


@dataclass
class Point:
    branch: str
    n: int

    def __str__(self) -> str:
        return f"{self.branch}:{self.n}"


class Timeline:
    """One interactive session's machine, every branch of its history, and where we are."""

    def __init__(self, kernel: str = "", pmem: int = DEFAULT_PMEM, seed: int = 0,
                 journal: Journal | None = None) -> None:
        self.session = Session(kernel, pmem, seed)
        self.branches: dict[str, Branch] = {
            "main": Branch("main", machine=(self.session.kernel_spec, pmem, seed))}
        self.branch = "main"
        self.pos = 0
        self.journal = journal
        self.dirty = False
        self.loose: list[str] = []  # hidden lines run while looking at the past
        if journal is not None:
            journal.header(self.kernel_spec, pmem, seed)

    # -- where we are ----------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        """The machine at the point being viewed."""
        return self._session

    @session.setter
    def session(self, s: Session) -> None:
        """Replace the machine; the one replaced is retired (:meth:`Session.close`) at once,
        never left for the garbage collector with its tasks suspended in the kernel."""
        old = getattr(self, "_session", None)
        self._session = s
        if old is not None and old is not s:
            old.close()

    def close(self) -> None:
        """Retire the machine (the timeline is not used afterwards)."""
        self._session.close()

    @property
    def current(self) -> Branch:
        return self.branches[self.branch]

    @property
    def kernel_spec(self) -> str:
        """The kernel at point 0 of the branch being viewed."""
        return self.current.machine[0]

    @property
    def pmem(self) -> int:
        return self.current.machine[1]

    @property
    def seed(self) -> int:
        return self.current.machine[2]

    @property
    def journal_failed(self) -> str:
        """Why the journal stopped ("" while it records, or when there is none)."""
        return self.journal.failed if self.journal is not None else ""

    @property
    def at_tip(self) -> bool:
        return self.pos == len(self.current.lines)

    @property
    def lines(self) -> list[str]:
        """The state-changing lines that led to the state shown now."""
        return self.current.lines[:self.pos]

    # -- running a line --------------------------------------------------------------------------
    def execute(self, line: str | Line) -> Result:
        """Run one line (a lexed Line is run as it is: its text is already stripped); number it
        if it changed the machine (forking a branch if we are looking at the past).  A
        KeyboardInterrupt (or any exception) in the middle of a command propagates and marks
        the state dirty: :meth:`recover` (or the next :meth:`execute`) rebuilds the state
        before that command."""
        if not isinstance(line, Line):
            line = line.strip()
        if self.dirty:
            self.recover()
        s = self.session
        before = len(s.executed)
        mark = _fingerprint(s)
        try:
            res = s.execute(line)
        except BaseException:
            # ^C (KeyboardInterrupt) or a daxsh bug: half a command ran; recover() (or the
            # next execute) rebuilds the state before it
            self.dirty = True
            raise
        new = s.executed[before:]
        if new:
            self._advance(new)
            if self.journal is not None:
                for x in new:
                    self.journal.write({"exec": x})
        elif _fingerprint(s) != mark:
            self._hide(res.line)
            if self.journal is not None:
                self.journal.write({"hidden": res.line})
        return res

    def _hide(self, line: str) -> None:
        if self.at_tip:
            self.current.hidden.setdefault(self.pos, []).append(line)
        else:
            self.loose.append(line)

    def recover(self) -> None:
        """Rebuild the state at the current point (after an interrupted command)."""
        self._rebuild()
        self.dirty = False

    def _advance(self, new: list[str]) -> None:
        br = self.current
        for x in new:
            if self.pos < len(br.lines):
                if br.lines[self.pos] == x and not self.loose:
                    self.pos += 1
                    continue
                br = self._fork(br, self.pos)
            br.lines.append(x)
            self.pos += 1

    def _fork(self, parent: Branch, at: int) -> Branch:
        i = 1
        while f"b{i}" in self.branches:
            i += 1
        hidden = {k: list(v) for k, v in parent.hidden.items() if k < at}
        here = parent.hidden.get(at, []) + self.loose
        if here:
            hidden[at] = here
        self.loose = []
        br = Branch(f"b{i}", parent.lines[:at], parent.name, at, hidden, parent.machine)
        self.branches[br.name] = br
        self.branch = br.name
        return br

    def fork_here(self) -> str:
        """Start a new branch at the point being viewed (the explorer's counterexample goes
        there); returns its name."""
        return self._fork(self.current, self.pos).name

    # -- moving ----------------------------------------------------------------------------------
    def parse_point(self, text: str) -> Point:
        """``N``, ``BRANCH:N``, ``BRANCH`` (its last point) or ``BRANCH:`` likewise."""
        text = text.strip()
        if ":" in text:
            name, _, num = text.partition(":")
        elif text.isascii() and text.isdigit():
            name, num = self.branch, text
        else:
            name, num = text, ""
        if name not in self.branches:
            raise TimelineError(f"no branch '{name}' (branches: {', '.join(self.branches)})")
        br = self.branches[name]
        if num == "":
            return Point(name, len(br.lines))
        if not (num.isascii() and num.isdigit()):
            raise TimelineError(f"'{text}' is not a point: write N, BRANCH:N or BRANCH")
        n = int(num)
        if n > len(br.lines):
            raise TimelineError(f"{name} has points 0..{len(br.lines)}; there is no {n}")
        return Point(name, n)

    def goto(self, point: Point | str) -> None:
        p = self.parse_point(point) if isinstance(point, str) else point
        same = p.branch == self.branch and not self.loose and not self.dirty
        old_pos = self.pos
        self.branch, self.pos = p.branch, p.n
        if same and p.n >= old_pos:
            br = self.current
            for i in range(old_pos, p.n):
                self._replay(self.session, [br.lines[i], *br.hidden.get(i + 1, [])])
        else:
            self.loose = []
            self._rebuild()
        if self.journal is not None:
            self.journal.write({"goto": [p.branch, p.n]})

    def back(self, k: int = 1) -> None:
        if k < 0:
            raise TimelineError("back takes a count of at least 0")
        if k > self.pos:
            raise TimelineError(f"only {self.pos} command(s) to go back over")
        self.goto(Point(self.branch, self.pos - k))

    def _rebuild(self) -> None:
        self.session = self.state_at(Point(self.branch, self.pos))
        self._replay(self.session, self.loose)

    def state_at(self, p: Point) -> Session:
        """A fresh session replayed to point ``p`` (the current one is not touched)."""
        kernel, pmem, seed = self.branches[p.branch].machine
        s = Session(kernel, pmem, seed)
        try:
            self._replay(s, self.replay_lines(p))
        except BaseException:
            s.close()
            raise
        return s

    def replay_lines(self, p: Point) -> list[str]:
        """Every line to run on a fresh machine to reach ``p``, hidden ones included."""
        br = self.branches[p.branch]
        out: list[str] = []
        for i in range(p.n):
            out += br.hidden.get(i, [])
            out.append(br.lines[i])
        return out + br.hidden.get(p.n, [])

    @staticmethod
    def _replay(s: Session, lines: Iterable[str]) -> None:
        for x in lines:
            s.execute(x)

    # -- looking at it ---------------------------------------------------------------------------
    def history(self) -> list[str]:
        return [x for _here, x in self.history_lines()]

    def history_lines(self) -> list[tuple[bool, str]]:
        """The numbered lines of this branch, each with whether it is where we are (``>``)."""
        br = self.current
        out = []
        if br.parent is not None:
            out.append((False, f"branch {br.name} (from {br.parent} after {br.fork})"))
        for i, x in enumerate(br.lines, 1):
            mark = ">" if i == self.pos else " "
            out.append((i == self.pos, f"{mark}{i:>4}  {x}"))
        if self.pos == 0:
            out.append((True, ">   0  (fresh machine: kernel " + self.kernel_spec + ")"))
        elif not self.at_tip:
            out.append((False, f"at {self.pos} of {len(br.lines)}: a new command starts a new "
                               "branch"))
        return out or [(False, "(nothing has changed the machine yet)")]

    def branch_list(self) -> list[str]:
        return [x for _here, x in self.branch_lines()]

    def branch_lines(self) -> list[tuple[bool, str]]:
        """One line per branch, each with whether it is the one being viewed (``*``)."""
        out = []
        for b in self.branches.values():
            here = b.name == self.branch
            where = f"from {b.parent} after {b.fork}" if b.parent else \
                f"a fresh machine ({b.machine[0].split()[0] if b.machine[0] else '?'})"
            last = b.lines[-1] if b.lines else "(empty)"
            at = f"  (at {self.pos})" if here and not self.at_tip else ""
            out.append((here, f"{'*' if here else ' '} {b.name:<6} {len(b.lines):>4} commands, "
                              f"{where}; last: {last}{at}"))
        return out

    def diff(self, a: Point | str, b: Point | str,
             views: tuple[str, ...] = DIFF_VIEWS) -> list[str]:
        """What changed between two points, view by view (pages, ptes, inodes, waiters)."""
        return [x for _sign, x in self.diff_lines(a, b, views)]

    def diff_lines(self, a: Point | str, b: Point | str,
                   views: tuple[str, ...] = DIFF_VIEWS) -> list[tuple[str, str]]:
        """:meth:`diff`'s lines, each with its sign: "-" only at ``a``, "+" only at ``b``, ""
        for a heading."""
        pa = self.parse_point(a) if isinstance(a, str) else a
        pb = self.parse_point(b) if isinstance(b, str) else b
        sa = self._session_at(pa)
        try:
            sb = self._session_at(pb)
            try:
                return self._diff(pa, pb, sa, sb, views)
            finally:
                if sb is not self.session:
                    sb.close()
        finally:
            if sa is not self.session:
                sa.close()

    @staticmethod
    def _diff(pa: Point, pb: Point, sa: Session, sb: Session, views: Iterable[str]
              ) -> list[tuple[str, str]]:
        out = [("", f"diff {pa} {pb}")]
        for what in views:
            la, lb = _view(sa, what), _view(sb, what)
            if la == lb:
                continue
            out.append(("", f"{what}:"))
            # the lines difflib.unified_diff(la, lb, n=0) gives, without its headers
            for group in difflib.SequenceMatcher(None, la, lb).get_grouped_opcodes(0):
                for tag, i1, i2, j1, j2 in group:
                    if tag == "equal":
                        out += [("", f"   {x}") for x in la[i1:i2]]
                        continue
                    if tag in ("replace", "delete"):
                        out += [("-", f"  -{x}") for x in la[i1:i2]]
                    if tag in ("replace", "insert"):
                        out += [("+", f"  +{x}") for x in lb[j1:j2]]
        jobs_a = [sa.describe_job(j) for j in sa.jobs.values()]
        jobs_b = [sb.describe_job(j) for j in sb.jobs.values()]
        if jobs_a != jobs_b:
            out.append(("", "jobs:"))
            out += [("-", f"  -{x}") for x in jobs_a if x not in jobs_b]
            out += [("+", f"  +{x}") for x in jobs_b if x not in jobs_a]
        if len(out) == 1:
            out.append(("", "  (no difference in " + ", ".join(views) + ")"))
        return out

    def _session_at(self, p: Point) -> Session:
        if p.branch == self.branch and p.n == self.pos:
            return self.session
        return self.state_at(p)

    # -- saving ----------------------------------------------------------------------------------
    def scenario(self, title: str = "", refs: list[str] | None = None) -> dict[str, Any]:
        """The lines that led here, as a scenario (``daxsh run`` replays it), expecting the
        outcome reached now.  The steps are every line the state shown now was built from: a
        line that failed but changed the machine (a ``create`` that ran out of space keeps the
        blocks it got) is one of them, as it is when ``goto`` rebuilds the state."""
        o = outcomes.outcome(self.session.k).outcome
        steps = self.replay_lines(Point(self.branch, self.pos)) + ([] if self.at_tip else self.loose)
        return {
            "title": title or f"daxsh session ({len(self.lines)} steps, {o})",
            "refs": list(refs or []),
            "kernel": self.kernel_spec,
            "steps": steps,
            "machine": {"pmem": fmt_size(self.pmem), "seed": self.seed},
            "expect": {"outcome": o},
        }

    def write_scenario(self, path: str | Path, title: str = "",
                       refs: list[str] | None = None) -> dict[str, Any]:
        data = self.scenario(title, refs)
        p = Path(path)
        # a new file of our own (O_EXCL, random name) beside the target, then rename: nothing
        # at a guessable temporary path (a symlink planted there) is followed or overwritten
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(f"# recorded by daxsh; `daxsh run {p.name}` replays it\n")
                f.write(tomli_w.dumps(data))
            os.chmod(tmp, 0o644)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return data

    # -- journal ---------------------------------------------------------------------------------
    @classmethod
    def from_journal(cls, path: str | Path, journal: Journal | None = None) -> Timeline:
        """Rebuild the timeline a journal describes (the state is replayed once, at the end).
        A torn last line is ignored; :attr:`resume_note` says what else was left out."""
        recs, note = read_journal(path)
        if not recs or "daxsh_journal" not in recs[0]:
            raise TimelineError(f"{path}: not a daxsh journal")
        h = recs[0]
        tl = cls(str(h.get("kernel", "")), int(h.get("pmem", DEFAULT_PMEM)), int(h.get("seed", 0)))
        tl.applied = len(recs)
        for i, r in enumerate(recs[1:], 2):
            try:
                tl._apply(r)
            except (TypeError, ValueError, KeyError) as e:
                note = note or (f"record {i} cannot be applied ({type(e).__name__}: {e}); "
                                f"resumed from the {i - 1} record(s) before it")
                tl.applied = i - 1
                break
        tl._rebuild()
        tl.journal = journal
        tl.resume_note = note
        return tl

    def _apply(self, r: dict[str, Any]) -> None:
        if "exec" in r:
            self._advance([_text(r["exec"])])
        elif "hidden" in r:
            self._hide(_text(r["hidden"]))
        elif "goto" in r:
            name, n = r["goto"]
            if name in self.branches and 0 <= int(n) <= len(self.branches[name].lines):
                self.branch, self.pos = name, int(n)
                self.loose = []
        elif "reset" in r:
            x = r["reset"]
            self._new_root(str(x.get("kernel", "")), int(x.get("pmem", DEFAULT_PMEM)),
                           int(x.get("seed", 0)))

    resume_note = ""  # what from_journal left out ("" when it used every record)
    applied = 0  # how many of the journal's records from_journal used

    def reset(self, kernel: str = "", pmem: int = DEFAULT_PMEM, seed: int = 0) -> str:
        """A fresh machine on a new root branch (returned); the branches before it stay."""
        name = self._new_root(kernel, pmem, seed)
        if self.journal is not None:
            self.journal.write({"reset": {"kernel": self.kernel_spec, "pmem": pmem, "seed": seed}})
        return name

    def _new_root(self, kernel: str, pmem: int, seed: int) -> str:
        session = Session(kernel, pmem, seed)  # raises ConfigError before anything changes
        if len(self.branches) == 1 and not self.current.lines and not self.current.hidden \
                and not self.loose:
            name = self.branch  # nothing to keep: the empty first branch is replaced
        else:
            i = 1
            while f"r{i}" in self.branches:
                i += 1
            name = f"r{i}"
        self.branches[name] = Branch(name, machine=(session.kernel_spec, pmem, seed))
        self.session = session
        self.branch, self.pos, self.dirty = name, 0, False
        self.loose = []
        return name


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"a command line, not {type(v).__name__}")
    return v


def _fingerprint(s: Session) -> tuple[int, int, int, int, int]:
    """Changes whenever a line reached the modelled kernel (a pid, a trace event, time)."""
    k = s.k
    return (id(k), k.next_pid, k.trace_buf.seq, k.clock.now, len(k.events))


def _view(s: Session, what: str) -> list[str]:
    return render.show(s.k, what)
