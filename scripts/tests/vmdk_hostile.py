#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""vmdk_hostile.py KIND IMAGE - turn a monolithicSparse vmdk made by
qemu-img (64 KiB grains, 512-entry grain tables) into a hostile one of the
given KIND, in place, and print "OFFSET LENGTH" of the region the kind
aims guest writes at.  The entry of grain 1 (in both grain directories'
tables) is the one aimed.  vmdk-hostile.sh attaches the images and writes.

Kinds:
  grain-onto-descriptor  grain 1 on the embedded descriptor (whose
                         parentFileNameHint vdattach follows)
  grain-onto-gt          grain 1 on its own grain table
  grain-past-eof         grain 1 at the end of the file, where the driver
                         appends the next grain it allocates: the two
                         would alias
"""
import struct
import sys


def header(f):
    f.seek(0)
    h = f.read(77)
    if h[:4] != b"KDMV":
        sys.exit("not a sparse vmdk extent")
    return {
        "grain": struct.unpack_from("<Q", h, 20)[0] * 512,
        "desc_off": struct.unpack_from("<Q", h, 28)[0] * 512,
        "desc_len": struct.unpack_from("<Q", h, 36)[0] * 512,
        "rgd": struct.unpack_from("<Q", h, 48)[0] * 512,
        "gd": struct.unpack_from("<Q", h, 56)[0] * 512,
    }


def gts_of_grain0(f, h):
    """File offsets of grain table 0 of each directory."""
    out = []
    for gd in (h["gd"], h["rgd"]):
        if gd:
            f.seek(gd)
            out.append(struct.unpack("<I", f.read(4))[0] * 512)
    if not out or not all(out):
        sys.exit("no grain table 0")
    return out


def aim(f, h, sector):
    gts = gts_of_grain0(f, h)
    for gt in gts:
        f.seek(gt + 4)      # entry of grain 1
        f.write(struct.pack("<I", sector))
    return gts


def onto_descriptor(f, h):
    aim(f, h, h["desc_off"] // 512)
    return h["desc_off"], h["desc_len"]


def onto_gt(f, h):
    gt = gts_of_grain0(f, h)[0]
    aim(f, h, gt // 512)
    return gt, 2048


def past_eof(f, h):
    f.seek(0, 2)
    end = -(-f.tell() // h["grain"]) * h["grain"]
    aim(f, h, end // 512)
    return end, h["grain"]


KINDS = {
    "grain-onto-descriptor": onto_descriptor,
    "grain-onto-gt": onto_gt,
    "grain-past-eof": past_eof,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit(__doc__)
    with open(sys.argv[2], "r+b") as f:
        off, length = KINDS[sys.argv[1]](f, header(f))
    print(off, length)


if __name__ == "__main__":
    main()
