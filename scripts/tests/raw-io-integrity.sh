#!/usr/bin/env bash
# desc: fio crc32c verify (random+sequential, 2 jobs, QD16), discard frees space, write-zeroes, flush
. "$(dirname "$0")/lib.sh"

# 64 MiB in make check, 256 MiB in check-full: the same checks, less data.
mib=$(t_size 64 256)
half=$((mib / 2))
img=$(t_img disk.raw "${mib}M")
# Written through the page cache, as a fresh copy is: attaching a writable
# layer with direct I/O writes the dirty pages back and drops them (chain.c).
dd if=/dev/urandom of="$img" bs=1M count=16 conv=notrunc status=none
cached() { fincore --raw --noheadings --bytes -o RES "$img"; }
[ "$(cached)" -ge $((16 << 20)) ] || fail "setup: only $(cached) bytes of the image cached"
head_sum=$(head -c 16M "$img" | md5sum | cut -d' ' -f1)
dev=$(t_attach "$img")
name=${dev#/dev/}
expect_eq "direct I/O in use" "$(cat /sys/block/$name/vdisk/direct_io)" 1
expect_eq "page cache of the image after attach (bytes)" "$(cached)" 0
expect_eq "device shows the data written before attach" \
	"$(head -c 16M "$dev" | md5sum | cut -d' ' -f1)" "$head_sum"

fio --name=rand --filename="$dev" --rw=randwrite --bsrange=4k-256k \
	--numjobs=2 --offset_increment=${half}M --size=${half}M --iodepth=16 --ioengine=libaio \
	--direct=1 --verify=crc32c --verify_fatal=1 --do_verify=1 --group_reporting \
	--output="$T_DIR/fio-rand.txt" || { cat "$T_DIR/fio-rand.txt"; fail "fio random verify"; }
fio --name=seq --filename="$dev" --rw=write --bs=1M --size=${mib}M --iodepth=8 \
	--ioengine=libaio --direct=1 --verify=crc32c --verify_fatal=1 --fsync=16 \
	--output="$T_DIR/fio-seq.txt" || { cat "$T_DIR/fio-seq.txt"; fail "fio sequential verify"; }
# buffered I/O too (goes through the page cache of /dev/vdN, then flush)
fio --name=buf --filename="$dev" --rw=randrw --bs=4k --size=$((mib / 4))M --ioengine=psync \
	--verify=crc32c --verify_fatal=1 --fsync_on_close=1 \
	--output="$T_DIR/fio-buf.txt" || { cat "$T_DIR/fio-buf.txt"; fail "fio buffered verify"; }
expect_eq "image equals device" "$(t_sum "$img")" "$(t_sum "$dev")"

# discard: the file gets holes back and the range reads zeros
used_before=$(du -k "$img" | cut -f1)
blkdiscard -o 0 -l "${half}M" "$dev"
used_after=$(du -k "$img" | cut -f1)
[ "$used_after" -le $((used_before - (half - 8) * 1024)) ] ||
	fail "discard of $half MiB freed only $((used_before - used_after)) KiB"
cmp -n $((half << 20)) "$dev" /dev/zero || fail "discarded range does not read zeros"
# write-zeroes (blkdiscard -z) keeps reading zeros
blkdiscard -z -o "${half}M" -l "$((half / 2))M" "$dev"
cmp -i $((half << 20)):0 -n $((half / 2 << 20)) "$dev" /dev/zero || fail "zeroed range does not read zeros"
expect_eq "image equals device after discard" "$(t_sum "$img")" "$(t_sum "$dev")"
