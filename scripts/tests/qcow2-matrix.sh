#!/usr/bin/env bash
# desc: qcow2 images from qemu-img (compat, cluster sizes, extended L2, preallocation, zlib/zstd) read whole == qemu-img convert -O raw
. "$(dirname "$0")/lib.sh"

SIZE=64M
n=0

# fill IMG: writes qemu-io makes in every image: data across cluster and L2
# boundaries, sub-cluster pieces, zeroed and discarded ranges
fill() {
	qemu-io -f qcow2 \
		-c 'write -P 0xa1 0 1M' \
		-c 'write -P 0xb2 1536k 4k' \
		-c 'write -P 0xc3 3m 513k' \
		-c 'write -P 0xd4 7m 512' \
		-c 'write -P 0xe5 31m 2m' \
		-c 'write -z 31744k 64k' \
		-c 'write -P 0xf6 60m 4m' \
		-c 'discard 62m 1m' \
		"$1" >/dev/null || fail "qemu-io on $1"
}

# check IMG [vdattach args]: /dev/vdN must read exactly what qemu-img reads
check() {
	local img=$1 dev want got
	shift
	want=$(qemu-img convert -O raw "$img" "$T_DIR/ref.raw" && t_sum "$T_DIR/ref.raw")
	dev=$(t_attach -r "$@" "$img")
	expect_eq "size of $dev for $(basename "$img")" "$(blockdev --getsize64 "$dev")" \
		"$(stat -c %s "$T_DIR/ref.raw")"
	got=$(t_sum "$dev")
	[ "$got" = "$want" ] || {
		cmp "$dev" "$T_DIR/ref.raw" | head -3
		fail "$(basename "$img") $*: /dev content differs from qemu-img convert"
	}
	vdattach detach "$dev"
	rm -f "$T_DIR/ref.raw"
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

for compat in 0.10 1.1; do
	for cs in 512 4k 64k 2M; do
		img=$(create "c$compat-$cs" "compat=$compat,cluster_size=$cs")
		check "$img"
		rm -f "$img"
	done
done
for cs in 16k 64k 2M; do
	img=$(create "extl2-$cs" "compat=1.1,extended_l2=on,cluster_size=$cs")
	check "$img"
	rm -f "$img"
done
for prealloc in metadata falloc full; do
	img=$(create "prealloc-$prealloc" "preallocation=$prealloc")
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
img=$(create "mixed" "cluster_size=2M")
qemu-io -f qcow2 -c 'write -c -P 0x5a 8m 2m' -c 'write -c -P 0x6b 16m 2m' "$img" >/dev/null
check "$img"
log "$n images read identical to qemu-img convert"
