"""Counterexamples: shrink them, write them as scenarios that pin the schedule, show their trace,
export them as ITF JSON.

Shrinking is delta debugging (Zeller's ddmin) over the setup lines and the thread lines while a
bad execution still exists (each candidate is searched with DPOR, stopping at the first bad
execution), then the fewest preemptions (iterative context bounding on what is left).

A schedule is written as ordinary scenario steps: each thread line becomes ``start LINE`` (a job
stopped before its first step) at the moment the thread would begin it, and each run of steps of
one thread becomes ``step %N K``.  Every job is stopped, so ``daxsh run`` of the scenario runs
exactly the explored interleaving.  Between two lines of a thread the explorer has a preemption
point (the return to user space); in the written scenario that is the gap between the job of one
line ending and the ``start`` of the next.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..kernel.footprint import Footprint
from ..lang.session import DONE
from .runner import TIME, Machine, Problem, ProblemError, Run
from .search import Execution, Limits, Result, Stop, shortest_bad


@dataclass
class Pinned:
    """A schedule written as command lines (``start``/``step``) with who each line belongs to."""

    lines: list[tuple[str, str]] = field(default_factory=list)  # (command line, comment)


def pin_schedule(machine: Machine, schedule: list[str]) -> Pinned:
    """``schedule`` as command lines: ``start LINE`` when a thread begins a line (the job is
    created stopped), ``step %N K`` for the K preemption points its events ran through in a
    row, ``sleep S`` where model time passed.  A ``step`` ends where the kernel's own tasks
    ran within an event (the shell runs them after each command), and a line is preceded by
    ``proc NAME`` when its thread runs in another process than the last line did."""
    run = Run(machine)
    s = run.s
    out = Pinned()
    next_job = machine.next_job
    job_of: dict[int, int] = dict(run.jobs)  # tid -> job number
    proc = s.proc_name
    last: list[Any] = [None, 0, ""]  # job, points, comment

    def flush() -> None:
        if last[0] is not None:
            out.lines.append((f"step %{last[0]} {last[1]}", last[2]))
        last[0] = None

    for p in schedule:
        if p not in run.enabled():
            raise ValueError(f"the schedule runs {p}, which cannot run there")
        if p == TIME:
            flush()
            t0 = run.k.clock.now
            run.step(p)
            secs = (run.k.clock.now - t0) / 1e9
            out.lines.append((f"sleep {secs:.9f}".rstrip("0").rstrip("."), "time passes"))
            continue
        t = run.cur[p]
        if t is not None:
            e = run.step(p)
            job = job_of[t.tid]
            if last[0] != job:
                flush()
                last[:] = [job, 0, f"[{p}]"]
            last[1] += e.points
            if e.kernel or e.result != "point":
                flush()
            continue
        marks = run.marks[p]
        n0 = len(marks)
        i = run.next_line[p]
        text = run.lines[p][i].replace("$_", run.ctx[p].last) if "$_" in run.lines[p][i] \
            else run.lines[p][i]
        flush()
        if run.ctx[p].proc != proc:
            out.lines.append((f"proc {run.ctx[p].proc}", f"[{p}] runs in process {run.ctx[p].proc}"))
            proc = run.ctx[p].proc
        e = run.step(p)
        m = marks[n0]
        if not m.syscall:
            ended = marks[n0 + 1] if len(marks) > n0 + 1 else None
            if ended is not None and ended.status != DONE:
                out.lines.append(("", f"[{p}] {text}: {ended.message} (the thread ends)"))
            else:
                out.lines.append((text, f"[{p}]"))
            proc = run.ctx[p].proc
            continue
        out.lines.append((f"start {text}", f"[{p}] job %{next_job}"))
        job_of[e.tid] = next_job
        last[:] = [next_job, e.points, f"[{p}]"]
        if e.kernel or e.result != "point" or run.cur[p] is None:
            flush()
        next_job += 1
    flush()
    run.close()
    return out


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def scenario_text(prob: Problem, ex: Execution, pinned: Pinned, note: str = "") -> str:
    """The counterexample as a scenario file (TOML)."""
    title = f"counterexample: {prob.title or prob.path or 'scenario'}"
    desc = [f"Found by `daxsh explore {prob.path}` on kernel {prob.kernel or 'default'}: "
            f"{ex.outcome} in {len(ex.schedule)} steps with {ex.preemptions} preemption(s).",
            "Every thread line is a job started stopped; `step %N K` runs the schedule exactly."]
    if note:
        desc.append(note)
    for t in sorted(set(ex.schedule)):
        if t in prob.threads:
            desc.append(f"  {t}: " + "; ".join(prob.threads[t]))
    if ex.details:
        desc.append("Outcome: " + ex.details[0])
    desc.append("(pids differ from the explorer's: it gives each thread its own pid range)")
    lines = [f"title = {_q(title)}",
             'description = """\n' + "\n".join(d.replace('"""', "'''") for d in desc) + '\n"""']
    if prob.kernel:
        lines.append(f"kernel = {_q(prob.kernel)}")
    lines.append("steps = [")
    for text in prob.setup:
        lines.append(f"  {_q(text)},  # setup")
    for text, comment in pinned.lines:
        if text:
            lines.append(f"  {_q(text)},  # {comment}" if comment else f"  {_q(text)},")
        else:
            lines.append(f"  # {comment}")
    bad = prob.bad
    expect = [f"outcome = {_q(ex.outcome)}"]
    if bad is not None and bad.dmesg is not None:
        expect.append(f"dmesg = [{_q(bad.dmesg)}]")
    if bad is not None and bad.query is not None:
        # the bad condition on the final state, checked as the last step's output
        out = f", output = {_q(bad.contains)}" if bad.contains is not None else ""
        lines.append(f"  {{ run = {_q(bad.query)}{out} }},  # what makes it bad")
        if bad.lacks is not None:
            number = len(prob.setup) + sum(1 for text, _c in pinned.lines if text) + 1
            expect.append(f"no_output = {{ {number} = {_q(bad.lacks)} }}")
    lines.append("]")
    mach = []
    if prob.pmem != 1 << 30:
        mach.append(f"pmem = {_q(hex(prob.pmem))}")
    if prob.seed:
        mach.append(f"seed = {prob.seed}")
    if mach:
        lines += ["", "[machine]", *mach]
    lines += ["", "[expect]", *expect]
    return "\n".join(lines) + "\n"


