#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""crash_model.py - the model check of one crash state (scripts/crash-states).

Usage: crash_model.py OPS_LOG SEED DURABLE INITIAL_RAW BACKING_RAW|- STATE_RAW

OPS_LOG is crash_workload.py's list of operations; batches 1..DURABLE
were made durable (their fsync returned and its mark is in the log before
the state's point), later ones may have landed in part or not at all.
INITIAL_RAW is the device's content before the first operation,
BACKING_RAW what the backing chain shows ("-": no backing file: zeros),
STATE_RAW the image of the crash state as qemu-img reads it.

Every 4 KiB block of STATE_RAW must hold one of the contents the model
allows it: the last durable operation's (or the initial content), or any
content a later operation wrote there.  A durable discard allows the old
content, zeros or the backing file's: a discard promises nothing about
what is read afterwards.  Exits 1 and names the first bad blocks when one
holds anything else; prints a summary line either way.
"""
import os
import sys

from crash_workload import BLOCK, data_for

INITIAL, ZERO, BACKING = "initial", "zero", "backing"
ZERO_BLOCK = bytes(BLOCK)


def read_ops(path):
    ops = []
    with open(path) as f:
        for line in f:
            kind, batch, n, off, length = line.split()
            ops.append((kind, int(batch), int(n), int(off), int(length)))
    return ops


def allowed_sets(ops, durable):
    """per block: the set of contents it may hold (None: only INITIAL)"""
    sets = {}
    for kind, batch, n, off, length in ops:
        new = {"W": {("W", n)}, "Z": {ZERO}, "D": {ZERO, BACKING}}[kind]
        for blk in range(off // BLOCK, (off + length) // BLOCK):
            old = sets.get(blk, {INITIAL})
            if batch <= durable and kind != "D":
                sets[blk] = set(new)
            else:
                sets[blk] = old | new
    return sets


class Contents:
    def __init__(self, ops, seed, initial, backing):
        self.where = {n: (off, length) for _, _, n, off, length in ops}
        self.seed = seed
        self.cache = {}
        self.initial = open(initial, "rb")
        self.backing = open(backing, "rb") if backing != "-" else None

    def block(self, token, blk):
        if token == ZERO:
            return ZERO_BLOCK
        if token in (INITIAL, BACKING):
            f = self.initial if token == INITIAL else self.backing
            if f is None:
                return ZERO_BLOCK
            f.seek(blk * BLOCK)
            return f.read(BLOCK).ljust(BLOCK, b"\0")
        n = token[1]
        if n not in self.cache:
            off, length = self.where[n]
            self.cache[n] = data_for(self.seed, n, length)
        off = self.where[n][0]
        start = blk * BLOCK - off
        return self.cache[n][start:start + BLOCK]


def describe(token):
    return "write #%d" % token[1] if isinstance(token, tuple) else token


def data_ranges(path):
    """[start, end) ranges of path that may hold data (SEEK_DATA), in
    whole blocks"""
    out = []
    with open(path, "rb") as f:
        fd, size, pos = f.fileno(), os.fstat(f.fileno()).st_size, 0
        while pos < size:
            try:
                d = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            h = os.lseek(fd, d, os.SEEK_HOLE)
            out.append((d - d % BLOCK, min(-(-h // BLOCK) * BLOCK, size)))
            pos = h
    return out


def merge(ranges):
    out = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def check_block(blk, got, init, sets, contents):
    """None if blk may hold got, else the set it may hold"""
    allowed = sets.get(blk)
    if allowed is None:
        return None if got == init else {INITIAL}
    if INITIAL in allowed and got == init:
        return None
    if any(got == contents.block(tok, blk) for tok in allowed if tok != INITIAL):
        return None
    return allowed


def check(state, initial, sets, contents):
    """the blocks of state that hold no allowed content: [(blk, allowed)].
    Where neither file holds data (holes of both: a 2 GiB disk is mostly
    that) both read zeros, and only blocks an operation touched are
    looked at."""
    bad = []
    regions = merge(data_ranges(state) + data_ranges(initial))
    seen = set()
    chunk = 256 * BLOCK
    with open(state, "rb") as s, open(initial, "rb") as i:
        for start, end in regions:
            pos = start
            while pos < end:
                n = min(chunk, end - pos)
                s.seek(pos)
                i.seek(pos)
                a, b = s.read(n), i.read(n)
                first = pos // BLOCK
                for k in range(n // BLOCK):
                    blk = first + k
                    seen.add(blk)
                    got = a[k * BLOCK:(k + 1) * BLOCK]
                    init = b[k * BLOCK:(k + 1) * BLOCK]
                    if got == init and blk not in sets:
                        continue
                    allowed = check_block(blk, got, init, sets, contents)
                    if allowed is not None:
                        bad.append((blk, allowed))
                pos += n
    for blk in sets:
        if blk not in seen:
            allowed = check_block(blk, ZERO_BLOCK, ZERO_BLOCK, sets, contents)
            if allowed is not None:
                bad.append((blk, allowed))
    return sorted(bad)


def main():
    ops_path, seed, durable = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    initial, backing, state = sys.argv[4:7]
    if os.path.getsize(state) != os.path.getsize(initial):
        print("crash_model: the state shows %d bytes, the device had %d"
              % (os.path.getsize(state), os.path.getsize(initial)))
        return 1
    ops = read_ops(ops_path)
    sets = allowed_sets(ops, durable)
    bad = check(state, initial, sets, Contents(ops, seed, initial, backing))
    for blk, allowed in bad[:5]:
        print("crash_model: block %d (byte %d) holds none of: %s" % (
            blk, blk * BLOCK, ", ".join(sorted(describe(t) for t in allowed))))
    print("crash_model: %d operations, batches 1-%d durable, %d blocks touched, %d bad"
          % (len(ops), durable, len(sets), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
