#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A throwaway proof of the network guest side (tests/guest/net-init.sh) and
# of tests/guest/netlib.sh, with QEMU as the L2 VMM: every role the network
# guest tests will use, against QEMU's e1000 and virtio-net, in one run of
# the KVM sandbox (or here, when /dev/kvm is usable).  Prints one line per
# check, "CHECK name PASS|FAIL (N.N s in L1)", with what was seen.
#
#   flock /work/wt/sandbox.lock tests/guest/tools/net-qemu-check.sh [CHECK...]
#
# CHECK: nat-e1000 nat-virtio fwd link-e1000 link-virtio intnet bridged
# pxe-e1000 pxe-virtio (default: all).  QEMU's -netdev user stands in for
# Hutch's NAT (the same libslirp), -netdev socket,mcast= for an internal
# network, -netdev tap for bridged.  Scratch: build/sandbox/net-qemu-check/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)
all=(nat-e1000 nat-virtio fwd link-e1000 link-virtio intnet bridged pxe-e1000 pxe-virtio)

if [ "${1:-}" != --inside ]; then
	checks=("$@")
	[ ${#checks[@]} -gt 0 ] || checks=("${all[@]}")
	work=$top/build/sandbox/net-qemu-check
	rm -rf "$work"
	mkdir -p "$work"
	# The initramfs and the TFTP root are made here: L1 sees the host's
	# tree read-only and build/sandbox writable.
	NET_DIR=$work
	# shellcheck source=tests/guest/netlib.sh
	. "$top/tests/guest/netlib.sh"
	net_initramfs "$work/net.cpio.gz"
	kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
	net_pxe_root "$work/tftp" "$work/net.cpio.gz"
	if "$top/tests/sandbox/sandbox.sh" --check | grep -q '^kvm:'; then
		exec bash "$0" --inside "$work" "${checks[@]}"
	fi
	exec "$top/tests/sandbox/sandbox.sh" --timeout 1500 --results "$top/build/sandbox" -- \
		bash "$0" --inside "$work" "${checks[@]}"
fi

# --- inside: KVM is here ---
shift
work=$1; shift
checks=("$@")
NET_DIR=$work
# shellcheck source=tests/guest/netlib.sh
. "$top/tests/guest/netlib.sh"
net_isolate --inside "$work" "${checks[@]}"
kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$work/net.cpio.gz
# UNIX sockets (the monitors) cannot live on the sandbox's 9p share.
rt=$(mktemp -d /tmp/hnet.XXXXXX)
results=()

# qemu_start NAME NETDEV DEVICE APPEND [more QEMU args]: a VM in the
# background, its console in $work/NAME.serial, an HMP monitor on
# $work/NAME.mon; sets QPID.
qemu_start() {
	local name=$1 netdev=$2 device=$3 append=$4 boot=()
	shift 4
	[ -z "$append" ] || boot=(-kernel "$kernel" -initrd "$initrd" -append "$append")
	rm -f "$work/$name.serial"
	timeout -k 5 "${QTIMEOUT:-300}" qemu-system-x86_64 -accel kvm -M pc -nodefaults -cpu host -m 256 -smp 1 \
		-display none -no-reboot -serial "file:$work/$name.serial" \
		-monitor "unix:$rt/$name.mon,server,nowait" \
		-netdev "$netdev" -device "$device" \
		${boot[@]+"${boot[@]}"} "$@" \
		> "$work/$name.qemu.log" 2>&1 &
	QPID=$!
	NET_PIDS+=("$QPID")
}

# qemu_wait PID: the VM's end (it powers off: QEMU exits 0).
qemu_wait() { wait "$1" 2> /dev/null; }

check_begin() { CHECK=$1 T0=$(date +%s.%N) WHY=() SEEN=(); echo "--- $CHECK"; }
seen() { SEEN+=("$*"); echo "    $*"; }
bad() { WHY+=("$*"); echo "    BAD: $*"; }
want() {   # WHAT GOT WANT
	if [ "$2" = "$3" ]; then seen "$1=$2"; else bad "$1: got '$2', expected '$3'"; fi
}
check_end() {
	local secs
	secs=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ ${#WHY[@]} -eq 0 ]; then
		results+=("CHECK $CHECK PASS (${secs} s in L1): ${SEEN[*]}")
	else
		results+=("CHECK $CHECK FAIL (${secs} s in L1): ${WHY[*]}")
		for f in "$work"/*.serial; do
			[ "$f" -nt "$work/.check-start" ] || continue
			echo "    ----- $f"
			sed 's/^/    | /' "$f" | tail -n 40
		done
	fi
	echo "${results[-1]}"
}
# virtio-net modern-only (1af4:1041) as Hutch's: Debian's pxe-virtio.rom
# names 1af4:1041 in its PCI header, and SeaBIOS runs a ROM only for the
# device it names (a transitional 1af4:1000 boots nothing).
nic_device() {   # MODEL [romfile] -> -device argument
	local rom=${2:-}
	case $1 in
	e1000) echo "e1000,netdev=n0,mac=${MAC:-52:54:00:12:34:56},romfile=$rom" ;;
	virtio) echo "virtio-net-pci,disable-legacy=on,netdev=n0,mac=${MAC:-52:54:00:12:34:56},romfile=$rom" ;;
	esac
}

http_port=$(net_free_port)
net_dns_start 53 files.hutch.test=10.0.2.2
net_http_start "$work/www" "$http_port" 10
echo "L1: DNS on 127.0.0.1:53 ($(tr '\n' ' ' < /etc/resolv.conf)), HTTP on 127.0.0.1:$http_port, big.bin sha256 $NET_HTTP_SHA"

check_nat() {   # MODEL
	check_begin "nat-$1"
	touch "$work/.check-start"
	qemu_start "nat-$1" "user,id=n0" "$(nic_device "$1")" "$(net_append nat name=files.hutch.test port="$http_port")"
	qemu_wait "$QPID" || bad "QEMU exited with $?"
	local s=$work/nat-$1.serial
	want driver "$(net_result driver "$s")" "$([ "$1" = e1000 ] && echo e1000 || echo virtio_net)"
	want ip "$(net_result ip "$s")" 10.0.2.15
	want router "$(net_result router "$s")" 10.0.2.2
	want dns "$(net_result dns "$s")" 10.0.2.3
	want resolved "$(net_result resolved "$s")" 10.0.2.2
	if grep -q "^1 files.hutch.test 0" "$NET_DNS_LOG"; then
		seen "dns_query_reached_the_test_server=yes"
	else
		bad "the test's DNS server never saw the A query"
	fi
	want http_sha "$(net_result http_sha "$s")" "$NET_HTTP_SHA"
	want http_sha_match "$(net_result http_sha_match "$s")" yes
	seen "http_secs=$(net_result http_secs "$s") dhcp_secs=$(net_result dhcp_secs "$s")"
	: > "$NET_DNS_LOG"
	check_end
}

check_fwd() {
	local hp hp2 got s=$work/fwd.serial
	check_begin fwd
	touch "$work/.check-start"
	hp=$(net_free_port)
	qemu_start fwd "user,id=n0,hostfwd=tcp:127.0.0.1:$hp-:8080" "$(nic_device virtio)" \
		"$(net_append fwd fwdport=8080 token=hutch-fwd-token hold=120)"
	if ! net_wait_result "$s" fwd_ready 120 "$QPID" > /dev/null; then
		bad "the guest never said fwd_ready"
	else
		got=$(net_xfer get --timeout 20 "http://127.0.0.1:$hp/" 2>&1 || true)
		want "GET 127.0.0.1:$hp/" "$got" hutch-fwd-token
		# A rule added while running, then deleted (QEMU's monitor here;
		# vmctl controlvm VM natpf1 ... with Hutch).
		hp2=$(net_free_port)
		net_xfer hmp "$rt/fwd.mon" "hostfwd_add n0 tcp:127.0.0.1:$hp2-:8080" > /dev/null
		got=$(net_xfer get --timeout 20 "http://127.0.0.1:$hp2/" 2>&1 || true)
		want "GET via the added rule" "$got" hutch-fwd-token
		net_xfer hmp "$rt/fwd.mon" "hostfwd_remove n0 tcp:127.0.0.1:$hp2" > /dev/null
		if net_xfer get --timeout 5 "http://127.0.0.1:$hp2/" > /dev/null 2>&1; then
			bad "the deleted rule still forwards"
		else
			seen "deleted_rule=refused"
		fi
		net_xfer get --timeout 20 "http://127.0.0.1:$hp/cgi-bin/quit" > /dev/null 2>&1 || true
	fi
	qemu_wait "$QPID" || bad "QEMU exited with $?"
	want fwd_quit "$(net_result fwd_quit "$s")" asked
	check_end
}

check_link() {   # MODEL
	local s=$work/link-$1.serial
	check_begin "link-$1"
	touch "$work/.check-start"
	qemu_start "link-$1" "user,id=n0" "$(nic_device "$1")" "$(net_append link changes=2 hold=120)"
	if net_wait_result "$s" link_ready 120 "$QPID" > /dev/null; then
		want "carrier at start" "$(net_result carrier "$s")" 1
		net_xfer hmp "$rt/link-$1.mon" "set_link n0 off" > /dev/null
		net_wait_value "$s" changes 1 20 "$QPID" || true
		want "carrier after set_link off" "$(net_result carrier "$s")" 0
		net_xfer hmp "$rt/link-$1.mon" "set_link n0 on" > /dev/null
		net_wait_value "$s" changes 2 20 "$QPID" || true
		want "carrier after set_link on" "$(net_result carrier "$s")" 1
		want changes "$(net_result changes "$s")" 2
	else
		bad "the guest never said link_ready"
	fi
	qemu_wait "$QPID" || bad "QEMU exited with $?"
	check_end
}

check_intnet() {
	local a=$work/intnet-a.serial b=$work/intnet-b.serial c=$work/intnet-c.serial pa pb pc
	check_begin intnet
	touch "$work/.check-start"
	# Multicast on the loopback: QEMU's socket netdev needs a route.
	ip link set lo multicast on
	ip route add 224.0.0.0/4 dev lo 2> /dev/null || true
	local neta="socket,id=n0,mcast=230.0.0.1:12001,localaddr=127.0.0.1"
	local netb="socket,id=n0,mcast=230.0.0.2:12002,localaddr=127.0.0.1"
	qemu_start intnet-c "$netb" "$(MAC=52:54:00:00:77:03 nic_device e1000)" \
		"$(net_append quiet ip=192.168.50.3/24 peer=192.168.50.1 hold=150)"
	pc=$QPID
	net_wait_result "$c" quiet_ready 120 "$pc" > /dev/null || bad "VM C never got ready"
	qemu_start intnet-a "$neta" "$(MAC=52:54:00:00:77:01 nic_device e1000)" \
		"$(net_append peer ip=192.168.50.1/24 peer=192.168.50.2 mib=10)"
	pa=$QPID
	qemu_start intnet-b "$neta" "$(MAC=52:54:00:00:77:02 nic_device virtio)" \
		"$(net_append peer ip=192.168.50.2/24 peer=192.168.50.1 mib=10)"
	pb=$QPID
	qemu_wait "$pa" || bad "QEMU (A) exited with $?"
	qemu_wait "$pb" || bad "QEMU (B) exited with $?"
	want "A ping B" "$(net_result ping "$a")" ok
	want "B ping A" "$(net_result ping "$b")" ok
	want "A->B sha256" "$(net_result recv_sha "$b")" "$(net_result sent_sha "$a")"
	want "B->A sha256" "$(net_result recv_sha "$a")" "$(net_result sent_sha "$b")"
	want "bytes A->B" "$(net_result recv_bytes "$b")" 10485760
	seen "send_secs A=$(net_result send_secs "$a") B=$(net_result send_secs "$b")"
	# C's first count after A and B have finished covers all their traffic.
	local n
	n=$(grep -c quiet_rx_frames= "$c" || true)
	local end=$((SECONDS + 30))
	while [ "$(grep -c quiet_rx_frames= "$c" || true)" -le "$n" ] && [ $SECONDS -lt $end ]; do sleep 0.5; done
	if [ "$(grep -c quiet_rx_frames= "$c" || true)" -le "$n" ]; then
		bad "C stopped counting before A and B finished"
	else
		want "C received frames while A and B talked" "$(net_result quiet_rx_frames "$c")" 0
		seen "C counted for $(net_result quiet_secs "$c") s"
	fi
	qemu_wait "$pc" || bad "QEMU (C) exited with $?"
	want "C ping A (another network)" "$(net_result ping "$c")" failed
	check_end
}

check_bridged() {
	local s=$work/bridged.serial out
	check_begin bridged
	touch "$work/.check-start"
	net_bridge_ns_setup
	net_tap_add htap0
	net_bg peer-recv net_peer python3 "$here/netxfer.py" recv --timeout 240 5001 "$work/peer-in.bin"
	head -c $((10 << 20)) /dev/urandom > "$work/peer-out.bin"
	qemu_start bridged "tap,id=n0,ifname=htap0,script=no,downscript=no" "$(nic_device e1000)" \
		"$(net_append peer ip="$NET_GUEST_IP/24" peer="$NET_PEER_IP" mib=10)"
	out=$(net_peer python3 "$here/netxfer.py" send --timeout 240 "$NET_GUEST_IP" 5001 "$work/peer-out.bin" 2>&1 || true)
	qemu_wait "$QPID" || bad "QEMU exited with $?"
	wait "$NET_BG_PID" 2> /dev/null || true
	want "guest ping peer" "$(net_result ping "$s")" ok
	want "guest->peer sha256" "$(sed -n 's/.*sha256=//p' "$work/peer-recv.log")" "$(net_result sent_sha "$s")"
	want "peer->guest sha256" "$(net_result recv_sha "$s")" "$(echo "$out" | sed -n 's/.*sha256=//p')"
	seen "send_secs=$(net_result send_secs "$s")"
	net_bridge_ns_teardown
	check_end
}

check_pxe() {   # MODEL
	local s=$work/pxe-$1.serial rom
	check_begin "pxe-$1"
	touch "$work/.check-start"
	rom=/usr/lib/ipxe/qemu/pxe-$1.rom
	# No -kernel: SeaBIOS finds no disk and boots the NIC's iPXE ROM.
	# SeaBIOS's log (port 0x402) shows whether the ROM ran.
	qemu_start "pxe-$1" "user,id=n0,tftp=$work/tftp,bootfile=boot.ipxe" "$(nic_device "$1" "$rom")" "" \
		-boot order=n -debugcon "file:$work/pxe-$1.seabios" -global isa-debugcon.iobase=0x402
	qemu_wait "$QPID" || bad "QEMU exited with $?"
	want pxe_booted "$(net_result pxe_booted "$s")" 1
	want "ip after PXE" "$(net_result ip "$s")" 10.0.2.15
	check_end
}

for c in "${checks[@]}"; do
	case $c in
	nat-e1000|nat-virtio) check_nat "${c#nat-}" ;;
	fwd) check_fwd ;;
	link-e1000|link-virtio) check_link "${c#link-}" ;;
	intnet) check_intnet ;;
	bridged) check_bridged ;;
	pxe-e1000|pxe-virtio) check_pxe "${c#pxe-}" ;;
	*) results+=("CHECK $c FAIL: no such check") ;;
	esac
done
echo
echo "=== net-qemu-check ($(qemu-system-x86_64 --version | head -n 1)) ==="
printf '%s\n' "${results[@]}"
! printf '%s\n' "${results[@]}" | grep -q ' FAIL '
