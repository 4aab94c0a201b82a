#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The inner half of freeze-repro.sh: runs inside the KVM sandbox's L1 and
# boots L2 guests one after another, appending one line per boot to a
# progress file in the sandbox's writable share:
#
#     INDEX CONFIG pass|fail SECONDS
#
# Usage: freeze-loop.sh --progress FILE --from N --to M --mix LIST
#                       --hutch-vm PATH --kernel PATH --initrd PATH
#
# Boot N..M-1 use CONFIG = LIST[index mod len(LIST)], so a run continued in a
# fresh sandbox after L1 died keeps the same sequence of configurations.
# Configurations:
#   hutchN   hutch-vm, direct Linux boot, N vCPUs (1: 256 MiB, else 2 GiB)
#   qemuN    qemu-system-x86_64 -accel kvm, SeaBIOS then the kernel (QEMU
#            boots -kernel through its firmware), N vCPUs, the same memory
#   qemunopvN  the same with -cpu host,kvm=off: no KVM paravirtual features
#   hutchfwN   hutch-vm through SeaBIOS from a syslinux disk (--disk), a VGA
#   hutchfwnovgaN  the same without a screen (--vga none)
# A boot passes when the guest's /init line appears and the VMM exits 0
# within 180 s; a boot that fails leaves L1 running: it is an L2 failure,
# counted apart from L1 hangs and panics (which end this script with L1).
set -euo pipefail
progress="" from=0 to=0 mix="" vm="" kernel="" initrd="" disk=""
while [ $# -gt 0 ]; do
	case $1 in
	--progress) progress=$2 ;;
	--from) from=$2 ;;
	--to) to=$2 ;;
	--mix) mix=$2 ;;
	--hutch-vm) vm=$2 ;;
	--kernel) kernel=$2 ;;
	--initrd) initrd=$2 ;;
	--disk) disk=$2 ;;
	*) echo "freeze-loop.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift 2
done
IFS=, read -r -a configs <<< "$mix"
[ ${#configs[@]} -gt 0 ] || { echo "freeze-loop.sh: empty --mix" >&2; exit 2; }
append="console=ttyS0 quiet panic=-1"
marker=HUTCH-BENCH-USERSPACE

for ((i = from; i < to; i++)); do
	c=${configs[i % ${#configs[@]}]}
	n=${c##*[a-z]}
	mem=256
	[ "$n" = 1 ] || mem=2048
	case $c in
	hutchfwnovga*|hutchfw*)
		# Through SeaBIOS from a syslinux disk (a copy: the guest may write);
		# hutchfwnovgaN without a screen (SeaBIOS then talks on COM1).
		cp "$disk" /tmp/freeze-loop-disk.img
		cmd=("$vm" --drive file=/tmp/freeze-loop-disk.img,format=raw,if=sata --boot disk
		     --memory "$mem" --cpus "$n" --serial stdio)
		[[ $c != hutchfwnovga* ]] || cmd+=(--vga none) ;;
	hutch*) cmd=("$vm" --kernel "$kernel" --initrd "$initrd" --append "$append"
	             --memory "$mem" --cpus "$n" --serial stdio) ;;
	qemunopv*|qemu*)
		# qemunopvN: the same, with KVM's paravirtual interfaces hidden from
		# the guest (kvmclock, PV spinlocks, PV EOI, PV IPIs, steal time).
		qcpu=host
		[[ $c != qemunopv* ]] || qcpu=host,kvm=off
		cmd=(qemu-system-x86_64 -accel kvm -M pc -nodefaults -cpu "$qcpu" -m "$mem"
	            -smp "$n" -display none -serial stdio -no-reboot
	            -kernel "$kernel" -initrd "$initrd" -append "$append") ;;
	*) echo "freeze-loop.sh: unknown configuration '$c'" >&2; exit 2 ;;
	esac
	start=$(date +%s)
	set +e
	out=$(timeout -k 5 180 "${cmd[@]}" < /dev/null 2>&1)
	status=$?
	set -e
	result=fail
	if [ "$status" = 0 ] && [[ $out == *"$marker"* ]]; then
		result=pass
	else
		printf '%s\n' "--- boot $i ($c) failed, status $status" "${out: -3000}" >> "$progress.l2-failures"
	fi
	echo "$i $c $result $(($(date +%s) - start))" >> "$progress"
	sync "$progress" 2>/dev/null || sync
done
