"""Models mm/memremap.c and include/linux/memremap.h: ZONE_DEVICE pages
(``struct dev_pagemap`` and its ``dev_pagemap_ops``), when an fsdax page is idle or busy,
and ``memunmap_pages``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import DAX_REFCOUNT_0, MEMUNMAP_WAITS, ZONE_DEVICE_REFCOUNT
from ..footprint import R
from ..sched import TASK_UNINTERRUPTIBLE, Wait, finish_wait, kfunc, prepare_to_wait, schedule
from .types import PMD_ORDER, PMD_PAGES, Page

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..machine import Kernel
    from ..sched import KGen, Task

# -- struct page helpers ------------------------------------------------------------------------


def page_is_idle(k: Kernel, page: Page) -> bool:
    """``dax_page_is_idle``: refcount 1 (<= v6.14, 1-based) or 0 (v6.15, 0-based)."""
    k.sched.note(("ref", page.pfn), R)
    return page.refcount == (0 if k.has(DAX_REFCOUNT_0) else 1)


def page_busy(k: Kernel, page: Page) -> bool:
    """``dax_busy_page``: a reference not explained by page-table mappings."""
    k.sched.note(("ref", page.pfn), R)
    if k.has(DAX_REFCOUNT_0):
        return page.refcount - page.mapcount > 0
    return page.refcount > 1


def folio_head(k: Kernel, t: Task, mapping: Any, pfn: int) -> Page:
    """The page that holds the reference count for ``pfn`` (the folio head in v6.15)."""
    page = k.pfn_to_page(t, pfn)
    if k.has(DAX_REFCOUNT_0):
        base = pfn - pfn % PMD_PAGES
        k.sched.note(("page", base), R)  # its order
        if base != pfn and base in k.nvdimm.pgmap.pages:  # type: ignore[union-attr]
            head = k.nvdimm.pgmap.pages[base]  # type: ignore[union-attr]
            if head.order == PMD_ORDER:
                return head
    return page


class DevPagemapOps:
    """``struct dev_pagemap_ops`` (include/linux/memremap.h): what the driver that created the
    pgmap does for the memory-management code, here ``->memory_failure``."""

    def __init__(self, memory_failure: Callable[..., KGen]) -> None:
        self.memory_failure = memory_failure


class DevPagemap:
    """``struct dev_pagemap`` of the pfn device: MEMORY_DEVICE_FS_DAX pages."""

    def __init__(self, first_pfn: int, npfns: int, idle: int) -> None:
        self.first_pfn = first_pfn
        self.npfns = npfns
        self.idle = idle  # refcount of an idle page: 1 (<= v6.14) or 0 (v6.15)
        self.pages: dict[int, Page] = {}
        self.present = True
        self.ops: DevPagemapOps | None = None

    def page(self, pfn: int) -> Page:
        p = self.pages.get(pfn)
        if p is None:
            p = Page(pfn, self.idle)
            self.pages[pfn] = p
        return p


@kfunc
def memunmap_pages(t: Task) -> KGen:
    k = t.k
    nv = k.nvdimm
    k.sched.note(("nvdimm",))
    pg = nv.pgmap
    if pg is None:
        return
    if k.has(MEMUNMAP_WAITS) and not k.has(ZONE_DEVICE_REFCOUNT):
        # each referenced page holds a pgmap reference: wait_for_completion(&pgmap->done)
        while True:
            if k.sched.footprint is not None:
                for p in pg.pages.values():
                    k.sched.note(("ref", p.pfn), R)
            busy = next((p for p in sorted(pg.pages.values(), key=lambda p: p.pfn)
                         if p.refcount > pg.idle), None)
            if busy is None:
                break
            wq = k.var_wq(busy.pfn)
            prepare_to_wait(t, wq, TASK_UNINTERRUPTIBLE,
                            Wait("var", busy, f"page pfn {busy.pfn:#x}", "memunmap_pages",
                                 "wait_for_completion(&pgmap->done)"))
            if busy.refcount > pg.idle:
                yield from schedule(t)
            finish_wait(t, wq)
    k.trace(t, "arch_remove_memory", f"pfn {pg.first_pfn:#x}", npfns=pg.npfns)
    k.sched.note(("nvdimm",))
    pg.present = False
    nv.removed_pgmaps.append(pg)
    nv.pgmap = None
