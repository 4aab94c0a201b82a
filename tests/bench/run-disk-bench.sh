#!/usr/bin/env bash
# Disk benchmark, hutch-vm beside QEMU (-accel kvm), in one run of the KVM
# sandbox when this host has no /dev/kvm.
#
# Usage: run-disk-bench.sh [MIB]   (default 256: the test disk's size)
#
# For virtio-blk and AHCI, each with a raw and a qcow2 image, the same
# guest (Debian's kernel, a busybox initramfs with tests/guest/tools/
# guest_io.c) runs `guest-io bench`: O_DIRECT sequential 1 MiB writes and
# reads over the disk, then 4096 random 4 KiB writes and reads; under
# hutch-vm and under qemu-system-x86_64 -accel kvm (virtio-blk-pci /
# ich9-ahci + ide-hd, cache=writeback like Hutch's buffered I/O), fresh
# images each time.  Prints a table of both and the ratios hutch/QEMU
# (higher is better for Hutch).  A benchmark, not a test: nothing is asserted.
# Expects a release build in build/ (scripts/build.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mib=${1:-256}
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

cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# (inside the sandbox, or directly with /dev/kvm)
set -uo pipefail
top=$1 out=$2 kernel=$3 mib=$4
append="console=ttyS0 quiet panic=-1"
results=$out/results.txt
: > "$results"
for bus in virtio sata; do
	for fmt in raw qcow2; do
		for vmm in hutch qemu; do
			img=$out/disk.$fmt
			rm -f "$img"
			qemu-img create -q -f "$fmt" "$img" "$((mib + 16))M"
			if [ $vmm = hutch ]; then
				cmd=("$top/build/src/frontend/hutch-vm" --kernel "$kernel" --initrd "$out/initrd.gz"
				     --append "$append" --memory 512 --drive "file=$img,format=$fmt,if=$bus")
			else
				dev=(-device "virtio-blk-pci,drive=d0")
				[ $bus = sata ] && dev=(-device ich9-ahci,id=ahci -device "ide-hd,drive=d0,bus=ahci.0")
				cmd=(qemu-system-x86_64 -accel kvm -M pc -nodefaults -cpu host -m 512 -display none
				     -serial stdio -kernel "$kernel" -initrd "$out/initrd.gz" -append "$append"
				     -drive "file=$img,format=$fmt,if=none,id=d0,cache=writeback" "${dev[@]}")
			fi
			timeout 900 "${cmd[@]}" < /dev/null 2> "$out/$vmm-$bus-$fmt.err" |
				tr -d '\r' | sed -n "s/^HUTCH-BENCH /$vmm $bus $fmt /p" >> "$results"
		done
	done
done
python3 - "$results" <<'PY'
import sys, collections
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    vmm, bus, fmt, kv = line.split()
    k, v = kv.split("=")
    rows[(bus, fmt, k)][vmm] = float(v)
print("%-8s %-6s %-16s %10s %10s %7s" % ("bus", "format", "figure", "hutch", "qemu", "ratio"))
for (bus, fmt, k), r in rows.items():
    h, q = r.get("hutch"), r.get("qemu")
    ratio = "%.2f" % (h / q) if h and q else "-"
    print("%-8s %-6s %-16s %10s %10s %7s" % (bus, fmt, k, h if h is not None else "-", q if q is not None else "-", ratio))
PY
RUN
chmod +x "$out/run.sh"
if tests/sandbox/sandbox.sh --check | grep -q "^kvm:"; then   # (a paravirtual /dev/kvm does not count)
	exec "$out/run.sh" "$top" "$out" "$kernel" "$mib"
fi
echo "no usable /dev/kvm: running the benchmark inside the KVM sandbox"
exec tests/sandbox/sandbox.sh --timeout 3600 --results "$out" -- "$out/run.sh" "$top" "$out" "$kernel" "$mib"
