# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for the guest tests that boot through SeaBIOS (t_fw_*.sh;
# sourced after lib.sh).  Everything is set up through vmctl, as a user
# would: createvm, modifyvm, storagectl/storageattach, startvm, controlvm.
#
#   fw_media           build (cached) the test initramfs and the boot media:
#                      $FW_ISO_CHECKS, $FW_ISO_REBOOT, $FW_ISO_FB (grub ISOs)
#                      and $FW_DISK (syslinux disk image, a fresh copy per
#                      call of fw_disk_copy); $FW_PATTERN is the raw
#                      1024x768 XRGB8888 picture the "fb" guest shows
#   fw_vm VM [modifyvm options]
#                      createvm + modifyvm --memory 512 --nic1 none, serial
#                      console to $HUTCH_TEST_DIR/VM.serial (in LOGS)
#   fw_start VM        startvm --type headless
#   fw_wait VM KEY [S] wait up to S s (default 120) for "HUTCH-RESULT KEY=" on
#                      VM's console
#   fw_wait_state VM STATE [S]
#   fw_result VM KEY   the guest's last KEY=value
#   fw_sock VM         the VM's control socket
#   fw_screen_wait VM STRING [S]
#                      poll screentext until a row shows STRING
#   fw_screen_check VM NAME [screencheck text options]
#                      pause the VM (the screen holds still), screentext and
#                      screenshotpng into NAME.txt / NAME.png, resume, and
#                      check the PNG's text cells against the glyphs
#   mr VM KEY          showvminfo --machinereadable value
#
# The guest (one initramfs for every medium) reads hutch.mode= from its
# command line: "checks" reports nproc and the medium, prints known text
# on tty1 with the cursor hidden, then waits for the power button (acpid);
# "poweroff" reports and powers off; "reboot" reports and reboots (for
# ever: the test powers it off); "fb" loads the bochs DRM driver, sets
# 1024x768x32, unbinds fbcon and writes $FW_PATTERN to /dev/fb0.
VMCTL=${HUTCH_BUILD_DIR:+$HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl}
[ -x "${VMCTL:-}" ] || VMCTL=$(dirname "$HUTCH_VM")/vmctl/vmctl
[ -x "$VMCTL" ] || fail "no vmctl at $VMCTL"
SCREENCHECK=$GUEST_DIR/tools/screencheck.py
export HUTCH_CONFIG_HOME=$HUTCH_TEST_DIR/config
HUTCH_RUNTIME_DIR=$(mktemp -d /tmp/hutch-rt.XXXXXX)
export HUTCH_RUNTIME_DIR
export HUTCH_START_TIMEOUT=${HUTCH_START_TIMEOUT:-180}
# hutch-vm is the binary under test (vmctl finds it through HUTCH_VM).
export HUTCH_VM
FW_VMS=()
fw_cleanup() {
	local vm
	for vm in ${FW_VMS[@]+"${FW_VMS[@]}"}; do
		"$VMCTL" controlvm "$vm" poweroff > /dev/null 2>&1 || true
	done
	rm -rf "$HUTCH_RUNTIME_DIR"
}
trap fw_cleanup EXIT
VBoxManage() { "$VMCTL" "$@" 2>> "$HUTCH_TEST_DIR/vmctl.log"; }
LOGS+=("$HUTCH_TEST_DIR/vmctl.log")
FW_CMDLINE="console=tty0 console=ttyS0 quiet consoleblank=0 panic=-1"

mr() {   # VM KEY
	"$VMCTL" showvminfo "$1" --machinereadable |
		sed -n "s/^\"\{0,1\}$2\"\{0,1\}=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p"
}

