"""Command lines the screen's tests type (a module of its own: ``conftest`` is not a unique
module name across this repository's test directories)."""

RACE_2018 = [
    "mkfs xfs /dev/pmem0",
    "mount /dev/pmem0 /mnt -o dax",
    "create /mnt/a 64K",
    "mmap /mnt/a 64K",
    "touch 0x7f0000000000 64K --write",
    "pin 0x7f0000000000 4K",
    "truncate /mnt/a 0",
]
