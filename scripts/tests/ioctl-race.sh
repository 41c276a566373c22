#!/usr/bin/env bash
# desc: control ioctls interleaved at random by three processes on one device for 15 s (120 s in check-full) (attach, detach and lazy detach, commit and rebase cut short by SIGTERM or cancel, job status, status, opens): no splat, the device always shows the same disk, every image passes qemu-img check, rmmod works after
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

[ -n "${VDISK_KO:-}" ] || fail "VDISK_KO is not set by vm-run"
dur=$(t_size 15 120)
seed=${VDISK_SEED:-$RANDOM}
log "seed $seed (VDISK_SEED=$seed repeats the schedule, timing aside), $dur s"

qemu-img create -q -f qcow2 base.qcow2 16M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
qemu-io -f qcow2 -c "write -P 0x11 0 8M" base.qcow2 >/dev/null
qemu-io -f qcow2 -c "write -P 0x22 4M 6M" mid.qcow2 >/dev/null
qemu-io -f qcow2 -c "write -P 0x33 7M 5M" -c "write -z 2M 1M" top.qcow2 >/dev/null
qemu-img convert -O raw top.qcow2 want.raw
want=$(t_sum want.raw)
rm -f want.raw
dmesg_before=$(dmesg | wc -l)

# One process's schedule: random control operations on /dev/vd7 until $end.
worker() {
	local id=$1 end=$2 n=0 op
	RANDOM=$((seed + id))
	while [ "$SECONDS" -lt "$end" ]; do
		op=$((RANDOM % 10))
		case $op in
		0|1) vdattach attach -n 7 top.qcow2 ;;
		2) vdattach detach vd7 ;;
		3) vdattach detach -l vd7 ;;
		4) timeout -s TERM "0.$((RANDOM % 9 + 1))" vdattach commit -r 2M vd7 ;;
		5) timeout -s TERM "0.$((RANDOM % 9 + 1))" \
			vdattach rebase -b "$( ((RANDOM % 2)) && echo base || echo mid).qcow2" \
			-r 2M vd7 ;;
		6) vdattach cancel vd7 ;;
		7) vdattach job vd7; vdattach job -J vd7 ;;
		8) vdattach status vd7; vdattach list ;;
		9) timeout 2 dd if=/dev/vd7 of=/dev/null bs=64k count=32 iflag=direct ;;
		esac >/dev/null 2>&1 || true
		n=$((n + 1))
	done
	echo "$n" >"ops.$id"
}

end=$((SECONDS + dur))
for i in 1 2 3; do
	worker "$i" "$end" &
done
wait
ops=$(cat ops.1 ops.2 ops.3 | awk "{ s += \$1 } END { print s }")
log "$ops operations"
[ "$ops" -ge 30 ] || fail "only $ops operations ran in $dur s"

# Whatever ran, a job may still run (a rebase SIGTERM missed): let it end.
vdattach cancel vd7 >/dev/null 2>&1 || true
for _ in $(seq 50); do
	vdattach detach vd7 >/dev/null 2>&1 && break
	[ -b /dev/vd7 ] || break
	sleep 0.2
done
[ ! -b /dev/vd7 ] || fail "vd7 cannot be detached after the run: $(vdattach job vd7 2>&1)"

splat=$(dmesg | tail -n +"$((dmesg_before + 1))" |
	grep -E 'BUG|WARNING|Oops|general protection|refcount_t|list_(add|del) corruption|hung_task|use-after-free|INFO: task' || true)
[ -z "$splat" ] || fail "kernel complained: $splat"

for f in base mid top; do
	t_check_clean "$f.qcow2"
done
d=$(t_attach top.qcow2)
expect_eq "the disk vd7 showed" "$(t_sum "$d")" "$want"
t_detach "$d"

rmmod vdisk || fail "rmmod after the run failed (a reference leaked?)"
insmod "$VDISK_KO" || fail "insmod after rmmod failed"
for _ in $(seq 100); do [ -e /dev/vdisk-control ] && break; sleep 0.02; done
log "ok: $ops operations, no splat, images clean and unchanged"
