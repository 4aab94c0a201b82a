#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# Images made by qemu-img are read correctly by a guest in Hutch: a qcow2
# overlay on a qcow2 backing file (with data of its own on top), a
# compressed qcow2, a VDI and a streamOptimized VMDK.  The guest reads each
# disk whole; its checksums match those of qemu-img's own raw conversion.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
T=$HUTCH_TEST_DIR
guest_io "$T/guest-io"
command -v qemu-img > /dev/null && command -v qemu-io > /dev/null || fail "qemu-img/qemu-io missing (qemu-utils)"

"$T/guest-io" gen 3 24 > "$T/base.raw"
qemu-img convert -q -f raw -O qcow2 "$T/base.raw" "$T/base.qcow2"
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/overlay.qcow2"
qemu-io -f qcow2 -c "write -P 0x5a 8M 1M" -c "write -P 0xa5 23M 64k" "$T/overlay.qcow2" > /dev/null
qemu-img convert -q -c -f raw -O qcow2 "$T/base.raw" "$T/compressed.qcow2"
qemu-img convert -q -f raw -O vdi "$T/base.raw" "$T/disk.vdi"
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized "$T/base.raw" "$T/disk.vmdk"
qemu-img info "$T/compressed.qcow2" > /dev/null

want() {   # FILE FORMAT: sha256 of qemu-img's raw view of it
	qemu-img convert -q -f "$2" -O raw "$T/$1" "$T/$1.raw" &&
		sha256sum < "$T/$1.raw" | cut -d' ' -f1
}
w_overlay=$(want overlay.qcow2 qcow2)
w_comp=$(want compressed.qcow2 qcow2)
w_vdi=$(want disk.vdi vdi)
w_vmdk=$(want disk.vmdk vmdk)
[ "$w_overlay" != "$w_comp" ] || fail "the overlay's own writes did not change its contents"

cat > "$T/init.sh" <<'INIT'
for d in vda vdb sda sdb; do
	i=0; while [ ! -b /dev/$d ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	echo "HUTCH-RESULT $d=$(cat /dev/$d | sha256sum | cut -d' ' -f1)"
done
poweroff -f
INIT
mk_initramfs "$T/initrd.gz" "$T/init.sh" \
	--module ahci --module sd_mod --module virtio_pci --module virtio_blk
run_vm boot --initrd "$T/initrd.gz" --append "$GUEST_APPEND" \
	--drive "file=$T/overlay.qcow2,format=qcow2,if=virtio" \
	--drive "file=$T/compressed.qcow2,format=qcow2,if=virtio,readonly=on" \
	--drive "file=$T/disk.vdi,format=vdi,if=sata,port=0" \
	--drive "file=$T/disk.vmdk,format=vmdk,if=sata,port=1,readonly=on"
expect_status 0
expect_eq "qcow2 overlay on a backing file (vda)" "$(result vda)" "$w_overlay"
expect_eq "compressed qcow2 (vdb)" "$(result vdb)" "$w_comp"
expect_eq "VDI (sda)" "$(result sda)" "$w_vdi"
expect_eq "streamOptimized VMDK (sdb)" "$(result sdb)" "$w_vmdk"
