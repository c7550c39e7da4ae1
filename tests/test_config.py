"""Kernel versions as data: behaviours, presets, composition, and `kernels` explaining them."""

import pytest

from daxsh.kernel.config import BEHAVIOURS, BY_NAME, PRESETS, ConfigError, KernelConfig, changes, preset, vkey
from daxsh.lang import Session


def test_every_behaviour_cites_a_commit_and_a_version_or_a_thread() -> None:
    for b in BEHAVIOURS:
        assert b.commits and all(c.strip() for c in b.commits), b.name
        if b.is_proposal:
            assert b.version == "" and b.proposed.startswith("https://lore.kernel.org/"), b.name
            assert "PROPOSED, NOT MERGED" in b.summary, b.name
        else:
            assert b.version.startswith("v") and vkey(b.version), b.name


def test_presets_only_add_and_include_the_issue_list() -> None:
    for v in ("v4.13", "v4.16", "v4.17", "v4.18", "v4.19", "v5.8", "v6.6", "v6.8", "v6.14", "v6.15"):
        assert v in PRESETS
    for a, b in zip(PRESETS, PRESETS[1:]):
        assert preset(a) <= preset(b), (a, b)
    assert not any(BY_NAME[n].is_proposal for p in PRESETS for n in preset(p))


def test_the_2018_presets() -> None:
    assert "dax-page-mapping" not in preset("v4.16")
    assert "dax-page-mapping" in preset("v4.17") and "xfs-break-dax-layouts" not in preset("v4.17")
    assert "xfs-break-dax-layouts" in preset("v4.18") and "ext4-break-layouts" not in preset("v4.18")
    assert "ext4-break-layouts" in preset("v4.19")


def test_composition() -> None:
    c = KernelConfig.parse("v6.14 +dax-break-layout-final -foll-pin")
    assert "dax-break-layout-final" in c.behaviours and "foll-pin" not in c.behaviours
    assert c.spec == "v6.14 +dax-break-layout-final -foll-pin"
    assert KernelConfig.parse("v6.15 +dax-refcount-0").spec == "v6.15"  # already there
    with pytest.raises(ConfigError, match="did you mean v6.1"):
        KernelConfig.parse("v6.51")
    with pytest.raises(ConfigError, match="did you mean \\+dax-refcount-0"):
        KernelConfig.parse("v6.14 +dax-refcount-O")
    with pytest.raises(ConfigError, match="written \\+NAME or -NAME"):
        KernelConfig.parse("v6.14 dax-refcount-0")


def test_kernels_explains_every_preset_and_behaviour_with_its_commit() -> None:
    out = "\n".join(Session().execute("kernels").output)
    for p in PRESETS:
        assert f"  {p} " in out
    for b in BEHAVIOURS:
        assert b.name in out and b.commits[0] in out
    one = "\n".join(Session().execute("kernels v4.18").output)
    assert "xfs-break-dax-layouts" in one and "d6dc57e251a4" in one
    assert [b.name for b in changes("v4.17")] == ["dax-page-mapping"]


def test_kernel_command_reboots_and_composes() -> None:
    s = Session("v6.14")
    s.execute("mkfs xfs /dev/pmem0")
    r = s.execute("kernel +dax-break-layout-final")
    assert r.status == "done" and s.kernel_spec == "v6.14 +dax-break-layout-final"
    assert s.k.has("dax-break-layout-final")
    assert s.execute("mount /dev/pmem0 /mnt -o dax").status == "done"  # the media survived
    r = s.execute("kernel v9.9")
    assert r.status == "error" and "unknown kernel preset" in r.error


def test_fsx_is_deterministic_per_seed() -> None:
    def run(seed: int) -> list[str]:
        s = Session("v6.15", seed=seed)
        for line in ("mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "fsx /mnt/f 200", "sleep 3"):
            s.execute(line)
        return [e.format() for e in s.k.trace_buf.events if e.func == "fsx_op"]
    a, b, c = run(1), run(1), run(2)
    assert len(a) == 200 and a == b and a != c
