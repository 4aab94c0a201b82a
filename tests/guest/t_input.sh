#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# The input devices on a real guest, one headless VM through vmctl:
# keyboardputstring and keyboardputscancode reach the guest's VT through
# the i8042's PS/2 keyboard and Linux's atkbd (its init echoes each typed
# line as "TYPED ..."), a long string arrives whole (the typist paces it),
# Caps Lock sets the LED the guest drives (keyboardleds) and changes what
# is typed, the pointer requests reach the virtio tablet (absolute) and
# the PS/2 mouse (relative, with its wheel), read by the guest's evdev.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/inputlib.sh
. "$GUEST_DIR/inputlib.sh"
VMCTL=${HUTCH_BUILD_DIR:+$HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl}
[ -x "${VMCTL:-}" ] || VMCTL=$(dirname "$HUTCH_VM")/vmctl/vmctl
[ -x "$VMCTL" ] || fail "no vmctl at $VMCTL"
export HUTCH_CONFIG_HOME=$HUTCH_TEST_DIR/config
HUTCH_RUNTIME_DIR=$(mktemp -d /tmp/hutch-rt.XXXXXX)
export HUTCH_RUNTIME_DIR
export HUTCH_START_TIMEOUT=${HUTCH_START_TIMEOUT:-180}
trap 'rm -rf "$HUTCH_RUNTIME_DIR"' EXIT
vmctl() { "$VMCTL" "$@" 2>> "$HUTCH_TEST_DIR/vmctl.log"; }

cat > "$HUTCH_TEST_DIR/init.sh" <<'INIT'
sleep 1
dmesg | grep -iE 'i8042|serio|psmouse|input:|virtio_input' | sed 's/^/DMESG /'
echo "HUTCH-RESULT ready=1"
while true; do sleep 10; done
INIT
mk_input_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh"

VM=input
VM_SERIAL=$HUTCH_TEST_DIR/console.log
LOGS+=("$VM_SERIAL" "$HUTCH_TEST_DIR/config/Hutch VMs/$VM/Logs/hutch-vm.log" "$HUTCH_TEST_DIR/vmctl.log"
	"$HUTCH_TEST_DIR/ctl.log")
vmctl createvm --name "$VM" --ostype Linux_64 --register > /dev/null
vmctl modifyvm "$VM" --memory 256 --cpus 1 --nic1 none --kernel "$HUTCH_KERNEL" \
	--initrd "$HUTCH_TEST_DIR/initrd.gz" --cmdline "console=ttyS0 quiet panic=-1"
vmctl modifyvm "$VM" --uart1 0x3F8 4 --uartmode1 file "$VM_SERIAL"
vmctl startvm "$VM" --type headless > /dev/null || fail "startvm failed: $(cat "$HUTCH_TEST_DIR/vmctl.log")"
uuid=$(vmctl showvminfo "$VM" --machinereadable | sed -n 's/^UUID="\(.*\)"$/\1/p')
sock=$HUTCH_RUNTIME_DIR/$uuid.sock
ctl() { python3 "$GUEST_DIR/ctl.py" "$sock" "$@" | tee -a "$HUTCH_TEST_DIR/ctl.log"; }

wait_serial "ready=1" 120 || fail "guest never got ready"
wait_serial "INPUT-DEV kbd " 20 || fail "the guest has no keyboard"
wait_serial "INPUT-DEV rel " 20 || fail "the guest found no PS/2 mouse"
note "guest devices: $(tr -d '\r' < "$VM_SERIAL" | sed -n 's/.*INPUT-DEV //p' | tr '\n' ';')"

# keyboardputstring (US layout, Shift where needed) then Enter as scan codes
vmctl controlvm "$VM" keyboardputstring 'Hello, World! ~|{}<>?"_+' || fail "keyboardputstring refused"
vmctl controlvm "$VM" keyboardputscancode 1c 9c || fail "keyboardputscancode refused"
wait_serial 'TYPED Hello, World! ~\|\{\}<>\?"_\+$' 20 ||
	fail "typed line not seen: $(grep TYPED "$VM_SERIAL" | tail -n 3)"
