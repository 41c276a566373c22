#!/usr/bin/env bash
# desc: the seed's vmdk chain base_os_gold <- dept_dev <- user_alice (qemu-img create -b -F vmdk): xfs made and files written through vdisk on each level; qemu-img check/info --backing-chain right, contents per level, read by qemu-nbd too
# tier: full - in make check: vmdk chains: vmdk-read (deltas), vdattach-jobs (gold->dept->user); writes: vmdk-write, vmdk-discard
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

declare -A want

# level IMG TAG MIB: attach IMG read-write (with its chain), write files
# TAG-1..3 into the xfs on it (making the xfs first for the gold image)
level() {
	local img=$1 tag=$2 mib=$3 dev i
	dev=$(t_attach "$img")
	[ "$tag" = gold ] && { mkfs.xfs -q "$dev" || fail "mkfs.xfs on $dev"; }
	t_mount "$dev" mnt
	for i in 1 2 3; do
		pattern_file "mnt/$tag-$i" "$mib"
		want[$tag-$i]=$(t_sum "mnt/$tag-$i")
	done
	sync
	t_umount mnt
	t_detach "$dev"
	qemu-img check "$img" >check.out 2>&1 || { cat check.out; fail "qemu-img check $img"; }
	log "ok $img: 3 files of $mib MiB written"
}

# sees IMG TAG...: IMG attached read-only shows exactly the files of TAGs
sees() {
	local img=$1 dev tag i
	shift
	dev=$(t_attach -r "$img")
	t_mount "$dev" mnt -o ro,norecovery
	for tag in "$@"; do
		for i in 1 2 3; do
			expect_eq "$tag-$i in $img" "$(t_sum "mnt/$tag-$i")" "${want[$tag-$i]}"
		done
	done
	expect_eq "files in $img" "$(ls mnt | wc -l)" $(($# * 3))
	t_umount mnt
	t_detach "$dev"
}

qemu-img create -q -f vmdk -o subformat=monolithicSparse base_os_gold.vmdk 4G
level base_os_gold.vmdk gold 8
qemu-img create -q -f vmdk -b base_os_gold.vmdk -F vmdk dept_dev.vmdk
level dept_dev.vmdk dept 4
qemu-img create -q -f vmdk -b dept_dev.vmdk -F vmdk user_alice.vmdk
level user_alice.vmdk alice 2

qemu-img info --backing-chain --output=json user_alice.vmdk >chain.json
python3 - <<'EOF' || fail "qemu-img info --backing-chain"
import json
c = json.load(open("chain.json"))
names = [(l["filename"], l.get("backing-filename"), l["format"]) for l in c]
want = [("user_alice.vmdk", "dept_dev.vmdk", "vmdk"),
        ("dept_dev.vmdk", "base_os_gold.vmdk", "vmdk"),
        ("base_os_gold.vmdk", None, "vmdk")]
assert names == want, names
EOF
log "ok qemu-img info --backing-chain: alice -> dept -> gold"

sees base_os_gold.vmdk gold
sees dept_dev.vmdk gold dept
sees user_alice.vmdk gold dept alice
log "ok each level shows its own files and its parents'"

# the files as QEMU reads the chain, through qemu-nbd
modprobe nbd max_part=0
qemu-nbd -r -f vmdk -c /dev/nbd0 user_alice.vmdk || fail "qemu-nbd -c"
for i in $(seq 100); do [ "$(blockdev --getsize64 /dev/nbd0 2>/dev/null)" = $((4 << 30)) ] && break; sleep 0.05; done
t_mount /dev/nbd0 nbd -o ro,norecovery
for k in "${!want[@]}"; do
	expect_eq "$k through qemu-nbd" "$(t_sum "nbd/$k")" "${want[$k]}"
done
t_umount nbd
qemu-nbd -d /dev/nbd0 >/dev/null
log "ok qemu-nbd reads all ${#want[@]} files the same"

# the seed's disk-a/b/c: a copied image written, then a delta on it
qemu-img create -q -f vmdk disk-a.vmdk 1G
cp -p disk-a.vmdk disk-b.vmdk
dev=$(t_attach disk-b.vmdk)
dd if=/dev/urandom of="$dev" bs=1M count=16 seek=100 oflag=direct status=none
t_detach "$dev"
qemu-img create -q -f vmdk -b disk-b.vmdk -F vmdk disk-c.vmdk
dev=$(t_attach -r disk-c.vmdk)
expect_eq "disk-c shows disk-b's data" \
	"$(dd if="$dev" bs=1M skip=100 count=16 status=none | sha256sum | cut -d' ' -f1)" \
	"$(qemu-img convert -O raw disk-b.vmdk b.raw && dd if=b.raw bs=1M skip=100 count=16 status=none | sha256sum | cut -d' ' -f1)"
t_detach "$dev"
qemu-img check disk-b.vmdk >/dev/null || fail "qemu-img check disk-b.vmdk"
log "ok disk-a/b/c"
rm -f ./*.vmdk b.raw chain.json check.out
