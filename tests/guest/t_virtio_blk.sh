#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# Debian's kernel drives a virtio-blk disk (modern virtio-pci, MSI-X):
# /dev/vda has the image's size and serial, its request queue interrupts
# through MSI-X, a 64 MiB pseudo-random pattern written, flushed, dropped
# from the page cache and read back has the same checksum; discard frees
# space in the image.  After poweroff the host finds the pattern in the
# image.  Two boots: a raw image, then a qcow2 one, which `qemu-img check`
# must find clean.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

DISK_MIB=128
PATTERN_MIB=64

guest_io "$HUTCH_TEST_DIR/guest-io"
cat > "$HUTCH_TEST_DIR/init.sh" <<INIT
i=0
while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
[ -b /dev/vda ] || { echo "HUTCH-RESULT vda=missing"; poweroff -f; }
echo "HUTCH-RESULT sectors=\$(cat /sys/block/vda/size)"
echo "HUTCH-RESULT serial=\$(cat /sys/block/vda/serial)"
echo "HUTCH-RESULT write_cache=\$(cat /sys/block/vda/queue/write_cache | tr ' ' _)"
echo "HUTCH-RESULT discard_max=\$(cat /sys/block/vda/queue/discard_max_bytes)"
# The request queue's interrupt: its chip (PCI-MSI*) and count.
req_irq() { awk '/virtio0-req/ { s = 0; for (i = 2; i <= NF && \$i ~ /^[0-9]+\$/; i++) s += \$i; print s; exit }' /proc/interrupts; }
echo "HUTCH-RESULT req_chip=\$(awk '/virtio0-req/ { for (i = 2; i <= NF; i++) if (\$i !~ /^[0-9]+\$/) { print \$i; exit } }' /proc/interrupts)"
echo "HUTCH-RESULT config_irq=\$(grep -c 'virtio0-config' /proc/interrupts)"
before=\$(req_irq)
want=\$(/guest-io gen 1 $PATTERN_MIB | md5sum | cut -d' ' -f1)
/guest-io gen 1 $PATTERN_MIB | dd of=/dev/vda bs=1M conv=fsync 2>/dev/null
echo 3 > /proc/sys/vm/drop_caches
got=\$(dd if=/dev/vda bs=1M count=$PATTERN_MIB 2>/dev/null | md5sum | cut -d' ' -f1)
echo "HUTCH-RESULT pattern=\$([ "\$want" = "\$got" ] && echo match || echo "differs:\$want:\$got")"
# The second half: written, flushed, then discarded.
/guest-io gen 2 $((DISK_MIB - PATTERN_MIB)) | dd of=/dev/vda bs=1M seek=$PATTERN_MIB conv=fsync 2>/dev/null
sync
echo "HUTCH-RESULT written_end=1"
blkdiscard -o $((PATTERN_MIB * 1048576)) -l $(((DISK_MIB - PATTERN_MIB) * 1048576)) /dev/vda &&
	echo "HUTCH-RESULT blkdiscard=ok" || echo "HUTCH-RESULT blkdiscard=failed"
sync
echo "HUTCH-RESULT req_irq_before=\$before req_irq_after=\$(req_irq)"
dmesg | grep -i -E 'virtio|vda' | sed 's/^/dmesg: /'
poweroff -f
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh" \
	--file "$HUTCH_TEST_DIR/guest-io:/guest-io" --module virtio_pci --module virtio_blk

# KiB the image has allocated from byte offset $2 on: for raw, what the
# file occupies beyond the data before it (holes count as free); for qcow2,
# the clusters qemu-img maps as data there.
alloc_kib_after() {   # IMG OFFSET FORMAT
	if [ "$3" = raw ]; then
		echo $(( $(stat -c '%b * %B' "$1") / 1024 - $2 / 1024 ))
	else
		qemu-img map -f "$3" --output=json "$1" | python3 -c '
import json, sys
off, n = int(sys.argv[1]), 0
for e in json.load(sys.stdin):
    if e["data"]:
        n += max(0, e["start"] + e["length"] - max(e["start"], off))
print(n // 1024)' "$2"
	fi
}

# Can the scratch filesystem punch holes?  (The sandbox's 9p share cannot:
# there a raw image's discard is a no-op, as blk_discard allows.)
holes=yes
truncate -s 1M "$HUTCH_TEST_DIR/probe"
fallocate -p -o 0 -l 65536 "$HUTCH_TEST_DIR/probe" 2>/dev/null || holes=no
rm -f "$HUTCH_TEST_DIR/probe"

pattern_md5=$("$HUTCH_TEST_DIR/guest-io" gen 1 "$PATTERN_MIB" | md5sum | cut -d' ' -f1)

check_disk() {   # FORMAT
	local fmt=$1 img=$HUTCH_TEST_DIR/disk.$1 before after raw left
	note "--- $fmt image"
	rm -f "$img"
	qemu-img create -q -f "$fmt" "$img" "${DISK_MIB}M"
	run_vm "vblk-$fmt" --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "$GUEST_APPEND" \
		--drive "file=$img,format=$fmt,if=virtio"
	expect_status 0
	expect_result sectors $((DISK_MIB * 2048))
	expect_result serial HUTCHD00
	expect_result write_cache write_back
	[ "$(result discard_max)" -gt 0 ] 2>/dev/null || fail "the guest sees no discard support"
	note "discard_max_bytes = $(result discard_max)"
	# MSI-X: the request queue has its own vector (and config its own).
	case $(result req_chip) in
	PCI-MSI*) note "virtio0-req.0 on $(result req_chip)" ;;
	*) fail "virtio0-req interrupt chip '$(result req_chip)', expected PCI-MSI (MSI-X)" ;;
	esac
	expect_result config_irq 1
	before=$(result req_irq_before)
	after=$(result req_irq_after)
	[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
		fail "request interrupts did not grow ($before -> $after)"
	note "request interrupts $before -> $after"
	expect_result pattern match
	expect_result blkdiscard ok

	# The host sees the guest's data in the image.
	raw=$img
	if [ "$fmt" != raw ]; then
		raw=$HUTCH_TEST_DIR/disk.$fmt.raw
		qemu-img check -q "$img" || fail "qemu-img check found errors in $img"
		note "qemu-img check: clean"
		qemu-img convert -O raw "$img" "$raw"
	fi
	expect_eq "pattern in the image (md5)" \
		"$(head -c $((PATTERN_MIB * 1048576)) "$raw" | md5sum | cut -d' ' -f1)" "$pattern_md5"
	[ "$fmt" = raw ] || rm -f "$raw"
	# The discard gave the second half back (the guest wrote all of it first).
	if [ "$fmt" = raw ] && [ $holes = no ]; then
		note "discard: not checked on the host for raw (the scratch filesystem has no holes)"
	else
		left=$(alloc_kib_after "$img" $((PATTERN_MIB * 1048576)) "$fmt")
		[ -n "$left" ] && [ "$left" -le 1024 ] ||
			fail "$left KiB still allocated past $PATTERN_MIB MiB after the discard"
		note "discard: $left KiB allocated past $PATTERN_MIB MiB (of $((DISK_MIB - PATTERN_MIB)) MiB written)"
	fi
}

check_disk raw
check_disk qcow2
