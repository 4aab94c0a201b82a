#!/usr/bin/env bash
# NAT port forwarding and link state, through vmctl.  A guest serves HTTP on
# port 8080; from the host 127.0.0.1:HOSTPORT reaches it through the rule
# given with --natpf1; a rule added while the VM runs (controlvm natpf1)
# works, and stops working once deleted (natpf1 delete); showvminfo shows
# Forwarding(0).  Then a guest watching its carrier sees setlinkstate1 off
# and on (virtio-net, then e1000 reporting the same through its own driver).
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/netlib.sh
. "$(dirname "$0")/netlib.sh"
net_isolate "$@"
net_vmctl_init
net_initramfs "$HUTCH_TEST_DIR/initrd.gz"

vm=natpf
hp=$(net_free_port)
net_vm_create "$vm" "$HUTCH_TEST_DIR/initrd.gz" "$(net_append fwd port=8080 token=hutch-natpf hold=200)" \
	--nic1 nat --nictype1 virtio --natpf1 "web,tcp,127.0.0.1,$hp,,8080"
case $(net_vm_info "$vm" "Forwarding(0)") in
web,tcp,127.0.0.1,"$hp",,8080) note "Forwarding(0) = web,tcp,127.0.0.1,$hp,,8080" ;;
*) fail "Forwarding(0) is '$(net_vm_info "$vm" "Forwarding(0)")'" ;;
esac
net_vm_start "$vm"
VM_SERIAL=$NET_DIR/$vm.serial
net_wait_result "$VM_SERIAL" fwd_ready 240 > /dev/null || fail "the guest never served on 8080"
expect_eq "GET 127.0.0.1:$hp/" "$(net_xfer get --timeout 30 "http://127.0.0.1:$hp/" 2>&1)" hutch-natpf
hp2=$(net_free_port)
net_vmctl controlvm "$vm" natpf1 "web2,tcp,127.0.0.1,$hp2,,8080" || fail "controlvm natpf1 (add) failed: $(tail -n 2 "$NET_DIR/vmctl.log")"
expect_eq "GET through the rule added while running" "$(net_xfer get --timeout 30 "http://127.0.0.1:$hp2/" 2>&1)" hutch-natpf
net_vmctl controlvm "$vm" natpf1 delete web2 || fail "controlvm natpf1 delete failed: $(tail -n 2 "$NET_DIR/vmctl.log")"
if net_xfer get --timeout 5 "http://127.0.0.1:$hp2/" > /dev/null 2>&1; then
	fail "127.0.0.1:$hp2 still reaches the guest after natpf1 delete web2"
fi
note "after natpf1 delete web2, 127.0.0.1:$hp2 is refused"
net_xfer get --timeout 30 "http://127.0.0.1:$hp/cgi-bin/quit" > /dev/null 2>&1 || true
net_vm_wait_off "$vm" 120 || fail "$vm did not power off"
expect_result fwd_quit asked

for type in virtio 82540EM; do
	vm=link-$type
	note "--- link state, $type"
	net_vm_create "$vm" "$HUTCH_TEST_DIR/initrd.gz" "$(net_append link changes=2 hold=200)" \
		--nic1 nat --nictype1 "$type"
	net_vm_start "$vm"
	VM_SERIAL=$NET_DIR/$vm.serial
	net_wait_result "$VM_SERIAL" link_ready 240 > /dev/null || fail "the guest never reported its carrier"
	expect_result carrier 1
	net_vmctl controlvm "$vm" setlinkstate1 off || fail "setlinkstate1 off failed: $(tail -n 2 "$NET_DIR/vmctl.log")"
	net_wait_value "$VM_SERIAL" changes 1 30 || fail "the guest saw no carrier change after setlinkstate1 off"
	expect_result carrier 0
	expect_eq cableconnected1 "$(net_vm_info "$vm" cableconnected1)" off
	net_vmctl controlvm "$vm" setlinkstate1 on || fail "setlinkstate1 on failed: $(tail -n 2 "$NET_DIR/vmctl.log")"
	net_wait_value "$VM_SERIAL" changes 2 30 || fail "the guest saw no carrier change after setlinkstate1 on"
	expect_result carrier 1
	net_vm_wait_off "$vm" 120 || fail "$vm did not power off"
done
