#!/usr/bin/env bash
# The VM window (issue 13), one VM started by `vmctl startvm --type gui` on
# an Xvfb screen, booted through SeaBIOS from an ISO:
#  - the window (found by its title) shows the guest's text screen: the
#    window's pixels are the VM's own screenshot's and the guest's glyphs
#    (screencheck.py), and the title follows pause and resume;
#  - text typed into the window with xdotool reaches the guest's VT (its
#    TYPED line on the serial console), Shift included; keyboardputstring
#    and keyboardputscancode reach it the same way;
#  - the host's Caps Lock, toggled while the window had no focus, is
#    pressed in the guest when the window gets the focus (its LED follows);
#  - the pointer moved over the window moves the guest's tablet to the
#    same absolute position, nothing captured;
#  - Host+P pauses (the title says Paused, the guest's serial heartbeat
#    stops) and Host+P again resumes;
#  - Host+R asks before a reset; Escape cancels it (the guest runs on);
#  - Host+H is the ACPI power button: the guest's acpid unloads its tablet
#    driver, sets a 1024x768x32 VBE mode and draws a known picture, which
#    the window follows (resized, every pixel equal);
#  - without the tablet, a click captures the pointer (the title says so),
#    relative motion reaches the guest's PS/2 mouse, Right Ctrl (the host
#    key) releases it and later motion does not reach the guest;
#  - closing (Host+Q) asks; "Power off the machine" powers it off;
#  - under the real system call filter (nothing is killed).
# The window's screenshots stay in the test's directory: desktop-text.png,
# desktop-gfx.png.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/fwlib.sh
. "$GUEST_DIR/fwlib.sh"
# shellcheck source=tests/guest/inputlib.sh
. "$GUEST_DIR/inputlib.sh"
for tool in Xvfb xdotool xwd xwininfo; do
	command -v $tool > /dev/null || fail "$tool is missing (scripts/install-deps.sh: xvfb, xdotool, x11-apps, x11-utils)"
done
XWD2PNG=$GUEST_DIR/tools/xwd2png.py
VM=desk
VM_SERIAL=$HUTCH_TEST_DIR/$VM.serial   # inputlib's wait_serial reads it

# --- an X server of our own ---
for n in $(seq 90 140); do
	[ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] || break
done
Xvfb ":$n" -screen 0 1280x1024x24 -nolisten tcp > "$HUTCH_TEST_DIR/xvfb.log" 2>&1 &
XVFB_PID=$!
desk_cleanup() {
	fw_cleanup
	kill "$XVFB_PID" 2> /dev/null || true
}
trap desk_cleanup EXIT
export DISPLAY=":$n"
for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
xdpyinfo > /dev/null 2>&1 || xwininfo -root > /dev/null 2>&1 || fail "Xvfb :$n did not start: $(cat "$HUTCH_TEST_DIR/xvfb.log")"

# --- the guest: text on tty1, the input reporter, acpid ---
mkdir -p "$HUTCH_TEST_DIR/acpi/PWRF"
cat > "$HUTCH_TEST_DIR/acpi/PWRF/00000080" <<-'ACTION'
#!/bin/sh
echo "HUTCH-RESULT power_button=seen" > /dev/console
# Without its driver the tablet is off (the driver's removal resets the
# device): the window falls back to the PS/2 mouse and pointer capture.
rmmod virtio_input && echo "HUTCH-RESULT tablet_gone=1" > /dev/console
/vbe-draw pattern 1024 768 > /dev/console 2>&1 && echo "HUTCH-RESULT gfx_ready=1" > /dev/console
ACTION
chmod +x "$HUTCH_TEST_DIR/acpi/PWRF/00000080"
guest_tool vbe_draw "$HUTCH_TEST_DIR/vbe-draw"
cat > "$HUTCH_TEST_DIR/desk-init.sh" <<-'INIT'
acpid -d -f -c /etc/acpi > /dev/null 2>&1 &
printf '\033[2J\033[H\033[?25l' > /dev/tty1
printf 'HUTCH DESKTOP TEST: the VM window shows this text 0123456789\n' > /dev/tty1
printf 'ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz !"#$%%&()*+,-./:;<=>?@[]^_{|}~\n' > /dev/tty1
printf '\033[1;33;44m yellow on blue \033[0m \033[7m reversed \033[0m\n' > /dev/tty1
sleep 1
echo "HUTCH-RESULT text_ready=1"
# The heartbeat: it stops while the VM is paused, restarts from 1 after a reset.
i=0
while true; do i=$((i + 1)); echo "HEARTBEAT $i"; sleep 1; done
INIT
fw_pattern "$HUTCH_TEST_DIR/pattern.raw"
mk_input_initramfs "$HUTCH_TEST_DIR/desk-initrd.gz" "$HUTCH_TEST_DIR/desk-init.sh" --module button \
	--file "$HUTCH_TEST_DIR/acpi:/etc/acpi" --file "$HUTCH_TEST_DIR/vbe-draw:/vbe-draw"
