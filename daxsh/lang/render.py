"""Plain-text rendering of the kernel's views, help and behaviours (stable enough to diff)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..kernel import views
from ..kernel.config import Behaviour, needed_by
from .hints import agent_text
from .lexer import fmt_size
from .registry import GROUPS, REGISTRY, Command

if TYPE_CHECKING:
    from ..kernel.machine import Kernel


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip()] + [fmt.format(*map(str, r)).rstrip() for r in rows]


def show(k: Kernel, what: str) -> list[str]:
    if what == "pages":
        rows = []
        for p in views.pages(k):
            rows.append([hex(p["pfn"]), p["block"], p["refcount"],
                         "-" if p["mapcount"] is None else p["mapcount"], p["pins"],
                         "busy" if p["busy"] else "idle", p["mapping"] or "-",
                         "-" if p["index"] is None else p["index"],
                         ("hwpoison " if p["hwpoison"] else "") +
                         ("order-9 folio " if p["order"] else "") +
                         (f"FREED WHILE PINNED ({p['freed_while_pinned']})" if p["freed_while_pinned"] else "")])
        conv = "0-based: idle at 0, busy = refcount - mapcount > 0" if k.has("dax-refcount-0") \
            else "1-based: idle at 1, busy = refcount > 1"
        return [f"struct page ({conv})"] + (table(rows, ["pfn", "block", "refcount", "mapcount",
                                                          "pins", "state", "mapping", "index", ""])
                                           or ["(no page in use)"])
    if what == "ptes":
        out: list[str] = []
        for p in views.ptes(k):
            out.append(f"{p['process']}:{p['pid']}{' (dying)' if p['state'] == 'dying' else ''}")
            if not p["vmas"]:
                out.append("  (no mappings)")
            for v in p["vmas"]:
                out.append(f"  {v['start']:#x}-{v['end']:#x} {v['file']} pgoff {v['pgoff']} "
                           f"{' '.join(v['flags'])}")
                for e in v["entries"]:
                    what_ = "zero page" if e["zero"] else (f"anon pfn {e['pfn']:#x}" if e.get("anon")
                                                          else f"pfn {e['pfn']:#x}")
                    out.append(f"    {e['addr']:#x} {e['level']} -> {what_} {'rw' if e['write'] else 'ro'}")
        return out
    if what == "waiters":
        out = []
        for w in views.waiters(k, agent_text):
            tag = " DEADLOCK" if w["deadlock"] else (" HUNG" if w["hung"] else "")
            out.append(f"{w['comm']}:{w['tid']} [{w['state']}]{tag} {w['cmdline']}"
                       + (f" (job %{w['job']})" if w["job"] else ""))
            out.append(f"  {w['waits_for']}")
            out.append(f"  blocked since {w['since']}s")
            out += [f"  {c}" for c in w["chain"]]
        return out or ["no task is blocked or stopped"]
    if what == "inodes":
        rows = []
        for i in views.inodes(k):
            rows.append([i["ino"], i["path"], "S_DAX" if i["S_DAX"] else "-",
                         "x" if i["FS_XFLAG_DAX"] else "-", i["i_count"], i["nlink"],
                         ",".join(i["state"]) or "-", i["mapped"],
                         " ".join(i["entries"][:4]) + (" ..." if len(i["entries"]) > 4 else "")
                         or ("page cache" if i["pagecache"] else "-")])
        return table(rows, ["ino", "path", "S_DAX", "XFLAG", "i_count", "nlink", "state",
                            "vmas", "i_pages"]) or ["no inode in core (nothing mounted?)"]
    if what == "blocks":
        rows = []
        for r in views.blocks(k):
            marks = "; ".join(f"{b}: {','.join(m)}" for b, m in sorted(r.get("marks", {}).items())[:6])
            owner = r.get("file", "")
            rows.append([f"{r['start']}-{r['start'] + r['count'] - 1}", fmt_size(r["count"] * 4096),
                         f"{r.get('pfn', 0):#x}", r["state"], owner, marks])
        return table(rows, ["blocks", "size", "pfn", "state", "owner", "marks"])
    raise ValueError(what)


def stat(info: dict[str, Any]) -> list[str]:
    if info.get("fs") == "rootfs":
        return [f"  File: {info['path']}", "  Type: directory (rootfs)"]
    attr = info["STATX_ATTR_DAX"]
    return [
        f"  File: {info['path']}",
        f"  Size: {info['size']}  Blocks: {info['blocks']}  Inode: {info['ino']}  Links: {info['nlink']}"
        f"  Type: {info['type']} ({info['fs']})",
        f"  S_DAX: {'yes' if info['S_DAX'] else 'no'}  STATX_ATTR_DAX: "
        f"{'n/a (before v5.8)' if attr is None else ('set' if attr else 'clear')}"
        f"  FS_XFLAG_DAX: {'set' if info['FS_XFLAG_DAX'] else 'clear'}",
        f"  i_count: {info['i_count']}  mapped by {info['mapped']} vma(s)  dax entries: "
        f"{info['dax_entries']}  flags: {' '.join(info['flags']) or '-'}",
    ]


def behaviour(b: Behaviour) -> list[str]:
    when = b.version or (f"STABLE SERIES ONLY: {b.stable}" if b.stable else "PROPOSED, NOT MERGED")
    head = f"{b.name} ({when})"
    out = [head, f"    {b.summary}"]
    out += [f"    commit: {c}" for c in b.commits]
    if b.proposed:
        out.append(f"    thread: {b.proposed}")
    if b.row:
        out.append(f"    KERNEL.md section 4 row {b.row}")
    if b.reading:
        out.append(f"    reading: {b.reading}")
    out += [f"    needs: {n} -- {why}" for n, why in b.needs]
    by = needed_by(b.name)
    if by:
        out.append(f"    needed by: {', '.join(by)}")
    return out


def command_help(c: Command) -> list[str]:
    out = [f"usage: {c.usage}", f"  {c.summary}"]
    if c.help and c.help != c.summary:
        out += [f"  {line}" for line in c.help.splitlines()]
    for p in c.params:
        if p.help:
            out.append(f"  {p.type.metavar}: {p.help}")
    for o in c.options:
        out.append(f"  {', '.join(o.flags)}{' ' + o.type.metavar if o.type else ''}: {o.help}")
    out.append(f"example: {c.example}")
    if c.kfuncs:
        out.append("kernel functions: " + ", ".join(c.kfuncs))
    return out


def help_index() -> list[str]:
    out = []
    for g in GROUPS:
        out.append(f"{g}:")
        for c in REGISTRY.values():
            if c.group == g:
                out.append(f"  {c.usage:<46} {c.summary}")
    out.append("Words split like a shell's; # starts a comment; numbers are decimal or 0x hex with")
    out.append("K/M/G suffixes; a trailing & runs a command in the background; $_ is the last value.")
    out.append("`help CMD` for one command.")
    return out
