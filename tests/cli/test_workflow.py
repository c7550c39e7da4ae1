"""A kernel developer's workflow as they type it: suites (`daxsh run a b c`, --junit, -k),
[threads] races judged by `daxsh run`, `daxsh kernels`, `daxsh bisect`, `daxsh import` of a
shell reproducer, and traces other tools open (`--trace-out`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

from daxsh.kernel.config import PRESETS

ROOT = Path(__file__).parents[2]
RACE = "scenarios/threads/dma-vs-truncate-xfs.toml"
SEQ = "scenarios/2018-dma-vs-truncate-xfs.toml"


def daxsh(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daxsh", *args], capture_output=True, text=True,
                          cwd=cwd, input=stdin)


def write(p: Path, text: str) -> str:
    p.write_text(text)
    return str(p)


def test_suite_runs_every_file_and_sums_up(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", 'steps = ["frobnicate"]\n')
    fail = write(tmp_path / "fail.toml", 'steps = ["mkfs xfs /dev/pmem0"]\n[expect]\n'
                 'outcome = "corruption"\n')
    r = daxsh("run", bad, SEQ, fail, "--junit", str(tmp_path / "j.xml"))
    assert r.returncode == 2, r.stdout + r.stderr  # an invalid file wins
    assert r.stdout.splitlines()[-1] == "1 passed, 1 failed, 1 invalid"
    assert "bad.toml:1: steps step 1: unknown command 'frobnicate'" in r.stderr
    assert f"{SEQ} [v6.15]" in r.stdout  # the files after the invalid one ran
    r = daxsh("run", SEQ, fail)
    assert r.returncode == 1 and r.stdout.splitlines()[-1] == "1 passed, 1 failed, 0 invalid"
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 6 + 1 + 1  # SEQ on its 6 kernels, fail.toml on one, bad.toml's load
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    assert {c.get("name") for c in cases if c.get("classname", "").endswith("2018-dma-vs-truncate-xfs")} \
        == {"v4.16", "v4.17", "v4.18", "v4.19", "v6.14", "v6.15"}


def test_k_selects_files_and_kernels() -> None:
    r = daxsh("run", SEQ, "scenarios/tour.toml", "-k", "v4.18")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("outcome:") == 1 and "[v4.18]" in r.stdout
    assert "1 passed, 0 failed, 0 invalid" in r.stdout and "deselected" in r.stdout
    r = daxsh("run", SEQ, "scenarios/tour.toml", "-k", "*tour*")
    assert "scenarios/tour.toml" in r.stdout and SEQ not in r.stdout


def test_a_step_the_state_refuses_is_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    f = write(tmp_path / "s.sh", "mkfs xfs /dev/pmem0\nunpin pin7\nkill %3\nproc sh\nstat /\n")
    r = daxsh("run", "-v", f)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[error  ] unpin pin7" in r.stdout and "[error  ] kill %3" in r.stdout
    assert "[done   ] stat /" in r.stdout


def test_run_judges_a_race_verdict(tmp_path: Path) -> None:
    r = daxsh("run", RACE)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: Sometimes" in r.stdout and "verdict: Never" in r.stdout
    assert "Expected: never -> ok" in r.stdout and " ok\n" not in r.stdout.replace("-> ok", "")
    wrong = write(tmp_path / "w.toml", (ROOT / RACE).read_text().replace(
        '[expect."v6.15"]\nverdict = "never"', '[expect."v6.15"]\nverdict = "sometimes"'))
    assert 'verdict = "sometimes"' in Path(wrong).read_text()
    r = daxsh("run", wrong, "-k", "v6.15")
    assert r.returncode == 1 and "MISMATCH" in r.stdout, r.stdout
    r = daxsh("run", RACE, "-k", "v4.18", "--budget", "1")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "undecided (budget)" in r.stdout and "1 undecided" in r.stdout.splitlines()[-1]
    r = daxsh("run", RACE, "-k", "v4.18", "--json")
    run = json.loads(r.stdout)["runs"][0]
    assert run["verdict"] == "never" and run["status"] == "passed" and run["traces"] >= 1


def test_kernels_subcommand() -> None:
    r = daxsh("kernels", "v4.18")
    assert r.returncode == 0 and "xfs-break-dax-layouts" in r.stdout and "5fac7408d828" in r.stdout
    r = daxsh("kernels")
    assert "Presets" in r.stdout and "Behaviours:" in r.stdout
    r = daxsh("kernels", "v9.9")
    assert r.returncode == 2 and "neither a preset nor a behaviour" in r.stderr


def test_bisect_matrix_and_flip(tmp_path: Path) -> None:
    r = daxsh("bisect", SEQ, "--json")
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert [m["kernel"] for m in obj["matrix"]] == list(PRESETS)
    assert obj["matrix"][0] == {"kernel": "v4.13", "outcome": "corruption"}
    flips = obj["flips"]
    assert [(f["from"], f["to"], f["outcome_from"], f["outcome_to"]) for f in flips] == [
        ("v4.17", "v4.18", "corruption", "clean")]
    b = flips[0]["behaviours"]
    assert [x["name"] for x in b] == ["xfs-break-dax-layouts"]
    assert b[0]["commit"] == "5fac7408d828" and b[0]["version"] == "v4.18" and b[0]["title"]
    r = daxsh("bisect", RACE, "--kernel-from", "v4.16", "--kernel-to", "v4.19")
    assert r.returncode == 0 and "v4.17 -> v4.18: sometimes -> never" in r.stdout, r.stdout
    assert "\033[" not in r.stdout  # no colour off a terminal
    r = daxsh("bisect", SEQ, "--kernel-from", "v4.19", "--kernel-to", "v4.16")
    assert r.returncode == 2 and "newer than" in r.stderr


REPRO = """#!/bin/sh
set -e
ndctl create-namespace -f -e namespace0.0 -m fsdax
mkfs.xfs -f -m rmapbt=0 /dev/pmem0
mkdir -p /mnt/dax
mount -o dax /dev/pmem0 /mnt/dax
xfs_io -f -c "pwrite 0 64k" -c "mmap -rw 0 64k" -c "mwrite 0 64k" -c "sleep 100000" /mnt/dax/a &
truncate -s 0 /mnt/dax/a
dd if=/dev/zero of=/mnt/dax/b bs=4k count=16 oflag=direct
fallocate -p -o 0 -l 4096 /mnt/dax/b
echo 3 > /proc/sys/vm/drop_caches
kill %1
wait
dmesg | tail
umount /mnt/dax
echo pfn0.1 > /sys/bus/nd/drivers/nd_pmem/unbind
"""


def test_import_a_real_reproducer(tmp_path: Path) -> None:
    sh = write(tmp_path / "repro.sh", REPRO)
    out = tmp_path / "repro.toml"
    r = daxsh("import", sh, "-o", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "-> touch --write 0x7f0000000000 64k" in r.stdout
    assert "-> unbind pfn0.1" in r.stdout and "-> punch /mnt/dax/b 0 4096" in r.stdout
    r = daxsh("run", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    bad = write(tmp_path / "bad.sh", REPRO + "echo 1 > /proc/sys/vm/drop_caches\nfrob x\n")
    r = daxsh("import", bad, "-o", str(tmp_path / "b.toml"))
    assert r.returncode == 2 and not (tmp_path / "b.toml").exists()
    assert "bad.sh:17: `echo 1 > /proc/sys/vm/drop_caches`: echo 1 > drop_caches" in r.stderr
    assert "bad.sh:18: `frob x`: `frob` is not a command daxsh models" in r.stderr


def check_trace_events(doc: dict[str, Any]) -> dict[str, int]:
    """The trace-event format's rules: required fields, B/E balanced and nested per thread,
    time ordered per thread, flows paired."""
    counts: dict[str, int] = defaultdict(int)
    stacks: dict[tuple[int, int], list[str]] = defaultdict(list)
    last: dict[tuple[int, int], float] = {}
    flows: dict[int, set[str]] = defaultdict(set)
    for e in doc["traceEvents"]:
        assert {"ph", "pid", "tid", "name"} <= set(e), e
        counts[e["ph"]] += 1
        if e["ph"] == "M":
            continue
        assert isinstance(e["ts"], float | int)
        key = (e["pid"], e["tid"])
        if e["ph"] in "BE":
            assert e["ts"] >= last.get(key, 0)
            last[key] = e["ts"]
            if e["ph"] == "B":
                stacks[key].append(e["name"])
            else:
                assert stacks[key] and stacks[key].pop() == e["name"]
        if e["ph"] in "sf":
            flows[e["id"]].add(e["ph"])
        if e["ph"] == "i":
            assert e["s"] in "gpt"
    assert all(not s for s in stacks.values())
    assert all(v == {"s", "f"} for v in flows.values())
    return dict(counts)


def test_trace_out_json_and_txt(tmp_path: Path) -> None:
    r = daxsh("run", SEQ, "-k", "v4.18", "--trace-out", str(tmp_path / "t.json"))
    assert r.returncode == 0, r.stderr
    counts = check_trace_events(json.loads((tmp_path / "t.json").read_text()))
    assert counts["B"] == counts["E"] > 100 and counts["s"] == counts["f"] >= 1 and counts["i"] >= 1
    r = daxsh("run", SEQ, "-k", "v4.1", "--trace-out", str(tmp_path / "t.txt"))
    files = sorted(p.name for p in tmp_path.glob("t.*.txt"))
    assert files == [f"t.2018-dma-vs-truncate-xfs.{k}.txt" for k in ("v4.16", "v4.17", "v4.18",
                                                                     "v4.19")]
    lines = (tmp_path / files[2]).read_text().splitlines()
    assert lines[0] == "cpus=1"
    assert any(x.split()[0].startswith("truncate-") and "[000]" in x and ": function:" in x
               and "xfs_break_dax_layouts(" in x for x in lines)
    assert any(": sched_wakeup:" in x and "comm=truncate" in x for x in lines)
    r = daxsh("run", SEQ, "--trace-out", str(tmp_path / "t.pdf"))
    assert r.returncode == 2 and ".json" in r.stderr


def test_explore_trace_out_of_a_counterexample(tmp_path: Path) -> None:
    r = daxsh("explore", RACE, "--kernel", "v4.16", "--trace-out", str(tmp_path / "cx.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    counts = check_trace_events(json.loads((tmp_path / "cx.json").read_text()))
    assert counts["B"] > 10


def test_outputs_that_cannot_be_written_exit_3(tmp_path: Path) -> None:
    """An output asked for and not delivered is no success (here each names a directory)."""
    d = tmp_path / "d.json"
    d.mkdir()
    r = daxsh("explore", RACE, "--kernel", "v4.16", "--trace-out", str(d))
    assert r.returncode == 3 and "trace NOT written" in r.stdout + r.stderr, r.stdout + r.stderr
    r = daxsh("run", SEQ, "-k", "v4.18", "--junit", str(d))
    assert r.returncode == 3 and "--junit NOT written" in r.stderr, r.stderr
    r = daxsh("run", SEQ, "-k", "v4.18", "--trace-out", str(tmp_path / "sub"))
    assert r.returncode == 2  # no .json/.txt: invalid, refused before running


def test_pytest_plugin_collects_only_what_it_is_asked_for(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "other.toml").write_text("[tool]\nname = 'not ours'\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co", "-q"]
    r = subprocess.run(pytest, cwd=tmp_path, capture_output=True, text=True)
    assert "no tests collected" in r.stdout, r.stdout + r.stderr
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "t.toml").write_text((ROOT / "scenarios/tour.toml").read_text())
    (tmp_path / "pytest.ini").write_text("[pytest]\ndaxsh_scenarios = mine\n")
    r = subprocess.run(pytest, cwd=tmp_path, capture_output=True, text=True)
    assert "mine/t.toml::" in r.stdout and "other.toml" not in r.stdout, r.stdout + r.stderr
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    r = subprocess.run([*pytest, "scenarios/other.toml"], cwd=tmp_path, capture_output=True, text=True)
    assert "other.toml::load" in r.stdout  # named on the command line: collected (and invalid)


def test_export_sh_writes_a_script_and_the_helper(tmp_path: Path) -> None:
    out = tmp_path / "repro.sh"
    r = daxsh("export", SEQ, "--sh", "--kernel", "v4.18", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert subprocess.run(["bash", "-n", str(out)]).returncode == 0
    assert "mkfs.xfs -f /dev/pmem0" in text and "mount /dev/pmem0 /mnt -o dax" in text
    # the truncate blocked in the model (v4.18 waits for the pin): in the script it is a job
    assert "truncate -s 0 /mnt/a &" in text
    assert "echo 'pin pin1 7f0000000000 4096' >&3" in text and "echo 'dma pin1' >&3" in text
    helper = tmp_path / "daxsh-pin.c"
    assert helper.exists()
    cc = shutil.which("cc")
    if cc is None:
        return
    exe = tmp_path / "daxsh-pin"
    subprocess.run([cc, "-O2", "-Wall", "-Werror", "-o", str(exe), str(helper)], check=True)
    data = tmp_path / "f"
    data.write_bytes(b"\0" * 65536)
    r = subprocess.run([str(exe)], input=f"mmap 7f0000000000 {data} 65536 0\n"
                       "touch 7f0000000000 65536 w\nmunmap 7f0000000000\nexit\n",
                       capture_output=True, text=True, check=True)
    assert "touched 16 pages" in r.stdout
    assert data.read_bytes()[::4096] == b"d" * 16  # the stores reached the file


def test_export_refuses_bad_input(tmp_path: Path) -> None:
    r = daxsh("export", str(tmp_path / "none.toml"), "--sh")
    assert r.returncode == 2 and "no such file" in r.stderr


def test_completion_scripts(tmp_path: Path) -> None:
    r = daxsh("completion", "bash")
    assert r.returncode == 0
    script = write(tmp_path / "daxsh.bash", r.stdout)
    probe = (f'source {script}; COMP_WORDS=(daxsh bis); COMP_CWORD=1; _shtab_daxsh; '
             'echo "${COMPREPLY[@]}"; COMP_WORDS=(daxsh bisect --kernel-f); COMP_CWORD=2; '
             '_shtab_daxsh; echo "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True).stdout.split("\n")
    assert out[0] == "bisect" and out[1] == "--kernel-from", out
    fish = daxsh("completion", "fish").stdout
    assert "-a bisect" in fish and "-l kernel-from -r -a 'v4.13" in fish
    assert "-a real" in fish and "-l setup" in fish  # every subcommand, `daxsh real` too
    assert daxsh("completion", "zsh").stdout.startswith("#compdef daxsh")
    r = daxsh("completion", "powershell")
    assert r.returncode == 2 and "bash, zsh, tcsh, fish" in r.stderr
