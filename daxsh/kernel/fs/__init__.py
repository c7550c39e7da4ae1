"""Models fs/: the VFS (inode.c, dcache.c, super.c, namespace.c, namei.c, open.c,
read_write.c, stat.c, readdir.c, sync.c, drop_caches.c, ioctl.c, locks.c, file_table.c,
filesystems.c), fs/dax.c, fs/nfsd's layouts and the filesystems XFS, ext4 and ext2.

``ops`` is the operations table the VFS calls and each filesystem fills in; ``disk`` is
daxsh's model of what a filesystem keeps on the media.  Nothing here imports a filesystem
module but ``filesystems`` (the list ``mount`` and ``mkfs`` look a type up in): the VFS calls
a filesystem through ``sb.ops``.
"""
