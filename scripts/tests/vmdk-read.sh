#!/usr/bin/env bash
# desc: vmdk from qemu-img (every hosted subformat, zeroed grains, streamOptimized, deltas, qcow2 over vmdk, 2 GiB extent boundary; twoGb zeroed grains, a delta over twoGb and the flat boundary in check-full) read whole == qemu-img convert -O raw
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

SIZE=64M
n=0

# fill IMG [FMT]: data across grain and grain table boundaries (a grain
# table maps 32 MiB), sub-grain pieces, zeroed ranges
fill() {
	qemu-io -f "${2:-vmdk}" \
		-c 'write -P 0xa1 0 1M' \
		-c 'write -P 0xb2 1536k 4k' \
		-c 'write -P 0xc3 3m 513k' \
		-c 'write -P 0xd4 7m 512' \
		-c 'write -P 0xe5 31m 2m' \
		-c 'write -z 40m 1m' \
		-c 'write -P 0xf6 60m 4m' \
		"$1" >/dev/null || fail "qemu-io on $1"
}

# check IMG [vdattach args]: /dev/vdN must read exactly what qemu-img reads
check() {
	local img=$1 dev want got
	shift
	want=$(qemu-img convert -O raw "$img" ref.raw && t_sum ref.raw)
	dev=$(t_attach -r "$@" "$img")
	expect_eq "size of $dev for $img" "$(blockdev --getsize64 "$dev")" "$(stat -c %s ref.raw)"
	got=$(t_sum "$dev")
	[ "$got" = "$want" ] || {
		cmp "$dev" ref.raw | head -3
		fail "$img $*: /dev content differs from qemu-img convert"
	}
	vdattach detach "$dev"
	rm -f ref.raw
	n=$((n + 1))
	log "ok $img $*"
}

# check_windows IMG: as check, for a large image: the first 8 MiB, 16 MiB
# around 2 GiB and the last 8 MiB (reading all of it takes minutes on TCG)
check_windows() {
	local img=$1 dev off
	qemu-img convert -O raw "$img" ref.raw || fail "qemu-img convert $img"
	dev=$(t_attach -r "$img")
	expect_eq "size of $dev for $img" "$(blockdev --getsize64 "$dev")" "$(stat -c %s ref.raw)"
	for off in 0 2040 $(($(stat -c %s ref.raw) / 1048576 - 8)); do
		cmp <(dd if="$dev" bs=1M skip="$off" count=16 status=none) \
			<(dd if=ref.raw bs=1M skip="$off" count=16 status=none) ||
			fail "$img: differs from qemu-img convert in the 16 MiB at $off MiB"
	done
	vdattach detach "$dev"
	rm -f ref.raw
	n=$((n + 1))
	log "ok $img (windows)"
}

# to_footer IMG: move a streamOptimized image's header into a footer
# (footer marker, header copy, end-of-stream marker) and mark the header's
# gdOffset "at the end", as VMware's writers do
to_footer() {
	python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    hdr = f.read(512)
    f.seek(0, 2)
    end = f.tell()
    # QEMU ends the stream with an end-of-stream sector: the footer replaces it
    f.seek(end - 512)
    if f.read(512) == bytes(512):
        end -= 512
    f.seek(end)
    f.write(struct.pack("<QII", 1, 0, 3).ljust(512, b"\0") + hdr + bytes(512))
    f.seek(56)
    f.write(struct.pack("<Q", 0xffffffffffffffff))
PY
}

# create NAME OPTIONS [SIZE]: a filled image
create() {
	qemu-img create -q -f vmdk -o "$2" "$1.vmdk" "${3:-$SIZE}" || fail "qemu-img create $2"
	fill "$1.vmdk"
}

for sub in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat; do
	create "$sub" "subformat=$sub"
	check "$sub.vmdk"
done
create zeroed "subformat=monolithicSparse,zeroed_grain=on"
qemu-img check zeroed.vmdk >/dev/null || fail "qemu-img check zeroed.vmdk"
check zeroed.vmdk
if t_full; then	# zeroed grains and twoGb extents, each checked above
	create zeroed2g "subformat=twoGbMaxExtentSparse,zeroed_grain=on"
	check zeroed2g.vmdk
fi

# streamOptimized: compressed grains, markers, GD in the footer
qemu-img convert -O vmdk -o subformat=streamOptimized monolithicSparse.vmdk stream.vmdk ||
	fail "convert to streamOptimized"
check stream.vmdk
expect_fail_with 2 "streamOptimized.*read-only" vdattach attach stream.vmdk
log "ok stream.vmdk refused read-write"
# as VMware writes them: the header says "GD at the end", the footer has it
cp stream.vmdk footer.vmdk
to_footer footer.vmdk
check footer.vmdk

# deltas: vmdk over vmdk (two levels), over a twoGbMaxExtentSparse parent
qemu-img create -q -f vmdk -b monolithicSparse.vmdk -F vmdk delta1.vmdk || fail "create delta1"
qemu-io -f vmdk -c 'write -P 0x11 512k 1m' -c 'write -P 0x12 33m 100k' delta1.vmdk >/dev/null
qemu-img create -q -f vmdk -b delta1.vmdk -F vmdk delta2.vmdk || fail "create delta2"
qemu-io -f vmdk -c 'write -P 0x21 1m 4k' -c 'write -z 61m 64k' delta2.vmdk >/dev/null
check delta1.vmdk
check delta2.vmdk
expect_eq "layers of delta2" "$(vdattach info --json delta2.vmdk | python3 -c \
	'import json,sys; print(len(json.load(sys.stdin)["layers"]))')" 3
if t_full; then	# a delta over a twoGb parent: deltas and twoGb, each above
	qemu-img create -q -f vmdk -b twoGbMaxExtentSparse.vmdk -F vmdk delta3.vmdk
	qemu-io -f vmdk -c 'write -P 0x31 63m 1m' delta3.vmdk >/dev/null
	check delta3.vmdk
fi

# qcow2 over vmdk, as in the seed
qemu-img create -q -f qcow2 -b delta1.vmdk -F vmdk over.qcow2 || fail "create over.qcow2"
qemu-io -f qcow2 -c 'write -P 0x41 2m 3m' over.qcow2 >/dev/null
check over.qcow2

# a parent changed after its delta was made: refused, or forced
qemu-io -f vmdk -c 'write -P 0x77 0 4k' delta1.vmdk >/dev/null	# new CID in delta1
expect_fail_with 2 "parentCID .* does not match" vdattach attach -r delta2.vmdk
dev=$(t_attach -r --force-parent-cid delta2.vmdk)
vdattach detach "$dev"
log "ok parentCID mismatch refused, forced"
rm -f ./*.vmdk ./*.qcow2

# the 2 GiB extent boundary of the twoGb subformats (sparse files; the
# flat one in check-full: the extent table's arithmetic is the same)
BIG_SUBS=twoGbMaxExtentSparse
t_full && BIG_SUBS+=" twoGbMaxExtentFlat"
for sub in $BIG_SUBS; do
	qemu-img create -q -f vmdk -o "subformat=$sub" big.vmdk 2200M
	qemu-io -f vmdk -c 'write -P 0x5e 2047m 2m' -c 'write -P 0x6f 2199m 1m' \
		-c 'write -P 0x70 0 1m' big.vmdk >/dev/null
	expect_eq "extent files of $sub" "$(ls big-*.vmdk | wc -l)" 2
	check_windows big.vmdk
	rm -f big*.vmdk
done
log "$n images read identical to qemu-img convert"
