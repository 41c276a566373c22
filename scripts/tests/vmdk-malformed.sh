#!/usr/bin/env bash
# desc: malformed vmdk (truncated descriptor, missing extent, GD past EOF, bad GD/GT entries, grain size 0/huge, overflowing sizes, 1 MiB of garbage, broken footer) refused cleanly
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

# patch FILE OFFSET STRUCTFMT VALUE: overwrite a little-endian field
patch() {
	python3 - "$@" <<'PY'
import struct, sys
path, off, fmt, val = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], int(sys.argv[4], 0)
with open(path, "r+b") as f:
    f.seek(off)
    f.write(struct.pack("<" + fmt, val))
PY
}

# field FILE OFFSET STRUCTFMT: read a little-endian field
field() {
	python3 -c 'import struct,sys; f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2])); print(struct.unpack("<"+sys.argv[3], f.read(struct.calcsize(sys.argv[3])))[0])' "$@"
}

fresh() {
	rm -f "$1"
	qemu-img create -q -f vmdk "$1" 64M
	qemu-io -f vmdk -c 'write -P 0x5a 0 1M' "$1" >/dev/null
}

refused() {
	expect_fail_with 2 "$2" vdattach attach -r "$3"
	log "refused: $1"
}

fresh good.vmdk
dev=$(t_attach -r good.vmdk)
vdattach detach "$dev"

# descriptor files
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse split.vmdk 64M
cp split.vmdk d.vmdk
head -c 150 split.vmdk >d.vmdk
refused "truncated descriptor" "no extent|no createType|not closed|descriptor" d.vmdk
head -c "$(($(grep -bo '"split-s001' split.vmdk | cut -d: -f1) + 5))" split.vmdk >d.vmdk
refused "descriptor cut inside an extent line" "quoted file name|not closed" d.vmdk
sed 's/split-s001.vmdk/missing.vmdk/' split.vmdk >d.vmdk
refused "extent file missing" "extent 1 .*missing.vmdk.*No such file" d.vmdk
sed 's/^RW [0-9]* SPARSE/RW 99999999999999999999 SPARSE/' split.vmdk >d.vmdk
refused "overflowing extent size" "extent size" d.vmdk
sed 's/^RW [0-9]* SPARSE/RW -5 SPARSE/' split.vmdk >d.vmdk
refused "negative extent size" "extent size" d.vmdk
sed 's/^RW [0-9]* SPARSE/RW 999999 SPARSE/' split.vmdk >d.vmdk
refused "extent larger than its sparse capacity" "capacity" d.vmdk
sed 's/SPARSE/VMFSSPARSE/' split.vmdk >d.vmdk
refused "unsupported extent type" "extent type not supported.*VMFSSPARSE" d.vmdk
sed 's/createType=.*/createType="vmfsRaw"/' split.vmdk >d.vmdk
refused "unsupported createType" "createType not supported.*vmfsRaw" d.vmdk
sed 's/^version=1/version=7/' split.vmdk >d.vmdk
refused "version 7" "version" d.vmdk
{ echo "# Disk DescriptorFile"; head -c $((1024 * 1024 - 100)) /dev/urandom | tr -d '\000'; } >d.vmdk
refused "1 MiB of garbage" "descriptor line|neither|NUL|too long|quotes|key" d.vmdk
{ echo "# Disk DescriptorFile"; head -c $((2 * 1024 * 1024)) /dev/urandom; } >d.vmdk
refused "2 MiB of garbage" "too large for a descriptor" d.vmdk
expect_fail_with 2 "too large for a descriptor" vdattach attach -r -f vmdk d.vmdk

# sparse headers
gd=$(field good.vmdk 56 Q)
cp good.vmdk t.vmdk; truncate -s 300 t.vmdk
refused "sparse extent truncated to 300 bytes" "version|descriptor|no sparse header" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 56 Q 0x100000000
refused "GD past EOF" "grain directory.*outside the file" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 48 Q 0x100000000
refused "redundant GD past EOF" "redundant grain directory" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 20 Q 0
refused "grain size 0" "grain size" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 20 Q 0x100000
refused "grain size 512 MiB" "grain size" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 20 Q 0xffffffffffffffff
refused "grain size 2^64-1" "grain size" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 12 Q 0x8000000000000000
refused "capacity 2^63 sectors" "capacity" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 44 I 0
refused "numGTEsPerGT 0" "numGTEsPerGT" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 4 I 9
refused "version 9" "version" t.vmdk
cp good.vmdk t.vmdk; patch t.vmdk 8 I 0x80000003
refused "unknown flags" "unknown flags" t.vmdk
# found only by the kernel, which reads the grain directory
cp good.vmdk t.vmdk; patch t.vmdk $((gd * 512)) I 0x7fffffff
refused "GD entry past EOF" "grain table outside the file" t.vmdk

# a grain table entry past EOF: an I/O error when read, no splat
cp good.vmdk t.vmdk
gt=$(field t.vmdk $((gd * 512)) I)
patch t.vmdk $((gt * 512)) I 0x7ffffff0
dev=$(t_attach -r t.vmdk)
if dd if="$dev" of=/dev/null bs=64k count=1 iflag=direct status=none 2>/dev/null; then
	fail "read of a grain past EOF succeeded"
fi
dd if="$dev" of=/dev/null bs=64k skip=1 count=15 iflag=direct status=none ||
	fail "the next grains should still read"
vdattach detach "$dev"
log "refused: GT entry past EOF (EIO on read)"

# streamOptimized with its footer damaged
qemu-img convert -O vmdk -o subformat=streamOptimized good.vmdk s.vmdk
patch s.vmdk 56 Q 0xffffffffffffffff
refused "streamOptimized: GD at the end, no footer" "footer" s.vmdk
rm -f ./*.vmdk
