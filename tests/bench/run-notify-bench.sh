#!/usr/bin/env bash
# Notification benchmark: hutch-vm with ioeventfd/irqfd, hutch-vm without
# (--no-kvm-notify), and QEMU (-accel kvm), interleaved, in one run of the
# KVM sandbox when this host has no /dev/kvm.
#
# Usage: run-notify-bench.sh [ROUNDS] [SECS] [IDLE]
#        (defaults 3 rounds, 8 s per random phase, 20 s idle)
#
# Each boot: O_DIRECT random 4 KiB writes then reads on a raw virtio-blk
# disk, one request at a time (the disk benchmark's random rows), then an
# idle guest.  Prints the medians of iops, the VMM's own CPU per 1,000
# requests and per second of idle guest, and the ratios hutch-off/hutch
# and hutch/qemu (tests/bench/notify_bench.py says how each is measured).
# A benchmark, not a test: nothing is asserted.  Expects a release build
# in build/ (scripts/build.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
rounds=${1:-3} secs=${2:-8} idle=${3:-20}
out=$top/build/notify-bench
mkdir -p "$out"
kernel=$(ls -1 /boot/vmlinuz-* | sort -V | tail -n 1)
cc -static -O2 -o "$out/guest-io" tests/guest/tools/guest_io.c
# Parameters come on the kernel command line (one initramfs for all).
cat > "$out/init.sh" <<'INIT'
for w in $(cat /proc/cmdline); do
	case $w in bench_secs=*|bench_idle=*|bench_mib=*) eval "$w" ;; esac
done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
/guest-io randbench /dev/vda "$bench_mib" "$bench_secs"
echo "HUTCH-PHASE begin idle"
sleep "$bench_idle"
echo "HUTCH-PHASE end idle"
poweroff -f
INIT
HUTCH_KERNEL=$kernel tests/guest/mkinitramfs.sh "$out/initrd.gz" "$out/init.sh" \
	--file "$out/guest-io:/guest-io" --module virtio_pci --module virtio_blk
cmd=(python3 tests/bench/notify_bench.py --hutch-vm "$top/build/src/frontend/hutch-vm"
     --kernel "$kernel" --initrd "$out/initrd.gz" --dir "$out" --rounds "$rounds"
     --secs "$secs" --idle "$idle")
if tests/sandbox/sandbox.sh --check | grep -q "^kvm:"; then   # (a paravirtual /dev/kvm does not count)
	exec "${cmd[@]}"
fi
echo "no usable /dev/kvm: running the benchmark inside the KVM sandbox"
exec tests/sandbox/sandbox.sh --timeout 3000 --results "$out" -- "${cmd[@]}"
