#!/usr/bin/env bash
# desc: images on NFS (knfsd exporting an xfs in the guest, mounted over loopback as v4.2 and v3): read-write attach with direct I/O, fio verify, commit and rebase, two overlays on one shared base at once, QEMU-style locks honoured over NFS (a second writer refused); qemu-img check clean after each; check-full: vdisk against loop (dio) on the same NFS file as fio ratios
#
# The server is the guest's own knfsd: rpcbind, rpc.mountd and (for v3's
# NLM locks) rpc.statd from nfs-kernel-server/nfs-common, grace and lease
# shortened to 10 s so that the first lock does not wait the default 90 s.
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

for p in rpc.nfsd rpc.mountd exportfs rpcbind rpc.statd mount.nfs; do
	command -v "$p" >/dev/null || fail "no $p (packages nfs-kernel-server, nfs-common)"
done

# ---- the server: an xfs exported by knfsd, mounted twice over loopback ----
nfs_stop() {
	set +e
	for m in "$T_DIR"/v3 "$T_DIR"/v42; do mountpoint -q "$m" && umount -f "$m"; done
	rpc.nfsd 0 2>/dev/null
	exportfs -ua 2>/dev/null
	pkill -x rpc.mountd; pkill -x rpc.statd; pkill -x rpcbind
	mountpoint -q /proc/fs/nfsd && umount /proc/fs/nfsd
	t_cleanup
}
trap nfs_stop EXIT

modprobe nfsd || fail "modprobe nfsd"
modprobe nfs 2>/dev/null || true
mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd || fail "mount nfsd"
mkdir -p /run/rpcbind /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/v4recovery
rpcbind -w || fail "rpcbind"
truncate -s 2G export.img
mkfs.xfs -q export.img || fail "mkfs.xfs export.img"
mkdir -p export v42 v3
t_mount "$(t_loop export.img)" "$T_DIR/export"
chmod 777 export
# fsid=0: the export is v4's pseudo root (the guest's / is an overlay
# over 9p, which nfsd cannot make file handles for on the way down)
echo "$T_DIR/export 127.0.0.1(rw,sync,no_root_squash,no_subtree_check,fsid=0)" > /etc/exports
exportfs -ra || fail "exportfs"
rpc.mountd || fail "rpc.mountd"
rpc.statd --no-notify || fail "rpc.statd"
echo 10 > /proc/fs/nfsd/nfsv4leasetime
echo 10 > /proc/fs/nfsd/nfsv4gracetime
sysctl -qw fs.nfs.nlm_grace_period=10 2>/dev/null || true
rpc.nfsd 8 || fail "rpc.nfsd"
started=$(date +%s)
mount -t nfs -o vers=4.2,hard,timeo=600 127.0.0.1:/ v42 || fail "mount NFS v4.2"
mount -t nfs -o vers=3,hard,timeo=600 127.0.0.1:"$T_DIR/export" v3 || fail "mount NFS v3"
log "NFS up: $(grep -cE " nfs4? " /proc/mounts) mounts of $T_DIR/export"
# the servers' grace periods: locks are refused (and retried) until it ends
left=$((started + 11 - $(date +%s)))
[ $left -le 0 ] || sleep $left

# (A filesystem whose locks fail - NFS v3 without rpc.statd - is KUnit's
# vdisk_lock_unsupported: here lockd then retries for minutes instead.)

# dio DEV: the top layer's files are read and written with direct I/O
dio() {
	cat "/sys/block/${1#/dev/}/vdisk/direct_io"
}

# fio_verify DEV MIB: random writes of 4-64 KiB that fio reads back and
# checks (each a WRITE and a COMMIT to the server: ~100 a second here)
fio_verify() {
	fio --name=v --filename="$1" --ioengine=libaio --direct=1 --iodepth=8 \
		--rw=randwrite --bsrange=4k-64k --size="$2"M --verify=crc32c --verify_fatal=1 \
		--randrepeat=0 --output=fio.txt >/dev/null 2>&1 ||
		{ cat fio.txt; fail "fio verify on $1"; }
}

