#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host checks of vdattach's backing chain resolution and snapshot lists,
# against images made by qemu-img and against what qemu-img says of them.
# Needs no driver: info and snapshot only read files; attach is run with
# an LD_PRELOAD shim (built here if cc is present) that stands in for
# /dev/vdisk-control and records the layer specs attach hands the kernel.
#
#   userspace/tests/vdattach_chain.sh [VDATTACH]   (default: ../vdattach;
#                                     .build/asan/vdattach works too)
#
# Needs qemu-img and python3.  Prints one line per check and
# "N passed, N failed" last; exits 1 if any failed, 77 if it cannot run.

set -u

here=$(cd "$(dirname "$0")" && pwd)
V=$(realpath "${1:-$here/../vdattach}")
passed=0
failed=0

if ! command -v qemu-img >/dev/null || ! command -v python3 >/dev/null; then
	echo "SKIP: needs qemu-img and python3"
	echo "0 passed, 0 failed"
	exit 77
fi
if [ ! -x "$V" ]; then
	echo "SKIP: no vdattach at $V (make -C userspace)"
	echo "0 passed, 0 failed"
	exit 77
fi

# An ASan build (make asan) runs with the LD_PRELOAD shim below too.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=1

work=$(mktemp -d /tmp/vdattach-chain.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

ok() { echo "ok    $1"; passed=$((passed + 1)); }
nok() { echo "FAIL  $1"; shift; for l in "$@"; do echo "      $l"; done; failed=$((failed + 1)); }

qi() {
	timeout 60 qemu-img "$@" >/dev/null 2>qemu.err ||
		{ echo "qemu-img $* failed:"; cat qemu.err; }
}

# run NAME CMD...: runs CMD, keeps rc, stdout, stderr
run() {
	"$@" >out.txt 2>err.txt
	rc=$?
}

# expect_ok NAME CMD...
expect_ok() {
	local name=$1
	shift
	run "$@"
	if [ "$rc" -eq 0 ]; then
		ok "$name"
	else
		nok "$name" "rc=$rc" "$(cat err.txt)"
	fi
}

# expect_err NAME RC 'exact stderr line' CMD...
expect_err() {
	local name=$1 want_rc=$2 want=$3
	shift 3
	run "$@"
	if [ "$rc" -eq "$want_rc" ] && grep -qxF -- "$want" err.txt && [ ! -s out.txt ]; then
		ok "$name"
	else
		nok "$name" "rc=$rc (want $want_rc)" "want: $want" "got:  $(cat err.txt)" \
		    "stdout: $(head -c 300 out.txt)"
	fi
}

# compare_info NAME IMAGE [vdattach info options...]: layer by layer
# against qemu-img info --backing-chain
compare_info() {
	local name=$1 img=$2
	shift 2
	if ! "$V" info --json "$@" "$img" >va.json 2>err.txt; then
		nok "$name" "vdattach info failed: $(cat err.txt)"
		return
	fi
	if ! qemu-img info --backing-chain --output=json "$img" >qi.json 2>qemu.err; then
		nok "$name" "qemu-img info failed: $(cat qemu.err)"
		return
	fi
	if python3 - va.json qi.json >cmp.txt 2>&1 <<'EOF'
import json, sys
va = json.load(open(sys.argv[1]))["layers"]
qi = json.load(open(sys.argv[2]))
if isinstance(qi, dict):
    qi = [qi]
bad = []
if len(va) != len(qi):
    bad.append("layers: vdattach %d, qemu-img %d" % (len(va), len(qi)))
for i, (a, q) in enumerate(zip(va, qi)):
    def eq(what, x, y):
        if x != y:
            bad.append("layer %d %s: vdattach %r, qemu-img %r" % (i, what, x, y))
    eq("path", a["path"], q["filename"])
    eq("format", a["format"], q["format"])
    eq("virtual size", a["virtual_size"], q["virtual-size"])
    eq("backing file", a["backing_file"], q.get("backing-filename"))
    eq("backing format", a["backing_format"], q.get("backing-filename-format"))
    if a["format"] == "qcow2":
        eq("cluster size", a["qcow2"]["cluster_size"], q["cluster-size"])
        eq("compat", a["qcow2"]["compat"], q["format-specific"]["data"]["compat"])
        eq("snapshots", a["qcow2"]["snapshots"], len(q.get("snapshots", [])))
        eq("extended l2", a["qcow2"]["extended_l2"],
           q["format-specific"]["data"].get("extended-l2", False))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
	then
		ok "$name"
	else
		nok "$name" "$(cat cmp.txt)"
	fi
}

# Drop the backing format extension (0xe2792aca) of a qcow2 image, as an
# image made by an old qemu-img (or another tool) has none.
strip_backing_format() {
	python3 - "$1" <<'EOF'
import struct, sys
f = open(sys.argv[1], "r+b")
hdr = f.read(4096)
version = struct.unpack(">I", hdr[4:8])[0]
off = 72 if version == 2 else struct.unpack(">I", hdr[100:104])[0]
start, exts = off, []
while off + 8 <= len(hdr):
    typ, ln = struct.unpack(">II", hdr[off:off + 8])
    if typ == 0:
        break
    padded = (ln + 7) & ~7
    if typ != 0xe2792aca:
        exts.append(hdr[off:off + 8 + padded])
    off += 8 + padded
new = b"".join(exts) + b"\0" * 8
new += b"\0" * (off + 8 - start - len(new))
f.seek(start)
f.write(new)
EOF
}

# ---- a three-layer chain in subdirectories, relative names ----

mkdir -p a/b c
qi create -f raw a/b/base.raw 64M
qi create -f qcow2 -b base.raw -F raw a/b/mid.qcow2
qi create -f qcow2 -b b/mid.qcow2 -F qcow2 a/top.qcow2

compare_info "info: raw <- qcow2 <- qcow2, names relative to each image's dir" a/top.qcow2
compare_info "info: same chain, absolute top path" "$work/a/top.qcow2"
(cd c && compare_info "info: same chain from another cwd" ../a/top.qcow2)

run "$V" info a/top.qcow2
if [ "$rc" -eq 0 ] && grep -q '^layer 2: a/b/base.raw$' out.txt &&
   grep -q 'format: *raw (recorded in the image above)' out.txt &&
   grep -q 'virtual size: *64 MiB (67108864 bytes)' out.txt; then
	ok "info: text output names each layer, format source and size"
else
	nok "info: text output" "$(cat out.txt err.txt)"
fi

# ../ in a name, and an absolute name
qi create -f qcow2 -b ../a/b/base.raw -F raw c/up.qcow2
compare_info "info: backing name with ../" c/up.qcow2
qi create -f qcow2 -b "$work/a/b/mid.qcow2" -F qcow2 c/abs.qcow2
compare_info "info: absolute backing name" c/abs.qcow2
(cd / && compare_info "info: absolute backing name, relative top from /" \
	"${work#/}/c/abs.qcow2")

# qcow2 v2 (compat 0.10), another cluster size, extended L2
qi create -f qcow2 -o compat=0.10,cluster_size=4096 -b base.raw -F raw a/b/v2.qcow2
compare_info "info: qcow2 v2 (compat 0.10), 4 KiB clusters" a/b/v2.qcow2
qi create -f qcow2 -o extended_l2=on,cluster_size=2M a/big.qcow2 1G
compare_info "info: extended L2, 2 MiB clusters, no backing file" a/big.qcow2

# ---- backing formats: header, -F, never guessed ----

qi create -f qcow2 -b base.raw -F raw a/b/nofmt.qcow2
strip_backing_format a/b/nofmt.qcow2
expect_err "no backing format recorded, no -F: refused" 2 \
	"vdattach: a/b/nofmt.qcow2: backing file 'base.raw' has no format recorded; give it with -F FMT (the format is never guessed)" \
	"$V" info a/b/nofmt.qcow2
run "$V" info --json -F raw a/b/nofmt.qcow2
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
l = json.load(open("out.txt"))["layers"]
sys.exit(0 if len(l) == 2 and l[1]["format"] == "raw" and l[1]["format_from"] == "-F"
         and l[0]["backing_format"] is None else 1)'; then
	ok "no backing format recorded: -F raw supplies it"
else
	nok "no backing format recorded: -F raw" "$(cat out.txt err.txt)"
fi
qi create -f qcow2 -b nofmt.qcow2 -F qcow2 a/b/over-nofmt.qcow2
expect_err "second level without format needs the 2nd -F" 2 \
	"vdattach: a/b/nofmt.qcow2: backing file 'base.raw' has no format recorded; give it with a 2nd -F FMT (the format is never guessed)" \
	"$V" info -F qcow2 a/b/over-nofmt.qcow2
expect_ok "2nd -F supplies the second level's format" "$V" info -F qcow2 -F raw a/b/over-nofmt.qcow2
expect_err "-F contradicting the header: refused" 2 \
	"vdattach: a/top.qcow2: backing file 'b/mid.qcow2' is recorded as qcow2, but the 1st -F says raw" \
	"$V" info -F raw a/top.qcow2
expect_ok "-F agreeing with the header: accepted" "$V" info -F qcow2 -F raw a/top.qcow2
expect_err "more -F than backing files: usage error" 1 \
	"vdattach: a/top.qcow2: 3 backing formats given (-F), but the chain has 2 backing files ('a/b/base.raw' has none)" \
	"$V" info -F qcow2 -F raw -F raw a/top.qcow2
expect_err "-F with a raw image: usage error" 1 \
	"vdattach: a/b/base.raw: a raw image has no backing file; --backing-format does not apply" \
	"$V" info -F raw a/b/base.raw
# A raw file holding a qcow2 header is never read as qcow2 below the top.
cp a/b/mid.qcow2 a/b/looks-qcow2.raw
qi create -f qcow2 -b looks-qcow2.raw -F raw a/b/trap.qcow2
run "$V" info --json a/b/trap.qcow2
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
l = json.load(open("out.txt"))["layers"]
sys.exit(0 if len(l) == 2 and l[1]["format"] == "raw" else 1)'; then
	ok "backing format comes from the header, never probed"
else
	nok "backing format never probed" "$(cat out.txt err.txt)"
fi
qi create -f vpc a/b/base.vhd 16M
qi create -f qcow2 -b base.vhd -F vpc a/b/on-vhd.qcow2
expect_err "backing format vdisk does not serve: refused" 2 \
	"vdattach: a/b/on-vhd.qcow2: backing file 'base.vhd' has format 'vpc', which vdisk does not serve (raw, qcow2, vmdk)" \
	"$V" info a/b/on-vhd.qcow2
qi create -f vmdk a/b/base.vmdk 16M
qi create -f qcow2 -b base.vmdk -F vmdk a/b/on-vmdk.qcow2
run "$V" info --json a/b/on-vmdk.qcow2
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
l = json.load(open("out.txt"))["layers"]
sys.exit(0 if len(l) == 2 and l[1]["format"] == "vmdk" and l[1]["path"] == "a/b/base.vmdk" else 1)'; then
	ok "vmdk backing file: accepted as the last layer"
else
	nok "vmdk backing file" "$(cat out.txt err.txt)"
fi

# ---- vmdk: descriptors, extents, deltas (the seed's gold -> dept -> user) ----
mkdir -p v/gold v/dept
for sub in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized; do
	qi create -f vmdk -o subformat=$sub v/$sub.vmdk 3G
	compare_info "info: vmdk $sub" v/$sub.vmdk
done
run "$V" info --json v/twoGbMaxExtentSparse.vmdk
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
l = json.load(open("out.txt"))["layers"][0]
sys.exit(0 if l["vmdk"]["extent_files"] == 2 and l["vmdk"]["create_type"] == "twoGbMaxExtentSparse" else 1)'; then
	ok "info: twoGbMaxExtentSparse 3G has 2 extent files"
else
	nok "vmdk extent files" "$(cat out.txt err.txt)"
fi
cid=$(sed -n 's/^CID=//p' v/twoGbMaxExtentSparse.vmdk)
sed "s/^parentCID=.*/parentCID=$cid\nparentFileNameHint=\"twoGbMaxExtentSparse.vmdk\"/" \
	v/twoGbMaxExtentFlat.vmdk >v/flat-over.vmdk
compare_info "info: twoGbMaxExtentFlat delta over twoGbMaxExtentSparse" v/flat-over.vmdk
qi create -f vmdk v/gold/base_os_gold.vmdk 20G
qi create -f vmdk -b ../gold/base_os_gold.vmdk -F vmdk v/dept/dept_dev.vmdk
qi create -f vmdk -b dept/dept_dev.vmdk -F vmdk v/user_alice.vmdk
compare_info "info: vmdk delta chain, hints relative to each descriptor" v/user_alice.vmdk
qi create -f qcow2 -b user_alice.vmdk -F vmdk v/over.qcow2
compare_info "info: qcow2 over a vmdk chain" v/over.qcow2
sed 's/twoGbMaxExtentSparse-s002.vmdk/gone-s002.vmdk/' v/twoGbMaxExtentSparse.vmdk >v/missing.vmdk
expect_err "vmdk: missing extent file named" 2 \
	"vdattach: v/missing.vmdk: extent 2 'v/gone-s002.vmdk': No such file or directory" \
	"$V" info v/missing.vmdk
cp v/dept/dept_dev.vmdk v/dept/dept_copy.vmdk
qi create -f vmdk -b dept_copy.vmdk -F vmdk v/dept/bob.vmdk
qemu-io -f vmdk -c 'write 0 4k' v/dept/dept_copy.vmdk >/dev/null 2>&1	# new CID
run "$V" info v/dept/bob.vmdk
if [ "$rc" -eq 0 ] && grep -q "warning: parentCID .* does not match the CID" err.txt; then
	ok "info: parentCID mismatch only warned about"
else
	nok "info parentCID mismatch" "rc=$rc" "$(cat err.txt)"
fi

# More extent files than the usual soft limit of 1024 open files: vdattach
# takes the hard limit (as QEMU does); below what the image needs, the
# refusal names the limit.
mkdir -p v/many
python3 - v/many <<'PY'
import sys
d = sys.argv[1]
lines = ['# Disk DescriptorFile', 'version=1', 'CID=fffffffe', 'parentCID=ffffffff',
         'createType="twoGbMaxExtentFlat"', '']
for i in range(1100):
    open('%s/e%d.raw' % (d, i), 'wb').truncate(512)
    lines.append('RW 1 FLAT "e%d.raw" 0' % i)
open(d + '/many.vmdk', 'w').write('\n'.join(lines) + '\n')
PY
if [ "$(ulimit -H -n)" = unlimited ] || [ "$(ulimit -H -n)" -ge 1200 ]; then
	run sh -c 'ulimit -S -n 1024 && exec "$0" info --json "$1"' "$V" v/many/many.vmdk
	if [ "$rc" -eq 0 ] && grep -q '"extent_files": 1100' out.txt; then
		ok "vmdk: 1100 extent files under a soft limit of 1024"
	else
		nok "vmdk: 1100 extent files under a soft limit of 1024" "rc=$rc" "$(cat err.txt)"
	fi
fi
# Which extent runs out depends on how many descriptors the caller left
# open (a make jobserver, a CI runner), so the number is matched, not fixed;
# the message must still name that extent and its file consistently.
run sh -c 'ulimit -n 1024 && exec "$0" info "$1"' "$V" v/many/many.vmdk
n=$(sed -n "s|^vdattach: v/many/many.vmdk: extent \([0-9]*\) 'v/many/e\([0-9]*\)\.raw': Too many open files (open file limit 1024: raise it with ulimit -n)\$|\1 \2|p" err.txt)
if [ "$rc" -eq 2 ] && [ -n "$n" ] && [ $((${n% *} - 1)) -eq "${n#* }" ] &&
   [ "${n% *}" -gt 900 ] && [ "${n% *}" -le 1024 ] && [ ! -s out.txt ]; then
	ok "vmdk: out of file descriptors names the limit"
else
	nok "vmdk: out of file descriptors names the limit" "rc=$rc (want 2)" \
	    "got:  $(cat err.txt)"
fi
rm -rf v/many

# ---- missing files, protocols, loops, depth ----

# qemu-img 7.2 opens the backing file on create: name it afterwards.
qi create -f qcow2 -o size=1M a/missing.qcow2
qi rebase -u -b gone.raw -F raw a/missing.qcow2
expect_err "missing backing file" 2 \
	"vdattach: a/missing.qcow2: backing file 'a/gone.raw' (named by 'a/missing.qcow2'): No such file or directory" \
	"$V" info a/missing.qcow2
qi create -f qcow2 -o size=1M a/over-missing.qcow2
qi rebase -u -b missing.qcow2 -F qcow2 a/over-missing.qcow2
expect_err "missing file two levels down names its parent" 2 \
	"vdattach: a/over-missing.qcow2: backing file 'a/gone.raw' (named by 'a/missing.qcow2'): No such file or directory" \
	"$V" info a/over-missing.qcow2
qi create -f qcow2 -o size=1M a/esc.qcow2
qi rebase -u -b "$(printf 'x\033[31m.raw')" -F raw a/esc.qcow2
expect_err "control characters of a backing name shown as \\xNN" 2 \
	"vdattach: a/esc.qcow2: backing file 'a/x\\x1b[31m.raw' (named by 'a/esc.qcow2'): No such file or directory" \
	"$V" info a/esc.qcow2
mkfifo a/fifo.raw
qi create -f qcow2 -o size=1M a/on-fifo.qcow2
qi rebase -u -b fifo.raw -F raw a/on-fifo.qcow2
expect_err "backing file that is a FIFO: refused, no hang" 2 \
	"vdattach: a/on-fifo.qcow2: backing file 'a/fifo.raw' (named by 'a/on-fifo.qcow2'): not a regular file or block device" \
	timeout 10 "$V" info a/on-fifo.qcow2

for proto in 'nbd:localhost:10809' 'json:{"file.driver":"file","file.filename":"x"}' \
	     'https://example.com/x.raw'; do
	qi create -f qcow2 -b base.raw -F raw a/b/proto.qcow2
	qi rebase -u -b "$proto" -F raw a/b/proto.qcow2
	expect_err "protocol backing name ${proto%%:*}: refused" 2 \
		"vdattach: a/b/proto.qcow2: backing file '$proto' is not a local file" \
		"$V" info a/b/proto.qcow2
done

qi create -f qcow2 -o size=1M a/loop-a.qcow2
qi create -f qcow2 -b loop-a.qcow2 -F qcow2 a/loop-b.qcow2
qi rebase -u -f qcow2 -b loop-b.qcow2 -F qcow2 a/loop-a.qcow2
expect_err "loop a -> b -> a" 2 \
	"vdattach: backing chain loop: a/loop-a.qcow2 -> a/loop-b.qcow2 -> a/loop-a.qcow2" \
	"$V" info a/loop-a.qcow2
qi create -f qcow2 -o size=1M a/into-loop.qcow2
qi rebase -u -b loop-a.qcow2 -F qcow2 a/into-loop.qcow2
expect_err "loop below the top" 2 \
	"vdattach: backing chain loop: a/into-loop.qcow2 -> a/loop-a.qcow2 -> a/loop-b.qcow2 -> a/loop-a.qcow2" \
	"$V" info a/into-loop.qcow2
qi create -f qcow2 -o size=1M a/self.qcow2
qi rebase -u -f qcow2 -b self.qcow2 -F qcow2 a/self.qcow2
expect_err "image backed by itself" 2 \
	"vdattach: backing chain loop: a/self.qcow2 -> a/self.qcow2" \
	"$V" info a/self.qcow2
ln -s loop-b.qcow2 a/link-to-b.qcow2
qi rebase -u -f qcow2 -b link-to-b.qcow2 -F qcow2 a/loop-a.qcow2
expect_err "loop through a symlink (same inode, other name)" 2 \
	"vdattach: backing chain loop: a/loop-a.qcow2 -> a/link-to-b.qcow2 -> a/loop-a.qcow2" \
	"$V" info a/loop-a.qcow2

mkdir deep
qi create -f raw deep/l0.raw 1M
for i in $(seq 1 64); do
	qi create -f qcow2 -b "l$((i - 1)).$([ $i = 1 ] && echo raw || echo qcow2)" \
		-F "$([ $i = 1 ] && echo raw || echo qcow2)" "deep/l$i.qcow2"
done
run "$V" info --json deep/l63.qcow2
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
sys.exit(0 if len(json.load(open("out.txt"))["layers"]) == 64 else 1)'; then
	ok "chain of 64 layers: accepted"
else
	nok "chain of 64 layers" "$(cat err.txt)"
fi
expect_err "chain of 65 layers: refused" 2 \
	"vdattach: deep/l64.qcow2: backing chain deeper than 64 layers" \
	"$V" info deep/l64.qcow2

# ---- bad headers: the decoder's message, named by file ----

head -c 1048576 /dev/zero >a/zero.img
run "$V" info -f qcow2 a/zero.img
if [ "$rc" -eq 2 ] && grep -qi '^vdattach: a/zero.img: .*magic' err.txt; then
	ok "-f qcow2 on a non-qcow2 file: decoder's message"
else
	nok "-f qcow2 on a non-qcow2 file" "rc=$rc" "$(cat err.txt)"
fi
cp a/b/mid.qcow2 a/b/badver.qcow2
printf '\0\0\0\7' | dd of=a/b/badver.qcow2 bs=1 seek=4 conv=notrunc status=none
qi create -f qcow2 -o size=1M a/over-badver.qcow2
qi rebase -u -b b/badver.qcow2 -F qcow2 a/over-badver.qcow2
run "$V" info a/over-badver.qcow2
if [ "$rc" -eq 2 ] && grep -qi '^vdattach: a/b/badver.qcow2: .*version' err.txt; then
	ok "bad header in a backing file: named by its path"
else
	nok "bad header in a backing file" "rc=$rc" "$(cat err.txt)"
fi
head -c 40 a/b/mid.qcow2 >a/short.qcow2
run "$V" info a/short.qcow2
if [ "$rc" -eq 2 ] && grep -qiE '^vdattach: a/short.qcow2: .*(truncat|short|header)' err.txt; then
	ok "truncated qcow2 header"
else
	nok "truncated qcow2 header" "rc=$rc" "$(cat err.txt)"
fi

# ---- snapshots ----

qi create -f qcow2 s.qcow2 64M
run "$V" snapshot -l s.qcow2
if [ "$rc" -eq 0 ] && [ ! -s out.txt ]; then
	ok "snapshot -l without snapshots: no output"
else
	nok "snapshot -l without snapshots" "rc=$rc" "$(cat out.txt err.txt)"
fi
qi snapshot -c first s.qcow2
qi resize s.qcow2 128M
qi snapshot -c "with space" s.qcow2
qi snapshot -c 1 s.qcow2	# a name that is also an id
qi snapshot -c first-again s.qcow2
run "$V" snapshot -l s.qcow2
qemu-img snapshot -l s.qcow2 >qs.txt
if [ "$rc" -eq 0 ] && python3 - out.txt qs.txt >cmp.txt 2>&1 <<'EOF'
import sys
def rows(path):
    lines = open(path).read().splitlines()
    assert lines[0] == "Snapshot list:", lines[0]
    out = []
    for l in lines[2:]:
        # ID, TAG, VM SIZE, DATE: fixed columns in both
        out.append((l[0:9].strip(), l[10:26].strip(), l[27:35].strip(), l[35:55].strip()))
    return out
a, q = rows(sys.argv[1]), rows(sys.argv[2])
if a != q:
    print("vdattach:", a)
    print("qemu-img:", q)
    sys.exit(1)
EOF
then
	ok "snapshot -l: ID, TAG, VM SIZE, DATE as qemu-img snapshot -l"
else
	nok "snapshot -l vs qemu-img" "$(cat cmp.txt err.txt)"
fi
if grep -q '^Snapshot list:$' out.txt && head -2 out.txt | tail -1 | grep -q 'DISK SIZE$' &&
   grep -q '^1  *first  .*  64 MiB$' out.txt && grep -q '^2  *with space  .* 128 MiB$' out.txt; then
	ok "snapshot -l: DISK SIZE is the size at snapshot time"
else
	nok "snapshot -l DISK SIZE" "$(cat out.txt)"
fi
run "$V" snapshot -l --json s.qcow2
qemu-img info --output=json s.qcow2 >qi.json
if [ "$rc" -eq 0 ] && python3 - out.txt qi.json >cmp.txt 2>&1 <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))["snapshots"]
q = json.load(open(sys.argv[2]))["snapshots"]
ka = [(s["id"], s["name"], s["vm_state_size"], s["date_sec"]) for s in a]
kq = [(s["id"], s["name"], s["vm-state-size"], s["date-sec"]) for s in q]
if ka != kq or [s["disk_size"] for s in a] != [64 << 20, 128 << 20, 128 << 20, 128 << 20]:
    print(ka, kq, [s["disk_size"] for s in a])
    sys.exit(1)
