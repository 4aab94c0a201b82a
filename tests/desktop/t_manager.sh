#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The manager (hutch) under Xvfb on a 1024x600 screen, driven with
# xdotool like a user with a keyboard: the New VM wizard creates a VM with
# a new disk and an ISO, and vmctl showvminfo --machinereadable must show
# exactly what was chosen (the ISO picked with the file chooser); the list
# follows a VM that vmctl starts and powers off (a fake hutch-vm,
# tests/cli/fake-hutch-vm.py) within 2 s, and Pause, Resume and a
# confirmed Reset from the manager reach it; the
# Settings dialog changes the memory; Delete removes the VM and its disk
# but keeps the ISO.  Screenshots of the list, the wizard, each Settings
# page and the delete confirmation go to $HUTCH_ARTIFACTS/manager.
# Skips (77) without Xvfb, xdotool or xwd, or when hutch was not built.
set -euo pipefail
: "${VMCTL:?}"
DIR=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*" >&2; [ -f "${T:-}/hutch.log" ] && sed 's/^/  hutch: /' "$T/hutch.log" >&2; exit 1; }
note() { echo "  $*"; }
# shellcheck source=manager_lib.sh
. "$DIR/manager_lib.sh"

if [ -z "${HUTCH_MANAGER:-}" ] || [ ! -x "$HUTCH_MANAGER" ]; then
	echo "SKIP: hutch (the manager) was not built (needs libimgui-dev, libsdl2-dev, g++)"
	exit 77
fi
if missing=$(mgr_missing_tools); then
	echo "SKIP: missing$missing (apt-get install xvfb xdotool x11-apps)"
	exit 77
fi