cache=${HUTCH_CACHE_DIR:-$(dirname "$HUTCH_TEST_DIR")/.initramfs-cache}
key=$(fw_cache_key desk "$FW_CMDLINE" "$(sha256sum < "$HUTCH_TEST_DIR/desk-initrd.gz")" "$(sha256sum < "$HUTCH_KERNEL")")
iso=$cache/desk-$key.iso
if [ ! -f "$iso" ]; then
	"$GUEST_DIR/mkbootimage.sh" iso "$iso.tmp" "$HUTCH_KERNEL" "$HUTCH_TEST_DIR/desk-initrd.gz" "$FW_CMDLINE" ||
		fail "cannot build the boot ISO"
	mv "$iso.tmp" "$iso"
fi

fw_vm "$VM" --vram 16 --boot1 dvd
VBoxManage storagectl "$VM" --name SATA --add sata || fail "storagectl"
VBoxManage storageattach "$VM" --storagectl SATA --port 0 --device 0 --type dvddrive --medium "$iso" ||
	fail "storageattach"
: > "$VM_SERIAL"
start=$(date +%s)
VBoxManage startvm "$VM" --type gui > /dev/null || fail "startvm --type gui: $(tail -n 3 "$HUTCH_TEST_DIR/vmctl.log")"
LOGS+=("$HUTCH_TEST_DIR/xvfb.log")
WIN=$(timeout 20 xdotool search --sync --name "^$VM \[Running\] - Hutch\$" | head -n 1)
[ -n "$WIN" ] || fail "no window titled '$VM [Running] - Hutch'"
note "the window is up $(( $(date +%s) - start ))s after startvm"
fw_wait "$VM" text_ready 240

title() { xdotool getwindowname "$WIN"; }
# The window's picture: it shows the guest at 1:1 when the mode fits the screen.
win_shot() {   # NAME
	xwd -silent -id "$WIN" > "$HUTCH_TEST_DIR/$1.xwd" || fail "xwd of the window failed"
	python3 "$XWD2PNG" "$HUTCH_TEST_DIR/$1.xwd" "$HUTCH_TEST_DIR/$1.png" || fail "xwd2png $1"
	rm -f "$HUTCH_TEST_DIR/$1.xwd"
}
same_png() {   # A B: equal size, every pixel equal
	python3 - "$1" "$2" "$GUEST_DIR/tools" <<-'EOF'
	import sys
	sys.path.insert(0, sys.argv[3])
	import screencheck
	a, b = screencheck.load_png(sys.argv[1]), screencheck.load_png(sys.argv[2])
	if a.size != b.size:
	    sys.exit(f"sizes differ: {a.size} and {b.size}")
	if a.rgb != b.rgb:
	    w, h = a.size
	    bad = [(x, y) for y in range(h) for x in range(w) if a.pixel(x, y) != b.pixel(x, y)]
	    x, y = bad[0]
	    sys.exit(f"{len(bad)} pixels differ, first at {x},{y}: {a.pixel(x, y):06x} vs {b.pixel(x, y):06x}")
	EOF
}

# --- the text screen, held still by a pause ---
VBoxManage controlvm "$VM" pause || fail "pause"
for _ in $(seq 1 20); do [[ "$(title)" == "$VM [Paused] - Hutch" ]] && break; sleep 0.1; done
expect_eq "title while paused" "$(title)" "$VM [Paused] - Hutch"
sleep 1   # the window's idle refresh is at most 0.5 s behind
python3 "$SCREENCHECK" fetch "$(fw_sock "$VM")" "$HUTCH_TEST_DIR/text.txt" || fail "screentext failed"
VBoxManage controlvm "$VM" screenshotpng "$HUTCH_TEST_DIR/vm-text.png" || fail "screenshotpng"
win_shot desktop-text
VBoxManage controlvm "$VM" resume || fail "resume"
out=$(same_png "$HUTCH_TEST_DIR/desktop-text.png" "$HUTCH_TEST_DIR/vm-text.png" 2>&1) ||
	fail "the window is not the VM's screen: $out"
out=$(python3 "$SCREENCHECK" text "$HUTCH_TEST_DIR/desktop-text.png" "$HUTCH_TEST_DIR/text.txt" \
	--expect "HUTCH DESKTOP TEST: the VM window shows this text" --min-glyphs 150 2>&1) ||
	{ LOGS+=("$HUTCH_TEST_DIR/text.txt"); fail "the window does not show the guest's text: $out"; }
