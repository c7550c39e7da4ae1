"""The interactive core: one line in, a :class:`Reply` out, for every front-end.

:class:`Core` owns the :class:`Timeline` (branches, back/goto, the journal), the shell-only
commands (:data:`SHELL_COMMANDS`: ``history``, ``back``, ``goto``, ``branches``, ``diff``,
``record``, ``replay``, ``next``, ``explore``, ``tui``, ``clear``, ``help``, ``quit``), the one
replay controller, recording and completion.  Every other line goes to the language through
:meth:`Timeline.execute`.  The REPL (cmd2) and the screen (Textual) only read lines and render
replies; nothing here imports a UI library.
"""

from __future__ import annotations

import os
import shlex
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..kernel import checks
from ..kernel.config import ConfigError
from ..lang import REGISTRY, render
from ..lang.lexer import LexError, split
from ..lang.registry import GROUPS, unknown_command
from ._complete import ShellCompleter, complete_line, complete_toml, current_word
from ._reply import Kind, Reply, Status, from_result
from ._timeline import Timeline, TimelineError


@dataclass(frozen=True)
class ShellCommand:
    """A command of the interactive front-ends (scenario files cannot use it)."""

    name: str
    usage: str
    summary: str
    example: str
    run: Callable[[Core, list[str], Reply], None]
    complete: str = ""  # "points", "tomls", "names" or "" (nothing)


SHELL_COMMANDS: dict[str, ShellCommand] = {}


def _shell(name: str, usage: str, summary: str, example: str, complete: str = ""
           ) -> Callable[[Callable[[Core, list[str], Reply], None]],
                         Callable[[Core, list[str], Reply], None]]:
    def deco(fn: Callable[[Core, list[str], Reply], None]) -> Callable[[Core, list[str], Reply], None]:
        SHELL_COMMANDS[name] = ShellCommand(name, usage, summary, example, fn, complete)
        return fn
    return deco


