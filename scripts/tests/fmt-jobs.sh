#!/usr/bin/env bash
# desc: the formats' side of commit and rebase: qcow2 (v3, extended L2, v2 in check-full) and vmdk tops emptied by commit -d (clusters fall through again, space punched), qcow2 v3 and vmdk rebased with --dedup and onto nothing; the header names the new backing (qemu-img info), vmdk parentCID follows the base's new CID, qemu-img check and compare
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

M=1048576

same() {
	cmp "$1" "$2" >/dev/null || fail "$3: $(cmp "$1" "$2" 2>&1 | head -1)"
}

check() {
	qemu-img check "$1" >check.out 2>&1 || { cat check.out; fail "qemu-img check $1"; }
}

info() {
	qemu-img info -U --output=json "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin).get(sys.argv[1], ""))' "$2"
}

# own IMG: bytes the image itself holds (data or zeros at depth 0)
own() {
	qemu-img map -U --output=json "$1" | python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["depth"] == 0 and e["present"]))'
}

# own_at IMG OFF: does the image itself hold the byte at OFF; IMG may be
# --image-opts=SPEC (a vmdk over a raw parent, which qemu-img cannot guess)
own_at() {
	local img=("$1")
	case $1 in --image-opts=*) img=(--image-opts "${1#--image-opts=}") ;; esac
	qemu-img map -U --output=json "${img[@]}" | python3 -c '
import json, sys
off = int(sys.argv[1])
for e in json.load(sys.stdin):
    if e["start"] <= off < e["start"] + e["length"]:
        print("yes" if e["depth"] == 0 and e["present"] else "no")' "$2"
}

pattern_file pat 4

