"""The one registry of commands: name, arguments with types, help, example, completion sources
and the kernel functions each command goes through.  The REPL, the TUI, scenario replay, the
man page and the tests all read this registry; a command is defined once.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .lexer import LexError, Word, fmt_size, parse_number, split

if TYPE_CHECKING:
    from .session import Session


class ArgError(ValueError):
    """A bad command line: the message says what is wrong and how to write it right."""

    def __init__(self, message: str, word: int | None = None) -> None:
        super().__init__(message)
        self.word = word  # index into the line's words (0 = the command name)
        # the words are well formed but name something the session does not have (now): a
        # job, pin or process that is gone -- a runtime error of the step, not bad input
        self.state = False


class ArgType:
    """How one argument is parsed and completed.

    ``pure``: what :meth:`parse` returns depends only on the text and the session's working
    directory (not on pins, jobs or other state), so a command line whose arguments are all
    pure is parsed once and its parse reused (:meth:`Command.parse`)."""

    metavar = "WORD"
    accepts_dash = False
    pure = True

    @property
    def stateful(self) -> bool:
        """Can a well-formed word be refused because of the session's state (a job or pin that
        is gone)?  Such a refusal is a step's runtime error, not bad input."""
        return not self.pure

    def matches(self, text: str) -> bool:
        """Whether an optional positional of this type would take ``text``; a word it does not
        match goes to the next parameter."""
        return True

    def parse(self, s: Session, text: str) -> Any:
        return text

    def complete(self, s: Session, prefix: str) -> list[str]:
        return []


class Number(ArgType):
    def __init__(self, metavar: str, page_aligned: bool = False, minimum: int = 0,
                 what: str = "", within_pmem: bool = False) -> None:
        self.metavar = metavar
        self.page_aligned = page_aligned
        self.minimum = minimum
        self.what = what or metavar.lower()
        self.within_pmem = within_pmem  # bounded by what the machine's pmem can hold

    def parse(self, s: Session, text: str) -> int:
        try:
            v = parse_number(text)
        except ValueError as e:
            raise ArgError(str(e)) from None
        if v < self.minimum:
            raise ArgError(f"{self.what} must be at least {self.minimum}")
        if self.within_pmem and v > s.pmem:
            raise ArgError(f"{self.what} {text} is more than this machine's "
                           f"{fmt_size(s.pmem)} of pmem can hold (--pmem sets its size)")
        if self.page_aligned and v % 4096:
            raise ArgError(f"{self.what} must be page aligned (a multiple of 4K), "
                           f"e.g. {hex(v - v % 4096) if v > 4096 else '0'}")
        return v


class Choice(ArgType):
    pure = False  # the choices are the session's (pins, processes...)

    def __init__(self, metavar: str, choices: Callable[[Session], list[str]] | list[str],
                 what: str = "", accepts_dash: bool = False) -> None:
        self.metavar = metavar
        self._choices = choices
        self.what = what or metavar.lower()
        self.accepts_dash = accepts_dash

    def choices(self, s: Session) -> list[str]:
        return self._choices(s) if callable(self._choices) else list(self._choices)

    @property
    def stateful(self) -> bool:
        return callable(self._choices)

    def parse(self, s: Session, text: str) -> str:
        ch = self.choices(s)
        if text not in ch:
            near = difflib.get_close_matches(text, ch, n=1) if ch else []
            hint = f"; did you mean '{near[0]}'?" if near else ""
            shown = ", ".join(ch[:12]) + (f", ... ({len(ch)} in all; Tab completes them)"
                                          if len(ch) > 12 else "") if ch else "(none yet)"
            raise ArgError(f"unknown {self.what} '{text}'{hint} (one of: {shown})")
        return text

    def complete(self, s: Session, prefix: str) -> list[str]:
        return [c for c in self.choices(s) if c.startswith(prefix)]


class Text(ArgType):
    def __init__(self, metavar: str, completer: Callable[[Session, str], list[str]] | None = None,
                 accepts_dash: bool = False) -> None:
        self.metavar = metavar
        self._completer = completer
        self.accepts_dash = accepts_dash

    def complete(self, s: Session, prefix: str) -> list[str]:
        return self._completer(s, prefix) if self._completer else []


