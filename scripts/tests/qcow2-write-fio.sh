#!/usr/bin/env bash
# desc: qcow2 writes (4k/64k/2M clusters, extended L2, with/without backing) at QD16 from 2 jobs: fio crc32c verify reads back every block, qemu-img check clean
# qcow2-write-compare.sh sources this file: the same writes through
# vdisk and through loop on a raw file, then qemu-img compare.
. "$(dirname "$0")/lib.sh"

case $T_NAME in
*compare) MODE=compare ;;
*) MODE=verify ;;
esac

SIZE=1G
IO=${QCOW2_WRITE_IO:-4M}	# per fio job and phase

# The backing file: scattered data, some of it in zeroed ranges.
truncate -s $SIZE "$T_DIR/base.raw"
for off in 0 7 300 511 700 1000; do
	head -c 3M /dev/urandom | dd of="$T_DIR/base.raw" bs=1M seek="$off" conv=notrunc status=none
done
qemu-img convert -q -f raw -O qcow2 "$T_DIR/base.raw" "$T_DIR/base.qcow2"

# Random writes of 4k..1M from 2 jobs at QD16, then sequential 1M writes
# from a misaligned offset.  Deterministic (seeded, no overlapping I/O in
# flight) so that two devices given the same job end up with the same
# bytes; with --verify the data is read back and checked as well.
fio_writes() {
	local dev=$1 out=$2
	shift 2
	fio --filename="$dev" --ioengine=libaio --direct=1 --group_reporting \
		--randrepeat=1 --randseed=4242 --refill_buffers=1 --scramble_buffers=0 \
		--serialize_overlap=1 --output="$out" "$@" \
		--name=rand --rw=randwrite --bsrange=4k-1m --numjobs=2 --iodepth=16 \
		--offset_increment=512M --size=512M --io_size="$IO" \
		--name=seq --stonewall --rw=write --bs=1M --iodepth=8 --numjobs=1 \
		--offset=$((256 << 20 | 12288)) --size=8M >/dev/null ||
		{ cat "$out"; fail "fio on $dev ($*)"; }
}

# expect_check IMG: qemu-img check finds no error and no leak
expect_check() {
	local out rc=0
	out=$(qemu-img check "$1" 2>&1) || rc=$?
	[ $rc = 0 ] || { echo "$out"; fail "qemu-img check $(basename "$1") exited $rc"; }
	echo "$out" | grep -q "No errors were found" || { echo "$out"; fail "qemu-img check $(basename "$1")"; }
}

n=0
for cs in 4k 64k 2M; do
	for ext in off on; do
		[ $cs = 4k ] && [ $ext = on ] && continue	# extended L2 needs >= 16k
		for backing in no yes; do
			opts="cluster_size=$cs,extended_l2=$ext"
			bopts=()
			[ $backing = yes ] && bopts=(-b "$T_DIR/base.qcow2" -F qcow2)
			label="$opts backing=$backing"
			log "$label"

			img=$T_DIR/top.qcow2
			qemu-img create -q -f qcow2 -o "$opts" "${bopts[@]}" "$img" $SIZE
			if [ "$MODE" = verify ]; then
				# fio reads back and checks every block it wrote
				dev=$(t_attach "$img")
				fio_writes "$dev" "$T_DIR/fio-verify.txt" --verify=crc32c \
					--verify_fatal=1 --do_verify=1
				t_detach "$dev"
				expect_check "$img"
			else
				# the same writes through loop on a raw copy: identical
				if [ $backing = yes ]; then
					cp --sparse=always "$T_DIR/base.raw" "$T_DIR/ref.raw"
				else
					truncate -s $SIZE "$T_DIR/ref.raw"
				fi
				dev=$(t_attach "$img")
				loopdev=$(t_loop --direct-io=on "$T_DIR/ref.raw")
				fio_writes "$dev" "$T_DIR/fio-a.txt"
				fio_writes "$loopdev" "$T_DIR/fio-b.txt"
				t_detach "$dev"
				losetup -d "$loopdev"
				expect_check "$img"
				out=$(qemu-img compare -f qcow2 -F raw "$img" "$T_DIR/ref.raw" 2>&1) ||
					fail "$label: qemu-img compare with loop's raw: $out"
			fi
			rm -f "$img" "$T_DIR/ref.raw"
			n=$((n + 1))
		done
	done
done
log "$n configurations written and checked ($MODE)"
expect_eq "configurations" $n 10
