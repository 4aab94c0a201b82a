#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# A hostile guest and a careless user, through vmctl on a real guest:
# - the guest writes a qcow2 header naming a host file as its backing file
#   over the start of its raw SATA disk; after poweroff and a second
#   startvm the disk is still raw (sector 0 holds the header the guest
#   wrote) and the host file's bytes never reach the guest (the medium's
#   registered format travels with it to hutch-vm, no probing);
# - while the VM runs, its images are locked: a second hutch-vm on the raw
#   disk, `vmctl modifymedium --compact` on its qcow2 disk and `qemu-img
#   info` without -U are refused with a message about the lock (or, from
#   vmctl, about the running VM that holds it); after
#   poweroff all three succeed;
# - the running hutch-vm is confined by seccomp (/proc/PID/status says
#   "Seccomp: 2").
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
T=$HUTCH_TEST_DIR
VMCTL=$HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl
[ -x "$VMCTL" ] || fail "no vmctl at $VMCTL"
command -v qemu-img > /dev/null || fail "qemu-img missing (qemu-utils)"
export HUTCH_CONFIG_HOME=$T/config
HUTCH_RUNTIME_DIR=$(mktemp -d /tmp/hutch-rt.XXXXXX)
export HUTCH_RUNTIME_DIR
export HUTCH_START_TIMEOUT=${HUTCH_START_TIMEOUT:-180}
trap 'rm -rf "$HUTCH_RUNTIME_DIR"' EXIT

# The host file a hostile guest wants to read, and the qcow2 image (header,
# refcounts, L1) whose backing file it is: what the guest writes to its disk.
for _ in $(seq 1 2048); do echo "HOST-SECRET-BYTES-0123456789abcdef"; done > "$T/secret.txt"
qemu-img create -q -f qcow2 -F raw -b "$T/secret.txt" "$T/evil.qcow2" 16M ||
	fail "qemu-img could not make the evil header"
evil_bytes=$(stat -c %s "$T/evil.qcow2")

# The raw disk is told from the qcow2 one by its size (32 and 48 MiB): the
# kernel names SATA disks in the order their probes finish.
cat > "$T/init.sh" <<INIT
i=0; while [ ! -b /dev/sdb ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
for d in sda sdb; do [ "\$(cat /sys/block/\$d/size)" = $((32 * 2048)) ] && disk=/dev/\$d; done
magic=\$(head -c 4 \$disk | od -An -c | tr -d ' \n')
if [ "\$magic" = 'QFI373' ]; then
	# Second boot: the disk must still be raw: the header is plain data,
	# and nothing of the host file shows anywhere on the disk.
	echo "HUTCH-RESULT phase=check"
	same=\$(head -c $evil_bytes \$disk | cmp -s - /evil.qcow2 && echo yes || echo no)
	leaked=\$(cat /dev/sda /dev/sdb | grep -c HOST-SECRET)
	echo "HUTCH-RESULT header_intact=\$same secret_lines=\$leaked"
else
	echo "HUTCH-RESULT phase=write first=\$magic"
	dd if=/evil.qcow2 of=\$disk bs=64k conv=fsync 2> /dev/null
	sync
	echo 3 > /proc/sys/vm/drop_caches
	echo "HUTCH-RESULT written=\$(head -c 4 \$disk | od -An -c | tr -d ' \n')"
fi
echo "HUTCH-RESULT ready=1"
while true; do sleep 1; done
INIT
mk_initramfs "$T/initrd.gz" "$T/init.sh" --file "$T/evil.qcow2:/evil.qcow2" \
	--module ahci --module sd_mod

VM=hostile
VM_SERIAL=$T/console.log
LOGS+=("$VM_SERIAL" "$T/config/Hutch VMs/$VM/Logs/hutch-vm.log" "$T/vmctl.log")
v() { "$VMCTL" "$@" 2>> "$T/vmctl.log"; }
v createvm --name "$VM" --ostype Linux_64 --register > /dev/null || fail "createvm failed"
v modifyvm "$VM" --memory 256 --cpus 1 --nic1 none || fail "modifyvm failed"
v modifyvm "$VM" --kernel "$HUTCH_KERNEL" --initrd "$T/initrd.gz" --cmdline "$GUEST_APPEND" || fail "modifyvm --kernel failed"
v modifyvm "$VM" --uart1 0x3F8 4 --uartmode1 file "$VM_SERIAL" || fail "modifyvm --uart1 failed"
v createmedium disk --filename "$T/raw.img" --size 32 --format RAW > /dev/null || fail "createmedium RAW failed"
v createmedium disk --filename "$T/data.qcow2" --size 48 --format qcow2 > /dev/null || fail "createmedium qcow2 failed"
v storagectl "$VM" --name SATA --add sata --controller IntelAhci || fail "storagectl failed"
v storageattach "$VM" --storagectl SATA --port 0 --device 0 --type hdd --medium "$T/raw.img" || fail "storageattach raw failed"
v storageattach "$VM" --storagectl SATA --port 1 --device 0 --type hdd --medium "$T/data.qcow2" || fail "storageattach qcow2 failed"

boot() {   # PHASE: start the VM and wait for the guest's ready line
	: > "$VM_SERIAL"
	v startvm "$VM" --type headless > /dev/null || fail "startvm ($1) failed: $(tail -n 3 "$T/vmctl.log")"
	for _ in $(seq 1 360); do grep -q "ready=1" "$VM_SERIAL" 2> /dev/null && break; sleep 0.5; done
	grep -q "ready=1" "$VM_SERIAL" || fail "guest ($1) never got ready"
	expect_eq "boot" "$(result phase)" "$1"
}
poweroff_vm() {
	v controlvm "$VM" poweroff || fail "controlvm poweroff failed"
	for _ in $(seq 1 60); do [ -z "$(v list runningvms)" ] && break; sleep 0.5; done
	[ -z "$(v list runningvms)" ] || fail "the VM still runs after poweroff"
}

note "--- first boot: the guest writes a qcow2 header (backing file: a host file) over its raw disk"
boot write
expect_eq "sector 0 after the guest's write" "$(result written)" QFI373
uuid=$(v showvminfo "$VM" --machinereadable | sed -n 's/^UUID="\(.*\)"$/\1/p')
pid=$(sed -n 's/^running pid=//p' "$HUTCH_RUNTIME_DIR/$uuid.state")
[ -n "$pid" ] || fail "no pid in the state file"
expect_eq "hutch-vm's seccomp mode" "$(sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$pid/status")" 2

