#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Another QEMU for the KVM sandbox's L1, to measure whether the QEMU
# version matters (tests/sandbox/freeze-repro.sh with
# HUTCH_SANDBOX_QEMU=backports): Debian's bookworm-backports build (QEMU
# 10.0), unpacked into a cache folder, not installed, so the QEMU the
# benchmarks compare Hutch with, qemu-img and the SeaBIOS hutch-vm boots
# stay Debian 12's.  It did not stop L1 from freezing (docs/testing.md,
# "Sandbox reliability"), so the sandbox keeps Debian 12's QEMU by default.
#
# Usage: l1-qemu.sh --install   fetch and unpack it if it is not there yet
#        l1-qemu.sh --dir       print its folder (exit 1 if not unpacked)
#
# The packages come from deb.debian.org's bookworm-backports through
# apt-get with a private source list and package lists in the cache folder
# (signatures checked against Debian's archive keyring), so the system's
# apt configuration is left as it is.  Elsewhere than Debian 12 nothing is
# fetched, and the sandbox uses the QEMU on PATH.
set -euo pipefail
cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/hutch
dir=$cache/l1-qemu
bin=$dir/root/usr/bin/qemu-system-x86_64

case ${1:-} in
--dir)
	[ -x "$bin" ] || exit 1
	echo "$dir/root"
	exit 0 ;;
--install) ;;
*) echo "usage: l1-qemu.sh --install | --dir" >&2; exit 2 ;;
esac

[ ! -x "$bin" ] || exit 0
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if [ "$codename" != bookworm ] || ! command -v apt-get >/dev/null; then
	echo "l1-qemu: not Debian 12; the sandbox will use the QEMU on PATH"
	exit 0
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "l1-qemu: no $keyring (install debian-archive-keyring)" >&2; exit 1; }
work=$dir.new
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-backports main" > "$work/sources.list"
apt=(apt-get -qq -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Get::List-Cleanup=0
     -o APT::Sandbox::User=root)
echo "l1-qemu: fetching QEMU from bookworm-backports for the KVM sandbox's L1 (into $dir)"
"${apt[@]}" update
(cd "$work/deb" && "${apt[@]}" download qemu-system-x86 qemu-system-common qemu-system-data)
for deb in "$work"/deb/*.deb; do
	dpkg-deb -x "$deb" "$work/root"
done
# It must run here: its shared libraries are Debian 12's.
if ! "$work/root/usr/bin/qemu-system-x86_64" --version > "$work/version"; then
	echo "l1-qemu: the unpacked QEMU does not run here" >&2
	exit 1
fi
rm -rf "$work/deb" "$work/lists" "$work/cache" "$dir"
mv "$work" "$dir"
echo "l1-qemu: $(head -n 1 "$dir/version")"
