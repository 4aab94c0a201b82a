#!/usr/bin/env bash
# NAT (libslirp) with each NIC model, VMs set up through vmctl.  One VM per
# model serves three checks in turn (guest roles nat,link,fwd):
# - the guest gets 10.0.2.15 by DHCP (busybox udhcpc) with gateway 10.0.2.2
#   and DNS 10.0.2.3, resolves files.hutch.test through 10.0.2.3 (answered
#   by the test's DNS server on the loopback, which logs the query), and
#   downloads a 10 MiB file from the test's HTTP server on the loopback (as
#   http://files.hutch.test:PORT/, i.e. 10.0.2.2), its checksum matching;
# - link state: the guest, watching its carrier, sees setlinkstate1 off and
#   on, and showvminfo says cableconnected1="off" meanwhile;
# - port forwarding: the guest serves HTTP on 8080; from the host
#   127.0.0.1:HOSTPORT reaches it through the rule given with --natpf1; a
#   rule added while the VM runs (controlvm natpf1) works, and stops working
#   once deleted (natpf1 delete); showvminfo shows Forwarding(0).
# showvminfo --machinereadable reports the adapter as VBoxManage does.
# Traffic goes only to the loopback, in a network namespace of the test's.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/netlib.sh
. "$(dirname "$0")/netlib.sh"
net_isolate "$@"
net_vmctl_init
net_initramfs "$HUTCH_TEST_DIR/initrd.gz"
port=$(net_free_port)
net_dns_start 53 files.hutch.test=10.0.2.2
net_http_start "$HUTCH_TEST_DIR/www" "$port" 10

for type in 82540EM virtio; do
	vm=nat-$type
	note "--- $type"
	hp=$(net_free_port)
	net_vm_create "$vm" "$HUTCH_TEST_DIR/initrd.gz" \
		"$(net_append nat,link,fwd name=files.hutch.test port="$port" changes=2 fwdport=8080 token=hutch-natpf hold=200)" \
		--nic1 nat --nictype1 "$type" --natpf1 "web,tcp,127.0.0.1,$hp,,8080"
	expect_eq nic1 "$(net_vm_info "$vm" nic1)" nat
	expect_eq nictype1 "$(net_vm_info "$vm" nictype1)" "$type"
	expect_eq cableconnected1 "$(net_vm_info "$vm" cableconnected1)" on
	case $(net_vm_info "$vm" "Forwarding(0)") in
	web,tcp,127.0.0.1,"$hp",,8080) note "Forwarding(0) = web,tcp,127.0.0.1,$hp,,8080" ;;
	*) fail "Forwarding(0) is '$(net_vm_info "$vm" "Forwarding(0)")'" ;;
	esac
	mac=$(net_vm_info "$vm" macaddress1)
	[[ $mac =~ ^[0-9A-F]{12}$ ]] || fail "macaddress1 '$mac' is not 12 hex digits"
	: > "$NET_DNS_LOG"
	net_vm_start "$vm"
	VM_SERIAL=$NET_DIR/$vm.serial

	# nat: DHCP, DNS, HTTP (checked below, once the lines are all there).
	# link: the guest reports its carrier, then each change.
	net_wait_result "$VM_SERIAL" link_ready 240 > /dev/null || fail "the guest never reported its carrier"
	expect_result carrier 1
	net_vmctl controlvm "$vm" setlinkstate1 off || fail "setlinkstate1 off failed: $(tail -n 2 "$NET_DIR/vmctl.log")"
	net_wait_value "$VM_SERIAL" changes 1 30 || fail "the guest saw no carrier change after setlinkstate1 off"
	expect_result carrier 0
	expect_eq cableconnected1 "$(net_vm_info "$vm" cableconnected1)" off
	net_vmctl controlvm "$vm" setlinkstate1 on || fail "setlinkstate1 on failed: $(tail -n 2 "$NET_DIR/vmctl.log")"
	net_wait_value "$VM_SERIAL" changes 2 30 || fail "the guest saw no carrier change after setlinkstate1 on"
	expect_result carrier 1

	# fwd: the rule given at creation, one added while running, then deleted.
	net_wait_result "$VM_SERIAL" fwd_ready 120 > /dev/null || fail "the guest never served on 8080"
	expect_eq "GET 127.0.0.1:$hp/" "$(net_xfer get --timeout 30 "http://127.0.0.1:$hp/" 2>&1)" hutch-natpf
	hp2=$(net_free_port)
	net_vmctl controlvm "$vm" natpf1 "web2,tcp,127.0.0.1,$hp2,,8080" ||
		fail "controlvm natpf1 (add) failed: $(tail -n 2 "$NET_DIR/vmctl.log")"
	expect_eq "GET through the rule added while running" \
		"$(net_xfer get --timeout 30 "http://127.0.0.1:$hp2/" 2>&1)" hutch-natpf
	net_vmctl controlvm "$vm" natpf1 delete web2 || fail "controlvm natpf1 delete failed: $(tail -n 2 "$NET_DIR/vmctl.log")"
	if net_xfer get --timeout 5 "http://127.0.0.1:$hp2/" > /dev/null 2>&1; then
		fail "127.0.0.1:$hp2 still reaches the guest after natpf1 delete web2"
	fi
	note "after natpf1 delete web2, 127.0.0.1:$hp2 is refused"
	net_xfer get --timeout 30 "http://127.0.0.1:$hp/cgi-bin/quit" > /dev/null 2>&1 || true
	net_vm_wait_off "$vm" 120 || fail "$vm did not power off"
	expect_result fwd_quit asked

	expect_result driver "$([ "$type" = virtio ] && echo virtio_net || echo e1000)"
	expect_eq "guest MAC" "$(get_result mac | tr -d : | tr a-f A-F)" "$mac"
	expect_result ip 10.0.2.15
	expect_result router 10.0.2.2
	expect_result dns 10.0.2.3
	expect_result resolved 10.0.2.2
	grep -q "^1 files.hutch.test 0" "$NET_DNS_LOG" ||
		fail "the test's DNS server never saw the guest's A query (through 10.0.2.3)"
	note "the test's DNS server answered the guest's query"
	expect_result http_sha "$NET_HTTP_SHA"
	expect_result http_sha_match yes
	note "10 MiB over HTTP in $(get_result http_secs) s"
	expect_eq VMState "$(net_vm_info "$vm" VMState)" poweroff
done
