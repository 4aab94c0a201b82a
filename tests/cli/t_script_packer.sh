#!/usr/bin/env bash
# The command sequence Packer's virtualbox-iso builder and Vagrant's
# "customize" lines run (VBoxManage 7 spellings, many flags Hutch only
# stores), then the clean-up they do: detach the ISO, unregister, delete.
. "$(dirname "$0")/lib.sh"
VBoxManage() { vmctl "$@"; }
VM=packer-debian-12
truncate -s 2M debian-12.iso
VBoxManage createvm --name "$VM" --ostype Debian_64 --register --basefolder "$T/output" > /dev/null
VBoxManage modifyvm "$VM" --boot1 disk --boot2 dvd --boot3 none --boot4 none 2> /dev/null
VBoxManage modifyvm "$VM" --memory 1024 2> /dev/null
VBoxManage modifyvm "$VM" --cpus 1 2> /dev/null
VBoxManage modifyvm "$VM" --audio-driver none --audio-enabled off 2> /dev/null
VBoxManage modifyvm "$VM" --usb-ohci off --usb-ehci off --usb-xhci off 2> /dev/null
VBoxManage modifyvm "$VM" --vram 33 --graphicscontroller vmsvga 2> /dev/null
VBoxManage modifyvm "$VM" --vrde off --firmware bios --chipset piix3 --rtc-use-utc on 2> /dev/null
VBoxManage modifyvm "$VM" --nested-hw-virt off --paravirt-provider kvm --hpet off 2> /dev/null
VBoxManage modifyvm "$VM" --nat-localhostreachable1 on --nic-trace1 off 2> /dev/null
VBoxManage createmedium disk --filename "$T/output/$VM/$VM.vdi" --size 40960 --format VDI --variant Standard \
	> /dev/null 2>&1
VBoxManage storagectl "$VM" --name "IDE Controller" --add ide
VBoxManage storagectl "$VM" --name "SATA Controller" --add sata --controller IntelAHCI --portcount 1 --hostiocache off
VBoxManage storageattach "$VM" --storagectl "SATA Controller" --port 0 --device 0 --type hdd \
	--medium "$T/output/$VM/$VM.vdi" --nonrotational off --discard off 2> /dev/null
VBoxManage storageattach "$VM" --storagectl "IDE Controller" --port 0 --device 1 --type dvddrive --medium debian-12.iso
VBoxManage modifyvm "$VM" --natpf1 packercomm,tcp,127.0.0.1,3355,,22
# Vagrant-style customize lines.
VBoxManage modifyvm "$VM" --natdnshostresolver1 on --natdnsproxy1 on --ioapic on 2> /dev/null
VBoxManage storageattach "$VM" --storagectl "IDE Controller" --port 1 --device 1 --type dvddrive \
	--mtype readonly --medium emptydrive 2> /dev/null

VBoxManage setextradata "$VM" "VBoxInternal2/SharedFoldersEnableSymlinksCreate/v-root" 1
[ "$(VBoxManage getextradata "$VM" "VBoxInternal2/SharedFoldersEnableSymlinksCreate/v-root")" = "Value: 1" ] ||
	fail "getextradata"
[ "$(VBoxManage getextradata "$VM" nosuchkey)" = "No value set!" ] || fail "getextradata of a missing key"
expect_mr "$VM" storagecontrollertype1 IntelAhci
expect_mr "$VM" storagecontrollerportcount1 1
expect_mr "$VM" "SATA Controller-0-0" "$T/output/$VM/$VM.vdi"
expect_mr "$VM" "IDE Controller-0-1" "$T/debian-12.iso"
expect_mr "$VM" "IDE Controller-1-1" emptydrive
expect_mr "$VM" "Forwarding(0)" "packercomm,tcp,127.0.0.1,3355,,22"
expect_mr "$VM" boot1 disk
expect_mr "$VM" boot2 dvd
expect_mr "$VM" vram 33
expect_mr "$VM" firmware BIOS
expect_mr "$VM" chipset piix3
expect_mr "$VM" natlocalhostreachable1 on
expect_mr "$VM" natdnshostresolver1 on
expect_mr "$VM" audiodriver none
check_schemas
# Packer's clean-up: detach the ISO, forget it, unregister and delete.
VBoxManage storageattach "$VM" --storagectl "IDE Controller" --port 0 --device 1 --type dvddrive --medium none
expect_mr "$VM" "IDE Controller-0-1" none
VBoxManage closemedium dvd debian-12.iso
VBoxManage unregistervm "$VM" --delete 2> /dev/null
[ ! -e "$T/output/$VM" ] || fail "the VM's folder is left: $(ls -la "$T/output/$VM")"
[ -z "$(VBoxManage list hdds)" ] || fail "disk still registered"
[ -f debian-12.iso ] || fail "the ISO was deleted"
