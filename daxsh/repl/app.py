"""The interactive shell: cmd2 4.x over the daxsh language registry.

No daxsh command is defined here: every line that is not one of the shell's own commands
(``history``, ``back``, ``goto``, ``branches``, ``diff``, ``record``, ``replay``, ``tui``,
``help``, ``quit``) goes to :meth:`Timeline.execute` and so to ``Session.execute``.  cmd2's own
parser is bypassed (the daxsh lexer splits words, handles quotes, ``#`` and ``&``), and every
cmd2 built-in that reaches outside the model is removed per instance.
"""

from __future__ import annotations

import glob
import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cmd2
from cmd2.completion import CompletionItem, Completions
from cmd2.exceptions import EmptyStatement
from cmd2.parsing import Statement

from ..kernel import checks
from ..lang import BLOCKED, ERROR, REGISTRY, SKIPPED, Result, render
from ..scenario.timeline import SHELL_COMMANDS, Timeline, TimelineError
from .complete import complete_line, current_word

# cmd2 built-ins removed from every instance (never from the class).
UNSAFE_BUILTINS = ("shell", "edit", "py", "ipy", "run_pyscript", "run_script",
                   "_relative_run_script", "macro", "alias", "set", "shortcuts")

SHELL_HELP = {name: (usage, summary) for name, (usage, summary, _ex) in SHELL_COMMANDS.items()}
EXAMPLES = {name: ex for name, (_u, _s, ex) in SHELL_COMMANDS.items()}