# A content-addressed cache entry: fw_cached KEY_SOURCES... -> path prefix.
fw_cache_key() {
	{ cat "$GUEST_DIR/mkbootimage.sh"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16
}

fw_pattern() {   # OUT: 1024x768 XRGB8888, every pixel told apart by position
	python3 - "$1" <<-'EOF'
	import sys
	w, h = 1024, 768
	row = bytearray(w * 4)
	with open(sys.argv[1], "wb") as f:
	    for y in range(h):
	        for x in range(w):
	            row[4 * x:4 * x + 4] = bytes((x & 255, y & 255, ((x >> 8) << 4 | (y >> 8) << 1 | (x ^ y) & 1) * 7 & 255, 0))
	        f.write(row)
	EOF
}

fw_media() {
	local cache init key kind mode
	cache=${HUTCH_CACHE_DIR:-$(dirname "$HUTCH_TEST_DIR")/.initramfs-cache}
	mkdir -p "$cache" "$HUTCH_TEST_DIR/acpi/PWRF"
	FW_PATTERN=$HUTCH_TEST_DIR/pattern.raw
	fw_pattern "$FW_PATTERN"
	cat > "$HUTCH_TEST_DIR/acpi/PWRF/00000080" <<-'ACTION'
	#!/bin/sh
	echo "HUTCH-RESULT powerbutton=seen" > /dev/console
	poweroff -f
	ACTION
	chmod +x "$HUTCH_TEST_DIR/acpi/PWRF/00000080"
	init=$HUTCH_TEST_DIR/fw-init.sh
	cat > "$init" <<-'INIT'
	mode=checks medium=unknown
	for w in $(cat /proc/cmdline); do
		case $w in hutch.mode=*) mode=${w#*=} ;; hutch.medium=*) medium=${w#*=} ;; esac
	done
	echo "HUTCH-RESULT booted=1 mode=$mode medium=$medium nproc=$(nproc)"
	case $mode in
	poweroff)
		poweroff -f ;;
	reboot)
		sleep 1
		echo "HUTCH-RESULT rebooting=1"
		reboot -f ;;
	checks)
		acpid -d -f -c /etc/acpi > /dev/null 2>&1 &
		# Known text on tty1 (the screen), the cursor hidden: ESC[?25l.
		printf '\033[2J\033[H\033[?25l' > /dev/tty1
		printf 'HUTCH SCREEN TEST: the quick brown fox jumps over the lazy dog 0123456789\n' > /dev/tty1
		printf 'ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz !"#$%%&()*+,-./:;<=>?@[]^_{|}~\n' > /dev/tty1
		printf '\033[1;33;44m yellow on blue \033[0m \033[7m reversed \033[0m\n' > /dev/tty1
		sleep 1
		echo "HUTCH-RESULT text_ready=1"
		while true; do sleep 1; done ;;
	fb)
		fb=/sys/class/graphics/fb0
		for _ in $(seq 1 50); do [ -e /dev/fb0 ] && break; sleep 0.1; done
		echo "HUTCH-RESULT fb_name=$(tr ' ' _ < $fb/name) fb_size=$(cat $fb/virtual_size | tr , x) fb_bpp=$(cat $fb/bits_per_pixel) fb_stride=$(cat $fb/stride)"
		# fbcon draws the console on fb0: unbind it so only the pattern shows.
		for v in /sys/class/vtconsole/vtcon*; do
			grep -q "frame buffer" "$v/name" && echo 0 > "$v/bind"
		done
		cat /pattern.raw > /dev/fb0 2> /dev/null
		sleep 1
		echo "HUTCH-RESULT fb_ready=1"
		while true; do sleep 1; done ;;
	esac
	INIT
	# The prelude loads every module it carries: bochs (which takes the
	# screen out of text mode) only in the "fb" guest's initramfs.
	mk_initramfs "$HUTCH_TEST_DIR/fw-initrd.gz" "$init" --module button --module evdev \
		--file "$HUTCH_TEST_DIR/acpi:/etc/acpi"
	mk_initramfs "$HUTCH_TEST_DIR/fw-initrd-fb.gz" "$init" --module bochs --file "$FW_PATTERN:/pattern.raw"
	for kind in iso-checks iso-reboot iso-fb disk-poweroff; do
		mode=${kind#*-}
		local initrd=$HUTCH_TEST_DIR/fw-initrd.gz extra=""
		[ "$mode" != fb ] || { initrd=$HUTCH_TEST_DIR/fw-initrd-fb.gz; extra="video=1024x768"; }
		key=$(fw_cache_key "$kind" "$FW_CMDLINE" "$(sha256sum < "$initrd")" "$(sha256sum < "$HUTCH_KERNEL")")
		local out=$cache/fw-$kind-$key.img
		if [ ! -f "$out" ]; then
			"$GUEST_DIR/mkbootimage.sh" "${kind%%-*}" "$out.tmp" "$HUTCH_KERNEL" "$initrd" \
				"$FW_CMDLINE hutch.mode=$mode hutch.medium=${kind%%-*} $extra" ||
				fail "cannot build the $kind boot image"
			mv "$out.tmp" "$out"
		fi
		case $kind in
		iso-checks) FW_ISO_CHECKS=$HUTCH_TEST_DIR/checks.iso; cp "$out" "$FW_ISO_CHECKS" ;;
		iso-reboot) FW_ISO_REBOOT=$HUTCH_TEST_DIR/reboot.iso; cp "$out" "$FW_ISO_REBOOT" ;;
		iso-fb) FW_ISO_FB=$HUTCH_TEST_DIR/fb.iso; cp "$out" "$FW_ISO_FB" ;;
		disk-poweroff) FW_DISK_SRC=$out ;;
		esac
	done
}

