#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""qcow2_hostile.py KIND IMAGE - turn a qcow2 made by qemu-img into a
hostile one of the given KIND (in place), and print "OFFSET LENGTH" of the
metadata the kind aims guest writes at (the test checks it is unchanged).
The images reproduce the findings of issue #16; qcow2-hostile.sh attaches
them and writes.  All but the first expect guest cluster 0 written (so
that an L2 table exists) and aim the entry of guest cluster 1.

Kinds:
  refcounts-all-ones  every refcount table entry points at the first
                      refcount block, filled with ones: with
                      refcount_bits=1 and 64 KiB clusters it claims 2^32
                      clusters in use, which a first-fit allocator that
                      scans refcounts walks one by one.
  copied-onto-l2      a COPIED entry (written in place) pointing at the L2
                      table it sits in
  copied-onto-refblock  a COPIED entry pointing at the first refcount block
  compressed-at-0     a compressed entry at file offset 0: replacing the
                      cluster frees (and punches) what it points at
  shared-onto-l1      a plain entry without COPIED pointing at the L1
                      table: a write copies the cluster and frees the old
  sub-onto-l2         (extended L2) a COPIED entry with subcluster 0
                      allocated, pointing at its L2 table: a write to
                      another subcluster writes that one in place
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
        "extended_l2": struct.unpack_from(">I", h, 4)[0] >= 3 and
                       bool(struct.unpack_from(">Q", h, 72)[0] & 16),
    }


OFF_MASK = 0x00FFFFFFFFFFFE00
COPIED = 1 << 63
COMPRESSED = 1 << 62


def entry1(f):
    """The header, the first L2 table's offset and where the entry of guest
    cluster 1 is in the file."""
    h = header(f)
    f.seek(h["l1_offset"])
    l2 = struct.unpack(">Q", f.read(8))[0] & OFF_MASK
    if not l2:
        sys.exit("guest cluster 0 is not allocated: no L2 table")
    return h, l2, l2 + (16 if h["extended_l2"] else 8)


def aim(f, value, bitmap=None):
    h, l2, at = entry1(f)
    f.seek(at)
    f.write(struct.pack(">Q", value))
    if bitmap is not None:
        f.write(struct.pack(">Q", bitmap))
    return h, l2


def copied_onto_l2(f):
    h, l2, _ = entry1(f)
    aim(f, l2 | COPIED)
    return l2, 1 << h["cluster_bits"]


def copied_onto_refblock(f):
    h = header(f)
    f.seek(h["rt_offset"])
    rb0 = struct.unpack(">Q", f.read(8))[0]
    aim(f, rb0 | COPIED)
    return rb0, 1 << h["cluster_bits"]


def compressed_at_0(f):
    aim(f, COMPRESSED)            # offset 0, one sector
    return 0, 72                  # the header up to the feature bits


def shared_onto_l1(f):
    h = header(f)
    aim(f, h["l1_offset"])
    return h["l1_offset"], h["l1_size"] * 8


def sub_onto_l2(f):
    h = header(f)
    if not h["extended_l2"]:
        sys.exit("sub-onto-l2 needs extended_l2=on")
    _, l2, _ = entry1(f)
    aim(f, l2 | COPIED, bitmap=1)  # subcluster 0 allocated
    return l2, 1 << h["cluster_bits"]


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
    return rb0, cs


KINDS = {
    "refcounts-all-ones": refcounts_all_ones,
    "copied-onto-l2": copied_onto_l2,
    "copied-onto-refblock": copied_onto_refblock,
    "compressed-at-0": compressed_at_0,
    "shared-onto-l1": shared_onto_l1,
    "sub-onto-l2": sub_onto_l2,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit(__doc__)
    with open(sys.argv[2], "r+b") as f:
        off, length = KINDS[sys.argv[1]](f)
    print(off, length)


if __name__ == "__main__":
    main()
