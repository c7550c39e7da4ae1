"""Kernel names by version: the name each modelled function, lock or field had in each release.

The model's code is written with the names of the newest kernel it models (``pin_user_pages``,
``mmap_lock``, ``dax_layout_busy_page_range``).  A kernel developer reads a trace against the
source of the version chosen, so everything the model prints -- trace events, dmesg, ``why``,
``show`` -- goes through :func:`render`, which puts the name that version has in place of each
one.  This table is the one place for those facts.

Each :class:`KName` row is one name with its life: the release it appeared in (``since``, with the
commit) and the release it went in (``until``, with the commit), the name used before it and the
name used after it.  ``behaviour`` ties a name to a behaviour of :mod:`.config` instead of a
release (``pin_user_pages`` lives exactly where FOLL_PIN does, so ``v5.3 +foll-pin`` says
``pin_user_pages`` too).  ``role`` says what the row names when the name itself is older than the
role the model gives it (``check_vma_flags`` existed long before it refused fsdax VMAs).

``source`` says where the row was checked: ``read`` rows were read in the release source named
(Debian's linux-source-6.1 = 6.1.176 and linux-source-6.12 = 6.12.117); ``[I]`` rows take the
release from the commit's merge window, not from reading that release's tree.

The table's test (tests/kernel/test_names.py) runs every shipped scenario on every kernel it
names and fails on any table name printed outside its life.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .config import DAX_PAGE_MAPPING, FOLL_PIN, INVALIDATE_LOCK, STABLE_BIO_PUT_REFS, vkey


@dataclass(frozen=True)
class KName:
    name: str
    kind: str  # "function", "lock", "field"
    since: str = ""  # first release with the name ("" = older than every preset)
    since_commit: str = ""
    until: str = ""  # first release without it ("" = still there in the newest preset)
    until_commit: str = ""
    before: str = ""  # the name the same thing had before ``since``
    after: str = ""  # the name it has from ``until``
    behaviour: str = ""  # alive exactly where this behaviour is (instead of since/until)
    without: str = ""  # alive exactly where this behaviour is not
    role: str = ""  # what the row names, where the model uses the name for one role only
    source: str = ""

    def alive(self, version: str, behaviours: frozenset[str]) -> bool:
        if self.behaviour:
            return self.behaviour in behaviours
        if self.without:
            return self.without not in behaviours
        v = vkey(version)
        if self.since and v < vkey(self.since):
            return False
        return not (self.until and v >= vkey(self.until))

    def next_name(self, version: str, behaviours: frozenset[str]) -> str:
        """Where a dead name points: the name before it or the name after it."""
        if self.behaviour:
            return self.before
        if self.without:
            return self.after
        return self.before if self.since and vkey(version) < vkey(self.since) else self.after


S61 = "read: 6.1.176"
S612 = "read: 6.12.117"
S_BOTH = "read: 6.1.176 and 6.12.117"

NAMES: tuple[KName, ...] = (
    # -- system-call entry points the model's commands start at ----------------------------------
    KName("ksys_mmap_pgoff", "function", since="v4.17",
          since_commit="a90f590a1bee mm: add ksys_mmap_pgoff() helper; remove in-kernel calls to "
          "sys_mmap_pgoff()", before="sys_mmap_pgoff",
          source="[I] v4.17 (the syscall clean-ups of that merge window); " + S_BOTH + " mm/mmap.c"),
    KName("__vm_munmap", "function", since="v4.20",
          since_commit="dd2283f2605e mm: mmap: zap pages with read mmap_sem in munmap",
          before="vm_munmap", source="[I] v4.20 merge window; " + S_BOTH + " mm/mmap.c "
          "(SYSCALL_DEFINE2(munmap) calls it)"),
    KName("do_user_addr_fault", "function", since="v4.20", before="__do_page_fault",
          source="[I] v4.20 (the x86 fault.c split of that merge window; commit not read); "
          + S_BOTH + " arch/x86/mm/fault.c"),
    # -- mm: the mmap lock --------------------------------------------------------------------
    KName("mmap_sem", "lock", until="v5.8",
          until_commit="da1c55f1b272 mmap locking API: rename mmap_sem to mmap_lock",
          after="mmap_lock", source="[I] v5.8 merge window; 6.1 has mmap_lock"),
    KName("mmap_lock", "lock", since="v5.8",
          since_commit="da1c55f1b272 mmap locking API: rename mmap_sem to mmap_lock",
          before="mmap_sem", source=S61 + " include/linux/mm_types.h struct mm_struct"),
    # -- mm/gup.c: pinning ------------------------------------------------------------------------
    KName("pin_user_pages", "function", behaviour=FOLL_PIN,
          since_commit="eddb1c228f79 mm/gup: introduce pin_user_pages*() and FOLL_PIN (v5.6)",
          before="get_user_pages", source="[I] v5.6; " + S61 + " mm/gup.c"),
    KName("unpin_user_page", "function", behaviour=FOLL_PIN,
          since_commit="f1f6a7dd9b53 mm, tree-wide: rename put_user_page*() to "
          "unpin_user_page*() (v5.6)",
          before="put_page", source="[I] v5.6; " + S61 + " mm/gup.c"),
    KName("unpin_user_pages", "function", behaviour=FOLL_PIN,
          since_commit="f1f6a7dd9b53 (v5.6)", before="put_page", source="[I] v5.6"),
    # the O_DIRECT bio of 6.1.y (stable-bio-put-refs): the model names these only there
    KName("iov_iter_get_pages2", "function", behaviour=STABLE_BIO_PUT_REFS,
          role="the page references an O_DIRECT bio takes (FOLL_GET)",
          source="read: 6.1.192 block/bio.c:1217 __bio_iov_iter_get_pages; 6.12.117 takes "
          "them with iov_iter_extract_pages (FOLL_PIN) instead"),
    KName("folio_put_refs", "function", behaviour=STABLE_BIO_PUT_REFS,
          role="how an O_DIRECT bio's completion drops its page references",
          since_commit="38b43539d64b block: Fix page refcounts for unaligned buffers in "
          "__bio_release_pages() (v6.9-rc1; its 6.1.y backport)",
          source="read: 6.1.192 block/bio.c:1124 __bio_release_pages, include/linux/mm.h:1199"),
    KName("get_user_pages_longterm", "function", since="v4.15",
          since_commit="2bb6d2837083 mm: introduce get_user_pages_longterm()", until="v5.2",
          until_commit="932f4a630a69 mm/gup: replace get_user_pages_longterm() with "
          "FOLL_LONGTERM", after="check_dax_vmas",
          role="where a long-term pin of an fsdax VMA is refused", source="[I]"),
    KName("check_dax_vmas", "function", since="v5.2", since_commit="932f4a630a69",
          until="v5.11", until_commit="52650c8b466b mm/gup: remove the vma allocation from "
          "gup_longterm_locked()", before="get_user_pages_longterm", after="check_vma_flags",
          role="where a long-term pin of an fsdax VMA is refused", source="[I]"),
    KName("check_vma_flags", "function", since="v5.11", since_commit="52650c8b466b",
          before="check_dax_vmas",
          role="where a long-term pin of an fsdax VMA is refused",
          source="[I] v5.11; " + S_BOTH + " mm/gup.c check_vma_flags: "
          "(gup_flags & FOLL_LONGTERM) && vma_is_fsdax(vma)"),
    KName("get_page", "function", until="v5.1",
          until_commit="88b1a17dfc3e mm: add 'try_get_page()' helper function",
          after="try_get_page", role="the reference GUP's slow path takes (follow_page_pte)",
          source="[I]"),
    KName("try_get_page", "function", since="v5.1", since_commit="88b1a17dfc3e",
          until="v5.7", until_commit="3faa52c03f44 mm/gup: track FOLL_PIN pages",
          before="get_page", after="try_grab_page",
          role="the reference GUP's slow path takes (follow_page_pte)", source="[I]"),
    KName("try_grab_page", "function", since="v5.7",
          since_commit="3faa52c03f44 mm/gup: track FOLL_PIN pages",
          until="v6.10", until_commit="f442fa614137 mm: gup: stop abusing try_grab_folio",
          before="try_get_page", after="try_grab_folio",
          role="the reference GUP's slow path takes (follow_page_pte)",
          source="[I] v5.7; " + S61 + " mm/gup.c follow_page_pte calls try_grab_page"),
    KName("try_grab_folio", "function", since="v6.10",
          since_commit="f442fa614137 mm: gup: stop abusing try_grab_folio (Yang Shi, "
          "mm-hotfixes, June 2024)", before="try_grab_page",
          role="the reference GUP's slow path takes (follow_page_pte); v5.17-v6.9 had a "
          "try_grab_folio in the fast path only",
          source="[I] v6.10; " + S612 + " mm/gup.c follow_page_pte calls try_grab_folio"),
    # -- mm/memremap.c: the last put of a ZONE_DEVICE page -----------------------------------
    KName("put_devmap_managed_page", "function", since="v4.18",
          since_commit="e76384884344 mm: introduce MEMORY_DEVICE_FS_DAX and "
          "CONFIG_DEV_PAGEMAP_OPS", until="v5.19", before="put_page",
          after="put_devmap_managed_page_refs",
          role="the put that wakes a waiter when an fsdax page goes idle",
          source="[I] both ends"),
    KName("put_devmap_managed_page_refs", "function", since="v5.19", until="v6.10",
          before="put_devmap_managed_page", after="put_devmap_managed_folio_refs",
          role="the put that wakes a waiter when an fsdax page goes idle",
          source="[I] both ends; " + S61 + " mm/gup.c gup_put_folio"),
    KName("put_devmap_managed_folio_refs", "function", since="v6.10",
          before="put_devmap_managed_page_refs",
          role="the put that wakes a waiter when an fsdax page goes idle",
          source="[I] v6.10; " + S612 + " mm/gup.c gup_put_folio"),
    KName("free_zone_device_folio", "function", since="v6.10", before="free_zone_device_page",
          source="[I] v6.10; " + S612 + " mm/memremap.c (6.1 has free_zone_device_page)"),
    KName("free_zone_device_page", "function", since="v5.18",
          since_commit="27674ef6c73f mm: remove the extra ZONE_DEVICE struct page refcount",
          until="v6.10", after="free_zone_device_folio", source="[I]; " + S61),
    # -- fs/dax.c --------------------------------------------------------------------------------
    KName("dax_layout_busy_page", "function", since="v4.18",
          since_commit="5fac7408d828 mm, fs, dax: handle layout changes to pinned dax mappings",
          source=S_BOTH + " fs/dax.c (a wrapper of the range form from v5.10)"),
    KName("dax_layout_busy_page_range", "function", since="v5.10",
          since_commit="6bbdd563ee9a dax: Create a range version of dax_layout_busy_page()",
          before="dax_layout_busy_page", source="[I] v5.10 (virtiofs DAX); " + S_BOTH),
    KName("dax_associate_entry", "function", behaviour=DAX_PAGE_MAPPING,
          since_commit="d2c997c0f145 fs, dax: use page->mapping to warn if truncate collides "
          "with a busy page (v4.17)", source="[I] v4.17; " + S_BOTH + " fs/dax.c"),
    KName("dax_disassociate_entry", "function", behaviour=DAX_PAGE_MAPPING,
          since_commit="d2c997c0f145 (v4.17)", source="[I] v4.17; " + S_BOTH + " fs/dax.c"),
    # -- mm/memory.c, mm/memremap.c --------------------------------------------------------------
    KName("unmap_mapping_pages", "function", since="v4.16",
          since_commit="977fbdcd5986 mm: add unmap_mapping_pages()",
          before="unmap_mapping_range", source="[I] v4.16; " + S61 + " mm/memory.c"),
    KName("memunmap_pages", "function", since="v5.3", before="devm_memremap_pages_release",
          source="[I] v5.3 (the dev_pagemap cleanups of the 5.3 merge window, commit not "
          "read); " + S61 + " mm/memremap.c"),
    # -- mm/filemap.c: the page cache of non-DAX files ----------------------------------------
    KName("filemap_add_folio", "function", since="v5.16",
          since_commit="9dd3d069406c mm/filemap: Add filemap_add_folio()",
          before="add_to_page_cache_lru", source="[I] v5.16; " + S61),
    KName("filemap_remove_folio", "function", since="v5.18",
          since_commit="452e9e6992fe filemap: Add filemap_remove_folio and "
          "__filemap_remove_folio", before="delete_from_page_cache",
          source="[I] v5.18; " + S61),
    # -- memory failure ---------------------------------------------------------------------------
    KName("mf_generic_kill_procs", "function", since="v5.17",
          since_commit="c36e20249571 mm: factor helpers for memory_failure_dev_pagemap",
          before="memory_failure_dev_pagemap", source="[I] v5.17; " + S_BOTH),
    # -- the invalidate lock (the model picks these by behaviour; rows for the life test) ----
    KName("invalidate_lock", "lock", behaviour=INVALIDATE_LOCK,
          since_commit="730633f0b7f9 mm: Protect operations adding pages to page cache with "
          "invalidate_lock (v5.15)", source=S_BOTH),
    KName("i_mmap_sem", "lock", without=INVALIDATE_LOCK,
          after="invalidate_lock", role="ext4's mmap lock", source="[I]"),
    KName("i_mmaplock", "lock", without=INVALIDATE_LOCK,
          after="invalidate_lock", role="XFS's MMAPLOCK", source="[I]"),
    # -- fileattr -------------------------------------------------------------------------------
    KName("ext4_fileattr_set", "function", since="v5.13",
          since_commit="4db5c2e6f9a0 ext4: convert to fileattr", before="ext4_ioctl_setflags",
          source="[I] v5.13; " + S_BOTH),
    KName("xfs_ioctl_setattr", "function", until="v5.13",
          until_commit="9fefd5db08ce xfs: convert to fileattr", after="xfs_fileattr_set",
          source="[I] v5.13; " + S61 + " fs/xfs/xfs_ioctl.c has xfs_fileattr_set"),
)

# Names of model functions that are not kernel names: what the kernel calls them.
ALIASES: dict[str, str] = {
    # the entry point a command's task starts at (the model names it for the command)
    "ksys_mmap": "ksys_mmap_pgoff",  # mmap: SYSCALL_DEFINE6(mmap) -> ksys_mmap_pgoff (mm/mmap.c)
    "ksys_munmap": "__vm_munmap",  # munmap: SYSCALL_DEFINE2(munmap) -> __vm_munmap
    "path_lookup": "path_lookupat",  # fs/namei.c filename_lookup -> path_lookupat (every preset)
    "do_stat": "vfs_statx",  # fs/stat.c (read in 6.1 and 6.12; since v4.11, before every preset)
    "do_user_access": "do_user_addr_fault",  # the page fault of a user load or store
    "xfs_fs_evict_inode_2022": "xfs_fs_evict_inode",
    "xfs_fs_evict_inode_2025v6": "xfs_fs_evict_inode",
}

BY_KNAME: dict[str, KName] = {n.name: n for n in NAMES}


def kname(name: str, version: str, behaviours: frozenset[str]) -> str:
    """The name ``version`` (with ``behaviours``) gives what the model calls ``name``."""
    name = ALIASES.get(name, name)
    seen = set()
    while name in BY_KNAME and name not in seen:
        seen.add(name)
        row = BY_KNAME[name]
        if row.alive(version, behaviours):
            return name
        nxt = row.next_name(version, behaviours)
        if not nxt:
            return name
        name = nxt
    return name


@lru_cache(maxsize=64)
def absent(version: str, behaviours: frozenset[str]) -> frozenset[str]:
    """Model functions that ``version`` has no function for at all (a dead name with no name
    before or after it): their calls run but are neither traced nor in call traces."""
    out = set()
    for n, row in BY_KNAME.items():
        if row.kind == "function" and kname(n, version, behaviours) == n \
                and not row.alive(version, behaviours):
            out.add(n)
    return frozenset(out)


@lru_cache(maxsize=64)
def names_map(version: str, behaviours: frozenset[str]) -> dict[str, str]:
    """Every name that ``version`` spells differently: model name -> kernel name."""
    out = {}
    for n in [*BY_KNAME, *ALIASES]:
        k = kname(n, version, behaviours)
        if k != n:
            out[n] = k
    return out


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=64)
def _pattern(version: str, behaviours: frozenset[str]) -> re.Pattern[str] | None:
    m = names_map(version, behaviours)
    if not m:
        return None
    alts = "|".join(sorted((re.escape(x) for x in m), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{alts})(?![A-Za-z0-9_])")


def render(text: str, version: str, behaviours: frozenset[str]) -> str:
    """``text`` with every model name replaced by the name ``version`` has (whole words)."""
    pat = _pattern(version, behaviours)
    if pat is None or not text:
        return text
    m = names_map(version, behaviours)
    return pat.sub(lambda mo: m[mo.group(0)], text)


def out_of_life(text: str, version: str, behaviours: frozenset[str]) -> list[str]:
    """Table names in ``text`` that ``version`` (with ``behaviours``) does not have."""
    bad = []
    for w in sorted(set(_IDENT.findall(text))):
        if w in ALIASES:
            bad.append(w)
        row = BY_KNAME.get(w)
        if row is not None and not row.alive(version, behaviours):
            bad.append(w)
    return bad
