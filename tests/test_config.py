"""Kernel versions as data: behaviours, presets, composition, and `kernels` explaining them."""

import pytest

from daxsh.kernel.config import BEHAVIOURS, BY_NAME, PRESETS, ConfigError, KernelConfig, changes, preset, vkey
from daxsh.lang import Session


def test_every_behaviour_cites_a_commit_and_a_version_or_a_thread() -> None:
    for b in BEHAVIOURS:
        assert b.commits and all(c.strip() for c in b.commits), b.name
        if b.stable:  # a stable series' backport: in no mainline preset, the release read named
            assert b.version == "" and not b.is_proposal and "read in" in b.stable, b.name
            assert all(b.name not in preset(v) for v in PRESETS), b.name
        elif b.is_proposal:
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
    c = KernelConfig.parse("v6.14 +dax-break-layout-final -foll-pin-counting")
    assert "dax-break-layout-final" in c.behaviours and "foll-pin-counting" not in c.behaviours
    assert c.spec == ("v6.14 +dax-break-layout-final +dax-busy-scan-unmapped +dax-break-layout "
                      "-foll-pin-counting")
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
    assert r.status == "done" and s.kernel_spec == \
        "v6.14 +dax-break-layout-final +dax-busy-scan-unmapped +dax-break-layout"
    assert any("dax-break-layout-final needs dax-busy-scan-unmapped" in x and
               "added +dax-busy-scan-unmapped" in x for x in r.output)
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


# -- behaviours as consistent sets ---------------------------------------------------------------


def test_every_preset_holds_what_its_behaviours_need() -> None:
    for p in PRESETS:
        have = preset(p)
        for name in have:
            for need, why in BY_NAME[name].needs:
                assert need in have, (p, name, need)
                assert why, (name, need)


def test_a_merged_behaviour_needs_only_older_merged_ones() -> None:
    for b in BEHAVIOURS:
        for need, _ in b.needs:
            n = BY_NAME[need]
            assert not n.is_proposal, (b.name, need)
            if not b.is_proposal:
                assert vkey(n.version) <= vkey(b.version), (b.name, need)


def test_adding_a_behaviour_brings_in_what_it_needs_and_says_so() -> None:
    c = KernelConfig.parse("v6.14 +dax-break-layout-final")
    assert {"dax-busy-scan-unmapped", "dax-break-layout"} <= c.behaviours
    assert len(c.notes) == 2 and all("dax-break-layout-final needs" in n for n in c.notes)
    c = KernelConfig.parse("v5.3 +foll-pin-counting")
    assert "foll-pin" in c.behaviours and c.spec == "v5.3 +foll-pin-counting +foll-pin"
    assert KernelConfig.parse("v6.15").notes == ()


def test_removing_what_another_needs_is_refused_naming_both() -> None:
    with pytest.raises(ConfigError, match=r"dax-break-layout-final needs dax-busy-scan-unmapped.*"
                                          r"remove both \(-dax-break-layout-final "
                                          r"-dax-busy-scan-unmapped\)"):
        KernelConfig.parse("v6.15 -dax-busy-scan-unmapped")
    with pytest.raises(ConfigError, match="dax-break-layout-final needs dax-busy-scan-unmapped"):
        KernelConfig.parse("v6.14 +dax-break-layout-final -dax-busy-scan-unmapped")
    c = KernelConfig.parse("v6.15 -dax-busy-scan-unmapped -dax-break-layout-final")
    assert "dax-busy-scan-unmapped" not in c.behaviours
    s = Session("v6.15")
    r = s.execute("kernel v6.15 -dax-busy-scan-unmapped")
    assert r.status == "error" and "dax-break-layout-final" in r.error and s.kernel_spec == "v6.15"


def test_kernels_behaviour_shows_what_it_needs_and_what_needs_it() -> None:
    out = "\n".join(Session().execute("kernels dax-break-layout-final").output)
    assert "needs: dax-busy-scan-unmapped" in out and "needs: dax-break-layout" in out
    out = "\n".join(Session().execute("kernels dax-busy-scan-unmapped").output)
    assert "needed by: dax-break-layout-final" in out


def test_pins_are_named_from_v5_6_and_counted_with_the_bias_from_v5_7() -> None:
    assert BY_NAME["foll-pin"].version == "v5.6"
    assert BY_NAME["foll-pin"].commits[0].startswith("eddb1c228f79")
    assert BY_NAME["foll-pin-counting"].version == "v5.7"
    assert [b.name for b in changes("v5.6")] == ["foll-pin"]
    assert [b.name for b in changes("v5.7")] == ["foll-pin-counting"]
    for spec, bias in (("v5.3", 1), ("v5.6", 1), ("v5.3 +foll-pin", 1), ("v5.7", 1024)):
        s = Session(spec)
        for line in ("mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
                     "mmap /mnt/a 64K", "touch $_ 64K --write", "pin 0x7f0000000000 4K"):
            assert s.execute(line).status == "done", (spec, line)
        assert s.k.pins["pin1"].bias == bias, spec
