"""The shell's own commands, each filling a :class:`Reply` (registered in the registry of
:mod:`._core`, which this module imports and which never imports it)."""

from __future__ import annotations

import os
import shlex
import textwrap
from collections.abc import Callable

from ..kernel import outcomes
from ..kernel.config import ConfigError
from ..lang import REGISTRY, render
from ..lang.hints import error_text
from ..lang.registry import GROUPS, unknown_command
from ..scenario.bad import FLAGS, Bad
from ..scenario.load import ScenarioError, load
from ..scenario.prompt_tools import bisect_session, trace_save
from ._core import SHELL_COMMANDS, Core
from ._core import shell_command as _shell
from ._reply import Kind, Reply, Status
from ._timeline import TimelineError


@_shell("help", "help [CMD]", "commands by group, or one command in detail", "help truncate",
        complete="names")
def _help(core: Core, args: list[str], reply: Reply) -> None:
    if len(args) > 1:
        core._usage(reply, "help", "help takes one command name")
        return
    for kind, text in help_lines(args[0] if args else "", width=core_width()):
        reply.add(kind, text)
    if args and args[0] not in REGISTRY and args[0] not in SHELL_COMMANDS:
        reply.status = Status.ERROR


def core_width() -> int:
    """The terminal's width for help text (COLUMNS, else 80), at least 40."""
    try:
        return max(40, int(os.environ.get("COLUMNS", "80")))
    except ValueError:
        return 80


def help_lines(name: str = "", width: int = 80) -> list[tuple[Kind, str]]:
    """``help``: the commands by group (names only, wrapped to ``width``); ``help CMD``: one
    command in detail.  The language's commands and the shell's alike."""
    out: list[tuple[Kind, str]] = []
    if name:
        if name in REGISTRY:
            usage, *rest = render.command_help(REGISTRY[name])  # the usage line, then the rest
            out += [(Kind.HEADING, y) for y in _wrap(usage, width)]
            out += [(Kind.OUTPUT, y) for x in rest for y in _wrap(x, width)]
            if name in SHELL_COMMANDS:  # `trace save FILE`: the shell's, on top of the language's
                c = SHELL_COMMANDS[name]
                out += [(Kind.HEADING, y) for y in _wrap(f"usage: {c.usage}", width)]
                out += [(Kind.OUTPUT, y) for y in _wrap(f"  {c.summary} (the shell and the screen "
                                                        "only)", width)]
        elif name in SHELL_COMMANDS:
            c = SHELL_COMMANDS[name]
            out += [(Kind.HEADING, y) for y in _wrap(f"usage: {c.usage}", width)]
            out += [(Kind.OUTPUT, y) for y in _wrap(f"  {c.summary}", width)]
            out += [(Kind.OUTPUT, y) for y in _wrap(f"example: {c.example}", width)]
            out += [(Kind.OUTPUT, y) for y in _wrap("(a command of the shell and the screen; "
                                                    "scenario files cannot use it)", width)]
        else:
            out.append((Kind.ERROR, f"help: {unknown_command(name, tuple(SHELL_COMMANDS))}"))
        return out
    groups: list[tuple[str, list[str]]] = [
        (g, [c.name for c in REGISTRY.values() if c.group == g]) for g in GROUPS]
    groups.append(("shell (here only)", [n for n in SHELL_COMMANDS]))
    pad = max(len(g) for g, _ in groups) + 3
    for g, names in groups:
        body = textwrap.wrap(" ".join(names), width=max(20, width - pad - 1))
        for i, chunk in enumerate(body):
            out.append((Kind.OUTPUT, f"  {g if i == 0 else '':<{pad - 2}}{chunk}"))
    for x in ("`help CMD` shows one command: usage, options, an example. Words split like a "
              "shell's; # starts a comment; numbers are decimal or 0x hex with K/M/G/T "
              "suffixes; a trailing & runs a command in the background; $_ is the last value.",):
        out += [(Kind.HINT, y) for y in textwrap.wrap(x, width=width - 1)]
    return out


def _wrap(line: str, width: int) -> list[str]:
    if len(line) < width:
        return [line]
    indent = len(line) - len(line.lstrip())
    return textwrap.wrap(line, width=width - 1, subsequent_indent=" " * (indent + 2),
                         break_on_hyphens=False, break_long_words=False) or [line]


