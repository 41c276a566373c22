#!/usr/bin/env bash
# desc: raw image: ext4 made and filled through /dev/vdN passes e2fsck, files intact after re-attach
. "$(dirname "$0")/lib.sh"

img=$(t_img disk.raw 512M)
dev=$(t_attach "$img")
mkfs.ext4 -q -F "$dev"
t_mount "$dev" "$T_DIR/mnt"
pattern_file "$T_DIR/mnt/data" 48
want=$(t_sum "$T_DIR/mnt/data")
mkdir "$T_DIR/mnt/tree"
for i in $(seq 200); do echo "file $i" > "$T_DIR/mnt/tree/$i"; done
t_umount "$T_DIR/mnt"
t_detach "$dev"

e2fsck -fn "$img" >/dev/null || fail "e2fsck found errors in the image"
dev=$(t_attach -r "$img")
t_mount "$dev" "$T_DIR/mnt" -o ro
expect_eq "data after re-attach" "$(t_sum "$T_DIR/mnt/data")" "$want"
expect_eq "files in tree" "$(ls "$T_DIR/mnt/tree" | wc -l)" 200
