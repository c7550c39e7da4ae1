"""``daxsh real --setup``: the Debian packages, the two kernels and one initramfs per kernel.

Everything built goes into the user's cache directory (``$XDG_CACHE_HOME/daxsh/real``, by
default ``~/.cache/daxsh/real``); nothing is written into the repository.

* packages: qemu-system-x86, ndctl, xfsprogs, e2fsprogs, busybox-static, gcc (with libc6-dev),
  cpio, kmod, xz-utils (the 6.12 modules are .ko.xz), and the 6.1 kernel as
  ``linux-image-amd64`` (Debian 12's kernel, installed);
* the 6.12 kernel: the newest bookworm ``linux-image-6.12.N+deb12-amd64`` package, fetched with
  ``apt-get download`` and unpacked into the cache (``dpkg-deb -x``, then ``depmod -b``): not
  installed;
* the guest helper (``guest/daxsh-guest.c``, static) and, per kernel, an uncompressed newc
  initramfs: busybox, ndctl, mkfs.xfs, mkfs.ext4/ext2 with their libraries, the helper, /init,
  and the modules (libnvdimm, nd_pmem, nd_btt, nd_e820, nfit, dax_pmem, xfs, ext4, nbd and
  their dependencies, in ``modprobe --show-depends`` order).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# libc6-dev for the static helper; xz-utils because the 6.12 package's modules are .ko.xz
PACKAGES = ("qemu-system-x86", "ndctl", "xfsprogs", "e2fsprogs", "busybox-static", "gcc",
            "libc6-dev", "cpio", "kmod", "xz-utils", "linux-image-amd64")
COMMANDS = {"qemu-system-x86_64": "qemu-system-x86", "ndctl": "ndctl", "mkfs.xfs": "xfsprogs",
            "mkfs.ext4": "e2fsprogs", "gcc": "gcc", "cpio": "cpio", "modprobe": "kmod",
            "depmod": "kmod", "xz": "xz-utils"}
MODULES = ("libnvdimm", "nd_btt", "nd_pmem", "nd_e820", "nfit", "dax_pmem", "crc32c_generic",
           "crc32c-intel", "libcrc32c", "xfs", "ext4", "nbd")
KERNELS = ("6.1", "6.12")
SETUP_COMMAND = "daxsh real --setup"
GUEST = Path(__file__).parent / "guest"


class SetupError(RuntimeError):
    """What is missing, and how to get it (``daxsh real`` exits 3 with this)."""


@dataclass
class KernelImage:
    """A kernel daxsh can boot: its version, image and the initramfs built for its modules."""

    name: str        # "6.1", "6.12" or the path given
    kver: str        # e.g. 6.1.0-57-amd64
    vmlinuz: str
    initramfs: str


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "daxsh" / "real"


def _sbin_path() -> str:
    return os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def which(cmd: str) -> str | None:
    return shutil.which(cmd, path=_sbin_path())


def missing_commands() -> list[str]:
    return [c for c in COMMANDS if which(c) is None] + (
        [] if os.path.exists("/bin/busybox") else ["busybox"])


def _run(cmd: list[str], say: Callable[[str], None], cwd: str | None = None, quiet: bool = False) -> str:
    if not quiet:
        say("  $ " + " ".join(cmd))
    env = dict(os.environ, PATH=_sbin_path(), DEBIAN_FRONTEND="noninteractive")
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SetupError(f"`{' '.join(cmd)}` failed ({p.returncode}): {(p.stderr or p.stdout).strip()[-600:]}")
    return p.stdout


def _root_prefix() -> list[str]:
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        return ["sudo"]
    raise SetupError("installing Debian packages needs root (or sudo): run `daxsh real --setup` as root")


def install_packages(say: Callable[[str], None]) -> None:
    need = [p for p in PACKAGES if not _installed(p)]
    if not need:
        say(f"packages: all installed ({', '.join(PACKAGES)})")
        return
    say(f"packages: installing {', '.join(need)}")
    pre = _root_prefix()
    _run([*pre, "apt-get", "update", "-qq"], say)
    _run([*pre, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *need], say)


def _installed(pkg: str) -> bool:
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return p.returncode == 0 and "install ok installed" in p.stdout


def _kver_key(kver: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", kver)]


def installed_61() -> tuple[str, str] | None:
    """The newest installed Debian 6.1 kernel: (kver, vmlinuz)."""
    found = sorted(glob.glob("/boot/vmlinuz-6.1.*-amd64"), key=lambda p: _kver_key(p))
    for img in reversed(found):
        kver = img.rsplit("vmlinuz-", 1)[1]
        if os.path.isdir(f"/lib/modules/{kver}"):
            return kver, img
    return None


def fetch_612(say: Callable[[str], None]) -> tuple[str, str, str]:
    """The 6.12 kernel unpacked into the cache: (kver, vmlinuz, module root)."""
    root = cache_dir() / "kernel-6.12"
    imgs = sorted(glob.glob(str(root / "boot" / "vmlinuz-6.12.*")), key=_kver_key)
    if imgs:
        kver = imgs[-1].rsplit("vmlinuz-", 1)[1]
        say(f"6.12: {kver} already unpacked in {root}")
        return kver, imgs[-1], str(root)
    names = _run(["apt-cache", "pkgnames", "linux-image-6.12"], say, quiet=True).split()
    pkgs = sorted((n for n in names if re.fullmatch(r"linux-image-6\.12\.\d+\+deb12-amd64", n)),
                  key=_kver_key)
    if not pkgs:
        raise SetupError("no linux-image-6.12.*+deb12-amd64 package in the apt lists: bookworm-security "
                         "carries it; add it to the apt sources, `apt-get update`, then "
                         f"`{SETUP_COMMAND}`")
    pkg = pkgs[-1]
    dl = cache_dir() / "deb"
    dl.mkdir(parents=True, exist_ok=True)
    say(f"6.12: fetching {pkg} (apt-get download; not installed)")
    _run(["apt-get", "download", pkg], say, cwd=str(dl))
    deb = sorted(dl.glob(f"{pkg}_*.deb"))[-1]
    tmp = Path(tempfile.mkdtemp(dir=cache_dir(), prefix="unpack-"))
    _run(["dpkg-deb", "-x", str(deb), str(tmp)], say)
    kver = pkg.removeprefix("linux-image-")
    _run(["depmod", "-b", str(tmp), kver], say)
    if root.exists():
        shutil.rmtree(root)
    tmp.rename(root)
    return kver, str(root / "boot" / f"vmlinuz-{kver}"), str(root)


def build_guest(say: Callable[[str], None]) -> Path:
    out = cache_dir() / "daxsh-guest"
    src = GUEST / "daxsh-guest.c"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    say("guest helper: compiling daxsh-guest.c (static)")
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(["gcc", "-static", "-O2", "-Wall", "-pthread", "-o", str(out), str(src)], say)
    return out


def _copy_with_libs(binary: str, root: Path, name: str | None = None) -> None:
    dest = root / "sbin" / (name or os.path.basename(binary))
    shutil.copy2(os.path.realpath(binary), dest)
    p = subprocess.run(["ldd", binary], capture_output=True, text=True)
    for lib in re.findall(r"(/\S+)", p.stdout):
        target = root / lib.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copy2(os.path.realpath(lib), target)


def _module_order(kver: str, modroot: str) -> list[str]:
    order: list[str] = []
    for m in MODULES:
        p = subprocess.run(["modprobe", "-d", modroot, "-S", kver, "--ignore-install", "--show-depends", m],
                           capture_output=True, text=True, env=dict(os.environ, PATH=_sbin_path()))
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "insmod" and parts[1] not in order:
                order.append(parts[1])
    return order


def build_initramfs(kver: str, modroot: str, say: Callable[[str], None]) -> Path:
    """One uncompressed newc archive per kernel version, built once (``--setup`` rebuilds it
    when the guest sources are newer)."""
    out = cache_dir() / f"initramfs-{kver}.cpio"
    srcs = [GUEST / "daxsh-guest.c", GUEST / "init.sh"]
    if out.exists() and all(out.stat().st_mtime >= s.stat().st_mtime for s in srcs):
        say(f"initramfs for {kver}: {out} (built before)")
        return out
    guest = build_guest(say)
    say(f"initramfs for {kver}: building {out}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "mnt", "run", "etc", "lib/modules"):
            (root / d).mkdir(parents=True, exist_ok=True)
        shutil.copy2("/bin/busybox", root / "bin" / "busybox")
        shutil.copy2(guest, root / "bin" / "daxsh-guest")
        shutil.copy2(GUEST / "init.sh", root / "init")
        os.chmod(root / "init", 0o755)
        for cmd in ("ndctl", "mkfs.xfs", "mkfs.ext4", "mkfs.ext2"):
            path = which(cmd)
            if path is None:
                raise SetupError(f"{cmd} is missing: run `{SETUP_COMMAND}`")
            _copy_with_libs(path, root, cmd)
        if os.path.exists("/etc/mke2fs.conf"):
            shutil.copy2("/etc/mke2fs.conf", root / "etc" / "mke2fs.conf")
        names = []
        for ko in _module_order(kver, modroot):
            n = os.path.basename(ko)
            data = Path(ko).read_bytes()
            if n.endswith(".xz"):
                data = subprocess.run(["xz", "-dc", ko], capture_output=True, check=True).stdout
                n = n[:-3]
            elif n.endswith(".zst"):
                if which("zstd") is None:
                    raise SetupError(f"{ko} is zstd-compressed: install zstd")
                data = subprocess.run(["zstd", "-qdc", ko], capture_output=True, check=True).stdout
                n = n[:-4]
            (root / "lib" / "modules" / n).write_bytes(data)
            names.append(n)
        if not {"nd_pmem.ko", "nbd.ko"} <= set(names):
            raise SetupError(f"the modules of {kver} under {modroot} lack nd_pmem or nbd ({names})")
        (root / "modules.order").write_text("".join(n + "\n" for n in names))
        files = subprocess.run(["find", "."], cwd=root, capture_output=True, text=True, check=True).stdout
        with open(out.with_suffix(".tmp"), "wb") as f:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files.encode(),
                           stdout=f, check=True)
        out.with_suffix(".tmp").rename(out)
    return out


def manifest_path() -> Path:
    return cache_dir() / "kernels.json"


def setup(say: Callable[[str], None] = print) -> dict[str, KernelImage]:
    """Install, fetch and build what ``daxsh real`` needs; says what it did."""
    install_packages(say)
    miss = missing_commands()
    if miss:
        raise SetupError(f"still missing after installing the packages: {', '.join(miss)}")
    cache_dir().mkdir(parents=True, exist_ok=True)
    out: dict[str, KernelImage] = {}
    k61 = installed_61()
    if k61 is None:
        raise SetupError("no /boot/vmlinuz-6.1.*-amd64 with its modules after installing linux-image-amd64")
    kver, img = k61
    say(f"6.1: {kver} ({img})")
    out["6.1"] = KernelImage("6.1", kver, img, str(build_initramfs(kver, "/", say)))
    kver, img, modroot = fetch_612(say)
    out["6.12"] = KernelImage("6.12", kver, img, str(build_initramfs(kver, modroot, say)))
    manifest_path().write_text(json.dumps({k: v.__dict__ for k, v in out.items()}, indent=2) + "\n")
    say(f"ready: {manifest_path()}")
    return out


def find_kernel(name: str) -> KernelImage:
    """The kernel called ``name`` (6.1, 6.12) as set up, or a SetupError naming what is missing."""
    miss = missing_commands()
    if miss:
        raise SetupError(f"missing on this machine: {', '.join(miss)}; run `{SETUP_COMMAND}`")
    try:
        data = json.loads(manifest_path().read_text())
    except (OSError, ValueError):
        raise SetupError(f"no real kernels set up ({manifest_path()} is missing); run `{SETUP_COMMAND}`") from None
    if name not in data:
        raise SetupError(f"kernel {name} is not set up in {manifest_path()}; run `{SETUP_COMMAND}`")
    k = KernelImage(**data[name])
    for what in (k.vmlinuz, k.initramfs):
        if not os.path.exists(what):
            raise SetupError(f"{what} is missing (kernel {name}); run `{SETUP_COMMAND}`")
    built = os.stat(k.initramfs).st_mtime
    newer = [src.name for src in (GUEST / "daxsh-guest.c", GUEST / "init.sh") if src.stat().st_mtime > built]
    if newer:
        # a run with the helper of older sources would not do what these sources say
        raise SetupError(f"{k.initramfs} holds a guest helper older than {', '.join(newer)} (kernel "
                         f"{name}); run `{SETUP_COMMAND}` to build it again")
    return k


def image_version(vmlinuz: str) -> str:
    """The version string a bzImage carries (its setup header points at it)."""
    with open(vmlinuz, "rb") as f:
        head = f.read(0x8000)
    if len(head) < 0x210 or head[0x202:0x206] != b"HdrS":
        raise ValueError(f"{vmlinuz} is not an x86 bzImage")
    off = int.from_bytes(head[0x20E:0x210], "little") + 0x200
    return head[off:off + 200].split(b"\0", 1)[0].decode("ascii", "replace")


def kernel_from_path(vmlinuz: str, say: Callable[[str], None]) -> KernelImage:
    """A kernel image given by path: its modules are /lib/modules/KVER, or lib/modules/KVER beside
    the boot/ directory it is in (an unpacked .deb); its initramfs is built once."""
    miss = missing_commands()
    if miss:
        raise SetupError(f"missing on this machine: {', '.join(miss)}; run `{SETUP_COMMAND}`")
    kver = image_version(vmlinuz).split()[0]
    parent = Path(vmlinuz).resolve().parent
    for modroot in (str(parent.parent), "/"):
        if os.path.isdir(os.path.join(modroot, "lib", "modules", kver)):
            break
    else:
        raise SetupError(f"no modules for {kver} (looked in {parent.parent}/lib/modules and /lib/modules)")
    return KernelImage(vmlinuz, kver, vmlinuz, str(build_initramfs(kver, modroot, say)))