@dataclass
class Param:
    name: str
    type: ArgType
    optional: bool = False
    repeat: bool = False
    help: str = ""


@dataclass
class Option:
    flags: tuple[str, ...]
    dest: str
    type: ArgType | None = None  # None: a flag
    help: str = ""


@dataclass
class Command:
    name: str
    group: str
    summary: str
    params: list[Param]
    options: list[Option]
    example: str
    kfuncs: tuple[str, ...]
    run: Callable[..., Any]
    help: str = ""
    changes_state: bool = True
    after_crash: bool = False  # allowed after the simulated kernel oopsed
    needs_process: bool = False
    synopsis: str = ""
    task: bool = False  # runs as a task of the modelled kernel (so `start` can take it)
    thread: str = ""  # why it cannot run inside a scenario's [threads] ("": it can)
    # what it prints is the model speaking, in the names of the kernel version chosen
    # (kernel/names.py); False for text about versions (`kernels`, `help`)
    model_text: bool = True

    @property
    def usage(self) -> str:
        if self.synopsis:
            return f"{self.name} {self.synopsis}".strip()
        parts = [self.name]
        for o in self.options:
            flag = o.flags[0]
            parts.append(f"[{flag}{' ' + o.type.metavar if o.type else ''}]")
        for p in self.params:
            m = p.type.metavar + (" ..." if p.repeat else "")
            parts.append(f"[{m}]" if p.optional else m)
        return " ".join(parts)

    @functools.cached_property
    def by_flag(self) -> dict[str, Option]:
        return {f: o for o in self.options for f in o.flags}

    @functools.cached_property
    def _parsed(self) -> dict[tuple[tuple[Word, ...], str, int], dict[str, Any]] | None:
        """Parses of lines already seen, when every argument type is pure (else None)."""
        types = [p.type for p in self.params] + [o.type for o in self.options if o.type]
        return {} if all(t.pure for t in types) else None

    def parse(self, s: Session, words: tuple[Word, ...]) -> dict[str, Any]:
        """The line's arguments by name (commands read them and do not change them)."""
        cache = self._parsed
        if cache is None:
            return self._parse(s, words)
        key = (words, s.cwd, s.pmem)
        ns = cache.get(key)
        if ns is None:
            ns = self._parse(s, words)
            if len(cache) >= 1024:
                cache.clear()
            cache[key] = ns
        return dict(ns)

    def _parse(self, s: Session, words: tuple[Word, ...]) -> dict[str, Any]:
        ns: dict[str, Any] = {p.name: ([] if p.repeat else None) for p in self.params}
        for o in self.options:
            ns[o.dest] = False if o.type is None else None
        by_flag = self.by_flag
        pi = 0
        i = 1
        while i < len(words):
            w = words[i].text
            opt = by_flag.get(w)
            if opt is None and w.startswith("--") and "=" in w:
                head, val = w.split("=", 1)
                opt = by_flag.get(head)
                if opt is not None and opt.type is not None:
                    ns[opt.dest] = _parse_at(s, opt.type, val, i)
                    i += 1
                    continue
            if opt is not None:
                if opt.type is None:
                    ns[opt.dest] = True
                    i += 1
                    continue
                if i + 1 >= len(words):
                    raise ArgError(f"{w} needs a value: {self.usage}", i)
                ns[opt.dest] = _parse_at(s, opt.type, words[i + 1].text, i + 1)
                i += 2
                continue
            if pi >= len(self.params):
                if w.startswith("-") and len(w) > 1:
                    known = [f for o in self.options for f in o.flags]
                    near = difflib.get_close_matches(w, known, n=1)
                    hint = f"; did you mean {near[0]}?" if near else ""
                    raise ArgError(f"unknown option {w}{hint} (usage: {self.usage})", i)
                raise ArgError(f"unexpected argument '{w}' (usage: {self.usage})", i)
            while p_optional_skips(self.params, pi, w):
                pi += 1
            p = self.params[pi]
            if w.startswith("-") and len(w) > 1 and not p.type.accepts_dash:
                known = [f for o in self.options for f in o.flags]
                near = difflib.get_close_matches(w, known, n=1)
                hint = f"; did you mean {near[0]}?" if near else ""
                raise ArgError(f"unknown option {w}{hint} (usage: {self.usage})", i)
            val = _parse_at(s, p.type, w, i)
            if p.repeat:
                ns[p.name].append(val)
            else:
                ns[p.name] = val
                pi += 1
            i += 1
        for p in self.params[pi:]:
            if not p.optional and not (p.repeat and ns[p.name]):
                raise ArgError(f"missing {p.type.metavar} (usage: {self.usage}; "
                               f"example: {self.example})", len(words))
        return ns