EOF
then
	ok "snapshot -l --json: as qemu-img info's snapshots"
else
	nok "snapshot -l --json" "$(cat cmp.txt err.txt)"
fi
compare_info "info: image with snapshots" s.qcow2
expect_err "snapshot -l on a raw image" 2 \
	"vdattach: a/b/base.raw: not a qcow2 image (raw); only qcow2 has internal snapshots" \
	"$V" snapshot -l a/b/base.raw
expect_err "snapshot without -l: usage error" 1 \
	"vdattach: no action given (-l)" "$V" snapshot s.qcow2
expect_ok "snapshot -l ignores backing files (as qemu-img snapshot)" \
	"$V" snapshot -l a/missing.qcow2
# A snapshot table whose first record claims a huge name: the decoder's error.
cp s.qcow2 s-bad.qcow2
python3 - s-bad.qcow2 <<'EOF'
import struct, sys
f = open(sys.argv[1], "r+b")
h = f.read(72)
off = struct.unpack(">Q", h[64:72])[0]
f.seek(off + 14)                     # id_str_size (u16), then name_size (u16)
f.write(struct.pack(">HH", 0xffff, 0xffff))
EOF
run "$V" snapshot -l s-bad.qcow2
if [ "$rc" -eq 2 ] && grep -q '^vdattach: s-bad.qcow2: snapshot 1 of 4: ' err.txt && [ ! -s out.txt ]; then
	ok "malformed snapshot record: refused with the decoder's message"
