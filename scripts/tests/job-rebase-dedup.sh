#!/usr/bin/env bash
# desc: the seed's full copy: disk-c = convert of disk-b (no backing) rebased online onto disk-a with --dedup: du falls to ~ file B (qemu-img rebase keeps it full), compare = disk-b, check clean
# tier: full - in make check: dedup: vdattach-jobs and fmt-jobs rebase full copies with --dedup
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

SIZE=$(t_size 512M 10G)
A_MIB=$(t_size 64 1024)
B_MIB=$(t_size 48 512)
log "disks of $SIZE, file A $A_MIB MiB, file B $B_MIB MiB"

qemu-img create -q -f qcow2 disk-a.qcow2 "$SIZE"
dev=$(t_attach disk-a.qcow2)
t_xfs_with_file "$dev" mnt A.bin "$A_MIB" mkfs
t_detach "$dev"
qemu-img create -q -f qcow2 -b disk-a.qcow2 -F qcow2 disk-b.qcow2
dev=$(t_attach disk-b.qcow2)
t_xfs_with_file "$dev" mnt B.bin "$B_MIB"
t_detach "$dev"

# disk-c: everything disk-b shows, in one file without backing
qemu-img convert -O qcow2 disk-b.qcow2 disk-c.qcow2
expect_eq "disk-c backing before" "$(t_info disk-c.qcow2 backing-filename)" ""
cp --sparse=always disk-c.qcow2 ref-c.qcow2
du_full=$(t_du_k disk-c.qcow2)
log "du disk-c before: $du_full KiB (files A + B: $(((A_MIB + B_MIB) * 1024)) KiB)"

dev=$(t_attach disk-c.qcow2)
expect_eq "layers before" "$(t_nr_layers "$dev")" 1
before=$(t_digest "$dev")
t_job rebase -b disk-a.qcow2 -F qcow2 --dedup "$dev"
expect_eq "layers after" "$(t_nr_layers "$dev")" 2
expect_eq "device content after the rebase" "$(t_digest "$dev")" "$before"
[ "$JOB_DROPPED" -ge $(((A_MIB << 20) * 9 / 10)) ] ||
	fail "--dedup dropped $JOB_DROPPED bytes, less than 90% of file A ($((A_MIB << 20)))"
t_detach "$dev"

t_compare disk-c.qcow2 disk-b.qcow2
expect_eq "disk-c backing file" "$(t_info disk-c.qcow2 backing-filename)" disk-a.qcow2
expect_eq "disk-c backing format" "$(t_info disk-c.qcow2 backing-filename-format)" qcow2
t_check_clean disk-c.qcow2

# the comparison figure: qemu-img rebase leaves every cluster allocated
qemu-img rebase -q -f qcow2 -b disk-a.qcow2 -F qcow2 ref-c.qcow2 || fail "qemu-img rebase of the copy"
t_compare ref-c.qcow2 disk-b.qcow2
du_v=$(t_du_k disk-c.qcow2)
du_q=$(t_du_k ref-c.qcow2)
log "du disk-c: before $du_full KiB, vdisk --dedup $du_v KiB (data $(t_allocated_k disk-c.qcow2) KiB), qemu-img rebase $du_q KiB (data $(t_allocated_k ref-c.qcow2) KiB); file B $((B_MIB * 1024)) KiB"
t_within "du of disk-c after --dedup vs file B" "$du_v" $((B_MIB * 1024)) 10
[ "$du_q" -ge $((du_full * 95 / 100)) ] ||
	fail "qemu-img rebase shrank disk-c to $du_q KiB: not the comparison the seed describes"

# the result attaches and reads both files
dev=$(t_attach -r disk-c.qcow2)
t_mount "$dev" mnt -o ro,norecovery
[ -f mnt/A.bin ] && [ -f mnt/B.bin ] || fail "files A and B not both in disk-c"
t_umount mnt
t_detach "$dev"
rm -f ./*.qcow2
