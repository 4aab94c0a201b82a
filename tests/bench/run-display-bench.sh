#!/usr/bin/env bash
# Display benchmark (tests/bench/display_bench.py): the VM window of
# hutch-vm (--display sdl) beside QEMU's (-display sdl), the same guest
# (1024x768x32 Bochs VBE: an idle picture, then every pixel redrawn frame
# after frame), on one Xvfb screen, in one run of the KVM sandbox when
# this host has no usable /dev/kvm.  Window frames are counted with the X
# DAMAGE extension, outside both VMMs (display_bench.py says how).
# Usage: run-display-bench.sh [ROUNDS] [IDLE_SECS] [BUSY_SECS]
# Expects a release build in build/ (scripts/build.sh) and the packages of
# scripts/install-deps.sh (xvfb, xdotool, syslinux, mtools).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
if [ "${1:-}" = --inside ]; then
	# Inside (the sandbox or a KVM host): an X server, then the rounds.
	shift
	for n in $(seq 90 140); do [ -e "/tmp/.X$n-lock" ] || break; done
	Xvfb ":$n" -screen 0 1280x1024x24 -nolisten tcp > /dev/null 2>&1 &
	xvfb=$!
	trap 'kill $xvfb 2> /dev/null || true' EXIT
	export DISPLAY=":$n"
	for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
	python3 tests/bench/display_bench.py --xserver-pid "$xvfb" "$@"
	exit
fi
rounds=${1:-3} idle=${2:-10} busy=${3:-10}
kernel=$(ls -1 /boot/vmlinuz-* | sort -V | tail -n 1)
work=$top/build/display-bench
mkdir -p "$work"
cc -static -O2 -o "$work/vbe-draw" tests/guest/tools/vbe_draw.c
# The guest keeps tty1 quiet (the VBE mode is set behind the text console's back).
cat > "$work/init.sh" <<INIT
/vbe-draw pattern 1024 768 || echo "HUTCH-BENCH vbe-draw failed"
echo "HUTCH-BENCH idle"
sleep $idle
echo "HUTCH-BENCH busy"
/vbe-draw animate 1024 768 $busy
echo "HUTCH-BENCH animate ended: status \$?"
sleep 1   # the console drains its last line before the power goes
poweroff -f
INIT
tests/guest/mkinitramfs.sh "$work/initrd.gz" "$work/init.sh" --file "$work/vbe-draw:/vbe-draw"
tests/guest/mkbootimage.sh disk "$work/disk.img" "$kernel" "$work/initrd.gz" "console=ttyS0 quiet"
# Each round's serial file and VMM output, kept after the run (the
# sandbox's --results share: L1's /tmp is gone when it powers off).
rm -rf "$work/rounds"
cmd=("$0" --inside --hutch-vm "$top/build/src/frontend/hutch-vm" --disk "$work/disk.img"
     --dir "$work/rounds" --rounds "$rounds" --idle "$idle" --busy "$busy")
if tests/sandbox/sandbox.sh --check | grep -q "^kvm:"; then   # (a paravirtual /dev/kvm does not count)
	exec "${cmd[@]}"
fi
echo "no usable /dev/kvm: running the benchmark inside the KVM sandbox"
exec tests/sandbox/sandbox.sh --timeout 3000 --results "$work" -- "${cmd[@]}"
