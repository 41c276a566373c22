#!/usr/bin/env bash
# desc: 16 devices attached, written, verified and detached in parallel
. "$(dirname "$0")/lib.sh"

n=16
for i in $(seq $n); do
	t_img "d$i.raw" 32M >/dev/null
done
# attach all at once; each job writes its device path to a file
for i in $(seq $n); do
	vdattach attach "$T_DIR/d$i.raw" >"$T_DIR/dev.$i" 2>"$T_DIR/err.$i" &
done
wait
devs=()
for i in $(seq $n); do
	d=$(cat "$T_DIR/dev.$i")
	[ -b "$d" ] || fail "attach $i: '$(cat "$T_DIR/err.$i")'"
	devs+=("$d")
done
expect_eq "distinct devices" "$(printf '%s\n' "${devs[@]}" | sort -u | wc -l)" $n
expect_eq "vdattach list rows" "$(vdattach list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["vdisks"]))')" $n

# write a different pattern to each, in parallel
for i in $(seq $n); do
	(pattern_file "$T_DIR/p$i" 4 &&
	 dd if="$T_DIR/p$i" of="${devs[i - 1]}" bs=1M oflag=direct status=none) &
done
wait
for i in $(seq $n); do
	cmp -n $((4 << 20)) "${devs[i - 1]}" "$T_DIR/p$i" || fail "device $i contents differ"
done

for d in "${devs[@]}"; do
	vdattach detach "$d" &
done
wait
sleep 0.2
for d in "${devs[@]}"; do
	[ ! -b "$d" ] || fail "$d still present after parallel detach"
done
for i in $(seq $n); do
	cmp -n $((4 << 20)) "$T_DIR/d$i.raw" "$T_DIR/p$i" || fail "image $i contents differ"
done
