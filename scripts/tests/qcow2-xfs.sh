#!/usr/bin/env bash
# desc: an xfs made and filled through qemu-nbd in a qcow2 mounts through vdisk with every file intact
. "$(dirname "$0")/lib.sh"

img=$T_DIR/fs.qcow2
qemu-img create -q -f qcow2 "$img" 1G
modprobe nbd max_part=0
qemu-nbd -f qcow2 --cache=none -c /dev/nbd0 "$img" || fail "qemu-nbd -c"
for i in $(seq 100); do [ "$(blockdev --getsize64 /dev/nbd0 2>/dev/null)" = $((1 << 30)) ] && break; sleep 0.05; done
mkfs.xfs -q /dev/nbd0
mkdir -p "$T_DIR/nbd"
mount /dev/nbd0 "$T_DIR/nbd"
for i in $(seq 6); do
	pattern_file "$T_DIR/nbd/f$i" 16
	want[i]=$(t_sum "$T_DIR/nbd/f$i")
done
umount "$T_DIR/nbd"
qemu-nbd -d /dev/nbd0 >/dev/null

# a small metadata cache (64 slices: the least the driver takes) must
# evict and still serve every read right
dev=$(t_attach -r --cache-kib 64 "$img")
t_mount "$dev" "$T_DIR/mnt" -o ro,norecovery
for i in $(seq 6); do
	expect_eq "f$i through vdisk" "$(t_sum "$T_DIR/mnt/f$i")" "${want[i]}"
done
cache=/sys/block/${dev#/dev/}/vdisk/cache
cat "$cache"
expect_eq "cache capacity" "$(awk '/^capacity_slices/ { print $2 }' "$cache")" 64
[ "$(awk '/^slices/ { print $2 }' "$cache")" -le 64 ] || fail "cache holds more than its capacity"
