"""dmesg shapes by version: what each release prints for a mount, a WARN and a stack dump.

Where a line was read in a release's source, the row says so (``read:``; Debian's 6.1 kernel
was 6.1.176 when these rows were first read and is 6.1.192 now, the kernel `daxsh real` boots;
6.12 is 6.12.117); where the release an era starts in comes from the commit's merge window rather than from
reading that release, the row says ``[I]``.  Kernel code asks these functions; nothing else here
knows a version.
"""

from __future__ import annotations

from .config import vkey

# -- WARN sites -------------------------------------------------------------------------------------
# (file, function) -> {preset: line of the WARN_ON_ONCE in that release}.  Only lines read in the
# release's source are here; on any other preset the WARN is printed without a line number (the
# ``at FILE FUNC`` form the model used before), never with a line guessed from another release.
WARN_LINES: dict[tuple[str, str], dict[str, int]] = {
    # read: 6.1.176 and 6.1.192 fs/dax.c:380, 6.12.117 fs/dax.c:372  WARN_ON_ONCE(page->mapping)
    ("fs/dax.c", "dax_associate_entry"): {"v6.1": 380, "v6.12": 372},
    # read: 6.1.176 and 6.1.192 fs/dax.c:398, 6.12.117 fs/dax.c:390
    # WARN_ON_ONCE(trunc && page_ref_count(page) > 1)
    ("fs/dax.c", "dax_disassociate_entry"): {"v6.1": 398, "v6.12": 390},
    # read: 6.1.192 fs/ext4/inode.c:3998 (6.1.176 had it at 3995), 6.12.117 fs/ext4/inode.c:3987
    # WARN_ON_ONCE(!rwsem_is_locked(&inode->i_mapping->invalidate_lock))
    ("fs/ext4/inode.c", "ext4_break_layouts"): {"v6.1": 3998, "v6.12": 3987},
}


def warn_site(version: str, file: str, func: str) -> str:
    """``fs/dax.c:398 dax_disassociate_entry`` where the line was read for ``version``
    (kernel/panic.c __warn: "WARNING: CPU: %d PID: %d at %s:%d %pS"), else ``fs/dax.c
    dax_disassociate_entry``."""
    line = WARN_LINES.get((file, func), {}).get(version)
    return f"{file}:{line} {func}" if line is not None else f"{file} {func}"


# -- the dump_stack() header and the call trace ---------------------------------------------------
# lib/dump_stack.c dump_stack_print_info: read 6.1.176 "CPU: %d PID: %d Comm: %.20s %s%s %s %.*s";
# read 6.12.117 "CPU: %d UID: %u PID: %d Comm: ..." -- the UID came with "dump_stack: add the
# UID" (June 2024 patch on c286c21ff942): [I] v6.11.
DUMP_STACK_UID = "v6.11"
# arch/x86/kernel/dumpstack.c show_trace_log_lvl prints " <TASK>" ... " </TASK>" around the task
# stack (stack_type_name(STACK_TYPE_TASK) == "TASK", read in 6.1.176 dumpstack_64.c:36 and
# dumpstack.c:236/304); [I] first in v5.16.
CALL_TRACE_TASK_MARKERS = "v5.16"


def dump_stack_header(version: str, tid: int, comm: str) -> str:
    uid = "UID: 0 " if vkey(version) >= vkey(DUMP_STACK_UID) else ""
    return f"CPU: 0 {uid}PID: {tid} Comm: {comm} Not tainted {version[1:]} #1"


def call_trace(version: str, frames: list[str]) -> list[str]:
    """``Call Trace:`` and the frames, innermost first, as show_trace_log_lvl prints them."""
    lines = [f" {f}" for f in frames]
    if vkey(version) >= vkey(CALL_TRACE_TASK_MARKERS):
        lines = [" <TASK>", *lines, " </TASK>"]
    return ["Call Trace:", *lines]


# -- the page-fault oops ----------------------------------------------------------------------------
# arch/x86/mm/fault.c show_fault_oops: f28b11a2abd9 "x86/fault: Reword initial BUG message for
# unhandled page faults" and its sibling "x86/fault: Decode and print #PF oops in human readable
# form" (one x86/mm pull, [I] v5.1) turned "BUG: unable to handle kernel paging request at %px"
# (or "kernel NULL pointer dereference at %px" below PAGE_SIZE) into "BUG: unable to handle page
# fault for address: %px" followed by the "#PF:" decode.  The new form was read in 6.1.192 and
# 6.12.117 and seen on both real kernels (the unbind-then-umount oops).
PF_OOPS_REWORDED = "v5.1"


def page_fault_oops(version: str, addr: int, write: bool, present: bool) -> tuple[str, tuple[str, ...]]:
    """The headline and the lines after it of a kernel-mode page fault at ``addr``."""
    null = addr < 4096
    if vkey(version) < vkey(PF_OOPS_REWORDED):
        what = "NULL pointer dereference" if null else "paging request"
        return f"BUG: unable to handle kernel {what} at {addr:016x}", ()
    error_code = (2 if write else 0) | (1 if present else 0)
    # read 6.1.192 arch/x86/mm/fault.c:553-570 (show_fault_oops)
    headline = (f"BUG: kernel NULL pointer dereference, address: {addr:016x}" if null
                else f"BUG: unable to handle page fault for address: {addr:016x}")
    return headline, (f"#PF: supervisor {'write' if write else 'read'} access in kernel mode",
                      f"#PF: error_code(0x{error_code:04x}) - "
                      f"{'permissions violation' if present else 'not-present page'}")