for fmt in qcow2 vmdk; do
	qemu-img create -q -f $fmt base.$fmt 16M
	qemu-io -f $fmt -c 'write -P 0x5b 0 12m' base.$fmt >/dev/null
	qemu-img convert -O raw base.$fmt base.raw
	cp base.$fmt base0.$fmt

	# v2 (compat=0.10) empties by deallocating only, as extended L2 does
	# per subcluster: the extended L2 case covers that path in make check
	variants=("" extended_l2=on)
	t_full && variants+=(compat=0.10)
	for opts in "${variants[@]}"; do
		[ $fmt = vmdk ] && [ -n "$opts" ] && continue
		name="$fmt${opts:+ $opts}"
		cp base0.$fmt base.$fmt
		qemu-img create -q -f $fmt ${opts:+-o $opts} -b base.$fmt -F $fmt top.$fmt

		# --- commit -d: the top's data go into the base, the top empties
		dev=$(t_attach top.$fmt)
		dd if=pat of="$dev" bs=1M count=4 oflag=direct status=none
		blockdev --flushbufs "$dev"
		cp base.raw want.raw
		dd if=pat of=want.raw bs=1M count=4 conv=notrunc status=none
		sync
		used=$(du -k top.$fmt | cut -f1)
		vdattach commit -d "$dev" || fail "$name: commit -d"
		same "$dev" want.raw "$name: after commit -d"
		t_detach "$dev"
		check top.$fmt
		check base.$fmt
		qemu-img compare -q -F raw top.$fmt want.raw || fail "$name: top after commit -d"
		qemu-img compare -q -F raw base.$fmt want.raw || fail "$name: base after commit -d"
		expect_eq "$name: bytes the top holds after commit -d" "$(own top.$fmt)" 0
		sync
		used2=$(du -k top.$fmt | cut -f1)
		[ "$used2" -lt $((used - 3 * 1024)) ] || fail "$name: top uses $used2 KiB after commit -d, $used before"
		# vmdk: the base's CID changed, the top's parentCID with it
		dev=$(t_attach -r top.$fmt)
		t_detach "$dev"
		log "ok $name commit -d: top $used -> $used2 KiB"
		# the rebases use the formats as v3 does: once per format is enough
		if [ -n "$opts" ]; then
			rm -f top.$fmt want.raw
			continue
		fi

		# --- rebase --dedup onto a raw copy that differs at 5..6 MiB
		cp want.raw other.raw
		dd if=/dev/urandom of=other.raw bs=1M count=1 seek=5 conv=notrunc status=none
		dev=$(t_attach top.$fmt)
		dd if=pat of="$dev" bs=1M count=1 seek=10 oflag=direct status=none
		dd if=want.raw of="$dev" bs=1M count=1 skip=7 seek=7 oflag=direct status=none
		dd if=pat of=want.raw bs=1M count=1 seek=10 conv=notrunc status=none
		blockdev --flushbufs "$dev"
		vdattach rebase -b other.raw -F raw --dedup "$dev" || fail "$name: rebase --dedup"
		same "$dev" want.raw "$name: after rebase --dedup"
		t_detach "$dev"
		if [ $fmt = qcow2 ]; then
			expect_eq "$name: backing after rebase" \
				"$(info top.$fmt backing-filename)/$(info top.$fmt backing-filename-format)" \
				"other.raw/raw"
			check top.$fmt
			qemu-img compare -q -F raw top.$fmt want.raw || fail "$name: top after rebase"
		else
			grep -aq '^parentFileNameHint="other.raw"' top.$fmt || fail "$name: hint after rebase"
			grep -aq '^parentCID=ffffffff' top.$fmt || fail "$name: parentCID after rebase"
			qemu-img check -q --image-opts driver=vmdk,file.filename=top.$fmt,backing.driver=raw,backing.file.filename=other.raw \
				>check.out 2>&1 || { cat check.out; fail "$name: check after rebase"; }
		fi
		img=top.$fmt
		if [ $fmt = vmdk ]; then
			# qemu reads no vmdk delta over a non-vmdk parent (no CID to
			# check): the contents through vdisk, the map through qemu-img
			img=--image-opts=driver=vmdk,file.filename=top.vmdk,backing.driver=raw,backing.file.filename=other.raw
			dev=$(t_attach -r -F raw top.vmdk)
			same "$dev" want.raw "$name: top after rebase, attached again"
			t_detach "$dev"
		fi
		expect_eq "$name: a range equal to the new backing dropped" "$(own_at "$img" $((7 * M)))" no
		expect_eq "$name: a range the new backing lacks copied" "$(own_at "$img" $((5 * M + M / 2)))" yes
		expect_eq "$name: own data kept" "$(own_at "$img" $((10 * M + M / 2)))" yes

		# --- rebase onto nothing: everything copied up, no backing file
		dev=$(t_attach -F raw top.$fmt)
		vdattach rebase -b "" "$dev" || fail "$name: rebase -b ''"
		same "$dev" want.raw "$name: after rebase onto nothing"
		# a discard now reads zeros: nothing below
		blkdiscard -o $((13 * M)) -l $M "$dev" || fail "$name: blkdiscard"
		dd if=/dev/zero of=want.raw bs=1M count=1 seek=13 conv=notrunc status=none
		same "$dev" want.raw "$name: discard without a backing file"
		t_detach "$dev"
		expect_eq "$name: no backing file" "$(info top.$fmt backing-filename)" ""
		check top.$fmt
		qemu-img compare -q -F raw top.$fmt want.raw || fail "$name: top without backing"
		expect_eq "$name: discarded range unallocated" "$(own_at top.$fmt $((13 * M)))" no
		log "ok $name rebase --dedup, rebase onto nothing"
		rm -f top.$fmt want.raw other.raw check.out
	done

	# --- vmdk: commit without -d, then the base's CID changed: parentCID too
	if [ $fmt = vmdk ]; then
		cp base0.vmdk base.vmdk
		qemu-img create -q -f vmdk -b base.vmdk -F vmdk top.vmdk
		pcid=$(strings top.vmdk | sed -n 's/^parentCID=//p')
		dev=$(t_attach top.vmdk)
		dd if=pat of="$dev" bs=1M count=1 oflag=direct status=none
		vdattach commit "$dev" || fail "vmdk commit"
		t_detach "$dev"
		bcid=$(strings base.vmdk | sed -n 's/^CID=//p' | head -1)
		ncid=$(strings top.vmdk | sed -n 's/^parentCID=//p')
		[ "$((16#$ncid))" = "$((16#$bcid))" ] || fail "vmdk commit: parentCID $ncid, base CID $bcid (was $pcid)"
		dev=$(t_attach -r top.vmdk)
		t_detach "$dev"
		check top.vmdk
		log "ok vmdk commit: parentCID $pcid -> $ncid"
	fi
	rm -f base* top*
done
