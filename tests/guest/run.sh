#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest-test runner: real guests on real KVM.
#
# Usage: tests/guest/run.sh [--build-dir DIR] [--asan-build-dir DIR] [TEST...]
#   TEST           t_NAME or t_NAME.sh; default: every tests/guest/t_*.sh
#   --build-dir    the build to test (default ./build of the repository);
#                  hutch-vm is DIR/src/frontend/hutch-vm
#   --asan-build-dir  also run the tests marked "# asan-smoke" with that
#                  build's (AddressSanitizer) hutch-vm, as TEST.asan
#
# Where /dev/kvm is usable the tests run here.  Otherwise all of them run in
# ONE boot of the KVM sandbox (tests/sandbox/sandbox.sh, nested KVM under
# QEMU TCG), which re-invokes this script with --inside.  With neither, it
# prints SKIPPED and exits 77 (CTest's skip code), except under CI=true,
# where it fails (exit 1): CI must never pass without running them.
#
# Each test is a bash script run with HUTCH_VM, HUTCH_KERNEL (the newest
# Debian /boot/vmlinuz-*), HUTCH_TEST_DIR (empty, writable), HUTCH_BUILD_DIR
# and HUTCH_CACHE_DIR set; it sources lib.sh.  A test is bounded by
# HUTCH_TEST_TIMEOUT seconds (default 600, 1200 in the sandbox where TCG
# makes every guest boot 10-20 s); afterwards every process left in its
# process group, or still naming its scratch directory, is killed.
# Output: "PASS name (Ns)" with the test's notes, or "FAIL name (Ns, status
# S)" with its whole output (which includes the guest's serial log and
# hutch-vm's stderr), then a summary; exit status 1 if any test failed.
#
# Scratch space: BUILD/guest-tests/TEST/ (directly) or
# BUILD/sandbox/guest-tests/TEST/ (the sandbox's writable share, since the
# host's tree is read-only inside); both kept after the run for inspection.
set -euo pipefail
# The whole script is one { } block, read before it runs: editing the file
# during a long run cannot change what this run does.
{
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$top/build asan_build="" inside="" work=""
tests=()
usage() { echo "usage: run.sh [--build-dir DIR] [--asan-build-dir DIR] [TEST...]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--build-dir|--asan-build-dir|--inside)
		[ $# -ge 2 ] || usage
		case $1 in
		--build-dir) build=$(cd "$2" && pwd) ;;
		--asan-build-dir) asan_build=$(cd "$2" && pwd) ;;
		--inside) inside=1; work=$2 ;;
		esac
		shift 2 ;;
	-h|--help) usage ;;
	-*) echo "run.sh: unknown option '$1'" >&2; usage ;;
	*) t=$(basename "$1"); tests+=("${t%.sh}"); shift ;;
	esac
done
if [ ${#tests[@]} -eq 0 ]; then
	for t in "$here"/t_*.sh; do tests+=("$(basename "$t" .sh)"); done
fi
args=(--build-dir "$build")
[ -z "$asan_build" ] || args+=(--asan-build-dir "$asan_build")

if [ -z "$inside" ]; then
	mode=$("$top/tests/sandbox/sandbox.sh" --check || true)
	case ${mode%%:*} in
	kvm)
		exec "$0" "${args[@]}" --inside "$build/guest-tests" "${tests[@]}" ;;
	sandbox)
		echo "guest tests: no usable /dev/kvm here; running them in one boot of the KVM sandbox"
		sbdir=$build/sandbox
		mkdir -p "$sbdir"
		rm -rf "$sbdir/guest-tests"
		per=${HUTCH_TEST_TIMEOUT:-1200}
		n=${#tests[@]}
		[ -z "$asan_build" ] || n=$((n * 2))
		export HUTCH_TEST_TIMEOUT=$per
		# L1 can freeze under TCG's nested SVM (sandbox.sh first tries to
		# bring it back with an NMI) or die (a freeze the NMI did not undo,
		# or a panic: sandbox.sh exits 75) (docs/testing.md, "Sandbox
		# reliability").  That is the emulator, not Hutch: the tests
		# not finished yet get a fresh sandbox boot (three times at most),
		# said loudly, and the count of retries ends the run's output.
		todo=("${tests[@]}")
		retries=0
		rm -f "$sbdir/.sandbox-rescues.log"
		for attempt in 1 2 3 4; do
			set +e
			"$top/tests/sandbox/sandbox.sh" --timeout $((n * per + 300)) --results "$sbdir" \
				-- \
				"$0" "${args[@]}" --inside "$sbdir/guest-tests" "${todo[@]}"
			status=$?
			set -e
			[ "$status" = 75 ] || break
			left=()
			for t in "${todo[@]}"; do
				[ -f "$sbdir/guest-tests/.done-$t" ] || left+=("$t")
			done
			[ "$attempt" != 4 ] || break
			retries=$attempt
			echo "guest tests: the sandbox's L1 died (nested KVM under TCG); running ${left[*]} again in a fresh sandbox boot"
			todo=("${left[@]}")
		done
		echo "guest tests: sandbox retries: $retries"
		# Freezes that sandbox.sh's NMI undid: no retry, but counted.
		echo "guest tests: L1 froze and was rescued (an NMI or a key press): $(cat "$sbdir/.sandbox-rescues.log" 2>/dev/null | wc -l) time(s)"
		if [ "$status" = 75 ]; then
			echo "guest tests: FAILED: the sandbox's L1 died four times"
			exit 1
		fi
		if grep -qx FAIL "$sbdir"/guest-tests/.done-* 2>/dev/null; then
			echo "guest tests: FAILED: $(grep -lx FAIL "$sbdir"/guest-tests/.done-* | sed 's|.*/.done-||' | tr '\n' ' ')"
			exit 1
		fi
		exit "$status" ;;
	*)
		if [ "${CI:-}" = true ]; then
			echo "guest tests: FAILED: no KVM and no sandbox: ${mode#*: }" >&2
			exit 1
		fi
		echo "guest tests: SKIPPED: ${mode#*: }"
		exit 77 ;;
	esac