class Core:
    """One interactive session: its timeline, recording, replay queue and screen hook."""

    def __init__(self, timeline: Timeline, *, journal_path: str | None = None,
                 screen: Callable[[Core], None] | None = None) -> None:
        self.tl = timeline
        self.journal_path = journal_path or (str(timeline.journal.path)
                                             if timeline.journal is not None else None)
        self.screen = screen  # opens the live screen on this core (set by the entry point)
        # told as things happen inside one line: ("machine", "") when another machine replaces
        # the one shown (back, goto, replay, a recovery), ("step", LINE) when a line run on the
        # person's behalf (replay, explore) has run; the screen files each step's log under it
        self.on_event: Callable[[str, str], None] | None = None
        self.recording: dict[str, Any] | None = None
        self.queue: list[str] = []  # scenario steps left by `replay`
        self.queue_total = 0
        self.queue_path = ""
        self._journal_warned = False
        self._machine_events = 0

    # -- where we are ----------------------------------------------------------------------------
    @property
    def session(self) -> Any:
        return self.tl.session

    def prompt(self) -> str:
        """``PRESET PROC:CWD [N blocked] BRANCH@POS/LEN> `` (the shell's prompt)."""
        s = self.tl.session
        preset = s.kernel_spec.split()[0] if s.kernel_spec else "?"
        live = [j for j in s.jobs.values() if not j.task.done]
        stopped = sum(1 for j in live if j.task.stopped)
        blocked = len(live) - stopped
        tags = []
        if blocked:
            tags.append(f"{blocked} blocked")
        if stopped:
            tags.append(f"{stopped} stopped")
        if s.k.crashed:
            tags.append("crashed")
        jobs = f" [{', '.join(tags)}]" if tags else ""
        tl = self.tl
        where = ""
        if tl.branch != "main" or not tl.at_tip:
            where = f" {tl.branch}@{tl.pos}" + ("" if tl.at_tip else f"/{len(tl.current.lines)}")
        return f"{preset} {s.proc_name}:{s.cwd}{jobs}{where}> "

    # -- one line ------------------------------------------------------------------------------
    def run(self, line: str) -> Reply:
        """Run one line as typed (a shell command or a line of the language)."""
        reply = Reply(line)
        text = line.strip()
        if not text or text.startswith("#"):
            return reply
        name = text.split(None, 1)[0]
        cmd = SHELL_COMMANDS.get(name)
        if (cmd is not None and name not in REGISTRY) or name == "help":
            try:
                words = shlex.split(text, comments=True)[1:]
            except ValueError as e:
                self._usage(reply, name, str(e))
                return reply
            self._guard(reply, lambda: SHELL_COMMANDS[name].run(self, words, reply))
        else:
            self._lang(text, reply)
        self._journal_note(reply)
        return reply

    def _guard(self, reply: Reply, fn: Callable[[], None]) -> None:
        """Run ``fn``; ^C or a daxsh bug rebuilds the state before the line."""
        try:
            fn()
        except KeyboardInterrupt:
            self.tl.recover()
            reply.status = Status.INTERRUPTED
            reply.machine_replaced = True
            self.event("machine")
            reply.add(Kind.WARNING, f"^C: interrupted; the machine is as it was before "
                                    f"`{reply.line.strip()}`")
        except Exception as e:  # a daxsh bug, never a simulated kernel failure
            reply.traceback = traceback.format_exc()
            self.tl.recover()
            reply.status = Status.BUG
            reply.machine_replaced = True
            self.event("machine")
            where = f" with the journal {self.journal_path}" if self.journal_path else ""
            reply.add(Kind.BUG, f"daxsh bug: {type(e).__name__}: {e} (this is not the simulated "
                                f"kernel failing; please report it{where}); the machine is as it "
                                "was before the command")

    def _lang(self, line: str, reply: Reply, echo: bool = False) -> None:
        if echo:
            reply.add(Kind.ECHO, line, self.prompt())
        if _unknown(line):
            word = split(line).words[0]
            reply.status = Status.ERROR
            reply.add(Kind.CARET, f"  {line}\n  {' ' * word.start}{'^' * (word.end - word.start)}")
            reply.add(Kind.ERROR, f"{word.text}: {unknown_command(word.text, tuple(SHELL_COMMANDS))}")
            return

        def go() -> None:
            res = self.tl.execute(line)
            reply.result = res
            reply.status = Status(res.status)
            from_result(res, reply)
            self._rerecord(reply)
        self._guard(reply, go)
        if echo:
            self.event("step", line)

    def event(self, what: str, arg: str = "") -> None:
        if what == "machine":
            self._machine_events += 1
        if self.on_event is not None:
            self.on_event(what, arg)

    def _journal_note(self, reply: Reply) -> None:
        why = self.tl.journal_failed
        if why and not self._journal_warned:
            self._journal_warned = True
            reply.add(Kind.WARNING, f"journal: cannot write {self.journal_path} ({why}): the "
                                    "session is no longer journaled and `daxsh --resume` will "
                                    "not reach this point; `record FILE.toml` saves it elsewhere")

    def _usage(self, reply: Reply, name: str, why: str) -> None:
        c = SHELL_COMMANDS[name]
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, f"{name}: {why} (usage: {c.usage}; example: {c.example})")

    # -- completion ------------------------------------------------------------------------------
    def complete(self, text: str) -> list[str]:
        """Candidates for the word under the cursor; ``text`` is the line up to the cursor."""
        try:
            return complete_line(self.tl.session, text, self._completers())
        except Exception:
            return []

    def _completers(self) -> dict[str, ShellCompleter | None]:
        def points(s: Any, args: list[str], prefix: str) -> list[str]:
            out = [f"{b}:" for b in self.tl.branches if f"{b}:".startswith(prefix)]
            return out + [str(i) for i in range(len(self.tl.current.lines) + 1)
                          if str(i).startswith(prefix) and prefix]

        def names(s: Any, args: list[str], prefix: str) -> list[str]:
            return [n for n in sorted(set(REGISTRY) | set(SHELL_COMMANDS)) if n.startswith(prefix)]

        kinds: dict[str, ShellCompleter | None] = {"points": points, "tomls": complete_toml,
                                                   "names": names, "": None}
        return {n: kinds[c.complete] for n, c in SHELL_COMMANDS.items()}

    # -- recording ---------------------------------------------------------------------------------
    def _rerecord(self, reply: Reply | None = None) -> bool:
        r = self.recording
        if not r or not self.tl.lines:
            return False
        try:
            self.tl.write_scenario(r["path"], r["title"], r["refs"])
        except OSError as e:
            self.recording = None
            if reply is not None:
                reply.add(Kind.WARNING, f"record: cannot write {r['path']}: "
                                        f"{e.strerror or e}; recording stopped")
            return False
        return True

    def where(self, reply: Reply) -> None:
        """After a jump: where we are, the live jobs, how to get back."""
        tl = self.tl
        here = tl.lines[-1] if tl.lines else "(fresh machine)"
        reply.add(Kind.OUTPUT, f"at {tl.branch}:{tl.pos} of {len(tl.current.lines)}: {here}")
        for j in tl.session.jobs.values():
            if not j.task.done:
                reply.add(Kind.BLOCKED, tl.session.describe_job(j))
        if not tl.at_tip:
            reply.add(Kind.HINT, "(a new command here starts a new branch; `goto "
                                 f"{tl.branch}:{len(tl.current.lines)}` returns)")

    # -- the replay controller -------------------------------------------------------------------
    def replay_step(self, reply: Reply) -> Status:
        """Run the next queued scenario step (echoed after the prompt of its point)."""
        self._lang(self.queue.pop(0), reply, echo=True)
        return reply.status

    def replay_run(self, reply: Reply) -> None:
        """Run the queued steps until one blocks, fails or is skipped."""
        while self.queue:
            st = self.replay_step(reply)
            if st != Status.DONE:
                left = len(self.queue)
                more = f"; `replay` runs the {left} step(s) left, `next` one of them" if left \
                    else ""
                reply.add(Kind.HINT, f"replay stopped: that step {st.value}{more}")
                if not left:
                    self.queue_path = ""
                return
        reply.add(Kind.OUTPUT, f"replayed {self.queue_path}: outcome "
                               f"{checks.outcome(self.tl.session.k).outcome}")
        self.queue_path = ""