else
	nok "malformed snapshot record" "rc=$rc" "$(cat out.txt err.txt)"
fi

# ---- attach, through a stand-in for /dev/vdisk-control ----

shim=
if command -v cc >/dev/null; then
	cat >shim.c <<'EOF'
/* Stands in for /dev/vdisk-control: records VDISK_IOC_ATTACH, then fails. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vdisk.h>

static int ctl = -1;

static int shim_open(const char *name, const char *path, int flags, va_list ap)
{
	int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, name);
	mode_t mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;

	if (!strcmp(path, "/dev/" VDISK_CONTROL_NAME))
		return ctl = real("/dev/null", O_RDWR | O_CLOEXEC);
	return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int r;

	va_start(ap, flags);
	r = shim_open("open", path, flags, ap);
	va_end(ap);
	return r;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int r;

	va_start(ap, flags);
	r = shim_open("open64", path, flags, ap);
	va_end(ap);
	return r;
}

int ioctl(int fd, unsigned long req, ...)
{
	int (*real)(int, unsigned long, ...) = dlsym(RTLD_NEXT, "ioctl");
	struct vdisk_attach *a;
	struct vdisk_layer_spec *l;
	char link[64], path[4096];
	unsigned int i;
	va_list ap;
	void *arg;
	FILE *out;
	ssize_t n;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != ctl || ctl < 0)
		return real(fd, req, arg);
	if (req != VDISK_IOC_ATTACH) {
		errno = ENXIO;
		return -1;
	}
	a = arg;
	l = (void *)(uintptr_t)a->layers;
	out = fopen(getenv("VDA_SHIM_OUT"), "w");
	fprintf(out, "flags %u layers %u\n", a->flags, a->nr_layers);
	for (i = 0; i < a->nr_layers; i++) {
		int fl = fcntl(l[i].fd, F_GETFL), fdfl = fcntl(l[i].fd, F_GETFD);

		snprintf(link, sizeof(link), "/proc/self/fd/%d", l[i].fd);
		n = readlink(link, path, sizeof(path) - 1);
		path[n < 0 ? 0 : n] = '\0';
		fprintf(out, "%u %u %s%s%s %s %s\n", i, l[i].format,
			(fl & O_ACCMODE) == O_RDONLY ? "ro" : "rw",
			fdfl & FD_CLOEXEC ? "" : ",inherit", fl & O_NONBLOCK ? ",nonblock" : "",
			l[i].snapshot ? (const char *)(uintptr_t)l[i].snapshot : "-", path);
		for (unsigned int j = 0; j < l[i].nr_extent_fds; j++) {
			int efd = ((const int *)(uintptr_t)l[i].extent_fds)[j];

			fl = fcntl(efd, F_GETFL);
			snprintf(link, sizeof(link), "/proc/self/fd/%d", efd);
			n = readlink(link, path, sizeof(path) - 1);
			path[n < 0 ? 0 : n] = '\0';
			fprintf(out, "  extent %u %s %s\n", j,
				(fl & O_ACCMODE) == O_RDONLY ? "ro" : "rw", path);
		}
	}
	fclose(out);
	if (l[0].format == VDISK_FMT_QCOW2 && !(a->flags & VDISK_ATTACH_READ_ONLY)) {
		snprintf((char *)(uintptr_t)a->msg, a->msg_size,
			 "layer 0: qcow2 writes are not supported yet");
		errno = EROFS;
	} else {
		snprintf((char *)(uintptr_t)a->msg, a->msg_size, "shim: not attached");
		errno = EIO;
	}
	return -1;
}
EOF
	inc=$(realpath "$here/../../include/uapi")
	if cc -shared -fPIC -O1 -I"$inc" -o shim.so shim.c -ldl 2>shim.err; then
		shim=$work/shim.so
	else
		echo "note: shim not built: $(head -3 shim.err)"
	fi
fi

# attach_specs NAME 'expected spec lines' CMD-ARGS...: runs attach with the shim
attach_specs() {
	local name=$1 want=$2
	shift 2
	rm -f specs.txt
	VDA_SHIM_OUT=$work/specs.txt LD_PRELOAD=$shim "$V" attach "$@" >out.txt 2>err.txt
	rc=$?
	if [ -f specs.txt ] && [ "$(cat specs.txt)" = "$want" ]; then
		ok "$name"
	else
		nok "$name" "rc=$rc" "want: $want" "got:  $(cat specs.txt 2>/dev/null)" "$(cat err.txt)"
	fi
}

if [ -n "$shim" ]; then
	attach_specs "attach: whole chain, top first, backing files read-only" \
"flags 1 layers 3
0 2 ro - $work/a/top.qcow2
1 2 ro - $work/a/b/mid.qcow2
2 1 ro - $work/a/b/base.raw" -r a/top.qcow2
	attach_specs "attach without -r: top opened for writing" \
"flags 0 layers 3
0 2 rw - $work/a/top.qcow2
1 2 ro - $work/a/b/mid.qcow2
2 1 ro - $work/a/b/base.raw" a/top.qcow2
	if grep -qxF "vdattach: a/top.qcow2: layer 0: qcow2 writes are not supported yet" err.txt &&
	   grep -q "^vdattach: hint: .*vdattach attach -r" err.txt && [ "$rc" -eq 2 ]; then
		ok "attach refused with EROFS: kernel's message and a hint, no silent -r"
	else
		nok "attach EROFS message" "rc=$rc" "$(cat err.txt)"
	fi
	attach_specs "attach -l ID: snapshot passed, read-only implied" \
"flags 1 layers 1
0 2 ro 2 $work/s.qcow2" -l 2 s.qcow2
	attach_specs "attach --snapshot NAME" \
"flags 1 layers 1
0 2 ro with space $work/s.qcow2" --snapshot "with space" s.qcow2
	expect_err "attach -l unknown snapshot" 2 "vdattach: s.qcow2: no snapshot 'nope'" \
		env LD_PRELOAD="$shim" VDA_SHIM_OUT="$work/specs.txt" "$V" attach -l nope s.qcow2
	expect_err "attach -l on a raw image" 2 \
		"vdattach: a/b/base.raw: internal snapshots need a qcow2 image; this one is raw" \
		env LD_PRELOAD="$shim" VDA_SHIM_OUT="$work/specs.txt" "$V" attach -l 1 a/b/base.raw
	expect_err "attach -l with -f raw: usage error" 1 \
		"vdattach: --snapshot needs a qcow2 image, not raw" \
		env LD_PRELOAD="$shim" VDA_SHIM_OUT="$work/specs.txt" "$V" attach -f raw -l 1 a/b/base.raw
	attach_specs "attach -F: format from the command line" \
"flags 1 layers 2
0 2 ro - $work/a/b/nofmt.qcow2
1 1 ro - $work/a/b/base.raw" -r -F raw a/b/nofmt.qcow2
	attach_specs "attach: vmdk extents passed in descriptor order, writable top" \
"flags 0 layers 2
0 3 rw - $work/v/flat-over.vmdk
  extent 0 rw $work/v/twoGbMaxExtentFlat-f001.vmdk
  extent 1 rw $work/v/twoGbMaxExtentFlat-f002.vmdk
1 3 ro - $work/v/twoGbMaxExtentSparse.vmdk
  extent 0 ro $work/v/twoGbMaxExtentSparse-s001.vmdk
  extent 1 ro $work/v/twoGbMaxExtentSparse-s002.vmdk" -F vmdk v/flat-over.vmdk
	attach_specs "attach: vmdk delta chain, parent format vmdk" \
"flags 1 layers 3
0 3 ro - $work/v/user_alice.vmdk
1 3 ro - $work/v/dept/dept_dev.vmdk
2 3 ro - $work/v/gold/base_os_gold.vmdk" -r v/user_alice.vmdk
	expect_err "attach: vmdk parentCID mismatch refused" 2 \
		"vdattach: v/dept/bob.vmdk: parentCID $(printf %08x 0x"$(sed -n 's/^parentCID=//p' <(strings v/dept/bob.vmdk) | head -1)") does not match the CID $(printf %08x 0x"$(sed -n 's/^CID=//p' <(strings v/dept/dept_copy.vmdk) | head -1)") of its parent 'v/dept/dept_copy.vmdk': the parent changed after this delta was made (--force-parent-cid attaches it anyway)" \
		env LD_PRELOAD="$shim" VDA_SHIM_OUT="$work/specs.txt" "$V" attach -r v/dept/bob.vmdk
	attach_specs "attach --force-parent-cid" \
"flags 1 layers 3
0 3 ro - $work/v/dept/bob.vmdk
1 3 ro - $work/v/dept/dept_copy.vmdk
2 3 ro - $work/v/gold/base_os_gold.vmdk" -r --force-parent-cid v/dept/bob.vmdk
	expect_err "attach: loop refused before the ioctl" 2 \
		"vdattach: backing chain loop: a/loop-a.qcow2 -> a/link-to-b.qcow2 -> a/loop-a.qcow2" \
		env LD_PRELOAD="$shim" VDA_SHIM_OUT="$work/specs.txt" "$V" attach -r a/loop-a.qcow2
	if [ "$(id -u)" != 0 ]; then	# root writes 0444 files anyway
		chmod 0444 a/b/base.raw
		attach_specs "attach: raw top, write-protected file: read-only fallback kept" \
"flags 1 layers 1
0 1 ro - $work/a/b/base.raw" a/b/base.raw
		chmod 0644 a/b/base.raw
	fi
else
	echo "note: attach checks skipped (no cc or shim build failed)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
