"""The words of the language: shell-like splitting, quotes, # comments, numbers with K/M/G,
a trailing &, $_ and relative paths (issue 2, "The command language — the contract")."""

from __future__ import annotations

import pytest

from daxsh.lang.lexer import LexError, parse_number, split

MAP = "0x7f0000000000"


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0), ("4096", 4096), ("0x1000", 4096), ("0X1000", 4096), ("0xfF", 255),
    ("4K", 4096), ("4k", 4096), ("2M", 2 << 20), ("1G", 1 << 30), ("0x10K", 16 << 10),
    ("64KB", 64 << 10), ("1T", 1 << 40),
])
def test_numbers(text, value) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "x", "4Q", "0x", "1.5K", "-1", "4 K", "0xg", "K"])
def test_not_numbers(text) -> None:
    with pytest.raises(ValueError, match="is not a number"):
        parse_number(text)


def test_split_words_with_columns() -> None:
    line = split("  mmap /mnt/a   64K ")
    assert [w.text for w in line.words] == ["mmap", "/mnt/a", "64K"]
    assert [(w.start, w.end) for w in line.words] == [(2, 6), (7, 13), (16, 19)]
    assert not line.background


def test_comments() -> None:
    assert [w.text for w in split("stat /mnt/a # the size").words] == ["stat", "/mnt/a"]
    assert split("# only a comment").words == ()
    assert split("   ").words == ()
    assert [w.text for w in split("ls a#b").words] == ["ls", "a#b"]  # '#' inside a word
    assert [w.text for w in split("ls '#x'").words] == ["ls", "#x"]


def test_quotes() -> None:
    line = split("create \"/mnt/a b\" 4K")
    assert [w.text for w in line.words] == ["create", "/mnt/a b", "4K"]
    assert [w.text for w in split("ls 'x'y").words] == ["ls", "xy"]
    with pytest.raises(LexError) as e:
        split("ls 'open")
    assert e.value.col == 3


@pytest.mark.parametrize("text", ["truncate /mnt/a 0 &", "truncate /mnt/a 0&",
                                  "truncate /mnt/a 0 & # bg"])
def test_trailing_ampersand(text) -> None:
    line = split(text)
    assert line.background
    assert [w.text for w in line.words] == ["truncate", "/mnt/a", "0"]


def test_numbers_in_commands(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    sh("create /mnt/a 0x2000")
    sh("create /mnt/b 1M")
    sh("create /mnt/c 3k")
    assert "Size: 8192 " in sh.text("stat /mnt/a")
    assert "Size: 1048576 " in sh.text("stat /mnt/b")
    assert "Size: 3072 " in sh.text("stat /mnt/c")
    sh("truncate /mnt/b 0x1K")
    assert "Size: 1024 " in sh.text("stat /mnt/b")
    sh("sleep 2.5")
    assert sh.k.clock.now == 2_500_000_000


def test_comment_only_line_is_done_and_changes_nothing(shell) -> None:
    sh = shell("v6.15")
    r = sh("# nothing to do")
    assert r.output == [] and r.error == ""
    r = sh("")
    assert r.output == []
    r = sh("ls / # a listing")
    assert "mnt/" in r.output[0]


def test_unterminated_quote_is_an_error_with_a_caret(shell) -> None:
    sh = shell()
    r = sh('ls "/mnt', "error")
    assert "unterminated \" quote" in r.error
    assert r.caret.split("\n")[1].index("^") - 2 == 3


def test_background_command_that_completes_reports_done(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    r = sh("create /mnt/a 4K &")
    assert r.output[0].startswith("[1] ")
    assert any(n.startswith("[1]+ Done  create /mnt/a 4K") for n in r.notice_lines())
    assert sh.s.jobs == {}
    assert "a" in sh.text("ls /mnt")


def test_background_command_that_blocks_is_a_job(shell) -> None:
    sh = shell("v4.18").pinned("xfs")
    r = sh("truncate /mnt/a 0 &", "blocked")
    assert r.output[0] == f"[1] {sh.task(1).tid}"
    assert sh.s.last == "%1"
    assert "[1] blocked: truncate /mnt/a 0" in sh.text("jobs")
    r = sh("punch /mnt/a 0 4K&", "blocked")
    assert r.job == 2
    r = sh("unpin pin1")
    assert "[1]+ Done  truncate /mnt/a 0" in r.notice_lines()
    assert "[2]+ Done  punch /mnt/a 0 4K" in r.notice_lines()


def test_dollar_underscore_holds_the_last_printed_value(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    sh("create /mnt/a 64K")
    assert sh.text("mmap /mnt/a 64K") == MAP
    assert sh.s.last == MAP
    sh("touch $_ 4K --write")  # address
    r = sh("pin $_ 4K")
    assert sh.s.last == "pin1" and r.value == "pin1"
    sh("dma $_")  # pin
    sh("munmap 0x7f0000000000")
    r = sh("truncate /mnt/a 0", "blocked")  # v6.15 waits for the unmapped pin
    assert sh.s.last == "%1"
    r = sh("kill -INT $_")  # task
    assert any("EINTR" in n for n in r.notice_lines())


def test_relative_paths_resolve_against_the_cwd(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    sh("mkdir /mnt/d")
    sh("cd /mnt/d")
    assert sh.s.cwd == "/mnt/d"
    sh("create f 4K")
    sh("create ../g 8K")
    sh("create ./h 4K")
    assert sh.text("ls /mnt/d").split() == ["f", "4K", "h", "4K"]
    assert "g" in sh.text("ls /mnt").split()
    assert "File: /mnt/d/f" in sh.text("stat f")
    assert sh.text("mmap ../g 8K") == MAP
    sh("cd ..")
    assert sh.s.cwd == "/mnt"
    sh("cd d")
    assert sh.s.cwd == "/mnt/d"
    sh("cd")
    assert sh.s.cwd == "/"
    sh("proc p2")  # each process has its own cwd
    sh("cd /mnt")
    sh("proc sh")
    assert sh.s.cwd == "/"
    sh("proc p2")
    assert sh.s.cwd == "/mnt"


def test_failed_cd_keeps_the_cwd(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    sh("cd /mnt")
    sh("cd nope", "error")
    assert sh.s.cwd == "/mnt"


def test_file_name_with_a_space(shell) -> None:
    sh = shell("v6.15").mounted("xfs")
    sh('create "/mnt/a b" 4K')
    assert "a b" in sh.text("ls /mnt")
    sh("stat '/mnt/a b'")
