#!/usr/bin/env bash
# desc: a VM boots from /dev/vdN through SeaBIOS and GRUB (installed through vdisk) on a qcow2 chain: GRUB reads its config and a file of an ext4 through vdisk and writes its environment block (save_env) through vdisk into the overlay; after detach qemu-img finds GRUB's bytes in the overlay, the overlay checks clean, the base is unchanged
. "$(dirname "$0")/boot-grub.lib"
boot_chain qcow2
