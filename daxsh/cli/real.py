"""``daxsh real FILE [--kernel 6.1|6.12|PATH] [--preset P] [--json] [--keep DIR] [-v]`` and
``daxsh real --setup``.

Exit status: 0 the real kernel and the model agree, 1 they disagree (every difference named),
2 invalid input or a scenario that cannot run on a real kernel (which step, and why), 3 the real
kernel could not be run (what is missing, and ``daxsh real --setup``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..kernel.config import ConfigError, KernelConfig
from ..lang.hints import error_text
from ..real.compare import PRESETS, Comparison, booted, compare, prepare, preset_for
from ..real.plan import PlanError
from ..real.provision import (
    SETUP_COMMAND,
    KernelImage,
    SetupError,
    find_kernel,
    image_version,
    kernel_from_path,
    setup,
)
from ..scenario import ScenarioError, load


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="daxsh real",
        description="Run a scenario's steps on a real kernel under QEMU (TCG, an emulated labelled "
                    "NVDIMM) and compare each step with the model's prediction on the matching "
                    "preset.  `daxsh real --setup` first installs and builds what it needs.")
    p.add_argument("file", nargs="?", metavar="FILE", help="scenario .toml (its [steps])")
    p.add_argument("--setup", action="store_true", help="install the packages, fetch the 6.12 "
                   "kernel, build the guest helper and one initramfs per kernel (cached)")
    p.add_argument("--kernel", default="6.1", metavar="6.1|6.12|PATH",
                   help="the kernel to boot: Debian's 6.1 or 6.12 as set up, or a bzImage's path "
                   "(its modules in /lib/modules or beside it)")
    p.add_argument("--preset", metavar="SPEC", help="the model's kernel to compare with "
                   "(default: v6.1 for 6.1, v6.12 for 6.12, else from the image's version)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--keep", metavar="DIR", help="keep the run's files (steps, initrd, console and "
                   "protocol logs) in DIR")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S",
                   help="end the run after S seconds (a hung guest is an outcome; default 300)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every step's output and the "
                   "whole relevant log")
    return p


def _err(msg: str, code: int, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": msg, "exit": code}))
    print(f"daxsh real: {msg}", file=sys.stderr)
    return code


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.setup:
        try:
            setup(lambda s: print(s, flush=True))
        except SetupError as e:
            print(f"daxsh real --setup: {e}", file=sys.stderr)
            return 3
        if not args.file:
            return 0
    if not args.file:
        return _err("a scenario FILE is needed (or --setup)", 2, args.json)
    try:
        sc = load(args.file)
    except ScenarioError as e:
        return _err(str(e), 2, args.json)
    kernel: KernelImage | None = None
    try:
        if args.kernel in PRESETS:
            preset = args.preset or PRESETS[args.kernel]
        elif os.path.isfile(args.kernel):
            release = image_version(args.kernel).split()[0]
            preset = args.preset or preset_for(release) or ""
        else:
            return _err(f"--kernel {args.kernel}: 6.1, 6.12 or the path of a bzImage (no such file)",
                        2, args.json)
        preset = KernelConfig.parse(preset).spec
    except ConfigError as e:
        return _err(f"--preset: {error_text(e)} (the release names no preset of the model; give --preset)",
                    2, args.json)
    except (OSError, ValueError) as e:
        return _err(f"--kernel {args.kernel}: {e}", 2, args.json)
    try:
        prepared = prepare(sc, preset)
    except PlanError as e:
        return _err(str(e), 2, args.json)
    except ScenarioError as e:
        return _err(str(e), 2, args.json)
    try:
        if args.kernel in PRESETS:
            kernel = find_kernel(args.kernel)
        else:
            kernel = kernel_from_path(args.kernel, lambda s: print(s, file=sys.stderr))
        c, _plan, b = compare(sc, kernel, preset, keep=args.keep, timeout=args.timeout, prepared=prepared)
    except SetupError as e:
        return _err(f"the real kernel cannot be run: {e}", 3, args.json)
    if not booted(b):
        tail = "\n".join(b.console.splitlines()[-8:])
        return _err(f"the {kernel.name} kernel ({kernel.kver}) did not reach the guest helper in "
                    f"{b.seconds:.0f} s (QEMU exit {b.qemu_rc}); is the initramfs current? run "
                    f"`{SETUP_COMMAND}`" + (f"\nlast console lines:\n{tail}" if tail else "")
                    + (f"\nfiles kept in {args.keep}" if args.keep else ""), 3, args.json)
    if args.json:
        print(json.dumps(c.to_json(), indent=2))
    else:
        _print(c, sc.path, args.verbose)
    return 0 if c.agree else 1


def _print(c: Comparison, path: str, verbose: bool) -> None:
    print(f"{path}: real {c.kernel} ({c.kver}) vs model {c.preset}   "
          f"[{c.seconds:.1f} s under QEMU TCG]")
    rs = {s.number: s for s in c.real.steps}
    w = max([len(s.line) for s in c.model.steps] + [10])
    w = min(w, 44)
    print(f"  {'step':>4}  {'line':<{w}}  {'real':<24}  model")
    for m in c.model.steps:
        r = rs.get(m.number)
        rtxt = f"{r.status}{' ' + r.text if r and r.text else ''}" if r else "-"
        mark = " " if r is not None and r.status == m.status else "≠"
        print(f"{mark} {m.number:>4}  {m.line[:w]:<{w}}  {rtxt[:60]:<24}  {m.status}"
              + (f" {m.text[:60]}" if m.text and m.status != "done" else ""))
        if verbose:
            for x in (r.output if r else []):
                print(f"  {'':>4}  {'':<{w}}  real: {x}")
            for x in m.output:
                print(f"  {'':>4}  {'':<{w}}  model: {x}")
    print(f"  outcome: real {c.real.outcome}, model {c.model.outcome}")
    for side, s in (("real", c.real), ("model", c.model)):
        for k in s.killed:
            print(f"  killed ({side}): {k}")
        for d in s.details[: 20 if verbose else 4]:
            print(f"  {side}: {d}")
    n = 200 if verbose else 12
    if c.real.dmesg:
        print("  dmesg (real):")
        for x in c.real.dmesg[:n]:
            print(f"    {x}")
    if c.model.dmesg:
        print("  dmesg (model):")
        for x in c.model.dmesg[:n]:
            print(f"    {x}")
    if c.agree:
        print("  AGREE")
    else:
        print("  DISAGREE:")
        for d in c.differences:
            print(f"    {d}")
