#!/usr/bin/env bash
# desc: hostile qcow2 images (qcow2_hostile.py) under guest writes: refcount blocks claiming 2^32 clusters do not make an allocating write scan them; L2 entries aimed at an L2 table, a refcount block, the header or L1 (in place, by copy-on-write, by a subcluster write) are refused, the metadata stays intact and the image is marked corrupt; an image's L1 tables are charged to the memory budgets (refused past layer_mem_mib and total_mem_mib, a rebase's new layers shown in sysfs)
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

# ---- finding 4: an image's tables are charged to the memory budgets ----
# A 2 TiB qcow2 of 4 KiB clusters has an L1 table of 8 MiB: a chain of
# them is refused past total_mem_mib, one of them past layer_mem_mib, with
# the table and the parameter named; a rebase's new backing layers are
# charged (and shown) from the job's start; all of it goes at detach.
P=/sys/module/vdisk/parameters
mem_total() { cat $P/mem_bytes; }
l1big() { qemu-img create -q -f qcow2 -o cluster_size=4k "$@" 2T; }
base=$(mem_total)
old_layer=$(cat $P/layer_mem_mib)
old_total=$(cat $P/total_mem_mib)
l1big g0.qcow2
qemu-io -f qcow2 -c 'write -P 0x5a 0 8M' g0.qcow2 >/dev/null
l1big -b g0.qcow2 -F qcow2 g1.qcow2
l1big -b g1.qcow2 -F qcow2 g2.qcow2
l1big n0.qcow2

echo 4 >$P/layer_mem_mib
expect_fail_with 2 "L1 table of 1048576 entries.*layer_mem_mib" vdattach attach -r g0.qcow2
echo "$old_layer" >$P/layer_mem_mib
echo $(((base >> 20) + 20)) >$P/total_mem_mib
expect_fail_with 2 "L1 table of 1048576 entries.*total_mem_mib" vdattach attach g2.qcow2
echo "$old_total" >$P/total_mem_mib
expect_eq "bytes held after the refusals" "$(mem_total)" "$base"

dev=$(t_attach g2.qcow2)
mem=/sys/block/${dev#/dev/}/vdisk/mem
for level in 0 1 2; do
	held=$(awk -v l=$level '$1 == l { print $2 }' "$mem")
	[ "${held:-0}" -ge $((8 << 20)) ] || fail "layer $level of the chain holds ${held:-no} bytes: $(cat "$mem")"
done
vdattach rebase -r 1M -b n0.qcow2 -F qcow2 "$dev" >rebase.out 2>&1 &
job=$!
for _ in $(seq 300); do grep -q "^new 0 " "$mem" && break; sleep 0.1; done
held=$(awk '$1 == "new" && $2 == 0 { print $3 }' "$mem")
[ "${held:-0}" -ge $((8 << 20)) ] || fail "the rebase's new backing layer holds ${held:-no} bytes: $(cat "$mem")"
vdattach cancel "$dev"
rc=0
wait $job || rc=$?
expect_eq "cancelled rebase's exit status" $rc 130
grep -q "^new" "$mem" && fail "new backing layers still shown after the job: $(cat "$mem")"
t_detach "$dev"
expect_eq "bytes held after detach" "$(mem_total)" "$base"
for f in g2 g1 g0 n0; do t_check_clean $f.qcow2; done
rm -f g?.qcow2 n0.qcow2 rebase.out
log "ok qcow2 tables charged: 8 MiB L1 refused past layer_mem_mib and total_mem_mib, a rebase's new layer shown"
