#!/usr/bin/env bash
# desc: commit (raw device) and, in check-full, rebase (mounted xfs) while fio writes and verifies: fio passes during and after (reattached), images check clean, device digest = qemu-img's view; commit throughput under fio
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

M=$((1 << 20))
RATE=4M		# commit: charged for the top's data only (~64 MiB with fio's)
RATE_B=$((4 * M))
RATE_REBASE=$(t_size 32M 256M)	# rebase: for every byte the top does not allocate
T_JOB_TIMEOUT=$(t_size 240 1800)
# a failure while fio runs: stop it before lib.sh's cleanup unmounts
trap 'touch "$T_DIR/stop"; wait; t_cleanup' EXIT
TOP_MIB=$(t_size 24 256)

# fio_pass TARGET SEED [fio args]: one write+verify pass over TARGET of
# two jobs: 32 MiB at OFF1 (where the job works) and 16 MiB at OFF2
fio_pass() {
	local target=$1 seed=$2
	shift 2
	fio --ioengine=libaio --direct=1 --randrepeat=0 --randseed="$seed" \
		--verify=crc32c --verify_fatal=1 --group_reporting "$@" \
		--name=j1 --filename="$target" --rw=randwrite --bsrange=4k-64k \
		--offset="$OFF1" --size=32M --io_size=8M --iodepth=8 \
		--name=j2 --filename="$target" --rw=randwrite --bs=16k \
		--offset="$OFF2" --size=16M --io_size=4M --iodepth=4
}

# fio_loop TARGET [fio args]: passes with seeds 1, 2, ... until ./stop
# exists; the last finished seed in ./fio.last, a failed one in ./fio.failed
# (the caller removes all three first)
fio_loop() {
	local target=$1 i=0
	shift
	while [ ! -e stop ]; do
		i=$((i + 1))
		if ! fio_pass "$target" $i --do_verify=1 "$@" >fio.out 2>&1; then
			echo $i >fio.failed
			return
		fi
		echo $i >fio.last
	done
}

# run_job_with_fio TARGET VDATTACH-ARGS...: the job while fio_loop runs on
# TARGET; the fio pass that was writing when the job started, and every
# later one, must verify
run_job_with_fio() {
	local target=$1 pid n0 n1
	shift
	# before the loop starts: a stale fio.last of the previous job would
	# let the wait below end at once, before fio wrote anything
	rm -f stop fio.last fio.failed
	fio_loop "$target" &
	pid=$!
	# the job starts once fio is writing
	for _ in $(seq 300); do [ -e fio.last ] || [ -e fio.failed ] && break; sleep 0.1; done
	n0=$(cat fio.last 2>/dev/null || echo 0)
	t_job "$@"
	n1=$(cat fio.last 2>/dev/null || echo 0)
	touch stop
	wait $pid
	[ ! -e fio.failed ] || { cat fio.out; fail "fio pass $(cat fio.failed) failed during vdattach $*"; }
	LAST_SEED=$(cat fio.last)
	log "fio passes during the job: $((n1 - n0)) (seeds $n0..$n1, last $LAST_SEED)"
	# Pass n0 + 1 was writing when the job started (the loop starts the
	# next pass at once) and stops only after finishing it: it overlapped
	# the job even when the job is quicker than one pass, and verified.
	[ "$LAST_SEED" -ge $((n0 + 1)) ] ||
		fail "the fio pass running when vdattach $* started did not finish ($JOB_SECS s)"
}

# ---- 1. commit on the raw device: base.qcow2 <- top.qcow2 ----
OFF1=$((144 * M))	# fio overlaps the upper part of the top's data
OFF2=$((300 * M))
qemu-img create -q -f qcow2 base.qcow2 512M
dev=$(t_attach base.qcow2)
head -c $((64 * M)) /dev/urandom | dd of="$dev" bs=1M oflag=direct iflag=fullblock status=none
t_detach "$dev"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
dev=$(t_attach top.qcow2)
head -c $((TOP_MIB * M)) /dev/urandom | dd of="$dev" bs=1M seek=128 oflag=direct iflag=fullblock status=none
# the top's data fio leaves alone, [128M, 144M): must reach the base
keep=$(dd if="$dev" bs=1M skip=128 count=16 iflag=direct status=none | md5sum | cut -d' ' -f1)

run_job_with_fio "$dev" commit -r $RATE "$dev"
log "commit -r $RATE under fio: $JOB_COPIED bytes in $JOB_SECS s = $JOB_KIBS KiB/s"
[ "$JOB_KIBS" -le $((RATE_B / 1024 * 13 / 10)) ] ||
	fail "commit -r $RATE ran at $JOB_KIBS KiB/s"
