"""What the screen shows, as plain lines: no Textual import here, so it is cheap to test and to
benchmark.

Every pane is a list of :class:`Line`: a stable ``key`` (so the screen can tell what changed
since the last command), the segments to draw, each with a semantic tag that the widget turns
into a theme colour, an optional ``item`` (what Enter or a click on the line selects) and the
``group`` the line belongs to (for collapsing).  Everything is computed from
``daxsh.kernel.views`` (plain data); nothing here mutates the model.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..kernel import outcomes, views
from ..lang.hints import agent_text
from ..lang.lexer import fmt_size

if TYPE_CHECKING:
    from ..kernel.machine import Kernel
    from ..lang.session import Session

PAGE = 4096
PMD = 2 << 20

# Semantic tags (the widget maps each to a component class, so themes and NO_COLOR apply).
PLAIN, HEAD, DIM, FILE, PINNED, DANGER, FREE, META, BAD, OK, WARN = (
    "plain", "head", "dim", "file", "pinned", "danger", "free", "meta", "bad", "ok", "warn")
N_FILE_COLOURS = 6

Seg = tuple[str, str]


class Line:
    """One line of a pane (see the module's docstring)."""

    __slots__ = ("fold", "group", "item", "key", "segs", "width")

    def __init__(self, key: tuple[Any, ...], segs: tuple[Seg, ...], item: Any = None,
                 group: tuple[Any, ...] = (), fold: str = "") -> None:
        self.key = key
        self.segs = segs
        self.item = item
        self.group = group
        self.fold = fold  # drawn before the segments, not compared (collapsing is no change)
        w = len(fold)
        for text, _tag in segs:
            w += len(text)
        self.width = w

    @property
    def text(self) -> str:
        return self.fold + "".join([s for s, _ in self.segs])

    def __repr__(self) -> str:
        return f"Line({self.key!r}, {self.text!r})"


def L(key: tuple[Any, ...], *segs: Seg | str, item: Any = None,
      group: tuple[Any, ...] = (), fold: str = "") -> Line:
    return Line(key, tuple([(s, PLAIN) if type(s) is str else s for s in segs]),  # type: ignore[misc]
                item, group, fold)


def file_tag(ino: int | None) -> str:
    return f"file{(ino or 0) % N_FILE_COLOURS}"


# -- header ------------------------------------------------------------------------------------


def machine_state(s: Session) -> dict[str, Any]:
    """Kernel preset, behaviours and the machine's state, for the header (read-only)."""
    k = s.k
    mounts = []
    for m in views.mounts(k):
        st = []
        if m["frozen"]:
            st.append("FROZEN")
        if m["shutdown"]:
            st.append(f"SHUT DOWN ({m['shutdown']})")
        mode = {"always": "dax", "never": "nodax", "inode": "dax=inode"}.get(m["dax_mode"], "")
        mounts.append({"path": m["path"], "fs": m["fs"], "mode": mode, "state": st})
    nd = views.ndctl(k)["namespaces"][0]
    blocked = sum(1 for j in s.jobs.values() if not j.task.done and not j.task.stopped)
    stopped = sum(1 for j in s.jobs.values() if not j.task.done and j.task.stopped)
    ws = views.waiters(k, agent_text) if not k.crashed else []
    return {"kernel": k.config.spec, "behaviours": sorted(k.behaviours), "mounts": mounts,
            "deadlock": any(w["deadlock"] for w in ws), "hung": sum(1 for w in ws if w["hung"]),
            "pfn": f"{nd['pfn']} {nd['state']}", "memmap": nd["memmap"],
            "crashed": k.crashed, "blocked": blocked, "stopped": stopped,
            "size": nd["size"]}


def header_segs(s: Session) -> tuple[Seg, ...]:
    """Most important first, so an 80-column header still says whether the machine is alive."""
    m = machine_state(s)
    segs: list[Seg] = [(" daxsh ", HEAD), (f" {m['kernel']} ", PLAIN)]
    if m["crashed"]:
        segs.append((f"│ CRASHED: {m['crashed']} ", BAD))
    else:
        if m["deadlock"]:
            segs.append(("│ DEADLOCK ", BAD))
        if m["hung"]:
            segs.append((f"│ {m['hung']} hung ", BAD))
        if m["blocked"]:
            segs.append((f"│ {m['blocked']} blocked ", WARN))
        if m["stopped"]:
            segs.append((f"│ {m['stopped']} stopped ", WARN))
    segs.append(("│ ", DIM))
    if not m["mounts"]:
        segs.append(("not mounted ", DIM))
    for mt in m["mounts"]:
        segs.append((f"{mt['path']} {mt['fs']} {mt['mode']} ", OK))
        for st in mt["state"]:
            segs.append((st + " ", WARN))
    segs.append((f"│ pmem {fmt_size(m['size'])} {m['pfn']} ", PLAIN))
    if m["memmap"] != "present":
        segs.append(("memmap REMOVED ", DANGER))
    segs.append((f"│ {len(m['behaviours'])} behaviours: {' '.join(m['behaviours'])}", DIM))
    return tuple(segs)


# -- page tables ---------------------------------------------------------------------------------


def _runs(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive entries (address and pfn both advancing by one page) of equal kind."""
    runs: list[list[dict[str, Any]]] = []
    for e in entries:
        if runs:
            p = runs[-1][-1]
            step = PMD if e["level"] == "PMD" else PAGE
            if (e["level"] == p["level"] and e["write"] == p["write"] and e["zero"] == p["zero"]
                    and e.get("anon") == p.get("anon") and e["addr"] == p["addr"] + step
                    and e["pfn"] == p["pfn"] + step // PAGE):
                runs[-1].append(e)
                continue
        runs.append([e])
    return runs


def _short_flag(f: str) -> str:
    return {"VM_READ": "r", "VM_WRITE": "w", "VM_SHARED": "shared", "VM_HUGEPAGE": "huge",
            "VM_SYNC": "SYNC"}.get(f, f.removeprefix("VM_").lower())


_PTE_CACHE: dict[tuple[Any, ...], Line] = {}


def _pte_line(pid: int, vstart: int, ino: int, run: list[dict[str, Any]],
              grp: tuple[Any, ...]) -> Line:
    """One entry, or a run of consecutive entries (cached: most survive a command)."""
    a, z = run[0], run[-1]
    if a["zero"]:
        target, tag = "zero page", DIM
    elif a.get("anon"):
        target, tag = f"anon pfn {a['pfn']:#x}", DIM
    else:
        target, tag = f"pfn {a['pfn']:#x}", file_tag(ino)
    if len(run) > 1:
        addr = f"{a['addr']:#x}..{z['addr']:#x}"
        if not a["zero"]:
            target += f"..{z['pfn']:#x}"
        count = f" ×{len(run)}"
    else:
        addr, count = f"{a['addr']:#x}", ""
    return Line(("pt", pid, vstart, a["addr"]),
                ((f"    {addr} ", PLAIN), (a["level"] + count, DIM), (" → ", PLAIN),
                 (target, tag), (" rw", PLAIN) if a["write"] else (" ro", DIM)),
                ("pte", pid, a["addr"], a["pfn"]), grp)


def page_table_lines(k: Kernel, collapsed: set[Any] | frozenset[Any] = frozenset(),
                     expanded: bool = False) -> list[Line]:
    """Per process its VMAs and their entries; runs of consecutive entries on one line unless
    ``expanded``.  ``collapsed`` holds ("proc", pid) and ("vma", pid, start) items."""
    out: list[Line] = []
    for p in views.ptes(k):
        pid = p["pid"]
        pitem = ("proc", pid)
        fold = "▸" if pitem in collapsed else "▾"
        nent = sum(len(v["entries"]) for v in p["vmas"])
        out.append(L(("pt", pid), (f"{p['process']}:{pid}", HEAD),
                     (" (dying)" if p["state"] == "dying" else "", WARN),
                     (f"  {len(p['vmas'])} vma(s), {nent} entries", DIM), item=pitem,
                     fold=f"{fold} "))
        if pitem in collapsed:
            continue
        if not p["vmas"]:
            out.append(L(("pt", pid, "none"), ("   (no mappings)", DIM), group=(pitem,)))
        for v in p["vmas"]:
            vitem = ("vma", pid, v["start"])
            vfold = "▸" if vitem in collapsed else "▾"
            out.append(L(("pt", pid, v["start"]), f"{v['start']:#x}-{v['end']:#x} ",
                         (v["file"], file_tag(v["ino"])), f" +{v['pgoff']} ",
                         (" ".join(_short_flag(f) for f in v["flags"]), DIM),
                         (f" {len(v['entries'])} entries", DIM),
                         item=vitem, group=(pitem,), fold=f" {vfold} "))
            if vitem in collapsed:
                continue
            if not v["entries"]:
                out.append(L(("pt", pid, v["start"], "none"), ("    (no entries)", DIM),
                             group=(pitem, vitem)))
                continue
            groups = [[e] for e in v["entries"]] if expanded else _runs(v["entries"])
            grp = (pitem, vitem)
            ino = v["ino"]
            for run in groups:
                a = run[0]
                ck = (pid, v["start"], ino, a["addr"], a["pfn"], a["level"], a["write"],
                      a["zero"], a.get("anon"), len(run))
                line = _PTE_CACHE.get(ck)
                if line is None:
                    line = _pte_line(pid, v["start"], ino, run, grp)
                    if len(_PTE_CACHE) > 100_000:
                        _PTE_CACHE.clear()
                    _PTE_CACHE[ck] = line
                out.append(line)
    if not out:
        out.append(L(("pt", "none"), ("no process", DIM)))
    return out


# -- pmem block map ---------------------------------------------------------------------------


def _mark_runs(marks: dict[int, list[str]]) -> list[tuple[int, int, list[str]]]:
    out: list[tuple[int, int, list[str]]] = []
    for b in sorted(marks):
        m = marks[b]
        if out and out[-1][0] + out[-1][1] == b and out[-1][2] == m:
            out[-1] = (out[-1][0], out[-1][1] + 1, m)
        else:
            out.append((b, 1, m))
    return out


def pmem_lines(k: Kernel) -> list[Line]:
    """The namespace's blocks as runs of equal state, with the marked blocks (pinned, poisoned,
    freed while pinned, another file's data) under their run."""
    out: list[Line] = []
    runs = views.blocks(k)
    nd = views.ndctl(k)["namespaces"][0]
    removed = nd["memmap"] != "present"
    out.append(L(("pm", "head"), (f"{nd['dev']} {fmt_size(nd['size'])} ", HEAD),
                 (f"{nd['pfn']} data pfn {nd['data_pfn']}  memmap {nd['memmap']}",
                  DANGER if removed else DIM)))
    for r in runs:
        st = r["state"]
        tag = {"metadata": META, "free": FREE, "file": file_tag(r.get("ino"))}.get(st, DIM)
        glyph = {"metadata": "▒", "free": "·", "file": "█"}.get(st, " ")
        end = r["start"] + r["count"] - 1
        rng = f"{r['start']}" if r["count"] == 1 else f"{r['start']}-{end}"
        owner = f" {r['file']} @{r['fblock']}" if st == "file" else ""
        marks = r.get("marks") or {}
        flags = sorted({m for ms in marks.values() for m in ms})
        segs: list[Seg] = [(glyph * 2, tag), (f" {rng} ", PLAIN), (st, tag), (owner, tag)]
        for f in flags:
            segs.append((f" {f.upper()}", DANGER if f != "pinned" else PINNED))
        if removed:
            segs.append((" memmap removed", DANGER))
        segs += [(f"  {fmt_size(r['count'] * PAGE)}", DIM), (f" pfn {r.get('pfn', 0):#x}", DIM)]
        out.append(Line(("pm", r["start"]), tuple(segs), item=("block", r["start"])))
        for b, n, m in _mark_runs(marks):
            rr = f"{b}" if n == 1 else f"{b}-{b + n - 1}"
            bad = any(x != "pinned" for x in m)
            out.append(L(("pm", r["start"], b), "   └ block ", (rr, PLAIN), " ",
                         (", ".join(m), DANGER if bad else PINNED),
                         item=("block", b), group=(("block", r["start"]),)))
    return out


def block_detail(k: Kernel, block: int) -> list[Line]:
    """One block: its struct page, the DAX entry naming it, who maps it and who pins it."""
    nd = views.ndctl(k)["namespaces"][0]
    pfn = int(nd["data_pfn"], 16) + block
    out: list[Line] = [L(("bd", 0), (f"block {block}  pfn {pfn:#x}", HEAD))]
    run = next((r for r in views.blocks(k) if r["start"] <= block < r["start"] + r["count"]), None)
    if run is not None:
        owner = f"{run['file']} file block {run['fblock'] + block - run['start']}" \
            if run["state"] == "file" else run["state"]
        out.append(L(("bd", 1), "  owner: ", (owner, file_tag(run.get("ino")))))
    page = next((p for p in views.pages(k) if p["pfn"] == pfn), None)
    if nd["memmap"] != "present":
        out.append(L(("bd", 2), ("  struct page: memmap removed (unbind)", DANGER)))
    elif page is None:
        out.append(L(("bd", 2), "  struct page: idle (refcount at its idle value, no mapping)"))
    else:
        mc = "" if page["mapcount"] is None else f" mapcount {page['mapcount']}"
        out.append(L(("bd", 2), "  struct page: refcount ", (str(page["refcount"]),
                     PINNED if page["busy"] else PLAIN), mc, f" pins {page['pins']} ",
                     ("busy" if page["busy"] else "idle", PINNED if page["busy"] else DIM),
                     f"  mapping {page['mapping'] or '-'} index "
                     f"{'-' if page['index'] is None else page['index']}"))
        if page["hwpoison"]:
            out.append(L(("bd", 3), ("  HWPoison", DANGER)))
        if page["freed_while_pinned"]:
            out.append(L(("bd", 4), (f"  FREED WHILE PINNED ({page['freed_while_pinned']})",
                                     DANGER)))
    for i in views.inodes(k):
        for ent in i["dax_entries"]:
            if ent["pfn"] is not None and ent["pfn"] <= pfn < ent["pfn"] + ent["npages"]:
                idx = ent["index"]
                out.append(L(("bd", "e", i["ino"], str(idx)), f"  DAX entry: {i['path']} index {idx}: ",
                             (ent["state"], file_tag(i["ino"]))))
    for p in views.ptes(k):
        for v in p["vmas"]:
            for e in v["entries"]:
                npages = PMD // PAGE if e["level"] == "PMD" else 1
                if not e["zero"] and e["pfn"] <= pfn < e["pfn"] + npages:
                    out.append(L(("bd", "m", p["pid"], e["addr"]),
                                 f"  mapped by {p['process']}:{p['pid']} at {e['addr']:#x} "
                                 f"{e['level']} {'rw' if e['write'] else 'ro'}"))
    for pin in views.pins(k):
        if pfn in pin["pfns"] or pfn in pin["heads"]:
            name = pin["name"]
            state = "released" if pin["released"] else "held"
            out.append(L(("bd", "p", name), ("  pinned by ", PINNED),
                         (f"{name} ({'longterm ' if pin['longterm'] else ''}"
                          f"DMA, {state})", PINNED)))
    for b, who in ((b, w) for b, w in views.freed_while_pinned(k).items() if b == pfn):
        out.append(L(("bd", "f", b), (f"  freed while busy by {who}", DANGER)))
    return out


# -- waiters ------------------------------------------------------------------------------------


def waiter_lines(k: Kernel) -> list[Line]:
    out: list[Line] = []
    ws = views.waiters(k, agent_text)
    cyc = outcomes.find_cycle(k)
    if cyc:
        out.append(L(("w", "cycle"), ("DEADLOCK: " + " → ".join(
            f"{t.comm}:{t.tid}" for t in [*cyc, cyc[0]]), BAD)))
    for w in ws:
        tid = w["tid"]
        tag = (" DEADLOCK" if w["deadlock"] else "") + (" HUNG" if w["hung"] else "")
        job = f" %{w['job']}" if w["job"] else ""
        state = w["state"]
        out.append(L(("w", tid), (f"{w['comm']}:{tid}{job}", HEAD),
                     (f" [{state}]", WARN if state in ("D", "stopped") else PLAIN),
                     (tag, BAD), f" {w['cmdline']}", item=("task", tid)))
        out.append(L(("w", tid, "in"), "  in ", (w["func"] or "?", PLAIN),
                     (f"  blocked {w['blocked_ns'] / 1e9:.6f}s", DIM), group=(("task", tid),)))
        out.append(L(("w", tid, "for"), "  ", (w["wait"], WARN if not tag else BAD),
                     group=(("task", tid),)))
        if w["holds_text"]:
            out.append(L(("w", tid, "holds"), "  ", (w["holds_text"], DIM), group=(("task", tid),)))
        for i, c in enumerate(w["chain_links"]):
            out.append(L(("w", tid, "chain", i), "  ", (c["head"], BAD if c["deadlock"] else DIM),
                         group=(("task", tid),)))
            if c["by"]:
                out.append(L(("w", tid, "chain", i, "by"), "    held by ", (c["by"], DIM),
                             group=(("task", tid),)))
    if not out:
        out.append(L(("w", "none"), ("no task is blocked or stopped", DIM)))
    return out


# -- inodes -------------------------------------------------------------------------------------


def inode_lines(k: Kernel) -> list[Line]:
    out: list[Line] = []
    for i in views.inodes(k):
        ino = i["ino"]
        flags = []
        flags.append(("S_DAX" if i["S_DAX"] else "-", OK if i["S_DAX"] else DIM))
        flags.append(("XFLAG_DAX" if i["FS_XFLAG_DAX"] else "-", PLAIN if i["FS_XFLAG_DAX"] else DIM))
        st = ",".join(i["state"]) or "-"
        out.append(L(("i", i["mount"], ino), (f"{ino:<5}", DIM), (f" {i['path']:<12}", file_tag(ino)),
                     " ", flags[0], " ", flags[1],
                     f" i_count {i['i_count']} nlink {i['nlink']} size {fmt_size(i['size'])} ",
                     (st, WARN if st != "-" else DIM), (f" vmas {i['mapped']}", DIM),
                     item=("inode", ino)))
        ents = i["entries"]
        if ents:
            shown = " ".join(ents[:3]) + (f" … ({len(ents)} entries)" if len(ents) > 3 else "")
            out.append(L(("i", i["mount"], ino, "e"), "      i_pages ", (shown, DIM),
                         group=(("inode", ino),)))
        elif i["pagecache"]:
            out.append(L(("i", i["mount"], ino, "e"), ("      page cache", DIM),
                         group=(("inode", ino),)))
    if not out:
        out.append(L(("i", "none"), ("no inode in core (nothing mounted?)", DIM)))
    return out


# -- log ------------------------------------------------------------------------------------------


class LogFeed:
    """New trace events and dmesg lines since the last call, merged by time."""

    def __init__(self, k: Kernel) -> None:
        self.reset(k)

    def reset(self, k: Kernel) -> None:
        self.k = k
        self.seq = 0
        self.dmesg_n = 0

    def take(self) -> list[tuple[str, str]]:
        k = self.k
        evs = k.trace_buf.since(self.seq)
        if evs:
            self.seq = evs[-1].seq
        dm = k.dmesg.lines[self.dmesg_n:]
        self.dmesg_n = len(k.dmesg.lines)
        merged: list[tuple[int, int, str, str]] = [(e.time, 0, "trace", clean(e.format())) for e in evs]
        from ..kernel.trace import fmt_time
        merged += [(t, 1, "dmesg", f"[{fmt_time(t)}] {s}") for t, s in dm]
        merged.sort(key=lambda x: (x[0], x[1]))
        return [(src, text) for _t, _o, src, text in merged]


_OBJ = re.compile(r"<(?:function )?([\w.<>]+?)(?: object)? at 0x[0-9a-f]+>")


def clean(text: str) -> str:
    """Python reprs with addresses (``<... object at 0x7f...>``) made stable and short."""
    if " at 0x" not in text:
        return text
    return _OBJ.sub(lambda m: "<" + m.group(1).rsplit(".", 1)[-1] + ">", text)


def log_match(filt: str, src: str, text: str) -> bool:
    """The Log filter: every word must occur (case-insensitive); the words ``dmesg`` or
    ``trace`` alone pick one source."""
    words = filt.lower().split()
    if not words:
        return True
    low = text.lower()
    for w in words:
        if w in ("dmesg", "trace"):
            if src != w:
                return False
        elif w not in low:
            return False
    return True


# -- what changed -----------------------------------------------------------------------------

NEW, CHANGED, GONE, SAME = "new", "changed", "gone", "same"


def diff_lines(before: list[Line] | None, after: list[Line],
               collapsed: set[Any] | frozenset[Any] = frozenset()) -> list[tuple[Line, str]]:
    """``after`` with each line marked new, changed or same against ``before``; lines that
    disappeared are kept (marked gone) after the line that preceded them, unless they sit in a
    collapsed group or only said that there was nothing."""
    if before is None:
        return [(x, SAME) for x in after]
    old = {x.key: x for x in before}
    cur = {x.key for x in after}
    gone_after: dict[Any, list[Line]] = {}
    anchor: Any = None
    for x in before:
        if x.key in cur:
            anchor = x.key
        elif x.key[-1] != "none" and not any(g in collapsed for g in x.group) \
                and x.item not in collapsed:  # a placeholder ("no task ...") is not news
            gone_after.setdefault(anchor, []).append(x)
    out: list[tuple[Line, str]] = [(g, GONE) for g in gone_after.get(None, [])]
    for x in after:
        o = old.get(x.key)
        if o is None:
            out.append((x, NEW))
        elif o.segs != x.segs:
            out.append((x, CHANGED))
        else:
            out.append((x, SAME))
        for g in gone_after.get(x.key, ()):
            out.append((g, GONE))
    return out
