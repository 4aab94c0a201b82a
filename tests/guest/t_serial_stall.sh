#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# A serial console nobody reads never stops the VM (issue 10).  The guest
# prints to ttyS0 without pause while a second loop writes a counter and
# its uptime to a virtio disk every 0.2 s.  hutch-vm's stdout is a FIFO
# that this script reads until the guest is busy, then stops reading for
# 30 s: the pipe fills, the UART's buffer fills, the transmitter reads
# busy, and after the 1 s stall limit output is dropped and counted.
# Then a poweroff through the control socket must end hutch-vm within
# 5 s, the disk must show that the counter kept going through the stall
# (its last write 25 s or more after the last console line read), and
# hutch-vm's stderr must count the dropped output.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

STALL_S=30

cat > "$HUTCH_TEST_DIR/init.sh" <<'INIT'
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda ] || { echo "HUTCH-RESULT vda=missing"; poweroff -f; }
echo "count=0 uptime=0" > /tmp/count
# The other work: a counter on the disk, flushed each time.
(
	n=0
	while true; do
		n=$((n + 1))
		up=$(cut -d' ' -f1 /proc/uptime)
		echo "count=$n uptime=$up" > /tmp/count
		echo "count=$n uptime=$up" | dd of=/dev/vda bs=512 conv=sync,fsync 2>/dev/null
		sleep 0.2
	done
) &
echo "HUTCH-RESULT ready=1"
# The console, as fast as the guest can print (through the 8250 driver's
# interrupt-driven transmit path), each line naming the counter's state.
while true; do
	read -r c < /tmp/count
	echo "HUTCH-RESULT $c pad=0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"
done > /dev/ttyS0
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh" \
	--module virtio_pci --module virtio_blk

disk=$HUTCH_TEST_DIR/disk.img
truncate -s 1M "$disk"
sock=${XDG_RUNTIME_DIR:-/tmp}/hutch-test-$$.sock
# Not in the scratch directory: the sandbox shares it over 9p, which has no FIFOs.
fifo_dir=$(mktemp -d "${TMPDIR:-/tmp}/hutch-stall-XXXXXX")
trap 'rm -rf "$fifo_dir"' EXIT
fifo=$fifo_dir/console
state=$HUTCH_TEST_DIR/state
VM_SERIAL=$HUTCH_TEST_DIR/vm.serial
VM_STDERR=$HUTCH_TEST_DIR/vm.stderr
LOGS+=("$VM_SERIAL" "$VM_STDERR" "$HUTCH_TEST_DIR/ctl.log")
mkfifo "$fifo"
timeout -k 5 "$VM_TIMEOUT" "$HUTCH_VM" --kernel "$HUTCH_KERNEL" --initrd "$HUTCH_TEST_DIR/initrd.gz" \
	--append "$GUEST_APPEND" --control "$sock" --state-file "$state" \
	--drive "file=$disk,format=raw,if=virtio" --serial stdio \
	< /dev/null > "$fifo" 2> "$VM_STDERR" &
vm=$!
exec 3< "$fifo"

# Read the console until the guest prints its counter, then stop reading.
last="" deadline=$((SECONDS + 240))
while [ $SECONDS -lt $deadline ] && IFS= read -r -t 120 line <&3; do
	case $line in
	*"HUTCH-RESULT count="*)
		last=$line
		# A few seconds of it: the counter has started and the console is busy.
		c=${line#*count=}; c=${c%% *}
		[ "$c" -lt 10 ] || break ;;
	*) printf '%s\n' "$line" >> "$VM_SERIAL" ;;
	esac
done
[ -n "$last" ] || fail "the guest never printed its counter"
printf '%s\n' "$last" >> "$VM_SERIAL"
count0=${last#*count=}; count0=${count0%% *}
up0=${last#*uptime=}; up0=${up0%% *}
note "console read until count=$count0 (guest uptime $up0 s); now nobody reads it for ${STALL_S} s"
sleep "$STALL_S"
kill -0 "$vm" 2>/dev/null || fail "hutch-vm ended during the stall"

ctl() { python3 "$GUEST_DIR/ctl.py" "$sock" "$@" | tee -a "$HUTCH_TEST_DIR/ctl.log"; }
usec() { echo "${EPOCHREALTIME/./}"; }
t_status=$(usec)
ctl status | grep -q "status -> ok running" || fail "control socket: status is not 'ok running' during the stall"
t_req=$(usec)
ctl poweroff >/dev/null || fail "control socket: poweroff refused"
t_ok=$(usec)
# Within 5 s of the answer (the sandbox's python alone can take a second to start).
while kill -0 "$vm" 2>/dev/null && [ $(($(usec) - t_ok)) -lt 5000000 ]; do
	sleep 0.1
done
t_end=$(usec)
exec 3<&-
if kill -0 "$vm" 2>/dev/null; then
	fail "hutch-vm still running 5 s after the control socket's poweroff (a vCPU blocked on the console?)"
fi
set +e
wait "$vm"
VM_STATUS=$?
set -e
note "poweroff: answered $(((t_ok - t_req) / 1000)) ms after the request (a status request took $(((t_req - t_status) / 1000)) ms, python's start included), hutch-vm gone $(((t_end - t_ok) / 1000)) ms later"
expect_status 0
expect_eq "state file" "$(cat "$state")" poweroff

# The counter kept going while nobody read the console.
rec=$(head -c 512 "$disk" | tr -d '\0' | head -n 1)
[[ $rec =~ ^count=([0-9]+)\ uptime=([0-9.]+)$ ]] || fail "disk record '$rec' is not 'count=N uptime=S'"
count1=${BASH_REMATCH[1]} up1=${BASH_REMATCH[2]}
note "disk: count=$count1 uptime=$up1 (console's last: count=$count0 uptime=$up0)"
[ "$count1" -gt "$count0" ] || fail "the counter did not advance during the stall ($count0 -> $count1)"
awk -v a="$up0" -v b="$up1" -v s="$STALL_S" 'BEGIN { exit !(b - a >= s - 5) }' ||
	fail "the guest's last disk write (uptime $up1) is not $((STALL_S - 5)) s or more after the console stalled (uptime $up0): the guest stopped"
dropped=$(sed -n 's/^hutch-vm: \([0-9]*\) bytes of serial output were dropped.*/\1/p' "$VM_STDERR")
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] || fail "hutch-vm did not report dropped serial output"
note "hutch-vm: $dropped bytes of serial output dropped"