note "window = screenshot, 720x400; $out"
for _ in $(seq 1 20); do [[ "$(title)" == "$VM [Running] - Hutch" ]] && break; sleep 0.1; done
expect_eq "title after resume" "$(title)" "$VM [Running] - Hutch"

# --- the keyboard: the window, then the control socket ---
xdotool windowfocus --sync "$WIN" || fail "cannot focus the window"
xdotool type --delay 40 "hello Desk 42"
xdotool key Return
wait_serial "^TYPED hello Desk 42[[:space:]]*$" 30 || fail "typed text never reached the guest: $(grep TYPED "$VM_SERIAL")"
note "typed into the window: $(grep -m1 '^TYPED hello' "$VM_SERIAL")"
VBoxManage controlvm "$VM" keyboardputstring "vmctl put 7" || fail "keyboardputstring"
VBoxManage controlvm "$VM" keyboardputscancode 1c 9c || fail "keyboardputscancode"
wait_serial "^TYPED vmctl put 7[[:space:]]*$" 30 || fail "keyboardputstring never reached the guest: $(grep TYPED "$VM_SERIAL")"

# --- Caps Lock: the host's, pressed elsewhere, reaches the guest when the window gets the focus ---
leds() { tr -d '\r' < "$VM_SERIAL" | sed -n 's/^LEDS \([0-9]*\)$/\1/p' | tail -n 1; }
root=$(xwininfo -root | awk '/Window id:/ { print $4 }')
for want in 2 0; do   # the guest's evdev LED mask: 2 is Caps Lock
	xdotool windowfocus "$root"
	sleep 0.5
	xdotool key Caps_Lock   # the host's Caps Lock, the window not focused
	xdotool windowfocus --sync "$WIN"
	for _ in $(seq 1 50); do [ "$(leds)" = "$want" ] && break; sleep 0.2; done
	expect_eq "the guest's LEDs after the focus came back" "$(leds)" "$want"
done
note "Caps Lock: the guest's LED followed the host's on focus, on and off"

# --- the pointer: the tablet ---
# The machine has the virtio tablet by default; its driver may still be loading.
wait_serial "^INPUT-DEV abs" 30 || fail "the guest found no tablet"
# The host pointer over window pixel (100, 300) of the 720x400 picture is
# the guest's pointer there, nothing captured.
xdotool mousemove --window "$WIN" 600 50
sleep 0.5
xdotool mousemove --window "$WIN" 100 300
want_x=$(( (100 * 32767 + 359) / 719 )) want_y=$(( (300 * 32767 + 199) / 399 ))
wait_serial "^POINTER abs $want_x $want_y " 20 ||
	fail "the tablet did not follow the pointer to $want_x $want_y: $(grep POINTER "$VM_SERIAL" | tail -n 3)"
[[ "$(title)" != *"releases the pointer"* ]] || fail "the pointer was captured with a tablet"
note "pointer: tablet at $want_x,$want_y"

# --- Host+P pauses and resumes: the title, and the guest's heartbeat ---
heartbeat() { tr -d '\r' < "$VM_SERIAL" | sed -n 's/^HEARTBEAT \([0-9]*\)$/\1/p' | tail -n 1; }
host_key() {   # KEY: Right Ctrl held, KEY pressed, Right Ctrl let go
	xdotool windowfocus --sync "$WIN"
	xdotool keydown Control_R key "$1" keyup Control_R
}
dialog() {   # TITLE: xwininfo's line of the window titled TITLE, waited for up to 6 s; 1 if none
	local line
	for _ in $(seq 1 30); do
		line=$(xwininfo -root -tree | grep "\"$1\"" | head -n 1)
		[ -n "$line" ] && { echo "$line"; return 0; }
		sleep 0.2
	done
	return 1
}
host_key p
for _ in $(seq 1 30); do [[ "$(title)" == "$VM [Paused] - Hutch" ]] && break; sleep 0.1; done
expect_eq "title after Host+P" "$(title)" "$VM [Paused] - Hutch"
sleep 0.5   # a line the UART took just before the pause may still be on its way to the file
hb=$(heartbeat)
sleep 3
expect_eq "heartbeat while paused" "$(heartbeat)" "$hb"
host_key p
for _ in $(seq 1 30); do [[ "$(title)" == "$VM [Running] - Hutch" ]] && break; sleep 0.1; done
expect_eq "title after Host+P again" "$(title)" "$VM [Running] - Hutch"
wait_serial "^HEARTBEAT $((hb + 2))$" 10 || fail "no heartbeat after Host+P resumed: still $(heartbeat)"
note "Host+P: paused (heartbeat held at $hb for 3 s), Host+P: running again"