def verify(text: str, kernel: str) -> tuple[bool, str]:
    """Replay a written counterexample with the scenario runner: (reproduced, why not)."""
    from ..scenario import ScenarioError, loads
    from ..scenario import run as run_scenario
    try:
        sc = loads(text, "<counterexample>")
        rep = run_scenario(sc, kernel or sc.kernels()[0])
    except ScenarioError as e:
        return False, str(e)
    return rep.ok, "; ".join(rep.failures)


# -- shrinking ---------------------------------------------------------------------------------


@dataclass
class Shrunk:
    problem: Problem
    execution: Execution
    tests: int
    elapsed: float


def _items(p: Problem) -> list[tuple[str, int]]:
    return [("", i) for i in range(len(p.setup))] + \
           [(t, i) for t, ls in p.threads.items() for i in range(len(ls))]


def _build(p: Problem, items: list[tuple[str, int]]) -> Problem:
    keep = set(items)
    setup = [x for i, x in enumerate(p.setup) if ("", i) in keep]
    threads = {t: [x for i, x in enumerate(ls) if (t, i) in keep] for t, ls in p.threads.items()}
    return p.with_lines(setup, {t: ls for t, ls in threads.items() if ls})


def shrink(prob: Problem, time_limit: float = 10.0, budget: int = 5000) -> Shrunk | None:
    """ddmin over the lines, then fewest preemptions.  None when the problem has no bad run.

    Each test is bounded by ``budget`` executions, the whole by ``time_limit`` seconds: a
    shrink that ends within them (every shipped scenario's does, in under a second) gives
    the same result every time; one cut short by the clock keeps the smallest found so far."""
    t0 = time.monotonic()
    deadline = t0 + time_limit
    tests = [0]
    cache: dict[tuple[tuple[str, int], ...], Execution | None] = {}

    def test(items: list[tuple[str, int]]) -> Execution | None:
        key = tuple(items)
        if key in cache:
            return cache[key]
        tests[0] += 1
        cand = _build(prob, items)
        ex = None
        if cand.threads:
            try:
                m = Machine(cand)
                from .search import explore_dpor
                r = Result("dpor", cand.kernel)
                with contextlib.suppress(Stop):
                    explore_dpor(m, Limits(budget=budget, stop_on_bad=True, deadline=deadline), r)
                ex = r.best_bad
            except ProblemError:
                ex = None
        cache[key] = ex
        return ex

    items = _items(prob)
    best = test(items)
    if best is None:
        return None
    n = 2
    while len(items) >= 2 and time.monotonic() < deadline:
        chunk = max(1, len(items) // n)
        parts = [items[i:i + chunk] for i in range(0, len(items), chunk)]
        reduced = False
        for i in range(len(parts)):
            comp = [x for j, part in enumerate(parts) if j != i for x in part]
            if not comp:
                continue
            ex = test(comp)
            if ex is not None:
                items, best = comp, ex
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(n * 2, len(items))
    small = _build(prob, items)
    m = Machine(small)
    ex = shortest_bad(m, deadline=max(deadline, time.monotonic() + 2.0)) or best
    return Shrunk(small, ex, tests[0], time.monotonic() - t0)


# -- showing a trace ---------------------------------------------------------------------------


def trace_lines(machine: Machine, schedule: list[str]) -> list[str]:
    """The kernel functions each event called, with a rule where another thread takes over."""
    run = Run(machine, trace=True)
    tb = run.k.trace_buf
    out: list[str] = []
    prev = ""
    for n, p in enumerate(schedule, 1):
        en = run.enabled()
        if p not in en:
            out.append(f"(step {n}: {p} cannot run; schedule ends)")
            break
        if p != prev:
            why = " (preemption)" if prev and prev in en and prev != TIME else ""
            out.append(f"──── {p}{why} ────")
        seq = tb.seq
        e = run.step(p)
        for ev in tb.since(seq):
            out.append("  " + ev.format().strip())
        if e.result == "sleep":
            out.append(f"  ({p} sleeps)")
        prev = p
    o = run.outcome()
    run.close()
    out.append(f"outcome: {o.outcome}")
    out += [f"  {d}" for d in o.details]
    return out


def write_trace_file(machine: Machine, schedule: list[str], path: str) -> int:
    """Replay ``schedule`` with the trace on and write the threads' trace to ``path`` (.json
    trace events or .txt trace-cmd report, daxsh.lang.traceout); the number of events."""
    from ..lang.traceout import write_trace
    run = Run(machine, trace=True)
    try:
        for p in schedule:
            if p not in run.enabled():
                break
            run.step(p)
        return write_trace(run.k, path)
    finally:
        run.close()


def itf(machine: Machine, ex: Execution, description: str = "") -> dict[str, Any]:
    """The execution in the Informal Trace Format (ITF) of Apalache/Quint: one state before the
    threads run and one after each event, with the event's footprint."""
    prob = machine.problem
    run = Run(machine, trace=True)
    tb = run.k.trace_buf
    cur: dict[str, str] = {}

    def state(i: int, thread: str, result: str, fp: Footprint | None,
              trace: list[str]) -> dict[str, Any]:
        o = run.outcome()
        modes = fp.modes() if fp is not None else {}
        return {
            "#meta": {"index": i},
            "step": i,
            "thread": thread,
            "line": cur.get(thread, ""),
            "result": result,
            "footprint": {"#set": sorted(_key_str(k) for k in modes)},
            "changed": {"#set": sorted(_key_str(k) for k, m in modes.items() if m != 1)},
            "trace": trace,
            "blocked": {"#set": sorted(run.name_of(t) for t in run.sched.blocked())},
            "outcome": o.outcome,
        }

    states = [state(0, "", "", None, [])]
    for i, p in enumerate(ex.schedule, 1):
        seq = tb.seq
        marks = run.marks.get(p)
        n0 = len(marks) if marks is not None else 0
        e = run.step(p)
        if marks is not None:
            for m in marks[n0:]:
                if m.kind == "start":
                    cur[p] = run.lines[p][m.index]
        states.append(state(i, p, e.result, e.fp, [ev.format().strip() for ev in tb.since(seq)]))
    run.close()
    return {
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": prob.path,
            "description": description or f"daxsh explore: {ex.outcome} on {prob.kernel}",
            "kernel": prob.kernel,
        },
        "vars": ["step", "thread", "line", "result", "footprint", "changed", "trace", "blocked",
                 "outcome"],
        "states": states,
    }


def _key_str(k: Any) -> str:
    if isinstance(k, tuple):
        return ":".join(str(x) for x in k)
    return str(k)
