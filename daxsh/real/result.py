"""What a run did, as plain data, on either side: the real kernel's (parsed from the guest
helper's serial lines and the console) and the model's (from ``daxsh.scenario.run``).

Outcomes use the model's words (``daxsh.kernel.outcomes``): oops > corruption > hung > clean, with
``killed`` listing the processes a signal ended.  On a real kernel: *oops* is a ``BUG:``,
``Oops:``, ``kernel BUG at`` or ``general protection fault`` line in the log (a WARNING is not);
*corruption* is a file holding bytes it was never written (each file is written with a byte of
its own, the device's data is 0xdd); *hung* is a job still asleep in the kernel when the steps are
done, or a guest that stopped answering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..kernel.outcomes import SEVERITY

OOPS = re.compile(r"\bBUG: |\bOops: |kernel BUG at|general protection fault|Kernel panic")
RELEVANT = re.compile(r"XFS|EXT4|[Dd][Aa][Xx]|Memory failure|MCE|BUG|Oops|WARNING|RIP:|pmem|nbd|"
                      r"SIGBUS|[Ss]hut|Killing|hung|blocked for more|Call Trace|^ +[a-z_]+\+0x|"
                      r"nd_pmem|dax_|fs/|mm/|ERROR|error")


@dataclass
class StepResult:
    number: int
    line: str
    status: str              # done, blocked, error, killed (real); the model's statuses on its side
    text: str = ""           # errno, wait site, signal
    output: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.number, "line": self.line, "status": self.status, "text": self.text,
                "output": self.output}


@dataclass
class Side:
    outcome: str
    steps: list[StepResult]
    killed: list[str]
    dmesg: list[str]
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "steps": [s.to_json() for s in self.steps],
                "killed": self.killed, "dmesg": self.dmesg, "details": self.details}


def relevant(lines: list[str], limit: int = 60) -> list[str]:
    out = [x for x in lines if RELEVANT.search(x) and "Modules linked in" not in x and "Linux version" not in x]
    return out[:limit]


def parse_real(proto: list[str], console: str, lines: dict[int, str], ended: bool,
               stalled: bool) -> Side:
    """The real run from the helper's lines; ``lines`` maps step numbers to scenario lines."""
    steps: dict[int, StepResult] = {}
    killed: list[str] = []
    details: list[str] = []
    dmesg: list[str] = []
    hung: list[str] = []
    corrupt: list[str] = []
    for raw in proto:
        tag, _, rest = raw.partition(" ")
        if tag == "STEP":
            n, _, rest = rest.partition(" ")
            status, _, text = rest.partition(" ")
            steps[int(n)] = StepResult(int(n), lines.get(int(n), "?"), status, text)
        elif tag == "OUT":
            n, _, text = rest.partition(" ")
            if int(n) in steps:
                steps[int(n)].output.append(text)
        elif tag == "JOB":
            n, _, rest = rest.partition(" ")
            status, _, text = rest.partition(" ")
            note = f"[step {n}] {status}: {text}"
            if int(n) in steps:
                steps[int(n)].output.append(f"job {status}: {text}")
            if status == "waiting":
                hung.append(f"step {n} `{lines.get(int(n), '?')}` still sleeps: {text}")
            else:
                details.append(note)
        elif tag == "KILLED":
            name, pid, sig, code = ([*rest.split(), "", "", "", ""])[:4]
            killed.append(f"{name}:{pid} killed by SIG{sig}" + (f" ({code})" if code not in ("", "-") else ""))
        elif tag == "CORRUPT":
            path, off, byte, count = ([*rest.split(), "", "", "", ""])[:4]
            what = "the device's data" if byte == "0xdd" else f"byte {byte}"
            note = (f"{path} holds {count} byte(s) it was never written ({what}), from offset {off}")
            if note not in corrupt:
                corrupt.append(note)
        elif tag == "DMESG":
            dmesg.append(rest)
    if not ended:
        # the helper did not finish: the console is all the kernel log there is
        body = console.split("daxsh: steps begin", 1)[-1] if "daxsh: steps begin" in console else console
        dmesg = [re.sub(r"^\[ *\d+\.\d+\] ", "", x) for x in body.splitlines() if x.startswith("[")]
        if stalled:
            hung.append("the guest stopped answering (a watchdog ended the run)")
    found = {}
    if any(OOPS.search(x) for x in dmesg) or any(OOPS.search(x) for x in console.splitlines()):
        found["oops"] = next((x for x in dmesg if OOPS.search(x)), "oops on the console")
    if corrupt:
        found["corruption"] = corrupt[0]
    if hung:
        found["hung"] = hung[0]
    if "oops" in found:
        # a task that oopses is ended by the kernel with SIGKILL (oops_end -> make_task_dead);
        # no step sends SIGKILL without `kill -KILL`, which the step's own line shows
        for st in steps.values():
            if st.status == "killed" and st.text.startswith("SIGKILL") and "kill" not in st.line:
                st.status, st.text = "error", "the task died in the oops (SIGKILL)"
    outcome = next((s for s in SEVERITY if s in found), "clean")
    return Side(outcome, [steps[n] for n in sorted(steps)], killed, relevant(dmesg),
                details + corrupt + hung)


def model_side(report: Any) -> Side:
    """The model's run (a ``daxsh.scenario.RunReport`` kept with its session)."""
    steps = []
    for s in report.steps:
        status = s.status
        text = s.output[-1].strip() if s.output and status != "done" else ""
        if status == "error" and any("killed by SIG" in x for x in s.output):
            status = "killed"
            text = next(x for x in s.output if "killed by SIG" in x).strip()
        steps.append(StepResult(s.number, s.line, status, text, list(s.output)))
    log = report.session.k.dmesg.format() if report.session is not None else []
    return Side(report.outcome, steps, list(report.killed), relevant(log), list(report.details))
