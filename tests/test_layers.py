"""The replay path never imports a UI library: checked at run time in a fresh interpreter
(import-linter checks the static graph in CI)."""

import subprocess
import sys

import pytest

UI = ("cmd2", "prompt_toolkit", "textual", "rich")


@pytest.mark.parametrize("module", ["daxsh.kernel", "daxsh.lang", "daxsh.scenario", "daxsh.shell",
                                    "daxsh.pytest_plugin", "daxsh.explore", "daxsh.cli",
                                    "daxsh.cli.run", "daxsh.cli.kernels", "daxsh.cli.bisect",
                                    "daxsh.cli.import_sh", "daxsh.cli.export", "daxsh.cli.real",
                                    "daxsh.cli.explore", "daxsh.cli.completion"])
def test_lower_layers_import_no_ui(module: str) -> None:
    code = (f"import sys, {module}\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {UI!r})\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_daxsh_run_imports_no_ui(tmp_path) -> None:
    code = ("import sys\nfrom daxsh.cli import main\n"
            "rc = main(['run', 'scenarios/tour.toml'])\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {UI!r})\n"
            "print('UI:' + ','.join(bad))\nsys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == "UI:"


def test_piped_script_imports_no_ui() -> None:
    code = ("import sys, io\nsys.stdin = io.StringIO('mkfs xfs /dev/pmem0\\n')\n"
            "from daxsh.cli import main\nrc = main([])\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {UI!r})\n"
            "print('UI:' + ','.join(bad))\nsys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "UI:"
