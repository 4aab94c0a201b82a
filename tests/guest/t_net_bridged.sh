#!/usr/bin/env bash
# Bridged networking through vmctl (--nic1 bridged --bridgeadapter1 BR):
# in network namespaces the test makes, a bridge with a veth into a peer
# namespace (192.168.77.1); hutch-vm puts its TAP on the bridge.  The
# guest (static 192.168.77.10) pings the peer, and 4 MiB move each way
# (busybox nc in the guest, tools/netxfer.py in the peer namespace),
# checksums compared.  4 MiB is about 2900 full-size frames, plenty to
# prove the path whole; throughput is the benchmark's job (sending from an
# L2 guest in the sandbox runs at a few hundred KB/s).  Once with e1000, once with virtio-net.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/netlib.sh
. "$(dirname "$0")/netlib.sh"
net_isolate "$@"
net_vmctl_init
net_initramfs "$HUTCH_TEST_DIR/initrd.gz"
net_bridge_ns_setup
head -c $((4 << 20)) /dev/urandom > "$HUTCH_TEST_DIR/peer-out.bin"

for type in 82540EM virtio; do
	vm=bridged-$type
	note "--- $type"
	net_vm_create "$vm" "$HUTCH_TEST_DIR/initrd.gz" \
		"$(net_append peer ip="$NET_GUEST_IP/24" peer="$NET_PEER_IP" mib=4)" \
		--nic1 bridged --bridgeadapter1 "$NET_BR" --nictype1 "$type"
	expect_eq nic1 "$(net_vm_info "$vm" nic1)" bridged
	expect_eq bridgeadapter1 "$(net_vm_info "$vm" bridgeadapter1)" "$NET_BR"
	net_bg "peer-recv-$type" net_peer python3 "$GUEST_DIR/tools/netxfer.py" recv --timeout 300 5001 \
		"$HUTCH_TEST_DIR/peer-in-$type.bin"
	recv=$NET_BG_PID
	net_vm_start "$vm"
	sent=$(net_peer python3 "$GUEST_DIR/tools/netxfer.py" send --timeout 300 "$NET_GUEST_IP" 5001 \
		"$HUTCH_TEST_DIR/peer-out.bin" 2>&1) || fail "the peer could not send to the guest: $sent"
	wait "$recv" || fail "the peer received nothing: $(cat "$NET_DIR/peer-recv-$type.log")"
	net_vm_wait_off "$vm" 300 || fail "$vm did not power off"
	VM_SERIAL=$NET_DIR/$vm.serial
	expect_result ping ok
	expect_eq "guest -> peer sha256" "$(sed -n 's/.*sha256=//p' "$NET_DIR/peer-recv-$type.log")" "$(get_result sent_sha)"
	expect_result recv_sha "$(echo "$sent" | sed -n 's/.*sha256=//p')"
	expect_result recv_bytes 4194304
	note "guest sent 4 MiB in $(get_result send_secs) s"
done
