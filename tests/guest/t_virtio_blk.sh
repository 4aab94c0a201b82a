#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# Debian's kernel drives two virtio-blk disks (modern virtio-pci, MSI-X),
# a raw image as vda and a qcow2 image as vdb, in one boot.  For each:
# the size and serial are the image's, the request queue interrupts
# through MSI-X, a 16 MiB pseudo-random pattern written, flushed, dropped
# from the page cache and read back has the same checksum, and a discard
# of the rest of the disk succeeds.  After poweroff the host finds each
# pattern in its image, `qemu-img check` finds the qcow2 image clean and
# the discarded clusters freed (a raw image's holes too, where the scratch
# filesystem has holes).  While the guest runs, hutch-vm holds an eventfd
# per queue notification register (ioeventfd) and per MSI-X vector used
# (irqfd): /proc/PID/fd shows them.  The qcow2 disk has the host I/O
# cache off (hostcache=off, VirtualBox's --hostiocache off): hutch-vm holds
# its image O_DIRECT (/proc/PID/fdinfo), or, on a scratch file system that
# refuses O_DIRECT (tmpfs), says so and uses the cache.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

DISK_MIB=32
PATTERN_MIB=16   # t_storage writes the full 64 MiB
MiB=1048576

guest_io "$HUTCH_TEST_DIR/guest-io"
cat > "$HUTCH_TEST_DIR/init.sh" <<INIT
i=0
while { [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; } && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
# An interrupt's count, summed over CPUs, and its chip.
irq_count() { awk -v n="\$1" '\$NF == n { s = 0; for (i = 2; i <= NF && \$i ~ /^[0-9]+\$/; i++) s += \$i; print s; exit }' /proc/interrupts; }
irq_chip() { awk -v n="\$1" '\$NF == n { for (i = 2; i <= NF; i++) if (\$i !~ /^[0-9]+\$/) { print \$i; exit } }' /proc/interrupts; }
n=0
for d in vda vdb; do
	v=virtio\$n; seed=\$((n * 2 + 1)); n=\$((n + 1))
	[ -b /dev/\$d ] || { echo "HUTCH-RESULT \${d}_present=no"; continue; }
	echo "HUTCH-RESULT \${d}_present=yes"
	echo "HUTCH-RESULT \${d}_sectors=\$(cat /sys/block/\$d/size)"
	echo "HUTCH-RESULT \${d}_serial=\$(cat /sys/block/\$d/serial)"
	echo "HUTCH-RESULT \${d}_write_cache=\$(tr ' ' _ < /sys/block/\$d/queue/write_cache)"
	echo "HUTCH-RESULT \${d}_discard_max=\$(cat /sys/block/\$d/queue/discard_max_bytes)"
	echo "HUTCH-RESULT \${d}_req_chip=\$(irq_chip \$v-req.0) \${d}_config_chip=\$(irq_chip \$v-config)"
	before=\$(irq_count \$v-req.0)
	want=\$(/guest-io gen \$seed $PATTERN_MIB | md5sum | cut -d' ' -f1)
	/guest-io gen \$seed $PATTERN_MIB | dd of=/dev/\$d bs=1M conv=fsync 2>/dev/null
	echo 3 > /proc/sys/vm/drop_caches
	got=\$(dd if=/dev/\$d bs=1M count=$PATTERN_MIB 2>/dev/null | md5sum | cut -d' ' -f1)
	echo "HUTCH-RESULT \${d}_pattern=\$([ "\$want" = "\$got" ] && echo match || echo "differs:\$want:\$got")"
	# The rest of the disk: written and flushed, then discarded.
	/guest-io gen 99 $((DISK_MIB - PATTERN_MIB)) | dd of=/dev/\$d bs=1M seek=$PATTERN_MIB conv=fsync 2>/dev/null
	blkdiscard -o $((PATTERN_MIB * MiB)) -l $(((DISK_MIB - PATTERN_MIB) * MiB)) /dev/\$d &&
		echo "HUTCH-RESULT \${d}_blkdiscard=ok" || echo "HUTCH-RESULT \${d}_blkdiscard=failed"
	sync
	echo "HUTCH-RESULT \${d}_req_irq_before=\$before \${d}_req_irq_after=\$(irq_count \$v-req.0)"
done
# Both disks have notified and interrupted: the host counts hutch-vm's
# eventfds now and then powers the VM off through its control socket (a
# fixed sleep here lost the race once in CI); the guest only gives up late.
echo "HUTCH-RESULT fd_check=now"
sleep 120
echo "HUTCH-RESULT fd_check=timeout"
poweroff -f
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh" \
	--file "$HUTCH_TEST_DIR/guest-io:/guest-io" --module virtio_pci --module virtio_blk

# KiB allocated from byte offset OFFSET on: for raw, what the file occupies
# beyond the data before it; for qcow2, the clusters qemu-img maps as data.
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

raw=$HUTCH_TEST_DIR/disk.raw qcow=$HUTCH_TEST_DIR/disk.qcow2
qemu-img create -q -f raw "$raw" "${DISK_MIB}M"
qemu-img create -q -f qcow2 "$qcow" "${DISK_MIB}M"
# When the guest says so, count the eventfds of the running hutch-vm, then
# pull its plug (status 0).  The socket is not on the sandbox's 9p share,
# which has no sockets.
sock=${XDG_RUNTIME_DIR:-/tmp}/hutch-vblk-$$.sock
count_eventfds() {
	local vm f n=0
	for _ in $(seq 1 1500); do
		grep -q "fd_check=now" "$HUTCH_TEST_DIR/vblk.serial" 2> /dev/null && break
		sleep 0.2
	done
	vm=$(pgrep -n -f -- "--drive file=$raw") || return 0
	for f in /proc/"$vm"/fd/*; do
		[ "$(readlink "$f")" = "anon_inode:[eventfd]" ] && n=$((n + 1))
		# The open flags of the qcow2 image, in octal (O_DIRECT is 040000).
		if [ "$(readlink "$f")" = "$qcow" ]; then
			awk '/^flags:/ { print $2 }' /proc/"$vm"/fdinfo/"${f##*/}" \
				> "$HUTCH_TEST_DIR/qcow-flags" 2> /dev/null || true
		fi
	done
	echo "$n" > "$HUTCH_TEST_DIR/eventfds"
	python3 "$GUEST_DIR/ctl.py" "$sock" poweroff > /dev/null
}
count_eventfds &
watcher=$!
run_vm vblk --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "$GUEST_APPEND" --control "$sock" \
	--drive "file=$raw,format=raw,if=virtio" --drive "file=$qcow,format=qcow2,if=virtio,hostcache=off"
