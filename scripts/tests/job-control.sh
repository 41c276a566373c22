#!/usr/bin/env bash
# desc: layer job control: a second job is EBUSY (exit 3), cancel of a rate-limited rebase leaves chain and content as they were, job --json sane, detach during a job refused (or waits), read-only devices refuse jobs
# tier: full - in make check: job control: vdattach-jobs covers EBUSY as exit 3 and cancel; job-online the rate limit
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

M=$((1 << 20))
B_MIB=$(t_size 32 256)
# the disk holds B_MIB at 32 MiB and more: 128 MiB, 320 in check-full
DISK_MIB=$((B_MIB + 64 > 128 ? B_MIB + 64 : 128))
# The jobs must outlast the checks below: at 1 MiB/s a commit takes B_MIB
# s, a rebase DISK_MIB s (it reads, and is charged for, the whole disk
# where the top allocates nothing)
# a failure while a job runs: cancel it so that cleanup can detach
trap 'for d in $(t_vdevs_of "$T_DIR"); do timeout 20 vdattach cancel "$d" >/dev/null 2>&1; done
	[ -s "$T_DIR/bg.pid" ] && kill "$(cat "$T_DIR/bg.pid")" 2>/dev/null; t_cleanup' EXIT

# Checks of the rate limit fail the test at its end, so that the rest runs.
LATE=()
late_fail() {
	echo "FAIL (reported at the end): $*" >&2
	LATE+=("$*")
}

# job_field DEV KEY...: the first of KEYs in "vdattach job --json DEV"
# (top level or under "job"); state and type as lower-case names
job_field() {
	local dev=$1
	shift
	timeout 20 vdattach job --json "$dev" | python3 -c '
import json, sys
j = json.load(sys.stdin)
if isinstance(j.get("job"), dict):
    j = j["job"]
names = {"state": ["idle", "running", "done", "failed", "cancelled"],
         "type": ["none", "commit", "rebase"]}
for k in sys.argv[1:]:
    for kk in (k, k.replace("_", "-"), k.replace("bytes_", "")):
        if kk in j:
            v = j[kk]
            if k in names and isinstance(v, int):
                v = names[k][v]
            if isinstance(v, str):
                v = v.lower().replace("canceled", "cancelled")
            print(v)
            sys.exit(0)
print("MISSING:" + ",".join(sys.argv[1:]))
' "$@" || fail "vdattach job --json $dev"
}

# wait_state DEV STATE: up to 20 s
wait_state() {
	local s
	for _ in $(seq 200); do
		s=$(job_field "$1" state)
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	fail "job state on $1 is '$s', not '$2'"
}

# t_detach with a bound: a detach after a cancelled job must not hang
t_detach() {
	local rc=0
	timeout 60 vdattach detach "$1" || rc=$?
	[ $rc = 0 ] || fail "vdattach detach $1 exited $rc (124: still waiting after 60 s)"
	for _ in $(seq 100); do [ -b "$1" ] || return 0; sleep 0.02; done
	fail "$1 still exists after detach"
}

# bg_job DEV VDATTACH-ARGS...: a job at 1 MiB/s in the background, running
bg_job() {
	local dev=$1
	shift
	rm -f bg.rc bg.pid
	# (set -e is inherited: a cancelled job's exit 130 must not end the
	# subshell before it records it)
	(vdattach "$@" -r 1M "$dev" >bg.out 2>&1 &
	 echo $! >bg.pid
	 rc=0
	 wait $! || rc=$?
	 echo $rc >bg.rc) &
	wait_state "$dev" running
}

# bg_wait DEV: the background job's vdattach must exit within 60 s (its
# job has ended); on a hang show where it sleeps, kill it, fail
bg_wait() {
	local pid
	for _ in $(seq 600); do [ -s bg.rc ] && { rm -f bg.pid; return 0; }; sleep 0.1; done
	pid=$(cat bg.pid)
	log "vdattach (pid $pid) still running 60 s after its job ended: $(tr '\0' ' ' </proc/$pid/cmdline 2>&1)"
	log "its kernel stack: $(tr '\n' ' ' </proc/$pid/stack 2>&1)"
	log "vdattach job: $(timeout 20 vdattach job "$1" 2>&1 | tr '\n' ' ')"
	kill "$pid"
	fail "the background vdattach did not exit after its job ended (output: $(cat bg.out))"
}

# bg_rebase DEV: a rebase onto disk-a at 1 MiB/s in the background
bg_rebase() {
	bg_job "$1" rebase -b disk-a.qcow2 -F qcow2
}

