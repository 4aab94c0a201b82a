#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install (Debian 12, apt-get) whatever Hutch's build, tests and KVM sandbox
# need and is missing.  Idempotent and quiet when everything is there.
#
# Usage: scripts/install-deps.sh
#
# Asks dpkg-query which of the packages below are not installed; only if
# some are, runs apt-get update and apt-get install -y for those (with
# DEBIAN_FRONTEND=noninteractive).  As a normal user it uses sudo; without
# root or sudo it names the missing packages and fails.
set -euo pipefail
pkgs=(
	# build
	build-essential cmake pkg-config clang libcmocka-dev libxml2-dev zlib1g-dev libpng-dev
	# tests: XML validation, the guest tests' helpers
	libxml2-utils python3 file
	# tests: ACPICA's disassembler checks the DSDT's AML
	acpica-tools
	# the KVM sandbox and guest tests: QEMU (with SeaBIOS), Debian's kernel
	# and modules (L1 and L2), busybox for initramfs images
	qemu-system-x86 qemu-utils linux-image-amd64 busybox-static cpio xorriso kmod
	# guest tests booting through SeaBIOS (tests/guest/mkbootimage.sh): a
	# grub-mkrescue ISO (grub-pc-bin, xorriso, mtools), a syslinux disk image
	# built without root (syslinux, syslinux-common, mtools; the script writes
	# the partition table itself), memtest86+'s ISO.  The screenshot checker
	# (tests/guest/tools/screencheck.py) needs python3 only.
	grub-pc-bin grub-common mtools syslinux syslinux-common memtest86+
	# networking: NAT through libslirp (its pkg-config file wants glib's); iPXE option ROMs for PXE boot; the
	# network guest tests' host side (bridges and namespaces: iproute2) and
	# the network benchmark (iperf3, also copied into the guest)
	libslirp-dev libglib2.0-dev ipxe-qemu iproute2 iperf3
	# the desktop: the VM window (SDL2), the manager's widgets (Dear ImGui
	# with its SDL2 back ends, C++), its font; the desktop tests drive both
	# under a virtual X server (Xvfb) with xdotool, read windows with xwd
	# (x11-apps) and find them with xwininfo/xdpyinfo (x11-utils); SDL2's
	# X11 message boxes (the VM window's questions) draw with X core
	# fonts: without xfonts-base SDL_ShowMessageBox fails and no question
	# shows (xvfb only recommends it)
	libsdl2-dev libimgui-dev g++ fonts-dejavu-core xvfb xdotool x11-apps x11-utils xfonts-base
	# the display benchmark's comparison: QEMU's SDL display (-display sdl)
	qemu-system-gui
	# disk I/O through io_uring (with a thread-pool fallback)
	liburing-dev
)
command -v dpkg-query >/dev/null ||
	{ echo "install-deps: no dpkg-query: this script knows Debian 12 only; install the equivalents of: ${pkgs[*]}" >&2; exit 1; }
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null ||
		{ echo "install-deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
