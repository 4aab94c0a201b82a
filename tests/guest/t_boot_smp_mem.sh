#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# asan-smoke
# Debian's kernel boots to a busybox /init with 1 vCPU / 512 MiB and with
# 4 vCPUs / 4096 MiB: the guest sees every vCPU, about the RAM configured,
# the host's time, an interrupt-driven ttyS0 (IRQ 4 count grows), and its
# poweroff ends hutch-vm with status 0.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

cat > "$HUTCH_TEST_DIR/init.sh" <<'INIT'
irq4() { awk '/ttyS0/ { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts; }
echo "HUTCH-RESULT nproc=$(nproc)"
echo "HUTCH-RESULT memtotal_kb=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)"
# "Memory: 260860K/523896K available": the second figure is all the RAM the kernel found.
echo "HUTCH-RESULT ram_found_kb=$(dmesg | sed -n 's|.*Memory: [0-9]*K/\([0-9]*\)K available.*|\1|p')"
echo "HUTCH-RESULT time=$(date +%s)"
before=$(irq4)
i=0
while [ $i -lt 64 ]; do
	echo "console line $i: the quick brown fox jumps over the lazy dog 0123456789"
	i=$((i + 1))
done
echo "HUTCH-RESULT irq4_before=$before irq4_after=$(irq4)"
poweroff -f
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh"

check_boot() {   # CPUS MEMORY_MIB
	local cpus=$1 mib=$2 mem_kb host_kb found_kb tol t stamp before after
	note "--- $cpus vCPU(s), $mib MiB"
	run_vm "boot-$cpus-$mib" --initrd "$HUTCH_TEST_DIR/initrd.gz" \
		--append "console=ttyS0 quiet panic=-1" --cpus "$cpus" --memory "$mib"
	expect_status 0
	expect_eq "nproc" "$(result nproc)" "$cpus"
	host_kb=$((mib * 1024))
	# The RAM the VMM handed over (e820): all of it but the 384 KiB legacy hole.
	found_kb=$(result ram_found_kb)
	[ -n "$found_kb" ] && [ "$found_kb" -le "$host_kb" ] && [ $((found_kb * 100)) -ge $((host_kb * 99)) ] ||
		fail "the kernel found $found_kb kB of RAM, expected within 1% of $host_kb kB"
	note "RAM found by the kernel: $found_kb kB of $host_kb kB"
	# MemTotal is that minus what the kernel keeps for itself.  Debian's
	# kernel keeps 10.6% of 512 MiB (QEMU's guest shows the same 468 MB),
	# so at 512 MiB the bound is 12%; from 1 GiB up it is 10%.
	mem_kb=$(result memtotal_kb)
	tol=10
	[ "$mib" -ge 1024 ] || tol=12
	[ -n "$mem_kb" ] && [ $((mem_kb * 100)) -ge $((host_kb * (100 - tol))) ] && [ "$mem_kb" -le "$host_kb" ] ||
		fail "MemTotal $mem_kb kB is not within $tol% of $host_kb kB"
	note "MemTotal $mem_kb kB of $host_kb kB (within $tol%)"
	t=$(result time)
	stamp=$(result_stamp time)
	[ -n "$t" ] && [ $((t - stamp)) -le 5 ] && [ $((stamp - t)) -le 5 ] ||
		fail "guest time '$t' is more than 5 s from the host's $stamp"
	note "guest time $t, host time $stamp"
	before=$(result irq4_before)
	after=$(result irq4_after)
	[ -n "$before" ] && [ -n "$after" ] || fail "no IRQ 4 counts from the guest"
	if [ "$cpus" = 1 ]; then
		[ "$after" -gt "$before" ] ||
			fail "ttyS0's IRQ 4 count did not grow ($before -> $after): serial not interrupt driven"
		note "ttyS0 IRQ 4 count $before -> $after"
	else
		# With several vCPUs, Linux's 8250 start-up test (IER=THRI, read
		# IIR) races with its own interrupt handler on another vCPU, which
		# reads IIR first (without the port lock) and so acknowledges the
		# THRE interrupt; the driver then believes the UART has the THRE
		# bug and sends by its backup timer, with few counted IRQs.  QEMU's
		# guest does the same in the sandbox (4 vCPUs: 7->8, 15->207,
		# 17->32); the interrupt path itself is proven by the 1-vCPU boot.
		note "ttyS0 IRQ 4 count $before -> $after (not checked with $cpus vCPUs, see the test)"
	fi
}

check_boot 1 512
check_boot 4 4096
