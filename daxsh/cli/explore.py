"""``daxsh explore FILE``: decide a scenario's race over the interleavings of its threads.

Prints, for each kernel the scenario names (or ``--kernel``), the verdict with Positive/Negative
counts as herd7 does, the traces and executions explored, the time, and whether the verdict is
the one the scenario expects.  Exit status: 0 every verdict matches, 1 a decided verdict
contradicts what is expected, 2 invalid input, 3 a search ended undecided (budget, time limit,
Ctrl-C, preemption bound, sampling) and nothing contradicted.

A search that looks too big for this machine (:func:`daxsh.explore.search.estimate_traces`, an
upper estimate from one execution) gets a note on standard error with the estimate and what to
try instead (``--preemptions``, ``--mode random``...).  The note comes once the search has run
``WARN_AFTER_S`` seconds, not before it starts: the estimate counts every order of conflicting
events, and the search often decides such a race in milliseconds (one bad and one good
execution), where a warning would only mislead.
On a terminal a progress line runs on standard error; elsewhere a line every 10 s says how far
the search is.  Ctrl-C ends the search (every worker of ``--jobs``) and prints what it found,
``undecided (interrupted)``.

A counterexample (a bad execution) is shrunk and written as a scenario that pins the schedule
when the verdict does not match the expectation, or when ``--out``, ``--itf`` or ``--shrink``
asks for it; otherwise the fewest-preemption bad execution found is summarised.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..explore.cluster import ClusterError
from ..explore.report import expectation_line, search_line, verdict_line, verdict_matches
from ..explore.runner import Machine, Problem, ProblemError
from ..explore.scenarios import Invalid as _Invalid
from ..explore.scenarios import problems
from ..explore.search import MODES, Execution, Result, estimate_traces, explore

EXIT_OK, EXIT_MISMATCH, EXIT_INVALID, EXIT_UNDECIDED = 0, 1, 2, 3
TOO_BIG = 200_000  # estimated traces past which the search is said to be too big
WARN_AFTER_S = 2.0  # ... once it has run this long
QUIET_PROGRESS_S = 10.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="daxsh explore",
        description="Decide a race over every interleaving of a scenario's [threads] at the "
                    "model's preemption points (herd7-style verdict: never/sometimes/always, "
                    "or undecided with the reason when the search was cut short).")
    p.add_argument("file", help="scenario (TOML) with setup, [threads] and [expect] bad/verdict")
    p.add_argument("--kernel", metavar="K", help="explore on this kernel only (default: every "
                   "kernel the scenario names)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--mode", choices=MODES, default="auto",
                   help="auto (default): bug hunting with 0, 1, 2 preemptions, then optimal "
                        "DPOR over every trace; dpor: optimal DPOR only; dfs: plain "
                        "enumeration; random, pct: sampling (never decides never/always)")
    p.add_argument("--preemptions", type=int, metavar="N",
                   help="at most N preemptions (the search is then not exhaustive)")
    p.add_argument("--seed", type=int, default=0, help="seed of random and pct (default 0)")
    p.add_argument("--budget", type=int, metavar="N",
                   help="at most N executions (random/pct default 1000)")
    p.add_argument("--time-limit", type=float, metavar="SECS", help="stop after SECS seconds")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run the search's shares on a Dask cluster (scheduler address, e.g. "
                        "tcp://host:8786; needs `pip install 'daxsh[cluster]'`)")
    p.add_argument("--count-all", action="store_true",
                   help="explore every trace even once the verdict is decided (full counts)")
    p.add_argument("--pct-depth", type=int, default=3, metavar="D", help=argparse.SUPPRESS)
    p.add_argument("--shrink", action="store_true", help="always shrink a counterexample")
    p.add_argument("--no-shrink", action="store_true", help="never shrink")
    p.add_argument("--out", metavar="FILE", help="write the counterexample as a scenario "
                   "(with several kernels, the kernel is added to the name)")
    p.add_argument("--itf", metavar="FILE", help="write the counterexample trace as ITF JSON")
    p.add_argument("--trace-out", metavar="FILE", help="write the counterexample's trace: .json "
                   "Chrome/Perfetto trace events, .txt trace-cmd report text")
    p.add_argument("--trace", action="store_true",
                   help="print the counterexample's kernel functions, thread by thread")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.jobs < 1 or (args.budget is not None and args.budget < 1) or \
            (args.preemptions is not None and args.preemptions < 0) or \
            (args.time_limit is not None and not args.time_limit > 0):
        print("daxsh explore: --jobs and --budget must be at least 1, --preemptions at least "
              "0 and --time-limit a positive number of seconds", file=sys.stderr)
        return EXIT_INVALID
    if (args.jobs > 1 or args.cluster) and (args.preemptions is not None or args.mode == "dfs"):
        print("daxsh explore: --jobs and --cluster split a DPOR or sampling search: leave out "
              "--preemptions and --mode dfs", file=sys.stderr)
        return EXIT_INVALID
    if args.trace_out and Path(args.trace_out).suffix not in (".json", ".txt"):
        print(f"daxsh explore: --trace-out {args.trace_out}: name a .json file (Chrome/Perfetto "
              "trace events) or a .txt file (trace-cmd report text)", file=sys.stderr)
        return EXIT_INVALID
    for out in (args.out, args.itf, args.trace_out):
        if out and not Path(out).resolve().parent.is_dir():
            print(f"daxsh explore: cannot write {out}: no directory "
                  f"{Path(out).resolve().parent}", file=sys.stderr)
            return EXIT_INVALID
    try:
        todo = problems(args.file, args.kernel)
    except _Invalid as e:
        print(f"daxsh explore: {e}", file=sys.stderr)
        return EXIT_INVALID
    args._kernels = [p.kernel for p, _v in todo]
    reports: list[dict[str, Any]] = []
    status = EXIT_OK
    for prob, expected in todo:
        try:
            rep = explore_one(prob, expected, args)
        except ProblemError as e:
            print(f"daxsh explore: {args.file} (kernel {prob.kernel}): {e}", file=sys.stderr)
            return EXIT_INVALID
        except ClusterError as e:
            print(f"daxsh explore: {e}", file=sys.stderr)
            return EXIT_UNDECIDED
        reports.append(rep)
        text = rep.pop("_text")
        if not args.json:
            _print_safely("\n".join(text))
        if rep["matches"] is False:
            status = EXIT_MISMATCH
        elif rep["matches"] is None and status == EXIT_OK:
            status = EXIT_UNDECIDED
        if rep["interrupted"]:
            break
    if args.json:
        top = dict(reports[0]) if reports else {}
        top["file"] = args.file
        top["ok"] = all(r["ok"] for r in reports)
        top["runs"] = reports
        _print_safely(json.dumps(top, indent=2))
    for what in getattr(args, "_unwritten", []):  # asked for and not delivered: not a success
        print(f"daxsh explore: cannot write {what}", file=sys.stderr)
        status = max(status, EXIT_UNDECIDED) if status != EXIT_MISMATCH else status
    return status


def _print_safely(text: str) -> None:
    """Print with Ctrl-C ignored meanwhile: a second Ctrl-C does not cut the summary."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        print(text, flush=True)
    finally:
        signal.signal(signal.SIGINT, old)


