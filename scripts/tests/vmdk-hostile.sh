#!/usr/bin/env bash
# desc: hostile vmdk images (vmdk_hostile.py) under guest writes: a grain entry on the descriptor or on its grain table is refused and leaves them intact; one past the end of the file never aliases the grain the driver appends there; memory taken for many extents stays within the budgets (grain directories, inflate contexts, dirty grain tables)
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"
gen=$(dirname "$0")/vmdk_hostile.py
G=65536

# fresh: a monolithicSparse vmdk with grain 0 written
fresh() {
	rm -f a.vmdk
	qemu-img create -q -f vmdk -o subformat=monolithicSparse a.vmdk 64M
	qemu-io -f vmdk -c 'write -P 0x11 0 64k' a.vmdk >/dev/null
}

# meta_sum OFF LEN: checksum of that region of a.vmdk but for the CID line,
# which the first write to an image changes
meta_sum() {
	dd if=a.vmdk iflag=skip_bytes,count_bytes skip="$1" count="$2" bs=64k status=none |
		grep -av '^CID=' | md5sum | cut -d' ' -f1
}

# wr DEV GRAIN FILE: one grain of FILE to grain GRAIN of DEV; exit status of dd
wr() {
	dd if="$3" of="$1" bs=$G seek="$2" count=1 oflag=direct conv=notrunc status=none 2>err
}

head -c $G /dev/urandom >a.bin
head -c $G /dev/urandom >b.bin

for kind in grain-onto-descriptor grain-onto-gt; do
	fresh
	read -r off len < <(python3 "$gen" "$kind" a.vmdk)
	before=$(meta_sum "$off" "$len")
	dev=$(t_attach a.vmdk)
	if wr "$dev" 1 a.bin; then
		fail "$kind: the write onto metadata succeeded"
	fi
	grep -q "Input/output error" err || fail "$kind: $(cat err)"
	t_detach "$dev"
	expect_eq "$kind: the metadata at $off (+$len), CID aside" "$(meta_sum "$off" "$len")" "$before"
	qemu-img info a.vmdk >/dev/null || fail "$kind: qemu-img no longer opens the image"
	dmesg | tail -5 | grep -q "metadata" || fail "$kind: no kernel message naming the metadata"
	log "ok $kind: refused, metadata intact"
done

# grain 1 points at the end of the file; grains 600.. (another grain
# table) are appended there: grain 1's write must not land on them
fresh
python3 "$gen" grain-past-eof a.vmdk >/dev/null
dev=$(t_attach a.vmdk)
for g in 600 601 602 603; do
	wr "$dev" $g a.bin || fail "write of grain $g: $(cat err)"
done
if wr "$dev" 1 b.bin; then
	fail "grain-past-eof: the write through the stale entry succeeded"
fi
for g in 600 601 602 603; do
	expect_eq "grain $g after the write to grain 1" \
		"$(dd if="$dev" bs=$G skip=$g count=1 iflag=direct status=none | md5sum | cut -d' ' -f1)" \
		"$(t_sum a.bin)"
done
t_detach "$dev"
log "ok grain-past-eof: refused, the appended grains intact"

# --- memory budgets (budget.c): what an image's extents make the driver
# allocate is bounded per layer, whatever the number of extents

mem_total() { cat /sys/module/vdisk/parameters/mem_bytes; }
# no_splat WHAT: the kernel log since the mark has no warning, oops, OOM
no_splat() {
	local re="WARNING:|BUG:|Oops|Out of memory|soft lockup|hung task|Call Trace|vmalloc error"

	if dmesg | sed -n '/vmdk-hostile: budget mark/,$p' | grep -E "$re" >splat; then
		fail "$1: kernel log: $(head -5 splat)"
	fi
}
echo "vmdk-hostile: budget mark" >/dev/kmsg
ulimit -n 8192		# vdattach holds one descriptor per extent
base=$(mem_total)

