#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mkbootimage.sh without a VM: the ISO carries GRUB's El Torito image, the
# kernel, the initramfs and a grub.cfg on the serial console with timeout
# 0; the disk has an MBR with syslinux's code and one active FAT16
# partition at 1 MiB holding ldlinux.sys, syslinux.cfg, the kernel and the
# initramfs byte for byte.  (Booting them is the guest tests' job: t_fw_*.)
# Exit 77 (skip) without grub-mkrescue, xorriso, mtools or syslinux.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for t in grub-mkrescue xorriso mformat mcopy mdir syslinux; do
	command -v $t > /dev/null || { echo "SKIP: no $t"; exit 77; }
done
[ -d /usr/lib/grub/i386-pc ] || { echo "SKIP: no grub-pc-bin"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
head -c 300000 /dev/urandom > "$T/vmlinuz"
head -c 100000 /dev/urandom > "$T/initrd.gz"
cmdline="console=tty0 console=ttyS0 panic=-1"

"$here/../mkbootimage.sh" iso "$T/t.iso" "$T/vmlinuz" "$T/initrd.gz" "$cmdline"
xorriso -indev "$T/t.iso" -report_el_torito plain 2> /dev/null | grep -q "El Torito boot img" ||
	fail "no El Torito boot image in the ISO"
xorriso -osirrox on -indev "$T/t.iso" -extract /vmlinuz "$T/k" -extract /initrd.gz "$T/i" \
	-extract /boot/grub/grub.cfg "$T/grub.cfg" > /dev/null 2>&1 || fail "files missing from the ISO"
cmp -s "$T/k" "$T/vmlinuz" && cmp -s "$T/i" "$T/initrd.gz" || fail "kernel or initramfs differ in the ISO"
grep -q "^set timeout=0" "$T/grub.cfg" || fail "grub.cfg: no timeout 0"
grep -q "^serial --unit=0" "$T/grub.cfg" || fail "grub.cfg: no serial console"
grep -q "linux /vmlinuz $cmdline\$" "$T/grub.cfg" || fail "grub.cfg: kernel line: $(grep linux "$T/grub.cfg")"
echo "  iso: El Torito, kernel, initramfs, grub.cfg"

"$here/../mkbootimage.sh" disk "$T/d.img" "$T/vmlinuz" "$T/initrd.gz" "$cmdline"
[ "$(stat -c %s "$T/d.img")" = $((64 << 20)) ] || fail "disk size $(stat -c %s "$T/d.img")"
[ "$(od -An -tx1 -j510 -N2 "$T/d.img" | tr -d ' ')" = 55aa ] || fail "no MBR signature"
cmp -s -n 440 "$T/d.img" /usr/lib/syslinux/mbr/mbr.bin || fail "MBR code is not syslinux's mbr.bin"
# The partition entry: active, type 0x0e, LBA 2048.
[ "$(od -An -tx1 -j446 -N1 "$T/d.img" | tr -d ' ')" = 80 ] || fail "partition not active"
[ "$(od -An -tx1 -j450 -N1 "$T/d.img" | tr -d ' ')" = 0e ] || fail "partition type"
[ "$(od -An -tu4 -j454 -N4 "$T/d.img" | tr -d ' ')" = 2048 ] || fail "partition start"
listing=$(mdir -i "$T/d.img@@1048576" -a -b ::)   # -a: ldlinux.sys is hidden
for f in ldlinux.sys syslinux.cfg vmlinuz initrd.gz; do
	grep -qi "::/$f\$" <<< "$listing" || fail "$f not on the FAT partition: $listing"
done
mcopy -i "$T/d.img@@1048576" ::/vmlinuz "$T/k2"
cmp -s "$T/k2" "$T/vmlinuz" || fail "kernel differs on the disk"
mcopy -i "$T/d.img@@1048576" ::/syslinux.cfg "$T/s.cfg"
grep -q "APPEND $cmdline" "$T/s.cfg" || fail "syslinux.cfg: $(cat "$T/s.cfg")"
echo "  disk: MBR, active FAT16 partition with syslinux, kernel, initramfs"
