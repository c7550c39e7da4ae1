"""`daxsh run`, `daxsh < script` and `daxsh --version` as a user runs them."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def daxsh(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daxsh", *args], capture_output=True, text=True,
                          input=stdin, cwd=ROOT)


def test_version() -> None:
    r = daxsh("--version")
    assert r.returncode == 0 and r.stdout.startswith("daxsh ")


def test_run_2018_shows_corruption_on_v416_and_clean_wait_on_v418() -> None:
    r = daxsh("run", "scenarios/2018-dma-vs-truncate-xfs.toml")
    assert r.returncode == 0, r.stdout + r.stderr
    blocks = r.stdout.split("scenarios/2018-dma-vs-truncate-xfs.toml ")
    v416 = next(b for b in blocks if b.startswith("[v4.16]"))
    v418 = next(b for b in blocks if b.startswith("[v4.18]"))
    assert "outcome: corruption (expected corruption)  ok" in v416
    assert "which now belongs to /mnt/b" in v416
    assert "`truncate /mnt/a 0`: blocked" in v418 and "xfs_break_dax_layouts" in v418
    assert "outcome: clean (expected clean)  ok" in v418


def test_run_verbose_shows_the_blocked_truncate_completing() -> None:
    r = daxsh("run", "-v", "--kernel", "v4.18", "scenarios/2018-dma-vs-truncate-xfs.toml")
    assert r.returncode == 0
    assert "[1]+ Done  truncate /mnt/a 0" in r.stdout


def test_run_json() -> None:
    r = daxsh("run", "--json", "--kernel", "v4.16", "scenarios/2018-dma-vs-truncate-xfs.toml")
    assert r.returncode == 0
    obj = json.loads(r.stdout)
    assert obj["outcome"] == "corruption" and obj["kernel"] == "v4.16"
    assert [s["status"] for s in obj["steps"]][6] == "done"
    assert all({"line", "status", "output"} <= set(s) for s in obj["steps"])


def test_run_exit_1_names_the_failed_expectation(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('steps = ["mkfs xfs /dev/pmem0"]\n[expect."v6.15"]\noutcome = "corruption"\n')
    r = daxsh("run", str(f))
    assert r.returncode == 1
    assert "FAIL: outcome clean, expected corruption" in r.stdout


def test_run_exit_2_names_file_step_and_line(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('title = "x"\nsteps = [\n  "mkfs xfs /dev/pmem0",\n  "mount /dev/pmem0 /mnt -o dax",\n'
                 '  "mmap /mnt/a 8K 0x1001",\n]\n')
    r = daxsh("run", str(f))
    assert r.returncode == 2
    assert f"{f}:5: step 3 `mmap /mnt/a 8K 0x1001`" in r.stderr
    assert "page aligned" in r.stderr


def test_run_exit_2_unknown_key_suggests(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('titel = "x"\nsteps = ["sync"]\n')
    r = daxsh("run", str(f))
    assert r.returncode == 2
    assert f"{f}:1: unknown key 'titel'; did you mean 'title'?" in r.stderr


def test_run_bad_kernel_option() -> None:
    r = daxsh("run", "--kernel", "v4.99", "scenarios/tour.toml")
    assert r.returncode == 2 and "unknown kernel preset 'v4.99'" in r.stderr


def test_plain_script_file_and_stdin(tmp_path: Path) -> None:
    script = "mkfs xfs /dev/pmem0\nmount /dev/pmem0 /mnt -o dax\ncreate /mnt/a 4K\nmmap /mnt/a 4K\n"
    f = tmp_path / "s.txt"
    f.write_text(script)
    r = daxsh("run", str(f))
    assert r.returncode == 0 and "outcome: clean" in r.stdout
    r = daxsh(stdin=script)
    assert r.returncode == 0
    assert "0x7f0000000000" in r.stdout


def test_stdin_error_goes_to_stderr_with_caret() -> None:
    r = daxsh(stdin="mkfs xfs /dev/pmem0\nmkfs xfs /dev/pmem1\n")
    assert r.returncode == 1
    assert "^" in r.stderr and "unknown block device '/dev/pmem1'" in r.stderr
