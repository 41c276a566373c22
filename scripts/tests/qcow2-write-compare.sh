#!/usr/bin/env bash
# desc: the same qcow2 writes (4k/64k/2M clusters, extended L2, with/without backing; random 4k-1M QD16 x2 + sequential) through vdisk and through loop on raw: qemu-img check clean, qemu-img compare identical
# tier: full - in make check: qcow2 writes: qcow2-write-fio (the same configurations, fio verify, qemu-img check) and qcow2-write-race (qemu-img reads what vdisk served)
# The body is qcow2-write-fio.sh's; it picks the mode from this name.
. "$(dirname "$0")/qcow2-write-fio.sh"
