"""Time travel over a session, its journal, and saving it as a scenario (UI-free).

The model is deterministic, so a state is named by the state-changing command lines that led to
it.  A :class:`Timeline` numbers every line that changed the machine (``Session.executed``),
keeps the branches a person makes by going back and typing something new, and rebuilds any
point ``BRANCH:N`` by replaying lines ``1..N`` of that branch into a fresh :class:`Session`.

Point ``0`` is the fresh machine; point ``N`` is the state after the branch's N-th line.
The first branch is ``main``; typing a new state-changing command while looking at an earlier
point of a branch starts branch ``b1``, ``b2``, ... (sharing the lines before it); typing the
very line the branch already has next just moves forward on it.

A :class:`Journal` appends one JSON object per line to a file in the user's state directory
and flushes after each, so a killed shell loses nothing: ``daxsh --resume`` rebuilds the
timeline from it.  Records: ``{"daxsh_journal": 1, "kernel", "pmem", "seed", "started"}``
first, then ``{"exec": LINE}`` for each state-changing line, ``{"hidden": LINE}`` for a line
that reached the kernel without changing state (``stat``, a failed syscall: replays need it
for identical pids and trace), ``{"goto": [BRANCH, N]}`` for a
jump, and ``{"reset": {"kernel", "pmem", "seed"}}`` when a new machine replaces the old one.

Nothing here imports a UI library: the REPL and the TUI share it.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..kernel import checks
from ..kernel.machine import DEFAULT_PMEM
from ..lang import Result, Session, render
from ..lang.lexer import fmt_size

DIFF_VIEWS = ("pages", "ptes", "inodes", "waiters")
KEEP_JOURNALS = 100  # the newest journals kept in the state directory

# Commands of the interactive front-ends (the shell, the screen's command line), not of the
# language: scenario files cannot use them.  name: (usage, summary, example).  The REPL's help
# and the man page read this table.
SHELL_COMMANDS: dict[str, tuple[str, str, str]] = {
    "history": ("history", "the numbered state-changing commands of this branch (> marks where "
                "you are)", "history"),
    "back": ("back [K]", "go back K state-changing commands (default 1), by replaying from a "
             "fresh machine", "back 3"),
    "goto": ("goto N | BRANCH:N | BRANCH", "rebuild the state after command N (of a branch)",
             "goto b1:4"),
    "branches": ("branches", "the branches made by typing a new command after going back",
                 "branches"),
    "diff": ("diff N [M]", "what changed between two points (pages, ptes, inodes, waiters, "
             "jobs); M defaults to here", "diff 5 7"),
    "record": ("record FILE.toml [--title T] [--ref URL] | record stop",
               "save the commands that led here as a scenario, kept up to date until "
               "`record stop`", "record race.toml"),
    "replay": ("replay [FILE.toml]", "run a scenario's steps on a fresh machine, stopping at "
               "the first that blocks or fails; `replay` alone goes on", "replay race.toml"),
    "tui": ("tui", "open the live screen on this session", "tui"),
    "explore": ("explore [--bad OUTCOME] [--dmesg TEXT] [--query CMD --contains TEXT | --lacks "
                "TEXT] [--thread 'LINE; LINE' ...]",
                "every interleaving of the live jobs (and --thread lines) from here; a bad one "
                "(all the conditions hold) opens as a new branch",
                "explore --bad corruption --thread 'pin 0x7f0000000000'"),
    "bisect": ("bisect [--kernel-from PRESET] [--kernel-to PRESET]",
               "this session's commands on every kernel preset, and the behaviours (commits) "
               "that change the outcome", "bisect --kernel-from v4.16 --kernel-to v4.19"),
    "trace": ("trace save FILE.json|FILE.txt", "write the trace as Chrome/Perfetto trace events "
              "(.json) or trace-cmd report text (.txt); `trace [K]` shows the last K events",
              "trace save race.json"),
    "quit": ("quit", "leave the shell (Ctrl-D too); the journal stays for `daxsh --resume`",
             "quit"),
}


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
        self.pmem = pmem
        self.seed = seed
        self.session = Session(kernel, pmem, seed)
        self.kernel_spec = self.session.kernel_spec  # the kernel at point 0
        self.branches: dict[str, Branch] = {"main": Branch("main")}
        self.branch = "main"
        self.pos = 0
        self.journal = journal
        self.dirty = False
        self.loose: list[str] = []  # hidden lines run while looking at the past
        if journal is not None:
            journal.header(self.kernel_spec, pmem, seed)

    # -- where we are ----------------------------------------------------------------------------
    @property
    def current(self) -> Branch:
        return self.branches[self.branch]

    @property
    def at_tip(self) -> bool:
        return self.pos == len(self.current.lines)

    @property
    def lines(self) -> list[str]:
        """The state-changing lines that led to the state shown now."""
        return self.current.lines[:self.pos]

    # -- running a line --------------------------------------------------------------------------
    def execute(self, line: str) -> Result:
        """Run one line; number it if it changed the machine (forking a branch if we are
        looking at the past).  A KeyboardInterrupt (or any exception) in the middle of a
        command propagates and marks the state dirty: :meth:`recover` (or the next :meth:`execute`) rebuilds the state
        before that command."""
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
            self._hide(line)
            if self.journal is not None:
                self.journal.write({"hidden": line})
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
        br = Branch(f"b{i}", parent.lines[:at], parent.name, at, hidden)
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
        elif text.isdigit():
            name, num = self.branch, text
        else:
            name, num = text, ""
        if name not in self.branches:
            raise TimelineError(f"no branch '{name}' (branches: {', '.join(self.branches)})")
        br = self.branches[name]
        if num == "":
            return Point(name, len(br.lines))
        if not num.isdigit():
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
        s = Session(self.kernel_spec, self.pmem, self.seed)
        self._replay(s, self.replay_lines(p))
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
        br = self.current
        out = []
        if br.parent is not None:
            out.append(f"branch {br.name} (from {br.parent} after {br.fork})")
        for i, x in enumerate(br.lines, 1):
            mark = ">" if i == self.pos else " "
            out.append(f"{mark}{i:>4}  {x}")
        if self.pos == 0:
            out.append(">   0  (fresh machine: kernel " + self.kernel_spec + ")")
        elif not self.at_tip:
            out.append(f"at {self.pos} of {len(br.lines)}: a new command starts a new branch")
        return out or ["(nothing has changed the machine yet)"]

    def branch_list(self) -> list[str]:
        out = []
        for b in self.branches.values():
            mark = "*" if b.name == self.branch else " "
            where = f"from {b.parent} after {b.fork}" if b.parent else "the first"
            last = b.lines[-1] if b.lines else "(empty)"
            at = f"  (at {self.pos})" if b.name == self.branch and not self.at_tip else ""
            out.append(f"{mark} {b.name:<6} {len(b.lines):>4} commands, {where}; last: {last}{at}")
        return out

    def diff(self, a: Point | str, b: Point | str,
             views: tuple[str, ...] = DIFF_VIEWS) -> list[str]:
        """What changed between two points, view by view (pages, ptes, inodes, waiters)."""
        pa = self.parse_point(a) if isinstance(a, str) else a
        pb = self.parse_point(b) if isinstance(b, str) else b
        sa, sb = self._session_at(pa), self._session_at(pb)
        out = [f"diff {pa} {pb}"]
        for what in views:
            la, lb = _view(sa, what), _view(sb, what)
            if la == lb:
                continue
            out.append(f"{what}:")
            for d in difflib.unified_diff(la, lb, lineterm="", n=0):
                if d.startswith(("---", "+++", "@@")):
                    continue
                out.append(f"  {d}")
        jobs_a = [sa.describe_job(j) for j in sa.jobs.values()]
        jobs_b = [sb.describe_job(j) for j in sb.jobs.values()]
        if jobs_a != jobs_b:
            out.append("jobs:")
            out += [f"  -{x}" for x in jobs_a if x not in jobs_b]
            out += [f"  +{x}" for x in jobs_b if x not in jobs_a]
        if len(out) == 1:
            out.append("  (no difference in " + ", ".join(views) + ")")
        return out

    def _session_at(self, p: Point) -> Session:
        if p.branch == self.branch and p.n == self.pos:
            return self.session
        return self.state_at(p)

    # -- saving ----------------------------------------------------------------------------------
    def scenario(self, title: str = "", refs: list[str] | None = None) -> dict[str, Any]:
        """The lines that led here, as a scenario (``daxsh run`` replays it), expecting the
        outcome reached now."""
        o = checks.outcome(self.session.k).outcome
        return {
            "title": title or f"daxsh session ({len(self.lines)} steps, {o})",
            "refs": list(refs or []),
            "kernel": self.kernel_spec,
            "steps": list(self.lines),
            "machine": {"pmem": fmt_size(self.pmem), "seed": self.seed},
            "expect": {"outcome": o},
        }

    def write_scenario(self, path: str | Path, title: str = "",
                       refs: list[str] | None = None) -> dict[str, Any]:
        import tomli_w
        data = self.scenario(title, refs)
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"# recorded by daxsh; `daxsh run {p.name}` replays it\n")
            f.write(tomli_w.dumps(data))
        os.replace(tmp, p)
        return data

    # -- journal ---------------------------------------------------------------------------------
    @classmethod
    def from_journal(cls, path: str | Path, journal: Journal | None = None) -> Timeline:
        """Rebuild the timeline a journal describes (the state is replayed once, at the end).
        A torn last line (the shell was killed while writing it) is ignored."""
        recs = read_journal(path)
        if not recs or "daxsh_journal" not in recs[0]:
            raise TimelineError(f"{path}: not a daxsh journal")
        h = recs[0]
        tl = cls(h.get("kernel", ""), int(h.get("pmem", DEFAULT_PMEM)), int(h.get("seed", 0)))
        for r in recs[1:]:
            if "exec" in r:
                tl._advance([str(r["exec"])])
            elif "hidden" in r:
                tl._hide(str(r["hidden"]))
            elif "goto" in r:
                name, n = r["goto"]
                if name in tl.branches and 0 <= int(n) <= len(tl.branches[name].lines):
                    tl.branch, tl.pos = name, int(n)
                    tl.loose = []
            elif "reset" in r:
                x = r["reset"]
                tl = cls(x.get("kernel", ""), int(x.get("pmem", DEFAULT_PMEM)),
                         int(x.get("seed", 0)))
        tl._rebuild()
        tl.journal = journal
        return tl

    def reset(self, kernel: str = "", pmem: int = DEFAULT_PMEM, seed: int = 0) -> None:
        """A new machine and an empty history (the journal keeps the old one)."""
        j = self.journal
        self.pmem, self.seed = pmem, seed
        self.session = Session(kernel, pmem, seed)
        self.kernel_spec = self.session.kernel_spec
        self.branches = {"main": Branch("main")}
        self.branch, self.pos, self.dirty = "main", 0, False
        self.loose = []
        if j is not None:
            j.write({"reset": {"kernel": self.kernel_spec, "pmem": pmem, "seed": seed}})


def _fingerprint(s: Session) -> tuple[int, int, int, int, int]:
    """Changes whenever a line reached the modelled kernel (a pid, a trace event, time)."""
    k = s.k
    return (id(k), k.next_pid, k.trace_buf.seq, k.clock.now, len(k.events))


def _view(s: Session, what: str) -> list[str]:
    return render.show(s.k, what)


# -- the journal and where it lives -----------------------------------------------------------


def state_dir() -> Path:
    """``$XDG_STATE_HOME/daxsh`` (default ``~/.local/state/daxsh``), created private."""
    base = os.environ.get("XDG_STATE_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    d = root / "daxsh"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


class Journal:
    """Append-only JSON lines, flushed after every record."""

    def __init__(self, path: str | Path, fh: TextIO | None = None) -> None:
        self.path = Path(path)
        self._fh = fh or open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._wrote_header = self.path.stat().st_size > 0

    @classmethod
    def new(cls, directory: Path | None = None, clock: Callable[[], float] = time.time) -> Journal:
        d = (directory or state_dir()) / "sessions"
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(clock()))
        path = d / f"{stamp}-{os.getpid()}.jsonl"
        j = cls(path)
        (d.parent / "last-session").write_text(str(path) + "\n", encoding="utf-8")
        for old in sorted(d.glob("*.jsonl"))[:-KEEP_JOURNALS]:
            with contextlib.suppress(OSError):
                old.unlink()
        return j

    def header(self, kernel: str, pmem: int, seed: int) -> None:
        if self._wrote_header:
            return
        self.write({"daxsh_journal": 1, "kernel": kernel, "pmem": pmem, "seed": seed,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self._wrote_header = True

    def write(self, rec: dict[str, Any]) -> None:
        self._fh.write(json.dumps(rec, sort_keys=True) + "\n")
        self._fh.flush()  # in the kernel's hands: survives a SIGKILL of the shell

    def close(self) -> None:
        self._fh.close()


def last_journal(directory: Path | None = None) -> Path | None:
    """The journal of the last interactive session, or None."""
    d = directory or state_dir()
    ptr = d / "last-session"
    if ptr.exists():
        p = Path(ptr.read_text(encoding="utf-8").strip())
        if p.exists():
            return p
    found = sorted((d / "sessions").glob("*.jsonl")) if (d / "sessions").is_dir() else []
    return found[-1] if found else None


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            raw = raw.strip()
            if not raw:
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError:
                continue  # torn write at a kill
            if isinstance(rec, dict):
                out.append(rec)
    return out
