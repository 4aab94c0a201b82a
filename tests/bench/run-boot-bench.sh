#!/usr/bin/env bash
# Boot benchmark, hutch-vm beside QEMU (-accel kvm), in one run of the KVM
# sandbox when this host has no /dev/kvm.  Usage: run-boot-bench.sh [ROUNDS]
# Expects a release build in build/ (scripts/build.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
rounds=${1:-5}
kernel=$(ls -1 /boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$top/build/bench-initrd.cpio.gz
tests/guest/mkinitramfs.sh "$initrd" tests/bench/bench-init.sh
cmd=(python3 tests/bench/boot_bench.py --hutch-vm "$top/build/src/frontend/hutch-vm"
     --kernel "$kernel" --initrd "$initrd" --rounds "$rounds")
if tests/sandbox/sandbox.sh --check | grep -q "^kvm:"; then   # (a paravirtual /dev/kvm does not count)
	exec "${cmd[@]}"
fi
echo "no usable /dev/kvm: running the benchmark inside the KVM sandbox"
exec tests/sandbox/sandbox.sh --timeout 3000 -- "${cmd[@]}"
