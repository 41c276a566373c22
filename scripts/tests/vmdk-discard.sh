#!/usr/bin/env bash
# desc: vmdk discard and write zeroes: a delta over a filled parent (blkdiscard ranges fall through to the parent, partial grains kept, space punched after detach), zeroed grains (fallocate -p, blkdiscard -z), twoGbMaxExtentSparse across the extent boundary, monolithicFlat; compared with what the stack must show, qemu-img check and compare
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

G=65536			# qemu-img's grain size
M=1048576

# restore FILE FROM OFF LEN: bytes [OFF, OFF + LEN) of FILE become FROM's
restore() {
	dd if="$2" of="$1" bs=1M skip="$3" seek="$3" count="$4" conv=notrunc \
		iflag=skip_bytes,count_bytes oflag=seek_bytes status=none
}

# zero FILE OFF LEN
zero() {
	dd if=/dev/zero of="$1" bs=1M seek="$2" count="$3" conv=notrunc \
		iflag=count_bytes oflag=seek_bytes status=none
}

# whole_grains OFF LEN: "start length" of the whole grains inside the range
whole_grains() {
	local s=$(( ($1 + G - 1) / G * G )) e=$(( ($1 + $2) / G * G ))
	[ $e -gt $s ] && echo "$s $((e - s))" || echo "0 0"
}

# same DEV FILE WHAT: the device reads exactly as FILE
same() {
	cmp "$1" "$2" >/dev/null || fail "$3: $(cmp "$1" "$2" 2>&1 | head -1)"
}

check() {
	qemu-img check "$1" >check.out 2>&1 || { cat check.out; fail "qemu-img check $1"; }
}

pattern_file pat 32

# --- a delta over a filled parent: what is discarded shows the parent ---
qemu-img create -q -f vmdk -o subformat=monolithicSparse base.vmdk 64M
qemu-io -f vmdk -c 'write -P 0x5b 0 48m' base.vmdk >/dev/null
qemu-img convert -O raw base.vmdk base.raw
qemu-img create -q -f vmdk -b base.vmdk -F vmdk delta.vmdk
dev=$(t_attach delta.vmdk)
expect_eq "discard granularity of $dev" \
	"$(cat /sys/block/"$(basename "$dev")"/queue/discard_granularity)" $G
dd if=pat of="$dev" bs=1M count=32 oflag=direct status=none
# a partial grain far out: copy-on-write from the parent around it
dd if=pat of="$dev" bs=4096 count=1 seek=$((50 * M / 4096)) oflag=direct status=none
blockdev --flushbufs "$dev"
cp --sparse=always base.raw want.raw
dd if=pat of=want.raw bs=1M count=32 conv=notrunc status=none
dd if=pat of=want.raw bs=4096 count=1 seek=$((50 * M / 4096)) conv=notrunc status=none
same "$dev" want.raw "after the writes"
sync
used_before=$(du -k delta.vmdk | cut -f1)

# ranges: grain aligned; partial edges (kept); across the 32 MiB grain
# table boundary into tables never allocated; a tail past the parent
while read -r off len; do
	blkdiscard -o "$off" -l "$len" "$dev" || fail "blkdiscard -o $off -l $len"
	read -r s l <<<"$(whole_grains "$off" "$len")"
	[ "$l" = 0 ] || restore want.raw base.raw "$s" "$l"
done <<-EOF
	$((1 * M)) $((4 * M))
	$((10 * M + 4096)) $((M))
	$((12 * M + 512)) $((G - 1024))
	$((20 * M)) $((20 * M))
	$((50 * M)) $((M))
EOF
same "$dev" want.raw "after blkdiscard (before a flush)"
blockdev --flushbufs "$dev"
same "$dev" want.raw "after blkdiscard and a flush"
t_detach "$dev"
sync
used_after=$(du -k delta.vmdk | cut -f1)
[ "$used_after" -lt $((used_before - 16 * 1024)) ] ||
	fail "delta.vmdk uses ${used_after} KiB after discarding 17 MiB of ${used_before} KiB"
