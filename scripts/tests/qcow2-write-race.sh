#!/usr/bin/env bash
# desc: 4 fio jobs write interleaved 4k blocks of the same unallocated qcow2 clusters at once (plain, extended L2, on a backing file): each block verifies, no cluster allocated twice (qemu-img check: no leak), qemu-img reads what vdisk served, the rest still shows the backing file
. "$(dirname "$0")/lib.sh"

truncate -s 64M "$T_DIR/base.raw"
head -c 16M /dev/urandom | dd of="$T_DIR/base.raw" bs=1M seek=8 conv=notrunc status=none
qemu-img convert -q -f raw -O qcow2 "$T_DIR/base.raw" "$T_DIR/base.qcow2"

# MiB raced: 16 in make check (256 64k clusters, each raced by four
# writers, is as good a race as 512), 32 in check-full
RACE_MIB=$(t_size 16 32)

# job k writes blocks k, k+4, k+8, ...: every cluster is first written by
# four requests at the same time, each of which finds it unallocated
race() {
	local dev=$1 out=$2
	shift 2
	fio --filename="$dev" --ioengine=libaio --direct=1 --iodepth=16 --bs=4k \
		--rw=write:12k --size=${RACE_MIB}M --offset_increment=4k --numjobs=4 \
		--name=race --group_reporting --output="$out" "$@" >/dev/null ||
		{ cat "$out"; fail "fio race on $dev"; }
}

for combo in cluster_size=64k:no cluster_size=64k,extended_l2=on:yes cluster_size=2M:yes; do
	opts=${combo%:*}
	backing=${combo#*:}
	{
		log "$opts backing=$backing"
		bopts=()
		[ $backing = yes ] && bopts=(-b "$T_DIR/base.qcow2" -F qcow2)
		img=$T_DIR/race.qcow2
		qemu-img create -q -f qcow2 -o "$opts" "${bopts[@]}" "$img" 64M
		if [ $backing = yes ]; then
			cp --sparse=always "$T_DIR/base.raw" "$T_DIR/ref.raw"
		else
			truncate -s 64M "$T_DIR/ref.raw"
		fi
		dev=$(t_attach "$img")
		race "$dev" "$T_DIR/fio.txt" --verify=crc32c --verify_fatal=1 --do_verify=1
		live=$(t_sum "$dev")
		t_detach "$dev"
		rc=0
		out=$(qemu-img check "$img" 2>&1) || rc=$?
		[ $rc = 0 ] || { echo "$out"; fail "$opts backing=$backing: qemu-img check exited $rc"; }
		qemu-img convert -O raw "$img" "$T_DIR/conv.raw"
		expect_eq "$opts backing=$backing: qemu-img reads what vdisk served" \
			"$(t_sum "$T_DIR/conv.raw")" "$live"
		# outside the raced range + 12k the image still shows the backing file
		cmp -i $(((RACE_MIB + 1) << 20)):$(((RACE_MIB + 1) << 20)) "$T_DIR/conv.raw" "$T_DIR/ref.raw" ||
			fail "$opts backing=$backing: data outside the written range changed"
		rm -f "$img" "$T_DIR/ref.raw" "$T_DIR/conv.raw"
	}
done