class DaxShell(cmd2.Cmd):
    """The daxsh prompt."""

    DEFAULT_CATEGORY = "shell"

    def __init__(self, timeline: Timeline, *, stdin: Any = None, stdout: Any = None,
                 history_file: str | None = None, journal_path: str | None = None) -> None:
        super().__init__(
            stdin=stdin, stdout=stdout, allow_cli_args=False, allow_redirection=False,
            allow_clipboard=False, auto_suggest=False, complete_in_thread=False,
            include_py=False, include_ipy=False, persistent_history_file="",
            shortcuts={}, terminators=[], startup_script="",
        )
        for name in UNSAFE_BUILTINS:
            setattr(self, f"do_{name}", None)
        for name in ("editor",):
            if name in self.settables:
                self.remove_settable(name)
        self.hidden_commands = ["_eof"]
        if os.environ.get("NO_COLOR"):  # https://no-color.org: no colour, whatever the terminal
            self.allow_style = cmd2.rich_utils.AllowStyle.NEVER
        self.tl = timeline
        self.journal_path = journal_path
        self.translator: Any = None  # pasted shell lines: jobs and mappings they set up
        self.recording: dict[str, Any] | None = None
        self.pending: tuple[str, list[str]] | None = None
        self.intro = ""
        if history_file:
            self._use_file_history(history_file)
        self.prompt = self.make_prompt()
        self.register_cmdfinalization_hook(self._after_command)

    # -- history (prompt_toolkit FileHistory: appended per line, Ctrl-R searches it) ----------
    def _use_file_history(self, path: str) -> None:
        from prompt_toolkit.history import FileHistory
        h = FileHistory(path)
        self.main_session.history = h
        self.main_session.default_buffer.history = h

    # -- the prompt ------------------------------------------------------------------------------
    def make_prompt(self) -> str:
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

    def pre_prompt(self) -> None:
        self.prompt = self.make_prompt()

    def _after_command(self, data: cmd2.plugin.CommandFinalizationData) -> cmd2.plugin.CommandFinalizationData:
        self.prompt = self.make_prompt()
        return data

    # -- dispatch: the daxsh lexer, not cmd2's parser ------------------------------------------
    def _input_line_to_statement(self, line: str) -> Statement:
        text = line.rstrip("\r\n")
        stripped = text.strip()
        if not stripped:
            raise EmptyStatement
        parts = stripped.split(None, 1)
        return Statement(parts[1] if len(parts) > 1 else "", raw=text, command=parts[0])

    def default(self, statement: Statement) -> bool | None:
        from ..lang.shell_import import is_daxsh, looks_like_shell
        raw = statement.raw
        tr = self.translator
        if (tr is not None and tr.claims(raw, self.tl.session)) or \
                (looks_like_shell(raw) and not is_daxsh(self.tl.session, raw)):
            self.paste_shell_line(raw)
        else:
            self.run_line(raw)
        return None

    def paste_shell_line(self, raw: str) -> None:
        """A line of a real shell reproducer: show its translation once, then run it."""
        from ..lang.shell_import import Translator
        if self.translator is None:
            self.translator = Translator(self._run_shown, lambda: self.tl.session)
        ln = self.translator.translate(raw)
        if not ln.ok:
            self.perror(f"(shell) {raw.strip()}: not translated: {ln.why}", style="red")

    def _run_shown(self, line: str) -> Result:
        self.poutput(f"(shell) -> {line}", style="cyan")
        res = self.run_line(line)
        return res if res is not None else Result(line, status=ERROR, error="interrupted")

    def do_bisect(self, statement: Statement) -> None:
        """bisect [--kernel-from A] [--kernel-to B]: this session on every preset."""
        from ..scenario.prompt_tools import bisect_session
        try:
            lines = bisect_session(self.tl.lines, statement.args, colour=False)
        except ValueError as e:
            self._usage("bisect", str(e))
            return
        for x in lines:
            self.poutput(x, style="yellow" if "<- changes" in x else None)

    def do_trace(self, statement: Statement) -> None:
        """trace [K] | trace save FILE: the registry's trace, or the trace written to a file."""
        words = statement.args.split()
        if not words or words[0] != "save":
            self.run_line(statement.raw)
            return
        from ..scenario.prompt_tools import trace_save
        try:
            self.poutput(trace_save(self.tl.session, statement.args))
        except ValueError as e:
            self._usage("trace", str(e))

    def run_line(self, line: str) -> Result | None:
        """Run one daxsh line and print what happened.  Ctrl-C restores the state before it."""
        try:
            res = self.tl.execute(line)
        except KeyboardInterrupt:
            with self.sigint_protection:
                self.tl.recover()
            self.perror(f"^C: interrupted; the machine is as it was before `{line.strip()}`",
                        style="yellow")
            return None
        except Exception as e:  # a daxsh bug, never a simulated kernel failure
            with self.sigint_protection:
                self.tl.recover()
            self.perror(f"daxsh bug: {type(e).__name__}: {e} (please report it with the journal "
                        f"{self.journal_path}); the machine is as it was before the command",
                        style="bold red")
            return None
        self.show_result(res)
        self._rerecord()
        return res

    def show_result(self, res: Result) -> None:
        for x in res.output:
            style = None
            if res.status == BLOCKED and x.startswith("[") and " blocked: " in x:
                style = "yellow"
            self.poutput(x, style=style)
        if res.error:
            if res.caret:
                self.perror(res.caret, style=None)
            self.perror(res.error, style="red" if res.status == ERROR else "yellow")
        for n in res.notices:
            style = None
            if "+ Done" in n:
                style = "green"
            elif n.startswith("daxsh: ") or "+ Exit" in n:
                style = "bold red"
            elif " blocked: " in n or " stopped" in n:
                style = "yellow"
            self.poutput(n, style=style)

    # -- completion ------------------------------------------------------------------------------
    def complete(self, text: str, line: str, begidx: int, endidx: int,
                 custom_settings: Any = None) -> Completions:
        if custom_settings is not None:  # a command's own prompt (not used by daxsh)
            return super().complete(text, line, begidx, endidx, custom_settings)
        try:
            cands = complete_line(self.tl.session, line[:endidx], self.shell_completers())
        except Exception:
            return Completions()
        _, word = current_word(line[:endidx])
        cut = len(word) - len(text)  # cmd2 may break words at quotes; keep its view
        items = [CompletionItem(c[cut:] if cut > 0 else c) for c in cands]
        final = not (len(cands) == 1 and (cands[0].endswith("/") or cands[0].endswith(":")))
        return Completions(items=items, allow_finalization=final)

    def shell_completers(self) -> dict[str, Callable[[Any, list[str], str], list[str]] | None]:
        def points(s: Any, args: list[str], prefix: str) -> list[str]:
            out = [f"{b}:" for b in self.tl.branches if f"{b}:".startswith(prefix)]
            return out + [str(i) for i in range(len(self.tl.current.lines) + 1)
                          if str(i).startswith(prefix) and prefix]

        def names(s: Any, args: list[str], prefix: str) -> list[str]:
            return [n for n in sorted(set(REGISTRY) | set(SHELL_HELP)) if n.startswith(prefix)]

        def tomls(s: Any, args: list[str], prefix: str) -> list[str]:
            extra = ["stop"] if not args and "stop".startswith(prefix) else []
            found = [p + ("/" if os.path.isdir(p) else "") for p in glob.glob(prefix + "*")]
            return extra + [p for p in found if p.endswith((".toml", "/"))]

        return {"history": None, "back": None, "goto": points, "branches": None, "diff": points,
                "record": tomls, "replay": tomls, "tui": None, "explore": None, "quit": None,
                "help": names, "bisect": None}

    # -- help --------------------------------------------------------------------------------------
    def do_help(self, statement: Statement) -> None:  # type: ignore[override]
        """Commands by group, or one command in detail."""
        name = statement.args.strip() if isinstance(statement, Statement) else str(statement)
        if name:
            if name in REGISTRY:
                lines = render.command_help(REGISTRY[name])
            elif name in SHELL_HELP:
                usage, summary = SHELL_HELP[name]
                lines = [f"usage: {usage}", f"  {summary}", f"example: {EXAMPLES[name]}",
                         "(a command of the interactive shell; scenario files cannot use it)"]
            else:
                self.run_line(f"help {name}")  # the registry's error, with its suggestion
                return
            for x in lines:
                self.poutput(x, style="bold" if x.startswith("usage:") else None)
            return
        for x in render.help_index():
            self.poutput(x, style="bold" if x.endswith(":") and not x.startswith(" ") else None)
        self.poutput("shell (this prompt only):", style="bold")
        for usage, summary in SHELL_HELP.values():
            self.poutput(f"  {usage:<46} {summary}")

    # -- time travel -----------------------------------------------------------------------------
    def do_history(self, statement: Statement) -> None:  # type: ignore[override]
        """The numbered state-changing commands of this branch."""
        for x in self.tl.history():
            self.poutput(x, style="bold" if x.startswith(">") else None)

    def do_back(self, statement: Statement) -> None:
        """back [K]: go back K state-changing commands."""
        arg = statement.args.strip() or "1"
        if not arg.isdigit():
            self._usage("back", f"'{arg}' is not a count")
            return
        self._travel(lambda: self.tl.back(int(arg)))

    def do_goto(self, statement: Statement) -> None:
        """goto N | BRANCH:N | BRANCH."""
        arg = statement.args.strip()
        if not arg:
            self._usage("goto", "goto needs a point")
            return
        self._travel(lambda: self.tl.goto(arg))

    def _travel(self, move: Callable[[], None]) -> None:
        try:
            with self.sigint_protection:
                move()
        except TimelineError as e:
            self.perror(f"error: {e}", style="red")
            return
        tl = self.tl
        here = tl.lines[-1] if tl.lines else "(fresh machine)"
        self.poutput(f"at {tl.branch}:{tl.pos} of {len(tl.current.lines)}: {here}")
        for j in tl.session.jobs.values():
            if not j.task.done:
                self.poutput(tl.session.describe_job(j), style="yellow")
        if not tl.at_tip:
            self.poutput("(a new command here starts a new branch; `goto "
                         f"{tl.branch}:{len(tl.current.lines)}` returns)")
        self._rerecord()

    def do_branches(self, statement: Statement) -> None:
        """The branches of this session."""
        for x in self.tl.branch_list():
            self.poutput(x)

    def do_diff(self, statement: Statement) -> None:
        """diff N [M]."""
        args = statement.args.split()
        if not 1 <= len(args) <= 2:
            self._usage("diff", "diff takes one or two points")
            return
        here = f"{self.tl.branch}:{self.tl.pos}"
        try:
            lines = self.tl.diff(args[0], args[1] if len(args) > 1 else here)
        except TimelineError as e:
            self.perror(f"error: {e}", style="red")
            return
        for x in lines:
            style = "red" if x.startswith("  -") else "green" if x.startswith("  +") else None
            self.poutput(x, style=style)

    # -- explore from here ------------------------------------------------------------------------
    def do_explore(self, statement: Statement) -> None:
        """explore [--bad OUTCOME] [--dmesg T] [--query CMD --contains T | --lacks T]
        [--thread 'LINE; LINE' ...]: decide the race from here.  The conditions are those of
        a scenario's ``[expect.bad]`` table (daxsh-scenario(5)); ``--bad`` is its outcome."""
        import shlex

        from ..explore.live import explore_session
        from ..scenario.bad import FLAGS, Bad
        try:
            words = shlex.split(statement.args)
        except ValueError as e:
            self._usage("explore", str(e))
            return
        conds: dict[str, str] = {}
        threads: dict[str, list[str]] = {}
        for i in range(0, len(words), 2):
            w = words[i]
            if w not in FLAGS and w != "--thread":
                self._usage("explore", f"unexpected '{w}' (options: {', '.join(FLAGS)}, --thread)")
                return
            if i + 1 == len(words) or words[i + 1] in FLAGS or words[i + 1] == "--thread":
                self._usage("explore", f"{w} needs a value")
                return
            if w == "--thread":
                threads[f"t{len(threads) + 1}"] = [x.strip() for x in words[i + 1].split(";")
                                                   if x.strip()]
            else:
                conds[FLAGS[w]] = words[i + 1]
        try:
            bad = Bad.parse(conds, flags=True) if conds else None
        except ValueError as e:
            self._usage("explore", str(e))
            return
        live = [j for j in self.tl.session.jobs.values() if not j.task.done]
        if not threads and not live:
            self.perror("explore: nothing to interleave: `start` or `&` some commands first, or "
                        "give --thread 'LINE; LINE'", style="red")
            return
        try:
            found = explore_session(self.tl.session, threads, bad)
        except KeyboardInterrupt:
            self.perror("^C: exploration interrupted; the session is as it was", style="yellow")
            return
        except Exception as e:  # an explorer problem (e.g. a thread line that does not parse)
            self.perror(f"explore: {e}", style="red")
            return
        from ..explore.report import verdict_line
        res = found.result
        self.poutput(f"{verdict_line(res)}, {res.traces} traces, {res.executions} executions"
                     + (f", bad: {bad.describe()}" if bad else ""))
        if not found.lines:
            return
        name = self.tl.fork_here()
        self.poutput(f"a bad interleaving, on the new branch {name} (`goto` back; `record` it):",
                     style="yellow")
        for line in found.lines:
            self.poutput(f"{self.make_prompt()}{line}")
            if self.run_line(line) is None:
                break

    # -- record and replay -----------------------------------------------------------------------
    def do_record(self, statement: Statement) -> None:
        """record FILE.toml [--title T] [--ref URL] | record stop."""
        try:
            words = shlex.split(statement.args)
        except ValueError as e:
            self._usage("record", str(e))
            return
        if not words:
            if self.recording:
                self.poutput(f"recording to {self.recording['path']} "
                             f"({len(self.tl.lines)} steps); `record stop` ends it")
            else:
                self._usage("record", "record needs a file")
            return
        if words == ["stop"]:
            if not self.recording:
                self.perror("error: not recording", style="red")
                return
            path = self.recording["path"]
            self._rerecord()
            self.recording = None
            self.poutput(f"stopped recording; {path} has {len(self.tl.lines)} steps")
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
                self._usage("record", f"unknown word '{flag}'")
                return
        if not path.endswith(".toml"):
            self._usage("record", f"'{path}': a scenario file ends in .toml")
            return
        self.recording = {"path": path, "title": title, "refs": refs}
        if not self._rerecord():
            self.poutput(f"recording to {path}: written once a command changes the machine")
            return
        outcome = checks.outcome(self.tl.session.k).outcome
        self.poutput(f"recorded {len(self.tl.lines)} steps to {path} (kernel "
                     f"{self.tl.kernel_spec}, expect outcome = \"{outcome}\"); "
                     f"`daxsh run {path}` replays it")

    def _rerecord(self) -> bool:
        r = self.recording
        if not r or not self.tl.lines:
            return False
        try:
            self.tl.write_scenario(r["path"], r["title"], r["refs"])
        except OSError as e:
            self.perror(f"error: cannot write {r['path']}: {e}; recording stopped", style="red")
            self.recording = None
            return False
        return True

    def do_replay(self, statement: Statement) -> None:
        """replay [FILE.toml]."""
        arg = statement.args.strip()
        if not arg:
            if not self.pending:
                self._usage("replay", "replay needs a scenario file")
                return
            path, steps = self.pending
            self.poutput(f"going on with {path}: {len(steps)} step(s) left")
        else:
            from ..scenario.load import ScenarioError, load
            try:
                sc = load(os.path.expanduser(arg))
            except ScenarioError as e:
                self.perror(f"error: {e}", style="red")
                return
            if sc.threads:
                self.perror(f"{arg}: its [threads] are not replayed at the prompt; "
                            f"`daxsh run {arg}` runs them", style="yellow")
            kernel = sc.kernels()[0]
            with self.sigint_protection:
                self.tl.reset(kernel, sc.pmem, sc.seed)
            self.poutput(f"replaying {arg} ({sc.title or 'untitled'}) on a fresh machine: "
                         f"kernel {self.tl.kernel_spec}")
            path, steps = arg, [st.line for st in sc.setup + sc.steps]
        self.pending = None
        for i, line in enumerate(steps):
            self.poutput(f"{self.make_prompt()}{line}", style="dim")
            res = self.run_line(line)
            if res is None:  # interrupted
                self.pending = (path, steps[i:])
                return
            if res.status in (BLOCKED, ERROR, SKIPPED):
                left = steps[i + 1:]
                self.pending = (path, left) if left else None
                more = f"; `replay` runs the {len(left)} step(s) left" if left else ""
                self.poutput(f"replay stopped: that step {res.status}{more}", style="yellow")
                return
        self.poutput(f"replayed {path}: outcome {checks.outcome(self.tl.session.k).outcome}")

    # -- the screen ------------------------------------------------------------------------------
    def do_tui(self, statement: Statement) -> None:
        """Open the live screen on this session; its commands join this timeline."""
        import importlib
        try:
            tui = importlib.import_module("daxsh.tui.app")
        except ImportError as e:
            self.perror(f"error: the screen is not available ({e})", style="red")
            return
        tui.DaxApp(timeline=self.tl, journal_path=self.journal_path).run()
        self.poutput(f"back from the screen at {self.tl.branch}:{self.tl.pos}")
        self._rerecord()

    # -- leaving ---------------------------------------------------------------------------------
    def do__eof(self, statement: Statement) -> bool:  # type: ignore[override]
        self.poutput("")
        return self.do_quit(statement)

    def do_quit(self, statement: Statement) -> bool:  # type: ignore[override]
        """Leave the shell."""
        if self.recording:
            self._rerecord()
            self.poutput(f"recorded to {self.recording['path']}")
        if self.journal_path:
            self.poutput(f"journal: {self.journal_path} (`daxsh --resume` reopens this session)")
        return True

    def _usage(self, name: str, why: str) -> None:
        self.perror(f"{name}: {why} (usage: {SHELL_HELP[name][0]}; example: {EXAMPLES[name]})",
                    style="red")


def history_path(state: Path) -> str:
    return str(state / "history")
