#!/usr/bin/env bash
# PIIX3 IDE with Debian's ata_piix: one boot with a raw disk as primary
# master and an ATAPI CD-ROM (an ISO made here with xorriso) as primary
# slave; the secondary channel is empty.  The guest finds the controller
# at 00:01.1 (8086:7010, class 0x010180), both devices in multiword DMA
# mode 2 (PIIX3 has no Ultra DMA: Linux's ata_piix caps it at MWDMA2, as
# on QEMU's PIIX3), mounts the ISO and its files match, writes a 16 MiB
# pseudo-random pattern to the disk, drops its caches and reads the same
# checksum back; after the guest is gone the image holds that pattern.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

command -v xorriso >/dev/null || fail "xorriso is missing (scripts/install-deps.sh installs it)"

# The CD: a few files of different sizes, one in a subdirectory.
iso_src=$HUTCH_TEST_DIR/iso-src
mkdir -p "$iso_src/dir"
echo "hello from the Hutch IDE CD-ROM test" > "$iso_src/hello.txt"
guest_io "$HUTCH_TEST_DIR/guest-io"
"$HUTCH_TEST_DIR/guest-io" gen 7 1 > "$iso_src/random.bin"
"$HUTCH_TEST_DIR/guest-io" gen 8 1 > "$iso_src/dir/nested.bin"
truncate -s 300001 "$iso_src/dir/nested.bin"   # an odd size: the last sector is partial
xorriso -as mkisofs -quiet -R -V HUTCH_IDE -o "$HUTCH_TEST_DIR/cd.iso" "$iso_src" ||
	fail "xorriso could not make the ISO"
want_md5() { md5sum < "$iso_src/$1" | cut -d' ' -f1; }

disk=$HUTCH_TEST_DIR/disk.img
truncate -s 64M "$disk"
disk_md5=$("$HUTCH_TEST_DIR/guest-io" gen 42 16 | md5sum | cut -d' ' -f1)

cat > "$HUTCH_TEST_DIR/init.sh" <<'INIT'
irq14() { awk '$1 == "14:" { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts; }
i=0
while [ $i -lt 100 ] && ! { [ -b /dev/sda ] && [ -b /dev/sr0 ]; }; do
	sleep 0.1
	i=$((i + 1))
done
p=/sys/bus/pci/devices/0000:00:01.1
echo "HUTCH-RESULT pci_id=$(cat $p/vendor):$(cat $p/device) pci_class=$(cat $p/class)"
echo "HUTCH-RESULT pci_driver=$(basename "$(readlink $p/driver)")"
echo "HUTCH-RESULT sda=$([ -b /dev/sda ] && echo yes || echo no) sr0=$([ -b /dev/sr0 ] && echo yes || echo no)"
# libata keeps a device object for every position; "class" says what is there.
for a in /sys/class/ata_device/dev*; do
	n=$(basename "$a" | tr . _)
	echo "HUTCH-RESULT class_$n=$(cat "$a/class") xfer_$n=$(cat "$a/xfer_mode")"
done
dmesg | grep -E '^\[ *[0-9.]+\] (ata[0-9]|scsi|sr |sd )' | sed 's/^/dmesg: /'
# The legacy ports, IRQ 14, and a bus master base from BAR4.
echo "HUTCH-RESULT ata1_bmdma=$(dmesg | grep -c 'ata1: PATA max MWDMA2 cmd 0x1f0 ctl 0x3f6 bmdma 0x[0-9a-f]* irq 14')"
echo "HUTCH-RESULT ata_errors=$(dmesg | grep -ciE 'ata[0-9.]*: .*(failed|error|timeout|exception)')"

mkdir -p /mnt
if mount -t iso9660 -o ro /dev/sr0 /mnt; then
	echo "HUTCH-RESULT sr0_sectors=$(cat /sys/class/block/sr0/size)"
	echo "HUTCH-RESULT iso_hello=$(md5sum < /mnt/hello.txt | cut -d' ' -f1)"
	echo "HUTCH-RESULT iso_random=$(md5sum < /mnt/random.bin | cut -d' ' -f1)"
	echo "HUTCH-RESULT iso_nested=$(md5sum < /mnt/dir/nested.bin | cut -d' ' -f1)"
	umount /mnt
else
	echo "HUTCH-RESULT iso_mount=failed"
fi

before=$(irq14)
/guest-io gen 42 16 > /dev/sda
sync
echo 3 > /proc/sys/vm/drop_caches
echo "HUTCH-RESULT disk_md5=$(dd if=/dev/sda bs=1M count=16 2>/dev/null | md5sum | cut -d' ' -f1)"
echo "HUTCH-RESULT irq14_before=$before irq14_after=$(irq14)"
echo "HUTCH-RESULT errors_after_io=$(dmesg | grep -ciE 'ata[0-9.]*: .*(failed|error|timeout|exception)')"
poweroff -f
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh" \
	--module ata_piix --module sd_mod --module sr_mod --module isofs \
	--file "$HUTCH_TEST_DIR/guest-io:/guest-io"

run_vm ide --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "$GUEST_APPEND" --memory 512 \
	--drive "file=$disk,format=raw,if=ide,port=0" \
	--drive "file=$HUTCH_TEST_DIR/cd.iso,if=ide,media=cdrom,port=1"
expect_status 0
expect_result pci_id 0x8086:0x7010
expect_result pci_class 0x010180
expect_result pci_driver ata_piix
expect_result sda yes
expect_result sr0 yes
# The primary channel's two devices; the empty secondary shows none.
expect_result class_dev1_0 ata
expect_result class_dev1_1 atapi
for n in dev2_0 dev2_1; do
	case $(result "class_$n") in ata|atapi) fail "the empty secondary channel shows a device at $n" ;; esac
done
note "secondary channel: no devices ($(result class_dev2_0), $(result class_dev2_1))"
# The transfer mode libata set (SET FEATURES), not PIO.
expect_result xfer_dev1_0 XFER_MW_DMA_2
expect_result xfer_dev1_1 XFER_MW_DMA_2
expect_result ata1_bmdma 1
expect_result ata_errors 0
expect_result iso_hello "$(want_md5 hello.txt)"
expect_result iso_random "$(want_md5 random.bin)"
expect_result iso_nested "$(want_md5 dir/nested.bin)"
expect_result disk_md5 "$disk_md5"
expect_result errors_after_io 0
before=$(result irq14_before)
after=$(result irq14_after)
[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
	fail "IRQ 14 count did not grow during disk I/O ($before -> $after)"
# 32 MiB moved: PIO interrupts once per DRQ block (at most 16 sectors with
# READ/WRITE MULTIPLE), so at least 4096 times; DMA once per command.
[ $((after - before)) -lt 1024 ] ||
	fail "$((after - before)) interrupts on IRQ 14 for 32 MiB: that is PIO, not DMA"
note "IRQ 14 count $before -> $after for the 16 MiB write and read (DMA: one per command)"
expect_eq "the image's first 16 MiB" "$(dd if="$disk" bs=1M count=16 2>/dev/null | md5sum | cut -d' ' -f1)" "$disk_md5"
