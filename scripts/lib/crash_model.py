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


def check(state, initial, sets, contents):
    """the blocks of state that hold no allowed content: [(blk, allowed)]"""
    bad = []
    touched = sorted(sets)
    t = 0
    chunk = 256 * BLOCK
    with open(state, "rb") as s, open(initial, "rb") as i:
        pos = 0
        while True:
            a = s.read(chunk)
            b = i.read(chunk)
            if not a:
                break
            first, end = pos // BLOCK, (pos + len(a)) // BLOCK
            if a != b:
                # untouched blocks must still hold the initial content
                for blk in range(first, end):
                    o = (blk - first) * BLOCK
                    if blk not in sets and a[o:o + BLOCK] != b[o:o + BLOCK]:
                        bad.append((blk, {INITIAL}))
            while t < len(touched) and touched[t] < end:
                blk = touched[t]
                t += 1
                o = (blk - first) * BLOCK
                got = a[o:o + BLOCK]
                allowed = sets[blk]
                if INITIAL in allowed and got == b[o:o + BLOCK]:
                    continue
                if not any(got == contents.block(tok, blk)
                           for tok in allowed if tok != INITIAL):
                    bad.append((blk, allowed))
            pos += len(a)
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
