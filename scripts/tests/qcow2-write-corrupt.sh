#!/usr/bin/env bash
# desc: a qcow2 whose L2 entry points at its own L1 table: the write fails with EIO, the device turns read-only, the image gets the corrupt bit, the L1 table is untouched
. "$(dirname "$0")/lib.sh"

img=$T_DIR/bad.qcow2
qemu-img create -q -f qcow2 -o cluster_size=64k "$img" 16M
qemu-io -f qcow2 -c 'write -P 0x5a 0 64k' "$img" >/dev/null
# point guest cluster 0 at the cluster of the L1 table
l1=$(python3 - "$img" <<'EOF'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    h = f.read(104)
    l1_off = struct.unpack(">Q", h[40:48])[0]
    f.seek(l1_off)
    l2_off = struct.unpack(">Q", f.read(8))[0] & 0x00fffffffffffe00
    f.seek(l2_off)
    f.write(struct.pack(">Q", (1 << 63) | l1_off))
    print(l1_off)
EOF
)
l1_before=$(dd if="$img" bs=64k skip=$((l1 / 65536)) count=1 status=none | sha256sum)

dev=$(t_attach "$img")
expect_eq "read-only before" "$(blockdev --getro "$dev")" 0
if dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct status=none 2>"$T_DIR/dd.err"; then
	fail "a write onto the L1 table succeeded"
fi
grep -q "Input/output error" "$T_DIR/dd.err" || fail "write failed with: $(cat "$T_DIR/dd.err")"
expect_eq "device read-only after corruption" "$(blockdev --getro "$dev")" 1
# not "dmesg | grep -q": grep stops at the match, dmesg dies of SIGPIPE and pipefail fails
grep -q "metadata corrupt, device now read-only" <(dmesg) || fail "no log line"
# another write elsewhere is refused too
dd if=/dev/zero of="$dev" bs=4k seek=1000 count=1 oflag=direct status=none 2>/dev/null &&
	fail "the device still takes writes"
t_detach "$dev"

expect_eq "L1 table untouched" \
	"$(dd if="$img" bs=64k skip=$((l1 / 65536)) count=1 status=none | sha256sum)" "$l1_before"
qemu-img info "$img" | grep -q "corrupt: true" || fail "corrupt bit not set: $(qemu-img info "$img")"
# and a read-write attach is now refused with a message
expect_fail_with 2 "marked corrupt" vdattach attach "$img"
