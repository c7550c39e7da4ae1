"""Kernel versions as data: named behaviours, one per upstream change, and presets.

Each :class:`Behaviour` is one change to mainline (or a reviewed proposal that never merged, or
a change only a stable series carries), with the commit(s) that made it and the first release
that had it.  A preset ``vX.Y`` is the set of merged mainline behaviours whose version is at most
X.Y; proposals and stable-only changes are in no preset (``kernel v6.1 +NAME`` adds one).
Kernel code asks ``k.has(NAME)``, never a version number.  Sources are shared/KERNEL.md
section 4 (rows named in ``row``); where that page tags a fact [I] or [U], ``reading`` says
which reading the model took.

A behaviour that needs another (``needs``: the code it changes or calls came with that one)
brings it in when added with ``+NAME`` (``KernelConfig.notes`` says so), and removing a
behaviour that another present one needs is refused naming both.  Every preset holds the
behaviours its members need (tests/test_config.py).

Rows with no behaviour here, because nothing in the model can observe them: 1 (fsdax needs a
pfn device: the model always has one), 19 (radix tree vs XArray: the model's ``i_pages`` is a
map either way), 28 (``->huge_fault`` taking an order instead of ``enum page_entry_size``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote_plus

from .hint import Hint, HintKind


@dataclass(frozen=True)
class Behaviour:
    name: str
    version: str  # first mainline release with the change ("" for proposals)
    commits: tuple[str, ...]
    summary: str
    row: str = ""  # shared/KERNEL.md section 4 row(s)
    reading: str = ""  # the reading chosen where the fact is [I]/[U]
    proposed: str = ""  # for proposals never merged: the thread
    # for a change only a stable series carries (a backport shaped for that series, never in a
    # mainline release): the series and the releases read, e.g. "6.1.y (read in 6.1.192)"
    stable: str = ""
    # behaviours this one cannot work without (the code it changes or calls), each with why
    needs: tuple[tuple[str, str], ...] = ()

    @property
    def is_proposal(self) -> bool:
        return bool(self.proposed)

    @property
    def in_mainline(self) -> bool:
        """In the mainline release ``version`` and every later one (so in those presets)."""
        return not self.proposed and not self.stable


def lore(subject: str) -> str:
    """A lore.kernel.org search for a thread by its subject (no message-id is invented)."""
    return "https://lore.kernel.org/all/?q=" + quote_plus(f's:"{subject}"')


@lru_cache(maxsize=256)
def vkey(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.lstrip("v").split("."))


BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour(
        "xfs-per-inode-dax", "v4.5", ("58f88ca2df72 xfs: introduce per-inode DAX enablement",),
        "FS_XFLAG_DAX on an XFS file flips S_DAX on the live inode at once "
        "(xfs_ioctl_setattr_dax_invalidate under IOLOCK_EXCL|MMAPLOCK_EXCL): racy against mmap "
        "and the huge-fault IS_DAX check",
        row="25", reading="[U] version: taken as present in every preset before v4.14",
    ),
    Behaviour(
        "xfs-disable-per-inode-dax", "v4.14", ("742d84290739 xfs: disable per-inode DAX flag",),
        "FS_XFLAG_DAX is stored on disk but no longer changes S_DAX; only -o dax enables DAX",
        row="26", reading="[I] v4.14 (Ross Zwisler: 'v4.13 and before' had the flip)",
    ),
    Behaviour(
        "gup-longterm", "v4.15",
        ("2bb6d2837083 mm: introduce get_user_pages_longterm()",
         "5f1d43de5416 IB/core: disable memory registration of filesystem-dax vmas"),
        "long-term pins (pin --longterm, RDMA memory registration) of fsdax VMAs fail with "
        "EOPNOTSUPP",
        row="2", reading="[U] id 2bb6d2837083",
    ),
    Behaviour(
        "map-sync", "v4.15", ("b6fb293f2497 mm: Define MAP_SYNC and VM_SYNC flags",),
        "mmap(MAP_SHARED_VALIDATE|MAP_SYNC) on DAX files; before it, mmap --sync is EINVAL",
        reading="[U] id and version from background knowledge",
    ),
    Behaviour(
        "dax-page-mapping", "v4.17",
        ("d2c997c0f145 fs, dax: use page->mapping to warn if truncate collides with a busy page",),
        "DAX entries set page->mapping/index (dax_associate_entry); removing an entry of a busy "
        "page WARNs in dax_disassociate_entry but proceeds",
        row="5",
    ),
    Behaviour(
        "xfs-break-dax-layouts", "v4.18",
        ("5fac7408d828 mm, fs, dax: handle layout changes to pinned dax mappings",
         "c63a8eae63d3 xfs: prepare xfs_break_layouts() to be called with XFS_MMAPLOCK_EXCL",
         "69eb5fa10eb2 xfs: prepare xfs_break_layouts() for another layout type",
         "d6dc57e251a4 xfs, dax: introduce xfs_break_dax_layouts()"),
        "XFS truncate/punch wait for pinned DAX pages: xfs_break_layouts -> "
        "xfs_break_dax_layouts -> dax_layout_busy_page -> ___wait_var_event (interruptible), "
        "xfs_wait_dax_page drops MMAPLOCK and keeps IOLOCK; the busy scan is skipped when the "
        "file has no VMAs (mapping_mapped)",
        row="6, 9, 10, 11",
    ),
    Behaviour(
        "ext4-break-layouts", "v4.19",
        ("430657b6be89 ext4: handle layout changes to pinned DAX mappings",
         "b1f382178d15 ext4: close race between direct IO and ext4_break_layouts()"),
        "ext4 truncate/punch wait for pinned DAX pages (ext4_break_layouts, ext4_wait_dax_page "
        "drops i_mmap_sem / invalidate_lock)",
        row="7, 11", reading="[I] v4.19 from the author date 2018-07-29",
        needs=(("xfs-break-dax-layouts", "ext4_break_layouts calls dax_layout_busy_page(), "
                "which 5fac7408d828 added"),),
    ),
    Behaviour(
        "memory-failure-dev-pagemap", "v4.19",
        ("6100e34b2526 mm, memory_failure: Teach memory_failure() about dev_pagemap pages",),
        "memory_failure() on an fsdax pfn finds the file through page->mapping, unmaps it and "
        "kills with SIGBUS; before it the pfn is not handled",
        row="20", reading="[I] v4.19",
        needs=(("dax-page-mapping", "it finds the file through page->mapping, which "
                "dax_associate_entry (d2c997c0f145) sets"),),
    ),
    Behaviour(
        "memunmap-waits-for-pages", "v5.2",
        ("50f44ee7248a mm/devm_memremap_pages: fix final page put race",),
        "unbind's memunmap_pages() waits until every page reference is dropped, so unbind "
        "blocks while a page is pinned",
        row="29", reading="[I] inferred from memremap refcount history, not reproduced",
    ),
    Behaviour(
        "foll-longterm", "v5.2", ("932f4a630a69 mm/gup: replace get_user_pages_longterm() with FOLL_LONGTERM",),
        "FOLL_LONGTERM: check_vma_flags() refuses fsdax VMAs with EOPNOTSUPP",
        row="3", reading="[U] id and version",
    ),
    Behaviour(
        "unmap-no-even-cows", "v5.3",
        ("dax: dax_layout_busy_page() should not unmap cow pages (Vivek Goyal; Fixes: 5fac7408d828)",),
        "the busy scan calls unmap_mapping_range(..., even_cows=0): private COW copies stay mapped",
        row="12", reading="[I] end version v5.2 (stable-tagged fix, Aug 2019); id not verified",
        needs=(("xfs-break-dax-layouts", "it changes the unmap in dax_layout_busy_page(), "
                "which 5fac7408d828 added"),),
    ),
    Behaviour(
        "foll-pin", "v5.6",
        ("eddb1c228f79 mm/gup: introduce pin_user_pages*() and FOLL_PIN",
         "f1f6a7dd9b53 mm, tree-wide: rename put_user_page*() to unpin_user_page*()"),
        "pins are taken with pin_user_pages(FOLL_PIN) and dropped with unpin_user_page(); before, "
        "get_user_pages() and put_page() (names in traces: kernel/names.py); a pin still adds 1 "
        "to the refcount, as FOLL_GET does",
        reading="[I] v5.6 from the merge window (January 2020); the names were read in 6.1 "
        "mm/gup.c",
    ),
    Behaviour(
        "foll-pin-counting", "v5.7",
        ("3faa52c03f44 mm/gup: track FOLL_PIN pages",
         "47e29d32afba mm/gup: page->hpage_pinned_refcount: exact pin counts for huge pages"),
        "a FOLL_PIN pin adds GUP_PIN_COUNTING_BIAS (1024) to the refcount (huge pages count pins "
        "exactly); GUP's slow path grabs with try_grab_page()",
        reading="[I] v5.7 from the merge window (April 2020); GUP_PIN_COUNTING_BIAS read in 6.1 "
        "include/linux/mm.h",
        needs=(("foll-pin", "it counts the pins that pin_user_pages (FOLL_PIN) takes"),),
    ),
    Behaviour(
        "dax-dontcache", "v5.8",
        ("dae2f8ed7992 fs: Lift XFS_IDONTCACHE to the VFS layer",
         "2c567af418e3 fs: Introduce DCACHE_DONTCACHE",
         "e4f9ba20d3b8 fs/xfs: Update xfs_ioctl_setattr_dax_invalidate()",
         "712b2698e4c0 fs/stat: Define DAX statx attribute"),
        "XFS per-file DAX: S_DAX is chosen when the inode is loaded; chattr +x/-x only sets "
        "I_DONTCACHE so the new mode applies after eviction; -o dax=always|never|inode; "
        "STATX_ATTR_DAX",
        row="27", reading="[U] ids other than e4f9ba20d3b8",
    ),
    Behaviour(
        "ext4-dax-dontcache", "v5.9",
        ("b383a73f2b83 fs/ext4: Introduce DAX inode flag",
         "9cb20f94afcd fs/ext4: Make DAX mount option a tri-state"),
        "ext4 per-file DAX (EXT4_DAX_FL) with the same I_DONTCACHE design and dax=always|never|inode",
        row="27", reading="[I] v5.9",
        needs=(("dax-dontcache", "it uses I_DONTCACHE and d_mark_dontcache, which "
                "dae2f8ed7992 and 2c567af418e3 lifted to the VFS"),),
    ),
    Behaviour(
        "gup-longterm-check-vma-flags", "v5.11",
        ("52650c8b466b mm/gup: remove the vma allocation from gup_longterm_locked()",),
        "a long-term pin of an fsdax VMA is refused in check_vma_flags() before any fault; "
        "before it get_user_pages_longterm() (v4.15) and __gup_longterm_locked() (v5.2, "
        "check_dax_vmas) faulted the pages in and took them first, then found the fsdax VMA, "
        "put the pages back and returned -EOPNOTSUPP (the fault had allocated blocks and "
        "mapped them writable)",
        reading="[I] v5.11 (merged with 57efa1fe5957 in the 5.11 mm series); "
        "tl:mm/gup.c@v6.1 check_vma_flags lines 1075-1076",
    ),
    Behaviour(
        "inode-reclaim-needs-empty-mapping", "v5.13",
        ("7f0e07fb0289 dax: account DAX entries as nrpages",
         "7716506adac4 mm: introduce and use mapping_empty()"),
        "the inode shrinker (reclaim, drop_caches) evicts an unused inode only when its mapping "
        "is empty (inode_lru_isolate: !mapping_empty -> invalidate_mapping_pages, which leaves "
        "DAX value entries, and LRU_RETRY): an unused DAX inode that holds entries is never "
        "evicted by reclaim; before it the test was i_data.nrpages, DAX entries counted in "
        "nrexceptional, and reclaim evicted such inodes",
        reading="tl:fs/inode.c@v6.1 inode_lru_isolate lines 879-917 (6.1.176); v5.12 read "
        "inode->i_data.nrpages there",
    ),
    Behaviour(
        "inode-lru-mapping-shrinkable", "v5.16",
        ("51b8c1fe250d vfs: keep inodes with page cache off the inode shrinker LRU",),
        "mapping_shrinkable(): an unused inode whose xarray holds more than one entry, or one "
        "entry not stored in the head (index > 0, a PMD entry), is not put on the inode LRU "
        "(__inode_add_lru) and is taken off it by inode_lru_isolate (LRU_REMOVED)",
        reading="tl:fs/inode.c@v6.1 __inode_add_lru lines 456-470, include/linux/pagemap.h "
        "mapping_shrinkable lines 163-190 (6.1.176); no CONFIG_HIGHMEM (x86_64)",
    ),
    Behaviour(
        "invalidate-lock", "v5.15",
        ("730633f0b7f9 mm: Protect operations adding pages to page cache with invalidate_lock",),
        "XFS_MMAPLOCK and ext4 i_mmap_sem become mapping->invalidate_lock (names in traces)",
        row="18", reading="[I] v5.15; [U] id",
    ),
    Behaviour(
        "zone-device-refcount", "v5.18",
        ("27674ef6c73f mm: remove the extra ZONE_DEVICE struct page refcount",),
        "memunmap_pages() no longer waits for busy fsdax pages: unbind removes the memmap under "
        "pins (fsdax pages stay 1-based)",
        row="30", reading="[I] from msg:45820020683",
    ),
    Behaviour(
        "pfn-mkclean-range", "v5.18",
        ("dax: fix missing writeprotect the pte entry (Muchun Song)",),
        "dax_writeback_one write-protects the mappings with pfn_mkclean_range() (rmap.c, PTEs "
        "and PMDs); before it dax_entry_mkclean() in fs/dax.c did the same walk (and missed "
        "some PTEs, the bug the commit fixes; not modelled)",
        reading="[I] v5.18: the series ('mm: rmap: introduce pfn_mkclean_range() to cleans "
        "PTEs', v6 posted 2022-03-29) went through akpm's tree in the 5.18 merge window; v5.19 is "
        "possible.  tl:fs/dax.c@v6.1 dax_writeback_one lines 912-1004 calls pfn_mkclean_range "
        "at line 980",
    ),
    Behaviour(
        "dax-holder-notify-failure", "v6.0",
        ("8012b866085f dax: introduce holder for dax_device",
         "6f643c57d57c xfs: implement ->notify_failure() for XFS"),
        "XFS registers as dax_device holder; memory_failure() on its pmem goes through "
        "xfs_dax_notify_failure and the rmap btree (ext4/ext2 register no holder)",
        row="21", reading="[I] v6.0 (stable # v6.0 tags)",
        needs=(("memory-failure-dev-pagemap", "it extends memory_failure_dev_pagemap()"),),
    ),
    Behaviour(
        "kill-dax-notify", "v6.0", ("8012b866085f dax: introduce holder for dax_device",),
        "kill_dax() on unbind calls dax_holder_notify_failure(0, U64_MAX, mf_flags=0): XFS "
        "HWPoisons mapped pages, kills only the current task, shuts down with "
        "SHUTDOWN_CORRUPT_ONDISK and keeps the DAX entries",
        row="22",
        reading="[I] the whole-device range is modelled as 'whole fs' (KERNEL.md 2.9 caveat); "
        "without rmapbt the notification does nothing (KERNEL.md 9 [R])",
        needs=(("dax-holder-notify-failure", "kill_dax notifies the dax_device holder, which "
                "8012b866085f and 6f643c57d57c register"),),
    ),
    Behaviour(
        "freeze-holders", "v6.6",
        ("880b9577855e fs: distinguish between user initiated freeze and kernel initiated freeze",),
        "freeze_super/thaw_super take a holder (FREEZE_HOLDER_KERNEL|USERSPACE)",
        row="24", reading="[I] v6.6 (Darrick J. Wong, vfs-for-next for 6.6); 6.1 fs/super.c has "
        "freeze_super(sb), 6.12 freeze_super(sb, who) (read)",
    ),
    Behaviour(
        "fs-bdev-mark-dead", "v6.6",
        ("0718afd47f70 block: introduce holder ops",
         "f55e017c6420 block: add a mark_dead holder operation",
         "87efb39075be fs: add a method to shut down the file system",
         "e7caa877e5dd xfs: wire up sops->shutdown",
         "f5db130d4443 ext4: wire up sops->shutdown",
         "fs: use the super_block as holder when mounting file systems (Christian Brauner)"),
        "del_gendisk reports the disk dead to the holder: bdev_mark_dead -> fs_bdev_mark_dead "
        "(sync_filesystem, shrink_dcache_sb, invalidate_inodes, ->shutdown: XFS logs 'Block "
        "device removal (0x20)', ext4 'shut down requested (2)'); before it del_gendisk -> "
        "__invalidate_device -> invalidate_inodes(sb, true) and no shutdown.  Both evict every "
        "unused inode at unbind, while the memmap still exists",
        reading="[I] v6.6: the holder ops and ->shutdown are v6.5 (0718afd47f70..f5db130d4443), "
        "the superblock became the main device's holder (fs_holder_ops) in v6.6; real 6.12 "
        "logs 'Block device removal (0x20) detected at fs_bdev_mark_dead' (KERNEL.md 9.3 [R]); "
        "6.1 block/genhd.c del_gendisk lines 625-629 and block/bdev.c __invalidate_device "
        "lines 1020-1038 (6.1.176)",
    ),
    Behaviour(
        "mf-mem-pre-remove", "v6.8",
        ("fa422b353d21 mm, pmem, xfs: Introduce MF_MEM_PRE_REMOVE for unbind",),
        "unbind notifies XFS with MF_MEM_PRE_REMOVE: freeze, rmap walk, mf_dax_kill_procs kills "
        "every mapper with SIGBUS (BUS_MCEERR_AO), invalidate_inode_pages2_range drops the DAX "
        "entries, SHUTDOWN_FORCE_UMOUNT, thaw",
        row="23", reading="needs the rmap btree (mkfs xfs -m rmapbt=1), as KERNEL.md 9 [R] shows",
        needs=(("kill-dax-notify", "MF_MEM_PRE_REMOVE is the flag kill_dax passes to "
                "dax_holder_notify_failure (6.12 drivers/dax/super.c kill_dax)"),
               ("freeze-holders", "xfs_dax_notify_failure freezes with "
                "freeze_super(sb, FREEZE_HOLDER_KERNEL) (6.12 fs/xfs/xfs_notify_failure.c)")),
    ),
    Behaviour(
        "dax-busy-scan-unmapped", "v6.15",
        ("cee91fa13a8e fs/dax: return unmapped busy pages from dax_layout_busy_page_range()",),
        "the busy-page scan no longer returns early when the file has no VMAs, so "
        "pin; munmap; truncate waits",
        row="9",
        needs=(("xfs-break-dax-layouts", "it changes dax_layout_busy_page_range(), the busy "
                "scan 5fac7408d828 added"),),
    ),
    Behaviour(
        "dax-break-layout", "v6.15",
        ("bde708f1a65d fs/dax: always remove DAX page-cache entries when breaking layouts",
         "d5b3afea22a5 fs/dax: create a common implementation to break DAX layouts",
         "e6fa3963a30d fs/dax: refactor wait for dax idle page",
         "6be3e21d25ca fs/dax: don't skip locked entries when scanning entries"),
        "dax_break_layout() waits (wait_page_idle) and then deletes the DAX entries itself; "
        "truncate_folio_batch_exceptionals WARNs once if an entry remains",
        row="13",
        needs=(("xfs-break-dax-layouts", "dax_break_layout() wraps the busy scan "
                "(dax_layout_busy_page_range) that 5fac7408d828 added"),),
    ),
    Behaviour(
        "dax-break-layout-final", "v6.15",
        ("0e2f80afcfa6 fs/dax: ensure all pages are idle prior to filesystem unmount",),
        "eviction waits uninterruptibly for pinned pages: dax_break_layout_final() in "
        "xfs_fs_evict_inode / ext4_evict_inode, no fs locks, no callback (umount sleeps in D "
        "state until unpin)",
        row="14", reading="[I] v6.15 (mm-stable March 2025)",
        needs=(("dax-busy-scan-unmapped", "an inode being evicted has no VMAs: without "
                "cee91fa13a8e the busy scan returns at !mapping_mapped and there is nothing to "
                "wait for"),
               ("dax-break-layout", "dax_break_layout_final() is built on the common "
                "dax_break_layout() of d5b3afea22a5")),
    ),
    Behaviour(
        "dax-refcount-0", "v6.15", ("38607c62b34b fs/dax: properly refcount fs dax pages",),
        "fsdax pages are idle at refcount 0; each PTE/PMD mapping holds a reference and a "
        "mapcount; busy = refcount - mapcount > 0; PMD mappings are compound folios",
        row="16, 17",
    ),
    Behaviour(
        "fsdax-not-longterm-pinnable", "v6.15",
        ("e5cb23256347 mm/gup: don't allow FOLL_LONGTERM pinning of FS DAX pages",),
        "folio_is_longterm_pinnable() is false for fsdax folios",
        row="4",
    ),
    # -- reviewed, never merged ----------------------------------------------------------------
    Behaviour(
        "proposed-dax-aops-switch", "",
        ("[PATCH V4 07/13] fs: Add locking for a dynamic address space operations state",),
        "PROPOSED, NOT MERGED (2020): S_DAX and a_ops flip on a live inode under a per-inode "
        "i_aops_sem, refused while the file is mmapped; mmap and the huge-fault IS_DAX check "
        "still sample S_DAX without the lock",
        proposed=lore("fs: Add locking for a dynamic address space operations state"),
    ),
    Behaviour(
        "proposed-xfs-evict-break-layouts", "",
        ("[PATCH v2 05/18] xfs: Add xfs_break_layouts() to the inode eviction path",),
        "PROPOSED, NOT MERGED (2022): xfs_fs_evict_inode takes IOLOCK_EXCL|MMAPLOCK_EXCL and "
        "calls xfs_break_layouts(BREAK_UNMAP_FINAL): pNFS lease recall and an uninterruptible "
        "wait for pinned pages, for every inode, in whatever context evicts (reclaim too)",
        reading="[I] the series made DAX refcounts 0-based and zapped every mapping before the "
        "final truncate, so the eviction scan covers files without VMAs (no mapping_mapped "
        "short-cut); evictable inodes never have VMAs, so without this the wait could not happen",
        needs=(("xfs-break-dax-layouts", "it calls xfs_break_layouts(), whose DAX wait "
                "5fac7408d828 and d6dc57e251a4 added"),),
        proposed=lore("xfs: Add xfs_break_layouts() to the inode eviction path"),
    ),
    Behaviour(
        "stable-bio-put-refs", "",
        ("38b43539d64b block: Fix page refcounts for unaligned buffers in __bio_release_pages() "
         "(mainline v6.9-rc1, where bio pins are FOLL_PIN and go through unpin_user_page; its 6.1.y "
         "backport releases the FOLL_GET references of 6.1's bios with folio_put_refs)",),
        "an O_DIRECT bio's pages are FOLL_GET references (iov_iter_get_pages2, as in every 6.1) "
        "and __bio_release_pages drops them with folio_put_refs(), which never calls "
        "put_devmap_managed_page(): an fsdax page going from 2 to 1 references wakes nobody, so "
        "a truncate or punch waiting in *_break_layouts for that page sleeps on (a lost wake-up); "
        "a short-term pin (a bio is never FOLL_LONGTERM) is that bio's reference and its unpin "
        "the bio's release",
        reading="read in 6.1.192 block/bio.c __bio_release_pages (folio_put_refs) and "
        "mm/memremap.c __put_devmap_managed_page_refs (the only wake_up_var of a fsdax page's "
        "refcount); real 6.1.192 hangs exactly there.  6.12.117 takes the bio's pages with "
        "iov_iter_extract_pages (FOLL_PIN) and releases them with unpin_user_folio, which wakes",
        stable="6.1.y, read in 6.1.192 (the Debian 6.1 kernel daxsh real boots)",
    ),
    Behaviour(
        "proposed-dax-break-mapping-uninterruptible", "",
        ("[PATCH v6 07/26] fs/dax: Ensure all pages are idle prior to filesystem unmount",),
        "PROPOSED, NOT MERGED in this form (2025 v6): eviction takes IOLOCK_EXCL|MMAPLOCK_EXCL "
        "(xfs) and calls dax_break_mapping_uninterruptible() with xfs_wait_dax_page / "
        "ext4_wait_dax_page (which cycles an invalidate_lock eviction does not hold)",
        reading="the v6 series carries cee91fa13a8e, so its eviction scan covers files without VMAs",
        needs=(("dax-busy-scan-unmapped", "the v6 series carries cee91fa13a8e: its eviction "
                "scan covers files without VMAs"),),
        proposed=lore("fs/dax: Ensure all pages are idle prior to filesystem unmount"),
    ),
)

BY_NAME = {b.name: b for b in BEHAVIOURS}
_unknown_needs = [(b.name, n) for b in BEHAVIOURS for n, _ in b.needs if n not in BY_NAME]
if _unknown_needs:  # pragma: no cover - a typo here is a daxsh bug caught at import
    raise ImportError(f"behaviours needing unknown behaviours: {_unknown_needs}")

PRESETS: tuple[str, ...] = (
    "v4.13", "v4.14", "v4.15", "v4.16", "v4.17", "v4.18", "v4.19", "v5.2", "v5.3", "v5.6", "v5.7",
    "v5.8", "v5.9", "v5.15", "v5.18", "v5.19", "v6.0", "v6.1", "v6.6", "v6.8", "v6.12",
    "v6.14", "v6.15",
)
NEWEST = PRESETS[-1]


@lru_cache(maxsize=64)
def preset(version: str) -> frozenset[str]:
    v = vkey(version)
    return frozenset(b.name for b in BEHAVIOURS if b.in_mainline and vkey(b.version) <= v)


class ConfigError(ValueError):
    """A kernel spec that does not parse; ``hint`` is what would help (data, rendered by the
    language)."""

    def __init__(self, msg: str, hint: Hint | None = None) -> None:
        super().__init__(msg)
        self.hint = hint


@dataclass(frozen=True)
class KernelConfig:
    """A preset plus explicit additions and removals: what `kernel v6.14 +NAME` sets."""

    base: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    # what parsing did that the words did not say: behaviours brought in because another needs
    # them ("NAME needs OTHER (why): added +OTHER")
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def behaviours(self) -> frozenset[str]:
        return (preset(self.base) | frozenset(self.added)) - frozenset(self.removed)

    @property
    def spec(self) -> str:
        parts = [self.base] + [f"+{n}" for n in self.added] + [f"-{n}" for n in self.removed]
        return " ".join(parts)

    @classmethod
    def parse(cls, spec: str) -> KernelConfig:
        words = spec.split()
        if not words:
            return cls(NEWEST)
        base = NEWEST
        if not words[0].startswith(("+", "-")):
            base = words.pop(0)
            if base not in PRESETS:
                near = difflib.get_close_matches(base, PRESETS, n=1)
                hint = f"; did you mean {near[0]}?" if near else ""
                raise ConfigError(f"unknown kernel preset '{base}'{hint}", Hint(HintKind.LIST_KERNELS))
        added: list[str] = []
        removed: list[str] = []
        minus: set[str] = set()  # every -NAME the words say, present in the preset or not
        for w in words:
            if w[:1] not in "+-" or len(w) < 2:
                raise ConfigError(f"'{w}': behaviours are written +NAME or -NAME")
            name = w[1:]
            if name not in BY_NAME:
                near = difflib.get_close_matches(name, list(BY_NAME), n=1)
                hint = f"; did you mean {w[0]}{near[0]}?" if near else ""
                raise ConfigError(f"unknown behaviour '{name}'{hint}", Hint(HintKind.LIST_KERNELS))
            if w[0] == "+":
                minus.discard(name)
                if name in removed:
                    removed.remove(name)
                if name not in added and name not in preset(base):
                    added.append(name)
            else:
                minus.add(name)
                if name in added:
                    added.remove(name)
                if name not in removed and name in preset(base):
                    removed.append(name)
        notes = _close(base, added, removed, minus)
        return cls(base, tuple(added), tuple(removed), tuple(notes))


def _close(base: str, added: list[str], removed: list[str], minus: set[str]) -> list[str]:
    """Bring in what the added behaviours need (saying so); refuse a removal that leaves a
    present behaviour without what it needs, naming both."""
    notes: list[str] = []
    have = set(preset(base) | set(added)) - set(removed)
    todo = list(have)
    while todo:
        b = BY_NAME[todo.pop()]
        for need, why in b.needs:
            if need in have:
                continue
            if need in minus:
                how = (f"remove both (-{b.name} -{need})" if b.name not in added
                       else f"drop -{need} or +{b.name}")
                raise ConfigError(f"{b.name} needs {need} ({why}): {how}")
            added.append(need)
            have.add(need)
            todo.append(need)
            notes.append(f"{b.name} needs {need} ({why}): added +{need}")
    return notes


def needed_by(name: str) -> list[str]:
    """The behaviours that need ``name``."""
    return [b.name for b in BEHAVIOURS if any(n == name for n, _ in b.needs)]


def changes(version: str) -> list[Behaviour]:
    """Behaviours a preset adds over the previous preset."""
    i = PRESETS.index(version)
    prev = preset(PRESETS[i - 1]) if i else frozenset()
    return [b for b in BEHAVIOURS if b.name in preset(version) - prev]


# Names the kernel code asks for (k.has(NAME)); checked against BEHAVIOURS at import.
XFS_PER_INODE_DAX = "xfs-per-inode-dax"
XFS_DISABLE_PER_INODE_DAX = "xfs-disable-per-inode-dax"
GUP_LONGTERM = "gup-longterm"
MAP_SYNC = "map-sync"
DAX_PAGE_MAPPING = "dax-page-mapping"
XFS_BREAK_DAX_LAYOUTS = "xfs-break-dax-layouts"
EXT4_BREAK_LAYOUTS = "ext4-break-layouts"
MEMORY_FAILURE_DEV_PAGEMAP = "memory-failure-dev-pagemap"
MEMUNMAP_WAITS = "memunmap-waits-for-pages"
FOLL_LONGTERM = "foll-longterm"
UNMAP_NO_EVEN_COWS = "unmap-no-even-cows"
FOLL_PIN = "foll-pin"
FOLL_PIN_COUNTING = "foll-pin-counting"
DAX_DONTCACHE = "dax-dontcache"
EXT4_DAX_DONTCACHE = "ext4-dax-dontcache"
GUP_LONGTERM_CHECK_VMA_FLAGS = "gup-longterm-check-vma-flags"
INODE_RECLAIM_NEEDS_EMPTY_MAPPING = "inode-reclaim-needs-empty-mapping"
INODE_LRU_MAPPING_SHRINKABLE = "inode-lru-mapping-shrinkable"
INVALIDATE_LOCK = "invalidate-lock"
ZONE_DEVICE_REFCOUNT = "zone-device-refcount"
PFN_MKCLEAN_RANGE = "pfn-mkclean-range"
DAX_HOLDER_NOTIFY_FAILURE = "dax-holder-notify-failure"
KILL_DAX_NOTIFY = "kill-dax-notify"
FREEZE_HOLDERS = "freeze-holders"
FS_BDEV_MARK_DEAD = "fs-bdev-mark-dead"
MF_MEM_PRE_REMOVE = "mf-mem-pre-remove"
DAX_BUSY_SCAN_UNMAPPED = "dax-busy-scan-unmapped"
DAX_BREAK_LAYOUT = "dax-break-layout"
DAX_BREAK_LAYOUT_FINAL = "dax-break-layout-final"
DAX_REFCOUNT_0 = "dax-refcount-0"
FSDAX_NOT_LONGTERM_PINNABLE = "fsdax-not-longterm-pinnable"
PROPOSED_DAX_AOPS_SWITCH = "proposed-dax-aops-switch"
PROPOSED_XFS_EVICT_BREAK_LAYOUTS = "proposed-xfs-evict-break-layouts"
PROPOSED_DAX_BREAK_MAPPING_UNINTERRUPTIBLE = "proposed-dax-break-mapping-uninterruptible"
STABLE_BIO_PUT_REFS = "stable-bio-put-refs"

_ASKED = [v for k, v in list(globals().items()) if k.isupper() and isinstance(v, str)
          and k not in ("NEWEST",)]
_missing = [n for n in _ASKED if n not in BY_NAME]
if _missing:  # pragma: no cover - a typo here is a daxsh bug caught at import
    raise ImportError(f"behaviour constants without a Behaviour: {_missing}")
