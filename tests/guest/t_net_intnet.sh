#!/usr/bin/env bash
# Internal networks through vmctl (--nic1 intnet --intnet1 NAME), without
# root in hutch-vm: VMs A (e1000) and B (virtio-net) on "hutchlab" ping
# each other and move 4 MiB each way with nc, checksums compared (enough
# frames to prove the switch; throughput is the benchmark's job); VM C on
# "hutchother", started first, counts the frames it receives every 2 s
# (its IPv6 off, so it sends nothing itself): its first count after A and
# B have finished must be 0 (not even their ARP broadcasts reached it);
# then the test powers it off.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/guest/netlib.sh
. "$(dirname "$0")/netlib.sh"
net_isolate "$@"
net_vmctl_init
net_initramfs "$HUTCH_TEST_DIR/initrd.gz"

net_vm_create intnet-c "$HUTCH_TEST_DIR/initrd.gz" \
	"$(net_append quiet ip=192.168.50.3/24 peer=192.168.50.1 hold=200)" \
	--nic1 intnet --intnet1 hutchother --nictype1 82540EM
net_vm_create intnet-a "$HUTCH_TEST_DIR/initrd.gz" \
	"$(net_append peer ip=192.168.50.1/24 peer=192.168.50.2 mib=4)" \
	--nic1 intnet --intnet1 hutchlab --nictype1 82540EM
net_vm_create intnet-b "$HUTCH_TEST_DIR/initrd.gz" \
	"$(net_append peer ip=192.168.50.2/24 peer=192.168.50.1 mib=4)" \
	--nic1 intnet --intnet1 hutchlab --nictype1 virtio
expect_eq intnet1 "$(net_vm_info intnet-a intnet1)" hutchlab
a=$NET_DIR/intnet-a.serial b=$NET_DIR/intnet-b.serial c=$NET_DIR/intnet-c.serial
net_vm_start intnet-c
net_wait_result "$c" quiet_ready 240 > /dev/null || fail "VM C never got ready"
net_vm_start intnet-a
net_vm_start intnet-b
net_vm_wait_off intnet-a 400 || fail "VM A did not power off"
net_vm_wait_off intnet-b 120 || fail "VM B did not power off"
expect_eq "A ping B" "$(get_result ping "$a")" ok
expect_eq "B ping A" "$(get_result ping "$b")" ok
expect_eq "A -> B sha256" "$(get_result recv_sha "$b")" "$(get_result sent_sha "$a")"
expect_eq "B -> A sha256" "$(get_result recv_sha "$a")" "$(get_result sent_sha "$b")"
expect_eq "bytes A -> B" "$(get_result recv_bytes "$b")" 4194304
expect_eq "bytes B -> A" "$(get_result recv_bytes "$a")" 4194304
note "send times: A $(get_result send_secs "$a") s, B $(get_result send_secs "$b") s"
n=$(grep -c quiet_rx_frames= "$c" || true)
end=$((SECONDS + 30))
while [ "$(grep -c quiet_rx_frames= "$c" || true)" -le "$n" ] && [ $SECONDS -lt $end ]; do sleep 0.5; done
[ "$(grep -c quiet_rx_frames= "$c" || true)" -gt "$n" ] ||
	fail "VM C stopped counting before A and B finished (raise its hold)"
expect_eq "frames C received while A and B talked" "$(get_result quiet_rx_frames "$c")" 0
# C has shown what it had to; its hold (and the ping at its end) would
# only cost sandbox time now.
net_vmctl controlvm intnet-c poweroff || fail "controlvm intnet-c poweroff failed"
net_vm_wait_off intnet-c 60 || fail "VM C did not power off" 
