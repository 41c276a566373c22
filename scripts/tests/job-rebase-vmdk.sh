#!/usr/bin/env bash
# desc: the seed's vmdk rebase (monolithicSparse disk-c on disk-b on disk-a) that qemu-img cannot do: vdisk rebases online, parentFileNameHint and parentCID point at disk-a, compare = disk-b, du ~ file B, attach works
# tier: full - in make check: vmdk rebase: fmt-jobs rebases vmdk tops, parentCID included
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

SIZE=$(t_size 512M 10G)
A_MIB=$(t_size 64 1024)
B_MIB=$(t_size 48 512)
log "disks of $SIZE, file A $A_MIB MiB, file B $B_MIB MiB"

# expect_rebased C B: C shows B's content over disk-a.vmdk, with the right
# parent CID, check clean, du about file B; vdattach attaches it
expect_rebased() {
	local c=$1 b=$2 du_v dev
	t_compare "$c" "$b"
	qemu-img info --backing-chain --output=json "$c" | python3 -c '
import json, sys
chain = [(l["filename"], l.get("backing-filename")) for l in json.load(sys.stdin)]
assert chain == [(sys.argv[1], "disk-a.vmdk"), ("disk-a.vmdk", None)], chain
' "$c" || { qemu-img info --backing-chain "$c"; fail "qemu-img info --backing-chain $c is not $c -> disk-a.vmdk"; }
	expect_eq "$c parent CID = disk-a's CID" \
		"$(t_info "$c" format-specific.data.parent-cid)" \
		"$(t_info disk-a.vmdk format-specific.data.cid)"
	t_check_clean "$c"
	du_v=$(t_du_k "$c")
	log "du $c: vdisk $du_v KiB; file B $((B_MIB * 1024)) KiB; data in $c $(t_allocated_k "$c") KiB"
	t_within "du of $c vs file B" "$du_v" $((B_MIB * 1024)) 10
	# vdattach's own parentCID check passes (no --force-parent-cid)
	dev=$(t_attach -r "$c")
	expect_eq "layers of the rebased $c" "$(t_nr_layers "$dev")" 2
	t_mount "$dev" mnt -o ro,norecovery
	expect_eq "file B in $c" "$(t_sum mnt/B.bin)" "$sumb"
	t_umount mnt
	t_detach "$dev"
}

# what qemu-img does with the same rebase (the seed: the data is copied,
# then "Could not change the backing file ... Operation not supported")
qemu_rebase_fails() {
	local img=$1 out rc=0
	out=$(qemu-img rebase -f vmdk -b disk-a.vmdk -F vmdk "$img" 2>&1) || rc=$?
	log "qemu-img rebase of a copy: exit $rc: $out"
	[ $rc != 0 ] || fail "qemu-img rebase on vmdk succeeded (the comparison figure assumes it fails)"
	log "du after qemu-img's failed rebase: $(t_du_k "$img") KiB, backing still $(t_info "$img" backing-filename)"
	rm -f "$img"
}

qemu-img create -q -f vmdk -o subformat=monolithicSparse disk-a.vmdk "$SIZE"
dev=$(t_attach disk-a.vmdk)
t_xfs_with_file "$dev" mnt A.bin "$A_MIB" mkfs
t_detach "$dev"
t_check_clean disk-a.vmdk

# 1. DEV form: disk-b a delta on disk-a with file B, disk-c an empty delta
qemu-img create -q -f vmdk -b disk-a.vmdk -F vmdk disk-b.vmdk
dev=$(t_attach disk-b.vmdk)
t_xfs_with_file "$dev" mnt B.bin "$B_MIB"
t_detach "$dev"
t_check_clean disk-b.vmdk
qemu-img create -q -f vmdk -b disk-b.vmdk -F vmdk disk-c.vmdk
cp --sparse=always disk-c.vmdk ref-c.vmdk
qemu_rebase_fails ref-c.vmdk

dev=$(t_attach disk-c.vmdk)
name=${dev#/dev/}
expect_eq "layers before" "$(t_nr_layers "$dev")" 3
before=$(t_digest "$dev")
t_mount "$dev" mnt -o ro,norecovery
sumb=$(t_sum mnt/B.bin)
t_job rebase -b disk-a.vmdk -F vmdk "$dev"
echo 3 >/proc/sys/vm/drop_caches
expect_eq "file B after the rebase" "$(t_sum mnt/B.bin)" "$sumb"
t_umount mnt
[ "$JOB_COPIED" -ge $((B_MIB << 20)) ] ||
	fail "rebase copied $JOB_COPIED bytes, less than file B ($((B_MIB << 20)))"
expect_eq "layers after" "$(t_nr_layers "$dev")" 2
sed -n 2p "/sys/block/$name/vdisk/chain" | grep -q "/disk-a.vmdk$" ||
	fail "level 1 of the live stack is not disk-a: $(cat "/sys/block/$name/vdisk/chain")"
expect_eq "device content after the rebase" "$(t_digest "$dev")" "$before"
t_detach "$dev"
expect_rebased disk-c.vmdk disk-b.vmdk
log "ok DEV form"

# 2. IMAGE form, the seed's recipe: disk-b2 = cp -p disk-a + file B
cp -p --sparse=always disk-a.vmdk disk-b2.vmdk
dev=$(t_attach disk-b2.vmdk)
t_xfs_with_file "$dev" mnt B.bin "$B_MIB"
t_detach "$dev"
dev=$(t_attach -r disk-b2.vmdk)
t_mount "$dev" mnt -o ro,norecovery
sumb=$(t_sum mnt/B.bin)
t_umount mnt
t_detach "$dev"
qemu-img create -q -f vmdk -b disk-b2.vmdk -F vmdk disk-c2.vmdk
cp --sparse=always disk-c2.vmdk ref-c2.vmdk
qemu_rebase_fails ref-c2.vmdk
t_job rebase -b disk-a.vmdk -F vmdk disk-c2.vmdk
[ -z "$(t_vdevs_of "$T_DIR")" ] || fail "IMAGE form left a device attached"
expect_rebased disk-c2.vmdk disk-b2.vmdk
log "ok IMAGE form"
rm -f ./*.vmdk
