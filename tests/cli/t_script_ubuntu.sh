#!/usr/bin/env bash
# A creation script of the kind found in public repositories (Packer/CI
# style), with VBoxManage replaced by vmctl, run with set -e to the end.
. "$(dirname "$0")/lib.sh"
VBoxManage() { vmctl "$@"; }
truncate -s 4M ubuntu.iso
VM=ubuntu-ci

VBoxManage createvm --name "$VM" --ostype Ubuntu_64 --register > create.out
grep -q "^Virtual machine '$VM' is created and registered.$" create.out || fail "createvm's first line"
grep -qE '^UUID: [0-9a-f-]{36}$' create.out || fail "createvm's UUID line"
grep -q "^Settings file: '$HUTCH_CONFIG_HOME/Hutch VMs/$VM/$VM.hutch'$" create.out || fail "createvm's Settings file line"
VBoxManage modifyvm "$VM" --memory 2048 --cpus 2 --vram 128 --graphicscontroller vmsvga
VBoxManage modifyvm "$VM" --ioapic on --pae on --rtcuseutc on --audio none --usb off --mouse usbtablet \
	--boot1 dvd --boot2 disk --boot3 none --boot4 none 2> warn.out
[ "$(wc -l < warn.out)" = 1 ] || fail "expected one warning line, got: $(cat warn.out)"
grep -q "vmctl: warning: .*--ioapic, --pae, --rtcuseutc, --audio, --usb$" warn.out ||
	fail "warning does not name the stored flags: $(cat warn.out)"
expect_mr "$VM" hidpointing usbtablet
VBoxManage modifyvm "$VM" --mouse ps2
expect_mr "$VM" hidpointing ps2
expect_status 1 VBoxManage modifyvm "$VM" --mouse usbmultitouch
expect_err "invalid pointing device 'usbmultitouch': expected one of ps2, usbtablet"
VBoxManage modifyvm "$VM" --mouse usbtablet
VBoxManage modifyvm "$VM" --nic1 nat --nictype1 virtio --cableconnected1 on
VBoxManage modifyvm "$VM" --natpf1 "ssh,tcp,127.0.0.1,2222,,22" --natpf1 "web,tcp,,8080,,80"
VBoxManage modifyvm "$VM" --nic2 bridged --bridgeadapter2 eth0 --nictype2 82540EM
VBoxManage modifyvm "$VM" --description "CI runner
second line"
VBoxManage createhd --filename "$T/$VM.vdi" --size 10240 --format VDI 2> progress.out > medium.out
grep -q '^0%\.\.\.10%\.\.\.20%\.\.\.30%\.\.\.40%\.\.\.50%\.\.\.60%\.\.\.70%\.\.\.80%\.\.\.90%\.\.\.100%$' progress.out ||
	fail "progress: $(cat progress.out)"
grep -qE '^Medium created. UUID: [0-9a-f-]{36}$' medium.out || fail "createhd's result line"
VBoxManage storagectl "$VM" --name "SATA Controller" --add sata --controller IntelAhci --portcount 1 --bootable on
VBoxManage storageattach "$VM" --storagectl "SATA Controller" --port 0 --device 0 --type hdd --medium "$T/$VM.vdi"
VBoxManage storagectl "$VM" --name "IDE Controller" --add ide --controller PIIX4
VBoxManage storageattach "$VM" --storagectl "IDE Controller" --port 0 --device 0 --type dvddrive --medium ubuntu.iso
VBoxManage storageattach "$VM" --storagectl "IDE Controller" --port 1 --device 0 --type dvddrive --medium emptydrive

expect_mr "$VM" name "$VM"
expect_mr "$VM" ostype "Ubuntu (64-bit)"
expect_mr "$VM" memory 2048
expect_mr "$VM" cpus 2
expect_mr "$VM" vram 128
expect_mr "$VM" graphicscontroller vmsvga
expect_mr "$VM" boot1 dvd
expect_mr "$VM" boot2 disk
expect_mr "$VM" VMState poweroff
expect_mr "$VM" nic1 nat
expect_mr "$VM" natnet1 nat
expect_mr "$VM" nictype1 virtio
expect_mr "$VM" cableconnected1 on
expect_mr "$VM" "Forwarding(0)" "ssh,tcp,127.0.0.1,2222,,22"
expect_mr "$VM" "Forwarding(1)" "web,tcp,,8080,,80"
expect_mr "$VM" nic2 bridged
expect_mr "$VM" bridgeadapter2 eth0
expect_mr "$VM" nic3 none
expect_mr "$VM" "SATA Controller-0-0" "$T/$VM.vdi"
expect_mr "$VM" "IDE Controller-0-0" "$T/ubuntu.iso"
expect_mr "$VM" "IDE Controller-1-0" emptydrive
expect_mr "$VM" "IDE Controller-0-1" none
expect_mr "$VM" storagecontrollertype0 IntelAhci
expect_mr "$VM" storagecontrollerportcount0 1
expect_mr "$VM" storagecontrollertype1 PIIX4
expect_mr "$VM" pae on
expect_mr "$VM" audio none
expect_mr "$VM" description 'CI runner\nsecond line'
vmctl showvminfo "$VM" --machinereadable | has '^"SATA Controller-0-0"="'"$T/$VM.vdi"'"$' ||
	fail "storage keys are not quoted as VBoxManage quotes them"
vmctl showvminfo "$VM" --machinereadable | has '^Forwarding(0)="ssh,tcp,127.0.0.1,2222,,22"$' ||
	fail "Forwarding(0) line"
vmctl showvminfo "$VM" | has "^Memory size:  *2048MB$" || fail "human showvminfo"
vmctl list vms | has -E "^\"$VM\" \{[0-9a-f-]{36}\}$" || fail "list vms"
vmctl list hdds | has "^Location:       $T/$VM.vdi$" || fail "list hdds"
vmctl list dvds | has "^Location:       $T/ubuntu.iso$" || fail "list dvds"
note "$(vmctl showvminfo "$VM" --machinereadable | wc -l) machine-readable lines checked"
check_schemas
