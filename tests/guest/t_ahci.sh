#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# SATA through the AHCI controller, in one boot: Debian's ahci driver finds
# a qcow2 disk on port 0 (/dev/sda), an ISO in a CD/DVD drive on port 1
# (/dev/sr0) and an empty CD/DVD drive on port 2 (/dev/sr1).  The guest
# writes 16 MiB of pseudo-random data to sda, drops its caches and reads
# it back; the host then finds the same data in the image and qemu-img
# check finds the image clean.  The ISO (made now with xorriso) mounts and
# its files match the host's; the empty drive reports no medium.  NCQ is
# on (queue depth 32), the controller interrupts by MSI, and TRIM reaches
# the image (blkdiscard).
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

dir=$HUTCH_TEST_DIR
MIB=16   # t_storage writes the full 64 MiB; this test is about NCQ, MSI, TRIM, ATAPI
SEED=7

guest_io "$dir/guest-io"
qemu-img create -q -f qcow2 "$dir/disk.qcow2" 256M
mkdir -p "$dir/iso"
"$dir/guest-io" gen 11 3 > "$dir/iso/big.bin"
echo "hello from the Hutch AHCI test" > "$dir/iso/hello.txt"
xorriso -as mkisofs -quiet -R -V HUTCHTEST -o "$dir/test.iso" "$dir/iso" 2> "$dir/xorriso.log" ||
	fail "xorriso could not make the ISO: $(cat "$dir/xorriso.log")"
iso_sums=$(cd "$dir/iso" && sha256sum big.bin hello.txt | cut -c1-64 | tr '\n' ' ')

cat > "$dir/init.sh" <<INIT
ahci_irqs() { awk '/ahci/ { s = 0; for (i = 2; i <= NF && \$i ~ /^[0-9]+\$/; i++) s += \$i; print s }' /proc/interrupts; }
echo "HUTCH-RESULT sda=\$([ -b /dev/sda ] && echo yes || echo no) sr0=\$([ -b /dev/sr0 ] && echo yes || echo no) sr1=\$([ -b /dev/sr1 ] && echo yes || echo no)"
echo "HUTCH-RESULT sda_sectors=\$(cat /sys/block/sda/size) sr0_sectors=\$(cat /sys/block/sr0/size)"
echo "HUTCH-RESULT queue_depth=\$(cat /sys/block/sda/device/queue_depth)"
echo "HUTCH-RESULT ncq=\$(dmesg | grep -c 'NCQ (depth 32)')"
echo "HUTCH-RESULT msi=\$(grep ahci /proc/interrupts | grep -c MSI)"
before=\$(ahci_irqs)
/guest-io gen $SEED $MIB > /dev/sda
sync
echo 3 > /proc/sys/vm/drop_caches
echo "HUTCH-RESULT sda_sum=\$(head -c \$(($MIB << 20)) /dev/sda | sha256sum | cut -c1-64)"
echo "HUTCH-RESULT gen_sum=\$(/guest-io gen $SEED $MIB | sha256sum | cut -c1-64)"
echo "HUTCH-RESULT irqs_before=\$before irqs_after=\$(ahci_irqs)"
echo "HUTCH-RESULT discard_max=\$(cat /sys/block/sda/queue/discard_max_bytes)"
blkdiscard -o \$((128 << 20)) -l \$((16 << 20)) /dev/sda
echo "HUTCH-RESULT blkdiscard=\$?"
mkdir -p /mnt
mount -t iso9660 -o ro /dev/sr0 /mnt
echo "HUTCH-RESULT mount=\$?"
echo "HUTCH-RESULT iso_sums=\$(cd /mnt && sha256sum big.bin hello.txt | cut -c1-64 | tr '\n' ' ' | tr ' ' ',')"
umount /mnt
dd if=/dev/sr1 of=/dev/null bs=2048 count=1 2> /tmp/sr1.err
echo "HUTCH-RESULT sr1_read=\$? sr1_err=\$(tr ' ' '_' < /tmp/sr1.err | head -n 1)"
dmesg | grep -iE 'ata[0-9]|ahci|sd 0|sr ' | sed 's/^/dmesg: /'
poweroff -f
INIT
mk_initramfs "$dir/initrd.gz" "$dir/init.sh" --module ahci --module sd_mod --module sr_mod \
	--module isofs --file "$dir/guest-io:/guest-io"

run_vm ahci --initrd "$dir/initrd.gz" --append "$GUEST_APPEND" --memory 512 \
	--drive "file=$dir/disk.qcow2,format=qcow2,if=sata,port=0" \
	--drive "file=$dir/test.iso,media=cdrom,if=sata,port=1" \
	--drive "media=cdrom,if=sata,port=2"
expect_status 0
expect_result sda yes
expect_result sr0 yes
expect_result sr1 yes
expect_result sda_sectors $((256 * 2048))
expect_eq "sr0 size (512-byte sectors)" "$(result sr0_sectors)" $(($(stat -c %s "$dir/test.iso") / 512))

qd=$(result queue_depth)
[ -n "$qd" ] && [ "$qd" -gt 1 ] || fail "sda queue depth '$qd': NCQ not in use"
note "NCQ: queue depth $qd, libata: $(result ncq) disk(s) with 'NCQ (depth 32)'"
msi=$(result msi)
[ "$msi" = 1 ] || fail "the ahci interrupt is not an MSI ($(result msi) MSI lines)"
before=$(result irqs_before)
after=$(result irqs_after)
[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
	fail "ahci MSI count did not grow during the I/O ($before -> $after)"
note "ahci interrupts by MSI: $before -> $after during the $MIB MiB write and read"

want=$("$dir/guest-io" gen $SEED $MIB | sha256sum | cut -c1-64)
expect_result gen_sum "$want"
expect_result sda_sum "$want"
qemu-img check -q "$dir/disk.qcow2" > "$dir/qemu-img-check.log" 2>&1 ||
	fail "qemu-img check: $(cat "$dir/qemu-img-check.log")"
note "qemu-img check: clean"
qemu-img convert -O raw "$dir/disk.qcow2" "$dir/disk.raw"
host_sum=$(head -c $((MIB << 20)) "$dir/disk.raw" | sha256sum | cut -c1-64)
rm -f "$dir/disk.raw"
expect_eq "image contents after exit" "$host_sum" "$want"

[ "$(result discard_max)" -gt 0 ] || fail "no TRIM: discard_max_bytes is '$(result discard_max)'"
note "TRIM: discard_max_bytes $(result discard_max)"
expect_result blkdiscard 0

expect_result mount 0
expect_eq "ISO file checksums" "$(result iso_sums)" "$(echo "$iso_sums" | tr ' ' ',')"
[ "$(result sr1_read)" != 0 ] || fail "reading the empty drive succeeded"
note "empty drive: $(result sr1_err | tr '_' ' ')"
