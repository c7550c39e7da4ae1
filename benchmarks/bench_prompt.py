"""How fast the interactive front-ends answer (issue 16's speed targets).

    python benchmarks/bench_prompt.py [--runs N] [--json]

* **first prompt** (target <= 300 ms): wall time from launching ``daxsh`` on a pseudo-terminal to
  the prompt (``sh:/>``) on its screen, median of N launches; the terminal answers the cursor
  position request as a real one does;
* **TUI first frame** (target <= 400 ms): the same for ``daxsh tui`` on a 120x40 terminal, until
  the first frame (its "Page tables" pane) is on the screen;
* **slowest command at the prompt** (target <= 20 ms): every line of every shipped linear
  scenario (``scenarios/*.toml``), run through the interactive core (``Core.run``, what the
  prompt and the screen call) on each kernel the scenario names, three times; the line with
  the largest median is shown.

Like a user's installed copy, the package's modules are compiled to bytecode first and the
children run without ``PYTHONDONTWRITEBYTECODE`` (a pip install writes the bytecode; without it
every launch recompiles every module, which is what an unset-up checkout measures).  The state
directory is a fresh temporary ``HOME``.  A measurement, not a test: nothing here runs in the
test suite; the exit status is 1 when a figure is over its target.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
DAXSH = [sys.executable, "-m", "daxsh"]
TARGETS = {"first_prompt_ms": 300, "tui_first_frame_ms": 400, "slowest_command_ms": 20}


def until_on_screen(argv: list[str], mark: bytes, home: str, timeout: float = 20.0) -> float:
    """Seconds from launching ``argv`` on a 120x40 pseudo-terminal until ``mark`` is written."""
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the program on the terminal
        os.chdir(ROOT)
        os.execve(argv[0], argv, {**ENV, "HOME": home, "TERM": "xterm-256color"})
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen = b""
    try:
        while time.perf_counter() - t0 < timeout:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if b"\x1b[6n" in chunk:  # a cursor position request: answer as a terminal does
                os.write(fd, b"\x1b[1;1R")
            seen = seen[-4096:] + chunk
            if mark in seen:
                return time.perf_counter() - t0
        raise RuntimeError(f"{' '.join(argv)}: {mark!r} not on the screen after {timeout} s; "
                           f"last output: {seen[-300:]!r}")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def slowest_command(runs: int = 3) -> tuple[float, str]:
    """The slowest line's median time over ``runs`` replays (one replay's worst sample is the
    machine's noise as often as the line's cost)."""
    import daxsh.lang.commands  # noqa: F401  (registers the commands)
    from daxsh.scenario import load
    from daxsh.shell import Core, Timeline

    times: dict[tuple[str, str, int], list[float]] = {}
    lines: dict[tuple[str, str, int], str] = {}
    for _ in range(runs):
        for f in sorted((ROOT / "scenarios").glob("*.toml")):
            sc = load(f)
            if sc.threads:  # a race: `daxsh explore` decides it, it is not typed at a prompt
                continue
            for kernel in sc.kernels():
                core = Core(Timeline(kernel))
                for i, step in enumerate(sc.setup + sc.steps):
                    t0 = time.perf_counter()
                    core.run(step.line)
                    key = (f.name, kernel, i)
                    times.setdefault(key, []).append(time.perf_counter() - t0)
                    lines[key] = step.line
                core.close()
    key = max(times, key=lambda k: statistics.median(times[k]))
    return statistics.median(times[key]), f"{key[0]} {key[1]}: {lines[key]}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9, help="launches per figure (median)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "daxsh")], env=ENV,
                   check=False, capture_output=True)
    figures: dict[str, float | str] = {}
    with tempfile.TemporaryDirectory() as home:
        until_on_screen(DAXSH, b":/>", home)  # warm the file cache; not counted
        figures["first_prompt_ms"] = 1000 * statistics.median(
            until_on_screen(DAXSH, b":/>", home) for _ in range(a.runs))
        until_on_screen([*DAXSH, "tui"], b"Page tables", home)
        figures["tui_first_frame_ms"] = 1000 * statistics.median(
            until_on_screen([*DAXSH, "tui"], b"Page tables", home) for _ in range(a.runs))
    worst, where = slowest_command()
    figures["slowest_command_ms"] = 1000 * worst
    figures["slowest_command"] = where
    over = [k for k, limit in TARGETS.items() if float(figures[k]) > limit]
    if a.json:
        print(json.dumps({**figures, "over": over}))
    else:
        for k, limit in TARGETS.items():
            print(f"{k:<22} {float(figures[k]):8.1f} ms   target <= {limit} ms"
                  f"   {'OVER' if k in over else 'ok'}")
        print(f"  slowest: {where}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
