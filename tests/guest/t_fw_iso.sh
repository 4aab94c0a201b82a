#!/usr/bin/env bash
# A VM without a kernel, set up with vmctl as a user would: a grub-mkrescue
# ISO (Debian's kernel and the test initramfs, made at test time) on a
# SATA DVD drive, --cpus 2, boots through SeaBIOS; the guest sees both
# vCPUs and the medium it came from, shows known text on the VGA text
# screen (a screenshot whose text cells match the glyphs of the font the
# guest loaded), and shuts down on the ACPI power button.  Then the same
# VM boots a second ISO whose guest reboots: SeaBIOS runs again and the
# guest comes back.
# Needs (merged issue 11): SeaBIOS boot in hutch-vm (--boot, fw_cfg, PAM,
# ACPI through the table loader), El Torito from AHCI, the VGA with text
# mode, screenshot/screentext on the control socket.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/fwlib.sh
. "$GUEST_DIR/fwlib.sh"
fw_media
VM=fwiso
fw_vm "$VM" --cpus 2 --boot1 dvd --boot2 disk --boot3 none --boot4 none
VBoxManage storagectl "$VM" --name SATA --add sata --controller IntelAhci || fail "storagectl"
VBoxManage storageattach "$VM" --storagectl SATA --port 0 --device 0 --type dvddrive \
	--medium "$FW_ISO_CHECKS" || fail "storageattach: $(tail -n 2 "$HUTCH_TEST_DIR/vmctl.log")"
expect_eq firmware "$(mr "$VM" firmware)" BIOS
expect_eq boot1 "$(mr "$VM" boot1)" dvd

start=$(date +%s)
fw_start "$VM"
fw_wait "$VM" booted 180
note "the guest's first line $(( $(date +%s) - start ))s after startvm"
expect_eq "boot medium" "$(fw_result "$VM" medium)" iso
expect_eq "guest vCPUs" "$(fw_result "$VM" nproc)" 2
grep -q "hutch-vm.*--boot dvd,disk" "$HUTCH_TEST_DIR/config/Hutch VMs/$VM/Logs/hutch-vm.log" ||
	fail "hutch-vm was not given --boot dvd,disk"
fw_wait "$VM" text_ready 60
fw_screen_check "$VM" text-screen --expect "HUTCH SCREEN TEST: the quick brown fox" --min-glyphs 150
size=$(sed -n '1s/.* size=\([0-9x]*\).*/\1/p' "$HUTCH_TEST_DIR/text-screen.txt")
note "text mode screenshot $size"

VBoxManage controlvm "$VM" acpipowerbutton || fail "acpipowerbutton"
fw_wait_state "$VM" poweroff 60
expect_eq "the guest saw the power button" "$(fw_result "$VM" powerbutton)" seen

# A guest reboot goes through SeaBIOS again.
VBoxManage storageattach "$VM" --storagectl SATA --port 0 --device 0 --type dvddrive \
	--medium "$FW_ISO_REBOOT" --forceunmount || fail "storageattach (reboot ISO)"
fw_start "$VM"
for _ in $(seq 1 240); do
	[ "$(grep -c 'HUTCH-RESULT booted=1 mode=reboot' "$HUTCH_TEST_DIR/$VM.serial")" -ge 2 ] && break
	sleep 0.5
done
boots=$(grep -c 'HUTCH-RESULT booted=1 mode=reboot' "$HUTCH_TEST_DIR/$VM.serial" || true)
[ "$boots" -ge 2 ] || fail "the guest did not come back after rebooting (boots seen: $boots)"
expect_eq VMState "$(mr "$VM" VMState)" running
note "rebooted through SeaBIOS: $boots boots"
VBoxManage controlvm "$VM" poweroff || fail "poweroff"
fw_wait_state "$VM" poweroff 30