check delta.vmdk
qemu-img compare -q -f vmdk -F raw delta.vmdk want.raw || fail "qemu-img compare delta.vmdk"
# attach again: the parentCID still matches (the parent was not written)
dev=$(t_attach -r delta.vmdk)
same "$dev" want.raw "after re-attach"
t_detach "$dev"
log "ok delta: ${used_before} KiB -> ${used_after} KiB, parent shows through"

# --- write zeroes on the delta (no zeroed-grain flag): zeros written ----
dev=$(t_attach delta.vmdk)
blkdiscard -z -o $((2 * M)) -l $((M + 4096)) "$dev" || fail "blkdiscard -z"
zero want.raw $((2 * M)) $((M + 4096))
fallocate -p -o $((40 * M)) -l $((3 * M + 512)) "$dev" || fail "fallocate -p"
zero want.raw $((40 * M)) $((3 * M + 512))
same "$dev" want.raw "after write zeroes"
t_detach "$dev"
check delta.vmdk
qemu-img compare -q -f vmdk -F raw delta.vmdk want.raw || fail "qemu-img compare delta.vmdk after zeroes"
rm -f delta.vmdk want.raw
log "ok write zeroes on a delta"

# --- zeroed grains (zeroed_grain=on), no parent: discard reads zeros ----
qemu-img create -q -f vmdk -o subformat=monolithicSparse,zeroed_grain=on zg.vmdk 64M
dev=$(t_attach zg.vmdk)
dd if=pat of="$dev" bs=1M count=16 oflag=direct status=none
truncate -s 64M want.raw
dd if=pat of=want.raw bs=1M count=16 conv=notrunc status=none
blkdiscard -o $((3 * M)) -l $((2 * M)) "$dev" || fail "blkdiscard on zg"
zero want.raw $((3 * M)) $((2 * M))
fallocate -p -o $((6 * M + 4096)) -l $((2 * M)) "$dev" || fail "fallocate -p on zg"
zero want.raw $((6 * M + 4096)) $((2 * M))
blkdiscard -z -o $((9 * M)) -l $((30 * M)) "$dev" || fail "blkdiscard -z on zg"
zero want.raw $((9 * M)) $((30 * M))
same "$dev" want.raw "zeroed grains"
t_detach "$dev"
check zg.vmdk
qemu-img compare -q -f vmdk -F raw zg.vmdk want.raw || fail "qemu-img compare zg.vmdk"
qemu-img map --output=json zg.vmdk | grep -q '"zero": true, "data": false' ||
	fail "no zeroed grain in the map of zg.vmdk"
rm -f zg.vmdk want.raw
log "ok zeroed grains"

# --- twoGbMaxExtentSparse: one discard across the extent boundary -------
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse big.vmdk 2200M
dev=$(t_attach big.vmdk)
b=$((2048 * M - 2 * M))
dd if=pat of="$dev" bs=1M count=4 seek=$((b / M)) oflag=direct status=none
blkdiscard -o $((b + M)) -l $((2 * M)) "$dev" || fail "blkdiscard across the extents"
dd if="$dev" of=got bs=1M count=4 skip=$((b / M)) iflag=direct status=none
head -c $((4 * M)) pat > want
zero want $((M)) $((2 * M))
cmp got want >/dev/null || fail "twoGb: $(cmp got want 2>&1 | head -1)"
t_detach "$dev"
check big.vmdk
rm -f big*.vmdk got want
log "ok twoGbMaxExtentSparse across the extent boundary"

# --- monolithicFlat: discard keeps the data, write zeroes zeroes ---------
qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 16M
dev=$(t_attach flat.vmdk)
dd if=pat of="$dev" bs=1M count=16 oflag=direct status=none
head -c $((16 * M)) pat > want.raw
blkdiscard -o $M -l $M "$dev" 2>/dev/null || true
blkdiscard -z -o $((4 * M)) -l $((M + 512)) "$dev" || fail "blkdiscard -z on flat"
zero want.raw $((4 * M)) $((M + 512))
same "$dev" want.raw "monolithicFlat"
t_detach "$dev"
qemu-img compare -q -f vmdk -F raw flat.vmdk want.raw || fail "qemu-img compare flat.vmdk"
rm -f flat*.vmdk want.raw
log "ok monolithicFlat"
