# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for the network guest tests and the network benchmark (sourced,
# after lib.sh in a guest test; alone in tests/bench/run-net-bench.sh and
# tests/guest/tools/net-qemu-check.sh).  The guest side is one init script,
# tests/guest/net-init.sh, whose role comes from the kernel command line
# (hnet.role=nat|fwd|link|peer|quiet|pxe|bench, see that file).
#
# Tests send traffic only to the loopback or to network namespaces they make.
# net_isolate puts the whole test into a network and mount namespace of its
# own, so that its bridge, TAPs, servers and its /etc/resolv.conf are its
# alone (in the KVM sandbox as on a host with /dev/kvm); it needs root.
#
#   net_isolate "$@"     first thing in a test: re-runs the script in new
#                        network and mount namespaces (unshare), loopback up
#   net_initramfs OUT [INIT_SCRIPT] [--iperf3] [--file SRC:DEST]...
#                        the busybox initramfs with e1000 and virtio_net
#                        (+ virtio_pci), /etc/udhcpc.script for udhcpc, and
#                        with --iperf3 Debian's iperf3 and its libraries;
#                        INIT_SCRIPT defaults to net-init.sh
#   net_append ROLE [KEY=VALUE]...
#                        a kernel command line for net-init.sh:
#                        "console=ttyS0 quiet panic=-1 hnet.role=ROLE hnet.KEY=VALUE..."
#   net_dns_start [PORT] [NAME=A.B.C.D]...
#                        tools/dnsserver.py on 127.0.0.1:PORT (default 53;
#                        names default files.hutch.test=10.0.2.2), queries
#                        logged in $NET_DNS_LOG; with port 53 it makes
#                        /etc/resolv.conf say "nameserver 127.0.0.1" (a bind
#                        mount, undone by net_cleanup), since a NAT like
#                        libslirp forwards the guest's queries to 10.0.2.3
#                        to the host's nameserver from /etc/resolv.conf
#   net_http_start DIR PORT [MIB]
#                        DIR/big.bin (MIB MiB of random bytes, default 10) and
#                        DIR/big.bin.sha256, served by python3 -m http.server
#                        on 127.0.0.1:PORT; sets NET_HTTP_SHA
#   net_bridge_ns_setup  bridge $NET_BR with a veth into the namespace
#                        $NET_PEER_NS whose end is $NET_PEER_IP/24
#                        (192.168.77.1); guests on the bridge use
#                        192.168.77.0/24 too ($NET_GUEST_IP, .10)
#   net_pxe_root DIR INITRD
#                        a TFTP root: vmlinuz, INITRD as initrd.gz and an
#                        iPXE script boot.ipxe that boots them (role pxe)
#   net_tap_add NAME     a TAP device (for QEMU's -netdev tap) on the bridge
#   net_peer CMD...      CMD inside the peer namespace
#   net_bridge_ns_teardown
#   net_free_port        a free TCP port on 127.0.0.1
#   net_wait_result LOG KEY [TIMEOUT] [PID]
#                        waits (default 120 s) until LOG has a HUTCH-RESULT
#                        line with KEY=, prints its value; 1 on timeout or
#                        when PID (the VMM) is gone
#   net_wait_value LOG KEY VALUE [TIMEOUT] [PID]
#                        waits until the last KEY= in LOG is VALUE
#   net_wait_done LOG [TIMEOUT]  the same for "done=" (the guest's last line)
#   net_result KEY LOG   the value of the last KEY= on a HUTCH-RESULT line
#   net_xfer ...         tests/guest/tools/netxfer.py (recv, send, get, hmp)
#   net_bg NAME CMD...   CMD in the background, its output in
#                        $NET_DIR/NAME.log, killed by net_cleanup; sets NET_BG_PID
# VMs set up through vmctl (VBoxManage syntax), in a guest test:
#   net_vmctl_init       finds vmctl ($VMCTL), settings under $NET_DIR/config,
#                        runtime directory under /tmp
#   net_vmctl ARGS...    vmctl, its stderr appended to $NET_DIR/vmctl.log
#   net_vm_create VM INITRD APPEND [modifyvm options]...
#                        a VM (256 MiB, 1 vCPU) booting $HUTCH_KERNEL with
#                        INITRD and APPEND (INITRD "-": no direct kernel
#                        boot, the firmware boots), its console in
#                        $NET_DIR/VM.serial
#   net_vm_start VM      startvm --type headless (fails the test if refused)
#   net_vm_info VM KEY   a value of showvminfo --machinereadable
#   net_vm_wait_off VM [TIMEOUT]  until VMState is poweroff (or aborted)
#   net_cleanup          stops what the helpers started (VMs too), undoes the bind
#                        mount and the bridge; set as the EXIT trap by
#                        net_isolate (a test with its own trap calls it)
NETLIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NET_DIR=${NET_DIR:-${HUTCH_TEST_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hutch-net.XXXXXX")}}
NET_BR=${NET_BR:-hutchbr0}
NET_PEER_NS=${NET_PEER_NS:-hutchpeer$$}
NET_PEER_IP=${NET_PEER_IP:-192.168.77.1}
NET_GUEST_IP=${NET_GUEST_IP:-192.168.77.10}
NET_PIDS=()
NET_VMS=()
NET_MOUNTS=()
NET_TAPS=()
NET_BRIDGE_UP=""

LOGS=(${LOGS[@]+"${LOGS[@]}"})

net_die() {
	if declare -F fail > /dev/null; then fail "$*"; fi
	echo "netlib: $*" >&2
	exit 1
}

net_isolate() {
	if [ -z "${NET_ISOLATED:-}" ]; then
		[ "$(id -u)" = 0 ] || net_die "network tests need root (network and mount namespaces, bridges, TAPs)"
		NET_ISOLATED=1 exec unshare --net --mount --propagation private -- bash "$0" "$@"
	fi
	ip link set lo up
	trap net_cleanup EXIT
}

# NET_INITRAMFS_ARGS: mkinitramfs.sh's arguments after OUT and INIT.
net_initramfs_args() {   # [--iperf3]
	local files=$NET_DIR/netfiles lib
	mkdir -p "$files"
	cat > "$files/udhcpc.script" <<'SCRIPT'
#!/bin/sh
# busybox udhcpc calls this with deconfig, bound, renew, nak or leasefail;
# $ip, $mask (prefix length), $router and $dns describe the lease.
case $1 in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up ;;
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	ip link set "$interface" up
	for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
	: > /etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
	echo "$ip ${router%% *} $(echo $dns | tr ' ' ,)" > "/tmp/lease.$interface" ;;
esac
exit 0
SCRIPT
	chmod +x "$files/udhcpc.script"
	NET_INITRAMFS_ARGS=(--module e1000 --module virtio_pci --module virtio_net
		--file "$files/udhcpc.script:/etc/udhcpc.script")
	if [ "${1:-}" = --iperf3 ]; then
		command -v iperf3 > /dev/null || net_die "iperf3 missing (apt-get install iperf3)"
		NET_INITRAMFS_ARGS+=(--file "$(command -v iperf3):/usr/bin/iperf3")
		# Its shared libraries and the loader, at the paths ldd names
		# (a symlink's target copied under the link's name).
		for lib in $(ldd "$(command -v iperf3)" | grep -o '/[^ ]*'); do
			NET_INITRAMFS_ARGS+=(--file "$(readlink -f "$lib"):$lib")
		done
	fi
}

net_initramfs() {   # OUT [INIT_SCRIPT] [--iperf3] [--file SRC:DEST]...
	local out=$1 init=$NETLIB_DIR/net-init.sh iperf=""
	shift
	if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then init=$1; shift; fi
	if [ "${1:-}" = --iperf3 ]; then iperf=--iperf3; shift; fi
	net_initramfs_args $iperf
	if declare -F mk_initramfs > /dev/null; then
		mk_initramfs "$out" "$init" "${NET_INITRAMFS_ARGS[@]}" "$@"
	else
		"$NETLIB_DIR/mkinitramfs.sh" "$out" "$init" "${NET_INITRAMFS_ARGS[@]}" "$@"
	fi
}

net_append() {   # ROLE [KEY=VALUE]...
	local a="console=ttyS0 quiet panic=-1 hnet.role=$1" kv
	shift
	for kv in "$@"; do a+=" hnet.$kv"; done
	echo "$a"
}

net_bg() {   # NAME CMD...
	local name=$1; shift
	"$@" > "$NET_DIR/$name.log" 2>&1 &
	NET_BG_PID=$!
	NET_PIDS+=("$NET_BG_PID")
}

# net_wait_log FILE TEXT TIMEOUT: until FILE holds TEXT.
net_wait_log() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		grep -q -- "$2" "$1" 2> /dev/null && return 0
		sleep 0.1
	done
	return 1
}

net_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

net_dns_start() {   # [PORT] [NAME=A.B.C.D]...
	local port=53 names=() rc
	case ${1:-} in [0-9]*) port=$1; shift ;; esac
	names=("$@")
	[ ${#names[@]} -gt 0 ] || names=(files.hutch.test=10.0.2.2)
	NET_DNS_LOG=$NET_DIR/dns-queries.log
	: > "$NET_DNS_LOG"
	net_bg dnsserver python3 "$NETLIB_DIR/tools/dnsserver.py" --port "$port" --log "$NET_DNS_LOG" "${names[@]}"
	net_wait_log "$NET_DIR/dnsserver.log" "dnsserver: ready" 10 ||
		net_die "the DNS server did not start: $(cat "$NET_DIR/dnsserver.log")"
	[ "$port" = 53 ] || return 0
	if [ "$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2> /dev/null)" != 127.0.0.1 ]; then
		# Only ever in a mount namespace of the test's own.
		[ -n "${NET_ISOLATED:-}" ] || net_die "net_dns_start: call net_isolate first (it bind-mounts over /etc/resolv.conf)"
		rc=$NET_DIR/resolv.conf
		echo "nameserver 127.0.0.1" > "$rc"
		mount --bind "$rc" /etc/resolv.conf || net_die "cannot bind-mount $rc over /etc/resolv.conf"
		NET_MOUNTS+=(/etc/resolv.conf)
	fi
}

net_http_start() {   # DIR PORT [MIB]
	local dir=$1 port=$2 mib=${3:-10}
	mkdir -p "$dir"
	head -c $((mib << 20)) /dev/urandom > "$dir/big.bin"
	(cd "$dir" && sha256sum big.bin > big.bin.sha256)
	# shellcheck disable=SC2034  # (for the caller)
	NET_HTTP_SHA=$(cut -d' ' -f1 "$dir/big.bin.sha256")
	net_bg "http-$port" python3 -m http.server --bind 127.0.0.1 --directory "$dir" "$port"
	local i
	for ((i = 0; i < 100; i++)); do
		net_xfer get --timeout 2 "http://127.0.0.1:$port/big.bin.sha256" > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	net_die "the HTTP server on 127.0.0.1:$port did not start: $(cat "$NET_DIR/http-$port.log")"
}

net_bridge_ns_setup() {
	modprobe -q bridge 2> /dev/null || true
	modprobe -q veth 2> /dev/null || true
	modprobe -q tun 2> /dev/null || true
	ip link add "$NET_BR" type bridge || net_die "cannot create the bridge $NET_BR"
	NET_BRIDGE_UP=1
	# No STP and no forwarding delay: a new port forwards at once.
	ip link set "$NET_BR" type bridge stp_state 0 forward_delay 0 2> /dev/null || true
	ip link set "$NET_BR" up
	ip netns add "$NET_PEER_NS" || net_die "cannot create the network namespace $NET_PEER_NS"
	ip link add hveth0 type veth peer name hveth1 netns "$NET_PEER_NS" ||
		net_die "cannot create the veth pair"
	ip link set hveth0 master "$NET_BR" up
	ip -n "$NET_PEER_NS" link set lo up
	ip -n "$NET_PEER_NS" addr add "$NET_PEER_IP/24" dev hveth1
	ip -n "$NET_PEER_NS" link set hveth1 up
}

net_pxe_root() {   # DIR INITRD
	local kernel=${HUTCH_KERNEL:-$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)}
	mkdir -p "$1"
	cp "$kernel" "$1/vmlinuz"
	cp "$2" "$1/initrd.gz"
	# iPXE fetches the script as the DHCP boot file; names in it are
	# relative to the script's own URI (tftp://10.0.2.2/).
	cat > "$1/boot.ipxe" <<-EOF
	#!ipxe
	echo hutch: booting the test kernel over TFTP
	kernel vmlinuz initrd=initrd.gz $(net_append pxe)
	initrd initrd.gz
	boot
	EOF
}

net_tap_add() {   # NAME
	ip tuntap add "$1" mode tap || net_die "cannot create the TAP device $1"
	NET_TAPS+=("$1")
	ip link set "$1" master "$NET_BR" up
}

net_peer() { ip netns exec "$NET_PEER_NS" "$@"; }

net_bridge_ns_teardown() {
	local t
	[ -n "$NET_BRIDGE_UP" ] || return 0
	for t in ${NET_TAPS[@]+"${NET_TAPS[@]}"}; do ip link del "$t" 2> /dev/null || true; done
	NET_TAPS=()
	ip link del hveth0 2> /dev/null || true
	ip netns del "$NET_PEER_NS" 2> /dev/null || true
	ip link del "$NET_BR" 2> /dev/null || true
	NET_BRIDGE_UP=""
}

net_result() {   # KEY LOG
	sed -n "s/^[0-9]* \[cut\] .*//; s/.*HUTCH-RESULT.* $1=\([^ ]*\).*/\1/p" "$2" | tail -n 1 | tr -d '\r'
}

net_wait_result() {   # LOG KEY [TIMEOUT] [PID]
	local end=$((SECONDS + ${3:-120})) v
	while [ $SECONDS -lt $end ]; do
		if grep -q "HUTCH-RESULT.* $2=" "$1" 2> /dev/null; then
			v=$(net_result "$2" "$1")
			[ -z "$v" ] || { echo "$v"; return 0; }
		fi
		[ -z "${4:-}" ] || kill -0 "$4" 2> /dev/null || return 1
		sleep 0.2
	done
	return 1
}

net_wait_value() {   # LOG KEY VALUE [TIMEOUT] [PID]
	local end=$((SECONDS + ${4:-120}))
	while [ $SECONDS -lt $end ]; do
		[ "$(net_result "$2" "$1" 2> /dev/null)" != "$3" ] || return 0
		[ -z "${5:-}" ] || kill -0 "$5" 2> /dev/null || return 1
		sleep 0.2
	done
	return 1
}

net_wait_done() { net_wait_result "$1" "done" "${2:-120}"; }   # LOG [TIMEOUT]

net_xfer() { python3 "$NETLIB_DIR/tools/netxfer.py" "$@"; }

net_vmctl_init() {
	VMCTL=${HUTCH_BUILD_DIR:+$HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl}
	[ -x "${VMCTL:-}" ] || VMCTL=$(dirname "$HUTCH_VM")/vmctl/vmctl
	[ -x "$VMCTL" ] || net_die "no vmctl at $VMCTL"
	export HUTCH_CONFIG_HOME=$NET_DIR/config
	# UNIX socket paths are limited to 108 bytes: a short /tmp path.
	HUTCH_RUNTIME_DIR=$(mktemp -d /tmp/hutch-rt.XXXXXX)
	export HUTCH_RUNTIME_DIR
	# Nested KVM in the sandbox can take 10 s and more to reach "running".
	export HUTCH_START_TIMEOUT=${HUTCH_START_TIMEOUT:-180}
	export HUTCH_VM
	LOGS+=("$NET_DIR/vmctl.log")
}

net_vmctl() { "$VMCTL" "$@" 2>> "$NET_DIR/vmctl.log"; }

net_vm_create() {   # VM INITRD APPEND [modifyvm options]...
	local vm=$1 initrd=$2 append=$3 boot=()
	shift 3
	[ "$initrd" = - ] || boot=(--kernel "$HUTCH_KERNEL" --initrd "$initrd" --cmdline "$append")
	net_vmctl createvm --name "$vm" --ostype Linux_64 --register > /dev/null ||
		net_die "createvm $vm failed: $(tail -n 3 "$NET_DIR/vmctl.log")"
	NET_VMS+=("$vm")
	LOGS+=("$NET_DIR/$vm.serial" "$HUTCH_CONFIG_HOME/Hutch VMs/$vm/Logs/hutch-vm.log")
	net_vmctl modifyvm "$vm" --memory 256 --cpus 1 ${boot[@]+"${boot[@]}"} \
		--uart1 0x3F8 4 --uartmode1 file "$NET_DIR/$vm.serial" "$@" ||
		net_die "modifyvm $vm $*: $(tail -n 3 "$NET_DIR/vmctl.log")"
}

net_vm_start() {   # VM
	net_vmctl startvm "$1" --type headless > /dev/null ||
		net_die "startvm $1 failed: $(tail -n 3 "$NET_DIR/vmctl.log")"
}

net_vm_info() {   # VM KEY
	net_vmctl showvminfo "$1" --machinereadable |
		sed -n "s/^\"\{0,1\}$2\"\{0,1\}=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p"
}

net_vm_wait_off() {   # VM [TIMEOUT]
	local end=$((SECONDS + ${2:-240})) st
	while [ $SECONDS -lt $end ]; do
		st=$(net_vm_info "$1" VMState)
		case $st in poweroff|aborted) return 0 ;; esac
		sleep 0.5
	done
	return 1
}

net_cleanup() {
	local p m
	for m in ${NET_VMS[@]+"${NET_VMS[@]}"}; do
		case $(net_vm_info "$m" VMState 2> /dev/null) in
		running|paused) net_vmctl controlvm "$m" poweroff > /dev/null 2>&1 || true ;;
		esac
	done
	NET_VMS=()
	[ -z "${HUTCH_RUNTIME_DIR:-}" ] || [ "${HUTCH_RUNTIME_DIR#/tmp/hutch-rt.}" = "$HUTCH_RUNTIME_DIR" ] ||
		rm -rf "$HUTCH_RUNTIME_DIR"
	for p in ${NET_PIDS[@]+"${NET_PIDS[@]}"}; do kill "$p" 2> /dev/null || true; done
	for p in ${NET_PIDS[@]+"${NET_PIDS[@]}"}; do wait "$p" 2> /dev/null || true; done
	NET_PIDS=()
	for m in ${NET_MOUNTS[@]+"${NET_MOUNTS[@]}"}; do umount "$m" 2> /dev/null || true; done
	NET_MOUNTS=()
	net_bridge_ns_teardown
}
