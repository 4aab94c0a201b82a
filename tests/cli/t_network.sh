#!/usr/bin/env bash
# Network adapters (issue 12): the --nic specs startvm gives hutch-vm for
# each attachment and adapter type, the kinds Hutch only stores named on
# start, the settings VirtualBox users set (stored, shown as VBoxManage
# shows them, validated), and controlvm natpf<N> / setlinkstate<N> reaching
# a running VM's control socket and persisting; the fake hutch-vm records
# what arrived (FAKE_VM_RECORD).
. "$(dirname "$0")/lib.sh"
command -v python3 > /dev/null || { echo "SKIP: no python3 for the fake hutch-vm"; exit 77; }
export FAKE_VM_RECORD=$T/rec
mkdir -p "$FAKE_VM_RECORD" tftp
echo kernel > vmlinuz

# --- settings: stored, shown, kept across loads ---
vmctl createvm --name net --register > /dev/null
vmctl modifyvm net --kernel vmlinuz
mac1=$(mr net macaddress1)
[[ $mac1 =~ ^080027[0-9A-F]{6}$ ]] || fail "macaddress1 '$mac1' is not a VirtualBox MAC"
vmctl modifyvm net --memory 64   # any later write keeps the generated MACs
expect_mr net macaddress1 "$mac1"
expect_mr net nic1 nat
expect_mr net natnet1 nat
expect_mr net nictype1 82540EM
expect_mr net cableconnected1 on
expect_mr net nic2 none
vmctl modifyvm net --natpf1 "ssh,tcp,,2222,,22" --natpf1 ",udp,127.0.0.1,5353,10.0.2.15,53" \
	--natnet1 10.0.3.0/24 --nat-tftp-prefix1 tftp --nattftpfile1 boot.pxe --natdnshostresolver1 on
vmctl modifyvm net --nic2 null --nictype2 virtio --cableconnected2 off --macaddress2 020000000002
vmctl modifyvm net --nic3 bridged --bridgeadapter3 br0 --macaddress3 08:00:27:00:00:03
vmctl modifyvm net --nic4 intnet --nictype4 virtio --macaddress4 080027000004
vmctl modifyvm net --nic5 intnet --intnet5 "lab,net" --macaddress5 080027000005
expect_mr net natnet1 10.0.3.0/24
expect_mr net "Forwarding(0)" "ssh,tcp,,2222,,22"
expect_mr net "Forwarding(1)" "udp_5353_53,udp,127.0.0.1,5353,10.0.2.15,53"
expect_mr net natdnshostresolver1 on
expect_mr net nattftpprefix1 "$T/tftp"
expect_mr net nattftpfile1 boot.pxe
expect_mr net nic2 null
expect_mr net nictype2 virtio
expect_mr net cableconnected2 off
expect_mr net macaddress2 020000000002
expect_mr net nic3 bridged
expect_mr net bridgeadapter3 br0
expect_mr net macaddress3 080027000003
expect_mr net nic4 intnet
expect_mr net intnet4 intnet          # VirtualBox's default name
expect_mr net intnet5 "lab,net"
vmctl showvminfo net > human.out
has -F "NIC 1:                       MAC: $mac1, Attachment: NAT, Cable connected: on, Trace: off (file: none), Type: 82540EM, Reported speed: 0 Mbps, Boot priority: 0, Promisc Policy: deny, Bandwidth group: none" human.out ||
	fail "human NIC 1 line: $(grep '^NIC 1' human.out)"
has -Fx "NIC 1 Rule(0):   name = ssh, protocol = tcp, host ip = , host port = 2222, guest ip = , guest port = 22" human.out ||
	fail "human rule line: $(grep 'Rule' human.out)"
has -F "NIC 1 Settings:  MTU: 0, Socket (send: 64, receive: 64), TCP Window (send:64, receive: 64)" human.out ||
	fail "human NAT settings line"
