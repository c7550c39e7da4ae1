"""``daxsh explore FILE``: decide a scenario's race over the interleavings of its threads.

Prints, for each kernel the scenario names (or ``--kernel``), the verdict with Positive/Negative
counts as herd7 does, the executions explored against the interleavings that exist, the time,
and whether the verdict is the one the scenario expects.  Exit status: 0 every verdict matches,
1 one does not, 2 invalid input (130 interrupted).

A counterexample (a bad execution) is shrunk and written as a scenario that pins the schedule
when the verdict does not match the expectation, or when ``--out``, ``--itf`` or ``--shrink``
asks for it; otherwise the fewest-preemption bad schedule found is summarised.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .runner import Machine, Problem, ProblemError
from .scenarios import Invalid as _Invalid
from .scenarios import problems, verdict_matches
from .search import MODES, Execution, Result, explore

EXIT_OK, EXIT_MISMATCH, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="daxsh explore",
        description="Decide a race over every interleaving of a scenario's [threads] at the "
                    "model's preemption points (herd7-style verdict: never/sometimes/always).")
    p.add_argument("file", help="scenario (TOML) with setup, [threads] and [expect] bad/verdict")
    p.add_argument("--kernel", metavar="K", help="explore on this kernel only (default: every "
                   "kernel the scenario names)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--mode", choices=MODES, default="dpor",
                   help="dpor (default): partial-order reduction; dfs: plain enumeration; bfs: "
                        "also a counterexample with the fewest preemptions; random, pct: sampling")
    p.add_argument("--preemptions", type=int, metavar="N", help="at most N preemptions")
    p.add_argument("--seed", type=int, default=0, help="seed of random and pct (default 0)")
    p.add_argument("--budget", type=int, metavar="N",
                   help="at most N executions (random/pct default 1000)")
    p.add_argument("--time-limit", type=float, metavar="SECS", help="stop after SECS seconds")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes")
    p.add_argument("--pct-depth", type=int, default=3, metavar="D", help=argparse.SUPPRESS)
    p.add_argument("--shrink", action="store_true", help="always shrink a counterexample")
    p.add_argument("--no-shrink", action="store_true", help="never shrink")
    p.add_argument("--out", metavar="FILE", help="write the counterexample as a scenario "
                   "(with several kernels, the kernel is added to the name)")
    p.add_argument("--itf", metavar="FILE", help="write the counterexample trace as ITF JSON")
    p.add_argument("--trace", action="store_true",
                   help="print the counterexample's kernel functions, thread by thread")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.jobs < 1 or (args.budget is not None and args.budget < 1) or \
            (args.preemptions is not None and args.preemptions < 0):
        print("daxsh explore: --jobs and --budget must be positive, --preemptions >= 0",
              file=sys.stderr)
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
        reports.append(rep)
        if not args.json:
            print("\n".join(rep.pop("_text")))
        else:
            rep.pop("_text")
        if rep["interrupted"]:
            status = EXIT_INTERRUPTED
            break
        if not rep["ok"] and status == EXIT_OK:
            status = EXIT_MISMATCH
    if args.json:
        top = dict(reports[0]) if reports else {}
        top["file"] = args.file
        top["ok"] = all(r["ok"] for r in reports)
        top["runs"] = reports
        print(json.dumps(top, indent=2))
    return status


def _progress_bar(prob: Problem) -> tuple[Any, Any]:
    """A rich progress line on a terminal (rich is imported only here)."""
    if not sys.stderr.isatty():
        return None, None
    try:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    except ImportError:  # pragma: no cover
        return None, None
    prog = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)
    task = prog.add_task(f"exploring on {prob.kernel}")
    t0 = time.monotonic()

    def cb(res: Result) -> None:
        rate = res.executions / max(time.monotonic() - t0, 1e-9)
        prog.update(task, description=f"exploring on {prob.kernel}: {res.executions} executions "
                    f"({rate:.0f}/s), positive {res.positive}, negative {res.negative}")

    return prog, cb


def explore_one(prob: Problem, expected: str | None, args: argparse.Namespace) -> dict[str, Any]:
    machine = Machine(prob)
    prog, cb = _progress_bar(prob) if not args.json else (None, None)
    if prog is not None:
        prog.start()
    try:
        res = explore(machine, mode=args.mode, preemptions=args.preemptions, seed=args.seed,
                      budget=args.budget, jobs=args.jobs, time_limit=args.time_limit,
                      progress=cb)
    finally:
        if prog is not None:
            prog.stop()
    verdict = res.verdict
    decided = verdict_matches(res, expected)
    ok = decided is True
    text = _summary(prob, res, expected, decided)
    rep: dict[str, Any] = {
        "kernel": prob.kernel,
        "bad": prob.describe_bad(),
        "verdict": verdict,
        "expected": expected,
        "ok": ok,
        "decided": decided is not None,
        "positive": res.positive,
        "negative": res.negative,
        "executions": res.executions,
        "interleavings": res.interleavings,
        "interleavings_exact": res.interleavings_exact,
        "exhaustive": res.exhaustive and not res.bounded,
        "preemption_bound": args.preemptions,
        "mode": res.mode,
        "outcomes": dict(res.outcomes),
        "sleep_set_blocked": res.blocked,
        "time": round(res.elapsed, 4),
        "interrupted": res.interrupted,
        "counterexample": None,
    }
    ex = res.best_bad
    if ex is not None:
        want_full = (not ok) or args.shrink or args.out or args.itf or args.trace
        cx, lines = _counterexample(prob, machine, ex, res, args,
                                    shrink_it=bool(want_full) and not args.no_shrink,
                                    full=bool(want_full))
        rep["counterexample"] = cx
        text += lines
    rep["_text"] = text
    return rep


def _summary(prob: Problem, res: Result, expected: str | None, ok: bool | None) -> list[str]:
    name = prob.title or Path(prob.path).stem
    out = [f"Test {name} on {prob.kernel}: bad = {prob.describe_bad()}"]
    out.append(f"States {len(res.outcomes)}")
    for o, n in sorted(res.outcomes.items()):
        out.append(f"  {o:<12} {n}")
    word = {"never": "Never", "sometimes": "Sometimes", "always": "Always"}[res.verdict]
    out.append(f"{word}  (Positive: {res.positive}, Negative: {res.negative})")
    inter = "?" if res.interleavings is None else \
        (str(res.interleavings) if res.interleavings_exact else f"~{res.interleavings}")
    factor = ""
    if res.interleavings and res.executions and res.exhaustive and not res.bounded:
        factor = f", {res.interleavings / res.executions:.1f}x fewer"
    how = res.mode + (f", <= {res.bound} preemptions" if res.bounded else "")
    out.append(f"Executions {res.executions} of {inter} interleavings ({how}{factor}), "
               f"{res.elapsed:.2f} s")
    if not res.exhaustive or res.bounded:
        why = "interrupted" if res.interrupted else "budget or time limit" if res.budget_hit else \
            "preemption bound" if res.bounded else "sampling"
        out.append(f"  (not exhaustive: {why})")
    if res.interrupted:
        out.append("  interrupted: the counts are what was explored so far")
    if expected is None:
        out.append("Expected: (no verdict in [expect])")
    elif ok is None:
        out.append(f"Expected: {expected} -> UNDECIDED (the search was not exhaustive)")
    else:
        out.append(f"Expected: {expected} -> {'ok' if ok else 'MISMATCH'}")
    return out


def _counterexample(prob: Problem, machine: Machine, ex: Execution, res: Result,
                    args: argparse.Namespace, shrink_it: bool, full: bool
                    ) -> tuple[dict[str, Any], list[str]]:
    from .shrink import itf, pin_schedule, scenario_text, shrink, trace_lines, verify
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
            path.write_text(text, encoding="utf-8")
            out.append(f"  written to {path}")
        else:
            out.append("  as a scenario (--out FILE writes it):")
            out += ["    " + x for x in text.splitlines() if x.startswith("  ") and '"' in x
                    and "# setup" not in x]
        if args.itf:
            Path(args.itf).write_text(json.dumps(itf(cmachine, cex), indent=1), encoding="utf-8")
            out.append(f"  ITF trace written to {args.itf}")
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
