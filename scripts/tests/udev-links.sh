#!/usr/bin/env bash
# desc: systemd-udevd with 60-vdisk.rules: /dev/disk/by-vdisk links, properties, lsblk disk + parts, blkid labels; links go on detach
. "$(dirname "$0")/lib.sh"

udevd_pid=
stop_udevd() {
	t_cleanup
	if [ -n "$udevd_pid" ]; then
		udevadm control --exit 2>/dev/null || kill "$udevd_pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$udevd_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -rf /run/udev/rules.d/60-vdisk.rules
}
trap stop_udevd EXIT

# the rules as installed, calling the repo's vdisk_id
mkdir -p /run/udev/rules.d
sed "s|@VDISK_ID@|$VDISK_REPO/packaging/udev/vdisk_id|g" \
	"$VDISK_REPO/packaging/udev/60-vdisk.rules.in" > /run/udev/rules.d/60-vdisk.rules
pgrep -x systemd-udevd >/dev/null && fail "a systemd-udevd is already running"
/lib/systemd/systemd-udevd --daemon --resolve-names=never
udevd_pid=$(pgrep -x systemd-udevd | head -1)
[ -n "$udevd_pid" ] || fail "systemd-udevd did not start"
udevadm control --ping --timeout=10 || fail "systemd-udevd does not answer"
udevadm trigger --action=add --subsystem-match=block
udevadm settle --timeout=60

# a name with a blank: the link encodes it as \x20, as by-label does
img="$T_DIR/data disk.img"
truncate -s 64M "$img"
printf 'label: gpt\n,20M\n,\n' | sfdisk -q "$img" >/dev/null
dev=$(t_attach -P "$img")
name=${dev#/dev/}
udevadm settle --timeout=60
link='/dev/disk/by-vdisk/data\x20disk.img'
[ -L "$link" ] || fail "no $link; by-vdisk has: $(ls /dev/disk/by-vdisk 2>&1)"
expect_eq "$link target" "$(readlink -f "$link")" "$dev"
expect_eq "-part1 target" "$(readlink -f "$link-part1")" "${dev}p1"
expect_eq "-part2 target" "$(readlink -f "$link-part2")" "${dev}p2"

props=$(udevadm info --query=property --name="$dev")
echo "$props" | grep -qx "VDISK_FORMAT=raw" || fail "no VDISK_FORMAT=raw in: $props"
echo "$props" | grep -qx "VDISK_BACKING_FILE=$img" || fail "no VDISK_BACKING_FILE in: $props"
echo "$props" | grep -qx "DEVTYPE=disk" || fail "DEVTYPE is not disk: $props"
udevadm info --query=property --name="${dev}p1" | grep -qx "VDISK_IMAGE=data disk.img" ||
	fail "the partition did not inherit VDISK_IMAGE"

out=$(lsblk -rn -o NAME,SIZE,TYPE "$dev")
log "lsblk: $out"
expect_eq "lsblk" "$out" "$name 64M disk
${name}p1 20M part
${name}p2 42M part"

# blkid through udev: a label on a partition gives by-label and ID_FS_*
mkfs.ext4 -q -L vdudevtest "${dev}p1"
udevadm trigger --action=change --settle "${dev}p1" 2>/dev/null || udevadm trigger --action=change "${dev}p1"
udevadm settle --timeout=60
expect_eq "by-label" "$(readlink -f /dev/disk/by-label/vdudevtest)" "${dev}p1"
expect_eq "blkid" "$(blkid -o value -s TYPE "${dev}p1")" ext4
out=$(lsblk -rn -o NAME,FSTYPE,LABEL "${dev}p1")
expect_eq "lsblk FSTYPE,LABEL" "$out" "${name}p1 ext4 vdudevtest"

# detach: the remove events take the links away
t_detach "$dev"
udevadm settle --timeout=60
for l in "$link" "$link-part1" "$link-part2" /dev/disk/by-label/vdudevtest; do
	[ ! -e "$l" ] && [ ! -L "$l" ] || fail "$l still there after detach"
done
log "links gone after detach"