fi

# --- inside: KVM is here ---
[ -c /dev/kvm ] || { echo "guest tests: no /dev/kvm" >&2; exit 1; }
kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
mkdir -p "$work"
work=$(cd "$work" && pwd)
export HUTCH_CACHE_DIR=${HUTCH_CACHE_DIR:-$(dirname "$work")/initramfs-cache}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
per=${HUTCH_TEST_TIMEOUT:-600}
pass=0 failed=() current=""

# kill_leftovers PGID DIR: processes a test left behind.
kill_leftovers() {
	local pgid=$1 dir=$2 p
	kill -KILL -- -"$pgid" 2>/dev/null || true
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" != $$ ] || continue
		tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -qF "$dir/" || continue
		echo "    (killing leftover process ${p#/proc/}: $(tr '\0' ' ' 2>/dev/null < "$p/cmdline" | cut -c1-100))"
		kill -KILL "${p#/proc/}" 2>/dev/null || true
	done
}
# shellcheck disable=SC2317  # (a trap)
interrupted() {
	[ -z "$current" ] || kill_leftovers "${current%% *}" "${current#* }"
	echo "guest tests: interrupted"
	exit 130
}
trap interrupted INT TERM HUP

run_one() {   # LABEL TEST HUTCH_VM
	local label=$1 t=$2 vm=$3 dir=$work/$1 start status pid
	rm -rf "$dir"; mkdir -p "$dir"
	start=$(date +%s)
	HUTCH_VM=$vm HUTCH_KERNEL=$kernel HUTCH_TEST_DIR=$dir HUTCH_BUILD_DIR=$build \
		HUTCH_ASAN=$([ "$label" = "$t" ] && echo 0 || echo 1) \
		timeout -k 10 "$per" bash "$here/$t.sh" < /dev/null > "$dir/output.log" 2>&1 &
	pid=$!
	current="$pid $dir"
	set +e
	wait "$pid"
	status=$?
	set -e
	kill_leftovers "$pid" "$dir"
	current=""
	if [ $status -eq 0 ]; then
		echo "PASS $label ($(( $(date +%s) - start ))s)"
		sed -n 's/^  /    /p' "$dir/output.log"
		pass=$((pass + 1))
	else
		[ $status -ne 124 ] || echo "timed out after ${per}s" >> "$dir/output.log"
		echo "FAIL $label ($(( $(date +%s) - start ))s, status $status)"
		sed 's/^/    /' "$dir/output.log"
		failed+=("$label")
	fi
}
for t in "${tests[@]}"; do
	[ -f "$here/$t.sh" ] || { echo "FAIL $t (no such test: $here/$t.sh)"; failed+=("$t"); continue; }
	nfailed=${#failed[@]}
	run_one "$t" "$t" "$build/src/frontend/hutch-vm"
	if [ -n "$asan_build" ] && grep -q '^# asan-smoke' "$here/$t.sh"; then
		run_one "$t.asan" "$t" "$asan_build/src/frontend/hutch-vm"
	fi
	# Finished (for run.sh outside the sandbox, should L1 freeze later).
	[ "${#failed[@]}" = "$nfailed" ] && echo PASS > "$work/.done-$t" || echo FAIL > "$work/.done-$t"
done
echo "guest tests: $pass passed, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
exit
}