qemu-img create -q -f qcow2 disk-a.qcow2 "${DISK_MIB}M"
dev=$(t_attach disk-a.qcow2)
head -c $((16 * M)) /dev/urandom | dd of="$dev" bs=1M oflag=direct iflag=fullblock status=none
t_detach "$dev"
qemu-img create -q -f qcow2 -b disk-a.qcow2 -F qcow2 disk-b.qcow2
dev=$(t_attach disk-b.qcow2)
head -c $((B_MIB * M)) /dev/urandom | dd of="$dev" bs=1M seek=32 oflag=direct iflag=fullblock status=none
t_detach "$dev"
qemu-img create -q -f qcow2 -b disk-b.qcow2 -F qcow2 disk-c.qcow2
cp --sparse=always disk-c.qcow2 orig-c.qcow2
orig=$(t_view_digest disk-c.qcow2)

dev=$(t_attach disk-c.qcow2)
expect_eq "job state before any job" "$(job_field "$dev" state)" idle
log "vdattach job (idle): $(vdattach job "$dev" 2>&1 | tr '\n' ' ')"
rc=0; out=$(vdattach cancel "$dev" 2>&1) || rc=$?
log "cancel without a job: exit $rc: $out"
[ $rc != 0 ] || fail "vdattach cancel without a running job exited 0"
t_detach "$dev"

# ---- a running commit: EBUSY for a second job, cancel keeps the view ----
qemu-img create -q -f qcow2 -b disk-a.qcow2 -F qcow2 cm-top.qcow2
dev=$(t_attach cm-top.qcow2)
head -c $((B_MIB * M)) /dev/urandom | dd of="$dev" bs=1M seek=8 oflag=direct iflag=fullblock status=none
view=$(t_digest "$dev")
bg_job "$dev" commit
expect_fail_with 3 "[Bb]usy|running" vdattach commit "$dev"
expect_fail_with 3 "[Bb]usy|running" vdattach rebase -b disk-a.qcow2 -F qcow2 "$dev"
expect_eq "job type" "$(job_field "$dev" type)" commit
expect_eq "job rate limit" "$(job_field "$dev" rate_limit)" $M
sleep 2
timeout 60 vdattach cancel "$dev" || fail "vdattach cancel (commit) exited $?"
expect_eq "job state after cancel (commit)" "$(job_field "$dev" state)" cancelled
copied=$(job_field "$dev" bytes_copied)
bg_wait "$dev"
log "the cancelled commit: $copied bytes copied; command exit $(cat bg.rc): $(cat bg.out)"
[ "$(cat bg.rc)" != 0 ] || fail "the cancelled vdattach commit exited 0"
el=$(job_field "$dev" elapsed_ns)
[ $((copied * 1000000000 / (el + 1))) -le $((M * 13 / 10)) ] ||
	late_fail "commit -r 1M copied $copied bytes in $((el / 1000000)) ms"
expect_eq "layers after a cancelled commit" "$(t_nr_layers "$dev")" 2
echo 3 >/proc/sys/vm/drop_caches
expect_eq "device after a cancelled commit" "$(t_digest "$dev")" "$view"
t_detach "$dev"
t_check_clean cm-top.qcow2
t_check_clean disk-a.qcow2
expect_eq "backing after a cancelled commit" "$(t_info cm-top.qcow2 backing-filename)" disk-a.qcow2
expect_eq "view after a cancelled commit" "$(t_view_digest cm-top.qcow2)" "$view"
log "ok cancel of a commit"
# disk-a now holds part of the commit: make the rebase chain afresh
qemu-img create -q -f qcow2 disk-a.qcow2 "${DISK_MIB}M"
dev=$(t_attach disk-a.qcow2)
head -c $((16 * M)) /dev/urandom | dd of="$dev" bs=1M oflag=direct iflag=fullblock status=none
t_detach "$dev"
qemu-img create -q -f qcow2 -b disk-a.qcow2 -F qcow2 disk-b.qcow2
dev=$(t_attach disk-b.qcow2)
head -c $((B_MIB * M)) /dev/urandom | dd of="$dev" bs=1M seek=32 oflag=direct iflag=fullblock status=none
t_detach "$dev"
qemu-img create -q -f qcow2 -b disk-b.qcow2 -F qcow2 disk-c.qcow2
cp --sparse=always disk-c.qcow2 orig-c.qcow2
orig=$(t_view_digest disk-c.qcow2)
dev=$(t_attach disk-c.qcow2)

# ---- a running rebase: a second job is EBUSY, status fields sane ----
bg_rebase "$dev"
expect_fail_with 3 "[Bb]usy|running" vdattach commit "$dev"
expect_fail_with 3 "[Bb]usy|running" vdattach rebase -b disk-a.qcow2 -F qcow2 "$dev"
expect_fail_with 3 "[Bb]usy|running" vdattach rebase -u -b disk-a.qcow2 -F qcow2 "$dev"
expect_eq "job type" "$(job_field "$dev" type)" rebase
expect_eq "job rate limit" "$(job_field "$dev" rate_limit)" $M
total=$(job_field "$dev" bytes_total)
done1=$(job_field "$dev" bytes_done)
sleep 3
done2=$(job_field "$dev" bytes_done)
copied=$(job_field "$dev" bytes_copied)
log "job --json while running: total $total, done $done1 -> $done2 in 3 s, copied $copied"
log "vdattach job: $(vdattach job "$dev" 2>&1 | tr '\n' ' ')"
[[ $total =~ ^[0-9]+$ && $done1 =~ ^[0-9]+$ && $done2 =~ ^[0-9]+$ && $copied =~ ^[0-9]+$ ]] ||
	fail "job --json byte counts: total '$total' done '$done1' '$done2' copied '$copied'"
