"""Small scenarios (setup, threads, kernels, bad) on which DPOR is compared with plain
enumeration: each has at most a few thousand interleavings."""

BASE = ["mkfs xfs /dev/pmem0", "mount /dev/pmem0 /mnt -o dax"]

SMALL = {
    "truncate-vs-pin": (
        [*BASE, "create /mnt/a 4K", "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write"],
        {"truncator": ["truncate /mnt/a 0", "create /mnt/b 4K"],
         "device": ["pin 0x7f0000000000 4K", "dma pin1", "unpin pin1"]},
        ["v4.16", "v4.18"], "corruption"),
    "punch-vs-pin-ext4": (
        ["mkfs ext4 /dev/pmem0", "mount /dev/pmem0 /mnt -o dax", "create /mnt/a 4K",
         "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write"],
        {"puncher": ["punch /mnt/a 0 4K", "create /mnt/b 4K"],
         "device": ["pin 0x7f0000000000 4K", "dma pin1"]},
        ["v4.18", "v4.19"], "corruption"),
    "three-threads": (
        [*BASE, "create /mnt/a 4K", "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write"],
        {"truncator": ["truncate /mnt/a 0"],
         "toucher": ["touch 0x7f0000000000 4K --write"],
         "device": ["pin 0x7f0000000000 4K", "dma pin1"]},
        ["v4.16"], None),
    "unbind-vs-unpin": (
        [*BASE, "create /mnt/a 8K", "mmap /mnt/a 8K", "touch 0x7f0000000000 4K --write",
         "pin 0x7f0000000000 4K", "munmap 0x7f0000000000", "umount /mnt"],
        {"admin": ["unbind pfn0.1"], "device": ["unpin pin1"]},
        ["v5.15", "v5.19"], "oops"),
}

# too big to enumerate plainly (~185,000 interleavings); DPOR must still find the race, which
# needs the pin's page-table read (under mmap_lock) to be dependent with the truncate's zap
PIN_TRUNCATE_DMA = (
    [*BASE, "create /mnt/a 4K", "mmap /mnt/a 4K", "touch 0x7f0000000000 4K --write"],
    {"truncator": ["truncate /mnt/a 0"],
     "device": ["pin 0x7f0000000000 4K"],
     "later": ["create /mnt/b 4K", "dma pin1"]},
    ["v4.16"], "corruption")
