"""The screen end to end in a real terminal (tmux): type the 2018 race, watch it block, quit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from race_steps import RACE_2018

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def wait_for(session: str, text: str, timeout: float = 15.0, line: bool = False) -> str:
    """Poll the screen until ``text`` is on it (``line``: starts one of its lines)."""
    end = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < end:
        screen = tmux("capture-pane", "-p", "-t", session)
        found = any(x.startswith(text) for x in screen.splitlines()) if line else text in screen
        if found:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen:\n{screen}")


def submit(session: str, line: str) -> None:
    """Type ``line`` and Enter; wait until it ran."""
    tmux("send-keys", "-t", session, "-l", line)
    # the line shows on the command line only once the terminal is in raw mode (before that an
    # Enter would reach the app as Ctrl-J)
    wait_for(session, f"daxsh$ {line}")
    for _attempt in range(3):
        tmux("send-keys", "-t", session, "Enter")
        try:
            wait_for(session, f"$ {line}", timeout=5.0, line=True)  # in the transcript
            return
        except AssertionError:
            # Still on the command line, so not run: on a loaded machine an Enter that lands
            # inside the terminal's answer to Textual's start-up queries is swallowed.
            if f"daxsh$ {line}" not in tmux("capture-pane", "-p", "-t", session):
                raise
    raise AssertionError(f"{line!r} was never run")


def test_type_the_2018_race_in_tmux(tmp_path: Path) -> None:
    s = f"daxsh-e2e-{uuid.uuid4().hex[:8]}"
    cmd = f"{sys.executable} -m daxsh tui --kernel v4.18; echo EXIT=$?; sleep 30"
    env = ["-e", "TERM=xterm-256color", "-e", f"XDG_STATE_HOME={tmp_path}",
           "-e", "TEXTUAL_ANIMATIONS=none", "-e", f"PYTHONPATH={ROOT}"]
    subprocess.run(["tmux", "-f", "/dev/null", "new-session", "-d", "-s", s, "-x", "100",
                    "-y", "30", "-c", str(ROOT), *env, cmd], check=True,
                   env={**os.environ, "TMUX": ""})
    try:
        wait_for(s, "daxsh$")
        # Textual queries the terminal as it starts; a key that arrives while tmux's answers are
        # being parsed can be taken for part of an escape sequence.  Let the handshake finish.
        time.sleep(1.0)
        for line in RACE_2018:
            submit(s, line)
        screen = wait_for(s, "1 blocked")
        assert "Waiters (1)" in screen
        assert "truncate /mnt/a 0" in screen
        assert "PINNED" in screen
        assert "(no entries)" in screen  # unmap_mapping_range took the PTEs
        tmux("send-keys", "-t", s, "-l", "mou")
        tmux("send-keys", "-t", s, "Tab")
        wait_for(s, "daxsh$ mount")
        tmux("send-keys", "-t", s, "C-u")
        tmux("send-keys", "-t", s, "C-q")
        screen = wait_for(s, "EXIT=0")
        assert "session journal:" in screen
        journals = list((tmp_path / "daxsh" / "sessions").glob("*.jsonl"))
        assert journals and "truncate /mnt/a 0" in journals[0].read_text()
    finally:
        tmux("kill-session", "-t", s)