note "keyboardputstring + keyboardputscancode Enter: typed line seen"

# A long line, all of it, in order: the typist waits for the guest to read.
long=$(for i in $(seq 1 20); do printf 'line%02d-abcdefghij ' "$i"; done)
long=${long% }
vmctl controlvm "$VM" keyboardputstring "$long"$'\n' || fail "long keyboardputstring refused"
wait_serial "TYPED $long\$" 60 || fail "the long line did not arrive whole: $(grep TYPED "$VM_SERIAL" | tail -n 1 | cut -c1-200)"
note "a ${#long}-character line arrived whole"

# Extended keys and the scan code decoder: a, Left arrow (e0 4b), b, Enter -> "ba"
vmctl controlvm "$VM" keyboardputscancode 1e 9e e0 4b e0 cb 30 b0 1c 9c || fail "extended scan codes refused"
wait_serial 'TYPED ba$' 20 || fail "Left arrow did not move the cursor: $(grep TYPED "$VM_SERIAL" | tail -n 1)"
note "extended key (Left arrow) works"

# Caps Lock: the guest sets the LED, and types capitals
ctl keyboardleds > /dev/null
vmctl controlvm "$VM" keyboardputscancode 3a ba
for _ in $(seq 1 50); do ctl keyboardleds | grep -q "caps=1" && break; sleep 0.2; done
ctl keyboardleds | grep -q "caps=1" || fail "the guest did not turn the Caps Lock LED on"
vmctl controlvm "$VM" keyboardputstring $'caps\n'
wait_serial 'TYPED CAPS$' 20 || fail "Caps Lock did not make capitals: $(grep TYPED "$VM_SERIAL" | tail -n 1)"
vmctl controlvm "$VM" keyboardputscancode 3a ba
for _ in $(seq 1 50); do ctl keyboardleds | grep -q "caps=0" && break; sleep 0.2; done
ctl keyboardleds | grep -q "caps=0" || fail "the guest did not turn the Caps Lock LED off"
grep -q "LEDS 2" "$VM_SERIAL" || fail "the guest's evdev saw no Caps Lock LED"
note "Caps Lock LED on and off as the guest set it; capitals typed"

# Refused before anything is typed
if vmctl controlvm "$VM" keyboardputstring "$(printf 'caf\xc3\xa9')"; then
	fail "a character a US keyboard cannot type was accepted"
fi
grep -q "cannot type the byte 0xc3" "$HUTCH_TEST_DIR/vmctl.log" || fail "no clear error for a non-US character"

# The PS/2 mouse: relative motion, wheel, buttons
ctl "pointer rel 10 5" > /dev/null || fail "pointer rel refused"
wait_serial "POINTER rel 10 5 0 0$" 20 || fail "mouse motion not seen: $(grep 'POINTER rel' "$VM_SERIAL" | tail -n 2)"
ctl "pointer rel -3 0 1 1" > /dev/null
wait_serial "POINTER rel -3 0 1 1$" 20 || fail "wheel/button not seen: $(grep 'POINTER rel' "$VM_SERIAL" | tail -n 2)"
ctl "pointer rel 0 0 0 0" > /dev/null
wait_serial "POINTER rel 0 0 0 0$" 20 || fail "button release not seen"
note "PS/2 mouse: motion, wheel and left button reach the guest"

if grep -q "INPUT-DEV abs " "$VM_SERIAL"; then
	ctl "pointer abs 16384 8192" > /dev/null || fail "pointer abs refused with a tablet in the guest"
	wait_serial "POINTER abs 16384 8192 0$" 20 || fail "tablet position not seen: $(grep 'POINTER abs' "$VM_SERIAL" | tail -n 2)"
	ctl "pointer abs 32767 0 1" > /dev/null
	wait_serial "POINTER abs 32767 0 1$" 20 || fail "tablet button not seen"
	note "virtio tablet: absolute position and button reach the guest"
else
	fail "the guest found no tablet"
fi

vmctl controlvm "$VM" poweroff || fail "poweroff failed"
