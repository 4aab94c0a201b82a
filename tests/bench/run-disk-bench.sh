#!/usr/bin/env bash
# Disk benchmark, hutch-vm beside QEMU (-accel kvm), in one run of the KVM
# sandbox when this host has no /dev/kvm.
#
# Usage: run-disk-bench.sh [MIB] [ROUNDS] [HUTCH_DRIVE_OPTS] [ROWS]
#        (defaults 128: the test disk's size; 3 rounds; "" e.g. ",hostcache=off";
#        all rows, or e.g. "virtio:qcow2,sata:raw")
#
# For virtio-blk and AHCI, each with a raw and a qcow2 image, the same
# guest (Debian's kernel, a busybox initramfs with tests/guest/tools/
# guest_io.c) runs `guest-io bench`: O_DIRECT sequential 1 MiB writes and
# reads over the disk, 4096 random 4 KiB writes and reads one at a time,
# and 8192 random 4 KiB reads 32 in flight; under hutch-vm and under
# qemu-system-x86_64 -accel kvm (virtio-blk-pci / ich9-ahci + ide-hd,
# cache=writeback like Hutch's default host cache), fresh images each
# time.  tests/bench/disk_bench.py runs the rounds interleaved, reads the
# VMM's CPU per phase and prints medians and ratios hutch/QEMU.  A
# benchmark, not a test: nothing is asserted.
# Expects a release build in build/ (scripts/build.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mib=${1:-128}
rounds=${2:-3}
opts=${3:-}
rows=${4:-}
out=$top/build/disk-bench
mkdir -p "$out"
kernel=$(ls -1 /boot/vmlinuz-* | sort -V | tail -n 1)
cc -static -O2 -o "$out/guest-io" tests/guest/tools/guest_io.c
cat > "$out/init.sh" <<INIT
i=0; while [ ! -b /dev/vda ] && [ ! -b /dev/sda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
dev=/dev/vda; [ -b \$dev ] || dev=/dev/sda
/guest-io bench \$dev $mib
poweroff -f
INIT
HUTCH_KERNEL=$kernel tests/guest/mkinitramfs.sh "$out/initrd.gz" "$out/init.sh" \
	--file "$out/guest-io:/guest-io" --module ahci --module sd_mod --module virtio_pci --module virtio_blk

cmd=(python3 "$top/tests/bench/disk_bench.py" --hutch-vm "$top/build/src/frontend/hutch-vm"
     --kernel "$kernel" --initrd "$out/initrd.gz" --mib "$mib" --rounds "$rounds"
     --hutch-drive-opts "$opts" --rows "$rows")
if tests/sandbox/sandbox.sh --check | grep -q "^kvm:"; then   # (a paravirtual /dev/kvm does not count)
	exec "${cmd[@]}" --dir "$out"
fi
echo "no usable /dev/kvm: running the benchmark inside the KVM sandbox"
# The images go to L1's own tmpfs, not to the results share: the share is
# 9p to the emulating QEMU, where a boot's sequential rows came out either
# fast or several times slower at random (13-31 MB/s against 70-190, with one I/O
# thread or four; docs/testing.md): that measured the sandbox's 9p, not
# the VMM.  Debian 12's tmpfs refuses O_DIRECT, so with hostcache=off the
# images stay on the share.
case $opts in
*hostcache=off*) imgdir=$out ;;
*) imgdir=/tmp/hutch-disk-bench ;;
esac
exec tests/sandbox/sandbox.sh --timeout 5400 --results "$out" -- "${cmd[@]}" --dir "$imgdir"