note "--- while it runs, its images are locked"
set +e
timeout 60 "$HUTCH_VM" --kernel "$HUTCH_KERNEL" --memory 64 \
	--drive "file=$T/raw.img,format=raw,if=sata" > "$T/second.out" 2>&1
second=$?
timeout 60 "$VMCTL" modifymedium "$T/data.qcow2" --compact > "$T/compact.out" 2>&1
compact=$?
timeout 60 qemu-img info "$T/data.qcow2" > "$T/info.out" 2>&1
info=$?
set -e
[ "$second" != 0 ] && grep -qi lock "$T/second.out" ||
	fail "a second hutch-vm on the running VM's disk: status $second: $(cat "$T/second.out")"
note "second hutch-vm: $(grep -i lock "$T/second.out" | head -n 1)"
# vmctl knows the VM is running and says so before the image's lock does.
[ "$compact" != 0 ] && grep -qi -e lock -e "in use by the running VM" "$T/compact.out" ||
	fail "compact of the running VM's disk: status $compact: $(cat "$T/compact.out")"
note "compact: $(head -n 1 "$T/compact.out")"
[ "$info" != 0 ] && grep -qi lock "$T/info.out" ||
	fail "qemu-img info of the running VM's disk: status $info: $(cat "$T/info.out")"
note "qemu-img info: $(grep -i lock "$T/info.out" | head -n 1)"
poweroff_vm

note "--- after poweroff the same three succeed"
"$VMCTL" modifymedium "$T/data.qcow2" --compact > "$T/compact2.out" 2>&1 ||
	fail "compact after poweroff: $(cat "$T/compact2.out")"
qemu-img info "$T/data.qcow2" > "$T/info2.out" 2>&1 || fail "qemu-img info after poweroff: $(cat "$T/info2.out")"
set +e
timeout 120 "$HUTCH_VM" --kernel "$HUTCH_KERNEL" --memory 64 --append "panic=-1 quiet" --no-reboot \
	--drive "file=$T/raw.img,format=raw,if=sata" > "$T/second2.out" 2>&1
set -e
! grep -qi lock "$T/second2.out" || fail "hutch-vm after poweroff: $(cat "$T/second2.out")"
note "after poweroff: compact, qemu-img info and a second hutch-vm open the images"

note "--- second boot: the disk is still raw, and the host file never shows"
boot check
expect_result header_intact yes
expect_result secret_lines 0
poweroff_vm