[ "$JOB_COPIED" -ge $((TOP_MIB * M)) ] || fail "commit copied $JOB_COPIED bytes, less than the top's $TOP_MIB MiB"

# again without a limit (check-full: a throughput figure, the same path):
# the top still holds its data (no -d)
if t_full; then
	run_job_with_fio "$dev" commit "$dev"
	log "THROUGHPUT commit (no limit) while fio runs: $JOB_COPIED bytes in $JOB_SECS s = $JOB_KIBS KiB/s"
fi
expect_eq "layers after the commits" "$(t_nr_layers "$dev")" 2
# fio's last pass still reads back, and the device = qemu's view of it
fio_pass "$dev" "$LAST_SEED" --verify_only >fio.out 2>&1 || { cat fio.out; fail "fio --verify_only after the commits"; }
sum=$(t_digest "$dev")
t_detach "$dev"
t_check_clean top.qcow2
t_check_clean base.qcow2
expect_eq "device digest vs qemu-img convert of top" "$(t_view_digest top.qcow2)" "$sum"
qemu-img convert -O raw base.qcow2 base.raw
expect_eq "top's data untouched by fio, in base" \
	"$(dd if=base.raw bs=1M skip=128 count=16 status=none | md5sum | cut -d' ' -f1)" "$keep"
rm -f base.raw
dev=$(t_attach top.qcow2)
fio_pass "$dev" "$LAST_SEED" --verify_only >fio.out 2>&1 || { cat fio.out; fail "fio --verify_only after reattach"; }
t_detach "$dev"
log "ok commit under fio"
rm -f ./*.qcow2

# make check stops here: online commit above; rebases of an attached
# device in vdattach-jobs and fmt-jobs, cut in job-power-cut
t_full || exit 0

# ---- 2. rebase under a mounted xfs: disk-c (on disk-b on disk-a) onto disk-a ----
OFF1=0
OFF2=$((48 * M))
qemu-img create -q -f qcow2 disk-a.qcow2 "$(t_size 512M 10G)"
dev=$(t_attach disk-a.qcow2)
t_xfs_with_file "$dev" mnt A.bin 32 mkfs
t_detach "$dev"
qemu-img create -q -f qcow2 -b disk-a.qcow2 -F qcow2 disk-b.qcow2
dev=$(t_attach disk-b.qcow2)
t_xfs_with_file "$dev" mnt B.bin "$TOP_MIB"
t_detach "$dev"
qemu-img create -q -f qcow2 -b disk-b.qcow2 -F qcow2 disk-c.qcow2
dev=$(t_attach disk-c.qcow2)
t_mount "$dev" mnt
suma=$(t_sum mnt/A.bin)
sumb=$(t_sum mnt/B.bin)
truncate -s 64M mnt/fio.dat

run_job_with_fio mnt/fio.dat rebase -b disk-a.qcow2 -F qcow2 -r "$RATE_REBASE" "$dev"
log "rebase -r $RATE_REBASE under fio on xfs: $JOB_COPIED bytes copied, $JOB_EQUAL equal in $JOB_SECS s = $JOB_KIBS KiB/s"
expect_eq "layers after the rebase" "$(t_nr_layers "$dev")" 2
echo 3 >/proc/sys/vm/drop_caches
expect_eq "file A after the rebase" "$(t_sum mnt/A.bin)" "$suma"
expect_eq "file B after the rebase" "$(t_sum mnt/B.bin)" "$sumb"
fio_pass mnt/fio.dat "$LAST_SEED" --verify_only >fio.out 2>&1 || { cat fio.out; fail "fio --verify_only after the rebase"; }
t_umount mnt
sum=$(t_digest "$dev")
t_detach "$dev"
t_check_clean disk-c.qcow2
expect_eq "disk-c backing after the rebase" "$(t_info disk-c.qcow2 backing-filename)" disk-a.qcow2
expect_eq "device digest vs qemu-img convert of disk-c" "$(t_view_digest disk-c.qcow2)" "$sum"
dev=$(t_attach disk-c.qcow2)
t_mount "$dev" mnt
fio_pass mnt/fio.dat "$LAST_SEED" --verify_only >fio.out 2>&1 || { cat fio.out; fail "fio --verify_only after reattach"; }
expect_eq "file B after reattach" "$(t_sum mnt/B.bin)" "$sumb"
t_umount mnt
t_detach "$dev"
qemu-img convert -O raw disk-c.qcow2 c.raw
xfs_repair -n -f c.raw >xfs.out 2>&1 || { cat xfs.out; fail "xfs_repair -n of the rebased disk-c"; }
log "ok rebase under fio"
rm -f ./*.qcow2 c.raw
