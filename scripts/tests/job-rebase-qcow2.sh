#!/usr/bin/env bash
# desc: the seed's rebase: disk-c (empty, on disk-b = disk-a + file B) rebased online onto disk-a (DEV, then IMAGE form on the seed's cp -p recipe): compare = disk-b, backing disk-a, check clean, du ~ file B, same as qemu-img rebase
# tier: full - in make check: rebase: vdattach-jobs (DEV and IMAGE forms) and fmt-jobs; job-power-cut cuts rebases
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

SIZE=$(t_size 512M 10G)
A_MIB=$(t_size 64 1024)
B_MIB=$(t_size 48 512)
log "disks of $SIZE, file A $A_MIB MiB, file B $B_MIB MiB"

# expect_rebased C B: C now shows B's content, over disk-a.qcow2 only; C's
# own data is about file B; qemu-img rebase of REF (a copy of C taken
# before) gives the same image
expect_rebased() {
	local c=$1 b=$2 ref=$3 du_v du_q alloc
	t_compare "$c" "$b"
	expect_eq "$c backing file" "$(t_info "$c" backing-filename)" disk-a.qcow2
	expect_eq "$c backing format" "$(t_info "$c" backing-filename-format)" qcow2
	qemu-img info --backing-chain --output=json "$c" | python3 -c '
import json, sys
chain = [l["filename"] for l in json.load(sys.stdin)]
assert chain == [sys.argv[1], "disk-a.qcow2"], chain
' "$c" || fail "qemu-img info --backing-chain $c is not $c -> disk-a.qcow2"
	t_check_clean "$c"

	qemu-img rebase -q -f qcow2 -b disk-a.qcow2 -F qcow2 "$ref" ||
		fail "qemu-img rebase of the copy $ref"
	t_check_clean "$ref"
	t_compare "$c" "$ref"

	du_v=$(t_du_k "$c")
	du_q=$(t_du_k "$ref")
	alloc=$(t_allocated_k "$c")
	log "du $c: vdisk $du_v KiB, qemu-img rebase $du_q KiB; file B $((B_MIB * 1024)) KiB; data in $c $alloc KiB"
	t_within "du of $c vs file B" "$du_v" $((B_MIB * 1024)) 10
	# and no worse than qemu-img (5% + 1 MiB of slack for metadata)
	[ "$du_v" -le $((du_q * 105 / 100 + 1024)) ] ||
		fail "du of $c: vdisk $du_v KiB, qemu-img $du_q KiB"
}

# disk-a: xfs and file A, written through vdisk
qemu-img create -q -f qcow2 disk-a.qcow2 "$SIZE"
dev=$(t_attach disk-a.qcow2)
t_xfs_with_file "$dev" mnt A.bin "$A_MIB" mkfs
t_detach "$dev"
t_check_clean disk-a.qcow2

# 1. DEV form: disk-b is an overlay on disk-a holding file B, disk-c an
# empty overlay on disk-b, attached (and mounted) while it is rebased
qemu-img create -q -f qcow2 -b disk-a.qcow2 -F qcow2 disk-b.qcow2
dev=$(t_attach disk-b.qcow2)
t_xfs_with_file "$dev" mnt B.bin "$B_MIB"
t_detach "$dev"
t_check_clean disk-b.qcow2
qemu-img create -q -f qcow2 -b disk-b.qcow2 -F qcow2 disk-c.qcow2
cp --sparse=always disk-c.qcow2 ref-c.qcow2

dev=$(t_attach disk-c.qcow2)
name=${dev#/dev/}
expect_eq "layers before" "$(t_nr_layers "$dev")" 3
before=$(t_digest "$dev")
t_mount "$dev" mnt -o ro,norecovery
sumb=$(t_sum mnt/B.bin)
t_job rebase -b disk-a.qcow2 -F qcow2 "$dev"
echo 3 >/proc/sys/vm/drop_caches
expect_eq "file B read during/after the rebase" "$(t_sum mnt/B.bin)" "$sumb"
t_umount mnt
[ "$JOB_COPIED" -ge $((B_MIB << 20)) ] ||
	fail "rebase copied $JOB_COPIED bytes, less than file B ($((B_MIB << 20)))"
expect_eq "layers after" "$(t_nr_layers "$dev")" 2
sed -n 2p "/sys/block/$name/vdisk/chain" | grep -q "/disk-a.qcow2$" ||
	fail "level 1 of the live stack is not disk-a: $(cat "/sys/block/$name/vdisk/chain")"
expect_eq "device content after the rebase" "$(t_digest "$dev")" "$before"
t_detach "$dev"
expect_rebased disk-c.qcow2 disk-b.qcow2 ref-c.qcow2
log "ok DEV form"

# 2. IMAGE form on the seed's own recipe: disk-b2 a full copy (cp -p) of
# disk-a with file B added, disk-c2 an empty overlay on it
cp -p --sparse=always disk-a.qcow2 disk-b2.qcow2
dev=$(t_attach disk-b2.qcow2)
t_xfs_with_file "$dev" mnt B.bin "$B_MIB"
t_detach "$dev"
qemu-img create -q -f qcow2 -b disk-b2.qcow2 -F qcow2 disk-c2.qcow2
cp --sparse=always disk-c2.qcow2 ref-c2.qcow2
t_job rebase -b disk-a.qcow2 -F qcow2 disk-c2.qcow2
[ -z "$(t_vdevs_of "$T_DIR")" ] || fail "IMAGE form left a device attached: $(t_vdevs_of "$T_DIR")"
expect_rebased disk-c2.qcow2 disk-b2.qcow2 ref-c2.qcow2
log "ok IMAGE form"

# the result attaches and reads file B
dev=$(t_attach -r disk-c2.qcow2)
expect_eq "layers of the rebased disk-c2" "$(t_nr_layers "$dev")" 2
t_mount "$dev" mnt -o ro,norecovery
[ -f mnt/A.bin ] && [ -f mnt/B.bin ] || fail "files A and B not both in disk-c2"
t_umount mnt
t_detach "$dev"
rm -f ./*.qcow2
