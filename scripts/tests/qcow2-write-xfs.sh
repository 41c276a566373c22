#!/usr/bin/env bash
# desc: the seed's scenario through vdisk (10 GiB qcow2, mkfs.xfs, a random file) vs qemu-nbd: check clean, file intact both ways, du within 5%; fstrim gives the space back
# tier: full - in make check: qcow2 with a filesystem: qcow2-xfs; writes: qcow2-write-compare
. "$(dirname "$0")/lib.sh"

MIB=${QCOW2_XFS_MIB:-192}
pattern_file "$T_DIR/file.bin" "$MIB"
want=$(t_sum "$T_DIR/file.bin")

# steps IMG DEV: mkfs.xfs, mount, copy the file in, unmount
steps() {
	mkfs.xfs -q "$2" || fail "mkfs.xfs on $2"
	t_mount "$2" "$T_DIR/mnt"
	cp "$T_DIR/file.bin" "$T_DIR/mnt/file.bin"
	t_umount "$T_DIR/mnt"
}

expect_clean() {
	local out rc=0
	out=$(qemu-img check "$1" 2>&1) || rc=$?
	[ $rc = 0 ] && echo "$out" | grep -q "No errors were found" ||
		{ echo "$out"; fail "qemu-img check $(basename "$1") exited $rc"; }
}

# through vdisk
vimg=$T_DIR/vdisk.qcow2
qemu-img create -q -f qcow2 "$vimg" 10G
dev=$(t_attach "$vimg")
steps "$vimg" "$dev"
t_detach "$dev"
expect_clean "$vimg"

# through qemu-nbd, as users do it today
nimg=$T_DIR/nbd.qcow2
qemu-img create -q -f qcow2 "$nimg" 10G
modprobe nbd max_part=0
qemu-nbd -f qcow2 --cache=none -c /dev/nbd0 "$nimg" || fail "qemu-nbd -c"
for i in $(seq 100); do [ "$(blockdev --getsize64 /dev/nbd0 2>/dev/null)" = $((10 << 30)) ] && break; sleep 0.05; done
steps "$nimg" /dev/nbd0
qemu-nbd -d /dev/nbd0 >/dev/null
expect_clean "$nimg"

vdu=$(du -k "$vimg" | cut -f1)
ndu=$(du -k "$nimg" | cut -f1)
log "du: vdisk $vdu KiB, qemu-nbd $ndu KiB"
[ $((vdu * 100)) -le $((ndu * 105)) ] && [ $((vdu * 100)) -ge $((ndu * 95)) ] ||
	fail "du of the vdisk image ($vdu KiB) not within 5% of qemu-nbd's ($ndu KiB)"

# what vdisk wrote, qemu reads: the file through qemu-nbd on vdisk's image
qemu-nbd -f qcow2 -r -c /dev/nbd0 "$vimg" || fail "qemu-nbd -c vdisk's image"
for i in $(seq 100); do [ "$(blockdev --getsize64 /dev/nbd0 2>/dev/null)" = $((10 << 30)) ] && break; sleep 0.05; done
t_mount /dev/nbd0 "$T_DIR/mnt" -o ro,norecovery
expect_eq "file through qemu-nbd on vdisk's image" "$(t_sum "$T_DIR/mnt/file.bin")" "$want"
t_umount "$T_DIR/mnt"
qemu-nbd -d /dev/nbd0 >/dev/null
# and what qemu wrote, vdisk reads
dev=$(t_attach -r "$nimg")
t_mount "$dev" "$T_DIR/mnt" -o ro,norecovery
expect_eq "file through vdisk on qemu-nbd's image" "$(t_sum "$T_DIR/mnt/file.bin")" "$want"
t_umount "$T_DIR/mnt"
t_detach "$dev"

# fstrim: deleting the file and trimming gives the clusters back
dev=$(t_attach "$vimg")
expect_eq "discard granularity" "$(cat /sys/block/${dev#/dev/}/queue/discard_granularity)" 65536
t_mount "$dev" "$T_DIR/mnt"
expect_eq "file through vdisk after remount" "$(t_sum "$T_DIR/mnt/file.bin")" "$want"
rm "$T_DIR/mnt/file.bin"
fstrim "$T_DIR/mnt" || fail "fstrim"
t_umount "$T_DIR/mnt"
t_detach "$dev"
expect_clean "$vimg"
after=$(du -k "$vimg" | cut -f1)
log "du after rm + fstrim: $after KiB (was $vdu KiB)"
[ "$after" -le $((vdu - MIB * 1024 * 9 / 10)) ] ||
	fail "fstrim freed only $((vdu - after)) KiB of the $MIB MiB file"
