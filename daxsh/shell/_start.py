"""Opening an interactive session: a new one journaled in the state directory, or the last one
resumed.  Both front-ends start here, so they journal and resume alike."""

from __future__ import annotations

from pathlib import Path

from ..kernel.machine import DEFAULT_PMEM
from ..lang.lexer import parse_number
from ._core import Core
from ._journal import Journal, JournalBusy, last_journal, read_journal, state_dir
from ._timeline import Timeline, TimelineError

PMEM_RANGE = "a multiple of 2M between 64M and 1024T"


def parse_pmem(text: str | None) -> int:
    """``--pmem SIZE`` (ValueError with what is allowed)."""
    if not text:
        return DEFAULT_PMEM
    pmem = parse_number(text)
    if pmem < 64 << 20 or pmem > 1 << 50 or pmem % (2 << 20):
        raise ValueError(f"--pmem {text}: {PMEM_RANGE}")
    return pmem


def open_session(kernel: str = "", pmem: str | None = None, seed: int = 0, *,
                 resume: bool = False, state: Path | None = None, journal: bool = True
                 ) -> tuple[Core, list[str]]:
    """The core of a new session (or with ``resume`` the last one at its last state), and the
    notes to show first.  ConfigError/ValueError for a bad kernel or pmem, before anything is
    written.  A state directory that cannot be used leaves the session unjournaled (said in a
    note), never unstarted."""
    notes: list[str] = []
    size = parse_pmem(pmem)
    if journal and state is None:
        try:
            state = state_dir()
        except OSError as e:
            notes.append(f"daxsh: the state directory cannot be used ({e.strerror or e}: "
                         f"{e.filename or ''}); this session is not journaled "
                         "(set XDG_STATE_HOME to a writable directory)")
            journal = False
    tl: Timeline | None = None
    j: Journal | None = None
    if resume and journal and state is not None:
        tl, j = _resume(state, notes)
    elif resume:
        notes.append("daxsh: no state directory, so no session to resume; starting a new one")
    if tl is None:
        tl = Timeline(kernel or "", size, seed)  # the kernel is valid before a journal exists
        if journal and state is not None:
            try:
                j = Journal.new(state)
                j.header(tl.kernel_spec, tl.pmem, tl.seed)
                tl.journal = j
            except OSError as e:
                notes.append(f"daxsh: no journal ({e.strerror or e}); this session is not "
                             "journaled")
    elif kernel or pmem:
        notes.append("daxsh: --kernel/--pmem are ignored with --resume (the journal has them)")
    return Core(tl, journal_path=str(j.path) if j is not None else None), notes


def _resume(state: Path, notes: list[str]) -> tuple[Timeline | None, Journal | None]:
    path = last_journal(state)
    if path is None:
        notes.append("daxsh: no session to resume; starting a new one")
        return None, None
    j: Journal | None = None
    try:
        recs, _damaged = read_journal(path)
        tl = Timeline.from_journal(path)
        if not tl.resume_note:
            try:
                j = Journal(path)
            except JournalBusy:
                notes.append(f"daxsh: {path} is open in another shell; resuming a copy of it")
        if j is None:  # two shells never append into one file; a damaged one is left as it is
            j = Journal.new(state)
            for r in recs[:tl.applied]:
                j.write(r)
        tl.journal = j
    except (OSError, TimelineError, ValueError, KeyError, TypeError) as e:
        notes.append(f"daxsh: cannot resume {path}: {e}; starting a new session ({path} is "
                     "left as it is)")
        if j is not None:
            j.close()
        return None, None
    if j is not None and j.path != path:
        notes.append(f"daxsh: this session is journaled to {j.path}")
    if tl.resume_note:
        notes.append(f"daxsh: {path}: {tl.resume_note}")
    notes.append(f"resumed {path}: at {tl.branch}:{tl.pos} of {len(tl.current.lines)} "
                 f"({len(tl.branches)} branch(es))")
    return tl, j
