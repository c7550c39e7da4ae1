# ruff: noqa: E501  (roff text, wrapped as man(7) reads it)
"""The interactive shell's sections of man/daxsh.1 (roff), kept beside the generator."""

SECTIONS: list[tuple[str, str]] = [("INTERACTIVE SHELL", r'''With no subcommand and a terminal on standard input,
.B daxsh
opens a shell over one modelled machine.
Every command of the language works at its prompt; the shell adds job control,
time travel, recording and a journal.
.SS The prompt
.RS
.nf
v6.14 sh:/mnt [1 blocked]>
.fi
.RE
shows the kernel preset, the current process and its directory, and how many jobs are
blocked or stopped.
After
.B back
or
.BR goto ,
the point being viewed follows, e.g.
.B main@5/8
(point 5 of the 8 commands of branch main) or
.BR b1@6 .
.SS Completion and history
Tab completes command names and every argument from the registry: paths in the modelled
filesystem, mount points, devices
.RB ( /dev/pmem0 ,
.BR pfn0.1 ),
process names, addresses of existing mappings, pin names, job ids, presets and
behaviours, kernel functions for
.BR break ,
and option flags.
.B start
completes the arguments of the command it starts.
Lines typed are kept in
.I $XDG_STATE_HOME/daxsh/history
across sessions; Up and Down walk them and Ctrl-R searches them.
.SS Jobs
A command that blocks in the modelled kernel returns the prompt with one line saying who is
blocked, where, and holding what, and becomes a job
.RB ( jobs ,
.BR "wait %N" ,
.BR "why %N" ).
When a later command lets a job finish, the shell prints
.B [1]+ Done
and the job's command line before the next prompt.
.SS Time travel
The model is deterministic, so a state is named by the commands that led to it.
.TP
.B history
The numbered state-changing commands of the current branch;
.B >
marks the point being viewed.
Commands that only look
.RB ( show ,
.BR jobs ,
.BR why ,
an error) are not numbered.
.TP
.BI back " [K]"
Go back K state-changing commands (default 1): the state is rebuilt by replaying the
first N\-K commands on a fresh machine.
.TP
.BI goto " N" " | " BRANCH:N " | " BRANCH
Rebuild the state after command N of the current branch (or of BRANCH; BRANCH alone is
its last point).
.TP
.B branches
Typing a new state-changing command while viewing an earlier point starts a new branch
.RB ( b1 ,
.BR b2 ,
\&...) that shares the commands before it; the old branch stays.
Typing the command the branch already has next just moves forward on it.
.TP
.BI diff " N [M]"
What changed between two points (N, BRANCH:N): struct pages, page tables, inodes, blocked
tasks and jobs.
M defaults to the point being viewed.
.SS Recording and replaying
.TP
.BI record " FILE.toml " "[\-\-title " T "] [\-\-ref " URL ]
Save the commands that led to the point being viewed as a scenario
(see
.BR daxsh-scenario (5)):
the kernel at the start of the session, the machine's pmem size and seed, the commands as
.BR steps ,
and the outcome reached now as
.BR "[expect] outcome" .
The file is rewritten after every state-changing command until
.BR "record stop" .
.B daxsh run FILE.toml
replays it and checks the outcome.
.TP
.BI replay " [FILE.toml [KERNEL]] [\-\-next]"
Run a scenario's steps on a fresh machine with its kernel (or KERNEL), pmem and seed,
printing each, and stop at the first step that blocks, fails or is skipped, so that you can
look around;
.B replay
alone runs the steps left, and
.B next
runs one of them
.RB ( \-\-next
runs none until then).
The fresh machine is a new branch
.RB ( r1 ,
.BR r2 ,
\&...); the branches before it stay, and
.B goto main
returns to them.
Only the daxsh language is executed; a scenario's
.B [threads]
are explored by
.B daxsh run
and
.B daxsh explore
only.
.TP
.B tui
Open the live screen on this session; what is typed there joins this session's history.
.TP
.B clear
Clear the terminal (on the screen: the transcript).
.SS Exploring from here
.TP
.BI explore " [\-\-bad OUTCOME] [\-\-dmesg TEXT] [\-\-query CMD \-\-contains TEXT | \-\-lacks TEXT] [\-\-thread 'LINE; LINE'] ..."
Run every interleaving, at the model's preemption points, of the session's live jobs
(stopped, blocked or runnable) and of each
.B \-\-thread
(command lines run one after another beside them), starting from the state being viewed,
as
.B daxsh explore
does for a scenario's
.BR [threads] .
Print the verdict (never, sometimes, always) with its Positive and Negative counts.
An execution is bad when all the conditions given hold, as in a scenario's
.B [expect.bad]
table:
.B \-\-bad
an outcome
.RB ( corruption ,
.BR oops ,
.BR deadlock ,
.BR hung ),
.B \-\-dmesg
a text of the final kernel log,
.B \-\-query
a command that reads the state
.RB ( show ,
.BR check ,
.BR dmesg ...)
whose output has a line with the
.B \-\-contains
text, or none with the
.B \-\-lacks
text.
With no condition, any outcome but clean is bad.
The session is not changed; a bad interleaving opens as a new branch, its schedule typed as
.B start
and
.B step
lines, to step through,
.B diff
and
.BR record .
.SS Kernels, traces and reproducers
.TP
.BI bisect " [\-\-kernel\-from PRESET] [\-\-kernel\-to PRESET]"
Replay the session's state\-changing commands on every preset of the range and print the
outcome of each; for each change between neighbouring presets, the smallest set of behaviours
(with their commits) whose change alone flips it, as
.B daxsh bisect
does for a file.
.TP
.BI "trace save" " FILE.json|FILE.txt"
Write the trace buffer as Chrome/Perfetto trace events (.json: open it in ui.perfetto.dev or
chrome://tracing) or as the text
.B trace\-cmd report
prints (.txt).
.TP
Pasted shell lines
A line of a real shell reproducer that is not a daxsh line (\fBmkfs.xfs \-f /dev/pmem0\fR,
\fBxfs_io \-f \-c "mmap \-rw 0 64k" \-c "mwrite 0 64k" /mnt/a &\fR, \fBecho 3 >
/proc/sys/vm/drop_caches\fR, \fBkill %1\fR of such a background line ...) is translated as
.B daxsh import
does and run; each daxsh line it became is shown once, as
.BR "(shell) \-> LINE" ,
before its output.  A line that cannot be translated is named with the reason and runs
nothing.
.SS Journal and resume
Every session is journaled as it goes, one JSON line per state-changing command (appended
and synced to disk each time) in
.IR $XDG_STATE_HOME/daxsh/sessions/ .
A crash, a kill or a closed terminal loses nothing:
.B daxsh \-\-resume
reopens the last session at its last point, with its branches.
A record torn by a kill is dropped; a damaged one keeps the records before it (the file is
left as it is and the session goes on in a new journal).
While a shell runs, its journal is locked: a second
.B daxsh \-\-resume
of the same session resumes a copy.
When the journal cannot be written (a full disk) the shell says so once and goes on
unjournaled;
.B record
saves the session elsewhere.
A state directory that cannot be used starts an unjournaled session.
Ctrl-D (or
.BR quit )
leaves the shell and prints where the journal is.
.SS Interrupting
Ctrl-C at the prompt clears the line.
Ctrl-C while a command runs interrupts it and rebuilds the machine as it was before that
command; the session goes on.
.SS Safety and output
The shell runs nothing but the daxsh language: cmd2's shell escape, editor, Python,
scripts, macros, aliases, settings and output redirection are removed.
An error names the word that is wrong with a caret under it and changes nothing.
Colour is used on a terminal only;
.B NO_COLOR
or output that is not a terminal gives plain text.'''),
    ("THE SCREEN", r'''\fBdaxsh tui\fR shows the machine while it is driven: a command line at the bottom (the language of the shell, Tab completion from the command registry, Up and Down for history) and five panes that are redrawn after every command.
What the last command changed is marked in the gutter of each pane (\fB+\fR new, \fB~\fR changed, \fB\-\fR gone) as well as highlighted, so it shows without colour too, and the number of changes is in the pane's title.
\fIFILE\fR is a scenario (\fB.toml\fR, replayed on \fB\-\-kernel\fR or its first kernel) or command lines to run before the screen opens.
The session is journaled as the shell's is, unless \fB\-\-no\-journal\fR.
.TP
.B Page tables
Per process, its VMAs (range, file, pgoff, flags) and their PTE and PMD entries (address, pfn, writable).
Consecutive entries are one line (\fB\(mu16\fR); \fBCtrl\-E\fR shows each; \fBEnter\fR on a process or VMA folds it.
.TP
.B pmem
The namespace's blocks as runs of equal state (metadata, free, each file's extents, coloured by file), with the pinned, poisoned, freed\-while\-pinned and foreign\-data blocks under their run, and the memmap's state after \fBunbind\fR.
A 1 TiB namespace stays a few lines.
Selecting a run or block (arrows, \fBEnter\fR or a click) shows its struct page (refcount, mapcount where the kernel has one, mapping and index), the DAX entry naming it, who maps it and who pins it.
.TP
.B Waiters
Every blocked or stopped task: the kernel function it sleeps in, what it waits for, the locks it holds, how long it has been blocked in model time, and its waits\-for chain.
A deadlock cycle and a hung task are marked \fBDEADLOCK\fR and \fBHUNG\fR, here and in the header.
.TP
.B Inodes
Each inode in core: S_DAX, FS_XFLAG_DAX, i_count, nlink, size, state (I_DONTCACHE, I_FREEING, LRU), the VMAs mapping it and its DAX entries.
.TP
.B Log
The trace (kernel functions) and dmesg, under the command line that produced them.
The filter above it keeps the lines that contain every word typed; \fBdmesg\fR or \fBtrace\fR alone keeps one source.
.PP
The header names the kernel and says whether the machine crashed, deadlocked, has hung or blocked tasks, what is mounted (frozen, shut down), and the state of the pfn device.
A simulated oops is shown there and in the log; the screen goes on (\fBreboot\fR starts a new machine).
An exception in daxsh itself is reported, with the journal's path, and the session goes on.
.PP
Keys:
\fBF2\fR step,
\fBF3\fR continue,
\fBF4\fR back,
\fBF5\fR\(enF9\fR show or hide a pane,
\fBF10\fR zoom the focused pane,
\fBF11\fR the next step of \fBreplay\fR \fIFILE\fR \fB\-\-next\fR,
\fBEsc\fR the command line,
\fBCtrl\-T\fR light or dark theme,
\fBCtrl\-Q\fR quit.
Besides the language, the command line takes \fBback\fR [\fIK\fR], \fBgoto\fR \fIN\fR|\fIBRANCH\fR:\fIN\fR, \fBhistory\fR, \fBbranches\fR, \fBdiff\fR, \fBrecord\fR, \fBreplay\fR \fIFILE\fR [\fIKERNEL\fR] [\fB\-\-next\fR], \fBnext\fR, \fBexplore\fR, \fBbisect\fR, \fBtrace save\fR \fIFILE\fR, \fBclear\fR and \fBquit\fR, and pasted shell lines: the same commands as the shell's.
The screen works at 80x24 and larger, with keyboard and mouse, and honours \fBNO_COLOR\fR.'''),
    ("ENVIRONMENT", r'''.TP
.B XDG_STATE_HOME
Where the history and the journals live
.RI ( $XDG_STATE_HOME/daxsh ;
default
.IR ~/.local/state/daxsh ).
.TP
.B NO_COLOR
When set, no colour is used.'''),
    ("FILES", r'''.TP
.I $XDG_STATE_HOME/daxsh/history
Lines typed at the prompt.
.TP
.I $XDG_STATE_HOME/daxsh/sessions/*.jsonl
One journal per interactive session.
.TP
.I $XDG_STATE_HOME/daxsh/last-session
The journal that
.B daxsh \-\-resume
reopens.'''),
]
