#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""crash_workload.py - the writer of scripts/crash-states.

Usage: crash_workload.py [--no-discard] [--job-after K --job CMD]
                         DEV OPS_LOG SEED BATCHES MARK_CMD...

Issues batches of 2-10 operations on DEV (a vdisk device) with O_DIRECT:
writes of reproducible pseudo-random data (W), write-zeroes (Z,
BLKZEROOUT) and discards (D, BLKDISCARD), mostly over a hot eighth of
the disk so that later operations overwrite earlier ones, and fsyncs DEV
after each batch.  Once the fsync returned it runs MARK_CMD with "bN"
appended (N: the number of batches now durable), which puts a mark into
the dm-log-writes log below the image's filesystem.  OPS_LOG gets one
line per operation, "KIND BATCH N OFFSET LENGTH", written before the
batch is issued; crash_model.py rebuilds the expected content from it.
With --job, CMD (a shell command: a commit or rebase of DEV's chain, which
must not change what DEV shows) runs after batch K while the next
batches are written, and the log gets a mark "job-done" once it returned.
"""
import fcntl
import mmap
import os
import random
import struct
import subprocess
import sys

BLKDISCARD = 0x1277
BLKZEROOUT = 0x127F
BLKGETSIZE64 = 0x80081272
BLOCK = 4096


def data_for(seed, n, length):
    """the content of write number n: shared with crash_model.py"""
    return random.Random(seed * 1000003 + n).randbytes(length)


def can_discard(dev):
    name = os.path.basename(os.path.realpath(dev))
    try:
        with open("/sys/block/%s/queue/discard_max_bytes" % name) as f:
            return int(f.read()) > 0
    except OSError:
        return False


def main():
    args = sys.argv[1:]
    discard_ok, job_after, job = True, None, None
    while args and args[0].startswith("--"):
        if args[0] == "--no-discard":
            discard_ok = False
            args = args[1:]
        elif args[0] == "--job-after":
            job_after, args = int(args[1]), args[2:]
        elif args[0] == "--job":
            job, args = args[1], args[2:]
        else:
            sys.exit("crash_workload: unknown option " + args[0])
    dev, ops_path, seed, batches = args[0], args[1], int(args[2]), int(args[3])
    mark_cmd = args[4:]
    running = None
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    size = struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8))[0]
    discard = discard_ok and can_discard(dev)
    rng = random.Random(seed)
    buf = mmap.mmap(-1, 1 << 20)
    n = 0
    with open(ops_path, "w") as ops:
        for b in range(1, batches + 1):
            batch = []
            for _ in range(rng.randint(2, 10)):
                # mostly the first eighth of the disk, so that operations
                # overwrite, copy on write and free each other's clusters
                span = size // 8 if rng.random() < 0.7 else size
                r = rng.random()
                kind = "Z" if r < 0.12 else "D" if r < 0.24 and discard else "W"
                if kind == "W":
                    length = rng.choice([4096, 8192, 12288, 65536, 131072, 262144])
                else:   # whole clusters or grains too, which frees them
                    length = rng.choice([4096, 65536, 131072, 262144, 1 << 20])
                off = rng.randrange(0, (span - length) // BLOCK) * BLOCK
                batch.append((kind, n, off, length))
                ops.write("%s %d %d %d %d\n" % (kind, b, n, off, length))
                n += 1
            ops.flush()
            for kind, i, off, length in batch:
                if kind == "Z":
                    fcntl.ioctl(fd, BLKZEROOUT, struct.pack("QQ", off, length))
                elif kind == "D":
                    fcntl.ioctl(fd, BLKDISCARD, struct.pack("QQ", off, length))
                else:
                    buf.seek(0)
                    buf.write(data_for(seed, i, length))
                    os.pwritev(fd, [memoryview(buf)[:length]], off)
            os.fsync(fd)
            subprocess.run(mark_cmd + ["b%d" % b], check=True)
            if job and b == job_after:
                running = subprocess.Popen(job, shell=True)
    if running:
        if running.wait() != 0:
            sys.exit("crash_workload: the job failed (exit %d): %s" % (running.returncode, job))
        subprocess.run(mark_cmd + ["job-done"], check=True)
    os.close(fd)
    print("crash_workload: %d operations in %d batches on %s (%d MiB)%s"
          % (n, batches, dev, size >> 20, "" if discard else ", no discard"))


if __name__ == "__main__":
    main()
