# SPDX-License-Identifier: GPL-2.0
# lib.sh - helpers for the VM integration tests (sourced by each test).
#
# Each test runs in the guest (scripts/vm-run) with vdisk.ko loaded, in a
# private directory under /scratch that is removed afterwards together with
# every device, mount and loop device the test created through these helpers.

set -euo pipefail

T_NAME=$(basename "$0" .sh)
T_DIR=/scratch/$T_NAME
T_MOUNTS=()

rm -rf "$T_DIR"
mkdir -p "$T_DIR"

# Devices are found by their backing files rather than remembered: helpers
# run in $(...) subshells, which cannot update the caller's variables.
t_cleanup() {
	local m d
	set +e
	for ((i = ${#T_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${T_MOUNTS[i]}
		mountpoint -q "$m" && umount "$m"
	done
	for d in $(t_vdevs_of "$T_DIR"); do
		vdattach detach "$d" >/dev/null 2>&1
	done
	for d in $(losetup -n -l -O NAME,BACK-FILE 2>/dev/null | awk -v p="$T_DIR/" 'index($2, p) == 1 { print $1 }'); do
		losetup -d "$d"
	done
	rm -rf "$T_DIR"
}

# t_vdevs_of DIR: vdisk devices with any layer in DIR
t_vdevs_of() {
	vdattach list --json 2>/dev/null | python3 -c '
import json, sys
for d in json.load(sys.stdin)["vdisks"]:
    if any(l["path"].startswith(sys.argv[1] + "/") for l in d["layers"]):
        print(d["name"])
' "$1"
}
trap t_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

log() {
	echo "# $*"
}

# t_img NAME SIZE: a sparse raw file in the test directory; prints its path
t_img() {
	local f=$T_DIR/$1
	truncate -s "$2" "$f"
	echo "$f"
}

# t_attach [vdattach attach args...]: attach (cleanup detaches it)
t_attach() {
	local dev
	dev=$(vdattach attach "$@") || fail "vdattach attach $* failed"
	[ -b "$dev" ] || fail "vdattach printed '$dev', not a block device"
	echo "$dev"
}

# t_loop FILE [losetup args]: reference device through loop
t_loop() {
	local dev
	modprobe loop 2>/dev/null || true
	dev=$(losetup -f --show "$@") || fail "losetup $* failed"
	echo "$dev"
}

# t_mount DEV DIR [mount args]
t_mount() {
	local dev=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	mount "$@" "$dev" "$dir" || fail "mount $dev $dir failed"
	T_MOUNTS+=("$dir")
}

t_umount() {
	umount "$1" || fail "umount $1 failed"
}

# t_detach DEV: detach a device attached with t_attach
t_detach() {
	vdattach detach "$1" || fail "vdattach detach $1 failed"
	local i
	for i in $(seq 100); do
		[ -b "$1" ] || return 0
		sleep 0.02
	done
	fail "$1 still exists after detach"
}

# t_sum FILE: a checksum of FILE's content, for telling two contents apart
# (md5: under TCG it hashes 2.5x faster than sha256, and nothing here
# defends against a chosen collision)
t_sum() {
	md5sum "$1" | cut -d' ' -f1
}

# t_region_sum FILE OFF LEN: a checksum of bytes [OFF, OFF + LEN) of FILE
t_region_sum() {
	dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=64k status=none |
		md5sum | cut -d' ' -f1
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# expect_fail_with STATUS PATTERN CMD...: CMD must exit with STATUS and
# print something matching PATTERN (grep -E) on stderr or stdout
expect_fail_with() {
	local want=$1 pat=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want (output: $out)"
	echo "$out" | grep -Eq -- "$pat" || fail "'$*' said '$out', want /$pat/"
}

# pattern_file FILE MIB: MIB MiB of random content (the kernel's CSPRNG is
# far faster under TCG than anything seeded in userspace)
pattern_file() {
	head -c $(($2 << 20)) /dev/urandom >"$1"
}

# ---- layer jobs (vdattach commit / rebase): the job-*.sh tests ----

# VDISK_TEST_FULL=1 (vm-tests --full) makes the job tests use the seed's
# sizes (10 GiB disks, 1 GiB and 512 MiB files) instead of scaled ones.
# t_size SMALL FULL: prints the one that applies
t_size() {
	if [ "${VDISK_TEST_FULL:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi
}

# t_full: true in make check-full's run; a test does its cases that repeat
# what another case of make check already proves only there
t_full() {
	[ "${VDISK_TEST_FULL:-0}" = 1 ]
}

# t_check_clean IMG: qemu-img check exits 0 and finds no error or leak
t_check_clean() {
	local out rc=0
	out=$(qemu-img check "$1" 2>&1) || rc=$?
	[ $rc = 0 ] && echo "$out" | grep -q "No errors were found" ||
		{ echo "$out"; fail "qemu-img check $(basename "$1") exited $rc"; }
}

# t_compare A B: qemu-img compare says identical (exit 0); formats probed
t_compare() {
	local out rc=0
	out=$(qemu-img compare "$1" "$2" 2>&1) || rc=$?
	[ $rc = 0 ] || fail "qemu-img compare $(basename "$1") $(basename "$2") exited $rc: $out"
}

# t_du_k FILE: disk usage in KiB
t_du_k() {
	du -k "$1" | cut -f1
}

# t_within WHAT GOT WANT PCT: GOT within PCT percent of WANT
t_within() {
	local what=$1 got=$2 want=$3 pct=$4
	[ $((got * 100)) -le $((want * (100 + pct))) ] &&
		[ $((got * 100)) -ge $((want * (100 - pct))) ] ||
		fail "$what: $got not within $pct% of $want"
}

# t_info IMG KEY: a top-level field of qemu-img info --output=json ("" if
# absent); KEY may be a dotted path like format-specific.data.cid
t_info() {
	qemu-img info --output=json "$1" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)
' "$2"
}

# t_digest FILE|DEV: a digest of the bytes of a file or a device that
# reads only what is not zero (view_digest.py: a file's holes are skipped,
# a device's zero chunks cost one memcmp); equal contents, equal digests,
# whether they come from a file or a device
t_digest() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/view_digest.py" "$1" ||
		fail "view_digest.py $1"
}

# t_view_digest IMG: t_digest of the guest view of IMG (its whole chain),
# through qemu-img convert -O raw (which writes a sparse file)
t_view_digest() {
	local raw=$T_DIR/.view.raw sum
	rm -f "$raw"
	qemu-img convert -O raw "$1" "$raw" || fail "qemu-img convert -O raw $1"
	sum=$(t_digest "$raw")
	rm -f "$raw"
	echo "$sum"
}

# t_allocated_k IMG: KiB of data IMG itself holds (qemu-img map, depth 0)
t_allocated_k() {
	qemu-img map --output=json "$1" | python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin)
          if e["depth"] == 0 and e["data"]) // 1024)
'
}

# t_nr_layers DEV: depth of the live stack in sysfs
t_nr_layers() {
	wc -l <"/sys/block/${1#/dev/}/vdisk/chain"
}

# t_job VDATTACH-ARGS...: run "vdattach commit|rebase ..." which must exit
# 0 and print its one line "<cmd> <dev>: done: N bytes copied, N equal,
# N dropped in S s (R MiB/s)".  Not in a subshell: sets JOB_LINE,
# JOB_COPIED, JOB_EQUAL, JOB_DROPPED, JOB_SECS, JOB_KIBS (KiB/s copied).
# Killed (a failure) after T_JOB_TIMEOUT seconds, default 600.
t_job() {
	local out rc=0 re
	out=$(timeout "${T_JOB_TIMEOUT:-600}" vdattach "$@" 2>&1) || rc=$?
	[ $rc != 124 ] || fail "vdattach $* still running after ${T_JOB_TIMEOUT:-600} s: $out"
	[ $rc = 0 ] || fail "vdattach $* exited $rc: $out"
	re='done: ([0-9]+) bytes copied, ([0-9]+) (bytes )?equal, ([0-9]+) (bytes )?dropped in ([0-9.]+) s'
	JOB_LINE=$(echo "$out" | grep -E "$re" | tail -1)
	[[ $JOB_LINE =~ $re ]] || fail "vdattach $*: no 'done:' line in: $out"
	JOB_COPIED=${BASH_REMATCH[1]}
	JOB_EQUAL=${BASH_REMATCH[2]}
	JOB_DROPPED=${BASH_REMATCH[4]}
	JOB_SECS=${BASH_REMATCH[6]}
	JOB_KIBS=$(awk -v b="$JOB_COPIED" -v s="$JOB_SECS" 'BEGIN { printf "%d", (s > 0 ? b / 1024 / s : 0) }')
	log "vdattach $*: $JOB_LINE"
}

# t_xfs_with_file DEV MNT FILE MIB [mkfs]: (mkfs.xfs and) mount DEV, write
# MIB MiB of random data to MNT/FILE, unmount
t_xfs_with_file() {
	[ "${5:-}" = mkfs ] && { mkfs.xfs -q "$1" || fail "mkfs.xfs on $1"; }
	t_mount "$1" "$2"
	pattern_file "$2/$3" "$4"
	sync
	t_umount "$2"
}
