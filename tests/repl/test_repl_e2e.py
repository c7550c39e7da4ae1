"""The shell in a real terminal: tmux for the 2018-race session (typed with Tab completion,
back, record, Ctrl-D, then `daxsh run` on the recorded file), and pexpect for SIGKILL +
``daxsh --resume``.  Polls the screen; no fixed sleeps."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import pytest

pytest.importorskip("cmd2")

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _env(state: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(XDG_STATE_HOME=str(state), NO_COLOR="1", TERM="xterm-256color",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


class Tmux:
    def __init__(self, cwd: Path, env: dict[str, str], argv: list[str]) -> None:
        self.name = f"daxsh-{uuid.uuid4().hex[:8]}"
        self.env = env
        envs = [x for k in ("XDG_STATE_HOME", "NO_COLOR", "TERM", "PYTHONPATH")
                for x in ("-e", f"{k}={env[k]}")]
        self._tmux("new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", "-c", str(cwd),
                   *envs, " ".join(argv))
        self._tmux("set-option", "-t", self.name, "remain-on-exit", "on")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-f", "/dev/null", *args], capture_output=True,
                              text=True, check=True, env=self.env).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.name)

    def last_line(self) -> str:
        lines = [x for x in self.screen().splitlines() if x.strip()]
        return lines[-1].rstrip() if lines else ""

    def wait(self, cond, what: str, timeout: float = 15.0) -> str:  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.screen()
            if cond(s):
                return s
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{self.screen()}")

    def wait_text(self, text: str, timeout: float = 15.0) -> str:
        return self.wait(lambda s: text in s, repr(text), timeout)

    def keys(self, literal: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", literal)

    def key(self, *names: str) -> None:
        self._tmux("send-keys", "-t", self.name, *names)

    def prompts(self) -> int:
        return len(re.findall(r"^v\d+\.\d+ \S+:\S+.*> ?", self.screen(), re.M))

    def type_line(self, parts: list[tuple[str, str]]) -> str:
        """Each part: literal text, then (if ``expect`` is non-empty) Tab and wait until the
        input line ends with ``expect``.  Enter, then wait for the next prompt."""
        n = self.prompts()
        for literal, expect in parts:
            if literal:
                self.keys(literal)
            if expect:
                self.key("Tab")
                self.wait(lambda s, e=expect: s.rstrip().endswith(e.rstrip()),
                          f"completion to {expect!r}")
        self.key("Enter")
        return self.wait(lambda s: len(re.findall(r"^v\d+\.\d+ \S+:\S+.*> ?", s, re.M)) > n,
                         "the next prompt")

    def dead(self) -> bool:
        out = self._tmux("display-message", "-p", "-t", self.name, "#{pane_dead}")
        return out.strip() == "1"

    def kill(self) -> None:
        subprocess.run(["tmux", "-f", "/dev/null", "kill-session", "-t", self.name],
                       capture_output=True, env=self.env)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_2018_race_typed_with_completion_then_recorded_and_run(tmp_path: Path) -> None:
    env = _env(tmp_path / "state")
    t = Tmux(tmp_path, env, [sys.executable, "-m", "daxsh", "--kernel", "v4.18"])
    try:
        t.wait_text("v4.18 sh:/>")
        t.type_line([("mkf", "mkfs "), ("x", "mkfs xfs "), ("/dev/p", "/dev/pmem0 ")])
        t.wait_text("xfs on /dev/pmem0")
        t.type_line([("mou", "mount "), ("/dev/p", "/dev/pmem0 "), ("/mnt -o dax", "")])
        t.type_line([("cre", "create "), ("/mnt/a 64K", "")])
        t.type_line([("mma", "mmap "), ("/mnt/", "/mnt/a "), ("64K", "")])
        t.wait_text("0x7f0000000000")
        t.type_line([("tou", "touch "), ("", "0x7f0000000000 "), ("64K --w", "--write ")])
        t.type_line([("pin ", "pin 0x7f0000000000 "), ("4K", "")])
        t.wait_text("pin1: 1 page(s)")
        s = t.type_line([("trun", "truncate "), ("/mnt/", "/mnt/a "), ("0", "")])
        assert "[1] blocked: truncate /mnt/a 0 — wait_var_event(page pfn" in s
        assert t.last_line().startswith("v4.18 sh:/ [1 blocked]>")
        s = t.type_line([("unp", "unpin "), ("", "pin1 ")])
        assert "[1]+ Done  truncate /mnt/a 0" in s
        assert t.last_line().startswith("v4.18 sh:/>")
        s = t.type_line([("back 3", "")])
        assert "at main:5 of 8: touch 0x7f0000000000 64K --write" in s
        assert t.last_line().startswith("v4.18 sh:/ main@5/8>")
        t.type_line([("record race.toml", "")])
        t.wait_text("recorded 5 steps to race.toml")
        t.key("C-d")
        t.wait(lambda s: "journal:" in s and t.dead(), "exit on Ctrl-D")
        assert "`daxsh --resume` reopens this session" in t.screen()
    finally:
        t.kill()
    data = tomllib.loads((tmp_path / "race.toml").read_text())
    assert data["steps"] == ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax",
                             "create /mnt/a 64K", "mmap /mnt/a 64K",
                             "touch 0x7f0000000000 64K --write"]
    run = subprocess.run([sys.executable, "-m", "daxsh", "run", "race.toml"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"outcome: {data['expect']['outcome']}" in run.stdout
    hist = (tmp_path / "state" / "daxsh" / "history").read_text()
    assert "+truncate /mnt/a 0" in hist  # prompt_toolkit FileHistory, for Ctrl-R next time


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_ctrl_r_finds_an_earlier_line_and_ctrl_c_keeps_the_session(tmp_path: Path) -> None:
    env = _env(tmp_path / "state")
    t = Tmux(tmp_path, env, [sys.executable, "-m", "daxsh", "--kernel", "v6.14"])
    try:
        t.wait_text("v6.14 sh:/>")
        t.type_line([("mkfs xfs /dev/pmem0", "")])
        t.type_line([("kernels v6.14", "")])
        n = t.prompts()
        t.key("C-r")
        t.keys("mkfs")
        t.wait_text("(reverse-i-search)`mkfs': mkfs xfs /dev/pmem0")
        t.key("Enter")
        t.wait(lambda s: t.last_line() == "v6.14 sh:/> mkfs xfs /dev/pmem0", "the found line")
        t.key("Enter")
        t.wait(lambda s: t.prompts() > n, "the found line to run")
        assert t.screen().count("v6.14 sh:/> mkfs xfs /dev/pmem0") == 2
        t.keys("mount /dev/pmem0 /m")
        t.key("C-c")
        t.wait(lambda s: t.last_line().startswith("v6.14 sh:/>") and "^C" in s, "^C")
        t.type_line([("history", "")])
        assert "mkfs xfs /dev/pmem0" in t.screen()
    finally:
        t.kill()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_explore_from_here_opens_a_branch_that_is_recorded_and_run(tmp_path: Path) -> None:
    """"Explore from here" as typed: a truncate left stopped, then `explore` with a condition
    on the final state; the bad interleaving is a new branch, stepped to its end, recorded,
    and `daxsh run` replays the recording."""
    env = _env(tmp_path / "state")
    t = Tmux(tmp_path, env, [sys.executable, "-m", "daxsh", "--kernel", "v4.16"])
    try:
        t.wait_text("v4.16 sh:/>")
        for line in ("mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 4K",
                     "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write",
                     "start truncate /mnt/a 0"):
            t.type_line([(line, "")])
        t.keys("explore --query 'show blocks' --contains freed-while-pinned "
               "--thread 'pin 0x7f0000000000 4K; unpin pin1'")
        t.key("Enter")  # the branch's lines echo prompts too: wait for its last point's
        s = t.wait(lambda s: t.last_line() == "v4.16 sh:/ b1@11>", "the branch's last point")
        assert "Sometimes  (Positive:" in s
        assert "bad: `show blocks` shows 'freed-while-pinned'" in s
        assert "a bad interleaving, on the new branch b1" in s
        # its lines, each after the prompt of its own point: the stopped truncate runs
        # its lines, each after the prompt of its own point on the branch
        assert "sh:/ [1 stopped] b1@6> start pin 0x7f0000000000 4K" in s
        assert "sh:/ b1@9> start unpin pin1" in s and "[1]+ Done  truncate /mnt/a 0" in s
        s = t.type_line([("show blocks", "")])
        assert "freed-while-pinned" in s
        t.type_line([("record cx.toml", "")])
        t.wait_text("to cx.toml")
        t.key("C-d")
        t.wait(lambda s: t.dead(), "exit on Ctrl-D")
    finally:
        t.kill()
    steps = tomllib.loads((tmp_path / "cx.toml").read_text())["steps"]
    assert "start truncate /mnt/a 0" in steps and any(x.startswith("step %") for x in steps)
    run = subprocess.run([sys.executable, "-m", "daxsh", "run", "cx.toml"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_sigkill_then_resume_restores_the_state(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    env = _env(tmp_path / "state")
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"

    def spawn(*args: str):  # type: ignore[no-untyped-def]
        p = pexpect.spawn(sys.executable, ["-m", "daxsh", *args], env=env, cwd=str(tmp_path),
                          encoding="utf-8", timeout=20, dimensions=(50, 200))
        p.delaybeforesend = None
        return p

    p = spawn("--kernel", "v4.18")
    p.expect(r"v4\.18 sh:/>")
    for line in ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
                 "mmap /mnt/a 64K", "touch 0x7f0000000000 64K --write", "pin 0x7f0000000000 4K",
                 "truncate /mnt/a 0"]:
        p.sendline(line)
    p.expect_exact("[1] blocked: truncate /mnt/a 0")
    p.expect_exact("sh:/ [1 blocked]>")
    os.kill(p.pid, signal.SIGKILL)
    p.expect(pexpect.EOF)
    p.close()
    q = spawn("--resume")
    try:
        q.expect("resumed ")
        q.expect(r"v4\.18 sh:/ \[1 blocked\]>")
        q.sendline("jobs")
        q.expect_exact("[1] blocked: truncate /mnt/a 0")
        q.sendline("unpin pin1")
        q.expect_exact("[1]+ Done  truncate /mnt/a 0")
        q.expect(r"v4\.18 sh:/>")
        q.send("\x04")  # Ctrl-D
        q.expect_exact("journal: ")
        q.expect(pexpect.EOF)
    finally:
        q.close(force=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_ctrl_c_interrupts_a_long_command_and_keeps_the_session(tmp_path: Path) -> None:
    env = _env(tmp_path / "state")
    t = Tmux(tmp_path, env, [sys.executable, "-m", "daxsh", "--kernel", "v6.14"])
    try:
        t.wait_text("v6.14 sh:/>")
        for line in ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 1M",
                     "fsx /mnt/a 100000000"]:
            t.type_line([(line, "")])
        t.keys("sleep 100000")  # fsx does one op per 10 ms of model time: minutes of work
        t.key("Enter")
        t.wait(lambda s: t.last_line().endswith("sleep 100000"), "the command to start")
        time.sleep(0.5)  # let it get going (there is no output to wait for)
        t.key("C-c")
        t.wait_text("^C: interrupted; the machine is as it was before `sleep 100000`")
        t.wait(lambda s: t.last_line().startswith("v6.14 sh:/"), "the prompt")
        s = t.type_line([("history", "")])
        assert ">   4  fsx /mnt/a 100000000" in s and "sleep 100000" not in s.split("history")[-1]
        s = t.type_line([("jobs", "")])
        assert "fsx" in s.split("> jobs")[-1]
    finally:
        t.kill()
