#!/usr/bin/env bash
# desc: a nested QEMU (TCG) boots a kernel with its root on /dev/vdN (-drive file=/dev/vd0,format=raw), writes a marker, powers off
#
# Not in the default VM run: under QEMU 7.2 (Debian 12) TCG inside the TCG
# test guest, the inner kernel dies in early boot (text_poke_early: IRETQ
# with corrupted EFLAGS, "Attempted to kill the idle task"), with -cpu max
# and qemu64 inside, max and qemu64 outside alike.  With the 6.1 kernel
# (--kernel 6.1) the inner kernel boots and runs this test's initramfs, but
# does not reach the root's init within 10 minutes.  Run it where the test
# guest has KVM or a newer QEMU:
#   scripts/vm-tests $PWD/scripts/tests-manual/nested-boot.sh
. "$(dirname "$0")/../tests/lib.sh"

abi=$(uname -r)
# the unpacked kernel the harness bound over /lib/modules: .../k-<abi>/lib/modules
src=$(findmnt -no SOURCE /lib/modules | sed -n 's/.*\[\(.*\)\]$/\1/p')
kdir=${src%/lib/modules}
[ -d "$kdir/boot" ] || fail "cannot find the kernel directory behind /lib/modules ($src)"
kernel=$(dirname "$kdir")/vmlinux/$abi.elf	# PVH entry, no self-decompression
[ -s "$kernel" ] || kernel=$kdir/boot/vmlinuz-$abi
command -v qemu-system-x86_64 >/dev/null || fail "no qemu-system-x86_64"
bb=$(command -v busybox)

# the inner initramfs: busybox, virtio_blk + ext4 with their dependencies
# (plain .ko), an /init that mounts /dev/vda and switches to it
ird=$T_DIR/initrd
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$bb" "$ird/bin/busybox"
ln -s busybox "$ird/bin/sh"
: > "$ird/modules"
for m in virtio_blk ext4; do
	modprobe --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	name=$(basename "$ko"); name=${name%.xz}; name=${name%.zst}
	case $ko in
	*.xz) xz -dc "$ko" > "$ird/lib/modules/$name" ;;
	*.zst) zstd -qdc "$ko" > "$ird/lib/modules/$name" ;;
	*) cp "$ko" "$ird/lib/modules/$name" ;;
	esac
	echo "$name" >> "$ird/modules"
done
[ -s "$ird/modules" ] || log "virtio_blk and ext4 are built in"
cat > "$ird/init" <<'EOI'
#!/bin/sh
export PATH=/bin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs dev /dev
while read -r m; do /bin/busybox insmod "/lib/modules/$m" || echo "insmod $m failed"; done < /modules
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do /bin/busybox sleep 0.1; i=$((i + 1)); done
/bin/busybox mount -t ext4 /dev/vda /newroot || { echo "INNER: cannot mount /dev/vda"; /bin/busybox poweroff -f; }
exec /bin/busybox switch_root /newroot /sbin/init
EOI
chmod 755 "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet) > "$T_DIR/initrd.cpio"

# the root file system the inner guest boots, in a raw image behind vdisk
r=$T_DIR/rootdir
mkdir -p "$r"/{bin,sbin,proc,sys,dev}
cp "$bb" "$r/bin/busybox"
for a in sh mount cat sed grep sync poweroff; do ln -s busybox "$r/bin/$a"; done
cat > "$r/sbin/init" <<'EOI'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
nonce=$(sed -n 's/.*nested\.nonce=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "INNER root: $(grep ' / ' /proc/mounts | grep -v rootfs)"
echo "$nonce" > /marker
sync
echo "INNER done $nonce"
poweroff -f
EOI
chmod 755 "$r/sbin/init"
img=$T_DIR/inner-root.img
mkfs.ext4 -q -F -d "$r" "$img" 32M
dev=$(t_attach -f raw "$img")

nonce=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
start=$(date +%s)
timeout -k 5 "${NESTED_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -machine pc -cpu qemu64 -smp 1 -m 256 \
	-nodefaults -no-reboot -display none -no-user-config \
	-kernel "$kernel" -initrd "$T_DIR/initrd.cpio" \
	-append "console=ttyS0 panic=-1 8250.nr_uarts=1 mitigations=off nokaslr tsc=reliable no_timer_check random.trust_cpu=on loglevel=3 rdinit=/init nested.nonce=$nonce" \
	-serial "file:$T_DIR/console.log" \
	-drive "file=$dev,format=raw,if=none,id=d,cache=none,aio=threads" \
	-device virtio-blk-pci,drive=d </dev/null || rc=$?
log "inner guest ran $(($(date +%s) - start)) s"
grep INNER "$T_DIR/console.log" | sed 's/^/# /' || true
[ "${rc:-0}" = 0 ] || { tail -20 "$T_DIR/console.log"; fail "inner qemu exited ${rc:-0}"; }
grep -q "INNER done $nonce" "$T_DIR/console.log" || { tail -30 "$T_DIR/console.log"; fail "the inner guest did not run its init"; }
grep -q "INNER root: /dev/vda / ext4 rw" "$T_DIR/console.log" || fail "the inner root is not /dev/vda rw"

# what the inner guest wrote went through vdisk into the image
t_mount "$dev" "$T_DIR/mnt" -o ro
expect_eq "marker on $dev" "$(cat "$T_DIR/mnt/marker")" "$nonce"
t_umount "$T_DIR/mnt"
t_detach "$dev"
expect_eq "marker in the image" "$(debugfs -R 'cat /marker' "$img" 2>/dev/null)" "$nonce"
