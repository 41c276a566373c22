#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""qcow2_hostile.py KIND IMAGE - turn a fresh qcow2 made by qemu-img into a
hostile one of the given KIND (in place).  The images reproduce the
findings of issue #16; qcow2-hostile.sh attaches them and writes.

Kinds:
  refcounts-all-ones  every refcount table entry points at the first
                      refcount block, filled with ones: with
                      refcount_bits=1 and 64 KiB clusters it claims 2^32
                      clusters in use, which a first-fit allocator that
                      scans refcounts walks one by one.
"""
import struct
import sys


def header(f):
    f.seek(0)
    h = f.read(104)
    if h[:4] != b"QFI\xfb":
        sys.exit("not a qcow2 image")
    return {
        "cluster_bits": struct.unpack_from(">I", h, 20)[0],
        "l1_size": struct.unpack_from(">I", h, 36)[0],
        "l1_offset": struct.unpack_from(">Q", h, 40)[0],
        "rt_offset": struct.unpack_from(">Q", h, 48)[0],
        "rt_clusters": struct.unpack_from(">I", h, 56)[0],
    }


def refcounts_all_ones(f):
    h = header(f)
    cs = 1 << h["cluster_bits"]
    entries = h["rt_clusters"] * cs // 8
    f.seek(h["rt_offset"])
    rb0 = struct.unpack(">Q", f.read(8))[0]
    if not rb0:
        sys.exit("no first refcount block")
    f.seek(h["rt_offset"])
    f.write(struct.pack(">Q", rb0) * entries)
    f.seek(rb0)
    f.write(b"\xff" * cs)


KINDS = {
    "refcounts-all-ones": refcounts_all_ones,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit(__doc__)
    with open(sys.argv[2], "r+b") as f:
        KINDS[sys.argv[1]](f)


if __name__ == "__main__":
    main()
