#!/usr/bin/env bash
# Booting like a PC, through Debian's SeaBIOS (no --kernel):
#  1. Nothing bootable (an empty SATA DVD drive, --boot dvd,disk): SeaBIOS
#     tries the drive, prints "No bootable device." on COM1 (etc/sercon-port:
#     no VGA here) and waits; the VM keeps running and answers "status" on
#     its control socket; "poweroff" ends it with status 0.
#  2. A hybrid ISO made now with grub-mkrescue (Debian's kernel and a test
#     initramfs, GRUB on the serial console) in an IDE CD/DVD drive
#     (secondary master), behind a disk class that names nothing: SeaBIOS
#     sizes PIIX3 IDE's I/O BAR and boots El Torito from ATAPI, Linux
#     reaches the initramfs and sees Hutch's ACPI tables (through the table
#     loader) and its SMBIOS; the guest reboots (SeaBIOS runs again from a
#     reset PAM and ROM, the CMOS byte the first boot wrote survives) and
#     powers off by ACPI S5 (status 0).
# SATA DVD drives, SMP, and disks on virtio-blk, AHCI and IDE are t_fw_iso's
# and t_fw_disk's, through vmctl; every SeaBIOS boot here costs sandbox time
# and risks its L1 (issue 9), so this test adds only what they lack.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

dir=$HUTCH_TEST_DIR
VM_TIMEOUT=${VM_TIMEOUT:-900}
command -v grub-mkrescue > /dev/null && command -v xorriso > /dev/null ||
	fail "grub-mkrescue and xorriso are needed (apt-get install grub-pc-bin xorriso mtools)"
[ -f /usr/share/seabios/bios.bin ] || fail "Debian's seabios package is needed"

# run_fw NAME [hutch-vm options]: run_vm without --kernel, without a screen
# (--vga none), so SeaBIOS shows its messages on COM1 (etc/sercon-port).
run_fw() {
	local name=$1; shift
	VM_SERIAL=$dir/$name.serial
	VM_STDERR=$dir/$name.stderr
	LOGS+=("$VM_SERIAL" "$VM_STDERR")
	set +e
	timeout -k 5 "$VM_TIMEOUT" "$HUTCH_VM" --serial stdio --vga none "$@" \
		< /dev/null 2> "$VM_STDERR" | timestamp_lines > "$VM_SERIAL"
	VM_STATUS=${PIPESTATUS[0]}
	set -e
	[ "$VM_STATUS" != 124 ] || fail "$name: hutch-vm did not finish within ${VM_TIMEOUT}s"
}

note "--- nothing bootable, no screen: 'No bootable device.' on COM1 (SeaBIOS's sercon), the VM keeps running"
sock=${XDG_RUNTIME_DIR:-/tmp}/hutch-fw-$$.sock   # not on the sandbox's 9p share: no sockets there
"$HUTCH_VM" --serial "file:$dir/none.serial" --control "$sock" --memory 128 \
	--vga none --drive "if=sata,media=cdrom" --boot dvd,disk 2> "$dir/none.stderr" &
pid=$!
LOGS+=("$dir/none.serial" "$dir/none.stderr")
for _ in $(seq 1 600); do
	grep -aq "No bootable device" "$dir/none.serial" 2> /dev/null && break
	kill -0 "$pid" 2> /dev/null || break
	sleep 1
done
grep -aq "Booting from DVD/CD" "$dir/none.serial" || { kill "$pid" 2> /dev/null; fail "SeaBIOS did not try the DVD drive"; }
grep -aq "No bootable device\." "$dir/none.serial" || { kill "$pid" 2> /dev/null; fail "no 'No bootable device.' on COM1"; }
grep -aq "Retrying" "$dir/none.serial" && { kill "$pid" 2> /dev/null; fail "SeaBIOS would reboot (etc/boot-fail-wait)"; }
sleep 2
python3 "$GUEST_DIR/ctl.py" "$sock" status > "$dir/none.ctl" || { kill "$pid" 2> /dev/null; fail "status: $(cat "$dir/none.ctl")"; }
grep -q "ok running" "$dir/none.ctl" || { kill "$pid" 2> /dev/null; fail "status: $(cat "$dir/none.ctl")"; }
python3 "$GUEST_DIR/ctl.py" "$sock" poweroff > /dev/null
set +e; wait "$pid"; st=$?; set -e
expect_eq "poweroff after 'No bootable device.'" "$st" 0

# The guest: the first boot reports and reboots, the second powers off
# (CMOS byte 0x50 through /dev/port tells them apart, as in t_reboot).
cat > "$dir/init.sh" <<'INIT'
cmos_read() { printf '\120' | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
              dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
cmos_write_a5() { printf '\120' | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
                  printf '\245' | dd of=/dev/port bs=1 seek=113 count=1 2>/dev/null; }
if [ "$(cmos_read)" != a5 ]; then
	echo "HUTCH-RESULT boot=first"
	echo "HUTCH-RESULT cpus=$(grep -c ^processor /proc/cpuinfo)"
	echo "HUTCH-RESULT acpi=$(ls /sys/firmware/acpi/tables | grep -E '^(APIC|DSDT|FACP)$' | tr -d '\n')"
	echo "HUTCH-RESULT dmi=$(tr ' ' _ < /sys/class/dmi/id/sys_vendor 2>/dev/null)"
	echo "HUTCH-RESULT cmdline_ok=$(grep -c 'console=ttyS0' /proc/cmdline)"
	cmos_write_a5
	reboot -f
	sleep 10
	echo "HUTCH-RESULT reboot=did-not-happen"
else
	echo "HUTCH-RESULT boot=second"
	poweroff -f
fi
INIT
mk_initramfs "$dir/initrd.gz" "$dir/init.sh"
mkdir -p "$dir/iso/boot/grub"
cp "$HUTCH_KERNEL" "$dir/iso/boot/vmlinuz"
cp "$dir/initrd.gz" "$dir/iso/boot/initrd.gz"
cat > "$dir/iso/boot/grub/grub.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
menuentry "hutch" {
  linux /boot/vmlinuz console=ttyS0 quiet panic=-1
  initrd /boot/initrd.gz
}
CFG
grub-mkrescue -o "$dir/boot.iso" "$dir/iso" > "$dir/grub-mkrescue.log" 2>&1 ||
	fail "grub-mkrescue: $(tail -n 3 "$dir/grub-mkrescue.log")"

note "--- the ISO in an IDE CD/DVD drive, --boot disk,dvd: boot, reboot, ACPI poweroff"
run_fw ide --memory 256 --drive "file=$dir/boot.iso,if=ide,media=cdrom,port=2" --boot disk,dvd
grep -aq "Booting from DVD/CD" "$VM_SERIAL" || fail "SeaBIOS did not boot the IDE DVD"
expect_result acpi APICDSDTFACP
expect_result cmdline_ok 1
note "SMBIOS system vendor: $(get_result dmi)"
[ "$(grep -ac 'HUTCH-RESULT boot=first' "$VM_SERIAL")" = 1 ] || fail "the first boot ran more than once"
expect_result boot second
expect_status 0
