#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# set_backing_real_images.sh - vd_qcow2_set_backing() and
# vd_vmdk_set_parent() (through ./set_backing) on images made by qemu-img,
# judged by qemu-img: after pointing an image at another backing file,
# "qemu-img info --backing-chain" must show the new one (name and format),
# "qemu-img check" must pass, the image's own data must read back the same
# (qemu-io), and for vmdk vdattach must find the parentCID right.
#
# Usage: set_backing_real_images.sh [SET_BACKING [VDATTACH]]
# Prints PASS/FAIL per case and "N passed, N failed" last; skips (exit 0)
# without qemu-img, qemu-io or python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sb=${1:-$here/set_backing}
vda=${2:-$here/../vdattach}
for t in qemu-img qemu-io python3; do
	if ! command -v "$t" >/dev/null; then
		echo "SKIP set_backing real images: $t not installed"
		echo "0 passed, 0 failed"
		exit 0
	fi
done
[ -x "$sb" ] || { echo "set_backing_real_images: $sb not built" >&2; exit 1; }
sb=$(cd "$(dirname "$sb")" && pwd)/$(basename "$sb")
[ -x "$vda" ] && vda=$(cd "$(dirname "$vda")" && pwd)/$(basename "$vda") || vda=

tmp=$(mktemp -d /tmp/vdisk-setbacking.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
passed=0
failed=0
errs=()

err() { errs+=("$*"); }

# result NAME: PASS or FAIL with what went wrong
result() {
	if [ ${#errs[@]} = 0 ]; then
		echo "PASS $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1"
		printf '    %s\n' "${errs[@]}"
		failed=$((failed + 1))
	fi
	errs=()
}

# info IMG KEY: a field of qemu-img info --output=json ("" when absent)
info() {
	qemu-img info -U --output=json "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin).get(sys.argv[1], ""))' "$2"
}

# expect_backing IMG NAME FORMAT: qemu-img sees that backing file, opens
# the chain, and checks the image
expect_backing() {
	local got
	got=$(info "$1" backing-filename)
	[ "$got" = "$2" ] || err "backing-filename '$got', want '$2'"
	got=$(info "$1" backing-filename-format)
	[ "$got" = "$3" ] || err "backing-filename-format '$got', want '$3'"
	if [ -n "$2" ]; then
		qemu-img info -U --backing-chain "$1" > chain.txt 2>&1 ||
			err "qemu-img info --backing-chain: $(cat chain.txt)"
		grep -q "^image: $2\$" chain.txt || err "backing chain lacks $2: $(tr '\n' '|' < chain.txt)"
	fi
	qemu-img check -q "$1" > check.txt 2>&1 || err "qemu-img check: $(cat check.txt)"
}

# expect_data IMG: what the image itself holds (0x5a at 1 MiB) reads back
expect_data() {
	qemu-io -f "$2" -c "read -P 0x5a 1M 64k" "$1" > io.txt 2>&1 &&
		! grep -q "Pattern verification failed" io.txt ||
		err "own data lost: $(tr '\n' '|' < io.txt)"
}

# --- qcow2 -------------------------------------------------------------
qemu-img create -q -f qcow2 base.qcow2 64M
qemu-img create -q -f raw other.raw 64M
qemu-img create -q -f vmdk other.vmdk 64M
for opts in compat=1.1 compat=0.10 cluster_size=4096 extended_l2=on,cluster_size=65536 \
	    compression_type=zstd,lazy_refcounts=on refcount_bits=1,cluster_size=512; do
	name="qcow2 $opts"
	qemu-img create -q -f qcow2 -o "$opts" -b base.qcow2 -F qcow2 top.qcow2
	qemu-io -f qcow2 -c "write -P 0x5a 1M 64k" top.qcow2 > /dev/null
	"$sb" qcow2 top.qcow2 "$tmp/other.raw" raw || err "set_backing refused"
	expect_backing top.qcow2 "$tmp/other.raw" raw
	expect_data top.qcow2 qcow2
	"$sb" qcow2 top.qcow2 other.vmdk vmdk || err "set_backing refused"
	expect_backing top.qcow2 other.vmdk vmdk
	"$sb" qcow2 top.qcow2 "" || err "set_backing refused"
	expect_backing top.qcow2 "" ""
	expect_data top.qcow2 qcow2
	"$sb" qcow2 top.qcow2 base.qcow2 qcow2 || err "set_backing refused"
	expect_backing top.qcow2 base.qcow2 qcow2
	result "$name"
	rm -f top.qcow2
done

# extensions qemu-img wrote survive: a persistent bitmap, an external data file
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 bm.qcow2
qemu-img bitmap --add bm.qcow2 dirty0
"$sb" qcow2 bm.qcow2 other.raw raw || err "set_backing refused"
expect_backing bm.qcow2 other.raw raw
qemu-img info -U bm.qcow2 | grep -q "name: dirty0" || err "bitmap dirty0 lost"
result "qcow2 with a persistent bitmap"

qemu-img create -q -f qcow2 -o data_file=df.raw df.qcow2 64M
qemu-io -f qcow2 -c "write -P 0x5a 1M 64k" df.qcow2 > /dev/null
"$sb" qcow2 df.qcow2 base.qcow2 qcow2 || err "set_backing refused"
expect_backing df.qcow2 base.qcow2 qcow2
[ "$(qemu-img info -U df.qcow2 | sed -n 's/^ *data file: //p')" = df.raw ] || err "data file lost"
expect_data df.qcow2 qcow2
result "qcow2 with an external data file"

# a name that does not fit: refused, nothing written
qemu-img create -q -f qcow2 -o cluster_size=512 -b base.qcow2 -F qcow2 small.qcow2
before=$(sha256sum < small.qcow2)
long=$(printf 'n%.0s' $(seq 450))
if "$sb" qcow2 small.qcow2 "$long" qcow2 2> err.txt; then
	err "a $((${#long})) byte name accepted in a 512-byte cluster"
fi
grep -q "error -27 .*backing file name" err.txt || err "refusal said: $(cat err.txt)"
[ "$(sha256sum < small.qcow2)" = "$before" ] || err "image changed by a refusal"
expect_backing small.qcow2 base.qcow2 qcow2
result "qcow2 name too long for the first cluster"

# --- vmdk --------------------------------------------------------------
cid_of() {	# the CID a vmdk's descriptor states
	strings "$1" | sed -n 's/^CID=//p' | head -1
}

# check_vdattach TOP: vdattach resolves the chain without a CID warning
check_vdattach() {
	[ -n "$vda" ] || return 0
	if ! "$vda" info "$1" > vi.txt 2>&1; then
		err "vdattach info: $(tr '\n' '|' < vi.txt)"
	elif grep -q "does not match" vi.txt; then
		err "vdattach: $(grep 'does not match' vi.txt)"
	fi
}

qemu-img create -q -f vmdk base.vmdk 64M
qemu-img create -q -f vmdk other2.vmdk 64M
qemu-io -f vmdk -c "write -P 0x11 0 64k" other2.vmdk > /dev/null
for sub in monolithicSparse twoGbMaxExtentSparse; do
	name="vmdk $sub"
	qemu-img create -q -f vmdk -o subformat=$sub -b base.vmdk -F vmdk delta.vmdk
	qemu-io -f vmdk -c "write -P 0x5a 1M 64k" delta.vmdk > /dev/null
	"$sb" vmdk delta.vmdk other2.vmdk "$(cid_of other2.vmdk)" || err "set_parent refused"
	expect_backing delta.vmdk other2.vmdk vmdk
	expect_data delta.vmdk vmdk
	check_vdattach delta.vmdk
	qemu-io -f vmdk -c "read -P 0x11 0 64k" delta.vmdk | grep -q "Pattern verification failed" &&
		err "the new parent's data does not show through"
	"$sb" vmdk delta.vmdk "" ffffffff || err "set_parent refused"
	expect_backing delta.vmdk "" ""
	expect_data delta.vmdk vmdk
	grep -aq parentFileNameHint delta*.vmdk && err "parentFileNameHint left behind"
	"$sb" vmdk delta.vmdk base.vmdk "$(cid_of base.vmdk)" || err "set_parent refused"
	expect_backing delta.vmdk base.vmdk vmdk
	check_vdattach delta.vmdk
	# the same name again after the parent's CID changed (a commit into it)
	qemu-io -f vmdk -c "write -P 0x22 2M 64k" base.vmdk > /dev/null
	"$sb" vmdk delta.vmdk base.vmdk "$(cid_of base.vmdk)" || err "set_parent refused"
	check_vdattach delta.vmdk
	result "$name"
	rm -f delta*.vmdk
done

# a raw parent (qemu-img opens vmdk parents only; vdattach takes -F raw)
qemu-img create -q -f vmdk delta.vmdk 64M
"$sb" vmdk delta.vmdk other.raw ffffffff || err "set_parent refused"
strings delta.vmdk | grep -qx 'parentCID=ffffffff' || err "parentCID not ffffffff"
strings delta.vmdk | grep -qx 'parentFileNameHint="other.raw"' || err "no parentFileNameHint"
if [ -n "$vda" ]; then
	"$vda" info -F raw delta.vmdk > vi.txt 2>&1 || err "vdattach info: $(tr '\n' '|' < vi.txt)"
	grep -q "other.raw" vi.txt || err "vdattach info lacks other.raw: $(tr '\n' '|' < vi.txt)"
fi
qemu-img check -q -U --image-opts driver=vmdk,file.filename=delta.vmdk,backing.driver=raw,backing.file.filename=other.raw \
	> check.txt 2>&1 || err "qemu-img check: $(cat check.txt)"
result "vmdk over a raw parent"

# the longest hint fits the embedded descriptor's room; a longer one is
# refused and changes nothing
long=$(printf 'n%.0s' $(seq 1023))
qemu-img create -q -f vmdk delta.vmdk 64M
"$sb" vmdk delta.vmdk "$long" ffffffff 2> err.txt || err "a 1023 byte hint refused: $(cat err.txt)"
strings delta.vmdk | grep -q "parentFileNameHint=\"$long\"" || err "the 1023 byte hint is not there"
before=$(sha256sum < delta.vmdk)
"$sb" vmdk delta.vmdk "${long}x" ffffffff 2> err.txt && err "a 1024 byte hint accepted"
grep -q "error -27 .*parentFileNameHint" err.txt || err "refusal said: $(cat err.txt)"
[ "$(sha256sum < delta.vmdk)" = "$before" ] || err "image changed by a refusal"
result "vmdk hint too long"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
