"""fsx: the file-system exerciser as a background process (seed 003's reproduction runs it
while unbinding).  Random mapped reads and writes (mmap, touch, munmap per operation, as fsx
does), truncates, hole punches and pwrite/pread on one file, one operation per 10 ms of
model time, from the model's own PRNG (``random.Random(seed)``: deterministic).

A syscall error ends fsx with a message (as the real fsx stops at the first unexpected error);
a fault that cannot be served kills it with SIGBUS.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .errno import ERRNO_NAMES, Ret
from .fs.file_table import File
from .fs.namei import lookup_file
from .fs.open import do_truncate
from .mm.fault import do_user_access
from .mm.mmap import do_mmap, do_munmap, find_vma
from .mm.types import PAGE_SIZE
from .sched import TaskExit, msleep_interruptible

if TYPE_CHECKING:
    from .mm.mmap import Process
    from .sched import KGen, Task

OP_NS = 10_000_000  # one operation per 10 ms of model time (100 per second)
OPS = ("mapread", "mapwrite", "truncate", "punch", "write", "read")


def fsx(t: Task, proc: Process, path: str, nops: int, seed: int, maxlen: int = 256 << 10) -> KGen:
    k = t.k
    rng = random.Random(seed)
    err, mnt, d = yield from lookup_file(t, path)
    if err:
        return Ret(err)
    file = File(mnt, d)  # open(2): the fd holds the file
    proc.files.append(file)
    inode = d.inode
    ops = inode.sb.ops
    done = 0
    try:
        for _ in range(nops):
            if t.fatal_signal_pending():
                raise TaskExit("SIGKILL")
            op = rng.choice(OPS)
            size = inode.size
            off = rng.randrange(0, maxlen // PAGE_SIZE) * PAGE_SIZE
            length = rng.randrange(1, 9) * PAGE_SIZE
            length = min(length, maxlen - off)
            k.trace(t, "fsx_op", op, off=off, len=length, size=size)
            e = 0
            if op in ("mapread", "mapwrite"):
                if op == "mapwrite" and off + length > size:
                    yield from do_truncate(t, inode, off + length)
                elif op == "mapread" and off + length > size:
                    if size == 0:
                        continue
                    off = (rng.randrange(0, max(size // PAGE_SIZE, 1))) * PAGE_SIZE
                    length = min(length, max(size - off, PAGE_SIZE))
                    if off >= size:
                        continue
                addr = yield from do_mmap(t, proc, file, length, off // PAGE_SIZE, True, False)
                if isinstance(addr, int) and addr < 0x10000:
                    e = addr
                else:
                    for a in range(addr, addr + length, PAGE_SIZE):
                        sig = yield from do_user_access(t, proc, a, op == "mapwrite")
                        if sig is not None:
                            k.trace(t, "force_sig_fault", sig[0], sig[1], addr=f"{a:#x}")
                            k.kill_process(proc, sig[0], sig[1], f"at {a:#x}")
                            raise TaskExit(sig[0])
                    vma = find_vma(proc.mm, addr)
                    if vma is not None:
                        yield from do_munmap(t, proc, vma)
            elif op == "truncate":
                new = rng.randrange(0, maxlen // PAGE_SIZE + 1) * PAGE_SIZE
                e = yield from do_truncate(t, inode, new)
            elif op == "punch":
                if ops.supports_punch and size:
                    e = yield from ops.punch(t, inode, off, length)
            elif op == "write":
                e = yield from ops.write_iter(t, inode, off, length)
            else:
                e = yield from ops.read_iter(t, inode, off, length)
            if e:
                e = abs(e)
                msg = f"fsx: {op} at {off:#x} len {length:#x}: error {ERRNO_NAMES.get(e, e)} after {done} ops"
                k.trace(t, "fsx_error", msg)
                return Ret(0, None, [msg])
            done += 1
            yield from msleep_interruptible(t, OP_NS)
        return Ret(0, None, [f"fsx: {done} operations done"])
    finally:
        if file in proc.files:
            proc.files.remove(file)
            yield from k.fput(t, file)
