#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# Storage, end to end: a guest sees a SATA disk (ahci, /dev/sda), a virtio
# disk (/dev/vda), an IDE CD-ROM (ata_piix) and a SATA CD-ROM, each holding
# an ISO made here with xorriso.  It writes a 64 MiB pseudo-random pattern
# to each disk, drops its caches and reads it back: the checksums match.
# Three boots rotate qcow2, VDI and raw over the two disks; after each,
# qemu-img check finds no errors and qemu-img compare shows the images hold
# exactly what the guest wrote.  The images are made by vmctl createmedium.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
T=$HUTCH_TEST_DIR
VMCTL=$HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl
MIB=64
guest_io "$T/guest-io"
command -v xorriso > /dev/null || fail "xorriso missing (scripts/install-deps.sh installs it)"
command -v qemu-img > /dev/null || fail "qemu-img missing (qemu-utils)"

# Two ISOs, so the guest can tell which drive holds which.
for which in ide sata; do
	mkdir -p "$T/iso-$which"
	seed=$([ "$which" = ide ] && echo 7 || echo 8)
	"$T/guest-io" gen "$seed" 3 > "$T/iso-$which/data.bin"
	echo "hello from the $which CD" > "$T/iso-$which/README.TXT"
	xorriso -as mkisofs -quiet -R -J -V "HUTCH_$which" -o "$T/$which.iso" "$T/iso-$which" 2> /dev/null ||
		fail "xorriso could not make $which.iso"
done
ide_iso_sum=$(sha256sum < "$T/iso-ide/data.bin" | cut -d' ' -f1)
sata_iso_sum=$(sha256sum < "$T/iso-sata/data.bin" | cut -d' ' -f1)
"$T/guest-io" gen 1 "$MIB" > "$T/pattern-sda"
"$T/guest-io" gen 2 "$MIB" > "$T/pattern-vda"
sda_sum=$(sha256sum < "$T/pattern-sda" | cut -d' ' -f1)
vda_sum=$(sha256sum < "$T/pattern-vda" | cut -d' ' -f1)

cat > "$T/init.sh" <<INIT
bytes=\$(($MIB * 1024 * 1024))
for d in sda vda sr0 sr1; do
	i=0; while [ ! -b /dev/\$d ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
done
# Which driver serves each disk: the PCI function above it in sysfs.
echo "HUTCH-RESULT sda_path=\$(readlink -f /sys/block/sda | cut -d/ -f5)"
echo "HUTCH-RESULT vda_path=\$(readlink -f /sys/block/vda | cut -d/ -f5)"
echo "HUTCH-RESULT sda_sectors=\$(cat /sys/block/sda/size) vda_sectors=\$(cat /sys/block/vda/size)"
/guest-io gen 1 $MIB | dd of=/dev/sda bs=1M conv=fsync 2> /dev/null
/guest-io gen 2 $MIB | dd of=/dev/vda bs=1M conv=fsync 2> /dev/null
sync
echo 3 > /proc/sys/vm/drop_caches
echo "HUTCH-RESULT sda_sum=\$(head -c \$bytes /dev/sda | sha256sum | cut -d' ' -f1)"
echo "HUTCH-RESULT vda_sum=\$(head -c \$bytes /dev/vda | sha256sum | cut -d' ' -f1)"
mkdir -p /mnt
for sr in sr0 sr1; do
	pci=\$(readlink -f /sys/block/\$sr | cut -d/ -f5)
	drv=\$(basename "\$(readlink -f /sys/bus/pci/devices/\$pci/driver)")
	if mount -t iso9660 -o ro /dev/\$sr /mnt 2> /dev/null; then
		echo "HUTCH-RESULT cd_\$drv=\$(sha256sum < /mnt/data.bin | cut -d' ' -f1)"
		umount /mnt
	else
		echo "HUTCH-RESULT cd_\$drv=unmountable"
	fi
done
poweroff -f
INIT
mk_initramfs "$T/initrd.gz" "$T/init.sh" --file "$T/guest-io:/guest-io" \
	--module ahci --module ata_piix --module sd_mod --module sr_mod --module isofs \
	--module virtio_pci --module virtio_blk

boot_formats() {   # SDA_FORMAT VDA_FORMAT
	local sf=$1 vf=$2 img f
	note "--- /dev/sda $sf (SATA), /dev/vda $vf (virtio)"
	# Images made by Hutch (vmctl createmedium, the block layer).
	for img in "sda.$sf:$sf" "vda.$vf:$vf"; do
		f=${img#*:}
		rm -f "$T/${img%%:*}"
		HUTCH_CONFIG_HOME=$T/cfg "$VMCTL" createmedium disk --filename "$T/${img%%:*}" --size 80 \
			--format "$f" > "$T/create.out" 2>&1 || fail "vmctl createmedium $f: $(cat "$T/create.out")"
	done
	run_vm "boot-$sf-$vf" --initrd "$T/initrd.gz" --append "$GUEST_APPEND" --memory 512 \
		--drive "file=$T/sda.$sf,format=$sf,if=sata,port=0" \
		--drive "file=$T/sata.iso,if=sata,media=cdrom,port=1" \
		--drive "file=$T/vda.$vf,format=$vf,if=virtio" \
		--drive "file=$T/ide.iso,if=ide,media=cdrom,port=2"
	expect_status 0
	expect_result sda_sectors $((80 * 2048))
	expect_result vda_sectors $((80 * 2048))
	expect_result sda_sum "$sda_sum"
	expect_result vda_sum "$vda_sum"
	expect_result cd_ahci "$sata_iso_sum"
	expect_result cd_ata_piix "$ide_iso_sum"
	for img in "sda.$sf:$sf:pattern-sda" "vda.$vf:$vf:pattern-vda"; do
		IFS=: read -r file f pat <<< "$img"
		if [ "$f" != raw ]; then
			qemu-img check -q -f "$f" "$T/$file" > "$T/check.out" 2>&1 ||
				fail "qemu-img check $file: $(cat "$T/check.out")"
		fi
		# The guest wrote the pattern at the start; the rest stays zero.
		# (compare treats the image's 16 MiB beyond the pattern as needing to be zero)
		qemu-img compare -f raw -F "$f" "$T/$pat" "$T/$file" > "$T/compare.out" 2>&1 ||
			fail "qemu-img compare: $file does not hold what the guest wrote: $(cat "$T/compare.out")"
		note "$file: qemu-img check clean, holds the guest's $MIB MiB"
	done
}

boot_formats qcow2 vdi
boot_formats vdi raw
boot_formats raw qcow2
