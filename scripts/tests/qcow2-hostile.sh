#!/usr/bin/env bash
# desc: hostile qcow2 images (qcow2_hostile.py) under guest writes: refcount blocks claiming 2^32 clusters do not make an allocating write scan them; the write lands, reads back, and the device detaches
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
python3 "$gen" refcounts-all-ones ones.qcow2
dev=$(t_attach ones.qcow2)
write_within 60 "$dev" $((5 * 1024 * 1024))
write_within 60 "$dev" $((9 * 1024 * 1024))
expect_eq "block read back" \
	"$(dd if="$dev" bs=4k skip=$((9 * 256)) count=1 iflag=direct status=none | md5sum | cut -d' ' -f1)" \
	"$(t_sum blk)"
t_detach "$dev"
log "ok refcounts claiming 2^32 clusters: writes allocate at the end of the file"
