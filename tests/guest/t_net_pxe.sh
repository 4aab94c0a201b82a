#!/usr/bin/env bash
# PXE through vmctl: a VM with no disk and no kernel, --boot1 net, NAT with
# --nattftpprefix1 DIR --nattftpfile1 boot.ipxe.  SeaBIOS runs the NIC's
# iPXE ROM (Debian's ipxe-qemu, through fw_cfg), which gets a DHCP lease
# from the NAT, fetches the iPXE script over TFTP, and with it the kernel
# and initramfs; the booted guest says so and gets 10.0.2.15 by DHCP.
# Once with e1000 (pxe-e1000.rom), once with virtio-net (pxe-virtio.rom).
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/netlib.sh
. "$(dirname "$0")/netlib.sh"
net_isolate "$@"
net_vmctl_init
net_initramfs "$HUTCH_TEST_DIR/initrd.gz"
net_pxe_root "$HUTCH_TEST_DIR/tftp" "$HUTCH_TEST_DIR/initrd.gz"

for type in 82540EM virtio; do
	vm=pxe-$type
	note "--- $type"
	net_vm_create "$vm" - "" --nic1 nat --nictype1 "$type" --boot1 net --boot2 none \
		--nattftpprefix1 "$HUTCH_TEST_DIR/tftp" --nattftpfile1 boot.ipxe
	start=$SECONDS
	net_vm_start "$vm"
	net_vm_wait_off "$vm" 400 || fail "$vm did not power off"
	VM_SERIAL=$NET_DIR/$vm.serial
	expect_result pxe_booted 1
	expect_result ip 10.0.2.15
	note "PXE boot to poweroff in $((SECONDS - start)) s"
done
