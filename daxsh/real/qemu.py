"""Boot a kernel under QEMU (TCG) with one emulated, labelled NVDIMM and the steps, and collect
the two serial ports: ttyS0 is the console (the kernel log as printed), ttyS1 the guest helper's
structured lines (see guest/daxsh-guest.c).

TCG only: on a host that is itself a virtual machine, ``-accel kvm`` can hang the guest silently
right after the boot loader hands over.  Watchdogs: the run ends when the helper says END, when
QEMU exits (a panic with ``panic=-1`` and ``-no-reboot``), when the helper has said nothing for
``stall`` seconds, or after ``timeout`` seconds in all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .provision import KernelImage, SetupError, which

GUEST_MEMORY = "512M"
LABEL_SIZE = "128K"


@dataclass
class Boot:
    console: str        # ttyS0
    proto: list[str]    # ttyS1 lines
    ended: bool         # the helper reached END
    stalled: bool       # killed by a watchdog
    seconds: float
    qemu_rc: int | None
    command: list[str]


def newc(files: dict[str, bytes]) -> bytes:
    """A newc cpio archive of regular files (mode 0644) with its trailer."""
    out = bytearray()

    def entry(name: str, data: bytes, mode: int, ino: int) -> None:
        nm = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nm), 0))
        out.extend(hdr.encode() + nm)
        out.extend(b"\0" * ((4 - len(out) % 4) % 4))
        out.extend(data)
        out.extend(b"\0" * ((4 - len(out) % 4) % 4))

    for i, (name, data) in enumerate(sorted(files.items()), start=1):
        entry(name, data, 0o100644, i)
    entry("TRAILER!!!", b"", 0, 0)
    out.extend(b"\0" * ((512 - len(out) % 512) % 512))
    return bytes(out)


def qemu_command(k: KernelImage, initrd: str, nvdimm: str, size: int, console: str, proto: str) -> list[str]:
    return ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", "2",
            "-machine", "pc,nvdimm=on", "-m", f"{GUEST_MEMORY},slots=2,maxmem=4G",
            "-object", f"memory-backend-file,id=mem1,share=on,mem-path={nvdimm},size={size}",
            "-device", f"nvdimm,memdev=mem1,id=nv1,label-size={LABEL_SIZE}",
            "-kernel", k.vmlinuz, "-initrd", initrd,
            "-append", "console=ttyS0 loglevel=4 panic=-1 nokaslr",
            "-serial", f"file:{console}", "-serial", f"file:{proto}",
            "-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults"]


def boot(k: KernelImage, steps: str, pmem: int, keep: str | None = None,
         timeout: float = 300.0, stall: float = 90.0) -> Boot:
    """Run ``steps`` (the guest's step lines) on kernel ``k``; every file of the run lives in a
    fresh directory (``keep``: that directory, left in place)."""
    if which("qemu-system-x86_64") is None:
        raise SetupError("qemu-system-x86_64 is missing; run `daxsh real --setup`")
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="daxsh-real-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _boot(k, steps, pmem, work, timeout, stall)
    finally:
        (work / "nvdimm.img").unlink(missing_ok=True)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _boot(k: KernelImage, steps: str, pmem: int, work: Path, timeout: float, stall: float) -> Boot:
    initrd = work / "initrd.cpio"
    with open(initrd, "wb") as f, open(k.initramfs, "rb") as base:
        shutil.copyfileobj(base, f)
        f.write(newc({"steps": steps.encode()}))
    (work / "steps").write_text(steps)
    img = work / "nvdimm.img"
    with open(img, "wb") as f:
        f.truncate(pmem)
    console, proto = work / "console.log", work / "proto.log"
    for p in (console, proto):
        p.write_bytes(b"")
    cmd = qemu_command(k, str(initrd), str(img), pmem, str(console), str(proto))
    t0 = time.monotonic()
    with open(work / "qemu.stderr", "wb") as err:
        q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                             start_new_session=True)
    last_size, last_change = 0, t0
    ended = stalled = False
    try:
        while q.poll() is None:
            time.sleep(0.2)
            size = os.path.getsize(proto)
            now = time.monotonic()
            if size != last_size:
                last_size, last_change = size, now
                if b"\nEND" in proto.read_bytes()[-64:] or proto.read_bytes().startswith(b"END"):
                    ended = True
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        q.wait(timeout=5)
                    break
            # before the helper starts, the boot itself is watched by the overall timeout
            if (last_size and now - last_change > stall) or now - t0 > timeout:
                stalled = True
                break
    finally:
        if q.poll() is None:
            q.kill()
            q.wait()
    text = proto.read_bytes().decode("utf-8", "replace").replace("\r", "")
    return Boot(console.read_bytes().decode("utf-8", "replace").replace("\r", ""),
                [x for x in text.split("\n") if x], ended, stalled, time.monotonic() - t0,
                q.returncode, cmd)
