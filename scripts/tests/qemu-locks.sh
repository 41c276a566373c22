#!/usr/bin/env bash
# desc: QEMU's image locks both ways (every row of the table in check-full, one per lock path in make check): vdisk read-write/read-only/-U attachments against qemu-io, qemu-img info/check/commit/rebase, qemu-nbd and a qemu-system VM (and the reverse order), the same bytes locked as QEMU locks, locks that last exactly as long as the attachment (detach, lazy detach's last close, vdattach gone), jobs that take write on what they change
. "$(dirname "$0")/lib.sh"
cd "$T_DIR"

ROWS=()
# row [--full] WANT WHAT CMD...: WANT is "allowed" (CMD exits 0) or
# "refused" (CMD fails, saying that the image is locked).  Each row goes
# into the table printed at the end (Documentation/admin-guide.rst has the
# same table).  --full: only in make check-full (the row takes a path of
# the locks that another row of make check takes too).
row() {
	local want what out rc=0 got
	if [ "$1" = --full ]; then	# a row that repeats a lock path of another
		shift
		t_full || return 0
	fi
	want=$1 what=$2
	shift 2
	if declare -F "$1" >/dev/null; then	# a function of this test
		out=$("$@" 2>&1) || rc=$?
	else
		out=$(timeout 60 "$@" 2>&1) || rc=$?
	fi
	[ $rc = 124 ] && fail "$what: '$*' still runs after 60 s"
	if [ $rc = 0 ]; then
		got=allowed
	elif echo "$out" | grep -Eq 'lock|locked'; then
		got=refused
	else
		fail "$what: '$*' failed without naming a lock (exit $rc): $out"
	fi
	[ "$got" = "$want" ] || fail "$what: $got, want $want (exit $rc): $out"
	ROWS+=("$(printf '%-44s %s' "$what" "$got")")
	[ $rc = 0 ] || log "$what: $(echo "$out" | grep -E 'lock' | head -1)"
}

# vm_runs IMG [drive options]: a paused qemu-system VM opens IMG as its disk
# (readable while it stays up: the image is locked against it or not)
vm_runs() {
	local img=$1 opts=${2:-} pid i
	qemu-system-x86_64 -accel tcg -S -display none -nodefaults -monitor none \
		-drive "file=$img,if=virtio$opts" >vm.out 2>&1 &
	pid=$!
	for i in $(seq 100); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $pid 2>/dev/null; then
		kill $pid
		wait $pid 2>/dev/null || true
		return 0
	fi
	wait $pid 2>/dev/null || true
	cat vm.out
	return 1
}

# nbd_runs [-r] IMG: qemu-nbd serves IMG (then stops)
nbd_runs() {
	rm -f nbd.pid
	qemu-nbd "$@" -f qcow2 -k "$T_DIR/nbd.sock" --fork --pid-file "$T_DIR/nbd.pid" || return
	kill "$(cat nbd.pid)"
}

# bg_start FILE CMD...: a QEMU process that holds FILE until bg_stop
# (started once FILE shows its locks)
bg_start() {
	local file=$1 i
	shift
	"$@" >bg.out 2>&1 &
	BG=$!
	for i in $(seq 300); do
		[ -n "$(locks_of "$file")" ] && return 0
		kill -0 $BG 2>/dev/null || break
		sleep 0.1
	done
	fail "'$*' did not lock $file: $(cat bg.out)"
}
bg_stop() {
	kill $BG 2>/dev/null
	wait $BG 2>/dev/null || true
}

# locks_of FILE: the OFD lock bytes held on FILE, as /proc/locks lists them
locks_of() {
	local ino
	ino=$(stat -c %i "$1")
	awk -v ino=":$ino" '$2 == "OFDLCK" && index($6, ino) &&
		substr($6, length($6) - length(ino) + 1) == ino { print $4, $7 "-" $8 }' /proc/locks | sort -u | tr '\n' ' '
}

qemu-img create -q -f qcow2 b.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x11 0 1M' b.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 l.qcow2
qemu-img create -q -f qcow2 n.qcow2 64M

