"""Generate man/daxsh.1 from the command registry and the kernel presets.

    python -m daxsh.lang.manpage > man/daxsh.1

A test compares the committed page with this output, so the page cannot drift from the
registry.  The interactive-shell section comes from ``INTERACTIVE`` below.
"""

from __future__ import annotations

from ..kernel.config import BEHAVIOURS, PRESETS, changes
from . import commands as _commands  # noqa: F401  (registers the commands)
from .manpage_interactive import SECTIONS as INTERACTIVE  # (heading, roff body)
from .registry import GROUPS, REGISTRY

DATE = "2026-11-21"


def esc(s: str) -> str:
    s = s.replace("\\", "\\e").replace("-", "\\-")
    if s.startswith((".", "'")):
        s = "\\&" + s
    return s


# The real-kernel runs (daxsh real): how the steps map, and where the model is known to disagree
# with what the real kernel did (each is a strict expected failure in the real-kernel suite).
REAL_KERNELS: list[tuple[str, list[str]]] = [("REAL KERNELS", [
    "A real kernel cannot be scheduled step by step: the steps run in order, a trailing \\fB&\\fR "
    "starts a separate task, and a step still asleep in the kernel after 1.5 s is blocked and "
    "becomes a job.  \\fBpin\\fR is an O_DIRECT read from an nbd device the helper serves; "
    "\\fBdma\\fR sends the held reply (the data lands, the read returns and the pin goes at "
    "once), \\fBunpin\\fR fails it.  \\fBhwpoison\\fR is madvise(MADV_HWPOISON) by the process "
    "that maps the page; \\fBpoison\\fR, a hardware error that makes the media bad, is refused.  "
    "Corruption is a file holding a byte it was never written.  A schedule of \\fBstart\\fR and "
    "\\fBstep\\fR lines (daxsh explore \\-\\-out writes a counterexample so) runs when every "
    "started command runs until it ends or sleeps in the kernel before another step: each "
    "\\fBstart\\fR runs its command there, its \\fBstep\\fR lines are that command running, and "
    "a command a later step wakes is waited for where the model ends it; otherwise the step "
    "that runs while a command is stopped mid\\-way is named.  [threads] races (their verdict "
    "covers every interleaving) and the model\\-only commands (show, trace, why, break, alloc, "
    "mem, lease, fsx, kernel, reboot, cd, ls, stat) are refused with the reason.",
    ".PP",
    "The model's kernel for Debian's 6.1.192 is \\fBv6.1 +stable\\-bio\\-put\\-refs\\fR, for "
    "6.12.117 \\fBv6.12\\fR (\\-\\-preset names another).  6.1.192 carries the 6.1.y backport "
    "of 38b43539d64b: its __bio_release_pages drops an O_DIRECT bio's FOLL_GET page references "
    "with folio_put_refs, which never calls put_devmap_managed_page, so a truncate or hole punch "
    "waiting for the pinned DAX page (xfs_break_dax_layouts, ext4_break_layouts) is never woken "
    "when the read completes and sleeps until killed: a lost wake\\-up, hung in the model too.  "
    "Mainline v6.1 (put_page) and 6.12 (unpin_user_folio) wake it.",
    ".PP",
    "Known limits of the model, found by the real\\-kernel suite (scenarios/real):",
    ".TP",
    "XFS busy extents",
    "An extent XFS frees stays busy until the log commits (xfs_extent_busy): a file created "
    "right after a truncate does not get the freed blocks, so a late DMA into them corrupts "
    "nothing until a sync.  The model reuses a freed block at once.",
    ".TP",
    "An oops ends the model's machine",
    "On 6.1, an unbind under a pinned page removes the memmap and the device's late reply oopses "
    "in nbd's receive work (_copy_to_iter): the read never returns, and the kernel goes on.  "
    "The model's dma succeeds, it oopses later in the unpin, and skips every later step.",
])]


