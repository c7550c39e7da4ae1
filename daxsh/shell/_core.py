"""The interactive core: one line in, a :class:`Reply` out, for every front-end.

:class:`Core` owns the :class:`Timeline` (branches, back/goto, the journal), the shell-only
commands (:data:`SHELL_COMMANDS`, defined in :mod:`._commands`: ``history``, ``back``,
``goto``, ``branches``, ``diff``, ``record``, ``replay``, ``next``, ``explore``, ``tui``,
``clear``, ``help``, ``bisect``, ``trace save``, ``quit``), the one replay controller, recording
and completion.  A pasted line of a real shell reproducer (``mkfs.xfs``, ``xfs_io -c ...``) is
translated (:mod:`daxsh.lang.shell_import`), each daxsh line it becomes shown once as
``(shell) -> LINE``.  Every other line goes to the language through :meth:`Timeline.execute`.  The REPL (cmd2) and the
screen (Textual) only read lines and render replies; nothing here imports a UI library.
"""

from __future__ import annotations

import shlex
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..kernel import outcomes
from ..lang import REGISTRY
from ..lang.lexer import LexError, Line, split
from ..lang.registry import unknown_command
from ..lang.session import DONE, ERROR, Result
from ..lang.shell_import import Translator, is_daxsh, looks_like_shell
from ._complete import ShellCompleter, complete_line, complete_toml, current_word
from ._reply import Kind, Reply, Status, from_result
from ._timeline import Timeline

# -- the shell's own commands: their registry ------------------------------------------------
# Each is defined in :mod:`._commands` with :func:`shell_command` (that module imports this
# one, never the other way; the package imports both); :class:`Core` dispatches to them, the
# help and completion read them.  Scenario files cannot use them.

Handler = Callable[["Core", list[str], Reply], None]


@dataclass(frozen=True)
class ShellCommand:
    """A command of the interactive front-ends (scenario files cannot use it)."""

    name: str
    usage: str
    summary: str
    example: str
    run: Handler
    complete: str = ""  # "points", "tomls", "names" or "" (nothing)


SHELL_COMMANDS: dict[str, ShellCommand] = {}


def shell_command(name: str, usage: str, summary: str, example: str, complete: str = ""
                  ) -> Callable[[Handler], Handler]:
    """Define a shell command: ``fn(core, words, reply)`` fills the reply."""
    def deco(fn: Handler) -> Handler:
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
        self.translator: Translator | None = None  # pasted shell lines: their jobs and mappings
        self._paste_reply: Reply | None = None  # the reply a pasted line's translation fills

    def close(self) -> None:
        """The front-end is done with this core: the journal is closed and the machine
        retired (its tasks still in the kernel end now, not when the interpreter exits)."""
        if self.tl.journal is not None:
            self.tl.journal.close()
        self.tl.close()

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
        name, *rest = text.split(None, 2)
        cmd = SHELL_COMMANDS.get(name)
        # `trace save FILE` is the shell's; `trace [K]` the language's
        if (cmd is not None and name not in REGISTRY) or name == "help" or \
                (name == "trace" and rest[:1] == ["save"]):
            try:
                words = shlex.split(text, comments=True)[1:]
            except ValueError as e:
                self._usage(reply, name, str(e))
                return reply
            self._guard(reply, lambda: SHELL_COMMANDS[name].run(self, words, reply))
        elif self._pasted(text):
            self._guard(reply, lambda: self._paste(text, reply))
        else:
            self._lang(text, reply)
        self._journal_note(reply)
        return reply

    # -- pasted lines of a real shell reproducer ---------------------------------------------
    def _pasted(self, text: str) -> bool:
        """A line of a shell reproducer (``mkfs.xfs``, ``xfs_io -c ...``, ``kill %1`` of a job
        such a line started) that is not also a well-formed line of the language."""
        tr = self.translator
        try:
            if tr is not None and tr.claims(text, self.tl.session):
                return True
            return looks_like_shell(text) and not is_daxsh(self.tl.session, text)
        except Exception:  # a daxsh bug in parsing: the language's path reports it, guarded
            return False

    def _paste(self, text: str, reply: Reply) -> None:
        """Translate the shell line, showing each daxsh line it becomes once, and run them."""
        if self.translator is None:
            self.translator = Translator(self._run_translated, lambda: self.tl.session)
        self._paste_reply = reply
        try:
            ln = self.translator.translate(text)
        finally:
            self._paste_reply = None
        if not ln.ok:
            reply.status = Status.ERROR
            reply.add(Kind.ERROR, f"(shell) {text}: not translated: {ln.why}")
            return
        if reply.status == Status.DONE:  # the last line's; an earlier one that did not finish wins
            reply.status = next((Status(r.status) for r in reversed(ln.results) if r.status != DONE),
                                Status.DONE)

    def _run_translated(self, line: str) -> Result:
        reply = self._paste_reply
        assert reply is not None
        reply.add(Kind.TRANSLATED, f"(shell) -> {line}")
        reply.result = None
        self._lang(line, reply)
        if reply.result is None or reply.status in (Status.INTERRUPTED, Status.BUG):
            return Result(line, status=ERROR, error=f"`{line}` did not finish ({reply.status})")
        return reply.result

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
        lexed = _lexed(line)
        if lexed is not None and lexed.words and lexed.words[0].text not in REGISTRY:
            word = lexed.words[0]
            reply.status = Status.ERROR
            reply.add(Kind.CARET, f"  {lexed.text}\n  {' ' * word.start}{'^' * (word.end - word.start)}")
            reply.add(Kind.ERROR, f"{word.text}: {unknown_command(word.text, tuple(SHELL_COMMANDS))}")
            return

        def go() -> None:
            # the session runs the words lexed here (a line is lexed once); a line that does
            # not lex goes as text, for the session's own error and caret
            res = self.tl.execute(lexed if lexed is not None else line)
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
        # `trace` is the language's too: its words complete as the language's
        return {n: kinds[c.complete] for n, c in SHELL_COMMANDS.items() if n != "trace"}

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
                               f"{outcomes.outcome(self.tl.session.k).outcome}")
        self.queue_path = ""


def _lexed(line: str) -> Line | None:
    """The words of the (stripped) line, or None when it does not lex."""
    try:
        return split(line.strip())
    except LexError:
        return None


__all__ = ["SHELL_COMMANDS", "Core", "ShellCommand", "current_word", "shell_command"]
