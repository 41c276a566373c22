#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# qcow2_real_images.sh - vd_qcow2.c against images made by qemu-img.
#
# Usage: qcow2_real_images.sh [QCOW2_DUMP]   (default: ./qcow2_dump beside
#        this script; "make -C userspace/tests check-qcow2-real" builds it)
#
# Creates qcow2 images with qemu-img and qemu-io in a temporary directory
# (v2 and v3, cluster sizes 512 B..2 MiB, extended L2, zstd, backing files
# with a format, an external data file, lazy refcounts, refcount widths,
# internal snapshots, data/zero/compressed clusters) and checks that
# qcow2_dump's reading of each matches "qemu-img info --output=json"
# (virtual size, cluster size, backing file and format, compat,
# extended-l2, compression type, lazy refcounts, refcount bits, corrupt,
# data file, snapshots) and "qemu-img map --output=json" (the kind of
# every cluster or subcluster and the host offset of data).  Prints
# PASS/FAIL per image and "N passed, N failed" last; skips (exit 0) when
# qemu-img, qemu-io or python3 is missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dump=${1:-$here/qcow2_dump}
for t in qemu-img qemu-io python3; do
	if ! command -v "$t" >/dev/null; then
		echo "SKIP qcow2 real images: $t not installed"
		echo "0 passed, 0 failed"
		exit 0
	fi
done
[ -x "$dump" ] || { echo "qcow2_real_images: $dump not built" >&2; exit 1; }
dump=$(cd "$(dirname "$dump")" && pwd)/$(basename "$dump")

