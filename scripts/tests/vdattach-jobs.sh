#!/usr/bin/env bash
# desc: vdattach commit/rebase/job/cancel end to end: commit into the backing file and past an intermediate (-b, the recorded name), rebase onto a new chain, flatten, --dedup of a full copy (IMAGE form), SIGINT cancels (exit 130), a second job is exit 3, vmdk gold->dept->user commits; contents of the device never change
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

qio() {
	qemu-io -f "$1" -c "$2" "$3" >/dev/null || fail "qemu-io -f $1 -c '$2' $3"
}

# expect_ok WHAT CMD...: exit 0 and the last line says "done"
expect_ok() {
	local what=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = 0 ] || fail "$what: '$*' exited $rc: $out"
	echo "$out" | tail -1 | grep -Eq '^(commit|rebase) .*: done: [0-9]+ bytes copied' ||
		fail "$what: last line '$(echo "$out" | tail -1)'"
	log "$what: $(echo "$out" | tail -1)"
}

# ---- qcow2 over qcow2 over raw, in two directories ----
mkdir -p a/b
qemu-img create -q -f raw a/b/base.raw 40M
qemu-img create -q -f qcow2 -b base.raw -F raw a/b/mid.qcow2
qemu-img create -q -f qcow2 -b b/mid.qcow2 -F qcow2 a/top.qcow2
qio raw "write -P 0x11 0 8M" a/b/base.raw
qio qcow2 "write -P 0x22 4M 8M" a/b/mid.qcow2
qio qcow2 "write -P 0x33 10M 4M" a/top.qcow2

vdattach features | grep -q 'commit rebase' || fail "driver lacks commit/rebase: $(vdattach features)"
dev=$(t_attach a/top.qcow2)
dd if=/dev/urandom of="$dev" bs=1M seek=20 count=4 oflag=direct status=none
want=$(t_sum "$dev")

expect_ok "commit into the backing file" vdattach commit -p "$dev"
expect_eq "contents after commit" "$(t_sum "$dev")" "$want"
vdattach job --json "$dev" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["type"] == "commit" and j["state"] == "done" and j["percent"] == 100.0, j
assert j["bytes_copied"] > 0 and j["error"] == 0, j' || fail "job --json after the commit"

expect_ok "commit -b past mid" vdattach commit -b a/b/base.raw -r 16M "$dev"
expect_eq "contents after commit -b" "$(t_sum "$dev")" "$want"
expect_eq "layers after commit -b" "$(vdattach status "$dev" | grep -c '^  layer ')" 2
t_detach "$dev"
qemu-img info a/top.qcow2 | grep -q '^backing file: b/base.raw' ||
	fail "top records $(qemu-img info a/top.qcow2 | grep '^backing file')"
qemu-img check -q a/top.qcow2 || fail "qemu-img check top after the commits"
qemu-img compare -q a/top.qcow2 a/b/base.raw || fail "base does not hold the top's data"

# ---- rebase onto a new chain, then flatten ----
qemu-img create -q -f qcow2 -b b/base.raw -F raw a/new.qcow2
qio qcow2 "write -P 0x55 30M 2M" a/new.qcow2
dev=$(t_attach a/top.qcow2)
want=$(t_sum "$dev")
expect_ok "rebase onto new.qcow2" vdattach rebase -b new.qcow2 -F qcow2 "$dev"
expect_eq "contents after rebase" "$(t_sum "$dev")" "$want"
vdattach status "$dev" | grep -q "file: *$T_DIR/a/new.qcow2" || fail "new.qcow2 not in the stack"
expect_ok "rebase -b ''" vdattach rebase -b "" "$dev"
expect_eq "contents after flatten" "$(t_sum "$dev")" "$want"
t_detach "$dev"
! qemu-img info a/top.qcow2 | grep -q '^backing file' || fail "flattened top still has a backing file"
qemu-img check -q a/top.qcow2 || fail "qemu-img check top after the rebases"

# ---- the seed's --dedup case, IMAGE form ----
qemu-img create -q -f qcow2 disk-a.qcow2 32M
qio qcow2 "write -P 0x61 0 16M" disk-a.qcow2
cp disk-a.qcow2 disk-b.qcow2
qio qcow2 "write -P 0x62 8M 4M" disk-b.qcow2
cp disk-b.qcow2 disk-c.qcow2
expect_ok "rebase --dedup of a full copy" vdattach rebase --dedup -b disk-a.qcow2 -F qcow2 disk-c.qcow2
[ -z "$(t_vdevs_of "$T_DIR")" ] || fail "IMAGE form left a device attached"
qemu-img compare -q disk-c.qcow2 disk-b.qcow2 || fail "disk-c no longer shows disk-b"
own=$(qemu-img map --output=json disk-c.qcow2 | python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["data"] and e["depth"] == 0))')
[ "$own" -le $((4 << 20)) ] || fail "disk-c still holds $own bytes of its own (want the 4 MiB difference)"

# ---- cancel, busy ----
qemu-img create -q -f qcow2 -b disk-a.qcow2 -F qcow2 big.qcow2
qio qcow2 "write -P 0x70 0 24M" big.qcow2
dev=$(t_attach big.qcow2)
want=$(t_sum "$dev")
vdattach commit -r 1M "$dev" >commit.out 2>&1 &
pid=$!
sleep 2
expect_fail_with 3 "a job is already running on $dev" vdattach rebase -u -b disk-a.qcow2 "$dev"
vdattach job "$dev" | grep -q 'state: *running' || fail "job: $(vdattach job "$dev")"
kill -INT $pid
rc=0
wait $pid || rc=$?
expect_eq "exit status of a commit cancelled by SIGINT" "$rc" 130
grep -q "^commit $dev: cancelled: " commit.out || fail "after SIGINT: $(cat commit.out)"
expect_eq "contents after the cancel" "$(t_sum "$dev")" "$want"
expect_fail_with 2 "no job running" timeout 30 vdattach cancel "$dev"
# a job after a cancelled one starts
expect_ok "commit after a cancelled one" vdattach commit "$dev"
t_detach "$dev"

# ---- vmdk: golden -> department -> user ----
qemu-img create -q -f vmdk base_os_gold.vmdk 32M
qemu-img create -q -f vmdk -b base_os_gold.vmdk -F vmdk dept_dev.vmdk
qemu-img create -q -f vmdk -b dept_dev.vmdk -F vmdk user_alice.vmdk
dev=$(t_attach user_alice.vmdk)
dd if=/dev/urandom of="$dev" bs=1M count=4 oflag=direct status=none
want=$(t_sum "$dev")
expect_ok "vmdk commit -d into the department's layer" vdattach commit -d "$dev"
expect_eq "vmdk contents after commit -d" "$(t_sum "$dev")" "$want"
expect_ok "vmdk commit -b gold" vdattach commit -b base_os_gold.vmdk "$dev"
expect_eq "vmdk contents after commit -b" "$(t_sum "$dev")" "$want"
t_detach "$dev"
# attach refuses a delta whose parentCID does not match its parent's CID
dev=$(t_attach -r user_alice.vmdk)
expect_eq "vmdk contents attached again" "$(t_sum "$dev")" "$want"
t_detach "$dev"
qemu-img compare -q user_alice.vmdk base_os_gold.vmdk || fail "gold does not hold Alice's data"
log "all layer jobs behaved"
