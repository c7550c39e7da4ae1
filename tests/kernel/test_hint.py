"""The kernel says why in kernel terms and what would help as data (daxsh/kernel/hint.py); it
writes no command syntax of daxsh's language into its messages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import daxsh.kernel
from daxsh.kernel import outcomes
from daxsh.kernel.config import ConfigError, KernelConfig
from daxsh.kernel.hint import AgentKind, Hint, HintKind
from daxsh.kernel.sched import msleep_interruptible
from daxsh.lang.session import Session

KERNEL = Path(daxsh.kernel.__file__).parent
# `...` quoted command syntax (a docstring's ``literal`` is reST, not a message)
COMMAND_SYNTAX = re.compile(r"(?<!`)`(?!`)")
# (module, a part of the string) that may quote command syntax, each with the reason
ALLOWED: dict[tuple[str, str], str] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = n.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _strings() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted(KERNEL.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        rel = path.relative_to(KERNEL).as_posix()
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs:
                out.append((rel, n.lineno, n.value))
    return out


def test_the_kernel_writes_no_command_syntax() -> None:
    strings = _strings()
    assert len(strings) > 1000  # the walk saw the kernel's modules
    bad = [f"{rel}:{line}: {s!r}" for rel, line, s in strings
           if COMMAND_SYNTAX.search(s) and not any(rel == r and part in s for r, part in ALLOWED)]
    assert not bad, "command syntax in the kernel (give a Hint instead):\n" + "\n".join(bad)


def test_the_scan_finds_command_syntax() -> None:
    tree = ast.parse('def f(dev):\n    """``doc``"""\n'
                     '    return f"{dev} has no filesystem: run `mkfs xfs {dev}` first"\n')
    docs = _docstrings(tree)
    found = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and id(n) not in docs and COMMAND_SYNTAX.search(n.value)]
    assert found == [" has no filesystem: run `mkfs xfs ", "` first"]


def test_hint_is_data() -> None:
    h = Hint(HintKind.MKFS, dev="/dev/pmem0")
    assert h == Hint(HintKind.MKFS, dev="/dev/pmem0") and h != Hint(HintKind.MKFS, dev="/dev/pmem1")
    assert h.kind is HintKind.MKFS and h.args == {"dev": "/dev/pmem0"}
    assert len({h, Hint(HintKind.MKFS, dev="/dev/pmem0")}) == 1


def test_a_pinned_page_edge_names_the_pin_holder_and_the_unpin_hint() -> None:
    s = Session("v6.15")
    for line in ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
                 "mmap /mnt/a 64K", "touch 0x7f0000000000 4K --write", "pin 0x7f0000000000 4K"]:
        assert s.execute(line).status == "done", line
    assert s.execute("truncate /mnt/a 0 &").status == "blocked"
    [e] = [e for e in outcomes.waits_for(s.k) if e.task is None]
    assert e.kind is AgentKind.PIN_HOLDER
    assert e.agent == "the device holding pin1"
    assert e.hint == Hint(HintKind.UNPIN, pin="pin1")
    # in kernel terms the chain names the holder only
    chain = outcomes.chain(s.k, e.waiter)
    assert "held by the device holding pin1 " in chain[0] and "`" not in "".join(chain)
    assert outcomes.outcome(s.k).outcome == "hung"


def test_a_timer_is_not_hung_by_its_kind() -> None:
    s = Session("v6.15")
    s.k.spawn("sleeper", None, lambda t: msleep_interruptible(t, 5_000_000_000), "sleeper")
    s.k.run()
    [e] = outcomes.waits_for(s.k)
    assert e.kind is AgentKind.TIME and e.agent == "time" and e.hint == Hint(HintKind.PASS_TIME)
    assert outcomes.outcome(s.k).outcome == "clean"


@pytest.mark.parametrize("spec, msg", [
    ("v9.9", "unknown kernel preset 'v9.9'; did you mean v5.9?"),
    ("v6.15 +dax-refcount0", "unknown behaviour 'dax-refcount0'; did you mean +dax-refcount-0?"),
])
def test_config_error_carries_its_hint(spec: str, msg: str) -> None:
    with pytest.raises(ConfigError) as ei:
        KernelConfig.parse(spec)
    assert str(ei.value) == msg
    assert ei.value.hint == Hint(HintKind.LIST_KERNELS)