def _unknown(line: str) -> bool:
    """The line's first word is no command of the language (so the shell's hint applies)."""
    try:
        words = split(line).words
    except LexError:
        return False
    return bool(words) and words[0].text not in REGISTRY


# -- the shell's own commands ---------------------------------------------------------------------


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
            for x in render.command_help(REGISTRY[name]):
                out += [(Kind.HEADING if x.startswith("usage:") else Kind.OUTPUT, y)
                        for y in _wrap(x, width)]
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
    for x in core.tl.history():
        reply.add(Kind.CURRENT if x.startswith(">") else Kind.OUTPUT, x)


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
    for x in core.tl.branch_list():
        reply.add(Kind.CURRENT if x.startswith("*") else Kind.OUTPUT, x)


@_shell("diff", "diff N [M]", "what changed between two points (pages, ptes, inodes, waiters, "
        "jobs); M defaults to here", "diff 5 7", complete="points")
def _diff(core: Core, args: list[str], reply: Reply) -> None:
    if not 1 <= len(args) <= 2:
        core._usage(reply, "diff", "diff takes one or two points")
        return
    here = f"{core.tl.branch}:{core.tl.pos}"
    try:
        lines = core.tl.diff(args[0], args[1] if len(args) > 1 else here)
    except TimelineError as e:
        reply.status = Status.ERROR
        reply.add(Kind.ERROR, f"error: {e}")
        return
    for x in lines:
        reply.add(Kind.REMOVED if x.startswith("  -") else Kind.ADDED if x.startswith("  +")
                  else Kind.OUTPUT, x)


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
    outcome = checks.outcome(tl.session.k).outcome
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
        from ..scenario.load import ScenarioError, load
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
            reply.add(Kind.ERROR, f"replay: {e}")
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
    from ..scenario.bad import FLAGS, Bad
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
    try:
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


__all__ = ["SHELL_COMMANDS", "Core", "ShellCommand", "current_word", "help_lines"]
