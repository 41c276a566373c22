#!/usr/bin/env bash
# desc: read-only attach: writes refused with EPERM, image unchanged, ro reported everywhere
. "$(dirname "$0")/lib.sh"

img=$(t_img disk.raw 64M)
pattern_file "$img" 64
before=$(t_sum "$img")
dev=$(t_attach -r "$img")
name=${dev#/dev/}

expect_eq "blockdev --getro" "$(blockdev --getro "$dev")" 1
expect_eq "sysfs read_only" "$(cat /sys/block/$name/vdisk/read_only)" 1
expect_fail_with 1 "Operation not permitted|Read-only|Permission denied" \
	dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct status=none
expect_fail_with 1 "Operation not permitted|Read-only|Permission denied" \
	dd if=/dev/zero of="$dev" bs=4k count=1 status=none conv=fsync
expect_eq "read back" "$(t_sum "$dev")" "$before"
expect_eq "image untouched" "$(t_sum "$img")" "$before"