has -E "^NIC 2: +MAC: 020000000002, Attachment: none, Cable connected: off, .*Type: virtio," human.out || fail "human NIC 2"
has -E "^NIC 3: +MAC: 080027000003, Attachment: Bridged Interface 'br0', " human.out || fail "human NIC 3"
has -E "^NIC 5: +MAC: 080027000005, Attachment: Internal Network 'lab,net', " human.out || fail "human NIC 5"
# VBoxManage's machine-readable order for a NAT adapter.
vmctl showvminfo net --machinereadable | sed -n '/^natnet1=/,/^Forwarding(1)=/p' | cut -d= -f1 | tr '\n' ' ' > order.out
[ "$(cat order.out)" = "natnet1 macaddress1 cableconnected1 nic1 nictype1 nicspeed1 mtu sockSnd sockRcv tcpWndSnd tcpWndRcv Forwarding(0) Forwarding(1) " ] ||
	fail "machine-readable order: $(cat order.out)"
note "settings stored and shown as VBoxManage does"

# --- bad values: one-line errors, nothing stored ---
expect_status 2 vmctl modifyvm net --natnet1 10.0.2.1/24
expect_err "NAT network '10.0.2.1/24'"
expect_status 2 vmctl modifyvm net --natnet1 10.0.0.0/30
expect_status 2 vmctl modifyvm net --natpf1 "web,tcp,localhost,80,,80"
expect_err "'localhost' is not an IPv4 address"
expect_status 2 vmctl modifyvm net --natpf1 "web,tcp,,80,,0"
expect_status 2 vmctl modifyvm net --bridgeadapter3 "a/b"
expect_status 2 vmctl modifyvm net --bridgeadapter3 "averyveryverylongname"
expect_status 2 vmctl modifyvm net --intnet4 ""
expect_status 2 vmctl modifyvm net --nic9 nat
expect_status 1 vmctl modifyvm net --macaddress2 000000000000
expect_err "all zero"
expect_status 1 vmctl modifyvm net --macaddress2 010000000000
expect_err "multicast"
expect_status 2 vmctl modifyvm net --natdnshostresolver1 maybe
expect_mr net natnet1 10.0.3.0/24
expect_mr net macaddress2 020000000002

# --- startvm: one --nic per adapter hutch-vm acts on ---
vmctl modifyvm net --nic6 hostonly --nic7 nat --nictype7 Am79C973 --nic8 natnetwork
# The fake VM refuses host port 7000 as taken (as hutch-vm when a host process has it).
FAKE_VM_PORT_TAKEN=7000 vmctl startvm net --type headless > /dev/null 2> start.err
has -F "started without: nic6 (hostonly), nic7 (Am79C973), nic8 (natnetwork)" start.err ||
	fail "stored-only adapters not named: $(cat start.err)"
grep -A1 -x -- --nic "$FAKE_VM_RECORD/net.args" | grep -v -x -e -- -e --nic > nics.out
cat > nics.want << EOW
nic=1,model=e1000,net=nat,mac=$mac1,cable=on,natnet=10.0.3.0/24,fwd=ssh,,tcp,,,,2222,,,,22,fwd=udp_5353_53,,udp,,127.0.0.1,,5353,,10.0.2.15,,53,tftp=$T/tftp,bootfile=boot.pxe,dnshost=on
nic=2,model=virtio,net=null,mac=020000000002,cable=off
nic=3,model=e1000,net=bridged,mac=080027000003,cable=on,bridge=br0
nic=4,model=virtio,net=intnet,mac=080027000004,cable=on,intnet=intnet
nic=5,model=e1000,net=intnet,mac=080027000005,cable=on,intnet=lab,,net
EOW
diff nics.want nics.out > nics.diff || fail "--nic specs differ: $(cat nics.diff)"
note "startvm passed $(wc -l < nics.out) --nic specs; hostonly, Am79C973, natnetwork named"

