#!/usr/bin/env bash
# desc: hostile qcow2 images (qcow2_hostile.py) under guest writes: refcount blocks claiming 2^32 clusters do not make an allocating write scan them; L2 entries aimed at an L2 table, a refcount block, the header or L1 (in place, by copy-on-write, by a subcluster write) are refused, the metadata stays intact and the image is marked corrupt
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"
gen=$(dirname "$0")/qcow2_hostile.py

# write_within SECS DEV OFF: one 4 KiB O_DIRECT write of ./blk at byte OFF
# of DEV must finish within SECS (a hung allocator keeps it in D state,
# where no timeout can kill it: wait for it instead)
write_within() {
	local secs=$1 dev=$2 off=$3 pid i
	dd if=blk of="$dev" bs=4k seek=$((off / 4096)) count=1 oflag=direct \
		conv=notrunc status=none &
	pid=$!
	for i in $(seq $((secs * 10))); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	kill -0 $pid 2>/dev/null && fail "a 4 KiB write at $off to $dev still runs after $secs s"
	wait $pid || fail "the 4 KiB write at $off to $dev failed"
}

head -c 4096 /dev/urandom >blk

# ---- finding 1: an allocator scan bounded by the file, not the refcounts ----
qemu-img create -q -f qcow2 -o refcount_bits=1,cluster_size=64k ones.qcow2 16M
python3 "$gen" refcounts-all-ones ones.qcow2 >/dev/null
dev=$(t_attach ones.qcow2)
write_within 60 "$dev" $((5 * 1024 * 1024))
write_within 60 "$dev" $((9 * 1024 * 1024))
expect_eq "block read back" \
	"$(dd if="$dev" bs=4k skip=$((9 * 256)) count=1 iflag=direct status=none | md5sum | cut -d' ' -f1)" \
	"$(t_sum blk)"
t_detach "$dev"
log "ok refcounts claiming 2^32 clusters: writes allocate at the end of the file"

# ---- finding 2: guest writes never land on, free or punch metadata ----
# aimed KIND CREATE-OPTS DD-ARGS: an image whose entry of guest cluster 1
# is aimed at metadata (qcow2_hostile.py KIND); the write DD-ARGS (of ./blk
# or ./clu) to /dev/vdN must leave that metadata as it was and the image
# marked corrupt; in-place kinds must fail the write with EIO
aimed() {
	local kind=$1 opts=$2 dd_args=$3 dev prot before rc=0
	rm -f a.qcow2
	qemu-img create -q -f qcow2 -o "$opts" a.qcow2 16M
	qemu-io -f qcow2 -c 'write -P 0x11 0 64k' -c 'write -P 0x22 128k 64k' a.qcow2 >/dev/null
	read -r prot_off prot_len < <(python3 "$gen" "$kind" a.qcow2)
	before=$(t_region_sum a.qcow2 "$prot_off" "$prot_len")
	dev=$(t_attach a.qcow2)
	# shellcheck disable=SC2086
	dd of="$dev" oflag=direct conv=notrunc status=none $dd_args 2>err || rc=$?
	t_detach "$dev"
	case $kind in
	copied-*|sub-*)
		[ $rc != 0 ] && grep -q "Input/output error" err ||
			fail "$kind: the write was not refused with EIO (exit $rc: $(cat err))" ;;
	esac
	expect_eq "$kind: the metadata at $prot_off (+$prot_len)" \
		"$(t_region_sum a.qcow2 "$prot_off" "$prot_len")" "$before"
	qemu-img info --output=json a.qcow2 | grep -q '"corrupt": true' ||
		fail "$kind: the image is not marked corrupt"
	dmesg | tail -5 | grep -q "corrupt" || fail "$kind: no kernel message naming the corruption"
	log "ok $kind: refused, metadata intact, image marked corrupt"
}

head -c 65536 /dev/urandom >clu
aimed copied-onto-l2 cluster_size=64k "if=blk bs=4k seek=16 count=1"
aimed copied-onto-refblock cluster_size=64k "if=blk bs=4k seek=16 count=1"
aimed compressed-at-0 cluster_size=64k "if=clu bs=64k seek=1 count=1"
aimed shared-onto-l1 cluster_size=64k "if=clu bs=64k seek=1 count=1"
aimed sub-onto-l2 cluster_size=64k,extended_l2=on "if=blk bs=4k seek=20 count=1"
