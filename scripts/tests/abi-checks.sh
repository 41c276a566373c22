#!/usr/bin/env bash
# desc: ioctl ABI: bad structs, flags, reserved fields, fds (O_APPEND on a writable top, a vdisk device as a layer) and sizes are refused with the right errno
. "$(dirname "$0")/lib.sh"
img=$(t_img disk.raw 16M)
python3 "$(dirname "$0")/abi_check.py" "$img" "$T_DIR"
