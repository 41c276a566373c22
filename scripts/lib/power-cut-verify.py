#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""power-cut-verify.py - the host half of scripts/power-cut.

Usage: power-cut-verify.py MODEL UNKNOWN LOG IMAGE_RAW

MODEL is a raw file with what the disk must hold wherever it is known;
UNKNOWN a JSON list of [start, end) byte ranges whose content is not known
(written but not fsynced before a power cut).  LOG is the guest's log of
one run (see power-cut-guest.py).  Operations before the last "F" line
were made durable: they are applied to MODEL.  Later ones may or may not
have landed: their ranges become unknown.  Then IMAGE_RAW (the image as
qemu-img reads it) must equal MODEL outside the unknown ranges.  Prints a
one-line summary; exits 1 on a mismatch.
"""
import json
import os
import random
import sys


def data_for(iteration, n, length):
    return random.Random(iteration * 1000003 + n).randbytes(length)


def add_range(ranges, start, end):
    ranges.append([start, end])
    ranges.sort()
    merged = []
    for s, e in ranges:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def remove_range(ranges, start, end):
    out = []
    for s, e in ranges:
        if e <= start or s >= end:
            out.append([s, e])
            continue
        if s < start:
            out.append([s, start])
        if e > end:
            out.append([end, e])
    return out


def main():
    model_path, unknown_path, log_path, image_path = sys.argv[1:5]
    unknown = json.load(open(unknown_path)) if os.path.exists(unknown_path) else []
    ops, durable, iteration = [], 0, None
    for line in open(log_path):
        f = line.split()
        if not f:
            continue
        if f[0] == "START":
            iteration = int(f[1])
        elif f[0] in ("W", "Z") and len(f) == 4:
            ops.append((f[0], int(f[1]), int(f[2]), int(f[3])))
        elif f[0] == "F" and len(f) == 2:
            durable = int(f[1])
    if iteration is None:
        print("power-cut-verify: the guest never started writing")
        return 2
    with open(model_path, "r+b") as model:
        for kind, n, off, length in ops:
            if n < durable:
                model.seek(off)
                model.write(b"\0" * length if kind == "Z" else
                            data_for(iteration, n, length))
                unknown = remove_range(unknown, off, off + length)
            else:
                unknown = add_range(unknown, off, off + length)
    json.dump(unknown, open(unknown_path, "w"))

    bad = 0
    chunk = 1 << 20
    with open(model_path, "rb") as model, open(image_path, "rb") as image:
        pos = 0
        while True:
            a = model.read(chunk)
            b = image.read(chunk)
            if not a:
                break
            if a != b[:len(a)] or len(b) < len(a):
                for i in range(0, len(a), 4096):
                    s = pos + i
                    if a[i:i + 4096] == b[i:i + 4096]:
                        continue
                    if any(us <= s and s < ue for us, ue in unknown):
                        continue
                    bad += 1
                    if bad <= 5:
                        print("power-cut-verify: 4 KiB block at %d differs" % s)
            pos += len(a)
    print("power-cut-verify: %d operations, %d durable, %d unknown ranges, %d bad blocks"
          % (len(ops), min(durable, len(ops)), len(unknown), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
