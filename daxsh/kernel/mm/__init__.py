"""Models mm/: memory.c (page tables, faults, unmapping), mmap.c (processes' address
spaces), gup.c (pins), memremap.c (ZONE_DEVICE pages), memory-failure.c, vmscan.c (reclaim),
and the types include/linux/mm.h and mm_types.h declare (``types``).

mm calls a filesystem or a driver only through an operations table (``sb.ops``, the pgmap's
``ops``); the two exceptions are the kernel's own: ``memory_failure`` locks DAX entries
(``dax_lock_mapping_entry``, fs/dax.c) and ``ksys_mmap`` resolves the file it maps.
"""
