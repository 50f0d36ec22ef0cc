#!/bin/sh
# check-disk.sh IMAGE -- after a devtest run on a 1 MiB zeroed disk image, check that the
# image is still exactly 1 MiB and holds exactly what devtest wrote: LBA 1-4 and the last
# two sectors (2046, 2047) filled with the rows "lba NNNN row RR\n", everything else zero.
set -eu
img=$1
size=$(stat -c %s "$img")
if [ "$size" -ne 1048576 ]; then
	echo "check-disk: $img is $size bytes, want 1048576" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dd if=/dev/zero of="$tmp/expected.img" bs=1024 count=1024 status=none
for lba in 1 2 3 4 2046 2047; do
	row=0
	while [ $row -lt 32 ]; do
		printf 'lba %04d row %02d\n' "$lba" "$row"
		row=$((row + 1))
	done >"$tmp/sector"
	dd if="$tmp/sector" of="$tmp/expected.img" bs=512 seek=$lba conv=notrunc status=none
done
if ! cmp "$img" "$tmp/expected.img"; then
	echo "check-disk: $img does not hold exactly the pattern devtest writes" >&2
	exit 1
fi
echo "check-disk: $(basename "$img"): 1048576 bytes, LBA 1-4 and 2046-2047 hold the pattern, the rest is zero"
