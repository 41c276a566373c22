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

vmdk_hostile.py KIND DESCRIPTOR N - write a new descriptor file and its N
extent files (DESCRIPTOR's name with -sNNNN, next to it) and print "N
BYTES", what the extents would make the driver allocate:

  many-huge-gds          N sparse extents whose grain directories have
                         4 Mi entries each (a grain of one sector, one
                         entry per grain table): N x 16 MiB of directories
                         from sparse files of 17 MiB
  many-compressed        N compressed (streamOptimized-style) extents of
                         one 2 MiB grain each, that of extent i starting
                         with "extent i" (expected_grain()): one inflate
                         context of 4 MiB per extent if each had its own

vmdk_hostile.py check-compressed DEVICE N - read the first grain of each of
the N extents of a many-compressed image attached as DEVICE, check its
bytes, and print "OK KIB": how much MemAvailable fell meanwhile, in KiB.
"""
import mmap
import os
import struct
import sys
import zlib


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


# --- new images: descriptor files of many extents --------------------------

FLAG_NL_TEST = 1 << 0
FLAG_COMPRESSED = 1 << 16
FLAG_MARKERS = 1 << 17


def sparse_header(capacity, grain, gtes, gd, flags=FLAG_NL_TEST, compress=0,
                  overhead=0):
    """A sparse extent header (VMware's SparseExtentHeader), one sector."""
    h = struct.pack("<4sIIQQQQIQQQB4sH", b"KDMV", 1, flags, capacity, grain,
                    0, 0, gtes, 0, gd, overhead, 0, b"\n \r\n", compress)
    return h.ljust(512, b"\0")


def extent_names(desc, n):
    stem = os.path.splitext(os.path.basename(desc))[0]
    return ["%s-s%04d.vmdk" % (stem, i + 1) for i in range(n)]


def write_descriptor(desc, sectors, names):
    lines = ["# Disk DescriptorFile", "version=1", "CID=fffffffe",
             "parentCID=ffffffff", 'createType="twoGbMaxExtentSparse"', ""]
    lines += ['RW %d SPARSE "%s"' % (sectors, n) for n in names]
    with open(desc, "w") as f:
        f.write("\n".join(lines) + "\n")


def many_huge_gds(desc, n):
    sectors = 4 << 20              # one grain directory entry per sector
    gd_bytes = sectors * 4
    hdr = sparse_header(sectors, 1, 1, 1)
    names = extent_names(desc, n)
    where = os.path.dirname(os.path.abspath(desc))
    for name in names:
        with open(os.path.join(where, name), "wb") as f:
            f.write(hdr)
            f.truncate(512 + gd_bytes)  # an empty directory: a hole
    write_descriptor(desc, sectors, names)
    return n * gd_bytes


GRAIN = 2 << 20
BODY = (b"vdisk memory budget " * (GRAIN // 20 + 1))[:GRAIN - 16]


def prefix(i):
    return b"extent %08d\n" % i


def expected_grain(i):
    return prefix(i) + BODY


def many_compressed(desc, n):
    # One zlib stream per extent without compressing 2 MiB each time: the
    # prefix, a full flush (byte-aligned, no reference across it), then
    # the body deflated once, and the Adler-32 of the whole.
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = c.compress(BODY) + c.flush()
    names = extent_names(desc, n)
    where = os.path.dirname(os.path.abspath(desc))
    # sector 1: grain directory, 2-5: grain table, 6: the grain's marker
    hdr = sparse_header(GRAIN // 512, GRAIN // 512, 512, 1,
                        FLAG_NL_TEST | FLAG_COMPRESSED | FLAG_MARKERS, 1, 6)
    gd = struct.pack("<I", 2).ljust(512, b"\0")
    gt = struct.pack("<I", 6).ljust(2048, b"\0")
    for i, name in enumerate(names):
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        head = c.compress(prefix(i)) + c.flush(zlib.Z_FULL_FLUSH)
        adler = zlib.adler32(BODY, zlib.adler32(prefix(i)))
        stream = b"\x78\x9c" + head + body + struct.pack(">I", adler)
        marker = struct.pack("<QI", 0, len(stream)) + stream
        with open(os.path.join(where, name), "wb") as f:
            f.write(hdr + gd + gt + marker.ljust(-(-len(marker) // 512) * 512, b"\0"))
    write_descriptor(desc, GRAIN // 512, names)
    return n * GRAIN * 2


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    sys.exit("no MemAvailable in /proc/meminfo")


def check_compressed(dev, n):
    # direct I/O: the page cache would blur what MemAvailable shows
    buf = mmap.mmap(-1, GRAIN)
    before = mem_available_kib()
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    try:
        for i in range(n):
            if os.preadv(fd, [buf], i * GRAIN) != GRAIN or buf[:] != expected_grain(i):
                sys.exit("extent %d: grain 0 differs (starts %r)" % (i + 1, buf[:16]))
    finally:
        os.close(fd)
    print("OK", before - mem_available_kib())


BUILDERS = {
    "many-huge-gds": many_huge_gds,
    "many-compressed": many_compressed,
}


def main():
    if len(sys.argv) == 4 and sys.argv[1] in BUILDERS:
        n = int(sys.argv[3])
        print(n, BUILDERS[sys.argv[1]](sys.argv[2], n))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "check-compressed":
        check_compressed(sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit(__doc__)
    with open(sys.argv[2], "r+b") as f:
        off, length = KINDS[sys.argv[1]](f, header(f))
    print(off, length)


if __name__ == "__main__":
    main()
