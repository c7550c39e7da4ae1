"""Run a scenario on a real kernel and on the model's matching preset, and compare them.

The model side uses only the scenario layer's public API: ``load`` and ``run`` (with the session
kept, for its log and the pmem's first data pfn).  Statuses are compared step by step (a model
step that ended its process by a signal counts as ``killed``), then the outcome, then who was
killed by which signal (and the ``si_code`` when both sides name one).  Interleavings are not
compared: a real kernel runs the steps in order once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..scenario import RunReport, Scenario, run
from .plan import Plan, make_plan
from .provision import KernelImage
from .qemu import Boot, boot
from .result import Side, StepResult, model_side, parse_real

# The model's kernel for each real kernel `daxsh real` boots.  Debian's 6.1 (6.1.192) carries a
# stable-only change mainline v6.1 never had: the 6.1.y backport of 38b43539d64b, whose
# __bio_release_pages drops an O_DIRECT bio's page references with folio_put_refs and so never
# wakes a task waiting for an fsdax page to go idle (stable-bio-put-refs); the plain v6.1 preset
# would predict a truncate that completes where the real kernel hangs.
PRESETS = {"6.1": "v6.1 +stable-bio-put-refs", "6.12": "v6.12"}


@dataclass
class Comparison:
    kernel: str
    kver: str
    preset: str
    real: Side
    model: Side
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def agree(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "kernel_release": self.kver, "preset": self.preset,
                "real": self.real.to_json(), "model": self.model.to_json(), "agree": self.agree,
                "differences": self.differences, "seconds": round(self.seconds, 1)}


def preset_for(kver: str) -> str | None:
    """v6.1 for a 6.1.x kernel, v6.12 for 6.12.x; None for a release without a preset here.
    (Mainline presets only: which 6.1.y carries a stable backport is not known from the release,
    so a PATH's 6.1.y gets plain v6.1 unless --preset says more.)"""
    m = re.match(r"(\d+)\.(\d+)", kver)
    return f"v{m.group(1)}.{m.group(2)}" if m else None


def _kill_key(text: str) -> tuple[str, str, str]:
    name = text.split(":", 1)[0]
    m = re.search(r"killed by (SIG[A-Z]+)(?: \((BUS_[A-Z_]+)\))?", text)
    return (name, m.group(1) if m else "?", (m.group(2) or "") if m else "")


def differences(real: Side, model: Side) -> list[str]:
    out: list[str] = []
    rs = {s.number: s for s in real.steps}
    for m in model.steps:
        r = rs.get(m.number)
        if r is None:
            out.append(f"step {m.number} `{m.line}`: no result from the real kernel (model: {m.status})")
            continue
        if r.status != m.status:
            out.append(f"step {m.number} `{m.line}`: real {r.status}"
                       + (f" ({r.text})" if r.text else "") + f", model {m.status}"
                       + (f" ({m.text})" if m.text else ""))
    if real.outcome != model.outcome:
        out.append(f"outcome: real {real.outcome}, model {model.outcome}")
    rk = sorted(_kill_key(x) for x in real.killed)
    mk = sorted(_kill_key(x) for x in model.killed)
    same = len(rk) == len(mk) and all(
        a[:2] == b[:2] and (not a[2] or not b[2] or a[2] == b[2]) for a, b in zip(rk, mk))
    if not same:
        out.append(f"killed: real {real.killed or 'none'}, model {model.killed or 'none'}")
    return out


def as_run_in_order(model: Side, plan: Plan) -> Side:
    """The model's side of a schedule as the real kernel runs it: each ``start`` step has the
    status its command had when it ended or first slept (``blocked``), and the ``step`` lines,
    which are that command running, are not compared."""
    serial = plan.serial
    if serial is None:
        return model
    steps = []
    for st in model.steps:
        if st.number in serial.skipped:
            continue
        if st.number in serial.commands:
            status, text = serial.status.get(st.number, (st.status, st.text))
            st = StepResult(st.number, st.line, status, text, st.output)
        steps.append(st)
    return Side(model.outcome, steps, model.killed, model.dmesg, model.details)


def prepare(sc: Scenario, preset: str) -> tuple[RunReport, Plan]:
    """The model's run on ``preset`` and the guest's steps (PlanError: it cannot run for real)."""
    rep = run(sc, preset, keep_session=True)
    return rep, make_plan(sc, rep, preset)


def compare(sc: Scenario, k: KernelImage, preset: str, keep: str | None = None,
            timeout: float = 300.0, prepared: tuple[RunReport, Plan] | None = None
            ) -> tuple[Comparison, Plan, Boot]:
    """Boot ``k`` with the scenario's steps and compare with the model on ``preset``."""
    rep, plan = prepared or prepare(sc, preset)
    b = boot(k, "".join(x + "\n" for x in plan.lines), sc.pmem, keep=keep, timeout=timeout)
    lines = {st.number: st.line for st in sc.steps}
    real = parse_real(b.proto, b.console, lines, b.ended, b.stalled)
    model = as_run_in_order(model_side(rep), plan)
    c = Comparison(k.name, k.kver, preset, real, model, differences(real, model), b.seconds)
    return c, plan, b


def booted(b: Boot) -> bool:
    """Did the guest helper start at all?  (If not, the kernel could not be run here.)"""
    return any(x.startswith("READY") for x in b.proto)