class _Progress:
    """A progress line on a terminal (rich, imported only here); elsewhere a line on standard
    error every 10 s: executions, rate, traces, and the best counterexample so far."""

    def __init__(self, prob: Problem, quiet: bool, warning: str | None = None) -> None:
        self.prob = prob
        self.warning = warning  # said once the search has run WARN_AFTER_S (even when quiet)
        self.t0 = time.monotonic()
        self.last = self.t0
        self.bar: Any = None
        self.task: Any = None
        if quiet:
            self.tty = False
            return
        self.tty = sys.stderr.isatty()
        if self.tty:
            try:
                from rich.console import Console
                from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
            except ImportError:  # pragma: no cover
                self.tty = False
                return
            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task(f"exploring on {prob.kernel}")
            self.bar.start()

    def text(self, res: Result) -> str:
        now = time.monotonic()
        rate = res.executions / max(now - self.t0, 1e-9)
        best = ""
        if res.best_bad is not None:
            best = (f"; bad found: {res.best_bad.outcome} with {res.best_bad.preemptions} "
                    f"preemption(s)")
        return (f"exploring on {self.prob.kernel}: {res.executions} executions ({rate:.0f}/s), "
                f"{res.traces} traces, positive {res.positive}, negative {res.negative}{best}")

    def __call__(self, res: Result) -> None:
        if self.warning is not None and time.monotonic() - self.t0 >= WARN_AFTER_S:
            if self.bar is not None:
                self.bar.console.print(self.warning, markup=False, highlight=False)
            else:
                print(self.warning, file=sys.stderr, flush=True)
            self.warning = None
        if self.bar is not None:
            if res.executions % 16 == 0:
                self.bar.update(self.task, description=self.text(res))
            return
        now = time.monotonic()
        if now - self.last >= QUIET_PROGRESS_S:
            self.last = now
            print(f"daxsh explore: {self.text(res)}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def explore_one(prob: Problem, expected: str | None, args: argparse.Namespace) -> dict[str, Any]:
    machine = Machine(prob)
    est = None
    warning = None
    if args.mode in ("auto", "dpor") and args.preemptions is None and not args.budget \
            and not args.time_limit:
        est = estimate_traces(machine)
        if est > TOO_BIG:
            warning = (f"daxsh explore: {prob.path} on {prob.kernel}: this race may have up to "
                       f"about {est:,} traces (an upper estimate from one execution), more than "
                       "one machine searches in reasonable time. Try --preemptions 2 (a bounded "
                       "search, for bugs), --mode random --budget N, --time-limit SECS, fewer or "
                       "shorter threads, or --jobs / --cluster.")
    progress = _Progress(prob, args.json, warning)
    try:
        res = explore(machine, mode=args.mode, preemptions=args.preemptions, seed=args.seed,
                      budget=args.budget, jobs=args.jobs, time_limit=args.time_limit,
                      progress=progress, count_all=args.count_all, cluster=args.cluster)
    finally:
        progress.stop()
    matches = verdict_matches(res, expected)
    text = _summary(prob, res, expected)
    rep: dict[str, Any] = {
        "kernel": prob.kernel,
        "bad": prob.describe_bad(),
        "verdict": res.verdict,
        "reason": res.reason,
        "decided": res.verdict != "undecided",
        "expected": expected,
        "matches": matches,
        "ok": matches is True,
        "positive": res.positive,
        "negative": res.negative,
        "traces": res.traces,
        "executions": res.executions,
        "sleep_set_blocked": res.blocked,
        "redundant": max(0, res.executions - res.blocked - res.traces),
        "counts_complete": res.complete_counts,
        "exhaustive": res.exhaustive,
        "preemption_bound": args.preemptions,
        "mode": res.mode,
        "phases": [{"phase": n, "executions": c, "time": round(t, 4)} for n, c, t in res.phases],
        "found_at": res.found_at or None,
        "outcomes": dict(res.outcomes),
        "estimated_traces": est,
        "time": round(res.elapsed, 4),
        "interrupted": res.interrupted,
        "counterexample": None,
    }
    ex = res.best_bad
    if ex is not None and not res.interrupted:
        want_full = (matches is False) or args.shrink or args.out or args.itf or args.trace \
            or args.trace_out
        cx, lines = _counterexample(prob, machine, ex, res, args,
                                    shrink_it=bool(want_full) and not args.no_shrink,
                                    full=bool(want_full))
        rep["counterexample"] = cx
        text += lines
    rep["_text"] = text
    return rep


def _summary(prob: Problem, res: Result, expected: str | None) -> list[str]:
    name = prob.title or Path(prob.path).stem
    out = [f"Test {name} on {prob.kernel}: bad = {prob.describe_bad()}"]
    out.append(f"States {len(res.outcomes)}")
    for o, n in sorted(res.outcomes.items()):
        out.append(f"  {o:<12} {n}")
    out.append(verdict_line(res))
    out.append(search_line(res))
    if res.stopped_decided:
        out.append("  (the search stopped once the verdict was decided; --count-all explores "
                   "every trace)")
    if res.found_at:
        out.append(f"  first bad execution found by: {res.found_at}")
    if res.interrupted:
        out.append("  interrupted: the counts are what was explored so far")
    out.append(expectation_line(res, expected))
    return out


def _counterexample(prob: Problem, machine: Machine, ex: Execution, res: Result,
                    args: argparse.Namespace, shrink_it: bool, full: bool
                    ) -> tuple[dict[str, Any], list[str]]:
    from ..explore.shrink import itf, pin_schedule, scenario_text, shrink, trace_lines, verify, write_trace_file
    out: list[str] = []
    cprob, cmachine, cex = prob, machine, ex
    shrunk_note = ""  # written into the scenario: no time in it, the file is deterministic
    sh = shrink(prob) if shrink_it else None
    if sh is not None:
        cprob, cex = sh.problem, sh.execution
        cmachine = Machine(cprob)
        shrunk_note = (f"shrunk ({sh.tests} tests): {_nlines(prob)} -> {_nlines(cprob)} lines, "
                       f"{ex.preemptions} -> {cex.preemptions} preemptions")
    pinned = pin_schedule(cmachine, cex.schedule)
    text = scenario_text(cprob, cex, pinned, shrunk_note)
    cx: dict[str, Any] = {
        "outcome": cex.outcome,
        "details": cex.details,
        "preemptions": cex.preemptions,
        "steps": len(cex.schedule),
        "schedule": _runs(cex.schedule),
        "found_by": ex.phase,
        "shrunk": bool(shrunk_note),
    }
    out.append(f"Counterexample: {cex.outcome}, {cex.preemptions} preemption(s), "
               f"{len(cex.schedule)} steps: " +
               ", ".join(f"{t} x{n}" for t, n in _runs(cex.schedule)))
    if cex.details:
        out.append(f"  {cex.details[0]}")
    if full:
        ok, why = verify(text, prob.kernel)
        cx["reproduces"] = ok
        cx["scenario"] = text
        if sh is not None:
            out.append(f"  {shrunk_note}, in {sh.elapsed:.2f} s")
        out.append(f"  replays with `daxsh run`: {'yes' if ok else 'NO: ' + why}")
        if args.out:
            path = Path(args.out)
            if len(getattr(args, "_kernels", [])) > 1:
                path = path.with_name(f"{path.stem}.{prob.kernel.replace(' ', '_')}{path.suffix}")
            try:
                path.write_text(text, encoding="utf-8")
                out.append(f"  written to {path}")
            except OSError as e:
                out.append(f"  NOT written to {path}: {e.strerror}")
                args._unwritten = [*getattr(args, "_unwritten", []), f"{path}: {e.strerror}"]
        else:
            out.append("  as a scenario (--out FILE writes it):")
            out += ["    " + x for x in text.splitlines() if x.startswith("  ") and '"' in x
                    and "# setup" not in x]
        if args.itf:
            try:
                Path(args.itf).write_text(json.dumps(itf(cmachine, cex), indent=1),
                                          encoding="utf-8")
                out.append(f"  ITF trace written to {args.itf}")
            except OSError as e:
                out.append(f"  ITF trace NOT written to {args.itf}: {e.strerror}")
                args._unwritten = [*getattr(args, "_unwritten", []), f"{args.itf}: {e.strerror}"]
        if args.trace_out:
            path = Path(args.trace_out)
            if len(getattr(args, "_kernels", [])) > 1:
                path = path.with_name(f"{path.stem}.{prob.kernel.replace(' ', '_')}{path.suffix}")
            try:
                n = write_trace_file(cmachine, cex.schedule, str(path))
                out.append(f"  trace ({n} events) written to {path}")
            except OSError as e:
                out.append(f"  trace NOT written to {path}: {e.strerror}")
                args._unwritten = [*getattr(args, "_unwritten", []), f"{path}: {e.strerror}"]
        if args.trace:
            out += ["    " + x for x in trace_lines(cmachine, cex.schedule)]
    return cx, out


def _nlines(p: Problem) -> int:
    return len(p.setup) + sum(len(v) for v in p.threads.values())


def _runs(schedule: list[str]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for t in schedule:
        if out and out[-1][0] == t:
            out[-1] = (t, out[-1][1] + 1)
        else:
            out.append((t, 1))
    return out
