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


HEADLESS = ("kernel", "lang", "scenario", "explore", "real", "shell")


def test_headless_packages_hold_no_entry_point() -> None:
    """Entry points (a main(), the command line in sys.argv) are daxsh.cli's; argparse is kept
    out of these packages by an import-linter contract."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "daxsh"
    found = []
    for pkg in HEADLESS:
        for path in sorted((root / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and \
                        node.name in ("main", "_main"):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}: def {node.name}")
                if isinstance(node, ast.Attribute) and node.attr == "argv" and \
                        isinstance(node.value, ast.Name) and node.value.id == "sys":
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}: sys.argv")
    assert not found, found
