#!/usr/bin/env bash
# desc: qcow2 images from qemu-img (compat, cluster sizes, extended L2, preallocation, zlib/zstd) read whole == qemu-img convert -O raw
. "$(dirname "$0")/lib.sh"

SIZE=64M
n=0

# fill IMG [FORMAT]: writes qemu-io makes in every image: data across cluster and L2
# boundaries, sub-cluster pieces, zeroed and discarded ranges
fill() {
	qemu-io -f "${2:-qcow2}" \
		-c 'write -P 0xa1 0 1M' \
		-c 'write -P 0xb2 1536k 4k' \
		-c 'write -P 0xc3 3m 513k' \
		-c 'write -P 0xd4 7m 512' \
		-c 'write -P 0xe5 31m 2m' \
		-c 'write -z 31744k 64k' \
		-c 'write -P 0xf6 60m 4m' \
		-c 'discard 62m 2m' \
		"$1" >/dev/null || fail "qemu-io on $1"
}

# Every image holds the same writes, so one reference serves them all: the
# raw file qemu-io writes them to.  (The discard covers a whole cluster of
# every size: a partial one leaves qcow2's data in place, a raw file's not.)  The full tier also holds each image's
# qemu-img convert -O raw to it; make check saves those 2-3 s a image.
# want_of RAW: the checksum vdisk must read
want_of() {
	[ "$(stat -c %s "$1")" = "$(numfmt --from=iec $SIZE)" ] || fail "reference $1 is not $SIZE"
	t_sum "$1"
}
truncate -s $SIZE "$T_DIR/fill.raw"
fill "$T_DIR/fill.raw" raw
WANT=$(want_of "$T_DIR/fill.raw")

# check IMG [vdattach args]: /dev/vdN must read exactly what qemu-img reads
check() {
	local img=$1 dev want=${WANT_OF_NEXT:-$WANT} got
	shift
	WANT_OF_NEXT=
	if t_full; then
		qemu-img convert -O raw "$img" "$T_DIR/ref.raw" || fail "qemu-img convert $img"
		expect_eq "qemu-img's read of $(basename "$img")" "$(want_of "$T_DIR/ref.raw")" "$want"
		rm -f "$T_DIR/ref.raw"
	fi
	dev=$(t_attach -r "$@" "$img")
	expect_eq "size of $dev for $(basename "$img")" "$(blockdev --getsize64 "$dev")" \
		"$(numfmt --from=iec $SIZE)"
	got=$(t_sum "$dev")
	[ "$got" = "$want" ] || {
		qemu-img convert -O raw "$img" "$T_DIR/ref.raw"
		cmp "$dev" "$T_DIR/ref.raw" | head -3
		fail "$(basename "$img") $*: /dev content differs from qemu-img convert"
	}
	vdattach detach "$dev"
	n=$((n + 1))
	log "ok $(basename "$img") $*"
}

# create NAME OPTIONS: a filled image
create() {
	local img=$T_DIR/$1.qcow2
	qemu-img create -q -f qcow2 -o "$2" "$img" $SIZE || fail "qemu-img create $2"
	fill "$img"
	echo "$img"
}

# make check: the extremes (512 B and 2 MiB clusters, v2 and v3, extended
# L2, full preallocation); check-full: every combination
if t_full; then
	CONFIGS="compat=0.10,cluster_size=512 compat=0.10,cluster_size=4k
		compat=0.10,cluster_size=64k compat=0.10,cluster_size=2M
		compat=1.1,cluster_size=512 compat=1.1,cluster_size=4k
		compat=1.1,cluster_size=64k compat=1.1,cluster_size=2M
		extended_l2=on,cluster_size=16k extended_l2=on,cluster_size=64k
		extended_l2=on,cluster_size=2M preallocation=metadata
		preallocation=falloc preallocation=full"
else
	CONFIGS="compat=0.10,cluster_size=512 compat=1.1,cluster_size=2M
		extended_l2=on,cluster_size=16k preallocation=full"
fi
for opts in $CONFIGS; do
	img=$(create "$(echo "$opts" | tr ',=' '-_')" "$opts")
	check "$img"
	rm -f "$img"
done
for ct in zlib zstd; do
	src=$(create "src-$ct" "compat=1.1")
	img=$T_DIR/comp-$ct.qcow2
	qemu-img convert -c -O qcow2 -o "compression_type=$ct" "$src" "$img" ||
		fail "qemu-img convert -c $ct"
	rm -f "$src"
	qemu-img info "$img" | grep -q "compression type: $ct" || fail "not $ct-compressed"
	check "$img"
	rm -f "$img"
done
# compressed clusters next to plain ones, and 2 MiB compressed clusters
t_full || { log "$n images read identical to qemu-img convert"; exit 0; }
img=$(create "mixed" "cluster_size=2M")
qemu-io -f qcow2 -c 'write -c -P 0x5a 8m 2m' -c 'write -c -P 0x6b 16m 2m' "$img" >/dev/null
qemu-io -f raw -c 'write -P 0x5a 8m 2m' -c 'write -P 0x6b 16m 2m' "$T_DIR/fill.raw" >/dev/null
WANT_OF_NEXT=$(want_of "$T_DIR/fill.raw")
check "$img"
log "$n images read identical to qemu-img convert"
