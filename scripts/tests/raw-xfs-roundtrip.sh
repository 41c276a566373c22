#!/usr/bin/env bash
# desc: raw image: mkfs.xfs, 256 MiB of files written through /dev/vdN read back identical through loop
# tier: full - in make check: raw: raw-io-integrity, raw-ext4-fsck and raw-read-only
. "$(dirname "$0")/lib.sh"

img=$(t_img disk.raw 512M)
dev=$(t_attach "$img")
expect_eq "capacity" "$(blockdev --getsize64 "$dev")" $((512 << 20))
expect_eq "sysfs format" "$(cat /sys/block/"${dev#/dev/}"/vdisk/format)" raw

mkfs.xfs -q "$dev"
t_mount "$dev" "$T_DIR/mnt"
# 8 files of 32 MiB; remember what went in before it touches vdisk
for i in $(seq 8); do
	pattern_file "/tmp/src.$i" 32
	want[i]=$(t_sum "/tmp/src.$i")
	cp "/tmp/src.$i" "$T_DIR/mnt/f$i"
	rm "/tmp/src.$i"
done
t_umount "$T_DIR/mnt"
# The image as a plain file must be what the device shows...
cmp "$dev" "$img" || fail "device and image file differ"
t_detach "$dev"

# ...and loop, the reference, must find every file intact.
loopdev=$(t_loop -r "$img")
t_mount "$loopdev" "$T_DIR/ref" -o ro,norecovery
for i in $(seq 8); do
	expect_eq "f$i through loop" "$(t_sum "$T_DIR/ref/f$i")" "${want[i]}"
done
xfs_repair -n "$loopdev" >/dev/null 2>&1 || true
log "256 MiB written through vdisk, verified through loop"
