#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build a guest initramfs (cpio, newc, gzip) from busybox-static.
#
# Usage: mkinitramfs.sh OUT INIT_SCRIPT [--module NAME]... [--file SRC:DEST]...
#
# /init is a small prelude: busybox applets, /proc /sys /dev mounted, the
# requested kernel modules (with their dependencies, from the Debian kernel
# the guest boots) loaded in order; then it runs INIT_SCRIPT with busybox sh.
# A test's script prints "HUTCH-RESULT key=value" lines on the console and
# ends with "poweroff -f".
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: mkinitramfs.sh OUT INIT_SCRIPT [--module NAME]... [--file SRC:DEST]..." >&2; exit 2; }
out=$1 init=$2; shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/sandbox/modules.sh
. "$here/../sandbox/modules.sh"

modules=() files=()
while [ $# -gt 0 ]; do
	case $1 in
	--module) modules+=("$2"); shift 2 ;;
	--file) files+=("$2"); shift 2 ;;
	*) echo "mkinitramfs.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

kernel=${HUTCH_KERNEL:-$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)}
kver=${kernel#/boot/vmlinuz-}
busybox=$(command -v busybox) || { echo "mkinitramfs.sh: busybox missing (install busybox-static)" >&2; exit 1; }
file "$busybox" 2>/dev/null | grep -q "dynamically linked" &&
	{ echo "mkinitramfs.sh: $busybox is dynamically linked (install busybox-static)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hutch-initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,mods}
cp "$busybox" "$work/bin/busybox"
cp "$init" "$work/test-init"
: > "$work/mods/order"
if [ ${#modules[@]} -gt 0 ]; then
	modules_copy "/lib/modules/$kver" "$work/mods" "${modules[@]}" > "$work/mods/order"
fi
for f in ${files[@]+"${files[@]}"}; do
	mkdir -p "$work/$(dirname "${f#*:}")"
	cp -a "${f%%:*}" "$work/${f#*:}"
done
cat > "$work/init" <<'PRELUDE'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do
	insmod "/mods/$m" || echo "HUTCH-RESULT insmod_failed=$m"
done < /mods/order
exec /bin/busybox sh /test-init
PRELUDE
chmod +x "$work/init"
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
