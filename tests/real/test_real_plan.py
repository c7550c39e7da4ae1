"""daxsh real without a kernel: the plan (what runs, what is refused and why), the serial
protocol's parsing, the comparison, the initramfs appendix, and the CLI's exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from daxsh.cli import main
from daxsh.real.compare import differences, prepare, preset_for
from daxsh.real.plan import PlanError
from daxsh.real.qemu import newc
from daxsh.real.result import StepResult, model_side, parse_real
from daxsh.scenario import loads, run

ROOT = Path(__file__).resolve().parents[2]
REAL = sorted((ROOT / "scenarios" / "real").glob("*.toml"))


def _sc(steps: list[str], extra: str = "") -> object:
    body = "steps = [\n" + "".join(f"  {json.dumps(s)},\n" for s in steps) + "]\n" + extra
    return loads(body, "t.toml")


BASE = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K", "mmap /mnt/a 64K"]


def test_plan_translates_steps_at_the_models_addresses() -> None:
    sc = _sc([*BASE, "touch $_ 64K --write", "pin 0x7f0000000000 4K", "truncate /mnt/a 0 &", "dma pin1"])
    _rep, plan = prepare(sc, "v6.12")
    assert plan.lines == [
        "1 0 mkfs xfs",
        "2 0 mount /mnt xfs dax",
        "3 0 create /mnt/a 65536",
        f"4 0 mmap /mnt/a 65536 0 {0x7f0000000000} 0",
        f"5 0 touch {0x7f0000000000} 65536 1",
        f"6 0 pin {0x7f0000000000} 4096",
        "7 1 truncate /mnt/a 0",
        "8 0 dma 1",
    ]


def test_hwpoison_is_madvise_by_the_process_that_maps_the_page() -> None:
    sc = _sc([*BASE, "touch 0x7f0000000000 64K --write", "hwpoison 0x7f0000001000"])
    _rep, plan = prepare(sc, "v6.12")
    assert plan.lines[-1] == f"6 0 hwpoison {0x7f0000001000}"


@pytest.mark.parametrize(("line", "why"), [
    ("show pages", "shows the model's internal state"),
    ("break do_truncate", "a real kernel cannot be stopped there"),
    ("alloc 4K", "cannot be made to reclaim"),
    ("poison 0x101210", "write `hwpoison ADDR`"),
    ("pin --longterm 0x7f0000000000", "FOLL_LONGTERM"),
    ("sleep 200", "at most 20"),
    ("create a 4K", "absolute path"),
])
def test_commands_a_real_kernel_cannot_run_are_refused_with_the_reason(line: str, why: str) -> None:
    sc = _sc([*BASE, line])
    with pytest.raises(PlanError) as e:
        prepare(sc, "v6.1")
    assert "step 5" in str(e.value) and why in str(e.value)


def test_a_threads_race_is_refused_saying_how_to_get_a_schedule() -> None:
    sc = loads('[threads]\na = ["create /mnt/a 4K"]\nb = ["rm /mnt/a"]\n', "r.toml")
    with pytest.raises(PlanError) as e:
        prepare(sc, "v6.1")
    assert "verdict covers every interleaving" in str(e.value)
    assert "daxsh explore FILE --out CX.toml" in str(e.value)


SCHEDULE = ROOT / "scenarios" / "real" / "schedule-dma-vs-truncate.toml"


def test_a_schedule_of_whole_commands_runs_in_order_and_waits_for_a_woken_one() -> None:
    from daxsh.scenario import load
    _rep, plan = prepare(load(SCHEDULE), "v6.12")
    assert plan.lines[5:] == [
        f"6 0 pin {0x7f0000000000} 4096",
        "8 0 truncate /mnt/a 0",   # sleeps: the helper's job 1
        "10 0 dma 1",
        "12 0 unpin 1",
        "14 0 wait %1",            # the truncate, woken by the unpin, ends at step 14
        "15 0 create /mnt/b 65536",
    ]


def test_the_model_side_of_a_schedule_is_each_command_as_it_ended_or_slept() -> None:
    from daxsh.real.compare import as_run_in_order
    from daxsh.scenario import load
    rep, plan = prepare(load(SCHEDULE), "v6.12")
    side = as_run_in_order(model_side(rep), plan)
    got = {s.number: s.status for s in side.steps}
    assert [n for n in range(1, 16) if n not in got] == [7, 9, 11, 13, 14]
    assert (got[6], got[8], got[10], got[12], got[15]) == ("done", "blocked", "done", "done", "done")
    real = parse_real([*(f"STEP {n} done" for n in (1, 2, 3, 4, 5, 6)), "STEP 8 blocked xfs_break_dax_layouts",
                       "STEP 10 done", "STEP 12 done", "STEP 14 done", "STEP 15 done", "END"],
                      "", {}, True, False)
    assert differences(real, side) == []


def test_a_schedule_that_preempts_a_command_is_refused_naming_the_step_and_the_job() -> None:
    sc = loads('''kernel = "v4.16"
steps = [
  "mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K", "mmap /mnt/a 64K",
  "start truncate /mnt/a 0", "step %1 3",
  "start pin 0x7f0000000000 4K", "step %2 6",
  "step %1 3",
]
''', "cx.toml")
    with pytest.raises(PlanError) as e:
        prepare(sc, "v6.1")
    msg = str(e.value)
    assert "step 7 `start pin 0x7f0000000000 4K` runs while job %1 (`truncate /mnt/a 0`, started at step 5)" in msg
    assert "stopped mid-command" in msg and "a real kernel cannot hold a task there" in msg


def test_a_schedule_that_leaves_a_command_stopped_is_refused() -> None:
    sc = _sc([*BASE, "start truncate /mnt/a 0", "step %1 2"])
    with pytest.raises(PlanError, match="left stopped mid-command at the end"):
        prepare(sc, "v6.12")


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_every_real_scenario_plans(path: Path) -> None:
    from daxsh.scenario import load
    sc = load(path)
    for preset in ("v6.1", "v6.12"):
        _rep, plan = prepare(sc, preset)
        if plan.serial is None:
            assert len(plan.lines) == len(sc.steps)
        else:  # a schedule: its `step` lines are the started commands running (a woken one is waited for)
            ran = len(sc.steps) - len(plan.serial.skipped) + len(plan.serial.waits)
            assert len(plan.lines) == ran


def test_newc_appendix_is_a_cpio_archive(tmp_path: Path) -> None:
    if shutil.which("cpio") is None:
        pytest.skip("cpio is not installed")  # the reader is only used to check the writer
    data = newc({"steps": b"1 0 sync\n"})
    assert len(data) % 512 == 0
    p = subprocess.run(["cpio", "-i", "--quiet", "-d"], input=data, cwd=tmp_path, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "steps").read_bytes() == b"1 0 sync\n"


PROTO = [
    "READY pfn0.0", "STEP 1 done", "STEP 2 done", "STEP 3 blocked [S] xfs_break_dax_layouts <- xfs_break_layouts",
    "STEP 4 killed SIGBUS BUS_MCEERR_AR", "KILLED mapper 120 BUS BUS_MCEERR_AR",
    "CORRUPT /mnt/b 0 0xdd 4096", "JOB 3 waiting truncate [S] xfs_break_dax_layouts",
    "DMESG WARNING: CPU: 0 PID: 190 at fs/dax.c:390 dax_disassociate_entry+0x86/0xb0", "END",
]


def test_protocol_lines_give_steps_outcome_and_kills() -> None:
    side = parse_real(PROTO, "", {1: "a", 2: "b", 3: "truncate /mnt/a 0", 4: "touch"}, True, False)
    assert [s.status for s in side.steps] == ["done", "done", "blocked", "killed"]
    assert side.steps[2].text.startswith("[S] xfs_break_dax_layouts")
    assert side.outcome == "corruption"
    assert side.killed == ["mapper:120 killed by SIGBUS (BUS_MCEERR_AR)"]
    assert any("dax_disassociate_entry" in x for x in side.dmesg)


def test_an_oops_outranks_and_a_silent_guest_is_hung() -> None:
    console = "[   9.1] daxsh: steps begin\n[  10.2] BUG: unable to handle page fault for address: ff\n"
    side = parse_real(["READY pfn0.0", "STEP 1 killed SIGKILL"], console, {1: "umount /mnt"}, False, True)
    assert side.outcome == "oops"
    assert side.steps[0].status == "error" and "died in the oops" in side.steps[0].text
    assert any("stopped answering" in d for d in side.details)
    side = parse_real(["READY pfn0.0", "STEP 1 done"], "", {1: "a"}, False, True)
    assert side.outcome == "hung"


def test_differences_name_steps_outcome_and_signals() -> None:
    sc = _sc([*BASE, "touch 0x7f0000000000 64K --write"])
    model = model_side(run(sc, "v6.1", keep_session=True))
    real = parse_real(["STEP 1 done", "STEP 2 done", "STEP 3 error ENOSPC", "STEP 4 done", "STEP 5 done",
                       "KILLED sh 100 BUS BUS_ADRERR", "END"], "", {}, True, False)
    d = differences(real, model)
    assert any(x.startswith("step 3 `create /mnt/a 64K`: real error (ENOSPC), model done") for x in d)
    assert any(x.startswith("killed: real") for x in d)
    same = parse_real([f"STEP {i} done" for i in range(1, 6)] + ["END"], "", {}, True, False)
    assert differences(same, model) == []


def test_model_steps_that_end_by_a_signal_count_as_killed() -> None:
    sc = _sc(["mkfs xfs /dev/pmem0 -m rmapbt=1", *BASE[1:], "touch 0x7f0000000000 64K --write",
              "proc injector", "poison 0x101210", "proc sh", "touch 0x7f0000000000"])
    side = model_side(run(sc, "v6.12", keep_session=True))
    assert side.steps[-1].status == "killed"
    assert isinstance(side.steps[-1], StepResult)


def test_preset_for_a_release() -> None:
    assert preset_for("6.1.0-57-amd64") == "v6.1"
    assert preset_for("6.12.117+deb12-amd64") == "v6.12"


def test_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["real"]) == 2
    assert main(["real", str(tmp_path / "nope.toml")]) == 2
    race = tmp_path / "race.toml"
    race.write_text('[threads]\na = ["create /mnt/a 4K"]\nb = ["rm /mnt/a"]\n')
    assert main(["real", str(race), "--kernel", "6.12"]) == 2
    assert "verdict covers every interleaving" in capsys.readouterr().err
    assert main(["real", str(REAL[0]), "--kernel", "5.10"]) == 2
    # nothing set up in this cache: exit 3, saying what is missing and the setup command
    assert main(["real", str(REAL[0]), "--kernel", "6.12"]) == 3
    err = capsys.readouterr().err
    assert "daxsh real --setup" in err


def test_json_shape() -> None:
    from daxsh.real.compare import Comparison

    sc = _sc(BASE)
    model = model_side(run(sc, "v6.12", keep_session=True))
    real = parse_real([f"STEP {i} done" for i in range(1, 5)] + ["END"], "", {}, True, False)
    obj = Comparison("6.12", "6.12.117+deb12-amd64", "v6.12", real, model, differences(real, model)).to_json()
    assert {"kernel", "preset", "real", "model", "agree", "differences"} <= set(obj)
    for side in ("real", "model"):
        assert {"outcome", "steps", "killed", "dmesg"} <= set(obj[side])
    assert obj["agree"] is True and obj["differences"] == []
    assert json.loads(json.dumps(obj)) == obj


def test_real_6_1_is_compared_with_the_stable_backport_and_known_limits_follow_the_spec() -> None:
    from daxsh.kernel.config import KernelConfig
    from daxsh.real.compare import PRESETS
    from daxsh.real.known import disagreement

    assert KernelConfig.parse(PRESETS["6.1"]).spec == "v6.1 +stable-bio-put-refs"
    assert preset_for("6.1.192") == KernelConfig.parse(PRESETS["6.1"]).base
    # the lost wake-up is modelled now: no longer a known disagreement
    for sc in ("dma-vs-truncate-xfs", "dma-vs-punch-ext4", "schedule-dma-vs-truncate"):
        assert disagreement(sc, PRESETS["6.1"]) is None
    assert disagreement("unmapped-pin-busy-extent", PRESETS["6.1"])
    assert disagreement("unmapped-pin-busy-extent", "v6.1  +stable-bio-put-refs")  # normalized
    assert disagreement("unmapped-pin-busy-extent", "v6.1") is None  # not the kernel compared
