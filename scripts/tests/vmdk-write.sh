#!/usr/bin/env bash
# desc: vmdk writes (monolithicSparse, twoGbMaxExtentSparse across the 2 GiB extent boundary, both flat subformats (twoGbMaxExtentFlat in check-full), zeroed grains (check-full), a delta): fio crc32c verify, qemu-img check, qemu-img compare against raw written the same way through loop
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

n=0
pattern_file pat 4

# writes DEV: the same pieces to any device: partial grains, whole grains,
# across grain tables (32 MiB), and around 2 GiB when the disk is larger
writes() {
	local dev=$1 size off len poff
	size=$(blockdev --getsize64 "$dev")
	while read -r off len poff; do
		[ $((off + len)) -le "$size" ] || continue
		dd if=pat of="$dev" bs=512 skip=$((poff / 512)) seek=$((off / 512)) \
			count=$((len / 512)) conv=notrunc status=none || fail "dd to $dev at $off"
	done <<-EOF
		0 4096 0
		65536 65536 65536
		130560 1024 8192
		1048576 1572864 131072
		33553920 1024 4096
		33554432 131072 0
		67108352 131072 262144
		2147418112 262144 1048576
		2147483136 4096 0
		2305835008 131072 3145728
	EOF
	blockdev --flushbufs "$dev"
}

# unclean IMG: the sparse extents whose uncleanShutdown byte is set
unclean() {
	local f
	for f in "$1" "${1%.vmdk}"-s[0-9][0-9][0-9].vmdk; do
		[ -f "$f" ] && [ "$(head -c4 "$f")" = KDMV ] || continue
		[ "$(od -An -tu1 -j72 -N1 "$f" | tr -d ' ')" = 0 ] || echo "$f"
	done
}

# one IMG [BASE_RAW]: write through vdisk and through loop on a raw copy
# of what the image shows, then compare; fio verifies in 16..24 MiB
one() {
	local img=$1 dev ldev ref=ref.raw size
	size=$(qemu-img info --output=json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	if [ -n "${2:-}" ]; then cp --sparse=always "$2" "$ref"; else truncate -s "$size" "$ref"; fi
	dev=$(t_attach "$img")
	ldev=$(t_loop "$ref")
	writes "$dev"
	writes "$ldev"
	fio --name=v --filename="$dev" --direct=1 --ioengine=psync --rw=randwrite \
		--bsrange=4k-128k --offset=16m --size=8m --io_size=16m --verify=crc32c \
		--randrepeat=1 --do_verify=1 --output=/dev/null || fail "fio on $img"
	t_detach "$dev"
	expect_eq "uncleanShutdown bytes after detach of $img" "$(unclean "$img")" ""
	# read back after re-attach: fio's blocks verify, and the fio range
	# goes to the reference so the whole disk can be compared
	dev=$(t_attach -r "$img")
	fio --name=v --filename="$dev" --direct=1 --ioengine=psync --rw=randwrite \
		--bsrange=4k-128k --offset=16m --size=8m --io_size=16m --verify=crc32c \
		--randrepeat=1 --verify_only --output=/dev/null || fail "fio verify after re-attach of $img"
	dd if="$dev" of="$ldev" bs=1M skip=16 seek=16 count=8 conv=notrunc status=none
	t_detach "$dev"
	losetup -d "$ldev"
	qemu-img check "$img" >check.out 2>&1 || { cat check.out; fail "qemu-img check $img"; }
	qemu-img compare -q -f vmdk -F raw "$img" "$ref" || fail "qemu-img compare $img differs from loop-written raw"
	rm -f "$ref" check.out
	n=$((n + 1))
	log "ok $img"
}

for sub in monolithicSparse monolithicFlat; do
	qemu-img create -q -f vmdk -o subformat=$sub $sub.vmdk 96M
	one $sub.vmdk
	rm -f $sub*.vmdk
done
# zeroed grains: written over in check-full (make check reads them in
# vmdk-read and writes zeroes through vmdk-discard)
if t_full; then
	qemu-img create -q -f vmdk -o subformat=monolithicSparse,zeroed_grain=on zg.vmdk 96M
	qemu-io -f vmdk -c 'write -P 0x3c 0 40m' -c 'write -z 64k 1m' -c 'write -z 33m 2m' zg.vmdk >/dev/null
	qemu-img convert -O raw zg.vmdk zg.raw
	one zg.vmdk zg.raw
	rm -f zg.vmdk zg.raw
fi

# the twoGb subformats, 2.2 GiB: writes cross the extent boundary
# make check writes across the 2 GiB extent boundary of the sparse one;
# the flat one (2.2 GiB that qemu-img compare reads in full) in check-full
BIG_SUBS=twoGbMaxExtentSparse
t_full && BIG_SUBS+=" twoGbMaxExtentFlat"
for sub in $BIG_SUBS; do
	qemu-img create -q -f vmdk -o subformat=$sub big.vmdk 2200M
	one big.vmdk
	rm -f big*.vmdk
done

# a delta over a filled base: partial grains are copied up from the parent
qemu-img create -q -f vmdk -o subformat=monolithicSparse base.vmdk 96M
qemu-io -f vmdk -c 'write -P 0x5b 0 70m' base.vmdk >/dev/null
qemu-img convert -O raw base.vmdk base.raw
qemu-img create -q -f vmdk -b base.vmdk -F vmdk delta.vmdk
cid=$(sed -n 's/^CID=//p' <(strings delta.vmdk) | head -1)
one delta.vmdk base.raw
expect_eq "base untouched" "$(qemu-img convert -O raw base.vmdk b2.raw && t_sum b2.raw)" "$(t_sum base.raw)"
new=$(sed -n 's/^CID=//p' <(strings delta.vmdk) | head -1)
[ "$new" != "$cid" ] || fail "CID of delta.vmdk unchanged after writes ($cid)"
qemu-img info --backing-chain delta.vmdk | grep -q "backing file: base.vmdk" || fail "backing chain lost"
log "ok delta CID $cid -> $new, backing chain kept"
rm -f base.* b2.raw delta.vmdk
log "$n images written identical to loop on raw"