# ---- the same bytes as QEMU: read-write top, read-only backing ----
bg_start l.qcow2 qemu-io -f qcow2 -c 'sleep 100000' l.qcow2
sleep 0.5
want_top=$(locks_of l.qcow2)
want_base=$(locks_of b.qcow2)
bg_stop
dev=$(t_attach l.qcow2)
expect_eq "lock bytes of a read-write top (qemu-io's: $want_top)" "$(locks_of l.qcow2)" "$want_top"
expect_eq "lock bytes of a backing file (qemu-io's: $want_base)" "$(locks_of b.qcow2)" "$want_base"
log "read-write top: $want_top; backing file: $want_base (as qemu-io)"

# ---- vdisk first: read-write ----
row refused "vdisk rw, then qemu-io write" qemu-io -f qcow2 -c 'write 0 4k' l.qcow2
row refused "vdisk rw, then qemu-img info" qemu-img info l.qcow2
row allowed "vdisk rw, then qemu-img info -U" qemu-img info -U l.qcow2
row --full refused "vdisk rw, then qemu-img check" qemu-img check l.qcow2
row --full refused "vdisk rw, then qemu-img commit" qemu-img commit l.qcow2
row --full refused "vdisk rw, then qemu-img rebase" qemu-img rebase -b n.qcow2 -F qcow2 l.qcow2
row refused "vdisk rw, then qemu-nbd -r" nbd_runs -r l.qcow2
row refused "vdisk rw, then a VM" vm_runs l.qcow2
row --full refused "vdisk rw, then a read-only VM" vm_runs l.qcow2 ,readonly=on
row refused "vdisk rw, then vdisk rw" vdattach attach l.qcow2
row --full refused "vdisk rw, then vdisk -r" vdattach attach -r l.qcow2
row allowed "vdisk rw, then vdisk -U" sh -c 'd=$(vdattach attach -U l.qcow2) && vdattach detach "$d"'
row allowed "vdisk rw, then vdattach info" vdattach info l.qcow2
row allowed "vdisk rw, its base: qemu-img info" qemu-img info b.qcow2
row refused "vdisk rw, its base: qemu-io write" qemu-io -f qcow2 -c 'write 0 4k' b.qcow2
row --full allowed "vdisk rw, its base under a 2nd overlay, vdisk rw" \
	sh -c 'qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 l2.qcow2 && d=$(vdattach attach l2.qcow2) && vdattach detach "$d"'
# vdattach exits after the attach; the kernel's files keep the locks
ps -C vdattach >/dev/null && fail "a vdattach process is still running"
t_detach "$dev"
row allowed "vdisk detached, then qemu-io write" qemu-io -f qcow2 -c 'write -P 0x22 1M 4k' l.qcow2
expect_eq "locks left after detach" "$(locks_of l.qcow2)$(locks_of b.qcow2)" ""

# ---- vdisk first: read-only ----
dev=$(t_attach -r l.qcow2)
row refused "vdisk -r, then qemu-io write" qemu-io -f qcow2 -c 'write 0 4k' l.qcow2
row allowed "vdisk -r, then qemu-img info" qemu-img info l.qcow2
row --full allowed "vdisk -r, then qemu-img check" qemu-img check l.qcow2
row --full refused "vdisk -r, then qemu-img commit" qemu-img commit l.qcow2
row allowed "vdisk -r, then qemu-nbd -r" nbd_runs -r l.qcow2
row --full refused "vdisk -r, then a VM" vm_runs l.qcow2
row --full allowed "vdisk -r, then a read-only VM" vm_runs l.qcow2 ,readonly=on
row allowed "vdisk -r, then vdisk -r" sh -c 'd=$(vdattach attach -r l.qcow2) && vdattach detach "$d"'
row refused "vdisk -r, then vdisk rw" vdattach attach l.qcow2
t_detach "$dev"

# ---- vdisk first: -U shares everything ----
dev=$(t_attach -U l.qcow2)
row allowed "vdisk -U, then qemu-io write" qemu-io -f qcow2 -c 'write -P 0x33 2M 4k' l.qcow2
row --full allowed "vdisk -U, then vdisk rw" sh -c 'd=$(vdattach attach l.qcow2) && vdattach detach "$d"'
t_detach "$dev"

