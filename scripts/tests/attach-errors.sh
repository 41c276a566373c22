#!/usr/bin/env bash
# desc: attach of a missing, unreadable or empty file fails with a message naming the file
. "$(dirname "$0")/lib.sh"

expect_fail_with 2 "$T_DIR/nonexistent.raw.*No such file" \
	vdattach attach "$T_DIR/nonexistent.raw"
expect_fail_with 2 "$T_DIR.*(directory|regular)" vdattach attach -f raw "$T_DIR"
empty=$(t_img empty.raw 0)
expect_fail_with 2 "smaller than one sector" vdattach attach -f raw "$empty"
expect_fail_with 1 "format|unknown|invalid" vdattach attach -f nosuchformat "$empty"
[ -z "$(vdattach list)" ] || [ "$(vdattach list | wc -l)" -le 1 ] || fail "a failed attach left a device"