for v in v42 v3; do
	d=$T_DIR/$v
	log "--- NFS ${v#v} ---"

	# read-write with direct I/O, fio verify, checked clean
	qemu-img create -q -f qcow2 "$d/rw.qcow2" 64M
	dev=$(t_attach "$d/rw.qcow2")
	expect_eq "$v: direct I/O on NFS" "$(dio "$dev")" 1
	fio_verify "$dev" "$(t_size 8 64)"
	sum=$(t_digest "$dev")
	t_detach "$dev"
	t_check_clean "$d/rw.qcow2"
	expect_eq "$v: content after detach" "$(t_view_digest "$d/rw.qcow2")" "$sum"

	# locks over NFS: a second writer is refused, by vdisk and by QEMU
	dev=$(t_attach "$d/rw.qcow2")
	expect_fail_with 3 'QEMU-style lock' \
		vdattach attach "$d/rw.qcow2"
	expect_fail_with 1 'lock' qemu-io -c 'write 0 4k' "$d/rw.qcow2"
	t_detach "$dev"
	qemu-io -c 'write -P 0x5a 0 4k' "$d/rw.qcow2" >/dev/null ||
		fail "$v: qemu-io cannot write after the detach (lock left behind?)"
	rm -f "$d/rw.qcow2"
	# make check: v3 (NLM locks, other RPCs) for the attach, fio and the
	# locks; the shared base and the jobs, the same on both, on v4.2
	[ $v = v42 ] || t_full || continue

	# two overlays on one shared base, attached at once
	qemu-img create -q -f qcow2 "$d/base.qcow2" 32M
	qemu-io -c 'write -P 0x11 0 32M' "$d/base.qcow2" >/dev/null
	base_md5=$(t_sum "$d/base.qcow2")
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$d/o1.qcow2"
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$d/o2.qcow2"
	d1=$(t_attach "$d/o1.qcow2")
	d2=$(t_attach "$d/o2.qcow2")
	pattern_file p1 4
	pattern_file p2 4
	dd if=p1 of="$d1" bs=1M seek=4 oflag=direct status=none
	dd if=p2 of="$d2" bs=1M seek=4 oflag=direct status=none
	expect_eq "$v: overlay 1 reads its own data" "$(t_region_sum "$d1" $((4 << 20)) $((4 << 20)))" "$(t_sum p1)"
	expect_eq "$v: overlay 2 reads its own data" "$(t_region_sum "$d2" $((4 << 20)) $((4 << 20)))" "$(t_sum p2)"
	head -c $((4 << 20)) /dev/zero | tr '\0' '\021' > p0
	expect_eq "$v: overlay 1 reads the base below" "$(t_region_sum "$d1" 0 $((4 << 20)))" "$(t_sum p0)"
	t_detach "$d1"
	t_detach "$d2"
	t_check_clean "$d/o1.qcow2"
	t_check_clean "$d/o2.qcow2"
	expect_eq "$v: shared base unchanged" "$(t_sum "$d/base.qcow2")" "$base_md5"

	# commit o1 into the base, online; rebase o2 onto nothing (it takes in
	# the base's data), online; both against qemu-img's view
	want1=$(t_view_digest "$d/o1.qcow2")
	want2=$(t_view_digest "$d/o2.qcow2")
	d2=$(t_attach "$d/o2.qcow2")
	t_job rebase -b '' "$d2"
	t_detach "$d2"
	t_check_clean "$d/o2.qcow2"
	expect_eq "$v: o2 after rebase onto nothing" "$(t_view_digest "$d/o2.qcow2")" "$want2"
	expect_eq "$v: o2 has no backing file" "$(t_info "$d/o2.qcow2" backing-filename)" ""
	d1=$(t_attach "$d/o1.qcow2")
	t_job commit "$d1"
	t_detach "$d1"
	t_check_clean "$d/o1.qcow2"
	t_check_clean "$d/base.qcow2"
	expect_eq "$v: base after commit" "$(t_view_digest "$d/base.qcow2")" "$want1"
	rm -f "$d"/*.qcow2 p0 p1 p2
done

# check-full: vdisk against loop with direct I/O on one raw file on NFS
# 4.2, fio at QD16 for 5 s a round, loop and vdisk alternating, 3 rounds;
# medians (Documentation/benchmark.md has the figures)
if t_full; then
	truncate -s 512M v42/bench.raw
	fio --name=fill --filename=v42/bench.raw --rw=write --bs=1M --size=512M \
		--direct=1 --output=/dev/null || fail "fill bench.raw"
	# measure DEV RW BS: IOPS for 4k, else KiB/s
	measure() {
		fio --name=b --filename="$1" --ioengine=libaio --direct=1 --iodepth=16 \
			--rw="$2" --bs="$3" --size=512M --time_based --runtime=5 \
			--output-format=json --output=b.json >/dev/null 2>&1 || fail "fio $2 on $1"
		python3 -c '
import json, sys
j = json.load(open("b.json"))["jobs"][0]
k = "read" if "read" in sys.argv[1] else "write"
print(int(j[k]["iops"]) if sys.argv[2] == "4k" else int(j[k]["bw"]))
' "$2" "$3"
	}
	median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
	loopdev=$(t_loop --direct-io=on v42/bench.raw)
	dev=$(t_attach -f raw --no-lock v42/bench.raw)
	expect_eq "loop uses direct I/O" "$(cat "/sys/block/${loopdev#/dev/}/loop/dio")" 1
	expect_eq "vdisk uses direct I/O" "$(dio "$dev")" 1
	for w in "randread 4k" "randwrite 4k" "read 1M" "write 1M"; do
		set -- $w
		ls=() xs=()
		for _ in 1 2 3; do
			ls+=("$(measure "$loopdev" "$1" "$2")")
			xs+=("$(measure "$dev" "$1" "$2")")
		done
		l=$(median "${ls[@]}") x=$(median "${xs[@]}")
		unit=IOPS
		[ "$2" = 4k ] || unit=KiB/s
		log "$(printf 'NFS 4.2 %-9s %-3s loop-dio %7s %-5s vdisk-raw %7s  ratio %s  (rounds: loop %s, vdisk %s)' \
			"$1" "$2" "$l" "$unit" "$x" \
			"$(awk -v a="$x" -v b="$l" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
			"${ls[*]}" "${xs[*]}")"
	done
	t_detach "$dev"
	losetup -d "$loopdev"
	rm -f v42/bench.raw b.json
fi