# arch/x86/kernel/dumpstack.c __die_header: "%s: %04lx [#%d]%s%s%s%s%s" with str "Oops" (read
# 6.1.192 dumpstack.c:425); "x86/dumpstack: uniform die messages prompt" (Alex Shi, posted
# 2024-03-27, [I] v6.10) put "Oops: " before it, so a page fault prints "Oops: Oops: 0000 ..."
# (read 6.12.117 dumpstack.c:425; real 6.12 printed exactly that).  " PTI"/" NOPTI" exist since
# CONFIG_PAGE_TABLE_ISOLATION ([I] v4.15); " PREEMPT" is the configuration of the Debian kernels
# the real runs used (CONFIG_PREEMPTION) and is kept on every era ([U] for older Debian configs).
DIE_OOPS_PREFIX_SINCE = "v6.10"
DIE_PTI_SINCE = "v4.15"


def die_header(version: str, error_code: int, what: str = "Oops") -> str:
    """The line die(what, regs, error_code) prints: ``Oops`` for a kernel-mode page fault,
    ``invalid opcode`` for a BUG() (x86's ud2)."""
    v = vkey(version)
    prefix = "Oops: " if v >= vkey(DIE_OOPS_PREFIX_SINCE) else ""
    pti = " NOPTI" if v >= vkey(DIE_PTI_SINCE) else ""
    return f"{prefix}{what}: {error_code & 0xffff:04x} [#1] PREEMPT SMP{pti}"


# -- mount messages ---------------------------------------------------------------------------------
# XFS: xfs_setup_dax_always (read 6.1.176 fs/xfs/xfs_super.c:361) warns "DAX enabled. Warning:
# EXPERIMENTAL, use at your own risk" when DAX is on for the whole mount; 27c86d43bcdb "xfs: drop
# experimental warning for FSDAX" went into v6.8-rc7 (6.12.117 has no such line).
XFS_DAX_EXPERIMENTAL_UNTIL = "v6.8"
# xfs_log_mount "Mounting V%d Filesystem" (read 6.1.176 fs/xfs/xfs_log.c:646) became "Mounting V%d
# Filesystem %pU" (read 6.12.117 xfs_log.c:594; the patch was posted against the 6.1 tree): [I] v6.2.
# xfs_fs_put_super "Unmounting Filesystem" (6.1.176 xfs_super.c:1116) likewise gained %pU.
XFS_UUID_SINCE = "v6.2"
# ext4: the EXPERIMENTAL warning for -o dax went with "ext4: remove dax EXPERIMENTAL warning"
# (Eric Sandeen, posted 2021-09-15; 6.1.176 has no such line): [I] v5.16.
EXT4_DAX_EXPERIMENTAL_UNTIL = "v5.16"
# ext4_fill_super: 5.10.13 prints "mounted filesystem with%s. Opts: %.*s%s%s" (read in a 5.10.13
# tree), 6.1.176 "mounted filesystem with%s. Quota mode: %s." (super.c:5708; [I] v5.17, the new
# mount API), 6.12.117 "mounted filesystem %pU %s with%s. Quota mode: %s." (super.c:5738; [I] v6.2).
EXT4_QUOTA_MODE_SINCE = "v5.17"
EXT4_UUID_SINCE = "v6.2"
EXPERIMENTAL = "DAX enabled. Warning: EXPERIMENTAL, use at your own risk"


def uuid(n: int) -> str:
    """The filesystem's UUID as %pU prints it (the model's mkfs numbers its filesystems)."""
    h = f"{0x5eed0000_0000_4000_8000_000000000000 + n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def mount_lines(version: str, fstype: str, dev: str, dax_always: bool, opts: str,
                fs_uuid: int) -> list[str]:
    """What a successful mount logs, in order (option parsing first, then the fill_super end)."""
    v = vkey(version)
    out = []
    if fstype == "xfs":
        if dax_always and v < vkey(XFS_DAX_EXPERIMENTAL_UNTIL):
            out.append(f"XFS ({dev}): {EXPERIMENTAL}")
        u = f" {uuid(fs_uuid)}" if v >= vkey(XFS_UUID_SINCE) else ""
        out += [f"XFS ({dev}): Mounting V5 Filesystem{u}", f"XFS ({dev}): Ending clean mount"]
    elif fstype == "ext4":
        if dax_always and v < vkey(EXT4_DAX_EXPERIMENTAL_UNTIL):
            out.append(f"EXT4-fs ({dev}): {EXPERIMENTAL}")
        if v < vkey(EXT4_QUOTA_MODE_SINCE):
            out.append(f"EXT4-fs ({dev}): mounted filesystem with ordered data mode. "
                       f"Opts: {opts or '(null)'}")
        elif v < vkey(EXT4_UUID_SINCE):
            out.append(f"EXT4-fs ({dev}): mounted filesystem with ordered data mode. "
                       "Quota mode: none.")
        else:
            out.append(f"EXT4-fs ({dev}): mounted filesystem {uuid(fs_uuid)} r/w with ordered "
                       "data mode. Quota mode: none.")
    elif fstype == "ext2" and dax_always:
        # read 6.1.176 and 6.12.117 fs/ext2/super.c:589 (parse_options, Opt_dax)
        out.append(f"EXT2-fs ({dev}): {EXPERIMENTAL}")
    return out


def umount_lines(version: str, fstype: str, dev: str, fs_uuid: int) -> list[str]:
    if fstype != "xfs":
        return []
    u = f" {uuid(fs_uuid)}" if vkey(version) >= vkey(XFS_UUID_SINCE) else ""
    return [f"XFS ({dev}): Unmounting Filesystem{u}"]