# 1024 extents of 16 MiB grain directories, 16 GiB, from sparse files
# (before the budgets: a soft lockup reading them, then the OOM killer)
SECONDS=0
python3 "$gen" many-huge-gds g.vmdk 1024 >/dev/null
t=$SECONDS
rc=0
out=$(vdattach attach -r g.vmdk 2>&1) || rc=$?
t=$((SECONDS - t))
[ $rc = 2 ] && echo "$out" | grep -Eq "extent [0-9]+: grain directory of 4194304 entries.*layer_mem_mib" ||
	fail "many-huge-gds: exit $rc: $out"
log "$out"
[ $t -lt 30 ] || fail "many-huge-gds: the refusal took ${t}s"
expect_eq "many-huge-gds: bytes held after the refusal" "$(mem_total)" "$base"
# the budget of all images is checked as well, and named
old=$(cat /sys/module/vdisk/parameters/total_mem_mib)
echo 64 >/sys/module/vdisk/parameters/total_mem_mib
rc=0
out=$(vdattach attach -r g.vmdk 2>&1) || rc=$?
echo "$old" >/sys/module/vdisk/parameters/total_mem_mib
[ $rc = 2 ] && echo "$out" | grep -q "total_mem_mib" ||
	fail "many-huge-gds under total_mem_mib=64: exit $rc: $out"
no_splat many-huge-gds
rm -f g.vmdk g-s*.vmdk
log "ok many-huge-gds: refused in ${t}s, naming layer_mem_mib and total_mem_mib (${SECONDS}s)"

# 64 compressed extents of one 2 MiB grain: one pool of inflate contexts
# for the layer, not a 4 MiB context kept for each extent read (256 MiB)
SECONDS=0
python3 "$gen" many-compressed c.vmdk 64 >/dev/null
dev=$(t_attach -r c.vmdk)
read -r ok fell < <(python3 "$gen" check-compressed "$dev" 64)
expect_eq "many-compressed: contents" "$ok" OK
[ "$fell" -lt $((128 << 10)) ] ||
	fail "many-compressed: MemAvailable fell by $((fell >> 10)) MiB reading 64 grains"
held=$(awk '$1 == 0 { print $2 }' "/sys/block/${dev#/dev/}/vdisk/mem")
[ "$held" -gt $((4 << 20)) ] && [ "$held" -lt $((64 << 20)) ] ||
	fail "many-compressed: layer 0 holds $held bytes"
t_detach "$dev"
expect_eq "many-compressed: bytes held after detach" "$(mem_total)" "$base"
no_splat many-compressed
rm -f c.vmdk c-s*.vmdk
log "ok many-compressed: MemAvailable fell by $((fell >> 10)) MiB, layer holds $((held >> 10)) KiB (${SECONDS}s)"

# 24 extents of 2 GiB, one grain written every 48 MiB: 1024 grain tables
# of 32 MiB, each dirtying its slice in both directories (2048 slices,
# about 85 per extent).  Dirty slices are never evicted, so their bound
# (1024) must hold for the layer, not per extent; the cache's shards may
# each keep a few dirty slices past their share of its capacity.
SECONDS=0
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse w.vmdk 48G
dev=$(t_attach w.vmdk)
python3 - "$dev" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 65536)
buf.write(b"\x5a" * 65536)
for off in range(0, 48 << 30, 48 << 20):
    os.pwrite(fd, buf, off)
os.close(fd)
PY
read -r cap slices < <(awk '$1 == "capacity_slices" { c = $2 } $1 == "slices" { s = $2 }
	END { print c, s }' "/sys/block/${dev#/dev/}/vdisk/cache")
[ "$slices" -le $((cap * 3 / 2)) ] ||
	fail "many-extents dirty: $slices slices cached, capacity $cap"
t_detach "$dev"
qemu-img check -q w.vmdk || fail "many-extents dirty: qemu-img check"
no_splat many-extents-dirty
log "ok many-extents dirty: $slices slices cached (capacity $cap) after 2048 dirtied (${SECONDS}s)"
