"""The session journal: one JSON object per line, appended, fsynced, locked by its shell.

Records: ``{"daxsh_journal": 1, "kernel", "pmem", "seed", "started"}`` first, then
``{"exec": LINE}`` for each state-changing line, ``{"hidden": LINE}`` for a line that reached
the kernel without changing state (``stat``, a failed syscall: replays need it for identical
pids and trace), ``{"goto": [BRANCH, N]}`` for a jump, and ``{"reset": {"kernel", "pmem",
"seed"}}`` when a new machine starts a new root branch.

The file is opened ``O_APPEND`` and each record is written with one ``write(2)`` and
``fsync(2)``d, so a killed shell (or machine) loses at most the record being written; the
reader ignores a torn last line.  The shell holds an exclusive ``flock(2)`` on it while it
runs: a second ``daxsh --resume`` of the same session opens a copy instead of appending into
it.  A write that fails (a full disk) is reported once and ends the journal: a journal with a
hole would resume to a state that never existed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KEEP_JOURNALS = 100  # the newest journals kept in the state directory


class JournalBusy(OSError):
    """The journal is open in another shell (its flock is held)."""


def state_dir() -> Path:
    """``$XDG_STATE_HOME/daxsh`` (default ``~/.local/state/daxsh``), created private.
    Raises OSError when it cannot be created."""
    base = os.environ.get("XDG_STATE_HOME") or ""
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    d = root / "daxsh"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not os.access(d, os.W_OK | os.X_OK):
        raise PermissionError(13, "not writable", str(d))
    return d


class Journal:
    """Append-only JSON lines, fsynced after every record, locked while open."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.failed = ""  # why the last write failed ("" while every record is on disk)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                           0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise JournalBusy(f"{self.path} is open in another daxsh shell") from None
        size = _drop_torn_tail(self.path, self._fd)
        self._wrote_header = size > 0

    @classmethod
    def new(cls, directory: Path | None = None, clock: Callable[[], float] = time.time) -> Journal:
        d = (directory or state_dir()) / "sessions"
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(clock()))
        path = d / f"{stamp}-{os.getpid()}.jsonl"
        n = 1
        while path.exists():  # two sessions of one process in one second
            n += 1
            path = d / f"{stamp}-{os.getpid()}-{n}.jsonl"
        j = cls(path)
        _write_pointer(d.parent / "last-session", path)
        for old in sorted(d.glob("*.jsonl"))[:-KEEP_JOURNALS]:
            with contextlib.suppress(OSError):
                old.unlink()
        return j

    @property
    def ok(self) -> bool:
        return not self.failed and self._fd >= 0

    def header(self, kernel: str, pmem: int, seed: int) -> None:
        if self._wrote_header:
            return
        self.write({"daxsh_journal": 1, "kernel": kernel, "pmem": pmem, "seed": seed,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        self._wrote_header = True

    def write(self, rec: dict[str, Any]) -> bool:
        """Append one record; False (and :attr:`failed` says why) when it is not on disk."""
        if not self.ok:
            return False
        data = (json.dumps(rec, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8",
                                                                                 "surrogateescape")
        try:
            n = os.write(self._fd, data)
            if n != len(data):
                raise OSError(28, f"short write ({n} of {len(data)} bytes)")
            os.fsync(self._fd)
        except OSError as e:
            self.failed = e.strerror or str(e)
            self.close()
            return False
        return True

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # the flock goes with it
            self._fd = -1


def _drop_torn_tail(path: Path, fd: int) -> int:
    """Cut a torn last record (a kill while it was written: no newline ends it) so the next
    record starts on a line of its own; the size left."""
    size = os.fstat(fd).st_size
    if not size:
        return 0
    with open(path, "rb") as f:
        f.seek(max(0, size - (1 << 20)))
        tail = f.read()
    if tail.endswith(b"\n"):
        return size
    cut = tail.rfind(b"\n")
    keep = size - len(tail) + cut + 1 if cut >= 0 else (0 if size <= 1 << 20 else size)
    os.ftruncate(fd, keep)
    return keep


def _write_pointer(ptr: Path, target: Path) -> None:
    tmp = ptr.with_name(f".{ptr.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        tmp.write_text(str(target) + "\n", encoding="utf-8")
        os.replace(tmp, ptr)


def last_journal(directory: Path | None = None) -> Path | None:
    """The journal of the last interactive session, or None."""
    d = directory or state_dir()
    ptr = d / "last-session"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        p = Path(ptr.read_text(encoding="utf-8").strip())
        if p.is_file():
            return p
    found = sorted((d / "sessions").glob("*.jsonl")) if (d / "sessions").is_dir() else []
    return found[-1] if found else None


def read_journal(path: str | Path) -> tuple[list[dict[str, Any]], str]:
    """The records of a journal, and "" or what was wrong: a torn last line (a kill while it
    was written) is left out silently; a damaged line before the last ends the reading there
    (the records before it are sound, the ones after depend on it), and the note says so."""
    with open(path, "rb") as f:
        raw_lines = f.read().split(b"\n")
    out: list[dict[str, Any]] = []
    last = max((i for i, x in enumerate(raw_lines) if x.strip()), default=-1)
    for i, raw in enumerate(raw_lines):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8", "surrogateescape"))
        except ValueError:
            rec = None
        if not isinstance(rec, dict):
            if i == last:
                return out, ""  # torn at a kill
            return out, f"line {i + 1} is damaged; resumed from the {len(out)} record(s) before it"
        out.append(rec)
    return out, ""
