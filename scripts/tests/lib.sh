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

# pattern_file FILE MIB: MIB MiB of random content (the kernel's CSPRNG is
# far faster under TCG than anything seeded in userspace)
pattern_file() {
	head -c $(($2 << 20)) /dev/urandom >"$1"
}
