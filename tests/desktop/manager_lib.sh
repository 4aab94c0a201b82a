# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Driving the manager (hutch) under Xvfb: sourced by tests/desktop/t_*.sh
# on the host and by tests/guest/t_manager.sh in the sandbox.  The caller
# sets T (a private temp dir), HUTCH_MANAGER (the binary) and ART (where
# screenshots go); fail() and note() come from the caller.
#
# What the list shows is read from hutch --list-state FILE: one
# "name<TAB>state" line per VM, rewritten from the strings the table draws
# whenever they change.

MGR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XWD2PNG=${XWD2PNG:-$MGR_LIB_DIR/../guest/tools/xwd2png.py}
MGR_PID= XVFB_PID= MGR_WIN=
# Where hutch keeps its list (a local directory: see tests/guest/t_manager.sh).
MGR_LIST=${MGR_LIST:-}

# The X tools the tests need; prints what is missing and fails if any is.
mgr_missing_tools() {
	local t missing=
	for t in Xvfb xdotool xwd; do
		command -v "$t" > /dev/null || missing+=" $t"
	done
	[ -n "$missing" ] && { echo "$missing"; return 0; }
	return 1
}

# mgr_start_x [WxHxD]: a private X server on a free display (Xvfb picks it).
mgr_start_x() {
	local i
	: > "$T/display"
	Xvfb -displayfd 3 -screen 0 "${1:-1024x600x24}" -nolisten tcp 3> "$T/display" \
		> "$T/xvfb.log" 2>&1 &
	XVFB_PID=$!
	for i in $(seq 100); do
		[ -s "$T/display" ] && break
		sleep 0.05
	done
	[ -s "$T/display" ] || fail "Xvfb did not start: $(tail -n 3 "$T/xvfb.log")"
	export DISPLAY=:$(head -n 1 "$T/display")
}

# mgr_start [ARGS...]: hutch with --list-state $T/list, its window found and focused.
mgr_start() {
	local i
	MGR_LIST=${MGR_LIST:-$T/list}
	"$HUTCH_MANAGER" --list-state "$MGR_LIST" "$@" > "$T/hutch.log" 2>&1 &
	MGR_PID=$!
	for i in $(seq 200); do
		MGR_WIN=$(xdotool search --name '^Hutch$' 2> /dev/null | head -n 1) && [ -n "$MGR_WIN" ] && break
		kill -0 "$MGR_PID" 2> /dev/null || fail "hutch exited: $(tail -n 5 "$T/hutch.log")"
		sleep 0.05
	done
	[ -n "$MGR_WIN" ] || fail "hutch's window did not appear within 10 s"
	xdotool windowfocus --sync "$MGR_WIN"
	sleep 0.3
}

# mgr_quit: end hutch as a desktop's logout would (SIGTERM: SDL's quit
# event, a clean exit), and fail on what the sanitizers (an ASan build)
# found in it: memory errors, undefined behaviour, and leaks of our own
# code (leaks LeakSanitizer cannot place, in system libraries that were
# dlopened and closed again, such as the X and GL drivers, are not ours).
mgr_quit() {
	[ -n "$MGR_PID" ] || return 0
	kill "$MGR_PID"
	wait "$MGR_PID" 2> /dev/null || true
	MGR_PID=
	if grep -E "ERROR: AddressSanitizer|runtime error" "$T/hutch.log"; then
		fail "hutch: AddressSanitizer/UBSan (above)"
	fi
	if grep -q "ERROR: LeakSanitizer" "$T/hutch.log" && grep -E "/src/(frontend|lib|common)/" "$T/hutch.log"; then
		fail "hutch leaks memory (above)"
	fi
	return 0
}

mgr_stop() {
	if [ -n "$MGR_PID" ]; then kill "$MGR_PID" 2> /dev/null || true; wait "$MGR_PID" 2> /dev/null || true; fi
	if [ -n "$XVFB_PID" ]; then kill "$XVFB_PID" 2> /dev/null || true; wait "$XVFB_PID" 2> /dev/null || true; fi
	MGR_PID= XVFB_PID=
}

