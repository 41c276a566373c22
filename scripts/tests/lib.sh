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
T_VDEVS=()
T_LOOPS=()

rm -rf "$T_DIR"
mkdir -p "$T_DIR"

t_cleanup() {
	local m d
	set +e
	for ((i = ${#T_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${T_MOUNTS[i]}
		mountpoint -q "$m" && umount "$m"
	done
	for d in "${T_VDEVS[@]}"; do
		[ -b "$d" ] && vdattach detach "$d" >/dev/null 2>&1
	done
	for d in "${T_LOOPS[@]}"; do
		losetup -d "$d" 2>/dev/null
	done
	rm -rf "$T_DIR"
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

# t_attach [vdattach attach args...]: attach and remember the device
t_attach() {
	local dev
	dev=$(vdattach attach "$@") || fail "vdattach attach $* failed"
	[ -b "$dev" ] || fail "vdattach printed '$dev', not a block device"
	T_VDEVS+=("$dev")
	echo "$dev"
}

# t_loop FILE [losetup args]: reference device through loop
t_loop() {
	local dev
	modprobe loop 2>/dev/null || true
	dev=$(losetup -f --show "$@") || fail "losetup $* failed"
	T_LOOPS+=("$dev")
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

sha() {
	sha256sum "$1" | cut -d' ' -f1
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

# pattern_file FILE MIB SEED: deterministic pseudo-random content
pattern_file() {
	python3 - "$1" "$2" "$3" <<'PY'
import random, sys
path, mib, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
with open(path, "wb") as f:
    for _ in range(mib):
        f.write(rng.randbytes(1 << 20))
PY
}
