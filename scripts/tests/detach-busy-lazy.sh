#!/usr/bin/env bash
# desc: detach of a mounted or open device is EBUSY; lazy detach removes it on last close
. "$(dirname "$0")/lib.sh"

img=$(t_img disk.raw 256M)
dev=$(t_attach "$img")
mkfs.ext4 -q -F "$dev"
t_mount "$dev" "$T_DIR/mnt"
expect_fail_with 3 "busy" vdattach detach "$dev"
[ -b "$dev" ] || fail "device vanished after a refused detach"
t_umount "$T_DIR/mnt"

# lazy: an open file descriptor keeps the device until it is closed
exec 3<"$dev"
vdattach detach --lazy "$dev" || fail "lazy detach refused"
[ -b "$dev" ] || fail "lazy detach removed an open device"
expect_eq "autoclear after lazy detach" "$(cat /sys/block/${dev#/dev/}/vdisk/autoclear)" 1
exec 3<&-
for i in $(seq 200); do [ -b "$dev" ] || break; sleep 0.02; done
[ ! -b "$dev" ] || fail "device still there after its last close"
vdattach list | grep -q "$dev" && fail "list still shows $dev"

# autoclear at attach time: gone after the first user closes it
dev=$(vdattach attach --autoclear "$img")
[ -b "$dev" ] || fail "autoclear device missing"
dd if="$dev" of=/dev/null bs=1M count=1 status=none
for i in $(seq 200); do [ -b "$dev" ] || break; sleep 0.02; done
[ ! -b "$dev" ] || fail "autoclear device still there after close"