# --- Host+R asks first; Escape cancels ---
host_key r
dlg=$(dialog "Reset Virtual Machine - Hutch") || fail "Host+R did not ask before the reset"
hb=$(heartbeat)
xdotool windowfocus --sync "$(awk '{ print $1 }' <<< "$dlg")" key Escape
for _ in $(seq 1 30); do
	xwininfo -root -tree | grep -q '"Reset Virtual Machine - Hutch"' || break
	sleep 0.2
done
! xwininfo -root -tree | grep -q '"Reset Virtual Machine - Hutch"' || fail "Escape did not close the reset question"
# No reset: the heartbeat goes on counting (a reset guest would boot again and start from 1).
wait_serial "^HEARTBEAT $((hb + 3))$" 15 || fail "the heartbeat stopped after the reset was cancelled: $(heartbeat)"
[ "$(grep -c "text_ready=1" "$VM_SERIAL")" = 1 ] || fail "the guest booted again: the reset was not cancelled"
note "Host+R: asked, Escape cancelled, the guest ran on (heartbeat $hb -> $(heartbeat))"

# --- Host+H, the power button: the guest drops its tablet, switches to 1024x768x32 graphics ---
host_key h
fw_wait "$VM" power_button 30
fw_wait "$VM" tablet_gone 30
fw_wait "$VM" gfx_ready 30
geo=""
for _ in $(seq 1 30); do
	geo=$(xwininfo -id "$WIN" | awk '/Width:/ { w = $2 } /Height:/ { h = $2 } END { print w "x" h }')
	[ "$geo" = 1024x768 ] && break
	sleep 0.2
done
expect_eq "window size in the 1024x768 mode" "$geo" 1024x768
sleep 1
win_shot desktop-gfx
out=$(python3 "$SCREENCHECK" pattern "$HUTCH_TEST_DIR/desktop-gfx.png" "$HUTCH_TEST_DIR/pattern.raw" 1024 768 2>&1) ||
	fail "the window does not show the guest's picture: $out"
note "graphics: $out"

# --- the PS/2 mouse, no tablet: a click captures the pointer, Right Ctrl releases it ---
rel_sum() {   # the guest's PS/2 motion since line BEFORE of its POINTER rel lines
	(tr -d '\r' < "$VM_SERIAL" | grep "^POINTER rel" || true) | tail -n +$(($1 + 1)) |
		awk '{ dx += $3; dy += $4 } END { print dx + 0, dy + 0 }'
}
rel_lines() { tr -d '\r' < "$VM_SERIAL" | grep -c "^POINTER rel" || true; }
[[ "$(title)" != *"releases the pointer"* ]] || fail "captured before any click: $(title)"
xdotool mousemove --window "$WIN" 512 384 click 1
for _ in $(seq 1 20); do [[ "$(title)" == *"(Right Ctrl releases the pointer)" ]] && break; sleep 0.1; done
expect_eq "title while captured" "$(title)" "$VM [Running] - Hutch (Right Ctrl releases the pointer)"
sleep 0.5
before=$(rel_lines)
xdotool mousemove_relative -- 40 30
sleep 0.3
xdotool mousemove_relative -- -15 20
for _ in $(seq 1 20); do [ "$(rel_sum "$before")" = "25 50" ] && break; sleep 0.2; done
expect_eq "PS/2 motion summed while captured" "$(rel_sum "$before")" "25 50"
xdotool key Control_R
for _ in $(seq 1 20); do [[ "$(title)" == "$VM [Running] - Hutch" ]] && break; sleep 0.1; done
expect_eq "title after the host key" "$(title)" "$VM [Running] - Hutch"
before=$(rel_lines)
xdotool mousemove_relative -- 40 30
sleep 0.3
xdotool mousemove --window "$WIN" 100 100
sleep 2
expect_eq "PS/2 motion after the release" "$(rel_sum "$before")" "0 0"
note "pointer: PS/2 mouse captured by a click (25,50 arrived), released by Right Ctrl (nothing after)"

# --- closing asks; "Power off the machine" (the middle button) ---
xdotool keydown Control_R key q keyup Control_R
dlg=$(dialog "Close Virtual Machine - Hutch") || fail "closing did not ask"
read -r dw dh dx dy < <(sed -E 's/.* ([0-9]+)x([0-9]+)\+(-?[0-9]+)\+(-?[0-9]+) .*/\1 \2 \3 \4/' <<< "$dlg")
xdotool mousemove $((dx + dw / 2)) $((dy + dh - 27)) click 1
fw_wait_state "$VM" poweroff 30
note "the close dialog's 'Power off the machine' powered the VM off"
log="$HUTCH_TEST_DIR/config/Hutch VMs/$VM/Logs/hutch-vm.log"
! grep -q "seccomp" "$log" || fail "the system call filter spoke: $(grep seccomp "$log")"
note "total $(( $(date +%s) - start ))s"
