#!/usr/bin/env bash
# desc: qcow2 -> qcow2 -> raw chain of growing sizes, and internal snapshots attached with -l
. "$(dirname "$0")/lib.sh"

cd "$T_DIR"
qemu-img create -q -f raw base.raw 32M
qemu-io -f raw -c 'write -P 0x11 0 32M' base.raw >/dev/null
qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 48M
qemu-io -f qcow2 -c 'write -P 0x22 1M 2M' -c 'write -P 0x23 40M 1M' -c 'write -z 8M 1M' mid.qcow2 >/dev/null
mkdir sub
# the top names its backing file relative to its own directory
qemu-img create -q -f qcow2 -b ../mid.qcow2 -F qcow2 sub/top.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x33 2M 64k' -c 'write -P 0x34 60M 1M' sub/top.qcow2 >/dev/null

want=$(qemu-img convert -O raw sub/top.qcow2 ref.raw && t_sum ref.raw)
dev=$(t_attach -r sub/top.qcow2)
name=${dev#/dev/}
expect_eq "layers" "$(cat /sys/block/$name/vdisk/nr_layers)" 3
expect_eq "chain" "$(cut -d' ' -f2 /sys/block/$name/vdisk/chain | tr '\n' ' ')" "qcow2 qcow2 raw "
expect_eq "size" "$(blockdev --getsize64 "$dev")" $((64 << 20))
expect_eq "chain contents" "$(t_sum "$dev")" "$want"
t_detach "$dev"
rm -f ref.raw

# internal snapshots: each one attaches read-only with its own data
qemu-img create -q -f qcow2 snap.qcow2 16M
for i in 1 2 3; do
	qemu-io -f qcow2 -c "write -P 0x4$i 0 4M" -c "write -P 0x5$i ${i}M 512k" snap.qcow2 >/dev/null
	qemu-img snapshot -c "s$i" snap.qcow2
	qemu-img convert -l "snapshot.name=s$i" -O raw snap.qcow2 "ref$i.raw"
done
qemu-io -f qcow2 -c 'write -P 0x99 0 16M' snap.qcow2 >/dev/null
for i in 1 2 3; do
	dev=$(t_attach -l "s$i" snap.qcow2)
	expect_eq "snapshot s$i" "$(t_sum "$dev")" "$(t_sum "ref$i.raw")"
	t_detach "$dev"
done
# by id too
dev=$(t_attach -l 2 snap.qcow2)
expect_eq "snapshot id 2" "$(t_sum "$dev")" "$(t_sum ref2.raw)"
t_detach "$dev"
expect_fail_with 2 "snapshot" vdattach attach -l nosuch snap.qcow2
