"""The 2018 race as the shell and the screen tests type it (a module of its own: ``conftest``
is not a unique module name across this repository's test directories)."""

# up to the truncate that blocks on the pinned page (v4.18)
RACE_2018 = [
    "mkfs xfs /dev/pmem0",
    "mount /dev/pmem0 /mnt -o dax",
    "create /mnt/a 64K",
    "mmap /mnt/a 64K",
    "touch 0x7f0000000000 64K --write",
    "pin 0x7f0000000000 4K",
    "truncate /mnt/a 0",
]