def render() -> str:
    out: list[str] = []
    w = out.append
    w(f'.TH DAXSH 1 {DATE} "daxsh" "User Commands"')
    w(".SH NAME")
    w("daxsh \\- a shell and deterministic model of the Linux filesystem\\-DAX lifecycle")
    w(".SH SYNOPSIS")
    w(".B daxsh")
    w("[\\fB\\-\\-kernel\\fR \\fISPEC\\fR] [\\fB\\-\\-pmem\\fR \\fISIZE\\fR] "
      "[\\fB\\-\\-seed\\fR \\fIN\\fR] [\\fB\\-\\-resume\\fR]")
    w(".br")
    w(".B daxsh run")
    w("[\\fB\\-\\-kernel\\fR \\fISPEC\\fR] [\\fB\\-\\-json\\fR] [\\fB\\-v\\fR] "
      "[\\fB\\-k\\fR \\fIPATTERN\\fR] [\\fB\\-\\-junit\\fR \\fIFILE\\fR] "
      "[\\fB\\-\\-trace\\-out\\fR \\fIFILE\\fR] [\\fB\\-\\-budget\\fR \\fIN\\fR] "
      "[\\fB\\-\\-time\\-limit\\fR \\fISECS\\fR] \\fIFILE\\fR ...")
    w(".br")
    w(".B daxsh kernels")
    w("[\\fIPRESET\\fR|\\fIBEHAVIOUR\\fR]")
    w(".br")
    w(".B daxsh bisect")
    w("[\\fB\\-\\-kernel\\-from\\fR \\fIA\\fR] [\\fB\\-\\-kernel\\-to\\fR \\fIB\\fR] "
      "[\\fB\\-\\-json\\fR] \\fIFILE\\fR")
    w(".br")
    w(".B daxsh import")
    w("[\\fB\\-o\\fR \\fIOUT.toml\\fR] [\\fB\\-\\-partial\\fR] \\fIFILE.sh\\fR")
    w(".br")
    w(".B daxsh export")
    w("\\fB\\-\\-sh\\fR [\\fB\\-o\\fR \\fIOUT.sh\\fR] \\fIFILE\\fR")
    w(".br")
    w(".B daxsh completion")
    w("\\fBbash\\fR|\\fBzsh\\fR|\\fBtcsh\\fR|\\fBfish\\fR")
    w(".br")
    w(".B daxsh tui")
    w("[\\fB\\-\\-kernel\\fR \\fISPEC\\fR] [\\fB\\-\\-pmem\\fR \\fISIZE\\fR] [\\fB\\-\\-seed\\fR \\fIN\\fR] "
      "[\\fB\\-\\-theme\\fR \\fBlight\\fR|\\fBdark\\fR] [\\fB\\-\\-no\\-journal\\fR] [\\fIFILE\\fR]")
    w(".br")
    w(".B daxsh explore")
    w("[\\fB\\-\\-kernel\\fR \\fISPEC\\fR] [\\fB\\-\\-json\\fR] [\\fB\\-\\-mode\\fR "
      "\\fBauto\\fR|\\fBdpor\\fR|\\fBdfs\\fR|\\fBrandom\\fR|\\fBpct\\fR] [\\fB\\-\\-preemptions\\fR \\fIN\\fR] "
      "[\\fB\\-\\-seed\\fR \\fIN\\fR] [\\fB\\-\\-budget\\fR \\fIN\\fR] [\\fB\\-\\-time\\-limit\\fR \\fISECS\\fR] "
      "[\\fB\\-\\-count\\-all\\fR] [\\fB\\-\\-jobs\\fR \\fIN\\fR | \\fB\\-\\-cluster\\fR \\fIADDRESS\\fR] "
      "[\\fB\\-\\-out\\fR \\fIFILE\\fR] [\\fB\\-\\-itf\\fR \\fIFILE\\fR] \\fIFILE\\fR")
    w(".br")
    w(".B daxsh real")
    w("[\\fB\\-\\-kernel\\fR \\fB6.1\\fR|\\fB6.12\\fR|\\fIPATH\\fR] [\\fB\\-\\-preset\\fR \\fISPEC\\fR] "
      "[\\fB\\-\\-json\\fR] [\\fB\\-\\-keep\\fR \\fIDIR\\fR] [\\fB\\-v\\fR] \\fIFILE\\fR")
    w(".br")
    w(".B daxsh real \\-\\-setup")
    w(".br")
    w(".B daxsh")
    w("< \\fISCRIPT\\fR")
    w(".SH DESCRIPTION")
    w("daxsh drives an in\\-process, deterministic model of the kernel's FS\\-DAX paths: the "
      "pmem namespace, pfn device and its memmap of struct page, the dax_device and its holder, "
      "XFS, ext4 and ext2 with their locks, DAX entries, page tables, GUP pins held by a "
      "device doing DMA, and the paths that tear them down: truncate, hole punch, eviction, "
      "umount, unbind and memory failure.")
    w(".PP")
    w("Every command that can sleep in the kernel runs as a task; a task that blocks becomes a "
      "job and the prompt comes back.  The same command lines and seed give the same trace and "
      "dmesg, byte for byte.  Simulated kernel failures (corruption, oops, WARN, deadlock, hung "
      "task, SIGBUS) are outcomes shown to the user, never Python errors.")
    w(".SH OPTIONS")
    for flag, arg, text in (
        ("\\-\\-kernel", "SPEC", "kernel preset and behaviours, e.g. \\(aqv6.14\\(aq or "
         "\\(aqv6.14 +dax\\-break\\-layout\\-final\\(aq (default: the newest preset)"),
        ("\\-\\-pmem", "SIZE", "size of namespace0.0, e.g. 4G or 1T (default 1G; sparse)"),
        ("\\-\\-seed", "N", "seed of the model's own pseudo\\-random generator (fsx)"),
        ("\\-\\-resume", "", "reopen the last interactive session at its last state"),
        ("\\-\\-version", "", "print the version"),
    ):
        w(".TP")
        w(f"\\fB{flag}\\fR" + (f" \\fI{arg}\\fR" if arg else ""))
        w(text)
    w(".SH SUBCOMMANDS")
    w(".TP")
    w("\\fBrun\\fR [\\fIOPTIONS\\fR] \\fIFILE\\fR ...")
    w("Replay scenario files (see \\fBdaxsh\\-scenario\\fR(5)) on every kernel each names, or on "
      "\\fISPEC\\fR, and check their expectations.  A file that does not end in .toml, or "
      "\\(aq\\-\\(aq for standard input, is a script of command lines.  Every file runs, even "
      "after an invalid one, and one line sums up: \\fIN\\fR passed, \\fIN\\fR failed, "
      "\\fIN\\fR invalid (and \\fIN\\fR undecided).  A step that the machine's state refuses "
      "(a job or pin that is gone, an errno) is that step's error status and the run goes on; "
      "only invalid input (syntax, an unknown command, a bad file) stops a file.  A scenario "
      "with setup and [threads] is a race: its interleavings are explored as by \\fBexplore\\fR "
      "and the verdict judged against [expect] verdict (\\fB\\-\\-budget\\fR and "
      "\\fB\\-\\-time\\-limit\\fR bound the search; cut short, it is undecided with its "
      "reason).  \\fB\\-k\\fR \\fIPATTERN\\fR runs the files and kernels whose "
      "\\(aqFILE [KERNEL] TITLE\\(aq contains it (or match it, with * or ?); "
      "\\fB\\-\\-junit\\fR writes JUnit XML, one testcase per file and kernel; "
      "\\fB\\-\\-trace\\-out\\fR \\fIFILE\\fR.json writes each run's trace in the "
      "Chrome/Perfetto trace\\-event format (a track per task, kernel functions as slices, "
      "wake\\-ups as flow arrows, dmesg lines as instant events, model time), .txt the text "
      "\\fBtrace\\-cmd report\\fR prints.  \\fB\\-\\-json\\fR prints one object with "
      "outcome, kernel, steps (line, status, output), runs and the summary.")
    w(".TP")
    w("\\fBkernels\\fR [\\fIPRESET\\fR|\\fIBEHAVIOUR\\fR]")
    w("The presets, what each changes, and every behaviour with its commit and release.")
    w(".TP")
    w("\\fBbisect\\fR \\fIFILE\\fR")
    w("The outcome on every preset from \\fB\\-\\-kernel\\-from\\fR to "
      "\\fB\\-\\-kernel\\-to\\fR (a race: the verdict), and for each pair of neighbouring "
      "presets whose outcomes differ, the smallest set of behaviours whose change alone flips "
      "the older preset's outcome, with each behaviour's commit, title and version.  "
      "\\fB\\-\\-json\\fR: {\\(dqmatrix\\(dq: [{\\(dqkernel\\(dq, \\(dqoutcome\\(dq}], "
      "\\(dqflips\\(dq: [{\\(dqfrom\\(dq, \\(dqto\\(dq, \\(dqoutcome_from\\(dq, "
      "\\(dqoutcome_to\\(dq, \\(dqbehaviours\\(dq: [{\\(dqname\\(dq, \\(dqcommit\\(dq, "
      "\\(dqversion\\(dq, \\(dqtitle\\(dq}]}]}.  At the shell's prompt, \\fBbisect\\fR does "
      "the same for the session's own commands.")
    w(".TP")
    w("\\fBimport\\fR \\fIFILE.sh\\fR")
    w("Translate a shell reproducer to a scenario (\\fB\\-o\\fR writes it): ndctl "
      "create\\-namespace \\-m fsdax, mkfs.xfs [\\-f] [\\-m rmapbt=N], mkfs.ext4, mkdir \\-p, "
      "mount \\-o dax, umount, xfs_io [\\-f] \\-c \\(dqpwrite|mmap|mwrite|mread|munmap|fpunch|"
      "truncate|sleep ...\\(dq FILE [&], truncate \\-s, fallocate \\-p, dd ... oflag=direct, echo "
      "DEV > /sys/bus/nd/drivers/nd_pmem/unbind, echo 3 > /proc/sys/vm/drop_caches, sync, rm, "
      "kill %N, wait, sleep, dmesg | tail.  Each line is printed beside its translation; a line "
      "that cannot be translated is named with the reason, and nothing is written unless "
      "\\fB\\-\\-partial\\fR.  Such lines pasted at the shell's prompt are translated and run "
      "as they come, the translation shown once per line.")
    w(".TP")
    w("\\fBexport\\fR \\fB\\-\\-sh\\fR \\fIFILE\\fR")
    w("Write a scenario as a bash script for a real machine, and daxsh\\-pin.c, the C helper it "
      "builds to keep mappings and pins (an io_uring registered buffer; the device\\(aqs write is "
      "a READ_FIXED into it).  A step that blocked in the model runs in the background.")
    w(".TP")
    w("\\fBcompletion\\fR \\fISHELL\\fR")
    w("Print the command\\-line completion script for bash, zsh or tcsh (made by shtab from the "
      "subcommands\\(aq parsers) or fish, e.g. \\fBdaxsh completion bash > "
      "~/.local/share/bash\\-completion/completions/daxsh\\fR.")
    w(".TP")
    w("\\fBtui\\fR")
    w("The live screen: page tables, pmem blocks, blocked waiters, inodes and the log.")
    w(".TP")
    w("\\fBexplore\\fR \\fIFILE\\fR")
    w("Decide a race over every interleaving of a scenario's [threads], as herd7 does for litmus "
      "tests.  Each step declares what it reads and writes (each PTE, page, DAX entry, inode "
      "field, lock with its mode, allocation group); two steps that share nothing they write "
      "commute, and optimal dynamic partial\\-order reduction (source sets, wake\\-up trees, "
      "sleep sets) runs one execution per class of equivalent orders (Mazurkiewicz trace).  The "
      "default \\fB\\-\\-mode auto\\fR first hunts bugs with 0, 1 and 2 preemptions, then "
      "searches exhaustively; \\fBdpor\\fR skips the hunt; \\fBdfs\\fR enumerates every order "
      "plainly; \\fBrandom\\fR and \\fBpct\\fR sample with \\fB\\-\\-seed\\fR.")
    w(".IP")
    w("The verdict is \\fBnever\\fR or \\fBalways\\fR only after an exhaustive search, "
      "\\fBsometimes\\fR from one bad and one good execution, and otherwise \\fBundecided\\fR "
      "with its reason: \\fBbudget\\fR (\\fB\\-\\-budget\\fR executions), \\fBtime\\-limit\\fR "
      "(\\fB\\-\\-time\\-limit\\fR), \\fBinterrupted\\fR (Ctrl\\-C: the summary is still "
      "printed), \\fBpreemption\\-bound\\fR (\\fB\\-\\-preemptions\\fR cut the search) or "
      "\\fBsampling\\fR.  The search stops once the verdict is decided; \\fB\\-\\-count\\-all\\fR "
      "counts every trace.  A search still running after 2 s on a race that looks too big to "
      "finish says so, with an upper estimate of its traces and what to try instead.  Off a "
      "terminal a progress line goes to standard error "
      "every 10 s.")
    w(".IP")
    w("\\fB\\-\\-jobs\\fR \\fIN\\fR splits the search over worker processes; "
      "\\fB\\-\\-cluster\\fR \\fIADDRESS\\fR over the workers of a Dask scheduler "
      "(pip install \\(aqdaxsh[cluster]\\(aq); both give the verdict and trace counts of one "
      "process.  Lines that cannot run inside a thread (\\fBkernel\\fR, \\fBreboot\\fR, "
      "\\fBfsx\\fR, job control) are refused when the file is read, with file:line.  A "
      "counterexample is shrunk and written (\\fB\\-\\-out\\fR) as a scenario whose "
      "\\fBstart\\fR and \\fBstep\\fR lines pin the schedule, so \\fBdaxsh run\\fR replays "
      "it; \\fB\\-\\-itf\\fR writes its trace as ITF JSON, \\fB\\-\\-trace\\-out\\fR as "
      "trace events (.json) or trace\\-cmd text (.txt).  At the shell's prompt, "
      "\\fBexplore\\fR searches from the session's state and opens a bad interleaving as a new "
      "branch.")
    w(".IP")
    w("Exit status: 0 every verdict matches the scenario's [expect] verdict, 1 a decided verdict "
      "contradicts it, 2 invalid input, 3 undecided, or the cluster could not be reached.")
    w(".TP")
    w("\\fBreal\\fR \\fIFILE\\fR")
    w("Boot a real kernel under QEMU (TCG) with an emulated, labelled NVDIMM, run the scenario's "
      "steps there with a small static helper, and print each step's status (done, blocked with "
      "the kernel stack it sleeps in, error with errno, killed by a signal), the outcome, the "
      "relevant dmesg lines and the model's prediction on the matching preset beside them "
      "(6.1: v6.1, 6.12: v6.12, a \\fIPATH\\fR: its release's preset or \\fB\\-\\-preset\\fR), "
      "then AGREE or DISAGREE with each difference.  \\fB\\-\\-setup\\fR installs the Debian "
      "packages, fetches the 6.12 kernel (apt\\-get download, unpacked, not installed) and "
      "builds one initramfs per kernel into the user's cache directory.  See REAL KERNELS.")
    w(".SH THE LANGUAGE")
    w("Words are split like a shell's, with single and double quotes; \\fB#\\fR starts a comment.  "
      "Numbers are decimal or 0x hexadecimal with an optional K, M, G or T binary suffix.  A "
      "trailing \\fB&\\fR starts the command as a background task.  Relative paths resolve "
      "against the current process's directory (\\fBcd\\fR).  \\fB$_\\fR is the last value a "
      "command printed: an address, a pin name or a job.")
    w(".PP")
    w("A command completes, fails with a message that says what is wrong and how to do it "
      "right and changes nothing, or blocks and becomes a job (\\fB%1\\fR, \\fB%2\\fR ...).  A "
      "job that later completes is reported as \\fB[1]+ Done\\fR.")
    w(".SH COMMANDS")
    for g in GROUPS:
        w(f".SS {esc(g.capitalize())}")
        for c in REGISTRY.values():
            if c.group != g:
                continue
            w(".TP")
            w(f"\\fB{esc(c.name)}\\fR {esc(c.usage[len(c.name):].strip())}".rstrip())
            w(esc(c.summary) + ".")
            for o in c.options:
                w(".br")
                w(f"\\fB{esc(', '.join(o.flags))}\\fR" + (f" \\fI{esc(o.type.metavar)}\\fR" if o.type else "")
                  + (f": {esc(o.help)}" if o.help else ""))
            w(".br")
            w(f"Example: \\fB{esc(c.example)}\\fR")
            if c.kfuncs:
                w(".br")
                w("Kernel functions: " + esc(", ".join(c.kfuncs)) + ".")
    for heading, body in INTERACTIVE:
        w(f".SH {heading}")
        out.extend(body.splitlines())
    w(".SH KERNELS")
    w("A kernel is a preset plus behaviours.  Each behaviour is one upstream change (or a "
      "reviewed proposal that never merged, named proposed\\-..., or a change only a stable "
      "series carries, named stable\\-...) with its commit and first release; a preset vX.Y "
      "holds every merged mainline behaviour of X.Y and before.  "
      "\\fBkernel v6.14 +NAME \\-NAME\\fR composes them; \\fBkernels\\fR explains each.  "
      "A behaviour that needs another brings it in, saying so; removing a behaviour that a "
      "present one needs is refused, naming both.  Traces and the kernel log use the names "
      "and message forms of the chosen release (a v4.18 trace says get_user_pages and "
      "mmap_sem).")
    w(".TP")
    w("Presets")
    w(esc(", ".join(PRESETS)) + ".")
    for p in PRESETS:
        ch = changes(p)
        if ch:
            w(".TP")
            w(f"\\fB{esc(p)}\\fR")
            w(esc(", ".join(b.name for b in ch)) + ".")
    w(".TP")
    w("Proposals")
    w(esc(", ".join(b.name for b in BEHAVIOURS if b.is_proposal)) + ".")
    w(".TP")
    w("Stable series only")
    w(esc("; ".join(f"{b.name}: {b.stable}" for b in BEHAVIOURS if b.stable)) + ".")
    for real_heading, paragraphs in REAL_KERNELS:
        w(f".SH {real_heading}")
        out.extend(paragraphs)
    w(".SH EXIT STATUS")
    w("\\fBdaxsh run\\fR exits 2 when a file is invalid (the file, the step and its line are "
      "named), else 1 when an expectation does not hold or a race's verdict contradicts the "
      "expected one (each failure is named), else 3 when a race's search ended undecided, else "
      "0.  \\fBdaxsh bisect\\fR exits 3 when a verdict was undecided on some kernel.  "
      "\\fBdaxsh real\\fR exits 0 when the real kernel and the model agree, 1 when they do not, 2 "
      "for invalid input or a step that cannot run on a real kernel (which, and why), 3 when the "
      "real kernel could not be run (what is missing; \\fBdaxsh real \\-\\-setup\\fR).  "
      "\\fBdaxsh\\fR reading a script from standard input exits 1 if a line failed.")
    w(".SH EXAMPLES")
    w("Replay the 2018 DMA\\-vs\\-truncate race on the kernels it names:")
    w(".PP")
    w(".RS")
    w(".nf")
    w("daxsh run scenarios/2018\\-dma\\-vs\\-truncate\\-xfs.toml")
    w(".fi")
    w(".RE")
    w(".PP")
    w("The same lines by hand, on a kernel before the fix:")
    w(".PP")
    w(".RS")
    w(".nf")
    for line in ("kernel v4.16", "mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt \\-o dax",
                 "create /mnt/a 64K", "mmap /mnt/a 64K", "touch $_ 64K \\-\\-write",
                 "pin 0x7f0000000000 4K", "truncate /mnt/a 0", "create /mnt/b 64K", "dma pin1",
                 "check"):
        w(line)
    w(".fi")
    w(".RE")
    w(".SH SEE ALSO")
    w("\\fBdaxsh\\-scenario\\fR(5), \\fBndctl\\fR(1), \\fBmkfs.xfs\\fR(8)")
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
