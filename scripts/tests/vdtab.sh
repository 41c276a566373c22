#!/usr/bin/env bash
# desc: vdtab start/status/stop attach and detach the images of a vdtab file with their options, idempotently
. "$(dirname "$0")/lib.sh"

vdtab=$VDISK_REPO/packaging/systemd/vdtab
a=$(t_img a.raw 32M)
printf 'label: gpt\n,8M\n' | sfdisk -q "$a" >/dev/null
b=$(t_img b.raw 16M)
cat > "$T_DIR/vdtab" <<EOT
# test vdtab
$a   partscan,format=raw

$b   ro,format=raw,index=7
EOT

out=$("$vdtab" -f "$T_DIR/vdtab" start) || fail "vdtab start failed: $out"
log "$out"
adev=$(echo "$out" | sed -n "s|^vdtab: $a: attached as ||p")
[ -b "$adev" ] || fail "no device for $a in: $out"
expect_eq "b's device" "$(echo "$out" | sed -n "s|^vdtab: $b: attached as ||p")" /dev/vd7
expect_eq "a partscan" "$(cat /sys/block/${adev#/dev/}/vdisk/partscan)" 1
expect_eq "b read-only" "$(cat /sys/block/vd7/vdisk/read_only)" 1
for _ in $(seq 100); do [ -b "${adev}p1" ] && break; sleep 0.02; done
[ -b "${adev}p1" ] || fail "partscan: no ${adev}p1"

# a second start attaches nothing new
out=$("$vdtab" -f "$T_DIR/vdtab" start) || fail "second vdtab start failed: $out"
echo "$out" | grep -q "$a: already attached as $adev" || fail "second start said: $out"
expect_eq "devices after two starts" "$(ls -d /sys/block/vd[0-9]* | wc -l)" 2

out=$("$vdtab" -f "$T_DIR/vdtab" status)
echo "$out" | grep -qx "$b: /dev/vd7 " || fail "status said: $out"

# stop detaches both; status then says so
"$vdtab" -f "$T_DIR/vdtab" stop >/dev/null || fail "vdtab stop failed"
for _ in $(seq 100); do [ -e /sys/block/vd7 ] || [ -e "/sys/block/${adev#/dev/}" ] || break; sleep 0.02; done
[ ! -e /sys/block/vd7 ] && [ ! -e "/sys/block/${adev#/dev/}" ] || fail "devices still there after stop"
out=$("$vdtab" -f "$T_DIR/vdtab" status)
echo "$out" | grep -qx "$a: not attached" || fail "status after stop said: $out"

# a missing image: exit 2, the other entries still attached
echo "$T_DIR/missing.img" >> "$T_DIR/vdtab"
rc=0
"$vdtab" -f "$T_DIR/vdtab" start >/dev/null 2>&1 || rc=$?
expect_eq "start with a missing image" "$rc" 2
[ -b /dev/vd7 ] || fail "the good entries were not attached"
"$vdtab" -f "$T_DIR/vdtab" stop >/dev/null