@_shell("history", "history", "the numbered state-changing commands of this branch (> marks "
        "where you are)", "history")
def _history(core: Core, args: list[str], reply: Reply) -> None:
    _listing(reply, core.tl.history_lines())


def _listing(reply: Reply, lines: list[tuple[bool, str]]) -> None:
    """A listing, its lines marked where the session is."""
    for here, x in lines:
        reply.add(Kind.CURRENT if here else Kind.OUTPUT, x)


@_shell("back", "back [K]", "go back K state-changing commands (default 1), by replaying from a "
        "fresh machine", "back 3")
def _back(core: Core, args: list[str], reply: Reply) -> None:
    arg = args[0] if args else "1"
    if len(args) > 1 or not (arg.isascii() and arg.isdigit()):
        core._usage(reply, "back", f"'{' '.join(args)}' is not a count")
        return
    _travel(core, reply, lambda: core.tl.back(int(arg)))


@_shell("goto", "goto N | BRANCH:N | BRANCH", "rebuild the state after command N (of a branch)",
        "goto b1:4", complete="points")
def _goto(core: Core, args: list[str], reply: Reply) -> None:
    if len(args) != 1:
        core._usage(reply, "goto", "goto needs one point")
        return
    _travel(core, reply, lambda: core.tl.goto(args[0]))


def _travel(core: Core, reply: Reply, move: Callable[[], None]) -> None:
    try:
        move()
    except TimelineError as e:
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, f"error: {e}")
        return
    reply.machine_replaced = True
    core.event("machine")
    core.where(reply)
    core._rerecord(reply)


@_shell("branches", "branches", "the branches made by typing a new command after going back "
        "(and by `replay`)", "branches")
def _branches(core: Core, args: list[str], reply: Reply) -> None:
    _listing(reply, core.tl.branch_lines())


@_shell("diff", "diff N [M]", "what changed between two points (pages, ptes, inodes, waiters, "
        "jobs); M defaults to here", "diff 5 7", complete="points")
def _diff(core: Core, args: list[str], reply: Reply) -> None:
    if not 1 <= len(args) <= 2:
        core._usage(reply, "diff", "diff takes one or two points")
        return
    here = f"{core.tl.branch}:{core.tl.pos}"
    try:
        lines = core.tl.diff_lines(args[0], args[1] if len(args) > 1 else here)
    except TimelineError as e:
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, f"error: {e}")
        return
    kinds = {"-": Kind.REMOVED, "+": Kind.ADDED, "": Kind.OUTPUT}
    for sign, x in lines:
        reply.add(kinds[sign], x)


@_shell("record", "record FILE.toml [--title T] [--ref URL] | record stop",
        "save the commands that led here as a scenario, kept up to date until `record stop`",
        "record race.toml", complete="tomls")
def _record(core: Core, words: list[str], reply: Reply) -> None:
    tl = core.tl
    if not words:
        if core.recording:
            reply.add(Kind.OUTPUT, f"recording to {core.recording['path']} ({len(tl.lines)} "
                                   "steps); `record stop` ends it")
        else:
            core._usage(reply, "record", "record needs a file")
        return
    if words == ["stop"]:
        if not core.recording:
            reply.status = Status.ERROR
            reply.add(Kind.ERROR, "error: not recording")
            return
        path = core.recording["path"]
        core._rerecord(reply)
        core.recording = None
        reply.add(Kind.OUTPUT, f"stopped recording; {path} has {len(tl.lines)} steps")
        return
    path, title, refs = words[0], "", []
    rest = words[1:]
    while rest:
        flag = rest.pop(0)
        if flag in ("--title", "--ref") and rest:
            if flag == "--title":
                title = rest.pop(0)
            else:
                refs.append(rest.pop(0))
        else:
            core._usage(reply, "record", f"unknown word '{flag}'")
            return
    if not path.endswith(".toml"):
        core._usage(reply, "record", f"'{path}': a scenario file ends in .toml")
        return
    path = os.path.expanduser(path)
    if not os.path.isdir(os.path.dirname(path) or "."):
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, f"record: no directory {os.path.dirname(path)} for {path}")
        return
    core.recording = {"path": path, "title": title, "refs": refs}
    if not tl.lines:
        reply.add(Kind.OUTPUT, f"recording to {path}: written once a command changes the machine")
        return
    if not core._rerecord(reply):
        reply.status = Status.ERROR
        return
    outcome = outcomes.outcome(tl.session.k).outcome
    reply.add(Kind.OUTPUT, f"recorded {len(tl.lines)} steps to {path} (kernel {tl.kernel_spec}, "
                           f"expect outcome = \"{outcome}\"); `daxsh run {path}` replays it")


