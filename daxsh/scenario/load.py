"""Read and validate a scenario file (TOML; the format is man/daxsh-scenario.5).

Every error names the file, the step and its line, and what to write instead.  Nothing in a
scenario can run anything but the daxsh language.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..kernel.config import ConfigError, KernelConfig
from ..kernel.outcomes import OUTCOMES
from ..lang.hints import error_text
from ..lang.lexer import LexError, Line, parse_number, split
from ..lang.registry import REGISTRY, thread_refusal
from .bad import Bad

TOP_KEYS = ("title", "description", "refs", "tags", "kernel", "machine", "steps", "setup",
            "threads", "expect")
MACHINE_KEYS = ("pmem", "seed")
EXPECT_KEYS = ("outcome", "killed", "dmesg", "no_dmesg", "steps", "output", "no_output", "bad",
               "verdict")
STEP_KEYS = ("run", "status", "output")
STATUSES = ("done", "blocked", "error", "skipped", "stopped")
VERDICTS = ("never", "sometimes", "always")
TAGS = ("quick", "slow", "xfs", "ext4", "ext2", "unbind", "poison", "evict", "truncate", "tour")


class ScenarioError(ValueError):
    """An invalid scenario: ``daxsh run`` exits 2 with this message."""


@dataclass
class Step:
    line: str
    lineno: int
    number: int
    status: str | None = None
    output: str | None = None
    # the words the loader lexed when it checked the line (the replay runs them: a line is
    # lexed once)
    lexed: Line | None = field(default=None, compare=False, repr=False)


@dataclass
class Expect:
    outcome: str | None = None
    killed: list[str] | None = None
    dmesg: list[str] = field(default_factory=list)
    no_dmesg: list[str] = field(default_factory=list)
    steps: dict[int, str] = field(default_factory=dict)
    output: dict[int, str] = field(default_factory=dict)
    no_output: dict[int, str] = field(default_factory=dict)
    bad: Bad | None = None  # daxsh explore: what makes an execution bad
    verdict: str | None = None

    def merged(self, other: Expect) -> Expect:
        return Expect(
            outcome=other.outcome if other.outcome is not None else self.outcome,
            killed=other.killed if other.killed is not None else self.killed,
            dmesg=self.dmesg + other.dmesg,
            no_dmesg=self.no_dmesg + other.no_dmesg,
            steps={**self.steps, **other.steps},
            output={**self.output, **other.output},
            no_output={**self.no_output, **other.no_output},
            bad=other.bad if other.bad is not None else self.bad,
            verdict=other.verdict if other.verdict is not None else self.verdict,
        )

    def empty(self) -> bool:
        return self == Expect()


@dataclass
class Scenario:
    path: str
    title: str = ""
    description: str = ""
    refs: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    kernel: str | None = None
    pmem: int = 1 << 30
    seed: int = 0
    steps: list[Step] = field(default_factory=list)
    setup: list[Step] = field(default_factory=list)
    threads: dict[str, list[Step]] = field(default_factory=dict)
    expect: Expect = field(default_factory=Expect)
    per_kernel: dict[str, Expect] = field(default_factory=dict)

    def kernels(self) -> list[str]:
        """The kernels this scenario states a result for (run each)."""
        out = list(self.per_kernel)
        if self.kernel is not None and self.kernel not in out:
            out.insert(0, self.kernel)
        if not out:
            out = [KernelConfig.parse("").spec]
        return out

    def expect_for(self, spec: str) -> Expect:
        norm = KernelConfig.parse(spec).spec
        for key, ex in self.per_kernel.items():
            if KernelConfig.parse(key).spec == norm:
                return self.expect.merged(ex)
        return self.expect


def _near(word: str, choices: tuple[str, ...] | list[str]) -> str:
    m = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean '{m[0]}'?" if m else f" (valid: {', '.join(choices)})"


class _Ctx:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.cursor = 0

    def err(self, msg: str, lineno: int | None = None) -> ScenarioError:
        where = f"{self.path}:{lineno}" if lineno else self.path
        return ScenarioError(f"{where}: {msg}")

    def key_line(self, key: str, table: str | None = None) -> int | None:
        pat = re.compile(rf"^\s*(\"?{re.escape(key)}\"?)\s*=")
        in_table = table is None
        for i, ln in enumerate(self.lines, 1):
            s = ln.strip()
            if s.startswith("["):
                in_table = table is not None and s.strip("[] ").replace('"', "") == table
                continue
            if in_table and pat.match(ln):
                return i
        return None

    def table_line(self, name: str) -> int | None:
        for i, ln in enumerate(self.lines, 1):
            if ln.strip().strip("[]").strip().replace('"', "") == name:
                return i
        return None

    def find(self, needle: str, after: int) -> int:
        for i in range(max(after, 0), len(self.lines)):
            if needle in self.lines[i]:
                return i + 1
        return after or 1


def loads(text: str, path: str = "<scenario>") -> Scenario:
    ctx = _Ctx(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise ctx.err(f"not valid TOML: {e}", int(m.group(1)) if m else None) from None
    except RecursionError:
        raise ctx.err("arrays or tables nested too deeply to read (a scenario needs at most "
                      "a few levels)") from None
    sc = Scenario(path=path)
    for key in data:
        if key not in TOP_KEYS:
            raise ctx.err(f"unknown key '{key}'{_near(key, TOP_KEYS)}", ctx.key_line(key) or ctx.table_line(key))
    sc.title = _str(ctx, data, "title")
    sc.description = _str(ctx, data, "description")
    sc.refs = _strlist(ctx, data, "refs")
    sc.tags = _strlist(ctx, data, "tags")
    for tag in sc.tags:
        if tag not in TAGS:
            raise ctx.err(f"unknown tag '{tag}'{_near(tag, TAGS)}", ctx.key_line("tags"))
    if "kernel" in data:
        sc.kernel = _kernel(ctx, _str(ctx, data, "kernel"), ctx.key_line("kernel"))
    machine = data.get("machine", {})
    if not isinstance(machine, dict):
        raise ctx.err("'machine' must be a table: [machine] pmem = \"4G\"", ctx.key_line("machine"))
    for key, val in machine.items():
        ln = ctx.key_line(key, "machine")
        if key not in MACHINE_KEYS:
            raise ctx.err(f"unknown key 'machine.{key}'{_near(key, MACHINE_KEYS)}", ln)
        if key == "pmem":
            try:
                sc.pmem = parse_number(str(val))
            except ValueError as e:
                raise ctx.err(f"machine.pmem: {e}", ln) from None
            if sc.pmem < 64 << 20 or sc.pmem > 1 << 50 or sc.pmem % (2 << 20):
                raise ctx.err("machine.pmem must be a multiple of 2M between 64M and 1024T", ln)
        elif key == "seed":
            if not isinstance(val, int) or isinstance(val, bool):
                raise ctx.err("machine.seed must be an integer", ln)
            sc.seed = val
    if "steps" in data:
        sc.steps = _steps(ctx, data["steps"], "steps")
    if "setup" in data:
        sc.setup = _steps(ctx, data["setup"], "setup")
    threads = data.get("threads", {})
    if not isinstance(threads, dict):
        raise ctx.err("'threads' must be a table of named arrays: [threads] a = [\"...\"]",
                      ctx.key_line("threads"))
    for name, lines in threads.items():
        sc.threads[name] = _steps(ctx, lines, f"threads.{name}")
    if not sc.steps and not sc.threads:
        raise ctx.err("a scenario needs `steps = [...]` (or `setup` and `[threads]`)")
    expect = data.get("expect", {})
    if not isinstance(expect, dict):
        raise ctx.err("'expect' must be a table: [expect] outcome = \"clean\"", ctx.key_line("expect"))
    base: dict[str, Any] = {}
    for key, val in expect.items():
        if key in EXPECT_KEYS:
            base[key] = val
        elif isinstance(val, dict):
            spec = _kernel(ctx, key, ctx.table_line(f"expect.{key}"))
            sc.per_kernel[spec] = _expect(ctx, val, f"expect.{key}", sc)
        else:
            raise ctx.err(f"unknown key 'expect.{key}'{_near(key, EXPECT_KEYS)} (per-kernel "
                          f"expectations are tables: [expect.\"v4.16\"])", ctx.key_line(key, "expect"))
    sc.expect = _expect(ctx, base, "expect", sc)
    return sc


def load(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        with open(p, "rb") as f:
            text = read_text(f, str(path))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e}") from None
    if p.suffix != ".toml":
        return from_script(text, str(path))
    return loads(text, str(path))


MAX_BYTES = 16 << 20  # a scenario or script is text a person wrote: far below this


def read_text(f: BinaryIO, name: str) -> str:
    """The UTF-8 text of a scenario or script, at most :data:`MAX_BYTES` (``/dev/zero`` and
    other endless inputs are refused, not read until memory runs out)."""
    data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ScenarioError(f"{name}: more than {MAX_BYTES >> 20}M; a scenario or script is a "
                            "text file of command lines")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ScenarioError(f"{name}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}); "
                            "save the file as UTF-8") from None


def from_script(text: str, path: str = "<stdin>") -> Scenario:
    """A plain file of command lines is a scenario with steps and no expectations."""
    sc = Scenario(path=path)
    ctx = _Ctx(path, text)  # once: the text is split once, whatever its length
    for i, raw in enumerate(ctx.lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lexed = _check_line(ctx, line, i, f"line {i}")
        sc.steps.append(Step(line, i, len(sc.steps) + 1, lexed=lexed))
    return sc


def _str(ctx: _Ctx, data: dict[str, Any], key: str) -> str:
    v = data.get(key, "")
    if not isinstance(v, str):
        raise ctx.err(f"'{key}' must be a string", ctx.key_line(key))
    return v


def _strlist(ctx: _Ctx, data: dict[str, Any], key: str, table: str | None = None) -> list[str]:
    v = data.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ctx.err(f"'{key}' must be an array of strings", ctx.key_line(key, table))
    return list(v)


def _kernel(ctx: _Ctx, spec: str, lineno: int | None) -> str:
    try:
        return KernelConfig.parse(spec).spec
    except ConfigError as e:
        raise ctx.err(error_text(e), lineno) from None


def _check_line(ctx: _Ctx, line: str, lineno: int, where: str) -> Line:
    try:
        lexed = split(line)
    except LexError as e:
        raise ctx.err(f"{where}: {e}", lineno) from None
    words = lexed.words
    if not words:
        raise ctx.err(f"{where}: empty command line", lineno)
    name = words[0].text
    if name not in REGISTRY:
        raise ctx.err(f"{where}: unknown command '{name}'{_near(name, list(REGISTRY))}", lineno)
    return lexed


def _steps(ctx: _Ctx, raw: Any, key: str) -> list[Step]:
    first = ctx.key_line(key.split(".")[-1], "threads" if key.startswith("threads.") else None) or 1
    if not isinstance(raw, list):
        raise ctx.err(f"'{key}' must be an array of command lines", first)
    out: list[Step] = []
    cursor = first - 1
    for i, item in enumerate(raw, 1):
        status = output = None
        if isinstance(item, dict):
            for k2 in item:
                if k2 not in STEP_KEYS:
                    raise ctx.err(f"{key} step {i}: unknown key '{k2}'{_near(k2, STEP_KEYS)}",
                                  ctx.find(str(k2), cursor))
            line = item.get("run")
            status = item.get("status")
            output = item.get("output")
            if not isinstance(line, str):
                raise ctx.err(f"{key} step {i}: a step table needs run = \"COMMAND\"", ctx.find("{", cursor))
            if status is not None and status not in STATUSES:
                raise ctx.err(f"{key} step {i}: status '{status}'{_near(str(status), STATUSES)}",
                              ctx.find(line, cursor))
            if output is not None and not isinstance(output, str):
                raise ctx.err(f"{key} step {i}: output must be a string", ctx.find(line, cursor))
        elif isinstance(item, str):
            line = item
        else:
            raise ctx.err(f"{key} step {i}: a step is a string or a table {{run = \"...\"}}", cursor + 1)
        lineno = ctx.find(line, cursor) if line else cursor + 1
        cursor = lineno - 1 if lineno - 1 >= cursor else cursor
        lexed = _check_line(ctx, line, lineno, f"{key} step {i}")
        if key.startswith("threads."):
            why = thread_refusal(line)
            if why:
                raise ctx.err(f"{key} step {i}: {why}", lineno)
        out.append(Step(line, lineno, i, status, output, lexed=lexed))
        cursor = lineno
    return out


def _expect(ctx: _Ctx, raw: dict[str, Any], where: str, sc: Scenario) -> Expect:
    ex = Expect()
    table = where.replace('"', "")
    for key, val in raw.items():
        ln = ctx.key_line(key, table if "." in where else "expect")
        if key not in EXPECT_KEYS:
            raise ctx.err(f"unknown key '{where}.{key}'{_near(key, EXPECT_KEYS)}", ln)
        if key == "outcome":
            if val not in OUTCOMES:
                raise ctx.err(f"{where}.{key} = '{val}'{_near(str(val), OUTCOMES)}", ln)
            ex.outcome = val
        elif key == "bad":
            try:
                ex.bad = Bad.parse(val)
            except ValueError as e:
                if isinstance(val, str):  # an outcome
                    bad_outcomes = [o for o in OUTCOMES if o != "clean"]
                    raise ctx.err(f"{where}.bad = '{val}'{_near(val, bad_outcomes)}", ln) from None
                raise ctx.err(f"{where}.bad: {e}", ln or ctx.table_line(f"{table}.bad")) from None
        elif key == "verdict":
            if val not in VERDICTS:
                raise ctx.err(f"{where}.verdict = '{val}'{_near(str(val), VERDICTS)}", ln)
            ex.verdict = val
        elif key in ("killed", "dmesg", "no_dmesg"):
            if not isinstance(val, list) or not all(isinstance(x, str) for x in val):
                raise ctx.err(f"{where}.{key} must be an array of strings", ln)
            setattr(ex, key, list(val))
        elif key in ("steps", "output", "no_output"):
            what = "status" if key == "steps" else "text its output contains"
            if not isinstance(val, dict):
                raise ctx.err(f"{where}.{key} must be a table of step number = {what}", ln)
            for n, st in val.items():
                if not (str(n).isascii() and str(n).isdigit()) or not 1 <= int(n) <= len(sc.steps):
                    raise ctx.err(f"{where}.{key}: '{n}' is not a step number (1..{len(sc.steps)})", ln)
                if key == "steps" and st not in STATUSES:
                    raise ctx.err(f"{where}.steps.{n} = '{st}'{_near(str(st), STATUSES)}", ln)
                if key != "steps" and not isinstance(st, str):
                    raise ctx.err(f"{where}.output.{n} must be a string", ln)
                getattr(ex, key)[int(n)] = st
    return ex
