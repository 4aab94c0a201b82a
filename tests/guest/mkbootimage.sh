#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build, at test time and without root, the boot media the firmware guest
# tests boot through SeaBIOS:
#
#   mkbootimage.sh iso  OUT KERNEL INITRD CMDLINE
#       An El Torito ISO made by grub-mkrescue (grub-pc-bin, xorriso): GRUB
#       on the serial console and the screen, timeout 0, booting KERNEL
#       with INITRD and CMDLINE.  grub-mkrescue's image is hybrid, so it
#       boots as a disk too; the disk tests use the real disk below.
#
#   mkbootimage.sh disk OUT KERNEL INITRD CMDLINE
#       A 64 MiB raw disk as an installer leaves one: an MBR (syslinux's
#       mbr.bin) with one active FAT16 partition at 1 MiB, holding
#       syslinux's ldlinux and the kernel.  Made with mtools (mformat,
#       mcopy) and syslinux's mtools installer, which write into the image
#       file at an offset: no loop device, no mount, no root.  A partitioned
#       FAT disk rather than the ISO's hybrid image because it is what the
#       disk controllers' boot path meets in real use (MBR code, then a
#       partition's boot sector loading more sectors through INT 13h).
#
# The partition table is written here (4 lines of python3) rather than with
# sfdisk, so nothing beyond the packages above is needed.  The kernel gets
# console=ttyS0 (the serial log the tests read) and console=tty0 (so the
# screen, vgacon, shows the boot too).
set -euo pipefail
[ $# = 5 ] || { echo "usage: mkbootimage.sh iso|disk OUT KERNEL INITRD CMDLINE" >&2; exit 2; }
kind=$1 out=$2 kernel=$3 initrd=$4 cmdline=$5
for f in "$kernel" "$initrd"; do
	[ -r "$f" ] || { echo "mkbootimage.sh: cannot read '$f'" >&2; exit 1; }
done
need() {
	command -v "$1" > /dev/null || { echo "mkbootimage.sh: $1 missing (install $2)" >&2; exit 1; }
}

work=$(mktemp -d "${TMPDIR:-/tmp}/hutch-bootimg.XXXXXX")
trap 'rm -rf "$work"' EXIT

case $kind in
iso)
	need grub-mkrescue grub-pc-bin
	need xorriso xorriso
	[ -d /usr/lib/grub/i386-pc ] || { echo "mkbootimage.sh: /usr/lib/grub/i386-pc missing (install grub-pc-bin)" >&2; exit 1; }
	mkdir -p "$work/root/boot/grub"
	cp "$kernel" "$work/root/vmlinuz"
	cp "$initrd" "$work/root/initrd.gz"
	# GRUB talks on both COM1 and the screen; timeout 0 boots at once.
	cat > "$work/root/boot/grub/grub.cfg" <<-EOF
	serial --unit=0 --speed=115200
	terminal_input serial console
	terminal_output serial console
	set timeout=0
	set default=0
	menuentry "hutch test" {
	    echo "HUTCH-BOOT grub loading the kernel"
	    linux /vmlinuz $cmdline
	    initrd /initrd.gz
	}
	EOF
	# BIOS only (-d): no EFI image, so mtools is not needed for it.
	grub-mkrescue -d /usr/lib/grub/i386-pc -o "$work/out.iso" "$work/root" > "$work/log" 2>&1 ||
		{ cat "$work/log" >&2; exit 1; }
	mv "$work/out.iso" "$out"
	;;
disk)
	need mformat mtools
	need mcopy mtools
	need syslinux syslinux
	need python3 python3
	mbr=/usr/lib/syslinux/mbr/mbr.bin
	[ -r "$mbr" ] || { echo "mkbootimage.sh: $mbr missing (install syslinux-common)" >&2; exit 1; }
	size_mib=64
	start=2048                                  # sectors: the partition at 1 MiB
	sectors=$(( size_mib * 2048 - start ))
	img=$work/disk.img
	truncate -s ${size_mib}M "$img"
	# MBR boot code, then one active FAT16 (LBA, type 0x0e) partition.
	dd if="$mbr" of="$img" bs=440 count=1 conv=notrunc status=none
	python3 - "$img" "$start" "$sectors" <<-'EOF'
	import struct, sys
	img, start, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0e, b"\xfe\xff\xff", start, count)
	with open(img, "r+b") as f:
	    f.seek(446); f.write(entry + bytes(48) + b"\x55\xaa")
	EOF
	# FAT16 in the partition; -H: the hidden sectors before it, which the
	# boot sector's loader adds to find its files.
	part="$img@@$(( start * 512 ))"
	mformat -i "$part" -T "$sectors" -h 64 -s 32 -H "$start" -v HUTCHBOOT ::
	syslinux --install --offset $(( start * 512 )) "$img"
	cat > "$work/syslinux.cfg" <<-EOF
	SERIAL 0 115200
	PROMPT 0
	TIMEOUT 0
	DEFAULT linux
	LABEL linux
	  SAY HUTCH-BOOT syslinux loading the kernel
	  KERNEL /vmlinuz
	  INITRD /initrd.gz
	  APPEND $cmdline
	EOF
	mcopy -i "$part" "$work/syslinux.cfg" ::/syslinux.cfg
	mcopy -i "$part" "$kernel" ::/vmlinuz
	mcopy -i "$part" "$initrd" ::/initrd.gz
	mv "$img" "$out"
	;;
*)
	echo "mkbootimage.sh: unknown kind '$kind' (iso or disk)" >&2
	exit 2
	;;
esac
