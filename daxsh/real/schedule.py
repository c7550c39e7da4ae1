"""A schedule written as steps (``start CMD`` then ``step %N K``, as ``daxsh explore --out``
writes a counterexample) on a real kernel.

A real kernel cannot hold a task at a preemption point, but a schedule in which every thread's
command, once started, runs until it ends or sleeps in the kernel before any other step runs is a
serial order the guest helper can give: each ``start CMD`` becomes ``CMD`` at its place (a
command that sleeps becomes a job, as in the model), the ``step`` lines are that command running,
and a task a later step wakes finishes on its own: the line it ends at in the model waits for that
job on the real kernel, so that the next step comes after it there too.  The model, replayed on the preset, says after
every line which jobs have ended, sleep or are stopped mid-command; a schedule where another step
runs while a job is stopped mid-command (started and not yet run, preempted, or woken and not yet
resumed) is refused with that step and that job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..lang import Session
from ..lang.lexer import LexError, split
from ..scenario import Scenario

SCHEDULE_COMMANDS = ("start", "step", "continue")


class ScheduleError(ValueError):
    """The schedule cannot be given by running the steps in order (the reason names the step)."""


@dataclass
class Serial:
    commands: dict[int, str] = field(default_factory=dict)  # each `start` step -> its command
    skipped: set[int] = field(default_factory=set)   # `step`/`continue` lines: the command running
    closed_at: dict[int, int] = field(default_factory=dict)  # start -> the line its job ended or slept at
    status: dict[int, tuple[str, str]] = field(default_factory=dict)  # start -> the model's (status, text)
    waits: dict[int, int] = field(default_factory=dict)  # the line a woken job ended at -> its start


def has_schedule(sc: Scenario) -> bool:
    return any(_word(st.line) in SCHEDULE_COMMANDS for st in sc.steps)


def _word(line: str) -> str:
    w = line.split("#", 1)[0].split()
    return w[0] if w else ""


def _job_arg(line: str) -> int | None:
    try:
        words = [w.text for w in split(line).words]
    except LexError:
        return None
    for w in words[1:]:
        if w.startswith("%") and w[1:].isascii() and w[1:].isdigit():
            return int(w[1:])
    return None


def _state(s: Session, job: int) -> str:
    """done, asleep (in a kernel wait) or stopped (at a preemption point, runnable)."""
    j = s.jobs.get(job)
    if j is None or j.task.done:
        return "done"
    t = j.task
    return "asleep" if t.state != "R" and t.wait is not None else "stopped"


def _ended(s: Session, job: int) -> tuple[str, str]:
    """How a finished job ended: done, killed (a signal ended its task) or error, and why."""
    end = s.finished_jobs.get(job)
    if end is None or not end.error:
        return "done", ""
    return ("killed" if end.signal else "error"), end.error


def serialise(sc: Scenario, preset: str) -> Serial:
    """The serial order of ``sc``'s schedule, or ScheduleError naming the step that breaks it."""
    with Session(preset, pmem=sc.pmem, seed=sc.seed) as s:
        return _serialise(sc, s)


def _serialise(sc: Scenario, s: Session) -> Serial:
    out = Serial()
    started: dict[int, int] = {}   # job -> its start step
    open_jobs: set[int] = set()    # started jobs stopped mid-command
    asleep: set[int] = set()
    woken: set[int] = set()
    for st in sc.steps:
        word = _word(st.line)
        job = _job_arg(st.line) if word in ("step", "continue") else None
        where = f"step {st.number} `{st.line}`"
        others = sorted(open_jobs - ({job} if job is not None else set()))
        if others:
            j = others[0]
            raise ScheduleError(
                f"{where} runs while job %{j} (`{s.jobs[j].cmdline}`, started at step {started[j]}) is "
                f"stopped mid-command in the model ({s.describe_job(s.jobs[j]).split(' — ', 1)[-1]}); "
                "a real kernel cannot hold a task there: each thread's command must run until it "
                "ends or sleeps in the kernel before another step runs")
        r = s.execute(st.line)
        if word == "start":
            if r.status != "stopped" or not r.job:
                raise ScheduleError(f"{where}: the model did not start it ({r.status}: "
                                    f"{' '.join(r.text()).strip()})")
            started[r.job] = st.number
            open_jobs.add(r.job)
            out.commands[st.number] = st.line.split("#", 1)[0].strip().split(None, 1)[1]
        elif word in ("step", "continue"):
            if job is None or job not in started:
                raise ScheduleError(f"{where}: names no job this schedule started")
            out.skipped.add(st.number)
        for j in sorted(started):
            state = _state(s, j)
            if j in open_jobs and state != "stopped":
                open_jobs.discard(j)
                first = started[j] not in out.status
                if state == "asleep":
                    asleep.add(j)
                    if first:
                        out.status[started[j]] = ("blocked", "")
                elif first:
                    out.status[started[j]] = _ended(s, j)
                if first:
                    out.closed_at[started[j]] = st.number
                if j in woken and state == "done":
                    woken.discard(j)
                    out.waits[st.number] = started[j]
            elif j in asleep and state != "asleep":
                asleep.discard(j)
                if state == "stopped":  # woken: it runs on at once on a real kernel
                    open_jobs.add(j)
                    woken.add(j)
    if open_jobs:
        j = min(open_jobs)
        raise ScheduleError(f"job %{j} (`{s.jobs[j].cmdline}`, started at step {started[j]}) is left "
                            "stopped mid-command at the end; a real kernel cannot hold a task there")
    return out
