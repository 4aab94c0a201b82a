#!/usr/bin/env bash
# A raw disk image with a bootloader (an MBR and a FAT16 partition with
# syslinux, made at test time by mkbootimage.sh) boots through SeaBIOS
# from virtio-blk, from AHCI and from IDE; each guest reports the medium
# and powers off (ACPI S5).  With --boot1 dvd and an empty SATA DVD drive,
# SeaBIOS falls through to the disk (the virtio-blk VM has one).
# Needs (merged issue 11): SeaBIOS boot in hutch-vm with --boot, INT 13h
# through SeaBIOS's virtio-blk, AHCI and ATA drivers.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/fwlib.sh
. "$GUEST_DIR/fwlib.sh"
fw_media
for bus in virtio sata ide; do
	VM=fwdisk-$bus
	fw_vm "$VM" --boot1 dvd --boot2 disk --boot3 none --boot4 none
	fw_disk_copy "$HUTCH_TEST_DIR/$bus.img"
	case $bus in
	virtio) VBoxManage storagectl "$VM" --name VirtIO --add virtio || fail "storagectl virtio"
		VBoxManage storageattach "$VM" --storagectl VirtIO --port 0 --device 0 --type hdd \
			--medium "$HUTCH_TEST_DIR/$bus.img" || fail "attach virtio"
		# The empty DVD drive comes first in the boot order.
		VBoxManage storagectl "$VM" --name SATA --add sata || fail "storagectl sata"
		VBoxManage storageattach "$VM" --storagectl SATA --port 0 --device 0 --type dvddrive \
			--medium emptydrive || fail "attach empty dvd" ;;
	sata) VBoxManage storagectl "$VM" --name SATA --add sata --controller IntelAhci || fail "storagectl sata"
		VBoxManage storageattach "$VM" --storagectl SATA --port 0 --device 0 --type hdd \
			--medium "$HUTCH_TEST_DIR/$bus.img" || fail "attach sata" ;;
	ide) VBoxManage storagectl "$VM" --name IDE --add ide --controller PIIX4 || fail "storagectl ide"
		VBoxManage storageattach "$VM" --storagectl IDE --port 0 --device 0 --type hdd \
			--medium "$HUTCH_TEST_DIR/$bus.img" || fail "attach ide" ;;
	esac
	start=$(date +%s)
	fw_start "$VM"
	fw_wait "$VM" booted 180
	expect_eq "$bus: boot medium" "$(fw_result "$VM" medium)" disk
	fw_wait_state "$VM" poweroff 60
	note "$bus: booted from the disk and powered off, $(( $(date +%s) - start ))s"
done
grep -q "Booting from Hard Disk\|SYSLINUX" "$HUTCH_TEST_DIR/fwdisk-virtio.serial" ||
	note "(SeaBIOS/syslinux lines not on the serial console: SeaBIOS prints to the screen)"
