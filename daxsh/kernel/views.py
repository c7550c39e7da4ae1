"""Plain-data views of the machine for front-ends: nothing here mutates the model.

Each function returns lists of dicts (or dataclasses) that a shell prints as a table and a
screen draws as a pane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import outcomes
from .config import BY_NAME, DAX_REFCOUNT_0
from .fs.dax import NORMAL, DaxEntry
from .fs.disk import META_BLOCKS
from .mm.memremap import page_busy
from .mm.types import PAGE_SIZE, PMD_SIZE
from .trace import fmt_time

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .machine import Kernel


def ndctl(k: Kernel) -> dict[str, Any]:
    nv = k.nvdimm
    ns = nv.ns
    d: dict[str, Any] = {
        "dev": "region0", "size": ns.size, "type": "pmem",
        "namespaces": [{
            "dev": ns.name, "mode": ns.mode, "map": "dev", "size": ns.npfns * PAGE_SIZE,
            "align": PMD_SIZE, "pfn": nv.pfn.name,
            "state": "enabled" if nv.pfn.bound else "disabled (unbound)",
            "blockdev": nv.disk.name if nv.disk else None,
            "dax": nv.dax.name if nv.dax else None,
            "dax_alive": bool(nv.dax and nv.dax.alive),
            "holder": ("xfs (" + (nv.dax.holder.name if nv.dax.holder else "") + ")")
            if nv.dax and nv.dax.holder else None,
            "memmap": "present" if nv.pgmap and nv.pgmap.present else "removed",
            "data_pfn": hex(ns.data_pfn), "npfns": ns.npfns,
            "filesystem": k.media_fs.fstype if k.media_fs else None,
        }],
    }
    return d


def pages(k: Kernel) -> list[dict[str, Any]]:
    """Every touched struct page whose state is not the idle default."""
    nv = k.nvdimm
    out = []
    pg = nv.pgmap
    zero = 0 if k.has(DAX_REFCOUNT_0) else 1
    if pg is not None:
        for pfn in sorted(pg.pages):
            p = pg.pages[pfn]
            if p.refcount == zero and p.mapping is None and not p.hwpoison and not p.order \
                    and not p.mapcount and pfn not in k.freed_busy:
                continue
            mapping = getattr(p.mapping, "host", None)
            out.append({
                "pfn": pfn, "block": pfn - nv.ns.data_pfn, "refcount": p.refcount,
                "mapcount": p.mapcount if k.has(DAX_REFCOUNT_0) else None,
                "pins": p.pincount, "busy": page_busy(k, p),
                "mapping": f"ino {mapping.ino}" if mapping is not None else "",
                "index": p.index if mapping is not None else None,
                "order": p.order, "hwpoison": p.hwpoison,
                "freed_while_pinned": k.freed_busy.get(pfn, ""),
            })
    return out


def ptes(k: Kernel) -> list[dict[str, Any]]:
    out = []
    for p in sorted(k.processes.values(), key=lambda p: p.pid):
        vmas = []
        for v in p.mm.vmas:
            entries = []
            for a in sorted(x for x in p.mm.pmds if v.start <= x < v.end):
                e = p.mm.pmds[a]
                entries.append({"addr": a, "pfn": e.pfn, "level": "PMD", "write": e.write,
                                "zero": e.special})
            for a in sorted(x for x in p.mm.ptes if v.start <= x < v.end):
                e = p.mm.ptes[a]
                entries.append({"addr": a, "pfn": e.pfn, "level": "PTE", "write": e.write,
                                "zero": e.special, "anon": a in v.anon})
            vmas.append({"start": v.start, "end": v.end, "file": k.ino_path(v.file.inode.sb.disk, v.file.inode.ino),
                         "ino": v.file.inode.ino, "pgoff": v.pgoff, "flags": v.flags(),
                         "entries": entries})
        out.append({"process": p.name, "pid": p.pid, "vmas": vmas,
                    "state": "dying" if p.dying else "alive"})
    return out


def waiters(k: Kernel, agent: Callable[[outcomes.Edge], str] = outcomes.agent_text
            ) -> list[dict[str, Any]]:
    """Every blocked or stopped task; ``agent`` words an agent outside the kernel in the
    chain (``outcomes.chain``)."""
    out = []
    cycle = {t.tid for t in outcomes.find_cycle(k)}
    r = k.render  # the version's names (kernel/names.py)
    for t in k.sched.tasks:
        if t.done or (t in k.sched.runq and not t.stopped):
            continue
        out.append({
            "tid": t.tid, "comm": t.comm, "cmdline": t.cmdline, "job": t.job,
            "state": "stopped" if t.stopped and t in k.sched.runq else t.state,
            "func": r(t.wait.func if t.wait else (t.stack[-1] if t.stack else "")),
            "waits_for": r("; ".join(parts := outcomes.wait_parts(t))),
            "wait": r(parts[0]),  # the two parts of waits_for, apart
            "holds_text": r(parts[1]),
            "holds": [r(f"{s.name} {s.label} ({m})") for s, m in t.held],
            "since": fmt_time(t.blocked_since).strip(),
            "blocked_ns": k.clock.now - t.blocked_since,
            "chain": [r(x) for x in outcomes.chain(k, t, agent)],
            "chain_links": [{"head": r(c.head), "by": r(c.by), "deadlock": c.deadlock}
                            for c in outcomes.chain_links(k, t, agent)],
            "deadlock": t.tid in cycle,
            "hung": t.hung_reported,
            "stack": [r(f) for f in t.stack],
        })
    return out


def inodes(k: Kernel) -> list[dict[str, Any]]:
    out = []
    for mnt in sorted(k.mounts.values(), key=lambda m: m.path):
        sb = mnt.sb
        for ino in sorted(sb.icache):
            i = sb.icache[ino]
            ents = [(idx, e) for idx, e in sorted(i.mapping.i_pages.items()) if isinstance(e, DaxEntry)]
            out.append({
                "mount": mnt.path, "ino": ino, "path": k.ino_path(sb.disk, ino),
                "dir": i.is_dir, "S_DAX": i.dax, "FS_XFLAG_DAX": i.di.dax_flag,
                "i_count": i.i_count, "nlink": i.di.nlink, "size": i.size,
                "state": sorted(i.i_state) + (["LRU"] if i.on_lru else []),
                "mapped": len(i.mapping.i_mmap),
                "entries": [f"{idx}:{e.state()}" for idx, e in ents],
                "dax_entries": [{"index": idx, "state": e.state(),
                                 "pfn": e.pfn if e.kind == NORMAL else None, "npages": e.npages()}
                                for idx, e in ents],
                "pagecache": sum(1 for e in i.mapping.i_pages.values() if not isinstance(e, DaxEntry)),
            })
    return out


def blocks(k: Kernel) -> list[dict[str, Any]]:
    """The filesystem's blocks as runs of equal state (cheap at 1 TiB)."""
    fs = k.media_fs
    nv = k.nvdimm
    if fs is None:
        return [{"start": 0, "count": nv.ns.npfns, "state": "no filesystem"}]
    runs: list[dict[str, Any]] = [{"start": 0, "count": META_BLOCKS, "state": "metadata"}]
    for s, n, ino, fblock in fs.rmap.items():
        runs.append({"start": s, "count": n, "state": "file", "ino": ino,
                     "file": k.ino_path(fs, ino), "fblock": fblock})
    for s, n, _t, _b in fs.free.items():
        runs.append({"start": s, "count": n, "state": "free"})
    runs.sort(key=lambda r: r["start"])
    pg = nv.pgmap
    marks: dict[int, list[str]] = {}
    if pg is not None:
        for pfn, p in pg.pages.items():
            b = pfn - nv.ns.data_pfn
            m = []
            if p.pincount > 0:
                m.append("pinned")
            if p.hwpoison or pfn in (nv.disk.badblocks if nv.disk else {}):
                m.append("poisoned")
            if pfn in k.freed_busy:
                m.append("freed-while-pinned")
            if m:
                marks[b] = m
    for b in fs.foreign:
        marks.setdefault(b, []).append("foreign-data")
    for r in runs:
        r["marks"] = {b: marks[b] for b in marks if r["start"] <= b < r["start"] + r["count"]}
        r["pfn"] = nv.ns.data_pfn + r["start"]
    r_state = "removed" if pg is None else "present"
    for r in runs:
        r["memmap"] = r_state
    return runs


