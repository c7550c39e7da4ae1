"""Lines, files and streams that crashed, hung or were shown wrong: each gets a clear message
and changes nothing (issue: one headless shell core; every crash, hang and lost-data path)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import daxsh.lang.commands  # (fills the registry)
from daxsh.lang.lexer import parse_number, split
from daxsh.lang.registry import suggest, unknown_command
from daxsh.lang.session import Session
from daxsh.scenario.load import ScenarioError, load, loads

ROOT = Path(__file__).resolve().parents[2]
MNT = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax"]


def daxsh(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "daxsh", *args], capture_output=True,
                          input=stdin, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})


def session(*lines: str) -> Session:
    s = Session("")
    for x in lines:
        r = s.execute(x)
        assert r.status == "done", (x, r.text())
    return s


@pytest.mark.parametrize("word", ["nan", "inf", "NaN", "1e400"])
def test_sleep_of_a_non_finite_number_is_an_error(word: str) -> None:
    r = Session("").execute(f"sleep {word}")
    assert r.status == "error" and "is not a number of seconds" in r.error


def test_start_after_the_process_exited_is_an_error_not_a_traceback() -> None:
    s = session("exit")
    r = s.execute("start cd /mnt")
    assert r.status == "error" and "has exited" in r.error and "proc sh" in r.error
    r = s.execute("continue")
    assert r.status == "done" and not s.jobs, r.text()


@pytest.mark.parametrize("line", ["step ² 3", "continue %²", "wait ²", "kill -KILL %²"])
def test_a_job_number_in_non_ascii_digits_is_an_error(line: str) -> None:
    s = session("mkfs xfs /dev/pmem0")
    s.execute("start mkdir /mnt2")
    r = s.execute(line)
    assert r.status == "error" and "is not a job" in r.error, r.text()


def test_numbers_wider_than_64_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="64 bits"):
        parse_number("0x" + "f" * 20)
    assert parse_number("0x" + "f" * 16) == (1 << 64) - 1
    s = session(*MNT, "create /mnt/a 64K", "mmap /mnt/a 64K")
    t0 = time.monotonic()
    r = s.execute("touch $_ 0xfffffffffffffffffffff")
    assert r.status == "error" and "64 bits" in r.error and time.monotonic() - t0 < 1


@pytest.mark.parametrize("line", ["mmap /mnt/a 1T", "touch 0x7f0000000000 1T",
                                  "pin 0x7f0000000000 1T", "write /mnt/a 0 2G"])
def test_sizes_beyond_the_machine_are_refused_at_once(line: str) -> None:
    s = session(*MNT, "create /mnt/a 64K", "mmap /mnt/a 64K")
    before = len(s.executed)
    t0 = time.monotonic()
    r = s.execute(line)
    assert time.monotonic() - t0 < 1
    assert r.status == "error" and "of pmem can hold" in r.error and "--pmem" in r.error
    assert len(s.executed) == before


def test_truncate_to_a_large_sparse_size_is_still_allowed() -> None:
    s = session(*MNT, "create /mnt/a 64K")
    assert s.execute("truncate /mnt/a 1T").status == "done"


def test_create_beyond_the_machine_is_the_filesystems_enospc_and_quick() -> None:
    s = session(*MNT)  # the real kernels answer ENOSPC (scenarios/real/enospc.toml)
    t0 = time.monotonic()
    r = s.execute("create /mnt/b 1T")
    assert r.status == "error" and "ENOSPC" in r.error and time.monotonic() - t0 < 30


def test_create_that_runs_out_of_space_leaves_the_file_as_the_real_kernels_do() -> None:
    s = session(*MNT)
    r = s.execute("create /mnt/a 1G")
    assert r.status == "error" and "ENOSPC" in r.error
    assert "`rm /mnt/a` frees them" in " ".join(r.text())
    assert s.execute("ls /mnt").output != []  # open(O_CREAT) made it before the write failed
    assert s.execute("rm /mnt/a").status == "done"
    assert s.execute("create /mnt/b 64K").status == "done"


def test_a_hash_inside_a_path_is_part_of_the_word_in_the_job_line() -> None:
    s = session(*MNT)
    r = s.execute("truncate /mnt/a#b 0 &")
    assert any("truncate /mnt/a#b 0" in x for x in r.text()), r.text()
    r = s.execute("start truncate /mnt/a#c 0  # a comment")
    assert r.output == ["[2] truncate /mnt/a#c 0: stopped before its first step "
                        "(`step %2`, `continue %2`)"]
    assert split("ls /mnt/a#b # c").command == "ls /mnt/a#b"
    assert split("sleep 1 &").command == "sleep 1"
    assert split("sleep 1&").command == "sleep 1"


def test_fsx_path_is_not_reparsed_as_a_command_line() -> None:
    s = session(*MNT, "mkdir '/mnt/x y'")
    r = s.execute("fsx '/mnt/x y/f#1' 3")
    assert r.status != "error", r.text()
    assert "f#1" in s.execute("ls '/mnt/x y'").output[0]
    assert not any(x.startswith("create") for x in s.executed)


def test_suggest_finds_one_edit_typos_of_short_names() -> None:
    names = ["wait", "continue", "ls", "cd", "rm"]
    assert suggest("sl", names) == "ls" and suggest("dc", names) == "cd"
    assert suggest("rmm", names) == "rm" and suggest("wiat", names) == "wait"


@pytest.mark.parametrize(("typed", "hint"), [("fg", "`wait %N`"), ("gf", "`wait %N`"),
                                             ("fgg", "`wait %N`"), ("bg", "`continue %N`"),
                                             ("gb", "`continue %N`"), ("clear", "Ctrl-L"),
                                             ("claer", "Ctrl-L"), ("sl", "did you mean 'ls'")])
def test_other_shells_habits_and_typos_get_a_hint(typed: str, hint: str) -> None:
    assert hint in Session("").execute(typed).error


def test_typos_of_front_end_commands_get_a_hint() -> None:
    assert "did you mean 'clear'" in unknown_command("cleat", ("clear",))
    assert "did you mean 'back'" in unknown_command("bakc", ("back",))


# -- scenario files --------------------------------------------------------------------------


def test_a_non_ascii_digit_as_a_step_number_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="'²' is not a step number"):
        loads('steps = ["ls"]\n[expect.steps]\n"²" = "done"\n', "x.toml")


def test_deeply_nested_arrays_are_an_error_not_a_recursion_error() -> None:
    text = 'steps = ["ls"]\nx = ' + "[" * 500 + "]" * 500 + "\n"
    with pytest.raises(ScenarioError, match="nested too deeply"):
        loads(text, "deep.toml")


@pytest.mark.parametrize("line", ["kernel v6.1", "reboot", "fsx /mnt/a 10"])
def test_machine_commands_inside_threads_are_refused_at_load_time(line: str) -> None:
    with pytest.raises(ScenarioError, match="cannot run inside a thread"):
        loads(f'setup = ["ls"]\n[threads]\na = ["{line}"]\nb = ["ls"]\n', "t.toml")


def test_run_of_an_endless_file_is_refused_quickly() -> None:
    r = daxsh("run", "/dev/zero", timeout=30)
    assert r.returncode == 2 and b"more than 16M" in r.stderr


def test_load_of_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "s.txt"
    p.write_bytes(b"ls\nls \xff\n")
    with pytest.raises(ScenarioError, match=r"s.txt:2: not UTF-8 text \(byte 0xff\)"):
        load(p)


# -- streams ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["C.UTF-8", "C", "en_US.UTF-8"])
def test_invalid_utf8_on_stdin_is_reported_and_the_rest_runs(lang: str) -> None:
    r = daxsh(stdin=b"ls \xff\nls /\n", env={"LANG": lang, "LC_ALL": lang})
    assert r.returncode == 2, r.stderr
    assert b"stdin line 1: not UTF-8 text (byte 0xff at column 4)" in r.stderr
    assert b"Traceback" not in r.stderr and b"mnt/" in r.stdout


def test_run_dash_with_invalid_utf8_is_invalid_input() -> None:
    r = daxsh("run", "-", stdin=b"ls\n\xfe\n")
    assert r.returncode == 2 and b"<stdin>:2: not UTF-8 text" in r.stderr
    assert b"Traceback" not in r.stderr


def test_ctrl_c_during_run_exits_3_without_a_traceback(tmp_path: Path) -> None:
    script = tmp_path / "long.txt"
    script.write_text("\n".join(MNT + ["create /mnt/a 4K", "stat /mnt/a"] * 1)
                      + "\n" + "stat /mnt/a\n" * 400_000)
    p = subprocess.Popen([sys.executable, "-m", "daxsh", "run", str(script)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=30)
    assert p.returncode == 3, err
    assert b"interrupted" in err and b"Traceback" not in err


def test_two_unbinds_serialize_on_the_device_lock_not_an_assertion() -> None:
    s = session(*MNT, "break kill_dax")
    s.execute("unbind pfn0.1 &")
    r = s.execute("unbind pfn0.1 &")
    assert "mutex_lock(dev->mutex pfn0.1 (W))" in " ".join(r.text()), r.text()
    r = s.execute("continue")
    assert r.status == "done", r.text()
    assert sorted(s.finished_jobs) == [1, 2] and not any("Exit" in x for x in r.text())
    assert s.execute("bind pfn0.1").status == "done"


@pytest.mark.parametrize("flag", ["--out", "--itf"])
def test_explore_output_that_cannot_be_written_is_not_a_success(flag: str) -> None:
    r = daxsh("explore", "scenarios/threads/dma-vs-truncate-xfs.toml", "--kernel", "v4.16",
              flag, "/dev/full", timeout=300)
    assert r.returncode == 3, r.stderr
    assert b"cannot write /dev/full: No space left on device" in r.stderr
    assert b"Traceback" not in r.stderr
    r = daxsh("explore", "scenarios/threads/dma-vs-truncate-xfs.toml", flag, "/nodir/x")
    assert r.returncode == 2 and b"no directory /nodir" in r.stderr
