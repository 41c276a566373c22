#!/usr/bin/env bash
# desc: rmmod with attached devices removes them; an open device pins the module
. "$(dirname "$0")/lib.sh"

[ -n "${VDISK_KO:-}" ] || fail "VDISK_KO is not set by vm-run"
img1=$(t_img a.raw 16M)
img2=$(t_img b.raw 16M)
d1=$(vdattach attach "$img1")
d2=$(vdattach attach -r "$img2")
echo hello | dd of="$d1" conv=fsync status=none

exec 3<"$d2"
expect_fail_with 1 "in use|busy" rmmod vdisk
exec 3<&-

rmmod vdisk || fail "rmmod with attached but closed devices failed"
[ ! -e /dev/vdisk-control ] || fail "control device survived rmmod"
[ ! -b "$d1" ] && [ ! -b "$d2" ] || fail "devices survived rmmod"
expect_eq "data flushed before unload" "$(head -c 6 "$img1")" "hello"

insmod "$VDISK_KO" || fail "insmod after rmmod failed"
for i in $(seq 100); do [ -e /dev/vdisk-control ] && break; sleep 0.02; done
d=$(t_attach "$img1")
expect_eq "reattach after reload" "$(head -c 5 "$d")" "hello"