[ "$total" -gt 0 ] && [ "$done2" -le "$total" ] || fail "bytes_done $done2 of bytes_total $total"
[ "$done2" -gt "$done1" ] || fail "no progress in 3 s: bytes_done $done1 -> $done2"
# a rebase is charged for every byte it reads where the top allocates
# nothing: all of it but [16M, 32M), which no layer of either chain holds
# (known zeros, walked without reading); charged / elapsed is the rate it
# is held to
el=$(job_field "$dev" elapsed_ns)
gap=$((done2 <= 16 * M ? 0 : done2 >= 32 * M ? 16 * M : done2 - 16 * M))
charged=$((done2 - gap))
log "rebase -r 1M: $done2 bytes walked ($charged read) in $((el / 1000000)) ms"
[ $((charged * 1000000000 / (el + 1))) -le $((M * 13 / 10)) ] ||
	late_fail "rebase -r 1M walked $done2 bytes in $((el / 1000000)) ms"
expect_eq "layers while the job runs" "$(t_nr_layers "$dev")" 3

# ---- cancel: chain, backing and content as before ----
timeout 60 vdattach cancel "$dev" || fail "vdattach cancel exited $?"
expect_eq "job state after cancel" "$(job_field "$dev" state)" cancelled
bg_wait "$dev"
log "the cancelled rebase command: exit $(cat bg.rc): $(cat bg.out)"
[ "$(cat bg.rc)" != 0 ] || fail "the cancelled vdattach rebase exited 0"
expect_eq "layers after cancel" "$(t_nr_layers "$dev")" 3
expect_eq "device after cancel" "$(t_digest "$dev")" "$orig"
t_detach "$dev"
t_check_clean disk-c.qcow2
expect_eq "backing after cancel" "$(t_info disk-c.qcow2 backing-filename)" disk-b.qcow2
t_compare disk-c.qcow2 orig-c.qcow2
expect_eq "view after cancel" "$(t_view_digest disk-c.qcow2)" "$orig"
log "ok cancel"

# ---- detach while a job runs: refused with EBUSY, or waits ----
dev=$(t_attach disk-c.qcow2)
bg_rebase "$dev"
rc=0; out=$(timeout 300 vdattach detach "$dev" 2>&1) || rc=$?
case $rc in
3)	log "detach during a job: refused, exit 3: $out"
	[ -b "$dev" ] || fail "device gone after a refused detach"
	expect_eq "job state after the refused detach" "$(job_field "$dev" state)" running
	timeout 60 vdattach cancel "$dev" || fail "cancel after the refused detach"
	bg_wait "$dev"
	t_detach "$dev" ;;
0)	bg_wait "$dev"
	log "detach during a job: exit 0 (waited or cancelled); the job's command exit $(cat bg.rc): $(cat bg.out)"
	for _ in $(seq 100); do [ -b "$dev" ] || break; sleep 0.05; done
	[ ! -b "$dev" ] || fail "device still there after detach exited 0" ;;
*)	fail "detach during a job exited $rc: $out" ;;
esac
t_check_clean disk-c.qcow2
t_compare disk-c.qcow2 orig-c.qcow2
log "disk-c's backing after the detach case: $(t_info disk-c.qcow2 backing-filename)"

# ---- read-only devices and impossible jobs are refused ----
sum=$(t_sum disk-c.qcow2)
dev=$(t_attach -r disk-c.qcow2)
expect_fail_with 2 "." vdattach commit "$dev"
expect_fail_with 2 "." vdattach commit -b disk-a.qcow2 "$dev"
expect_fail_with 2 "." vdattach rebase -b disk-a.qcow2 -F qcow2 "$dev"
expect_eq "job state on the read-only device" "$(job_field "$dev" state)" idle
t_detach "$dev"
expect_eq "disk-c after refused jobs" "$(t_sum disk-c.qcow2)" "$sum"
dev=$(t_attach disk-a.qcow2)
expect_fail_with 2 "." vdattach commit "$dev"	# nothing to commit into
t_detach "$dev"
rc=0; vdattach rebase -u --dedup -b disk-a.qcow2 -F qcow2 disk-c.qcow2 >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || [ $rc = 2 ] || fail "rebase -u --dedup exited $rc, want 1 or 2"
expect_eq "disk-c after refused jobs" "$(t_sum disk-c.qcow2)" "$sum"
log "ok refusals"
rm -f ./*.qcow2
[ ${#LATE[@]} = 0 ] || fail "${LATE[*]}"