@_shell("replay", "replay [FILE.toml [KERNEL]] [--next]",
        "run a scenario's steps on a fresh machine (a new branch; the others stay), stopping at "
        "the first that blocks or fails; `replay` alone goes on, `--next` waits for `next`",
        "replay race.toml", complete="tomls")
def _replay(core: Core, args: list[str], reply: Reply) -> None:
    one_by_one = "--next" in args
    args = [a for a in args if a != "--next"]
    if not args:
        if not core.queue:
            core._usage(reply, "replay", "no scenario steps are left: replay needs a scenario file")
            return
        reply.add(Kind.OUTPUT, f"going on with {core.queue_path}: {len(core.queue)} step(s) left")
    else:
        path = os.path.expanduser(args[0])
        try:
            sc = load(path)
        except ScenarioError as e:
            reply.status = Status.ERROR
            reply.add(Kind.ERROR, f"replay: {e}")
            return
        kernel = " ".join(args[1:]) if len(args) > 1 else sc.kernels()[0]
        try:
            name = core.tl.reset(kernel, sc.pmem, sc.seed)
        except (ConfigError, ValueError) as e:
            reply.status = Status.ERROR
            reply.add(Kind.ERROR, f"replay: {error_text(e)}")
            return
        reply.machine_replaced = True
        core.event("machine")
        if sc.threads:
            reply.add(Kind.WARNING, f"{args[0]}: its [threads] are not replayed at the prompt; "
                                    f"`daxsh run {args[0]}` runs them")
        core.queue = [st.line for st in sc.setup + sc.steps]
        core.queue_total = len(core.queue)
        core.queue_path = args[0]
        kept = [b for b in core.tl.branches if b != name]
        reply.add(Kind.OUTPUT, f"replaying {args[0]} ({sc.title or 'untitled'}) on a fresh machine, "
                               f"branch {name}: kernel {core.tl.kernel_spec}, {core.queue_total} "
                               "steps" + (" (`next` runs each)" if one_by_one else ""))
        if kept:
            reply.add(Kind.HINT, f"(the branches before it stay: {', '.join(kept)}; `goto "
                                 f"{kept[0]}` returns)")
    if one_by_one:
        return
    core.replay_run(reply)


@_shell("next", "next", "run the next step of the scenario `replay FILE --next` loaded", "next")
def _next(core: Core, args: list[str], reply: Reply) -> None:
    if not core.queue:
        core._usage(reply, "next", "no scenario steps are queued (`replay FILE.toml --next`)")
        return
    n = core.queue_total - len(core.queue) + 1
    core.replay_step(reply)
    reply.add(Kind.HINT, f"(step {n} of {core.queue_total}"
                         + (f"; {len(core.queue)} left)" if core.queue else "; the last)"))
    if not core.queue:
        core.queue_path = ""


@_shell("explore", "explore [--bad OUTCOME] [--dmesg TEXT] [--query CMD --contains TEXT | "
        "--lacks TEXT] [--thread 'LINE; LINE' ...]",
        "every interleaving of the live jobs (and --thread lines) from here; a bad one (all the "
        "conditions hold) opens as a new branch",
        "explore --bad corruption --thread 'pin 0x7f0000000000'")
