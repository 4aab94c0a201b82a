#!/usr/bin/env bash
# memtest86+ (Debian's package: /usr/lib/memtest86+/memtest86+x64.iso)
# boots from a DVD through SeaBIOS and runs: its banner is on the screen
# (screentext) and in a screenshot whose text cells match the font.
# Needs (merged issue 11): SeaBIOS boot, El Torito from AHCI, the VGA text
# mode, screenshot/screentext.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/fwlib.sh
. "$GUEST_DIR/fwlib.sh"
ISO=/usr/lib/memtest86+/memtest86+x64.iso
[ -r "$ISO" ] || fail "$ISO missing (install memtest86+)"
cp "$ISO" "$HUTCH_TEST_DIR/memtest.iso"
VM=fwmemtest
fw_vm "$VM" --memory 256 --boot1 dvd
VBoxManage storagectl "$VM" --name SATA --add sata || fail "storagectl"
VBoxManage storageattach "$VM" --storagectl SATA --port 0 --device 0 --type dvddrive \
	--medium "$HUTCH_TEST_DIR/memtest.iso" || fail "storageattach"
fw_start "$VM"
# Not just "Memtest86+": its loader prints "Loading Memtest86+..." first.
fw_screen_wait "$VM" "Memtest86+ v6" 120
fw_screen_check "$VM" memtest --expect "Memtest86+ v6" --min-glyphs 100
sleep 3
expect_eq VMState "$(mr "$VM" VMState)" running
VBoxManage controlvm "$VM" poweroff || fail "poweroff"
fw_wait_state "$VM" poweroff 30