# fw_disk_copy OUT: a fresh copy of the disk image (each VM writes its own).
fw_disk_copy() { cp "$FW_DISK_SRC" "$1"; }

fw_vm() {   # VM [modifyvm options...]
	local vm=$1; shift
	VBoxManage createvm --name "$vm" --ostype Linux_64 --register > /dev/null ||
		fail "createvm $vm: $(tail -n 2 "$HUTCH_TEST_DIR/vmctl.log")"
	VBoxManage modifyvm "$vm" --memory 512 --nic1 none --uart1 0x3F8 4 \
		--uartmode1 file "$HUTCH_TEST_DIR/$vm.serial" "$@" ||
		fail "modifyvm $vm: $(tail -n 2 "$HUTCH_TEST_DIR/vmctl.log")"
	LOGS+=("$HUTCH_TEST_DIR/$vm.serial" "$HUTCH_TEST_DIR/config/Hutch VMs/$vm/Logs/hutch-vm.log")
	FW_VMS+=("$vm")
}

fw_start() {   # VM
	: > "$HUTCH_TEST_DIR/$1.serial"
	VBoxManage startvm "$1" --type headless > /dev/null ||
		fail "startvm $1: $(tail -n 3 "$HUTCH_TEST_DIR/vmctl.log")"
}

fw_result() { get_result "$2" "$HUTCH_TEST_DIR/$1.serial"; }

fw_wait() {   # VM KEY [SECONDS]
	local i
	for ((i = 0; i < ${3:-120} * 2; i++)); do
		grep -q "HUTCH-RESULT.*$2=" "$HUTCH_TEST_DIR/$1.serial" 2> /dev/null && return 0
		sleep 0.5
	done
	fail "$1: the guest never reported $2 within ${3:-120}s"
}

fw_wait_state() {   # VM STATE [SECONDS]
	local i
	for ((i = 0; i < ${3:-60} * 2; i++)); do
		[ "$(mr "$1" VMState)" = "$2" ] && return 0
		sleep 0.5
	done
	fail "$1: VMState $(mr "$1" VMState), expected $2 within ${3:-60}s"
}

fw_sock() { echo "$HUTCH_RUNTIME_DIR/$(mr "$1" UUID).sock"; }

fw_screen_wait() {   # VM STRING [SECONDS]
	local i out=$HUTCH_TEST_DIR/$1.screenwait.txt
	for ((i = 0; i < ${3:-120}; i++)); do
		if python3 "$SCREENCHECK" fetch "$(fw_sock "$1")" "$out" 2> /dev/null &&
			grep -q "^text [0-9]* .*$2" "$out"; then
			return 0
		fi
		sleep 1
	done
	LOGS+=("$out")
	fail "$1: '$2' never appeared on the screen within ${3:-120}s"
}

fw_screen_check() {   # VM NAME [screencheck text options...]
	local vm=$1 name=$2 out; shift 2
	VBoxManage controlvm "$vm" pause || fail "pause $vm"
	python3 "$SCREENCHECK" fetch "$(fw_sock "$vm")" "$HUTCH_TEST_DIR/$name.txt" ||
		{ VBoxManage controlvm "$vm" resume; fail "$vm: screentext failed"; }
	VBoxManage controlvm "$vm" screenshotpng "$HUTCH_TEST_DIR/$name.png" ||
		{ VBoxManage controlvm "$vm" resume; fail "$vm: screenshotpng: $(tail -n 1 "$HUTCH_TEST_DIR/vmctl.log")"; }
	VBoxManage controlvm "$vm" resume || fail "resume $vm"
	out=$(python3 "$SCREENCHECK" text "$HUTCH_TEST_DIR/$name.png" "$HUTCH_TEST_DIR/$name.txt" "$@" 2>&1) ||
		{ LOGS+=("$HUTCH_TEST_DIR/$name.txt"); fail "$vm: the screenshot does not show the text: $out"; }
	note "$out"
}
