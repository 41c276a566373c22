#!/usr/bin/env bash
# desc: malformed qcow2 (truncated, bad offsets, huge tables, bad cluster_bits, garbage compressed data, chain loops, 100-deep chain) refused cleanly
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

# patch FILE OFFSET STRUCTFMT VALUE: overwrite a big-endian header field
patch() {
	python3 - "$@" <<'PY'
import struct, sys
path, off, fmt, val = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], int(sys.argv[4], 0)
with open(path, "r+b") as f:
    f.seek(off)
    f.write(struct.pack(">" + fmt, val))
PY
}

# l2_offset IMG: file offset of the first L2 table (from the L1 table)
l2_offset() {
	python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    h = f.read(48)
    l1 = struct.unpack(">Q", h[40:48])[0]
    f.seek(l1)
    print(struct.unpack(">Q", f.read(8))[0] & 0x00fffffffffffe00)
PY
}

fresh() {
	rm -f "$1"
	qemu-img create -q -f qcow2 "$1" 16M
	qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' "$1" >/dev/null
}

# refused NAME PATTERN IMG: attach must fail with exit 2 and a message
refused() {
	expect_fail_with 2 "$2" vdattach attach -r -f qcow2 "$3"
	log "refused: $1"
}

fresh good.qcow2

cp good.qcow2 t.qcow2; truncate -s 100 t.qcow2
refused "truncated header" "qcow2|header|truncated|short" t.qcow2
fresh t.qcow2; patch t.qcow2 20 I 8
refused "cluster_bits 8" "cluster_bits" t.qcow2
fresh t.qcow2; patch t.qcow2 20 I 22
refused "cluster_bits 22" "cluster_bits" t.qcow2
fresh t.qcow2; patch t.qcow2 4 I 4
refused "version 4" "version" t.qcow2
fresh t.qcow2; patch t.qcow2 36 I 0xffffffff
refused "huge l1_size" "l1_size|L1" t.qcow2
fresh t.qcow2; patch t.qcow2 36 I 0
refused "l1_size too small" "l1_size|L1" t.qcow2
fresh t.qcow2; patch t.qcow2 40 Q 0x10000000000
refused "L1 past EOF" "l1|L1" t.qcow2
fresh t.qcow2; patch t.qcow2 40 Q 0x30200
refused "L1 unaligned" "l1|L1|align" t.qcow2
fresh t.qcow2; patch t.qcow2 48 Q 0x10000000000
refused "refcount table past EOF" "refcount" t.qcow2
fresh t.qcow2; patch t.qcow2 48 Q 0x10200
refused "refcount table unaligned" "refcount" t.qcow2
fresh t.qcow2; patch t.qcow2 72 Q 0x100
refused "unknown incompatible bit" "incompatible|feature|bit 8" t.qcow2
fresh t.qcow2; patch t.qcow2 32 I 1
refused "encrypted" "crypt|encrypt" t.qcow2
fresh t.qcow2; patch t.qcow2 24 Q 0xffffffffffffff00
refused "virtual size overflows" "size|l1" t.qcow2

# An L1 entry pointing past the end of the file
fresh t.qcow2
l1=$(python3 -c 'import struct,sys; print(struct.unpack(">Q", open(sys.argv[1],"rb").read(48)[40:48])[0])' t.qcow2)
patch t.qcow2 "$l1" Q 0x8000010000000000
refused "L2 table past EOF" "L2|l2|L1|past|file" t.qcow2

# A corrupt L2 entry (reserved bits) attaches but its read fails with EIO
fresh t.qcow2
l2=$(l2_offset t.qcow2)
patch t.qcow2 "$l2" Q 0x8200000000050000
dev=$(t_attach -r -f qcow2 t.qcow2)
if dd if="$dev" of=/dev/null bs=64k count=1 iflag=direct status=none 2>"$T_DIR/err"; then
	fail "read of a corrupt L2 entry succeeded"
fi
grep -q "Input/output error" "$T_DIR/err" || fail "corrupt L2 entry: $(cat "$T_DIR/err")"
dd if="$dev" of=/dev/null bs=64k skip=16 count=16 iflag=direct status=none ||
	fail "clusters after the corrupt one must still read"
t_detach "$dev"

# A compressed cluster full of garbage reads as EIO
qemu-img create -q -f qcow2 c.qcow2 16M
qemu-io -f qcow2 -c 'write -c -P 0x77 0 64k' c.qcow2 >/dev/null
l2=$(l2_offset c.qcow2)
off=$(python3 -c 'import struct,sys
f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); e=struct.unpack(">Q",f.read(8))[0]
print(e & ((1 << (62 - 8)) - 1))' c.qcow2 "$l2")
python3 -c 'import sys
f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); f.write(b"\xff" * 512)' c.qcow2 "$off"
dev=$(t_attach -r c.qcow2)
dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none 2>"$T_DIR/err" &&
	fail "garbage compressed cluster read succeeded"
grep -q "Input/output error" "$T_DIR/err" || fail "garbage compressed: $(cat "$T_DIR/err")"
t_detach "$dev"
dmesg | tail -20 | grep -q "decompress" || fail "no kernel message about the compressed cluster"

# Backing chain loop a -> b -> a
qemu-img create -q -f qcow2 b.qcow2 16M
qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 a.qcow2
qemu-img rebase -u -f qcow2 -b a.qcow2 -F qcow2 b.qcow2
expect_fail_with 2 "loop" vdattach attach -r a.qcow2

# 100-deep chain: refused past 64 layers.  qemu-img makes two levels; the
# rest are copies of the second with the backing name patched (same length),
# which is much faster under TCG than 100 qemu-img runs.
qemu-img create -q -f raw l000.img 1M
qemu-img create -q -f qcow2 -b l000.img -F raw l001.qcow2
qemu-img create -q -f qcow2 -b l001.qcow2 -F qcow2 l002.qcow2
python3 - <<'PY'
import shutil, struct
tmpl = open("l002.qcow2", "rb").read()
off, size = struct.unpack(">QI", tmpl[8:20])
assert tmpl[off:off + size] == b"l001.qcow2"
for i in range(3, 101):
    img = bytearray(tmpl)
    img[off:off + size] = b"l%03d.qcow2" % (i - 1)
    open("l%03d.qcow2" % i, "wb").write(img)
PY
qemu-img info --backing-chain l100.qcow2 >/dev/null 2>&1 ||
	log "(qemu-img itself refuses the 100-deep chain too)"
expect_fail_with 2 "64" vdattach attach -r l100.qcow2
# ...and 63 levels (64 layers) work
dev=$(t_attach -r l063.qcow2)
expect_eq "64-layer chain depth" "$(cat /sys/block/${dev#/dev/}/vdisk/nr_layers)" 64
t_detach "$dev"