# ---- QEMU first ----
bg_start l.qcow2 qemu-nbd -f qcow2 -k "$T_DIR/nbd.sock" l.qcow2
row refused "qemu-nbd rw, then vdisk rw" vdattach attach l.qcow2
row refused "qemu-nbd rw, then vdisk -r" vdattach attach -r l.qcow2
row allowed "qemu-nbd rw, then vdisk -U" sh -c 'd=$(vdattach attach -U l.qcow2) && vdattach detach "$d"'
row --full allowed "qemu-nbd rw, then vdattach info" vdattach info l.qcow2
row --full allowed "qemu-nbd rw, then vdisk --no-lock -r" sh -c 'd=$(vdattach attach --no-lock -r l.qcow2) && vdattach detach "$d"'
bg_stop
if t_full; then
	bg_start l.qcow2 qemu-nbd -r -f qcow2 -k "$T_DIR/nbd.sock" l.qcow2
	row refused "qemu-nbd -r, then vdisk rw" vdattach attach l.qcow2
	row allowed "qemu-nbd -r, then vdisk -r" sh -c 'd=$(vdattach attach -r l.qcow2) && vdattach detach "$d"'
	bg_stop
fi
bg_start l.qcow2 qemu-system-x86_64 -accel tcg -S -display none -nodefaults -monitor none \
	-drive file=l.qcow2,if=virtio
row refused "a VM, then vdisk rw" vdattach attach l.qcow2
row --full refused "a VM, then vdisk -r" vdattach attach -r l.qcow2
row --full allowed "a VM, then vdisk -U" sh -c 'd=$(vdattach attach -U l.qcow2) && vdattach detach "$d"'
bg_stop
bg_start l.qcow2 qemu-io -f qcow2 -c 'sleep 100000' l.qcow2
rc=0
out=$(vdattach attach l.qcow2 2>&1) || rc=$?
expect_eq "vdattach's exit status for a locked image" $rc 3
echo "$out" | grep -q "l.qcow2 is locked for writing by another process (QEMU-style lock on byte 101)" ||
	fail "the refusal does not say who holds what: $out"
log "refusal: $out"
bg_stop

# ---- lazy detach: the locks go at the last close ----
dev=$(t_attach l.qcow2)
exec 7<"$dev"
vdattach detach --lazy "$dev" || fail "lazy detach"
row refused "vdisk lazily detached, still open, then qemu-io write" qemu-io -f qcow2 -c 'write 0 4k' l.qcow2
exec 7<&-
for _ in $(seq 100); do [ -b "$dev" ] || break; sleep 0.05; done
row allowed "vdisk lazily detached and closed, then qemu-io write" qemu-io -f qcow2 -c 'write -P 0x44 3M 4k' l.qcow2

# ---- jobs take write on what they change ----
dev=$(t_attach l.qcow2)
bg_start b.qcow2 qemu-io -r -f qcow2 -c 'sleep 100000' b.qcow2
row refused "qemu-io -r on the base, then vdisk commit" vdattach commit "$dev"
bg_stop
bg_start n.qcow2 qemu-io -f qcow2 -c 'sleep 100000' n.qcow2
row refused "qemu-io rw on the new base, then vdisk rebase" vdattach rebase -b n.qcow2 -F qcow2 "$dev"
bg_stop
row allowed "nobody else, vdisk commit" vdattach commit "$dev"
# the base stays in the stack, read-only again: readers are let in
expect_eq "lock bytes of the base after the commit (a backing file's)" "$(locks_of b.qcow2)" "$want_base"
row allowed "vdisk committed, its base: qemu-img info" qemu-img info b.qcow2
row allowed "nobody else, vdisk rebase" vdattach rebase -b n.qcow2 -F qcow2 "$dev"
expect_eq "lock bytes of the new base after the rebase" "$(locks_of n.qcow2)" "$want_base"
expect_eq "locks left on the old base after the rebase" "$(locks_of b.qcow2)" ""
view=$(t_digest "$dev")
t_detach "$dev"
expect_eq "device = qemu-img's view of the image" "$(t_view_digest l.qcow2)" "$view"
for f in l b n; do t_check_clean $f.qcow2; done

printf '%s\n' "${ROWS[@]}" | sed 's/^/table: /'
log "ok ${#ROWS[@]} rows"
