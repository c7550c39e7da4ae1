"""The screen reads the model's views as data, never their text: a waiter's wait and its locks,
its waits-for chain link by link, the DAX entry that covers a block."""

from __future__ import annotations

from daxsh.kernel import outcomes, views
from daxsh.lang import Session
from daxsh.tui.model import block_detail

MAP = "0x7f0000000000"


def test_a_waiter_comes_as_fields() -> None:
    s = Session("v4.18")
    for line in ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 64K",
                 "mmap /mnt/a 64K", f"touch {MAP} 64K --write", f"pin {MAP} 4K",
                 "truncate /mnt/a 0 &"]:
        s.execute(line)
    (w,) = views.waiters(s.k)
    assert w["waits_for"] == f"{w['wait']}; {w['holds_text']}"
    assert w["holds_text"].startswith("holds ")
    links = w["chain_links"]
    assert [f"  {c['head']}, held by {c['by']}" if c["by"] else f"  {c['head']}" for c in links] \
        == w["chain"]
    assert links[0]["by"].startswith("the device holding pin1") and not links[0]["deadlock"]
    t = next(t for t in s.k.sched.tasks if t.tid == w["tid"])
    assert outcomes.chain_links(s.k, t)[0].head.startswith(f"truncate:{t.tid} waits for ")


def test_a_block_inside_a_huge_entry_names_that_entry() -> None:
    """A PMD entry covers 512 blocks; the block detail of any of them names it (it looked for
    the entry's own pfn in its text, so only the first block found it)."""
    s = Session("v6.15")
    for line in ["mkfs xfs /dev/pmem0 -d su=2m", "mount /dev/pmem0 /mnt -o dax",
                 "create /mnt/a 2M", "mmap /mnt/a 2M", "touch $_ 2M --write"]:
        assert s.execute(line).status == "done", line
    (ino,) = [i for i in views.inodes(s.k) if i["dax_entries"]]
    (ent,) = ino["dax_entries"]
    assert ent["npages"] == 512, ent
    first = ent["pfn"] - int(views.ndctl(s.k)["namespaces"][0]["data_pfn"], 16)
    texts = [line.text for line in block_detail(s.k, first + 7)]
    assert any("DAX entry: /mnt/a index 0" in x for x in texts), texts
