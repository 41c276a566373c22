#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""power-cut-guest.py - the guest half of scripts/power-cut.

Usage: power-cut-guest.py DEV LOG ITERATION

Writes pseudo-random data (reproducible from ITERATION and the write's
number, so the host can regenerate it) at random offsets of DEV with
O_DIRECT, zeroes a range now and then (BLKZEROOUT), and fsyncs DEV after
each batch of 1-6 operations.  A batch is appended to LOG (on a host
directory) and LOG fsynced before any of it is issued; "F n" follows once
the fsync that made the first n operations durable returned.  It runs
until the host kills the VM.
"""
import fcntl
import mmap
import os
import random
import struct
import sys

BLKZEROOUT = 0x127F
BLKGETSIZE64 = 0x80081272


def data_for(iteration, n, length):
    return random.Random(iteration * 1000003 + n).randbytes(length)


def note(log, line):
    """Log @line durably before the operation it announces is issued."""
    log.write(line)
    log.flush()
    os.fsync(log.fileno())


def main():
    dev, log_path, iteration = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    size = struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8))[0]
    log = open(log_path, "a")
    rng = random.Random(iteration)
    buf = mmap.mmap(-1, 1 << 20)
    note(log, "START %d\n" % iteration)
    n = 0
    while True:
        # announce a batch durably, then issue it, then fsync the device
        batch = []
        for _ in range(rng.randint(1, 6)):
            length = rng.choice([4096, 8192, 65536, 131072, 262144, 3 * 4096])
            # mostly a hot quarter of the disk (overwrites), sometimes anywhere
            span = size // 4 if rng.random() < 0.6 else size
            off = rng.randrange(0, (span - length) // 4096) * 4096
            kind = "Z" if rng.random() < 0.08 else "W"
            batch.append((kind, n, off, length))
            log.write("%s %d %d %d\n" % (kind, n, off, length))
            n += 1
        note(log, "")
        for kind, i, off, length in batch:
            if kind == "Z":
                fcntl.ioctl(fd, BLKZEROOUT, struct.pack("QQ", off, length))
            else:
                buf.seek(0)
                buf.write(data_for(iteration, i, length))
                os.pwritev(fd, [memoryview(buf)[:length]], off)
        os.fsync(fd)
        note(log, "F %d\n" % n)


if __name__ == "__main__":
    main()