# Keys and text for the focused manager; each step gets time for a frame or two.
mgr_key() { xdotool key --delay 60 "$@"; sleep 0.15; }
# Each typed character is a few frames (key down, text, key up): wait for them to be drawn.
mgr_type() { xdotool type --delay 25 "$1"; sleep "$(awk -v n=${#1} 'BEGIN { print 0.2 + n * 0.03 }')"; }
# mgr_click X Y: a click at window-relative X,Y.  The pointer moves there
# in two steps first, so that ImGui has seen it hover before the press
# (tabs only take a click on an item hovered the frame before).
mgr_click() {
	xdotool mousemove --window "$MGR_WIN" $(($1 - 2)) "$2"; sleep 0.1
	xdotool mousemove --window "$MGR_WIN" "$1" "$2"; sleep 0.15
	xdotool click 1; sleep 0.2
}

# mgr_wait_line LINE TIMEOUT_MS: wait until the list shows LINE (exact,
# e.g. "vm1<TAB>running"); prints the milliseconds it took.
mgr_wait_line() {
	local start now
	start=$(date +%s%3N)
	while :; do
		if [ -f "$MGR_LIST" ] && grep -qxF -- "$1" "$MGR_LIST"; then
			now=$(date +%s%3N)
			echo $((now - start))
			return 0
		fi
		now=$(date +%s%3N)
		[ $((now - start)) -gt "$2" ] && return 1
		sleep 0.05
	done
}

# mgr_shot NAME: the screen as $ART/NAME.png (or .xwd without the converter).
mgr_shot() {
	mkdir -p "$ART"
	sleep 0.3
	xwd -root -silent > "$ART/$1.xwd" || fail "xwd failed"
	if [ -f "$XWD2PNG" ] && python3 "$XWD2PNG" "$ART/$1.xwd" "$ART/$1.png"; then
		rm -f "$ART/$1.xwd"
		note "screenshot $ART/$1.png"
	else
		note "screenshot $ART/$1.xwd (no $XWD2PNG for a PNG)"
	fi
}

# mgr_check_live_vm VM VMCTL [pause]: with the manager running (mgr_start) and VM
# registered and powered off, start VM with vmctl (headless) and require
# the list to show it running within 2 s of vmctl's return (the VM
# answers on its socket by then), then power it off and require "powered
# off" within 2 s.  With "pause", the manager pauses and resumes it in
# between (Ctrl+P; VM must be the list's first row).  Notes the delays;
# fails otherwise.  Usable by any test
# that boots a VM anyway (one boot serves both).
mgr_check_live_vm() {
	local vm=$1 vmctl=$2 ms
	# The first list can take long on an emulated CPU (the first frames build the font atlas).
	mgr_wait_line "$vm	powered off" 30000 > /dev/null ||
		fail "the manager does not list $vm as powered off: $(cat "$MGR_LIST" 2>&1)"
	"$vmctl" startvm "$vm" --type headless > "$T/startvm.log" 2>&1 ||
		fail "vmctl startvm $vm failed: $(cat "$T/startvm.log")"
	if ! ms=$(mgr_wait_line "$vm	running" 2000); then
		# How late, for the report (the sandbox's emulated CPU is slow).
		ms=$(mgr_wait_line "$vm	running" 30000) || ms="more than 32000"
		fail "the manager did not show $vm running within 2 s of startvm, but after $ms ms more"
	fi
	note "manager: $vm running shown ${ms} ms after vmctl startvm returned"
	mgr_shot manager-running
	if [ "${3:-}" = pause ]; then
		# The manager's Pause and Resume (Ctrl+P) on the running VM, which
		# must be the list's first row.
		mgr_click 100 75
		mgr_key ctrl+p
		ms=$(mgr_wait_line "$vm	paused" 10000) || fail "the manager's Ctrl+P did not pause $vm: $(cat "$MGR_LIST")"
		"$vmctl" showvminfo "$vm" --machinereadable | grep -qx 'VMState="paused"' ||
			fail "vmctl does not see $vm paused"
		mgr_key ctrl+p
		mgr_wait_line "$vm	running" 10000 > /dev/null || fail "the manager's Ctrl+P did not resume $vm: $(cat "$MGR_LIST")"
		note "manager: paused $vm (shown after $ms ms) and resumed it"
	fi
	"$vmctl" controlvm "$vm" poweroff > "$T/poweroff.log" 2>&1 ||
		fail "vmctl controlvm $vm poweroff failed: $(cat "$T/poweroff.log")"
	if ! ms=$(mgr_wait_line "$vm	powered off" 2000); then
		ms=$(mgr_wait_line "$vm	powered off" 30000) || ms="more than 32000"
		fail "the manager did not show $vm powered off within 2 s, but after $ms ms more"
	fi
	note "manager: $vm powered off shown ${ms} ms after vmctl poweroff returned"
}
