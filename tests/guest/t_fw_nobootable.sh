#!/usr/bin/env bash
# Nothing bootable (no media at all, VirtualBox's default boot order):
# SeaBIOS's "No bootable device" is on the screen (screentext), the VM
# keeps running and answers its control socket, and a screenshot of that
# text screen matches the glyphs of the font in plane 2.
# Needs (merged issue 11): SeaBIOS boot, the VGA in text mode (vgabios),
# screenshot/screentext.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/fwlib.sh
. "$GUEST_DIR/fwlib.sh"
VM=fwnone
fw_vm "$VM"
fw_start "$VM"
fw_screen_wait "$VM" "No bootable device" 120
fw_screen_check "$VM" nobootable --expect "No bootable device" --min-glyphs 15
python3 "$GUEST_DIR/ctl.py" "$(fw_sock "$VM")" status > "$HUTCH_TEST_DIR/status.out" ||
	fail "control socket: $(cat "$HUTCH_TEST_DIR/status.out")"
expect_eq "control socket" "$(cat "$HUTCH_TEST_DIR/status.out")" "status -> ok running"
expect_eq VMState "$(mr "$VM" VMState)" running
VBoxManage controlvm "$VM" poweroff || fail "poweroff"
fw_wait_state "$VM" poweroff 30
