"""``daxsh import FILE.sh [-o OUT.toml]``: a real shell reproducer as a scenario.

Each shell line is printed beside the daxsh lines it became (run on a fresh machine as they are
translated, so a mapping's address is the one the model gives); a line that cannot be
translated is named with the reason.  Exit status: 0 every line translated (and the scenario
written with ``-o``), 2 a line could not be (nothing written, unless ``--partial``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..kernel.config import ConfigError, KernelConfig
from ..lang.hints import error_text
from ..scenario.shell_import import report, scenario_toml, translate_script

EXIT_OK, EXIT_INVALID = 0, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="daxsh import", description="Translate a shell reproducer "
                                "(ndctl, mkfs.xfs, mount -o dax, xfs_io -c ..., echo > .../unbind, "
                                "dd, fallocate -p ...) to a daxsh scenario.")
    p.add_argument("file", metavar="FILE.sh", help="the shell script ('-' reads standard input)")
    p.add_argument("-o", "--out", metavar="OUT.toml", help="write the scenario there")
    p.add_argument("--kernel", metavar="SPEC", help="the kernel the scenario names (default the "
                   "newest preset)")
    p.add_argument("--partial", action="store_true", help="write the scenario even when some "
                   "lines cannot be translated (they become comments)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        kernel = KernelConfig.parse(args.kernel or "").spec
    except ConfigError as e:
        print(f"daxsh import: --kernel: {error_text(e)}", file=sys.stderr)
        return EXIT_INVALID
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"daxsh import: cannot read {args.file}: {e}", file=sys.stderr)
        return EXIT_INVALID
    lines, s = translate_script(text, kernel)
    s.close()
    print("\n".join(report(lines)))
    bad = [ln for ln in lines if not ln.ok]
    for ln in bad:
        print(f"daxsh import: {args.file}:{ln.lineno}: `{ln.shell.strip()}`: {ln.why}",
              file=sys.stderr)
    if bad and not args.partial:
        print(f"daxsh import: {len(bad)} line(s) not translated; nothing written (rewrite them, "
              "or --partial writes the rest)", file=sys.stderr)
        return EXIT_INVALID
    if args.out:
        try:
            Path(args.out).write_text(scenario_toml(lines, kernel, args.file), encoding="utf-8")
        except OSError as e:
            print(f"daxsh import: cannot write {args.out}: {e.strerror}", file=sys.stderr)
            return EXIT_INVALID
        print(f"written to {args.out} (`daxsh run {args.out}` replays it)")
    return EXIT_OK
