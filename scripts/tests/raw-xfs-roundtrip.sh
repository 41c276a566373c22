#!/usr/bin/env bash
# desc: raw image: mkfs.xfs, 256 MiB of files written through /dev/vdN read back identical through loop
. "$(dirname "$0")/lib.sh"

img=$(t_img disk.raw 1G)
dev=$(t_attach "$img")
expect_eq "capacity" "$(blockdev --getsize64 "$dev")" $((1 << 30))
expect_eq "sysfs format" "$(cat /sys/block/"${dev#/dev/}"/vdisk/format)" raw

mkfs.xfs -q "$dev"
t_mount "$dev" "$T_DIR/mnt"
# 8 files of 32 MiB; remember what went in before it touches vdisk
for i in $(seq 8); do
	pattern_file "/tmp/src.$i" 32 "$i"
	want[i]=$(sha "/tmp/src.$i")
	cp "/tmp/src.$i" "$T_DIR/mnt/f$i"
	rm "/tmp/src.$i"
done
t_umount "$T_DIR/mnt"
devsum=$(sha "$dev")
t_detach "$dev"

# The image as a plain file must be what the device showed...
expect_eq "image sha256 vs device sha256" "$(sha "$img")" "$devsum"
# ...and loop, the reference, must find every file intact.
loopdev=$(t_loop -r "$img")
t_mount "$loopdev" "$T_DIR/ref" -o ro,norecovery
for i in $(seq 8); do
	expect_eq "f$i through loop" "$(sha "$T_DIR/ref/f$i")" "${want[i]}"
done
xfs_repair -n "$loopdev" >/dev/null 2>&1 || true
log "256 MiB written through vdisk, verified through loop"
