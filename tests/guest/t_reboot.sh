#!/usr/bin/env bash
# A guest reboot restarts the machine (CMOS RAM survives, as on real
# hardware), and with --no-reboot ends hutch-vm with status 0 instead.
# A triple fault (Linux's reboot=t) is a reset as on a PC: the same two
# outcomes (issue 8, finding 7).
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

# CMOS byte 0x50 through /dev/port: index to port 0x70, data at 0x71.
cat > "$HUTCH_TEST_DIR/init.sh" <<'INIT'
cmos_read() { printf '\120' | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
              dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
cmos_write_a5() { printf '\120' | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
                  printf '\245' | dd of=/dev/port bs=1 seek=113 count=1 2>/dev/null; }
if [ "$(cmos_read)" != a5 ]; then
	cmos_write_a5
	echo "HUTCH-RESULT boot=first"
	reboot -f
	sleep 10
	echo "HUTCH-RESULT reboot=did-not-happen"
else
	echo "HUTCH-RESULT boot=second"
	poweroff -f
fi
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh"

note "--- reboot restarts the guest"
run_vm reboot --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "console=ttyS0 quiet panic=-1"
expect_status 0
grep -q "HUTCH-RESULT boot=first" "$VM_SERIAL" || fail "first boot not seen"
expect_eq "after the reboot" "$(result boot)" second

note "--- --no-reboot: the reboot ends hutch-vm"
run_vm noreboot --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "console=ttyS0 quiet panic=-1" --no-reboot
expect_status 0
expect_eq "last boot" "$(result boot)" first
grep -q "guest rebooted; exiting (--no-reboot)" "$VM_STDERR" || fail "no --no-reboot message on stderr"
note "stderr: $(cat "$VM_STDERR")"

note "--- reboot=t: the guest reboots by a triple fault, and comes back"
run_vm triple --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "console=ttyS0 quiet panic=-1 reboot=t"
expect_status 0
grep -q "HUTCH-RESULT boot=first" "$VM_SERIAL" || fail "first boot not seen"
expect_eq "after the triple fault" "$(result boot)" second
grep -q "guest triple fault: machine reset" "$VM_STDERR" || fail "no triple-fault message on stderr"
note "stderr: $(cat "$VM_STDERR")"

note "--- reboot=t with --no-reboot: the triple fault ends hutch-vm like a poweroff"
run_vm triple-noreboot --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "console=ttyS0 quiet panic=-1 reboot=t" \
	--no-reboot --state-file "$HUTCH_TEST_DIR/triple.state"
expect_status 0
expect_eq "last boot" "$(result boot)" first
grep -q "guest rebooted; exiting (--no-reboot): vCPU 0: guest triple fault" "$VM_STDERR" ||
	fail "no --no-reboot message naming the triple fault on stderr"
expect_eq "state file" "$(cat "$HUTCH_TEST_DIR/triple.state")" poweroff
note "stderr: $(tail -n 1 "$VM_STDERR")"
