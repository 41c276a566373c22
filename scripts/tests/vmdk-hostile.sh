#!/usr/bin/env bash
# desc: hostile vmdk images (vmdk_hostile.py) under guest writes: a grain entry on the descriptor or on its grain table is refused and leaves them intact; one past the end of the file never aliases the grain the driver appends there
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
