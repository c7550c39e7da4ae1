"""``daxsh run FILE ...`` and ``daxsh < script``: replay without any UI library.

Every file runs, even when another is invalid; one summary line follows (``N passed, N failed,
N invalid``, and ``N undecided`` when a race's search could not decide).  Exit status: 2 when a
file is invalid (the file, the step and its line are named), else 1 when an expectation does
not hold (each failure is named), else 3 when a race is undecided, else 0.
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ..kernel.config import ConfigError, KernelConfig
from ..lang import Session
from ..lang.hints import error_text
from ..lang.lexer import parse_number
from ..scenario.junit import junit_xml
from ..scenario.load import ScenarioError, from_script, load, read_text
from ..scenario.run import Judge, RunReport, run, search_limits_error

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_UNDECIDED = 0, 1, 2, 3


RUN_GC_THRESHOLDS = (20_000, 50, 1_000)  # gc.set_threshold for `daxsh run`; see main()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="daxsh run", description="Replay scenarios (TOML) or "
                                "scripts of command lines and check their expectations; "
                                "a scenario's [threads] race is explored and its verdict judged.")
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario .toml, or a text file of "
                   "command lines ('-' reads standard input)")
    p.add_argument("--kernel", metavar="SPEC", help="run on this kernel instead of the ones the "
                   "file names, e.g. 'v6.14' or 'v6.14 +dax-break-layout-final'")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-v", "--verbose", action="store_true", help="print every step and its output")
    p.add_argument("-k", metavar="PATTERN", dest="pattern", help="run only the files and kernels "
                   "whose 'FILE [KERNEL] TITLE' contains PATTERN (or matches it as a glob: *, ?)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML: one testcase per file and "
                   "kernel")
    p.add_argument("--budget", type=int, metavar="N", help="a [threads] race: at most N "
                   "executions of its search (then undecided, exit 3, unless decided)")
    p.add_argument("--time-limit", type=float, metavar="SECS", help="a [threads] race: stop "
                   "its search after SECS seconds (then undecided unless decided)")
    p.add_argument("--trace-out", metavar="FILE", help="write each run's trace: .json is the "
                   "Chrome/Perfetto trace-event format, .txt the text `trace-cmd report` prints "
                   "(with several runs, the file and kernel are added to the name)")
    return p


def selected(pattern: str | None, path: str, kernel: str, title: str) -> bool:
    """Does ``-k PATTERN`` select this file on this kernel?"""
    if not pattern:
        return True
    text = f"{path} [{kernel}] {title}"
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(text, pattern if pattern.startswith("*") else f"*{pattern}*")
    return pattern.lower() in text.lower()


def main(argv: list[str], judge: Judge | None = None) -> int:
    """``daxsh run``; ``judge`` decides the [threads] races (the explorer's, given by the
    entry point)."""
    args = parser().parse_args(argv)
    # The model keeps many small long-lived objects (the trace buffer's arguments, up to its
    # bound, the page tables, the pins): with the default thresholds the cyclic collector's
    # full passes grow with them and a long script runs slower per line as it goes.  Rarer
    # passes keep a script's time linear in its length (benchmarks/bench_script.py).
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    wrong = search_limits_error("daxsh run", args.budget, args.time_limit)
    if wrong:
        print(wrong, file=sys.stderr)
        return EXIT_INVALID
    kernel = None
    if args.kernel:
        try:
            kernel = KernelConfig.parse(args.kernel).spec
        except ConfigError as e:
            print(f"daxsh run: --kernel: {error_text(e)}", file=sys.stderr)
            return EXIT_INVALID
    for out in (args.junit, args.trace_out):
        if out and not Path(out).resolve().parent.is_dir():
            print(f"daxsh run: cannot write {out}: no directory {Path(out).resolve().parent}",
                  file=sys.stderr)
            return EXIT_INVALID
    if args.trace_out and Path(args.trace_out).suffix not in (".json", ".txt"):
        print(f"daxsh run: --trace-out {args.trace_out}: name a .json file (Chrome/Perfetto "
              "trace events) or a .txt file (trace-cmd report text)", file=sys.stderr)
        return EXIT_INVALID
    reports: list[RunReport] = []
    invalid: list[tuple[str, str]] = []  # (file, message)
    counts = {"passed": 0, "failed": 0, "invalid": 0, "undecided": 0}
    deselected = 0
    for path in args.files:
        file_reports: list[RunReport] = []
        try:
            sc = from_script(read_text(sys.stdin.buffer, "<stdin>"), "<stdin>") if path == "-" \
                else load(path)
            specs = [kernel] if kernel else sc.kernels()
            chosen = [x for x in specs if selected(args.pattern, path, x, sc.title)]
            deselected += len(specs) - len(chosen)
            if not chosen:
                continue
            for spec in chosen:
                rep = run(sc, spec, keep_session=bool(args.trace_out), judge=judge,
                          time_limit=args.time_limit, budget=args.budget)
                file_reports.append(rep)
                if not args.json:
                    _print_report(rep, args.verbose)
                    sys.stdout.flush()
        except ScenarioError as e:
            invalid.append((path, str(e)))
            counts["invalid"] += 1
            print(f"daxsh run: {e}", file=sys.stderr)
            continue
        except KeyboardInterrupt:
            print(f"daxsh run: interrupted in {path}", file=sys.stderr)
            return EXIT_UNDECIDED
        reports += file_reports
        status = ("failed" if any(r.failures for r in file_reports) else
                  "undecided" if any(r.undecided for r in file_reports) else "passed")
        counts[status] += 1
    unwritten = False  # an output asked for and not delivered: the run is not a success
    try:
        if args.trace_out:
            _write_traces(args.trace_out, reports)
    except OSError as e:
        print(f"daxsh run: --trace-out NOT written: {e.filename or args.trace_out}: {e.strerror}",
              file=sys.stderr)
        unwritten = True
    if args.junit:
        try:
            Path(args.junit).write_text(junit_xml(reports, invalid), encoding="utf-8")
        except OSError as e:
            print(f"daxsh run: --junit NOT written to {args.junit}: {e.strerror}", file=sys.stderr)
            unwritten = True
    summary = f"{counts['passed']} passed, {counts['failed']} failed, {counts['invalid']} invalid"
    if counts["undecided"]:
        summary += f", {counts['undecided']} undecided"
    if deselected:
        summary += f", {deselected} deselected"
    if args.json:
        obj: dict[str, Any] = dict(reports[0].to_json()) if len(reports) == 1 else {}
        obj["ok"] = not invalid and all(r.ok for r in reports)
        obj["summary"] = counts
        obj["runs"] = [r.to_json() for r in reports]
        obj["invalid"] = [{"file": f, "error": m} for f, m in invalid]
        if invalid and len(args.files) == 1:
            obj["error"] = invalid[0][1]
        print(json.dumps(obj, indent=2))
    else:
        print(summary)
    if counts["invalid"]:
        return EXIT_INVALID
    if counts["failed"]:
        return EXIT_FAILED
    return EXIT_UNDECIDED if counts["undecided"] or unwritten else EXIT_OK


def _write_traces(out: str, reports: list[RunReport]) -> None:
    from ..lang.traceout import write_trace
    target = Path(out)
    for r in reports:
        if r.verdict is not None:
            print(f"trace: {r.scenario.path} [{r.kernel}]: a race has no one trace; "
                  "`daxsh explore FILE --trace-out FILE` writes its counterexample's",
                  file=sys.stderr)
    with_session = [r for r in reports if r.session is not None]
    for r in with_session:
        path = target
        if len(with_session) > 1:
            stem = Path(r.scenario.path).stem
            path = target.with_name(f"{target.stem}.{stem}.{r.kernel.replace(' ', '_')}"
                                    f"{target.suffix}")
        assert r.session is not None
        n = write_trace(r.session.k, path)
        r.session.close()
        print(f"trace: {n} events written to {path}", file=sys.stderr)


def _n(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _print_report(r: RunReport, verbose: bool) -> None:
    ex = r.expect
    title = f" — {r.scenario.title}" if r.scenario.title else ""
    print(f"{r.scenario.path} [{r.kernel}]{title}")
    if r.verdict is not None:
        v = r.verdict
        c = v.counts
        counts = (f" ({_n(c['traces'], 'trace')}, {_n(c['executions'], 'execution')})"
                  if c else "")
        print(f"  verdict: {v.line}{counts}")
        print(f"  {v.expectation}")
        if r.undecided:
            print(f"  undecided ({v.reason}){counts} so far")
        for d in v.details[:3]:
            print(f"    {d}")
        for f in r.failures:
            print(f"  FAIL: {f}")
        return
    want = f" (expected {ex.outcome})" if ex is not None and ex.outcome else ""
    mark = "ok" if r.ok else "FAILED"
    if verbose:
        for s in r.steps:
            print(f"  {s.number:>3} [{s.status:<7}] {s.line}")
            for line in s.output:
                for sub in line.splitlines():
                    print(f"        {sub}")
    else:
        for s in r.steps:
            if s.status != "done":
                out = s.output[-1].strip() if s.output else ""
                print(f"  step {s.number} `{s.line}`: {s.status}{': ' + out[:150] if out else ''}")
    print(f"  outcome: {r.outcome}{want}  {mark}")
    for d in r.details[:5]:
        print(f"    {d}")
    for k in r.killed:
        print(f"    killed: {k}")
    for f in r.failures:
        print(f"  FAIL: {f}")


def run_stream(stream: TextIO, kernel: str | None = None, pmem: str | None = None,
               seed: int = 0) -> int:
    """``daxsh < script``: run each line as the shell would, print what it prints."""
    try:
        spec = KernelConfig.parse(kernel or "").spec
        size = parse_number(pmem) if pmem else 1 << 30
    except (ConfigError, ValueError) as e:
        print(f"daxsh: {error_text(e)}", file=sys.stderr)
        return 2
    s = Session(spec, pmem=size, seed=seed)
    status = 0
    source = getattr(stream, "buffer", None)
    for n, raw in enumerate(source if source is not None else stream, 1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                print(f"daxsh: stdin line {n}: not UTF-8 text (byte 0x{raw[e.start]:02x} at "
                      f"column {e.start + 1}); the line is not run", file=sys.stderr)
                status = 2
                continue
        line = raw.rstrip("\r\n")
        if not line.strip() or line.strip().startswith("#"):
            continue
        r = s.execute(line)
        for x in [*r.output, *(n.text for n in r.notices)]:
            print(x)
        if r.error:
            if r.caret:
                print(r.caret, file=sys.stderr)
            print(r.error, file=sys.stderr)
            status = max(status, 1)
    s.close()
    sys.stdout.flush()
    return status
