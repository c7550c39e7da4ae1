"""man/daxsh.1 is generated from the registry; the committed page must match it."""

import shutil
import subprocess
from pathlib import Path

import pytest

from daxsh.lang import REGISTRY
from daxsh.lang.manpage import render

MAN = Path(__file__).parent.parent / "man"


def test_committed_page_matches_registry() -> None:
    assert (MAN / "daxsh.1").read_text() == render(), \
        "man/daxsh.1 is stale: run `python -m daxsh.lang.manpage > man/daxsh.1`"


def test_every_command_and_option_is_in_the_page() -> None:
    page = render()
    for c in REGISTRY.values():
        assert f"\\fB{c.name.replace('-', chr(92) + '-')}\\fR" in page
        for o in c.options:
            assert o.flags[0].replace("-", "\\-") in page


@pytest.mark.skipif(shutil.which("mandoc") is None, reason="mandoc is not installed")
@pytest.mark.parametrize("page", ["daxsh.1", "daxsh-scenario.5"])
def test_pages_lint_clean(page: str) -> None:
    r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", str(MAN / page)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("page", ["daxsh.1", "daxsh-scenario.5"])
def test_pages_groff_clean(page: str) -> None:
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    r = subprocess.run(["groff", "-man", "-ww", "-z", str(MAN / page)], capture_output=True, text=True)
    assert r.stderr == ""