def p_optional_skips(params: list[Param], pi: int, word: str) -> bool:
    p = params[pi]
    return p.optional and not p.repeat and pi + 1 < len(params) and not p.type.matches(word)


def _parse_at(s: Session, t: ArgType, text: str, index: int) -> Any:
    try:
        return t.parse(s, text)
    except ArgError as e:
        if e.word is None:
            e.word = index
        e.state = t.stateful
        raise


REGISTRY: dict[str, Command] = {}
GROUPS: list[str] = []


def command(name: str, *, group: str, summary: str, params: list[Param] | None = None,
            options: list[Option] | None = None, example: str, kfuncs: tuple[str, ...] = (),
            changes_state: bool = True, after_crash: bool = False, needs_process: bool = False,
            synopsis: str = "", help: str = "", task: bool = False, thread: str = "",
            model_text: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Define a command.  ``thread``: why it cannot run inside a scenario's ``[threads]`` (the
    loader refuses such a line with its file:line; "" when it can: as a task, as a query that
    reads the machine, or -- ``sleep``, ``exit``, ``kill`` -- as a task of the thread)."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY:
            raise ValueError(f"command {name} defined twice")
        REGISTRY[name] = Command(name, group, summary, params or [], options or [], example,
                                 kfuncs, fn, help or (fn.__doc__ or "").strip(), changes_state,
                                 after_crash, needs_process, synopsis, task, thread,
                                 model_text)
        if group not in GROUPS:
            GROUPS.append(group)
        return fn
    return deco


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one insertion, deletion, substitution or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    if len(a) > len(b):
        a, b = b, a
    return any(b[:i] + b[i + 1:] == a for i in range(len(b)))


def suggest(word: str, names: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The name ``word`` most likely mistypes: one edit away (``gf``, ``bgg``, ``cler``), else
    difflib's closest; None when nothing is close."""
    ordered = sorted(names)
    for n in ordered:
        if _one_edit(word, n):
            return n
    near = difflib.get_close_matches(word, ordered, n=1)
    return near[0] if near else None


# Commands other shells have and daxsh does not, with what does the job here.
HABITS = {
    "fg": "daxsh has no fg: `wait %N` waits for a job, `continue %N` lets a stopped one run on",
    "bg": "daxsh has no bg: a blocked job goes on by itself once it can; `continue %N` lets a "
          "stopped one run on",
    "clear": "daxsh has no clear here: Ctrl-L clears the terminal",
}


def unknown_command(name: str, extra: tuple[str, ...] = ()) -> str:
    """The message for an unknown command name, with the likeliest intended one."""
    habit = HABITS.get(name) or next((HABITS[h] for h in HABITS if _one_edit(name, h)
                                      and h not in extra), None)
    if habit and name not in extra:
        return f"unknown command '{name}': {habit}"
    near = suggest(name, set(REGISTRY) | set(extra))
    hint = f"; did you mean '{near}'?" if near else ""
    return f"unknown command '{name}'{hint} (`help` lists commands)"


def lookup(name: str) -> Command:
    cmd = REGISTRY.get(name)
    if cmd is None:
        raise ArgError(unknown_command(name), 0)
    return cmd


def thread_refusal(text: str) -> str:
    """Why the command line ``text`` cannot run inside a scenario's ``[threads]`` ("" when it
    can, or when the line is not valid at all: that is reported when it runs, as in a script)."""
    try:
        words = split(text).words
        if not words:
            return ""
        cmd = REGISTRY.get(words[0].text)
    except LexError:
        return ""
    if cmd is not None and cmd.thread:
        return f"`{cmd.name}` cannot run inside a thread: {cmd.thread}"
    return ""
