#!/usr/bin/env bash
# NAT (libslirp) with each NIC model, VMs set up through vmctl: the guest
# gets 10.0.2.15 by DHCP (busybox udhcpc) with gateway 10.0.2.2 and DNS
# 10.0.2.3, resolves files.hutch.test through 10.0.2.3 (answered by the
# test's DNS server on the loopback, which logs the query), and downloads a
# 10 MiB file from the test's HTTP server on the loopback (as
# http://files.hutch.test:PORT/, i.e. 10.0.2.2), its checksum matching.
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
	net_vm_create "$vm" "$HUTCH_TEST_DIR/initrd.gz" \
		"$(net_append nat name=files.hutch.test port="$port")" --nic1 nat --nictype1 "$type"
	expect_eq nic1 "$(net_vm_info "$vm" nic1)" nat
	expect_eq nictype1 "$(net_vm_info "$vm" nictype1)" "$type"
	expect_eq cableconnected1 "$(net_vm_info "$vm" cableconnected1)" on
	mac=$(net_vm_info "$vm" macaddress1)
	[[ $mac =~ ^[0-9A-F]{12}$ ]] || fail "macaddress1 '$mac' is not 12 hex digits"
	: > "$NET_DNS_LOG"
	net_vm_start "$vm"
	net_vm_wait_off "$vm" 300 || fail "$vm did not power off"
	VM_SERIAL=$NET_DIR/$vm.serial
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