tmp=$(mktemp -d /tmp/vdisk-qcow2.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
passed=0
failed=0

# compare NAME IMAGE: qcow2_dump against qemu-img info and map
compare() {
	local name=$1 img=$2 out
	if ! "$dump" -m "$img" > dump.txt 2> dump.err; then
		echo "FAIL $name: qcow2_dump refused: $(cat dump.err)"
		failed=$((failed + 1))
		return
	fi
	qemu-img info -U --output=json "$img" > info.json
	qemu-img map -U --output=json "$img" > map.json
	if out=$(python3 - dump.txt info.json map.json <<'EOF'
import json, sys

dump = {}
snaps = []
runs = []
for line in open(sys.argv[1]):
    key, _, val = line.rstrip('\n').partition(' ')
    if key == 'snapshot':
        snaps.append(val.split('\t'))
    elif key == 'map':
        runs.append(val.split())
    else:
        dump[key] = val
info = json.load(open(sys.argv[2]))
qmap = json.load(open(sys.argv[3]))
fs = info['format-specific']['data']
errs = []

def check(what, mine, theirs):
    if str(mine) != str(theirs):
        errs.append('%s: qcow2_dump %r, qemu-img %r' % (what, mine, theirs))

def b(v):
    return 'true' if v else 'false'

check('virtual-size', dump['size'], info['virtual-size'])
check('cluster-size', dump['cluster_size'], info['cluster-size'])
check('backing-filename', dump['backing_filename'], info.get('backing-filename', ''))
check('backing-filename-format', dump['backing_format'],
      info.get('backing-filename-format', ''))
check('compat', dump['compat'], fs['compat'])
check('extended-l2', dump['extended_l2'], b(fs.get('extended-l2', False)))
check('compression-type', dump['compression_type'], fs.get('compression-type', 'zlib'))
check('lazy-refcounts', dump['lazy_refcounts'], b(fs.get('lazy-refcounts', False)))
check('refcount-bits', dump['refcount_bits'], fs['refcount-bits'])
check('corrupt', dump['corrupt'], b(fs.get('corrupt', False)))
check('data-file', dump['data_file'], fs.get('data-file', ''))
check('dirty-flag', dump['dirty'], b(info.get('dirty-flag', False)))
qsnaps = info.get('snapshots', [])
check('snapshots', len(snaps), len(qsnaps))
for mine, theirs in zip(snaps, qsnaps):
    check('snapshot id', mine[0], theirs['id'])
    check('snapshot name', mine[1], theirs['name'])
    check('snapshot vm-state-size', mine[3], theirs['vm-state-size'])
    check('snapshot date-sec', mine[4], theirs['date-sec'])

# both maps as runs of granules (clusters, or subclusters with extended
# L2): (first granule, count, kind, host offset of the first or -1).  A
# granule takes the kind of the entry holding its first byte: qemu-img
# splits clusters whose host file has holes, vd_qcow2 does not.
cs = int(dump['cluster_size'])
gran = cs // 32 if dump['extended_l2'] == 'true' else cs

def normalize(entries):
    out = []
    for start, length, kind, off in entries:
        g = -(-start // gran) * gran
        end = start + length
        if g >= end:
            continue
        n = (end - 1) // gran - g // gran + 1
        o = off + g - start if off >= 0 else -1
        if out:
            pg, pn, pk, po = out[-1]
            if pg + pn == g // gran and pk == kind and (o < 0 or po + pn * gran == o):
                out[-1] = (pg, pn + n, pk, po)
                continue
        out.append((g // gran, n, kind, o))
    return out

mine = normalize((int(s), int(l), k, int(o)) for s, l, k, o in runs)
theirs = []
for e in qmap:
    if e['depth'] > 0:
        kind = 'unallocated'	# from the backing file
    elif e['data']:
        kind = 'data' if 'offset' in e else 'compressed'
    elif e['present'] and e['zero']:
        kind = 'zero'
    else:
        kind = 'unallocated'
    off = e['offset'] if kind == 'data' else -1
    theirs.append((e['start'], e['length'], kind, off))
theirs = normalize(theirs)
if mine != theirs:
    for i, (m, t) in enumerate(zip(mine + [None] * len(theirs), theirs + [None] * len(mine))):
        if m != t:
            errs.append('map run %d (granule %d bytes): qcow2_dump %s, qemu-img %s'
                        % (i, gran, m, t))
            break
kinds = {}
for _, n, k, _ in mine:
    kinds[k] = kinds.get(k, 0) + n
print('\n'.join(errs) if errs else ' '.join('%s=%d' % kv for kv in sorted(kinds.items())))
sys.exit(1 if errs else 0)
EOF
	); then
		echo "PASS $name ($out)"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		echo "$out" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
}

# fill IMAGE CLUSTER_SIZE [extended]: data, zero, compressed and partial
# writes in the first 32 clusters
fill() {
	local img=$1 c=$2 args=()
	args+=(-c "write -P 0x11 0 $c")
	args+=(-c "write -P 0x22 $((3 * c)) $((2 * c))")
	args+=(-c "write -z $((8 * c)) $((2 * c))")
	args+=(-c "write -c -P 0x33 $((12 * c)) $c")
	args+=(-c "write -c -P 0x34 $((13 * c)) $c")
	args+=(-c "write -P 0x44 $((20 * c + 512)) 512")
	args+=(-c "write -P 0x55 $((24 * c)) $c")
	args+=(-c "write -z $((24 * c)) $c")
	if [ "${3:-}" = extended ]; then
		args+=(-c "write -P 0x66 $((28 * c + c / 32)) $((c / 16))")
		args+=(-c "write -z $((29 * c + c / 4)) $((c / 32))")
	fi
	qemu-io -f qcow2 "${args[@]}" "$img" > /dev/null
}

mk() {	# mk IMAGE SIZE OPTIONS...
	local img=$1 size=$2
	shift 2
	qemu-img create -q -f qcow2 "$@" "$img" "$size"
}

for compat in 0.10 1.1; do
	for c in 512 4096 65536 2097152; do
		name=v${compat}_c$c
		mk "$name.qcow2" 64M -o compat=$compat,cluster_size=$c
		compare "$name empty" "$name.qcow2"
		fill "$name.qcow2" $c
		compare "$name filled" "$name.qcow2"
	done
done

for c in 16384 65536 2097152; do
	mk extl2_$c.qcow2 64M -o extended_l2=on,cluster_size=$c
	fill extl2_$c.qcow2 $c extended
	compare "extended_l2 c$c" extl2_$c.qcow2
done

mk zstd.qcow2 64M -o compression_type=zstd
fill zstd.qcow2 65536
compare "compression zstd" zstd.qcow2

mk zstd_extl2.qcow2 64M -o compression_type=zstd,extended_l2=on,cluster_size=32768
fill zstd_extl2.qcow2 32768 extended
compare "compression zstd + extended_l2" zstd_extl2.qcow2

truncate -s 64M base.raw
mk over_raw.qcow2 64M -b "$tmp/base.raw" -F raw
fill over_raw.qcow2 65536
mv over_raw.qcow2 over_raw_full.qcow2
mk over_raw.qcow2 64M -b "$tmp/base.raw" -F raw
compare "backing raw (-F raw), unwritten" over_raw.qcow2

mk base.qcow2 64M
mk over_q.qcow2 64M -b base.qcow2 -F qcow2 -o compat=0.10
compare "backing qcow2 (-F qcow2), v2, relative name" over_q.qcow2
mk over_q3.qcow2 64M -b base.qcow2 -F qcow2 -o cluster_size=4096
compare "backing qcow2, 4k clusters" over_q3.qcow2

mk lazy.qcow2 64M -o lazy_refcounts=on
compare "lazy refcounts" lazy.qcow2
for rb in 1 8 64; do
	mk rb$rb.qcow2 64M -o refcount_bits=$rb
	fill rb$rb.qcow2 65536
	compare "refcount_bits $rb" rb$rb.qcow2
done

mk datafile.qcow2 64M -o data_file=datafile.raw
qemu-io -f qcow2 -c "write -P 0x77 0 64k" -c "write -P 0x78 1M 128k" datafile.qcow2 > /dev/null
compare "external data file" datafile.qcow2
mk datafile_raw.qcow2 64M -o data_file=datafile2.raw,data_file_raw=on
compare "external data file, data_file_raw" datafile_raw.qcow2

mk big.qcow2 16T
compare "16 TiB virtual size" big.qcow2
mk odd.qcow2 12345678
compare "size not a multiple of the cluster" odd.qcow2
mk small.qcow2 0
compare "size 0" small.qcow2

mk snap.qcow2 64M
fill snap.qcow2 65536
qemu-img snapshot -c first snap.qcow2
qemu-io -f qcow2 -c "write -P 0x99 0 1M" snap.qcow2 > /dev/null
qemu-img snapshot -c "second, with a longer name" snap.qcow2
qemu-img snapshot -c 3rd snap.qcow2
qemu-img snapshot -d first snap.qcow2
compare "internal snapshots" snap.qcow2
mk snap2.qcow2 64M -o compat=0.10
qemu-img snapshot -c only snap2.qcow2
compare "internal snapshot, v2" snap2.qcow2
qemu-img resize -q snap.qcow2 128M
compare "snapshot of a smaller disk" snap.qcow2
if "$dump" snap.qcow2 | grep -q "^snapshot 2	second, with a longer name	67108864	"; then
	echo "PASS snapshot disk size from extra data"
	passed=$((passed + 1))
else
	echo "FAIL snapshot disk size from extra data"
	failed=$((failed + 1))
fi

# qcow2_dump must refuse what qemu-img refuses too
check_refusal() {	# NAME IMAGE WORD
	if "$dump" "$2" > /dev/null 2> dump.err; then
		echo "FAIL $1: accepted"
		failed=$((failed + 1))
	elif grep -q -- "$3" dump.err; then
		echo "PASS $1 ($(cat dump.err))"
		passed=$((passed + 1))
	else
		echo "FAIL $1: $(cat dump.err) lacks $3"
		failed=$((failed + 1))
	fi
}
# qemu-img times its LUKS key derivation by the thread's CPU time and gives
# up ("Unable to get accurate CPU usage") now and then on a loaded host: try
# again rather than fail on the reference tool's hiccup.
for try in 1 2 3; do
	mk enc.qcow2 64M -o encrypt.format=luks,encrypt.key-secret=sec0 \
		--object secret,id=sec0,data=123456 && break
	[ $try -lt 3 ] || exit 1
done
check_refusal "LUKS encryption refused" enc.qcow2 "crypt_method 2 (LUKS)"
cp zstd.qcow2 badbit.qcow2
printf '\x00\x00\x00\x00\x00\x00\x01\x08' | dd of=badbit.qcow2 bs=1 seek=72 conv=notrunc status=none
check_refusal "unknown incompatible bit" badbit.qcow2 "incompatible feature bit 8"
cp zstd.qcow2 trunc.qcow2
truncate -s 100000 trunc.qcow2
check_refusal "truncated file" trunc.qcow2 "past the end of the file"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
