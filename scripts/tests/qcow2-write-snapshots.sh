#!/usr/bin/env bash
# desc: writes to a qcow2 with internal snapshots copy shared clusters and L2 tables: every snapshot reads back its old content, qemu-img check clean
. "$(dirname "$0")/lib.sh"

img=$T_DIR/snap.qcow2
truncate -s 64M "$T_DIR/v0.raw"
head -c 20M /dev/urandom | dd of="$T_DIR/v0.raw" bs=1M seek=2 conv=notrunc status=none
qemu-img convert -q -f raw -O qcow2 -o cluster_size=64k "$T_DIR/v0.raw" "$img"
qemu-img snapshot -c s0 "$img"
want0=$(t_sum "$T_DIR/v0.raw")

# round 1: partial writes into shared clusters, whole clusters, new areas
dev=$(t_attach "$img")
dd if=/dev/urandom of="$dev" bs=4k seek=600 count=3 oflag=direct status=none
dd if=/dev/urandom of="$dev" bs=1M seek=5 count=2 oflag=direct status=none
dd if=/dev/urandom of="$dev" bs=64k seek=700 count=5 oflag=direct status=none
blkdiscard -o $((10 << 20)) -l $((1 << 20)) "$dev"
want1=$(t_sum "$dev")
t_detach "$dev"
out=$(qemu-img check "$img" 2>&1) || fail "check after round 1: $out"
qemu-img snapshot -c s1 "$img"

# round 2: write again over what s0 and s1 share, and over round 1's data
dev=$(t_attach "$img")
dd if=/dev/urandom of="$dev" bs=4k seek=601 count=1 oflag=direct status=none
dd if=/dev/urandom of="$dev" bs=512 seek=12345 count=7 oflag=direct status=none
dd if=/dev/urandom of="$dev" bs=1M seek=40 count=1 oflag=direct status=none
want2=$(t_sum "$dev")
t_detach "$dev"
out=$(qemu-img check "$img" 2>&1) || fail "check after round 2: $out"
echo "$out" | grep -q "No errors were found" || fail "check after round 2: $out"

# every state reads back, through vdisk and through qemu-img
for s in s0 s1; do
	case $s in s0) want=$want0 ;; s1) want=$want1 ;; esac
	dev=$(t_attach -r -l "$s" "$img")
	expect_eq "snapshot $s through vdisk" "$(t_sum "$dev")" "$want"
	t_detach "$dev"
	qemu-img convert -O raw -l "$s" "$img" "$T_DIR/s.raw"
	expect_eq "snapshot $s through qemu-img" "$(t_sum "$T_DIR/s.raw")" "$want"
done
qemu-img convert -O raw "$img" "$T_DIR/now.raw"
expect_eq "active image through qemu-img" "$(t_sum "$T_DIR/now.raw")" "$want2"

# deleting the snapshots frees the shared clusters: still consistent
qemu-img snapshot -d s0 "$img"
qemu-img snapshot -d s1 "$img"
out=$(qemu-img check "$img" 2>&1) || fail "check after deleting snapshots: $out"
echo "$out" | grep -q "No errors were found" || fail "check after deleting snapshots: $out"
