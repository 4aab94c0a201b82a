#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Network benchmark, hutch-vm beside QEMU (-accel kvm), in one run of the
# KVM sandbox when this host has no /dev/kvm (tests/bench/net_bench.py says
# what is measured).
#
#   run-net-bench.sh [--qemu-only] [--build-dir DIR] [--secs N] [--paths nat,tap]
#                    [--models e1000,virtio] [ROUNDS]
#
# ROUNDS defaults to 3; --secs (default 5) is iperf3's time per direction.
# hutch-vm (DIR/src/frontend/hutch-vm, default build/) is left out with
# --qemu-only, or by itself while its --help has no --nic.  Run it on an
# idle machine, under flock /work/wt/sandbox.lock on the shared ones.
# Needs root inside (network namespaces, a bridge, a TAP): the sandbox's L1
# is root; directly on a host with /dev/kvm, run it as root.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=$top/build qemu_only="" secs=5 rounds=3 inside="" paths=nat,tap models=e1000,virtio
while [ $# -gt 0 ]; do
	case $1 in
	--qemu-only) qemu_only=--qemu-only; shift ;;
	--build-dir) build=$(cd "$2" && pwd); shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--paths) paths=$2; shift 2 ;;
	--models) models=$2; shift 2 ;;
	--inside) inside=$2; shift 2 ;;
	[0-9]*) rounds=$1; shift ;;
	*) echo "usage: run-net-bench.sh [--qemu-only] [--build-dir DIR] [--secs N] [--paths nat,tap] [--models e1000,virtio] [ROUNDS]" >&2; exit 2 ;;
	esac
done
args=(--build-dir "$build" --secs "$secs" --paths "$paths" --models "$models" ${qemu_only:+"$qemu_only"} "$rounds")

if [ -z "$inside" ]; then
	work=$top/build/sandbox/net-bench
	rm -rf "$work"
	mkdir -p "$work"
	NET_DIR=$work
	# shellcheck source=tests/guest/netlib.sh
	. "$top/tests/guest/netlib.sh"
	net_initramfs "$work/bench.cpio.gz" --iperf3
	if tests/sandbox/sandbox.sh --check | grep -q "^kvm:"; then   # (a paravirtual /dev/kvm does not count)
		exec "$0" "${args[@]}" --inside "$work"
	fi
	echo "no usable /dev/kvm: running the benchmark inside the KVM sandbox"
	exec tests/sandbox/sandbox.sh --timeout 3000 --results "$top/build/sandbox" -- "$0" "${args[@]}" --inside "$work"
fi

# --- inside: KVM is here; the benchmark gets namespaces of its own ---
work=$inside
NET_DIR=$work
# shellcheck source=tests/guest/netlib.sh
. "$top/tests/guest/netlib.sh"
net_isolate "${args[@]}" --inside "$work"
net_bridge_ns_setup
net_tap_add htap0
kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
python3 "$top/tests/bench/net_bench.py" ${qemu_only:+"$qemu_only"} \
	--hutch-vm "$build/src/frontend/hutch-vm" --kernel "$kernel" --initrd "$work/bench.cpio.gz" \
	--rounds "$rounds" --secs "$secs" --paths "$paths" --models "$models" --bridge "$NET_BR" --tap htap0 \
	--peer-ns "$NET_PEER_NS" --peer-ip "$NET_PEER_IP" --guest-ip "$NET_GUEST_IP" --work "$work"