kill "$watcher" 2> /dev/null || true
wait "$watcher" 2> /dev/null || true
expect_status 0
[ "$(result fd_check)" = now ] || fail "the host did not power the VM off after counting its eventfds"

# Two disks, one request queue each: two ioeventfds, and at least the two
# request vectors' irqfds (the event loop's own eventfds come on top: with
# --no-kvm-notify hutch-vm held 2 here, with them 6).
eventfds=$(cat "$HUTCH_TEST_DIR/eventfds" 2> /dev/null || echo none)
[ "$eventfds" != none ] || fail "hutch-vm's eventfds were not counted while the guest ran"
[ "$eventfds" -ge 4 ] ||
	fail "hutch-vm held $eventfds eventfds while the guest ran: expected ioeventfds and irqfds (at least 4)"
note "hutch-vm held $eventfds eventfds while the guest ran (ioeventfds, irqfds, the loop's)"
flags=$(cat "$HUTCH_TEST_DIR/qcow-flags" 2> /dev/null || echo none)
[ "$flags" != none ] || fail "the qcow2 image's descriptor was not found in hutch-vm"
if (( (8#$flags & 8#40000) != 0 )); then
	note "hostcache=off: the qcow2 image is open O_DIRECT (flags $flags)"
elif grep -q "O_DIRECT" "$VM_STDERR"; then
	note "hostcache=off: the scratch file system refuses O_DIRECT; hutch-vm warned and used the cache"
else
	fail "hostcache=off: the qcow2 image is open without O_DIRECT (flags $flags) and nothing was said"
fi

check_disk() {   # DEV FORMAT IMAGE SEED SERIAL
	local d=$1 fmt=$2 img=$3 seed=$4 before after data left
	note "--- $d: $fmt image"
	expect_result "${d}_present" yes
	expect_result "${d}_sectors" $((DISK_MIB * 2048))
	expect_result "${d}_serial" "$5"
	expect_result "${d}_write_cache" write_back
	[ "$(result "${d}_discard_max")" -gt 0 ] 2>/dev/null || fail "$d: the guest sees no discard support"
	note "discard_max_bytes = $(result "${d}_discard_max")"
	# MSI-X: the request queue and configuration changes have vectors of their own.
	case $(result "${d}_req_chip") in
	PCI-MSI*) note "request queue interrupt on $(result "${d}_req_chip")" ;;
	*) fail "$d: request interrupt chip '$(result "${d}_req_chip")', expected PCI-MSI (MSI-X)" ;;
	esac
	case $(result "${d}_config_chip") in
	PCI-MSI*) ;;
	*) fail "$d: no MSI-X vector for configuration changes" ;;
	esac
	before=$(result "${d}_req_irq_before")
	after=$(result "${d}_req_irq_after")
	[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
		fail "$d: request interrupts did not grow ($before -> $after)"
	note "request interrupts $before -> $after"
	expect_result "${d}_pattern" match
	expect_result "${d}_blkdiscard" ok

	# The host finds the guest's pattern in the image.
	data=$img
	if [ "$fmt" != raw ]; then
		qemu-img check -q "$img" || fail "qemu-img check found errors in $img"
		note "qemu-img check: clean"
		data=$HUTCH_TEST_DIR/$d.pattern.raw
		qemu-img dd -f "$fmt" -O raw bs=1M count=$PATTERN_MIB if="$img" of="$data"
	fi
	"$HUTCH_TEST_DIR/guest-io" gen "$seed" $PATTERN_MIB | cmp -n $((PATTERN_MIB * MiB)) - "$data" ||
		fail "$img does not hold the pattern the guest wrote"
	note "the image holds the guest's $PATTERN_MIB MiB pattern"
	[ "$data" = "$img" ] || rm -f "$data"
	# The discard gave the rest back (the guest had written all of it).
	if [ "$fmt" = raw ] && [ $holes = no ]; then
		note "discard: not checked on the host (the scratch filesystem has no holes)"
	else
		left=$(alloc_kib_after "$img" $((PATTERN_MIB * MiB)) "$fmt")
		[ -n "$left" ] && [ "$left" -le 1024 ] ||
			fail "$d: $left KiB still allocated past $PATTERN_MIB MiB after the discard"
		note "discard: $left KiB allocated past $PATTERN_MIB MiB (of $((DISK_MIB - PATTERN_MIB)) MiB written)"
	fi
}

check_disk vda raw "$raw" 1 HUTCHD00
check_disk vdb qcow2 "$qcow" 3 HUTCHD01
