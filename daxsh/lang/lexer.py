"""Split a command line like a shell: words, quotes, ``#`` comments, a trailing ``&``.

Every word keeps its column so an error can put a caret under it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_NUM = re.compile(r"^(0[xX][0-9a-fA-F]+|[0-9]+)([kKmMgGtT]?)[bB]?$")


class Word(NamedTuple):
    text: str
    start: int
    end: int


class Line(NamedTuple):
    text: str
    words: tuple[Word, ...]
    background: bool

    @property
    def command(self) -> str:
        """The command as typed, without a ``#`` comment or the trailing ``&`` (from the words
        the lexer found, so a ``#`` inside a word stays)."""
        if not self.words:
            return ""
        return self.text[self.words[0].start:self.words[-1].end]


class LexError(ValueError):
    def __init__(self, message: str, col: int) -> None:
        super().__init__(message)
        self.col = col


_PLAIN = re.compile(r"\S+")


@lru_cache(maxsize=1024)
def split(text: str) -> Line:
    """The words of ``text`` (cached: a Line is immutable, and scripts and the explorer split
    the same lines again and again)."""
    if not any(c in text for c in "'\"#&"):  # the common case: plain words
        return Line(text, tuple(Word(m.group(), m.start(), m.end()) for m in _PLAIN.finditer(text)), False)
    words: list[Word] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":
            break
        start = i
        buf = []
        while i < n and not text[i].isspace():
            c = text[i]
            if c in "'\"":
                q = c
                j = text.find(q, i + 1)
                if j < 0:
                    raise LexError(f"unterminated {q} quote", i)
                buf.append(text[i + 1:j])
                i = j + 1
                continue
            if c == "#" and not buf:
                break
            buf.append(c)
            i += 1
        words.append(Word("".join(buf), start, i))
    background = False
    if words and words[-1].text == "&":
        background = True
        words.pop()
    elif words and words[-1].text.endswith("&") and len(words[-1].text) > 1:
        w = words[-1]
        words[-1] = Word(w.text[:-1], w.start, w.end - 1)
        background = True
    return Line(text, tuple(words), background)


@lru_cache(maxsize=1024)
def parse_number(s: str) -> int:
    """Decimal or 0x hex, with an optional K/M/G/T binary suffix (cached: it is pure)."""
    m = _NUM.match(s.strip())
    if not m:
        raise ValueError(f"'{s}' is not a number (decimal or 0x hex, optional K/M/G suffix)")
    digits, suf = m.groups()
    base = int(digits, 16) if digits[:2].lower() == "0x" else int(digits)
    v = base * SUFFIXES[suf.upper()]
    if v >= 1 << 64:
        raise ValueError(f"'{s}' does not fit in 64 bits (at most 0xffffffffffffffff)")
    return v


def fmt_size(n: int) -> str:
    for suf, mul in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n and n % mul == 0:
            return f"{n // mul}{suf}"
    return str(n)
