#!/usr/bin/env bash
# desc: -P scans partitions (vdNp1), sysfs and list --json describe the device
. "$(dirname "$0")/lib.sh"

img=$(t_img disk.raw 64M)
printf 'label: gpt\n,20M\n,\n' | sfdisk -q "$img" >/dev/null
dev=$(t_attach -P "$img")
name=${dev#/dev/}
for i in $(seq 100); do [ -b "${dev}p2" ] && break; sleep 0.02; done
[ -b "${dev}p1" ] && [ -b "${dev}p2" ] || fail "partitions not found: $(ls /dev/$name*)"
expect_eq "partscan attr" "$(cat /sys/block/$name/vdisk/partscan)" 1
expect_eq "backing_file" "$(cat /sys/block/$name/vdisk/backing_file)" "$img"
expect_eq "chain" "$(cat /sys/block/$name/vdisk/chain)" "0 raw $img"
expect_eq "nr_layers" "$(cat /sys/block/$name/vdisk/nr_layers)" 1
lsblk -rno NAME,TYPE "$dev" | grep -q "^${name}p1 part" || fail "lsblk does not show ${name}p1"
vdattach list --json "$dev" | python3 -c '
import json, sys
d = json.load(sys.stdin)["vdisks"][0]
assert d["name"] == sys.argv[1], d
assert d["size"] == 64 << 20, d
assert d["partscan"] is True and d["ro"] is False, d
assert d["layers"][0]["format"] == "raw" and d["layers"][0]["path"] == sys.argv[2], d
' "$dev" "$img" || fail "list --json content"
mkfs.ext4 -q "${dev}p1"
t_mount "${dev}p1" "$T_DIR/mnt"
echo hi > "$T_DIR/mnt/f"
t_umount "$T_DIR/mnt"

# without -P no partitions appear
t_detach "$dev"
dev=$(t_attach "$img")
sleep 0.2
[ ! -b "${dev}p1" ] || fail "partitions scanned without -P"

# a file whose size is not a whole number of sectors: capacity rounds down
odd=$(t_img odd.raw $((1024 * 1024 + 100)))
dev=$(t_attach "$odd")
expect_eq "odd-size capacity" "$(blockdev --getsize64 "$dev")" $((1024 * 1024))
