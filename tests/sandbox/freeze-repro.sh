#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Measures how often the KVM sandbox's L1 dies (hangs or panics) under
# nested SVM: boots L2 guests in a loop (hutch-vm and QEMU as the L2 VMM,
# 1 and 4 vCPUs) inside sandbox.sh, starts a fresh sandbox whenever L1 dies,
# and counts L1 deaths and L2 boot failures per hundred boots.
#
# Usage: freeze-repro.sh [--boots N] [--mix LIST] [--results DIR] [--label NAME]
#   --boots N      L2 boots in all (default 100)
#   --mix LIST     configurations in rotation (default hutch1,hutch4,qemu1,qemu4;
#                  also qemunopvN: QEMU without KVM's paravirtual features,
#                  hutchfwN / hutchfwnovgaN: hutch-vm through SeaBIOS with and
#                  without a screen; see freeze-loop.sh)
#   --results DIR  where progress, L1 consoles and the summary go
#                  (default build/freeze-repro/NAME)
#   --label NAME   names the run (default: the sandbox settings)
# The sandbox's own settings come from its environment knobs, so one thing
# can be changed at a time (sandbox.sh's header lists them), e.g.
#   HUTCH_SANDBOX_CPUS=2 tests/sandbox/freeze-repro.sh --boots 100
#   HUTCH_SANDBOX_APPEND="kvm_amd.npt=0" tests/sandbox/freeze-repro.sh
# Expects a release build in build/ (scripts/build.sh).  Prints, and writes
# to DIR/summary, one line:
#   LABEL: B boots, L1 deaths D (H hangs, P panics) = R per 100 boots,
#   N freezes rescued, F L2 failures
# Each L1 death keeps L1's console as DIR/l1-death-K.log.  A freeze that
# sandbox.sh's watchdog rescued (a key press or an NMI; L1 lived on) is
# not a death but is counted beside them: the rate of freezes is what the
# rescue hides.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
boots=100 mix=hutch1,hutch4,qemu1,qemu4 results="" label=""
while [ $# -gt 0 ]; do
	case $1 in
	--boots) boots=$2 ;;
	--mix) mix=$2 ;;
	--results) results=$2 ;;
	--label) label=$2 ;;
	*) echo "usage: freeze-repro.sh [--boots N] [--mix LIST] [--results DIR] [--label NAME]" >&2; exit 2 ;;
	esac
	shift 2
done
# L1's QEMU, as sandbox.sh picks it (HUTCH_SANDBOX_QEMU), for the label.
case ${HUTCH_SANDBOX_QEMU:-system} in
backports) l1q=$(tests/sandbox/l1-qemu.sh --dir)/usr/bin/qemu-system-x86_64 ;;
*) l1q=qemu-system-x86_64 ;;
esac
qemu_version=$("$l1q" --version | awk 'NR == 1 { print $4 }')
[ -n "$label" ] || label="qemu=$qemu_version,cpus=${HUTCH_SANDBOX_CPUS:-1},tcg=${HUTCH_SANDBOX_TCG:-multi},cpu=${HUTCH_SANDBOX_CPU_MODEL:-qemu64+svm+npt}${HUTCH_SANDBOX_APPEND:+,${HUTCH_SANDBOX_APPEND// /,}}"
results=${results:-$top/build/freeze-repro/$(printf %s "$label" | tr -c 'A-Za-z0-9._-' _)}
vm=$top/build/src/frontend/hutch-vm
[ -x "$vm" ] || { echo "freeze-repro.sh: no $vm (run scripts/build.sh first)" >&2; exit 1; }
mkdir -p "$results"
results=$(cd "$results" && pwd)
kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$top/build/freeze-repro-initrd.cpio.gz
[ -f "$initrd" ] || tests/guest/mkinitramfs.sh "$initrd" tests/bench/bench-init.sh
disk=$top/build/freeze-repro-disk.img   # for the firmware boots (hutchfw*)
[ -f "$disk" ] || tests/guest/mkbootimage.sh disk "$disk" "$kernel" "$initrd" "console=ttyS0 quiet panic=-1" > /dev/null
progress=$results/progress
touch "$progress"

# A run continued in the same DIR (after an interruption) keeps counting
# the deaths it already kept.
deaths=$(find "$results" -maxdepth 1 -name 'l1-death-*.log' | wc -l)
panics=$( (grep -l 'Kernel panic' "$results"/l1-death-*.log 2>/dev/null || true) | wc -l)
hangs=$((deaths - panics)) runs=0
while :; do
	done_n=$(wc -l < "$progress")
	[ "$done_n" -lt "$boots" ] || break
	runs=$((runs + 1))
	[ "$runs" -le $((boots / 4 + 5)) ] || { echo "freeze-repro.sh: giving up after $runs sandbox runs" >&2; break; }
	set +e
	tests/sandbox/sandbox.sh --results "$results" --timeout $(((boots - done_n) * 200 + 300)) -- \
		"$top/tests/sandbox/freeze-loop.sh" --progress "$progress" --from "$done_n" --to "$boots" \
		--mix "$mix" --hutch-vm "$vm" --kernel "$kernel" --initrd "$initrd" --disk "$disk" > "$results/sandbox-$runs.out" 2>&1
	status=$?
	set -e
	case $status in
	0) ;;
	75)
		deaths=$((deaths + 1))
		cp "$results/.sandbox-console.log" "$results/l1-death-$deaths.log"
		if grep -q 'Kernel panic' "$results/l1-death-$deaths.log"; then
			panics=$((panics + 1)) kind=panic
		else
			hangs=$((hangs + 1)) kind=hang
		fi
		IFS=, read -r -a configs <<< "$mix"
		inflight=${configs[$(wc -l < "$progress") % ${#configs[@]}]}
		echo "$inflight" >> "$results/deaths-by-config"
		echo "$(date +%T) L1 $kind during a $inflight boot, after $(($(wc -l < "$progress") - done_n)) boots of this sandbox run (console kept: $results/l1-death-$deaths.log)" ;;
	*)
		echo "freeze-repro.sh: the sandbox failed (status $status), not an L1 death:" >&2
		tail -n 30 "$results/sandbox-$runs.out" >&2
		exit 1 ;;
	esac
done
n=$(wc -l < "$progress")
fails=$(grep -c ' fail ' "$progress" || true)
rate=$(awk -v d="$deaths" -v n="$n" 'BEGIN { printf "%.1f", n ? 100 * d / n : 0 }')
per=$(awk '{ c[$2]++; t[$2] += $4 } END { for (k in c) { printf "%s%s x%d (%.1f s)", sep, k, c[k], t[k] / c[k]; sep = ", " } }' "$progress")
bycfg=$( [ ! -s "$results/deaths-by-config" ] || sort "$results/deaths-by-config" | uniq -c | awk '{ printf "%s%s %d", sep, $2, $1; sep = ", " }' )
# sandbox.sh appends one line per rescue to DIR/.sandbox-rescues.log.
rescued=$(cat "$results/.sandbox-rescues.log" 2>/dev/null | wc -l)
line="$label: $n boots, L1 deaths $deaths ($hangs hangs, $panics panics${bycfg:+; during $bycfg}) = $rate per 100 boots, $rescued freezes rescued, $fails L2 failures; $per"
echo "$line" | tee "$results/summary"
