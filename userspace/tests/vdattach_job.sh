#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host checks of vdattach commit, rebase, job and cancel without the driver:
# an LD_PRELOAD shim (vdattach_job_shim.c) stands in for /dev/vdisk-control,
# records what JOB_START is handed (type, flags, base level, backing name,
# each file and how it is open) and makes up the job's progress.  Chains
# are made by qemu-img.
#
#   userspace/tests/vdattach_job.sh [VDATTACH]   (default: ../vdattach)
#
# Prints one line per check and "N passed, N failed" last; exits 1 if any
# failed, 77 if it cannot run.

set -u

here=$(cd "$(dirname "$0")" && pwd)
V=$(realpath "${1:-$here/../vdattach}")
passed=0
failed=0

if ! command -v qemu-img >/dev/null || ! command -v python3 >/dev/null ||
   ! command -v cc >/dev/null; then
	echo "SKIP: needs qemu-img, python3 and cc"
	echo "0 passed, 0 failed"
	exit 77
fi
if [ ! -x "$V" ]; then
	echo "SKIP: no vdattach at $V (make -C userspace)"
	echo "0 passed, 0 failed"
	exit 77
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=1

work=$(mktemp -d /tmp/vdattach-job.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

ok() { echo "ok    $1"; passed=$((passed + 1)); }
nok() { echo "FAIL  $1"; shift; for l in "$@"; do echo "      $l"; done; failed=$((failed + 1)); }

if ! cc -shared -fPIC -O1 -Wall -Wextra -I"$here/../../include/uapi" -o shim.so \
	"$here/vdattach_job_shim.c" -ldl 2>shim.err; then
	echo "FAIL  shim build: $(head -5 shim.err)"
	echo "0 passed, 1 failed"
	exit 1
fi

qi() { qemu-img "$@" >/dev/null || echo "qemu-img $* failed"; }

mkdir -p a/b x y v
qi create -f raw a/b/base.raw 4M
qi create -f qcow2 -b base.raw -F raw a/b/mid.qcow2
qi create -f qcow2 -b b/mid.qcow2 -F qcow2 a/top.qcow2
qi create -f qcow2 -b b/base.raw -F raw a/new.qcow2
qi create -f qcow2 -b ../top.qcow2 -F qcow2 a/b/loop.qcow2
qi create -f qcow2 x/base.qcow2 4M
qi create -f qcow2 -b base.qcow2 -F qcow2 x/mid.qcow2
qi create -f qcow2 -b mid.qcow2 -F qcow2 x/top.qcow2
qi create -f qcow2 -b "$work/a/b/base.raw" -F raw y/mid.qcow2
qi create -f qcow2 -b mid.qcow2 -F qcow2 y/top.qcow2
qi create -f vmdk -o subformat=twoGbMaxExtentSparse v/base.vmdk 4M
qi create -f vmdk -b base.vmdk -F vmdk v/top.vmdk
truncate -s 1M other.raw

# stack FORMAT PATH...: the layers of /dev/vd5 in the shim
stack() {
	: >stack.txt
	while [ $# -gt 0 ]; do
		echo "$1 $(realpath "$2")" >>stack.txt
		shift 2
	done
}

# sv CMD...: vdattach through the shim; rc, out.txt, err.txt, rec.txt
sv() {
	rm -f rec.txt
	env LD_PRELOAD="$work/shim.so" VDA_SHIM_STACK="$work/stack.txt" \
		VDA_SHIM_OUT="$work/rec.txt" "$V" "$@" >out.txt 2>err.txt
	rc=$?
	touch rec.txt
}

# expect NAME RC 'recorded lines' 'stdout or stderr line'
expect() {
	local name=$1 want_rc=$2 want_rec=$3 want_line=$4
	if [ "$rc" = "$want_rc" ] && [ "$(cat rec.txt)" = "$want_rec" ] &&
	   { [ -z "$want_line" ] || grep -qxF -- "$want_line" out.txt err.txt; }; then
		ok "$name"
	else
		nok "$name" "rc=$rc (want $want_rc)" "recorded: $(cat rec.txt)" "want:     $want_rec" \
		    "line:     $want_line" "stdout:   $(cat out.txt)" "stderr:   $(cat err.txt)"
	fi
}

W=$work

# ---- commit ----
stack 2 a/top.qcow2 2 a/b/mid.qcow2 1 a/b/base.raw
sv commit 5
expect "commit DEV: into the top's backing file, its recorded name" 0 \
"job type 1 flags 0 base 1 layers 1 rate 0 name 'b/mid.qcow2'
0 2 rw $W/a/b/mid.qcow2" \
"commit /dev/vd5: done: 4194304 bytes copied, 0 equal, 0 dropped in 1.00 s (4.0 MiB/s)"

sv commit -b a/b/base.raw -d -r 50M vd5
expect "commit -b past an intermediate in another directory: relative to the top" 0 \
"job type 1 flags 1 base 2 layers 1 rate 52428800 name 'b/base.raw'
0 1 rw $W/a/b/base.raw" ""

sv commit --base b/base.raw /dev/vd5
expect "commit -b NAME relative to the top's directory (as qemu-img finds it)" 0 \
"job type 1 flags 0 base 2 layers 1 rate 0 name 'b/base.raw'
0 1 rw $W/a/b/base.raw" ""

sv commit -b other.raw 5
expect "commit -b a file outside the stack" 2 "" \
"vdattach: other.raw: not a backing file of /dev/vd5 (see 'vdattach status /dev/vd5')"

sv commit -b a/top.qcow2 5
expect "commit -b the top itself" 2 "" \
"vdattach: a/top.qcow2: is the top layer of /dev/vd5; commit into one of its backing files"

sv commit -b nosuch.qcow2 5
expect "commit -b a missing file" 2 "" "vdattach: nosuch.qcow2: No such file or directory"

stack 2 x/top.qcow2 2 x/mid.qcow2 2 x/base.qcow2
sv commit -b x/base.qcow2 5
expect "commit -b, layers in the top's directory: the name the layer above records" 0 \
"job type 1 flags 0 base 2 layers 1 rate 0 name 'base.qcow2'
0 2 rw $W/x/base.qcow2" ""

stack 2 y/top.qcow2 2 y/mid.qcow2 1 a/b/base.raw
sv commit -b a/b/base.raw 5
expect "commit -b, an absolute recorded name is kept" 0 \
"job type 1 flags 0 base 2 layers 1 rate 0 name '$W/a/b/base.raw'
0 1 rw $W/a/b/base.raw" ""

stack 3 v/top.vmdk 3 v/base.vmdk
sv commit 5
expect "commit into a vmdk: descriptor and extents open for writing" 0 \
"job type 1 flags 0 base 1 layers 1 rate 0 name 'base.vmdk'
0 3 rw $W/v/base.vmdk
  extent 0 rw $W/v/base-s001.vmdk" ""

stack 1 other.raw
sv commit 5
expect "commit of a device without backing file" 2 "" \
"vdattach: /dev/vd5: has no backing file to commit into"

stack 2 a/top.qcow2 2 x/mid.qcow2 1 a/b/base.raw
sv commit 5
expect "commit: the kernel's stack and the files on disk disagree" 2 "" \
"vdattach: /dev/vd5: layer 1 in the kernel is '$W/x/mid.qcow2', but the chain of '$W/a/top.qcow2' on disk has '$W/a/b/mid.qcow2' there (a file renamed or replaced since the attach?)"

stack 2 a/top.qcow2 2 a/b/mid.qcow2 1 a/b/base.raw
VDA_SHIM_DEVFLAGS=1 sv commit 5
expect "commit on a read-only device" 2 "" \
"vdattach: /dev/vd5: attached read-only; a commit writes to it"

VDA_SHIM_DEVFLAGS=8 sv commit 5
expect "commit while a job runs (STATUS says so)" 3 "" \
"vdattach: a job is already running on /dev/vd5"

VDA_SHIM_JOB=busy sv commit 5
expect "commit: JOB_START says EBUSY, a job is running" 3 \
"job type 1 flags 0 base 1 layers 1 rate 0 name 'b/mid.qcow2'
0 2 rw $W/a/b/mid.qcow2" "vdattach: a job is already running on /dev/vd5"

VDA_SHIM_JOB=refuse sv commit 5
expect "commit refused: the kernel's message" 2 \
"job type 1 flags 0 base 1 layers 1 rate 0 name 'b/mid.qcow2'
0 2 rw $W/a/b/mid.qcow2" "vdattach: /dev/vd5: commit: shim refuses layer 1"

VDA_SHIM_JOB=fail sv commit 5
expect "commit fails: message and strerror, exit 2" 2 \
"job type 1 flags 0 base 1 layers 1 rate 0 name 'b/mid.qcow2'
0 2 rw $W/a/b/mid.qcow2" "vdattach: /dev/vd5: commit: shim: boom: Input/output error"

VDA_SHIM_FEATURES=0x7 sv commit 5
expect "commit without the driver's commit feature" 2 "" \
"vdattach: the loaded vdisk driver cannot commit (see 'vdattach features')"

sv commit -p 5
if [ "$rc" = 0 ] && grep -q $'\r100.0% \[####################\]' err.txt &&
   grep -q ' 25.0% \[#####  ' err.txt && [ "$(wc -l <out.txt)" = 1 ]; then
	ok "commit -p: progress bar redrawn on stderr, one line on stdout"
else
	nok "commit -p" "rc=$rc" "$(cat -A err.txt | head -5)"
fi

sv commit 5
if [ ! -s err.txt ]; then ok "commit without -p: quiet on stderr"; else nok "quiet" "$(cat err.txt)"; fi

# SIGINT: cancel, wait, "cancelled", exit 130
rm -f rec.txt
env LD_PRELOAD="$work/shim.so" VDA_SHIM_STACK="$work/stack.txt" VDA_SHIM_OUT="$work/rec.txt" \
	VDA_SHIM_JOB=hang "$V" commit 5 >out.txt 2>err.txt &
pid=$!
sleep 1
kill -INT $pid
wait $pid
rc=$?
if [ $rc = 130 ] && grep -q '^commit /dev/vd5: cancelled: ' out.txt; then
	ok "SIGINT cancels the job: 'cancelled', exit 130"
else
	nok "SIGINT" "rc=$rc" "$(cat out.txt err.txt)"
fi

# ---- usage errors ----
sv commit -r 0 5
expect "-r 0 is a usage error" 1 "" \
"vdattach: invalid rate '0' (bytes per second, K/M/G/T suffix, e.g. 50M)"
sv commit 5 6
expect "commit takes one device" 1 "" "vdattach: one device or image only; unexpected '6'"
sv rebase 5
expect "rebase without -b" 1 "" 'vdattach: no new backing file given (-b NEW, or -b "" for none)'
sv rebase -b x -u --dedup 5
expect "rebase -u --dedup" 1 "" "vdattach: --unsafe and --dedup exclude each other"
sv rebase -b "" -F raw 5
expect "rebase -b '' -F" 1 "" "vdattach: --backing-format without a backing file"

# ---- rebase ----
stack 2 a/top.qcow2 2 a/b/mid.qcow2 1 a/b/base.raw
sv rebase -b new.qcow2 -F qcow2 5
expect "rebase: NEW relative to the top's directory, its chain read-only, name as given" 0 \
"job type 2 flags 0 base 0 layers 2 rate 0 name 'new.qcow2'
0 2 ro $W/a/new.qcow2
1 1 ro $W/a/b/base.raw" \
"rebase /dev/vd5: done: 4194304 bytes copied, 0 equal, 0 dropped in 1.00 s (4.0 MiB/s)"

sv rebase -b b/base.raw -u 5
expect "rebase -u: probed format, UNSAFE" 0 \
"job type 2 flags 2 base 0 layers 1 rate 0 name 'b/base.raw'
0 1 ro $W/a/b/base.raw" ""

sv rebase -b "$W/a/new.qcow2" --dedup -r 1k 5
expect "rebase --dedup, absolute NEW" 0 \
"job type 2 flags 4 base 0 layers 2 rate 1024 name '$W/a/new.qcow2'
0 2 ro $W/a/new.qcow2
1 1 ro $W/a/b/base.raw" ""

sv rebase -b "" 5
expect "rebase -b '': flatten, no layers, empty name" 0 \
"job type 2 flags 0 base 0 layers 0 rate 0 name ''" ""

sv rebase -b b/loop.qcow2 5
expect "rebase onto a chain that holds the top" 2 "" \
"vdattach: $W/a/b/loop.qcow2: its backing chain contains the image being rebased ('$W/a/b/../top.qcow2')"

sv rebase -b nbd:host:10809 5
expect "rebase onto a protocol name" 2 "" \
"vdattach: nbd:host:10809: not a local file; name the file with a path"

sv rebase -b missing.qcow2 5
expect "rebase onto a missing file" 2 "" "vdattach: $W/a/missing.qcow2: No such file or directory"

# ---- the IMAGE form ----
: >stack.txt
sv commit a/top.qcow2
expect "commit IMAGE: attached read-write with its chain, job, detached" 0 \
"attach flags 0 layers 3
0 2 rw $W/a/top.qcow2
1 2 ro $W/a/b/mid.qcow2
2 1 ro $W/a/b/base.raw
job type 1 flags 0 base 1 layers 1 rate 0 name 'b/mid.qcow2'
0 2 rw $W/a/b/mid.qcow2
detach 5 flags 0" \
"commit a/top.qcow2: done: 4194304 bytes copied, 0 equal, 0 dropped in 1.00 s (4.0 MiB/s)"

: >stack.txt
VDA_SHIM_JOB=fail sv rebase -b new.qcow2 a/top.qcow2
expect "rebase IMAGE that fails: still detached" 2 \
"attach flags 0 layers 3
0 2 rw $W/a/top.qcow2
1 2 ro $W/a/b/mid.qcow2
2 1 ro $W/a/b/base.raw
job type 2 flags 0 base 0 layers 2 rate 0 name 'new.qcow2'
0 2 ro $W/a/new.qcow2
1 1 ro $W/a/b/base.raw
detach 5 flags 0" "vdattach: a/top.qcow2: rebase: shim: boom: Input/output error"

: >stack.txt
sv commit other.raw
expect "commit IMAGE without backing file: refused before attaching" 2 "" \
"vdattach: other.raw: has no backing file to commit into"

: >stack.txt
sv rebase -b missing.qcow2 a/top.qcow2
expect "rebase IMAGE onto a missing NEW: refused before attaching" 2 "" \
"vdattach: a/missing.qcow2: No such file or directory"

: >stack.txt
sv rebase -b ../top.qcow2 a/b/mid.qcow2
expect "rebase IMAGE onto a chain that holds it: refused before attaching" 2 "" \
"vdattach: a/b/../top.qcow2: its backing chain contains the image being rebased ('a/b/../b/mid.qcow2')"

stack 2 a/top.qcow2 2 a/b/mid.qcow2 1 a/b/base.raw
sv commit a/top.qcow2
expect "commit IMAGE that is already attached: use the device" 3 "" \
"vdattach: a/top.qcow2: already attached as /dev/vd5; run 'vdattach commit' on that device"

# ---- job, cancel ----
sv job 5
expect "job: no job yet" 0 "" "  state:       idle"
VDA_SHIM_STATE=failed sv job vd5
if [ "$rc" = 0 ] && grep -qxF "  progress:    50.0%" out.txt &&
   grep -qxF "  rate limit:  50M/s (52428800 bytes/s)" out.txt &&
   grep -qxF "  error:       Input/output error (-5)" out.txt &&
   grep -qxF '  message:     layer 1: "write" error\x0aat 0x1000' out.txt; then
	ok "job: a failed job, its error and message (control characters escaped)"
else
	nok "job failed" "rc=$rc" "$(cat out.txt err.txt)"
fi
VDA_SHIM_STATE=failed sv job --json 5
if [ "$rc" = 0 ] && python3 - out.txt <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["name"] == "/dev/vd5" and j["type"] == "commit" and j["state"] == "failed", j
assert j["percent"] == 50.0 and j["bytes_total"] == 4 << 20 and j["bytes_done"] == 2 << 20, j
assert j["bytes_equal"] == 1 << 20 and j["rate_limit"] == 50 << 20 and j["error"] == -5, j
assert j["error_message"] == "Input/output error", j
assert j["msg"] == 'layer 1: "write" error\nat 0x1000', j
EOF
then
	ok "job --json"
else
	nok "job --json" "rc=$rc" "$(cat out.txt err.txt)"
fi
sv job -J 5
if [ "$rc" = 0 ] && python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["state"] == "idle" and j["error_message"] is None' out.txt; then
	ok "job -J, idle"
else
	nok "job -J idle" "$(cat out.txt err.txt)"
fi
sv job 7
expect "job of a missing device" 4 "" "vdattach: /dev/vd7: no such device"
sv cancel 5
expect "cancel without a job: exit 2" 2 "" "vdattach: /dev/vd5: no job running"
VDA_SHIM_STATE=running sv cancel 5
expect "cancel a running job: reports it cancelled, exit 0" 0 "" \
"commit /dev/vd5: cancelled: 2097152 bytes copied, 0 equal, 0 dropped in 0.50 s (4.0 MiB/s)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