T=$(mktemp -d /tmp/hutch-desktop.XXXXXX)
ART=${HUTCH_ARTIFACTS:-$T/artifacts}/manager
cleanup() {
	mgr_stop
	for s in "$XDG_RUNTIME_DIR"/hutch/*.state "$XDG_RUNTIME_DIR"/*.state; do
		[ -f "$s" ] || continue
		pid=$(sed -n 's/^running pid=//p' "$s")
		if [ -n "$pid" ]; then kill "$pid" 2> /dev/null || true; fi
	done
	rm -rf "$T"
}
trap cleanup EXIT
# A private home: the manager and vmctl find the registry through the XDG dirs, as for a user.
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config XDG_RUNTIME_DIR=$T/run
unset HUTCH_CONFIG_HOME HUTCH_RUNTIME_DIR
mkdir -p "$HOME" "$XDG_CONFIG_HOME" && mkdir -m 700 "$XDG_RUNTIME_DIR"
export HUTCH_VM=$DIR/../cli/fake-hutch-vm.py HUTCH_SCALE=1
vmctl() { "$VMCTL" "$@"; }
mr() {   # VM KEY: a value of showvminfo --machinereadable, quotes removed
	vmctl showvminfo "$1" --machinereadable | awk -v k="$2" '
		{ i = index($0, "="); key = substr($0, 1, i - 1); val = substr($0, i + 1)
		  gsub(/^"|"$/, "", key); gsub(/^"|"$/, "", val); if (key == k) { print val; f = 1 } }
		END { exit f ? 0 : 1 }'
}
expect_mr() { local got; got=$(mr "$1" "$2") || fail "showvminfo $1 has no $2"
	[ "$got" = "$3" ] || fail "$1: $2 is '$got', expected '$3'"; }

vmctl createvm --name alpha --ostype Ubuntu_64 --default --register > /dev/null
# A VM hutch-vm cannot start (EFI firmware): its error must show in the window.
vmctl createvm --name broken --ostype Other_64 --register > /dev/null
vmctl modifyvm broken --firmware efi
truncate -s 4M "$T/installer.iso"
# The file chooser must list only .iso files and find installer.iso by typing.
truncate -s 4M "$T/other.iso"
: > "$T/installer.txt"
export FAKE_VM_RECORD=$T/record
mkdir -p "$FAKE_VM_RECORD"
mgr_start_x 1024x600x24
mgr_start
mgr_wait_line "alpha	powered off" 5000 > /dev/null || fail "the list does not show alpha: $(cat "$MGR_LIST" 2>&1)"

note "live list: vmctl startvm / poweroff"
vmctl startvm alpha --type headless > /dev/null
ms=$(mgr_wait_line "alpha	running" 2000) || fail "the list did not show alpha running within 2 s: $(cat "$MGR_LIST")"
note "running shown after $ms ms"
mgr_shot list-running

note "Pause, Resume and Reset (confirmed) with the tool bar's keys"
mgr_click 100 75              # the first row: alpha
mgr_key ctrl+p
ms=$(mgr_wait_line "alpha	paused" 3000) || fail "Ctrl+P did not pause alpha: $(cat "$MGR_LIST")"
[ "$(mr alpha VMState)" = paused ] || fail "vmctl does not see alpha paused"
mgr_shot list-paused
mgr_key ctrl+p
mgr_wait_line "alpha	running" 3000 > /dev/null || fail "Ctrl+P did not resume alpha: $(cat "$MGR_LIST")"
note "paused shown after $ms ms, then resumed"
mgr_key ctrl+t
mgr_shot reset-confirm
grep -qx reset "$FAKE_VM_RECORD/alpha.requests" && fail "alpha was reset before the confirmation"
mgr_key Escape                # Cancel: no reset
sleep 0.5
grep -qx reset "$FAKE_VM_RECORD/alpha.requests" && fail "alpha was reset although the confirmation was cancelled"
mgr_key ctrl+t
mgr_key Return                # Reset
for i in $(seq 30); do grep -qx reset "$FAKE_VM_RECORD/alpha.requests" && break; sleep 0.1; done
grep -qx reset "$FAKE_VM_RECORD/alpha.requests" || fail "the confirmed reset did not reach alpha: $(cat "$FAKE_VM_RECORD/alpha.requests")"
vmctl controlvm alpha poweroff
ms=$(mgr_wait_line "alpha	powered off" 2000) || fail "the list did not show alpha powered off within 2 s: $(cat "$MGR_LIST")"
note "powered off shown after $ms ms"

note "an error from libhutch is shown, and hutch lives on"
mgr_click 100 97              # the second row: broken
xdotool click --repeat 2 --delay 80 1   # double-click starts it
sleep 1
mgr_shot error
grep -q "broken.*EFI\|EFI" "$T/hutch.log" || fail "no error for starting an EFI VM: $(cat "$T/hutch.log")"
mgr_key Return                # OK
kill -0 "$MGR_PID" || fail "hutch died on the error"
seen=$(wc -l < "$T/hutch.log")   # later, any other complaint fails the test

note "New VM wizard, by keyboard"
mgr_key ctrl+n
mgr_type "wiz vm"            # Name (focused when the wizard opens)
mgr_key Tab
mgr_type "debian 12"          # OS type search: picks Debian 12 Bookworm (64-bit)
mgr_key Tab
mgr_type 768                  # Memory (MB)
mgr_key Tab
mgr_type 2                    # Processors
mgr_key Tab
mgr_type 0.5                  # Disk size (GB)
mgr_key Tab
mgr_type "$T/"                # ISO image: its folder, then the file chooser (Ctrl+O) there
mgr_key ctrl+o
mgr_shot iso-chooser
mgr_type "install"            # filters the folder's .iso files to one
mgr_key Return                # picks it
mgr_shot wizard
mgr_key ctrl+Return           # creates the VM
mgr_wait_line "wiz vm	powered off" 10000 > /dev/null ||
	fail "the wizard's VM did not appear in the list: $(cat "$MGR_LIST")"
mgr_shot list

expect_mr "wiz vm" name "wiz vm"
expect_mr "wiz vm" ostype "Debian 12 Bookworm (64-bit)"
expect_mr "wiz vm" memory 768
expect_mr "wiz vm" cpus 2
expect_mr "wiz vm" IDE-1-0 "$T/installer.iso"
disk=$(mr "wiz vm" SATA-0-0) || fail "the VM has no disk on SATA port 0"
# VirtualBox's layout: the default machine folder ~/Hutch VMs, a folder per VM.
[ "$disk" = "$HOME/Hutch VMs/wiz vm/wiz vm.vdi" ] || fail "the disk is at '$disk', not in the VM's folder"
[ -f "$disk" ] || fail "the disk $disk does not exist"
vmctl list hdds | grep -A6 -F "Location:       $disk" | grep -q "Capacity:       512 MBytes" ||
	fail "the disk is not registered with 512 MB: $(vmctl list hdds)"
expect_mr "wiz vm" nic1 nat

note "Settings: memory, then each page"
mgr_key ctrl+s                # the new VM is selected; Memory has the keyboard
mgr_type 1024
mgr_shot settings-system
mgr_key ctrl+Next
mgr_shot settings-storage
mgr_key ctrl+Next
mgr_shot settings-network
mgr_key ctrl+Return           # OK
sleep 1
mgr_shot settings-saved
expect_mr "wiz vm" memory 1024

note "Delete with confirmation"
mgr_key Delete
mgr_shot delete-confirm
mgr_key Return
mgr_wait_line "alpha	powered off" 5000 > /dev/null || fail "alpha vanished"
for i in $(seq 50); do grep -qF "wiz vm" "$MGR_LIST" || break; sleep 0.1; done
grep -qF "wiz vm" "$MGR_LIST" && fail "the deleted VM is still listed: $(cat "$MGR_LIST")"
vmctl list vms | grep -qF '"wiz vm"' && fail "the deleted VM is still registered"
[ -e "$disk" ] && fail "the deleted VM's disk $disk is still there"
[ -f "$T/installer.iso" ] || fail "the ISO was deleted with the VM"
kill -0 "$MGR_PID" || fail "hutch died"
tail -n +$((seen + 1)) "$T/hutch.log" | grep -i "error\|warning" && fail "hutch complained (above)"
mgr_quit
[ -n "${HUTCH_ARTIFACTS:-}" ] || note "(set HUTCH_ARTIFACTS to keep the screenshots)"
echo "PASS"