def behaviours(k: Kernel) -> list[dict[str, Any]]:
    return [{"name": n, "version": BY_NAME[n].version or ("stable" if BY_NAME[n].stable else "proposed"),
             "summary": BY_NAME[n].summary} for n in sorted(k.behaviours)]


def mounts(k: Kernel) -> list[dict[str, Any]]:
    """Mounted filesystems and their superblock state."""
    out = []
    for m in sorted(k.mounts.values(), key=lambda m: m.path):
        sb = m.sb
        out.append({"path": m.path, "fs": sb.disk.fstype, "dax_mode": sb.dax_mode,
                    "frozen": bool(sb.frozen), "shutdown": sb.shutdown, "holder": sb.holder,
                    "rmapbt": sb.disk.rmapbt})
    return out


def pins(k: Kernel) -> list[dict[str, Any]]:
    """Pins the device holds: which pages, from where."""
    return [{"name": name, "process": p.proc.name, "pfns": list(p.pfns), "heads": list(p.heads),
             "longterm": p.longterm, "released": p.released,
             "releasing": p.releasing.tid if p.releasing is not None else None,
             "from": [o[3] + f" index {o[2]}" if o else "" for o in p.origin]}
            for name, p in sorted(k.pins.items())]


def freed_while_pinned(k: Kernel) -> dict[int, str]:
    """pfn -> who freed its block while a device still had it pinned."""
    return dict(k.freed_busy)
