"""A stateful property test of the headless core: random sessions of commands, branches
(back, goto), replay, record and resume.  No exception escapes (a daxsh bug would be a BUG
reply), resuming the journal reproduces the state, and a recorded scenario replays to the same
outcome and blocks."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from daxsh.kernel import outcomes, views
from daxsh.lang import Session, render
from daxsh.scenario.load import load
from daxsh.shell import Core, Journal, Status, Timeline

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = str(ROOT / "scenarios" / "2018-dma-vs-truncate-xfs.toml")

LINES = [
    "mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
    "create /mnt/b 16K", "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write",
    "pin 0x7f0000000000 4K", "truncate /mnt/a 0", "truncate /mnt/a 0 &", "dma pin1",
    "unpin pin1", "punch /mnt/a 0 4K", "rm /mnt/b", "stat /mnt/a", "ls /mnt", "sync",
    "umount /mnt", "munmap 0x7f0000000000", "start truncate /mnt/a 4K", "step", "continue",
    "jobs", "why", "show pages", "sleep 1", "exit", "proc p2", "proc sh", "kernel v6.15",
    "reboot", "drop_caches", "check", "nosuch word", "touch $_ 0xffffffffffffffffffffff",
    "sleep nan", "create /mnt/c 2G", "help", "history", "branches", "diff 0", "goto main",
]


def state_of(s: Session) -> tuple[object, ...]:
    k = s.k
    return (k.config.spec, views.pages(k), views.ptes(k), views.inodes(k), views.waiters(k),
            outcomes.outcome(k).outcome, sorted(s.jobs))


class CoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="daxsh-stateful-"))
        self.journal = Journal.new(self.dir)
        tl = Timeline("v4.18", journal=self.journal)
        self.core = Core(tl)

    def teardown(self) -> None:
        self.journal.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, line: str) -> None:
        r = self.core.run(line)
        assert r.status not in (Status.BUG, Status.INTERRUPTED), (line, r.text())

    @rule(line=st.sampled_from(LINES))
    def command(self, line: str) -> None:
        self.run(line)

    @rule(k=st.integers(0, 4))
    def back(self, k: int) -> None:
        self.run(f"back {k}")

    @rule(data=st.data())
    def goto(self, data: st.DataObject) -> None:
        tl = self.core.tl
        name = data.draw(st.sampled_from(sorted(tl.branches)))
        n = data.draw(st.integers(0, len(tl.branches[name].lines)))
        self.run(f"goto {name}:{n}")

    @precondition(lambda self: len(self.core.tl.branches) < 4)
    @rule()
    def replay(self) -> None:
        self.run(f"replay {SCENARIO} v4.18")

    @rule()
    def resume_reproduces_the_state(self) -> None:
        back = Timeline.from_journal(self.journal.path)
        tl = self.core.tl
        assert (back.branch, back.pos) == (tl.branch, tl.pos)
        assert {n: b.lines for n, b in back.branches.items()} == \
            {n: b.lines for n, b in tl.branches.items()}
        assert state_of(back.session) == state_of(tl.session)

    @precondition(lambda self: bool(self.core.tl.lines))
    @rule()
    def record_replays_to_the_same_outcome(self) -> None:
        path = self.dir / "rec.toml"
        r = self.core.run(f"record {path}")
        assert r.status == Status.DONE, r.text()
        self.core.run("record stop")
        sc = load(path)
        s = Session(sc.kernels()[0], sc.pmem, sc.seed)
        for step in sc.steps:
            s.execute(step.line)
        here = self.core.tl.session
        assert outcomes.outcome(s.k).outcome == outcomes.outcome(here.k).outcome
        assert render.show(s.k, "blocks") == render.show(here.k, "blocks")
        assert len(s.jobs) == len(here.jobs)

    @invariant()
    def the_prompt_renders(self) -> None:
        assert self.core.prompt().endswith("> ")


CoreMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestCore = CoreMachine.TestCase
