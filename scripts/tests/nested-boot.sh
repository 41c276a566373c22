#!/usr/bin/env bash
# desc: a nested VM boots from a vdisk device (qemu -drive file=/dev/vdN,format=raw; root ext4 in a qcow2 overlay on a base), writes a marker, powers off; the overlay holds it, the base is untouched
# tier: full - in make check: booting from a device: scripts/test-boot-image boots a VM from /dev/vdN over a qcow2
#
# The inner QEMU runs under KVM inside the test guest: the outer QEMU's TCG
# emulates AMD SVM with nested paging for "-cpu max", so kvm_amd loads in the
# guest.  (Inner TCG does not work with Debian 12's QEMU 7.2: the inner kernel
# crashes in text_poke_early, or needs more than 10 minutes to reach init.)
# Its own boot, with one vCPU: starting a VM flips static keys (preempt
# notifiers) in code the other vCPU runs all the time, and multi-threaded
# TCG in QEMU 7.2 now and then lets that vCPU run a stale int3 (an oops in
# finish_task_switch); single-threaded TCG hangs the nested VM instead.
# vm-run: --cpus 1
. "$(dirname "$0")/lib.sh"

abi=$(uname -r)
# the unpacked kernel the harness bound over /lib/modules: .../k-<abi>/lib/modules
src=$(findmnt -no SOURCE /lib/modules | sed -n 's/.*\[\(.*\)\]$/\1/p')
kdir=${src%/lib/modules}
[ -d "$kdir/boot" ] || fail "cannot find the kernel directory behind /lib/modules ($src)"
kernel=$kdir/boot/vmlinuz-$abi
[ -s "$kernel" ] || fail "no $kernel"
command -v qemu-system-x86_64 >/dev/null || fail "no qemu-system-x86_64"
bb=$(command -v busybox)

modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null || true
[ -c /dev/kvm ] || fail "no /dev/kvm in the guest (the outer QEMU must offer svm: -cpu max under TCG)"

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

# the root file system of the inner VM: its /sbin/init is a shell script
# that reads what the base left, writes a marker, and powers off
r=$T_DIR/rootdir
mkdir -p "$r"/{bin,sbin,proc,sys,dev,etc}
cp "$bb" "$r/bin/busybox"
for a in sh mount cat sed grep sync poweroff; do ln -s busybox "$r/bin/$a"; done
echo "golden image" > "$r/etc/issue"
cat > "$r/sbin/init" <<'EOI'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
nonce=$(sed -n 's/.*nested\.nonce=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "INNER root: $(grep ' / ' /proc/mounts | grep -v rootfs)"
echo "INNER issue: $(cat /etc/issue)"
echo "$nonce" > /marker
sync
echo "INNER done $nonce"
poweroff -f
EOI
chmod 755 "$r/sbin/init"
mkfs.ext4 -q -F -d "$r" "$T_DIR/root.raw" 32M
rm -rf "$r"
qemu-img convert -q -f raw -O qcow2 "$T_DIR/root.raw" "$T_DIR/base.qcow2"
rm -f "$T_DIR/root.raw"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T_DIR/top.qcow2"
base_md5=$(md5sum < "$T_DIR/base.qcow2")
dev=$(t_attach "$T_DIR/top.qcow2")
expect_eq "layers of $dev" "$(t_nr_layers "$dev")" 2

nonce=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
start=$(date +%s)
rc=0
timeout -k 5 "${NESTED_TIMEOUT:-300}" qemu-system-x86_64 -accel kvm -machine pc -cpu host -smp 1 -m 256 \
	-nodefaults -no-reboot -display none -no-user-config \
	-kernel "$kernel" -initrd "$T_DIR/initrd.cpio" \
	-append "console=ttyS0 panic=-1 8250.nr_uarts=1 mitigations=off nokaslr tsc=reliable no_timer_check random.trust_cpu=on loglevel=6 rdinit=/init nested.nonce=$nonce" \
	-serial "file:$T_DIR/console.log" \
	-drive "file=$dev,format=raw,if=virtio,cache=none,aio=native" </dev/null || rc=$?
log "inner VM ran $(($(date +%s) - start)) s (exit $rc)"
grep INNER "$T_DIR/console.log" | sed 's/^/# /' || true
[ "$rc" = 0 ] || { tail -40 "$T_DIR/console.log"; fail "inner qemu exited $rc"; }
grep -q "INNER done $nonce" "$T_DIR/console.log" || { tail -30 "$T_DIR/console.log"; fail "the inner VM did not run its init"; }
grep -q "INNER root: /dev/vda / ext4 rw" "$T_DIR/console.log" || fail "the inner root is not /dev/vda rw"
grep -q "INNER issue: golden image" "$T_DIR/console.log" || fail "the inner VM did not read the base's /etc/issue"

# the marker went through vdisk into the overlay; the base is untouched
t_mount "$dev" "$T_DIR/mnt" -o ro
expect_eq "marker on $dev" "$(cat "$T_DIR/mnt/marker")" "$nonce"
t_umount "$T_DIR/mnt"
t_detach "$dev"
t_check_clean "$T_DIR/top.qcow2"
expect_eq "base image bytes" "$(md5sum < "$T_DIR/base.qcow2")" "$base_md5"
qemu-img convert -f qcow2 -O raw "$T_DIR/top.qcow2" "$T_DIR/view.raw"
expect_eq "marker in the overlay's view" "$(debugfs -R 'cat /marker' "$T_DIR/view.raw" 2>/dev/null)" "$nonce"
rm -f "$T_DIR/view.raw"
qemu-img convert -f qcow2 -O raw "$T_DIR/base.qcow2" "$T_DIR/view.raw"
expect_eq "marker in the base's view" "$(debugfs -R 'cat /marker' "$T_DIR/view.raw" 2>/dev/null)" ""
rm -f "$T_DIR/view.raw"
[ "$(t_allocated_k "$T_DIR/top.qcow2")" -gt 0 ] || fail "the overlay holds no data"
