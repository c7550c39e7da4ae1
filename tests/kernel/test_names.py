"""Kernel names by version (daxsh/kernel/names.py).

Every shipped scenario runs on every kernel it names -- the ``[threads]`` ones in each serial
order of their threads -- and everything the model prints there (each step's output, `why`,
every `show` view, `trace`, `dmesg`) must use only names the version has.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from daxsh.kernel.config import BEHAVIOURS, PRESETS, KernelConfig, preset, vkey
from daxsh.kernel.names import ALIASES, BY_KNAME, NAMES, kname, out_of_life, render
from daxsh.lang import Session
from daxsh.scenario.load import load

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.toml"))
QUERIES = ("why", "show pages", "show ptes", "show waiters", "show inodes", "show blocks",
           "trace", "dmesg", "check")


def _cases() -> list[tuple[Path, str]]:
    return [(p, spec) for p in SCENARIOS for spec in load(p).kernels()]


def _printed(s: Session, lines: list[str]) -> list[str]:
    out = list(lines)
    for q in QUERIES:
        out += s.execute(q).text()
    return out


def _check(s: Session, printed: list[str], where: str) -> None:
    cfg = s.k.config
    bad = {w for line in printed for w in out_of_life(line, cfg.base, s.k.behaviours)}
    assert not bad, f"{where} on {cfg.spec}: names this kernel does not have: {sorted(bad)}"


@pytest.mark.parametrize(("path", "spec"), _cases(),
                         ids=[f"{p.relative_to(ROOT / 'scenarios')}@{k}" for p, k in _cases()])
def test_scenario_speaks_its_versions_names(path: Path, spec: str) -> None:
    sc = load(path)
    if sc.steps or not sc.threads:
        s = Session(spec, pmem=sc.pmem, seed=sc.seed)
        printed = []
        for st in sc.steps or sc.setup:
            printed += s.execute(st.line).text()
        _check(s, _printed(s, printed), path.name)
        return
    for order in itertools.permutations(sc.threads):
        s = Session(spec, pmem=sc.pmem, seed=sc.seed)
        printed = []
        for st in sc.setup:
            printed += s.execute(st.line).text()
        for name in order:  # one thread after the other, each as far as it gets alone
            for x in sc.threads[name]:
                r = s.execute(x.line)
                printed += r.text()
                if r.status != "done":  # blocked or failed: the thread gets no further alone
                    break
        _check(s, _printed(s, printed), f"{path.name} threads {'/'.join(order)}")


# -- the table itself --------------------------------------------------------------------------


def _all_versions() -> list[str]:
    return list(PRESETS)


def test_every_row_names_its_neighbours_consistently() -> None:
    for row in NAMES:
        if row.before in BY_KNAME:
            prev = BY_KNAME[row.before]
            if not row.behaviour and row.since:
                assert prev.until in ("", row.since) or prev.after != row.name, row.name
        if row.since and row.until:
            assert vkey(row.since) < vkey(row.until), row.name
        for c in (row.since_commit, row.until_commit):
            if c:
                assert c.split()[0].isalnum(), (row.name, c)
        assert row.source, f"{row.name}: say where the row was checked"


@pytest.mark.parametrize("version", _all_versions())
def test_kname_always_gives_a_name_the_version_has(version: str) -> None:
    bs = preset(version)
    for n in BY_KNAME:
        got = kname(n, version, bs)
        row = BY_KNAME.get(got)
        # a dead name with nothing before it: the version has no such function (the model
        # must not print it there; the scenario test checks that)
        assert row is None or row.alive(version, bs) or not row.next_name(version, bs), \
            (n, version, got)
    for a in ALIASES:
        assert kname(a, version, bs) not in ALIASES


@pytest.mark.parametrize(("name", "version", "want"), [
    ("mmap_lock", "v5.7", "mmap_sem"), ("mmap_lock", "v5.8", "mmap_lock"),
    ("pin_user_pages", "v4.16", "get_user_pages"), ("pin_user_pages", "v5.7", "pin_user_pages"),
    ("unpin_user_page", "v5.3", "put_page"),
    ("try_grab_folio", "v4.16", "get_page"), ("try_grab_folio", "v5.3", "try_get_page"),
    ("try_grab_folio", "v5.7", "try_grab_page"), ("try_grab_folio", "v6.8", "try_grab_page"),
    ("try_grab_folio", "v6.12", "try_grab_folio"),
    ("check_vma_flags", "v4.16", "get_user_pages_longterm"),
    ("check_vma_flags", "v5.3", "check_dax_vmas"), ("check_vma_flags", "v6.1", "check_vma_flags"),
    ("dax_layout_busy_page_range", "v4.18", "dax_layout_busy_page"),
    ("dax_layout_busy_page_range", "v6.1", "dax_layout_busy_page_range"),
    ("put_devmap_managed_page", "v4.16", "put_page"),
    ("put_devmap_managed_page", "v6.1", "put_devmap_managed_page_refs"),
    ("put_devmap_managed_page", "v6.12", "put_devmap_managed_folio_refs"),
    ("i_mmap_sem", "v5.15", "invalidate_lock"),
    ("xfs_fs_evict_inode_2022", "v6.15", "xfs_fs_evict_inode"),
])
def test_known_renames(name: str, version: str, want: str) -> None:
    assert kname(name, version, preset(version)) == want


def test_a_behaviour_tied_name_follows_the_behaviour_not_the_version() -> None:
    cfg = KernelConfig.parse("v5.3 +foll-pin")
    assert kname("pin_user_pages", cfg.base, cfg.behaviours) == "pin_user_pages"
    assert kname("mmap_lock", cfg.base, cfg.behaviours) == "mmap_sem"


def test_render_replaces_whole_words_only() -> None:
    bs = preset("v4.16")
    assert render("down_read(mmap_lock sh) mmap_lock_x pin_user_pages2", "v4.16", bs) == \
        "down_read(mmap_sem sh) mmap_lock_x pin_user_pages2"
    assert render("pin_user_pages(sh:100)", "v6.15", preset("v6.15")) == "pin_user_pages(sh:100)"


def test_out_of_life_finds_a_name_too_new_and_a_name_too_old() -> None:
    assert out_of_life("pin_user_pages mmap_lock", "v4.16", preset("v4.16")) == \
        ["mmap_lock", "pin_user_pages"]
    assert out_of_life("down_read(mmap_sem)", "v6.1", preset("v6.1")) == ["mmap_sem"]


def test_a_v4_16_session_speaks_v4_16() -> None:
    s = Session("v4.16")
    for line in ("mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
                 "mmap /mnt/a 64K", "touch $_ 64K --write", "pin 0x7f0000000000 4K"):
        assert s.execute(line).status == "done", line
    trace = "\n".join(s.execute("trace").text())
    assert "get_user_pages(" in trace and "mmap_sem" in trace and "get_page(" in trace
    assert "pin_user_pages" not in trace and "mmap_lock" not in trace
    assert s.execute("break get_user_pages").status == "done"
    assert "get_user_pages" in s.execute("break get_user_pages").text()[0]


def test_behaviour_summaries_are_not_rewritten() -> None:
    s = Session("v4.16")
    text = "\n".join(s.execute("kernels foll-pin").text())
    assert "pin_user_pages" in text
    assert BEHAVIOURS