def _explore(core: Core, words: list[str], reply: Reply) -> None:
    """The conditions are those of a scenario's ``[expect.bad]`` table (daxsh-scenario(5));
    ``--bad`` is its outcome."""
    conds: dict[str, str] = {}
    threads: dict[str, list[str]] = {}
    for i in range(0, len(words), 2):
        w = words[i]
        if w not in FLAGS and w != "--thread":
            core._usage(reply, "explore", f"unexpected '{w}' (options: {', '.join(FLAGS)}, --thread)")
            return
        if i + 1 == len(words) or words[i + 1] in FLAGS or words[i + 1] == "--thread":
            core._usage(reply, "explore", f"{w} needs a value")
            return
        if w == "--thread":
            threads[f"t{len(threads) + 1}"] = [x.strip() for x in words[i + 1].split(";")
                                               if x.strip()]
        else:
            conds[FLAGS[w]] = words[i + 1]
    try:
        bad = Bad.parse(conds, flags=True) if conds else None
    except ValueError as e:
        core._usage(reply, "explore", str(e))
        return
    live = [j for j in core.tl.session.jobs.values() if not j.task.done]
    if not threads and not live:
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, "explore: nothing to interleave: `start` or `&` some commands "
                              "first, or give --thread 'LINE; LINE'")
        return
    try:  # imported here: a build may leave the explorer out (and it is not needed to start)
        from ..explore.live import explore_session
        from ..explore.report import verdict_line
    except ImportError as e:
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, f"explore: the explorer is not part of this build ({e})")
        return
    try:
        found = explore_session(core.tl.session, threads, bad)
    except KeyboardInterrupt:
        reply.status = Status.INTERRUPTED
        reply.add(Kind.WARNING, "^C: exploration interrupted; the session is as it was")
        return
    except Exception as e:  # an explorer problem (e.g. a thread line that does not parse)
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, f"explore: {e}")
        return
    res = found.result
    reply.add(Kind.OUTPUT, f"{verdict_line(res)}, {res.traces} traces, {res.executions} executions"
                           + (f", bad: {bad.describe()}" if bad else ""))
    if not found.lines:
        return
    name = core.tl.fork_here()
    reply.add(Kind.WARNING, f"a bad interleaving, on the new branch {name} (`goto` back; "
                            "`record` it):")
    for line in found.lines:
        core._lang(line, reply, echo=True)
        if reply.status in (Status.INTERRUPTED, Status.BUG):
            break
    reply.status = Status.DONE


@_shell("bisect", "bisect [--kernel-from PRESET] [--kernel-to PRESET]",
        "this session's commands on every kernel preset, and the behaviours (commits) that "
        "change the outcome", "bisect --kernel-from v4.16 --kernel-to v4.19")
def _bisect(core: Core, words: list[str], reply: Reply) -> None:
    try:
        lines = bisect_session(core.tl.lines, shlex.join(words), colour=False)
    except ValueError as e:
        core._usage(reply, "bisect", str(e))
        return
    for changes, x in lines:
        reply.add(Kind.CURRENT if changes else Kind.OUTPUT, x)


@_shell("trace", "trace save FILE.json|FILE.txt", "write the trace as Chrome/Perfetto trace "
        "events (.json) or trace-cmd report text (.txt); `trace [K]` (the language's) shows the "
        "last K events", "trace save race.json")
def _trace_save(core: Core, words: list[str], reply: Reply) -> None:
    """Only ``trace save FILE``: every other ``trace`` line is the language's (Core.run)."""
    try:
        reply.add(Kind.OUTPUT, trace_save(core.tl.session, shlex.join(words)))
    except ValueError as e:
        core._usage(reply, "trace", str(e))


@_shell("tui", "tui", "open the live screen on this session", "tui")
def _tui(core: Core, args: list[str], reply: Reply) -> None:
    if core.screen is None:
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, "tui: the live screen is not available here (this is the screen, or "
                              "the build has no Textual)")
        return
    reply.screen = True


@_shell("clear", "clear", "clear the transcript (the screen) or the terminal (the shell)", "clear")
def _clear(core: Core, args: list[str], reply: Reply) -> None:
    reply.clear = True


@_shell("quit", "quit", "leave (Ctrl-D too); the journal stays for `daxsh --resume`", "quit")
def _quit(core: Core, args: list[str], reply: Reply) -> None:
    if core.recording:
        core._rerecord(reply)
        reply.add(Kind.OUTPUT, f"recorded to {core.recording['path']}")
    if core.journal_path and not core.tl.journal_failed:
        reply.add(Kind.OUTPUT, f"journal: {core.journal_path} (`daxsh --resume` reopens this "
                               "session)")
    reply.quit = True
