#!/usr/bin/env bash
# Firmware benchmark (tests/bench/firmware_bench.py): hutch-vm beside QEMU
# (-accel kvm, SeaBIOS, -vga std, the same AHCI disk), in one run of the KVM
# sandbox when this host has no /dev/kvm.
# Usage: run-firmware-bench.sh [ROUNDS] [IDLE_SECS]
# Expects a release build in build/ (scripts/build.sh) and the packages of
# scripts/install-deps.sh (syslinux, mtools for the disk images).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
rounds=${1:-5} idle=${2:-20}
kernel=$(ls -1 /boot/vmlinuz-* | sort -V | tail -n 1)
work=$top/build/firmware-bench
mkdir -p "$work"
# The boot disk's guest prints the marker and powers off; the idle disk's
# sets 1024x768x32 through the bochs DRM driver, says so and waits.
cat > "$work/idle-init.sh" <<'INIT'
for _ in $(seq 1 50); do [ -e /dev/fb0 ] && break; sleep 0.1; done
echo HUTCH-BENCH-IDLE
while true; do sleep 1000; done
INIT
tests/guest/mkinitramfs.sh "$work/boot-initrd.gz" tests/bench/bench-init.sh
tests/guest/mkinitramfs.sh "$work/idle-initrd.gz" "$work/idle-init.sh" --module bochs
tests/guest/mkbootimage.sh disk "$work/boot.img" "$kernel" "$work/boot-initrd.gz" "console=ttyS0 quiet"
tests/guest/mkbootimage.sh disk "$work/idle.img" "$kernel" "$work/idle-initrd.gz" \
	"console=ttyS0 quiet video=1024x768"
cmd=(python3 tests/bench/firmware_bench.py --hutch-vm "$top/build/src/frontend/hutch-vm"
     --boot-disk "$work/boot.img" --idle-disk "$work/idle.img" --rounds "$rounds" --idle "$idle")
if tests/sandbox/sandbox.sh --check | grep -q "^kvm:"; then   # (a paravirtual /dev/kvm does not count)
	exec "${cmd[@]}"
fi
echo "no usable /dev/kvm: running the benchmark inside the KVM sandbox"
exec tests/sandbox/sandbox.sh --timeout 3000 -- "${cmd[@]}"
