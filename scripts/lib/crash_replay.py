#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""crash_replay.py - build the crash states of a dm-log-writes log and check
each one (scripts/crash-states).

Usage: crash_replay.py [--flushes F] [--last-only E] LOG DISK_BYTES WORKDIR
                       START_MARK STATES SEED CHECK...

Replays LOG (see crash_log.py) onto a sparse file of DISK_BYTES in WORKDIR
and, after START_MARK (the images exist and are durable), stops at
  - every flush and FUA entry (or F of them, spread evenly, the last one
    always among them): the disk as it held the log up to there;
  - STATES random points between two flushes, where each write logged
    since the last flush is kept or dropped at random (FUA writes are
    kept: they were durable when they completed) - what a disk with a
    volatile write cache may hold after a power cut;
  - in E epochs of several writes (all with -1, the default), spread
    evenly, the state that holds only the epoch's last write.
For each state it makes a reflink copy of the replayed disk (the random
writes go into the copy only) and runs "CHECK... STATE_FILE DURABLE NAME",
where DURABLE is the number of the last "bN" mark logged before the state's
cut (batches 1..N of crash_workload.py are durable there; a random state
is cut just before the flush that ends its epoch, after the epoch's marks).  CHECK's exit
status passes or fails the state.  Prints "ok"/"FAIL" per state and last
"N passed, N failed".
"""
import os
import random
import subprocess
import sys
import time

from crash_log import FLUSH, FUA, MARK, Log


def batch_of(mark):
    if mark and mark[0] == "b" and mark[1:].isdigit():
        return int(mark[1:])
    return None


def plan_states(log, start, count, flushes, last_only, rng):
    """(position, kept_writes, marks_until, name): the state holds entries
    [0, position) and, for a random state, the listed writes after them;
    the marks logged before marks_until count as made durable"""
    states = []
    last_flush = start
    epochs = []         # (flush position, [its writes], position of the next)
    pending = []
    for e in log.entries[start:]:
        if e.flags & (FLUSH | FUA):
            if pending:
                epochs.append((last_flush, pending, e.index))
            states.append((e.index + 1, [], e.index + 1, "flush@%d" % e.index))
            last_flush = e.index + 1
            pending = []
        elif not e.flags & MARK and e.nr_sectors:
            pending.append(e)
    if pending:
        epochs.append((last_flush, pending, len(log.entries)))
    if 0 <= flushes < len(states):
        step = len(states) / max(flushes, 1)
        states = [states[len(states) - 1 - int(i * step)] for i in range(flushes)]
    # A random state is a cut just before the flush that ends its epoch
    # completed: of the writes that flush was to make durable (all had
    # completed, in any order inside the disk's cache), any subset reached
    # the disk.  Half the states keep each write at random; the other half
    # keep a random tail and little before it, the shape of the ordering
    # bugs that matter (a table on disk, what it points to not).  The marks
    # logged in the epoch came before the cut: the workload was told those
    # batches were durable.  Epochs with several writes come first: only
    # there can an order between writes be lost.
    weighted = [ep for ep in epochs if len(ep[1]) > 1] or epochs
    # And in LAST_ONLY epochs (spread evenly; all with -1) the state where
    # only the last write reached the disk: what a table written last
    # names must then be on disk already.
    several = [ep for ep in epochs if len(ep[1]) > 1]
    if 0 <= last_only < len(several):
        step = len(several) / max(last_only, 1)
        several = [several[int(i * step)] for i in range(last_only)]
    for base, writes, end in several:
        states.append((base, writes[-1:], end,
                       "last@%d:1/%d" % (base, len(writes))))
    for i in range(count if weighted else 0):
        base, writes, end = rng.choice(weighted)
        n = len(writes)
        if i % 2 == 0:
            kept = [w for w in writes if rng.random() < 0.5]
        else:
            tail = rng.randrange(n)
            kept = [w for j, w in enumerate(writes) if j >= tail or rng.random() < 0.3]
        kept += [w for w in writes if w.flags & FUA and w not in kept]
        kept.sort(key=lambda w: w.index)
        if len(kept) == n and n > 1:
            kept.pop(rng.randrange(n))      # drop at least one
        states.append((base, kept, end, "random%d@%d:%d/%d" % (i, base, len(kept), n)))
    states.sort(key=lambda s: (s[0], len(s[1])))
    return states


def main():
    args = sys.argv[1:]
    flushes = last_only = -1
    while args[:1] in (["--flushes"], ["--last-only"]):
        if args[0] == "--flushes":
            flushes = int(args[1])
        else:
            last_only = int(args[1])
        args = args[2:]
    log_path, disk_bytes, workdir, start_mark = args[0], int(args[1]), args[2], args[3]
    count, seed, check = int(args[4]), int(args[5]), args[6:]
    log = Log(log_path)
    start = next((e.index + 1 for e in log.entries if e.mark == start_mark), None)
    if start is None:
        print("crash_replay: no mark %r in %s" % (start_mark, log_path))
        return 1
    rng = random.Random(seed)
    states = plan_states(log, start, count, flushes, last_only, rng)
    print("crash_replay: %d log entries, %d after %r; %d states (%d at flushes, %d last writes only)"
          % (len(log.entries), len(log.entries) - start, start_mark, len(states),
             sum(1 for s in states if s[3].startswith("flush")),
             sum(1 for s in states if s[3].startswith("last"))))
    print("crash_replay: marks " + " ".join(
        "%s@%d" % (e.mark, e.index) for e in log.entries if e.flags & MARK))
    sys.stdout.flush()

    work = os.path.join(workdir, "replay.img")
    state_file = os.path.join(workdir, "state.img")
    with open(work, "wb") as f:
        f.truncate(disk_bytes)
    fd = os.open(work, os.O_RDWR)
    marks = [(e.index, batch_of(e.mark)) for e in log.entries
             if e.flags & MARK and batch_of(e.mark) is not None]
    applied = 0
    passed = failed = 0
    for pos, kept, marks_until, name in states:
        while applied < pos:
            log.apply(log.entries[applied], fd)
            applied += 1
        durable = max([b for i, b in marks if i < marks_until], default=0)
        os.fsync(fd)
        subprocess.run(["cp", "--reflink=always", work, state_file], check=True)
        if kept:
            sfd = os.open(state_file, os.O_RDWR)
            for e in kept:
                log.apply(e, sfd)
            os.close(sfd)
        t0 = time.time()
        rc = subprocess.run(check + [state_file, str(durable), name]).returncode
        secs = time.time() - t0
        what = "batches 1-%d durable" % durable if durable else "no batch durable"
        if rc == 0:
            passed += 1
            print("ok   %s (%s, %.1fs)" % (name, what, secs))
        else:
            failed += 1
            print("FAIL %s (%s, exit %d)" % (name, what, rc))
        sys.stdout.flush()
        os.unlink(state_file)
    os.close(fd)
    os.unlink(work)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
