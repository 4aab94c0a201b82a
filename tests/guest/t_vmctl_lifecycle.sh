#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# A VBoxManage-style script with vmctl on a real guest: createvm, modifyvm
# (memory, cpus, direct kernel boot, serial console to a file),
# showvminfo --machinereadable, startvm --type headless, list runningvms,
# controlvm pause/resume (the guest's clock keeps going), and
# acpipowerbutton seen by the guest's acpid, which powers off: then
# list runningvms is empty and VMState="poweroff".
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
VMCTL=${HUTCH_BUILD_DIR:+$HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl}
[ -x "${VMCTL:-}" ] || VMCTL=$(dirname "$HUTCH_VM")/vmctl/vmctl
[ -x "$VMCTL" ] || fail "no vmctl at $VMCTL"
# Settings live in the test's directory; sockets in a short /tmp path
# (UNIX socket paths are limited to 108 bytes).
export HUTCH_CONFIG_HOME=$HUTCH_TEST_DIR/config
HUTCH_RUNTIME_DIR=$(mktemp -d /tmp/hutch-rt.XXXXXX)
export HUTCH_RUNTIME_DIR
# Nested KVM in the sandbox can take 10 s and more to reach "running".
export HUTCH_START_TIMEOUT=${HUTCH_START_TIMEOUT:-180}
trap 'rm -rf "$HUTCH_RUNTIME_DIR"' EXIT
VBoxManage() { "$VMCTL" "$@"; }

mkdir -p "$HUTCH_TEST_DIR/acpi/PWRF"
cat > "$HUTCH_TEST_DIR/acpi/PWRF/00000080" <<'ACTION'
#!/bin/sh
echo "HUTCH-RESULT powerbutton=seen" > /dev/console
poweroff -f
ACTION
chmod +x "$HUTCH_TEST_DIR/acpi/PWRF/00000080"
cat > "$HUTCH_TEST_DIR/init.sh" <<'INIT'
acpid -d -f -c /etc/acpi > /dev/null 2>&1 &
echo "HUTCH-RESULT ready=1 nproc=$(nproc)"
while true; do echo "HUTCH-RESULT tick=$(date +%s)"; sleep 1; done
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh" \
	--module button --module evdev --file "$HUTCH_TEST_DIR/acpi:/etc/acpi"

VM=lifecycle
VM_SERIAL=$HUTCH_TEST_DIR/console.log
LOGS+=("$VM_SERIAL" "$HUTCH_TEST_DIR/config/Hutch VMs/$VM/Logs/hutch-vm.log" "$HUTCH_TEST_DIR/vmctl.log")
VBoxManage createvm --name "$VM" --ostype Linux_64 --register >> "$HUTCH_TEST_DIR/vmctl.log"
VBoxManage modifyvm "$VM" --memory 512 --cpus 2 --nic1 none --ioapic on --rtcuseutc on \
	2>> "$HUTCH_TEST_DIR/vmctl.log"
VBoxManage modifyvm "$VM" --kernel "$HUTCH_KERNEL" --initrd "$HUTCH_TEST_DIR/initrd.gz" \
	--cmdline "console=ttyS0 quiet panic=-1"
VBoxManage modifyvm "$VM" --uart1 0x3F8 4 --uartmode1 file "$VM_SERIAL"

mr() {   # KEY: a value from showvminfo --machinereadable
	VBoxManage showvminfo "$VM" --machinereadable | sed -n "s/^\"\{0,1\}$1\"\{0,1\}=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p"
}
expect_eq memory "$(mr memory)" 512
expect_eq cpus "$(mr cpus)" 2
expect_eq kernel "$(mr kernel)" "$HUTCH_KERNEL"
expect_eq VMState "$(mr VMState)" poweroff

start=$(date +%s)
VBoxManage startvm "$VM" --type headless > "$HUTCH_TEST_DIR/start.out" 2>> "$HUTCH_TEST_DIR/vmctl.log" ||
	fail "startvm failed: $(cat "$HUTCH_TEST_DIR/vmctl.log")"
grep -q "^VM \"$VM\" has been successfully started.$" "$HUTCH_TEST_DIR/start.out" ||
	fail "startvm said: $(cat "$HUTCH_TEST_DIR/start.out")"
note "startvm returned after $(( $(date +%s) - start ))s"
running=$(VBoxManage list runningvms)
grep -q "^\"$VM\" {" <<< "$running" || fail "list runningvms: '$running'"
note "list runningvms: $running"
expect_eq VMState "$(mr VMState)" running
for _ in $(seq 1 240); do grep -q "ready=1" "$VM_SERIAL" 2> /dev/null && break; sleep 0.5; done
grep -q "ready=1" "$VM_SERIAL" || fail "guest never got ready"
expect_eq "guest vCPUs" "$(result nproc)" 2

VBoxManage controlvm "$VM" pause
expect_eq VMState "$(mr VMState)" paused
paused_at=$(date +%s)
sleep 1
last_before=$(result tick)
sleep 3
last_during=$(result tick)
[ "$last_before" = "$last_during" ] || fail "guest kept running while paused ($last_before -> $last_during)"
note "no ticks while paused (last $last_before)"
VBoxManage controlvm "$VM" resume
expect_eq VMState "$(mr VMState)" running
sleep 3
last_after=$(result tick)
[ -n "$last_after" ] && [ "$last_after" -ge $((paused_at + 3)) ] ||
	fail "guest clock after resume ($last_after) did not move on past the pause ($paused_at)"
note "guest clock after resume: $last_after (paused at $paused_at)"

VBoxManage controlvm "$VM" acpipowerbutton
for _ in $(seq 1 120); do [ "$(mr VMState)" = poweroff ] && break; sleep 0.5; done
expect_eq "guest saw the power button" "$(result powerbutton)" seen
expect_eq VMState "$(mr VMState)" poweroff
[ -z "$(VBoxManage list runningvms)" ] || fail "list runningvms not empty: $(VBoxManage list runningvms)"
note "list runningvms is empty"

# A VM whose hutch-vm is killed shows as aborted, as in VirtualBox.
VBoxManage startvm "$VM" --type headless > /dev/null 2>> "$HUTCH_TEST_DIR/vmctl.log" ||
	fail "second startvm failed: $(tail -n 3 "$HUTCH_TEST_DIR/vmctl.log")"
pid=$(sed -n 's/^running pid=//p' "$HUTCH_RUNTIME_DIR/$(mr UUID).state")
[ -n "$pid" ] || fail "no pid in the state file"
kill -9 "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
expect_eq "VMState after kill -9" "$(mr VMState)" aborted
[ -z "$(VBoxManage list runningvms)" ] || fail "an aborted VM is listed as running"
note "killed hutch-vm: VMState=aborted, not in runningvms"
