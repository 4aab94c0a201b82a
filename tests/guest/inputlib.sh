# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest side of the input tests (sourced after lib.sh): an initramfs
# whose init starts tests/guest/tools/input_report.c before the test's own
# script.  On the serial console the guest then prints
#   TYPED <line>                  each line typed on the VT (tty1) keyboard
#   INPUT-DEV abs|rel|kbd <name>  each evdev device as it appears
#   POINTER abs X Y BUTTONS       the virtio tablet (X, Y in 0..32767)
#   POINTER rel DX DY WHEEL BUTTONS  the PS/2 mouse
#   LEDS <mask>                   keyboard LEDs (1 Num, 2 Caps, 4 Scroll)
# Debian's kernel has atkbd and i8042 built in; evdev, psmouse, virtio_pci
# and virtio_input are modules, loaded by the prelude.
#
#   mk_input_initramfs OUT INIT_SCRIPT [mk_initramfs args...]
#   wait_serial PATTERN SECONDS   wait until the console log ($VM_SERIAL) has a
#                                 line matching PATTERN (grep -E; carriage
#                                 returns removed first, so $ anchors at the
#                                 line's end); 1 if it never came
: "${GUEST_DIR:?source lib.sh first}"

mk_input_initramfs() {
	local out=$1 init=$2 full=$HUTCH_TEST_DIR/input-init.sh
	shift 2
	guest_tool input_report "$HUTCH_TEST_DIR/input-report"
	{
		echo '/input-report &'
		cat "$init"
	} > "$full"
	mk_initramfs "$out" "$full" --module evdev --module psmouse --module virtio_pci \
		--module virtio_input --file "$HUTCH_TEST_DIR/input-report:/input-report" "$@"
}

wait_serial() {
	local pattern=$1 secs=$2 i
	for ((i = 0; i < secs * 5; i++)); do
		tr -d '\r' < "$VM_SERIAL" 2>/dev/null | grep -v '\[cut\]' | grep -qE "$pattern" && return 0
		sleep 0.2
	done
	return 1
}
