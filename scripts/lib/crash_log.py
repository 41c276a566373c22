# SPDX-License-Identifier: GPL-2.0
"""crash_log.py - read a dm-log-writes log and rebuild the disk it describes.

dm-log-writes (Documentation/admin-guide/device-mapper/log-writes.rst)
records every write that reached the disk below it, in the order the disk
may hold them: a write is logged only once a flush that was issued after
it completed has completed, so everything between two flush entries is
what a disk with a volatile write cache may still lose.  FUA writes are
logged when they complete and are durable from then on.  Marks are text
the tester inserts ("dmsetup message DEV 0 mark NAME").

Log layout (all little-endian): sector 0 holds the super
(magic u64, version u64, nr_entries u64, sectorsize u32); then, for each
entry, one sector with the entry (sector u64, nr_sectors u64, flags u64,
data_len u64, and a mark's text after it) followed by nr_sectors sectors
of the written data (none for a discard).  Sectors are the logged
device's logical block size.

Nothing here needs the kernel: it reads files and writes files.
"""
import ctypes
import ctypes.util
import os
import struct

MAGIC = 0x6a736677736872
FLUSH = 1 << 0
FUA = 1 << 1
DISCARD = 1 << 2
MARK = 1 << 3
METADATA = 1 << 4

SUPER = struct.Struct("<QQQI")
ENTRY = struct.Struct("<QQQQ")


class LogError(Exception):
    pass


class Entry:
    """one log entry; data is read from the log file only when applied"""
    __slots__ = ("index", "sector", "nr_sectors", "flags", "mark",
                 "data_pos")

    def __init__(self, index, sector, nr_sectors, flags, mark, data_pos):
        self.index = index
        self.sector = sector
        self.nr_sectors = nr_sectors
        self.flags = flags
        self.mark = mark
        self.data_pos = data_pos

    def is_write(self):
        return not self.flags & MARK and (self.nr_sectors > 0)

    def __repr__(self):
        kind = []
        for bit, name in ((FLUSH, "flush"), (FUA, "fua"), (DISCARD, "discard"),
                          (MARK, "mark"), (METADATA, "meta")):
            if self.flags & bit:
                kind.append(name)
        return "#%d %s sector %d +%d%s" % (
            self.index, "|".join(kind) or "write", self.sector,
            self.nr_sectors, " %r" % self.mark if self.mark else "")


class Log:
    def __init__(self, path):
        self.path = path
        self.f = open(path, "rb")
        sup = self.f.read(SUPER.size)
        if len(sup) < SUPER.size:
            raise LogError("%s: shorter than a log super" % path)
        magic, version, nr, ss = SUPER.unpack(sup)
        if magic != MAGIC or version != 1:
            raise LogError("%s: not a dm-log-writes log (magic %#x, version %d)"
                           % (path, magic, version))
        if ss not in (512, 1024, 2048, 4096):
            raise LogError("%s: sectorsize %d" % (path, ss))
        self.sectorsize = ss
        self.entries = []
        size = os.fstat(self.f.fileno()).st_size
        pos = ss
        for i in range(nr):
            if pos + ss > size:
                raise LogError("%s: entry %d of %d past the end" % (path, i, nr))
            self.f.seek(pos)
            head = self.f.read(ss)
            sector, nrs, flags, dlen = ENTRY.unpack_from(head)
            mark = None
            if flags & MARK:
                if dlen > ss - ENTRY.size:
                    raise LogError("%s: entry %d: mark of %d bytes" % (path, i, dlen))
                mark = head[ENTRY.size:ENTRY.size + dlen].decode(errors="replace")
            pos += ss
            data_pos = pos
            if not flags & (DISCARD | MARK):
                pos += nrs * ss
            if pos > size:
                raise LogError("%s: entry %d: data past the end" % (path, i))
            self.entries.append(Entry(i, sector, nrs, flags, mark, data_pos))

    def apply(self, entry, fd):
        """apply one write or discard entry to the disk file open as fd"""
        off = entry.sector * self.sectorsize
        length = entry.nr_sectors * self.sectorsize
        if entry.flags & MARK or not length:
            return
        if entry.flags & DISCARD:
            # what a discarded range reads as is not promised: zeros (the
            # loop device under the log punched a hole too) keep it sparse
            try:
                _punch(fd, off, length)
            except OSError:
                os.pwrite(fd, bytes(length), off)
            return
        self.f.seek(entry.data_pos)
        left, pos = length, off
        while left:
            chunk = self.f.read(min(left, 4 << 20))
            if not chunk:
                raise LogError("%s: entry %d: short data" % (self.path, entry.index))
            os.pwrite(fd, chunk, pos)
            pos += len(chunk)
            left -= len(chunk)


_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_LIBC.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long,
                            ctypes.c_long]
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02


def _punch(fd, off, length):
    if _LIBC.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       off, length) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


if __name__ == "__main__":
    # crash_log.py LOG: list the entries (for reading a log by hand)
    import sys
    for e in Log(sys.argv[1]).entries:
        print(e)
