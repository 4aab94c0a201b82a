#!/usr/bin/env bash
# VBoxManage 7's dashed flag spellings, a Debian server with a qcow2 and a
# raw disk on virtio, serial console to a file, and relative medium paths.
. "$(dirname "$0")/lib.sh"
VM="debian server"
mkdir -p images
vmctl createvm --name "$VM" --os-type Debian_64 --register --basefolder "$T/vms" > /dev/null
[ -f "$T/vms/$VM/$VM.hutch" ] || fail "--basefolder not used"
vmctl modifyvm "$VM" --memory=1024 --cpus=4 --nic-type1 82540EM --cable-connected1 off \
	--nat-pf1 "guestssh,tcp,,2022,10.0.2.15,22" --mac-address1 0800271A2B3C --nested-hw-virt on \
	--clipboard-mode bidirectional --drag-and-drop disabled --graphicscontroller vboxsvga 2> warn.out
grep -q -- "--nested-hw-virt, --clipboard-mode, --drag-and-drop" warn.out || fail "warning: $(cat warn.out)"
vmctl modifyvm "$VM" --nic2 bridged --bridge-adapter2 br0 --nic-type2 virtio
vmctl modifyvm "$VM" --uart1 0x3F8 4 --uart-mode1 file serial.log
vmctl modifyvm "$VM" --intnet3 testnet --nic3 intnet 2> warn2.out
[ ! -s warn2.out ] || fail "internal networks are acted on (issue 12), yet: $(cat warn2.out)"
cd images
vmctl createmedium disk --filename root.qcow2 --size 2048 --format qcow2 > /dev/null 2>&1
vmctl createmedium --filename data --size 64 --format RAW > /dev/null 2>&1
cd ..
[ -f images/data.img ] || fail "RAW disk without extension should get .img"
if command -v qemu-img > /dev/null; then
	qemu-img check images/root.qcow2 > /dev/null || fail "qemu-img check root.qcow2"
	[ "$(qemu-img info --output=json images/root.qcow2 | grep -c '"virtual-size": 2147483648')" = 1 ] ||
		fail "root.qcow2 virtual size"
	note "qemu-img accepts root.qcow2"
fi
vmctl storagectl "$VM" --name VirtIO --add virtio --controller VirtIO
vmctl storageattach "$VM" --storagectl VirtIO --port 0 --device 0 --type hdd --medium images/root.qcow2
vmctl storageattach "$VM" --storagectl VirtIO --port 1 --device 0 --type hdd --medium images/data.img \
	--non-rotational on --discard on 2> warn3.out
grep -q -- "--non-rotational, --discard" warn3.out || fail "storageattach warning: $(cat warn3.out)"
vmctl storagectl "$VM" --name SATA --add sata
vmctl storageattach "$VM" --storagectl SATA --port 0 --device 0 --type dvddrive --medium emptydrive

expect_mr "$VM" ostype "Debian (64-bit)"
expect_mr "$VM" memory 1024
expect_mr "$VM" cpus 4
expect_mr "$VM" cableconnected1 off
expect_mr "$VM" macaddress1 0800271A2B3C
expect_mr "$VM" "Forwarding(0)" "guestssh,tcp,,2022,10.0.2.15,22"
expect_mr "$VM" nic2 bridged
expect_mr "$VM" bridgeadapter2 br0
expect_mr "$VM" nictype2 virtio
expect_mr "$VM" nic3 intnet
expect_mr "$VM" intnet3 testnet
expect_mr "$VM" uart1 "0x03f8,4"
expect_mr "$VM" uartmode1 "file,$T/serial.log"
expect_mr "$VM" "VirtIO-0-0" "$T/images/root.qcow2"
expect_mr "$VM" "VirtIO-1-0" "$T/images/data.img"
expect_mr "$VM" "SATA-0-0" emptydrive
expect_mr "$VM" storagecontrollername1 SATA
expect_mr "$VM" storagecontrollerportcount1 30
expect_mr "$VM" nestedhwvirt on
expect_mr "$VM" graphicscontroller vboxsvga
# natpf delete, as scripts do before re-adding a rule.
vmctl modifyvm "$VM" --natpf1 delete guestssh
mr "$VM" "Forwarding(0)" > /dev/null && fail "rule not deleted"
vmctl modifyvm "$VM" --nat-pf1 "guestssh,tcp,,2022,,22"
expect_mr "$VM" "Forwarding(0)" "guestssh,tcp,,2022,,22"
check_schemas
