#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""view_digest.py PATH - a digest of the bytes of PATH (a regular file or a
block device) that costs only what is not zero.

The digest is md5 over, for every 64 KiB chunk (on a grid from offset 0)
that holds a non-zero byte, the chunk's offset (8 bytes, little-endian)
followed by the chunk, and at the end the total length.  Two contents of
the same length give the same digest exactly when they are equal (md5
collisions aside), whatever mix of files and devices they come from.

Why not md5sum: the job tests compare 10 GiB disks holding 1.5 GiB of
data several times each, and under TCG hashing the 8.5 GiB of zeros was
most of their time.  Here a regular file's holes (SEEK_HOLE) are skipped
without being read, and a device is read with O_DIRECT in 4 MiB requests
(no page cache churn) whose zero chunks are recognised by one memcmp.
"""
import hashlib
import mmap
import os
import stat
import struct
import sys

CHUNK = 64 << 10
READ = 4 << 20
ZERO_CHUNK = bytes(CHUNK)
ZERO_READ = bytes(READ)


def add_chunks(md5, buf, base, length):
    """hash the non-zero chunks of buf[:length], which starts at offset base"""
    if buf[:length] == ZERO_READ[:length]:
        return
    for i in range(0, length, CHUNK):
        piece = buf[i:min(i + CHUNK, length)]
        if piece != ZERO_CHUNK[:len(piece)]:
            md5.update(struct.pack("<Q", base + i))
            md5.update(piece)


def digest_device(fd, size, md5):
    buf = mmap.mmap(-1, READ)   # page aligned, as O_DIRECT wants
    off = 0
    while off < size:
        n = os.preadv(fd, [buf], off)
        if n <= 0:
            sys.exit("view_digest: short read at %d of %d" % (off, size))
        add_chunks(md5, buf, off, n)
        off += n


def digest_file(fd, size, md5):
    done = 0            # everything below this offset is hashed or zero
    pos = 0
    while pos < size:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            break       # ENXIO: only a hole is left
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        # whole chunks on the grid, so that a device gives the same digest
        start = max(data - data % CHUNK, done)
        end = min(-(-hole // CHUNK) * CHUNK, size)
        while start < end:
            n = min(READ, end - start)
            buf = os.pread(fd, n, start)
            if len(buf) != n:
                sys.exit("view_digest: short read at %d" % start)
            add_chunks(md5, buf, start, n)
            start += n
        done = max(done, end)
        pos = hole


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: view_digest.py FILE|DEVICE")
    path = sys.argv[1]
    st = os.stat(path)
    md5 = hashlib.md5()
    if stat.S_ISBLK(st.st_mode):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        size = os.lseek(fd, 0, os.SEEK_END)
        digest_device(fd, size, md5)
    else:
        fd = os.open(path, os.O_RDONLY)
        size = st.st_size
        digest_file(fd, size, md5)
    os.close(fd)
    md5.update(struct.pack("<Q", size))
    print(md5.hexdigest())


if __name__ == "__main__":
    main()
