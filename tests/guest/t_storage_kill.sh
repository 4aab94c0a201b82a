#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# The kill -9 test: hutch-vm is killed during heavy guest writes to a qcow2
# disk (virtio and SATA), at several moments.  qemu-img check then exits 0
# (clean) or 3 (leaked clusters only), never 2 (corrupt), and every record
# the guest saw flushed (fsync returned) is in the image.  Under each I/O
# engine (src/block/aio.h): io_uring where the kernel has it (it serves
# images open O_DIRECT, so those kills run with hostcache=off), and the
# thread pool's preadv/pwritev (HUTCH_AIO=threads, the host cache on).
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
T=$HUTCH_TEST_DIR
VMCTL=$HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl
guest_io "$T/guest-io"

cat > "$T/init.sh" <<'INIT'
i=0; while [ ! -b /dev/vda ] && [ ! -b /dev/sda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
dev=/dev/vda; [ -b $dev ] || dev=/dev/sda
echo "HUTCH-RESULT writing=$dev"
/guest-io seqwrite $dev 200
poweroff -f
INIT
mk_initramfs "$T/initrd.gz" "$T/init.sh" --file "$T/guest-io:/guest-io" \
	--module ahci --module sd_mod --module virtio_pci --module virtio_blk

kill_during_writes() {   # IF RECORDS_BEFORE_KILL [ENGINE]
	local bus=$1 after=$2 aio=${3:-io_uring} img=$T/kill-$1-$2.qcow2 vm flushed intact st cache=""
	rm -f "$img"
	HUTCH_CONFIG_HOME=$T/cfg "$VMCTL" createmedium disk --filename "$img" --size 256 --format qcow2 \
		> /dev/null 2>&1 || fail "vmctl createmedium"
	[ "$aio" = threads ] || cache=,hostcache=off
	VM_SERIAL=$T/kill-$bus-$after.serial
	LOGS+=("$VM_SERIAL")
	HUTCH_AIO=$aio "$HUTCH_VM" --kernel "$HUTCH_KERNEL" --initrd "$T/initrd.gz" --append "$GUEST_APPEND" \
		--drive "file=$img,format=qcow2,if=$bus$cache" --serial stdio < /dev/null 2> "$T/kill.stderr" |
		timestamp_lines > "$VM_SERIAL" &
	vm=$(pgrep -n -f -- "--drive file=$img") || true
	# Up to 10 minutes: the sandbox is slow, and slower still on a busy host.
	for _ in $(seq 1 3000); do
		[ -n "$vm" ] || vm=$(pgrep -n -f -- "--drive file=$img") || true
		[ "$(get_result flushed)" -ge "$after" ] 2> /dev/null && break
		sleep 0.2
	done
	[ -n "$vm" ] || fail "hutch-vm did not start"
	kill -9 "$vm"
	wait 2> /dev/null || true
	flushed=$(get_result flushed)
	[ -n "$flushed" ] && [ "$flushed" -ge "$after" ] ||
		fail "the guest had flushed only '$flushed' records when hutch-vm was killed (waiting for $after, up to 10 minutes)"
	set +e
	qemu-img check -q -f qcow2 "$img" > "$T/check.out" 2>&1
	st=$?
	set -e
	[ "$st" = 0 ] || [ "$st" = 3 ] || fail "qemu-img check exit $st after kill -9: $(cat "$T/check.out")"
	qemu-img convert -q -f qcow2 -O raw "$img" "$T/kill.raw"
	intact=$("$T/guest-io" checkseq "$T/kill.raw")
	rm -f "$T/kill.raw"
	[ "$intact" -ge "$flushed" ] || fail "only $intact records intact, the guest saw $flushed flushed"
	grep -q "HUTCH_AIO=io_uring, but" "$T/kill.stderr" && aio="threads (no io_uring here)"
	note "$bus ($aio${cache:+, host cache off}): killed after $flushed flushed records: qemu-img check exit $st, $intact records intact"
}

kill_during_writes virtio 3
kill_during_writes virtio 15 threads
kill_during_writes sata 6
kill_during_writes sata 3 threads
