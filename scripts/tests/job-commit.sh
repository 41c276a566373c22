#!/usr/bin/env bash
# desc: online commit: qcow2 base <- mid <- top (overlapping, partial-cluster and zeroed writes) committed with -b base: view unchanged, mid dropped, base = old view = qemu-img commit's base; -d empties the top; raw and vmdk bases too
# tier: full - in make check: commit: vdattach-jobs and fmt-jobs commit into raw, qcow2 and vmdk bases, past an intermediate and with -d
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

M=$((1 << 20))
K=1024

# wr DEV KIND OFF LEN: write LEN bytes at byte OFF of DEV (buffered, any
# alignment): KIND rand (random data), zero (zeros written as data) or wz
# (write-zeroes, blkdiscard -z, where the device offers it)
wr() {
	local dev=$1 kind=$2 off=$3 len=$4 src=/dev/urandom
	if [ "$kind" = wz ]; then
		if [ "$(cat "/sys/block/${dev#/dev/}/queue/write_zeroes_max_bytes")" -gt 0 ]; then
			blkdiscard -z -o "$off" -l "$len" "$dev" || fail "blkdiscard -z -o $off -l $len $dev"
			return
		fi
		kind=zero
	fi
	[ "$kind" = zero ] && src=/dev/zero
	head -c "$len" "$src" | dd of="$dev" bs=64k seek="$off" oflag=seek_bytes \
		iflag=fullblock conv=notrunc,fsync status=none || fail "dd $kind at $off to $dev"
}

# fill IMG WRITES...: attach IMG (with its chain), do the writes
# ("kind off len" each), detach
fill() {
	local img=$1 dev w
	shift
	dev=$(t_attach "$img")
	for w in "$@"; do
		# shellcheck disable=SC2086
		wr "$dev" $w
	done
	t_detach "$dev"
}

# layer IMG PARENT|SIZE WRITES...: create IMG (format from its name) as an
# overlay on PARENT or, given a size, without backing, then do the writes.
# Each overlay is made after its parent is written: a vmdk delta records
# its parent's CID, which the parent's first write changes.
layer() {
	local img=$1 p=$2
	shift 2
	if [ -f "$p" ]; then
		qemu-img create -q -f "${img##*.}" -b "$p" -F "${p##*.}" "$img"
	elif [ "${img##*.}" = raw ]; then
		truncate -s "$p" "$img"
	else
		qemu-img create -q -f "${img##*.}" "$img" "$p"
	fi
	fill "$img" "$@"
}

# refcopy DIR FILES...: sparse copies for the qemu-img side
refcopy() {
	local d=$1
	shift
	rm -rf "$d"
	mkdir "$d"
	cp --sparse=always "$@" "$d/"
}

# Space checks fail the test at its end, so that every case still runs.
LATE=()
late_fail() {
	echo "FAIL (reported at the end): $*" >&2
	LATE+=("$*")
}

# file_extents FILE: the data extents of FILE (SEEK_DATA/SEEK_HOLE) in
# KiB, their sum first
file_extents() {
	python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); end = os.fstat(fd).st_size; pos = 0; out = []; tot = 0
while pos < end:
    try:
        d = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    h = os.lseek(fd, d, os.SEEK_HOLE)
    out.append("%d+%d" % (d // 1024, (h - d) // 1024)); tot += (h - d) // 1024; pos = h
print(tot, "KiB of data in a file of %d KiB, at KiB offset+len: %s" % (end // 1024, " ".join(out)))
' "$1"
}

# expect_empty_top TOP REFTOP: no data left in TOP itself (qemu-img map),
# and the file's written extents about what qemu-img's emptied top keeps.
# du is printed, not held to that: vdisk keeps unwritten (preallocated)
# extents at the end of a qcow2 file, ~2 MiB under xfs, that du counts
# and SEEK_DATA does not.
expect_empty_top() {
	local alloc du_v du_q ext_v ext_q
	alloc=$(t_allocated_k "$1")
	du_v=$(t_du_k "$1")
	du_q=$(t_du_k "$2")
	ext_v=$(file_extents "$1")
	ext_q=$(file_extents "$2")
	log "after commit -d: $1 holds $alloc KiB of data, du $du_v KiB (qemu-img commit's emptied top: du $du_q KiB)"
	log "vdisk's emptied $1: $ext_v"
	log "qemu-img's emptied $1: $ext_q"
	expect_eq "data left in $1 after commit -d" "$alloc" 0
	if [ "${ext_v%% *}" -gt $((${ext_q%% *} + 1024)) ]; then
		xfs_bmap -vp "$1" 2>&1 | sed 's/^/# xfs_bmap: /'
		late_fail "the emptied $1 still has ${ext_v%% *} KiB written (qemu-img's ${ext_q%% *} KiB)"
	fi
	[ "$du_v" -le $((du_q + 4096)) ] || late_fail "du of the emptied $1: $du_v KiB (qemu-img leaves $du_q KiB)"
}

# the writes of each layer: overlaps, partial clusters (64k), zeros over
# data below
BASE_W=("rand 0 $((16 * M))" "rand $((64 * M)) $((8 * M))" "rand $((128 * M)) $M")
MID_W=("rand $((8 * M)) $((4 * M))" "rand $((66 * M + 12 * K)) $((4 * K))"
	"rand $((100 * M + 1000)) 1536" "rand $((200 * M)) $((4 * M))")
TOP_W=("rand $((10 * M)) $M" "wz $((64 * M + 512 * K)) $((512 * K))"
	"zero $((128 * M)) $((512 * K))" "rand $((9 * M + 777)) 3000"
	"wz $((201 * M)) $M" "rand $((240 * M)) $((8 * M))")
TOP2_W=("rand $((30 * M)) $((4 * M))" "wz $((1 * M)) $((2 * M))" "rand $((70 * M + 5 * K)) $((20 * K))")
if [ "${VDISK_TEST_FULL:-0}" = 1 ]; then
	SIZE=4G
	MID_W+=("rand $((1024 * M)) $((512 * M))")
	TOP_W+=("rand $((2048 * M)) $((256 * M))" "wz $((1200 * M)) $((64 * M))")
else
	SIZE=256M
fi

# ---- 1. raw base <- qcow2 top: commit -d into the raw file ----
S=128M
B_W=("rand 0 $((8 * M))" "rand $((64 * M)) $((2 * M))")
T_W=("rand $((4 * M)) $M" "wz $((64 * M)) $((512 * K))" "rand $((65 * M + 100)) 5000" "rand $((100 * M)) $((4 * M))")
layer base.raw $S "${B_W[@]}"
layer top.qcow2 base.raw "${T_W[@]}"
view=$(t_view_digest top.qcow2)
refcopy q base.raw top.qcow2
dev=$(t_attach top.qcow2)
expect_eq "device before commit -d into raw" "$(t_digest "$dev")" "$view"
t_job commit -d "$dev"
expect_eq "device after commit -d into raw" "$(t_digest "$dev")" "$view"
t_detach "$dev"
expect_eq "raw base = the old top view" "$(t_digest base.raw)" "$view"
expect_eq "top's backing after commit into raw" "$(t_info top.qcow2 backing-filename)" base.raw
(cd q && qemu-img commit -q top.qcow2) || fail "qemu-img commit top.qcow2 (raw base)"
expect_empty_top top.qcow2 q/top.qcow2
t_check_clean top.qcow2
t_compare base.raw q/base.raw
log "ok raw base: $JOB_COPIED bytes copied"
rm -rf q base.raw top.qcow2

# ---- 2. qcow2, 3 layers: commit -b base, mid dropped ----
layer base.qcow2 "$SIZE" "${BASE_W[@]}"
layer mid.qcow2 base.qcow2 "${MID_W[@]}"
layer top.qcow2 mid.qcow2 "${TOP_W[@]}"
view=$(t_view_digest top.qcow2)
refcopy q base.qcow2 mid.qcow2 top.qcow2

dev=$(t_attach top.qcow2)
name=${dev#/dev/}
expect_eq "layers before" "$(t_nr_layers "$dev")" 3
expect_eq "device before the commit" "$(t_digest "$dev")" "$view"
t_job commit -b base.qcow2 "$dev"
expect_eq "device after the commit" "$(t_digest "$dev")" "$view"
expect_eq "layers after commit -b" "$(t_nr_layers "$dev")" 2
sed -n 2p "/sys/block/$name/vdisk/chain" | grep -q "/base.qcow2$" ||
	fail "level 1 is not base.qcow2: $(cat "/sys/block/$name/vdisk/chain")"
t_detach "$dev"
expect_eq "top's backing after commit -b" "$(t_info top.qcow2 backing-filename)" base.qcow2
expect_eq "top's view after commit -b" "$(t_view_digest top.qcow2)" "$view"
expect_eq "base alone = the old top view" "$(t_view_digest base.qcow2)" "$view"
t_check_clean base.qcow2
t_check_clean top.qcow2
(cd q && qemu-img commit -q -b base.qcow2 top.qcow2) || fail "qemu-img commit -b base.qcow2 top.qcow2"
t_compare base.qcow2 q/base.qcow2
log "ok qcow2 commit -b base: $JOB_COPIED bytes copied; du base $(t_du_k base.qcow2) KiB (qemu-img's $(t_du_k q/base.qcow2) KiB)"

# ---- 3. the same top, now on base only: new writes, commit -d ----
fill top.qcow2 "${TOP2_W[@]}"
view2=$(t_view_digest top.qcow2)
refcopy q base.qcow2 top.qcow2
dev=$(t_attach top.qcow2)
expect_eq "device before commit -d" "$(t_digest "$dev")" "$view2"
t_job commit -d "$dev"
expect_eq "device after commit -d" "$(t_digest "$dev")" "$view2"
expect_eq "layers after commit -d" "$(t_nr_layers "$dev")" 2
t_detach "$dev"
(cd q && qemu-img commit -q top.qcow2) || fail "qemu-img commit top.qcow2"
expect_empty_top top.qcow2 q/top.qcow2
expect_eq "top's view after commit -d" "$(t_view_digest top.qcow2)" "$view2"
expect_eq "base alone after commit -d" "$(t_view_digest base.qcow2)" "$view2"
t_check_clean base.qcow2
t_check_clean top.qcow2
t_compare base.qcow2 q/base.qcow2
log "ok qcow2 commit -d"
rm -rf q ./*.qcow2

# ---- 4. vmdk, 3 layers: commit -b base, parentCID follows ----
layer base.vmdk $S "${B_W[@]}"
layer mid.vmdk base.vmdk "rand $((6 * M)) $((4 * M))" "rand $((64 * M + 4 * K)) $((8 * K))"
layer top.vmdk mid.vmdk "${T_W[@]}"
view=$(t_view_digest top.vmdk)
refcopy q base.vmdk mid.vmdk top.vmdk
dev=$(t_attach top.vmdk)
t_job commit -b base.vmdk "$dev"
expect_eq "device after commit -b (vmdk)" "$(t_digest "$dev")" "$view"
expect_eq "layers after commit -b (vmdk)" "$(t_nr_layers "$dev")" 2
t_detach "$dev"
expect_eq "top.vmdk's parent after commit -b" "$(t_info top.vmdk backing-filename)" base.vmdk
expect_eq "top.vmdk's parentCID = base's CID" \
	"$(t_info top.vmdk format-specific.data.parent-cid)" "$(t_info base.vmdk format-specific.data.cid)"
expect_eq "top.vmdk's view after commit -b" "$(t_view_digest top.vmdk)" "$view"
expect_eq "base.vmdk alone = the old top view" "$(t_view_digest base.vmdk)" "$view"
t_check_clean base.vmdk
t_check_clean top.vmdk
dev=$(t_attach -r top.vmdk)	# vdattach's parentCID check passes
expect_eq "layers of top.vmdk reattached" "$(t_nr_layers "$dev")" 2
expect_eq "top.vmdk reattached" "$(t_digest "$dev")" "$view"
t_detach "$dev"
(cd q && qemu-img commit -q -b base.vmdk top.vmdk) || fail "qemu-img commit -b base.vmdk top.vmdk"
t_compare base.vmdk q/base.vmdk
log "ok vmdk commit -b base: $JOB_COPIED bytes copied"
rm -rf q ./*.vmdk
[ ${#LATE[@]} = 0 ] || fail "${LATE[*]}"