# --- controlvm while running: to the VM, then into the settings ---
expect_status 1 vmctl modifyvm net --natpf1 "web,tcp,,8080,,80"   # running: settings fixed
vmctl controlvm net natpf1 "web,tcp,,8080,,80"
vmctl controlvm net natpf1 ",TCP,,8443,,443"
vmctl controlvm net natpf1 delete ssh
vmctl controlvm net setlinkstate1 off
vmctl controlvm net setlinkstate2 on
grep -E '^(natpf|setlinkstate) ' "$FAKE_VM_RECORD/net.requests" > reqs.out
cat > reqs.want << EOW
natpf 1 web,tcp,,8080,,80
natpf 1 tcp_8443_443,tcp,,8443,,443
natpf 1 delete ssh
setlinkstate 1 off
setlinkstate 2 on
EOW
diff reqs.want reqs.out > reqs.diff || fail "requests differ: $(cat reqs.diff)"
expect_mr net "Forwarding(0)" "udp_5353_53,udp,127.0.0.1,5353,10.0.2.15,53"
expect_mr net "Forwarding(1)" "web,tcp,,8080,,80"
expect_mr net "Forwarding(2)" "tcp_8443_443,tcp,,8443,,443"
mr net "Forwarding(3)" > /dev/null && fail "deleted rule still stored"
expect_mr net cableconnected1 off
expect_mr net cableconnected2 on
note "natpf add/delete and setlinkstate reached the VM and were saved"

# Errors: the VM's own refusals pass through and change nothing stored.
nic_requests() { grep -cE '^(natpf|setlinkstate) ' "$FAKE_VM_RECORD/net.requests"; }
n_before=$(nic_requests)
expect_status 1 vmctl controlvm net natpf3 "x,tcp,,9000,,22"
expect_err "NIC 3 is not attached to NAT"
expect_status 1 vmctl controlvm net setlinkstate6 off
expect_err "NIC 6 does not exist"
expect_mr net cableconnected6 on
expect_status 1 vmctl controlvm net natpf1 "busy,tcp,,7000,,22"
expect_err "host port 7000/tcp is in use"
mr net "Forwarding(3)" > /dev/null && fail "a rule the VM refused was stored"
# ...and what vmctl refuses never reaches the VM.
expect_status 1 vmctl controlvm net natpf1 "web,tcp,,8081,,80"
expect_err "named 'web' already exists"
expect_status 1 vmctl controlvm net natpf1 delete nosuch
expect_err "no port forwarding rule named 'nosuch'"
expect_status 2 vmctl controlvm net natpf1 "bad,tcp,,99999,,22"
expect_status 2 vmctl controlvm net natpf1 "web"
expect_status 2 vmctl controlvm net natpf9 "x,tcp,,1,,2"
expect_err "NIC number 9 is out of range"
expect_status 2 vmctl controlvm net setlinkstate0 on
expect_status 2 vmctl controlvm net setlinkstate1 maybe
expect_status 2 vmctl controlvm net setlinkstate1
expect_status 1 vmctl controlvm net nicpromisc1 deny
expect_err "not yet supported"
n_after=$(nic_requests)
[ $((n_after - n_before)) = 3 ] || fail "$((n_after - n_before)) requests reached the VM, expected the 3 it refused"
grep -q "web,tcp,,8081" "$FAKE_VM_RECORD/net.requests" && fail "a duplicate rule reached the VM"

vmctl controlvm net poweroff 2> /dev/null
expect_status 1 vmctl controlvm net natpf1 "x,tcp,,9000,,22"
expect_err "Machine 'net' is not currently running"
expect_status 1 vmctl controlvm net setlinkstate1 on
expect_err "Machine 'net' is not currently running"

# The next start sees what controlvm saved.
rm -f "$FAKE_VM_RECORD/net.args"
vmctl startvm net --type headless > /dev/null 2>&1
grep -x -- "nic=1,model=e1000,net=nat,mac=$mac1,cable=off,natnet=10.0.3.0/24,fwd=udp_5353_53,,udp,,127.0.0.1,,5353,,10.0.2.15,,53,fwd=web,,tcp,,,,8080,,,,80,fwd=tcp_8443_443,,tcp,,,,8443,,,,443,tftp=$T/tftp,bootfile=boot.pxe,dnshost=on" \
	"$FAKE_VM_RECORD/net.args" > /dev/null || fail "restart: $(grep nic=1 "$FAKE_VM_RECORD/net.args")"
vmctl controlvm net poweroff 2> /dev/null

# A bridged adapter without an interface cannot start, named.
vmctl modifyvm net --bridgeadapter3 none
expect_status 1 vmctl startvm net --type headless
expect_err "NIC 3 is bridged but names no host interface"
check_schemas
