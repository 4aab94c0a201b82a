# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for guest tests (sourced).  A guest test is a bash script run by
# tests/guest/run.sh on real KVM (directly, or inside the KVM sandbox) with:
#   HUTCH_VM        the hutch-vm binary under test
#   HUTCH_KERNEL    the guest kernel (Debian's vmlinuz)
#   HUTCH_TEST_DIR  a writable, empty scratch directory for this test
#   HUTCH_BUILD_DIR the build directory (read-only inside the sandbox;
#                   vmctl is $HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl)
#   HUTCH_CACHE_DIR optional: where built initramfs images are cached
#   HUTCH_ASAN      1 when HUTCH_VM is the AddressSanitizer build (the
#                   "# asan-smoke" run), else 0
# It exits 0 when every check passed; on failure it explains and exits 1.
#
# A test typically: writes an init script whose lines "HUTCH-RESULT key=value"
# on the console report what the guest saw, ending with "poweroff -f";
# mk_initramfs; run_vm; then expect_status / expect_result / get_result.
#
#   mk_initramfs OUT INIT [--module NAME]... [--file SRC:DEST]...
#                     busybox initramfs (see mkinitramfs.sh), cached by the
#                     hash of everything that goes into it
#   run_vm NAME [hutch-vm options]
#                     hutch-vm --kernel $HUTCH_KERNEL --serial stdio OPTIONS,
#                     bounded by VM_TIMEOUT (default 300 s); each console line
#                     prefixed with the host's time (epoch seconds) when it
#                     arrived, into $VM_SERIAL; stderr in $VM_STDERR; the exit
#                     status in $VM_STATUS
#   get_result KEY [LOG]       value of the last HUTCH-RESULT KEY=... line
#   result_stamp KEY [LOG]     host time at which that line arrived
#   expect_result KEY VALUE    fail unless get_result KEY is VALUE
#   expect_eq WHAT GOT WANT    fail unless GOT = WANT
#   expect_status WANT         fail unless $VM_STATUS = WANT
#   fail MESSAGE               print it and the end of every log (LOGS), exit 1
#   note MESSAGE               an indented line (shown under PASS too)
#   guest_tool NAME OUT        tests/guest/tools/NAME.c built static to OUT
set -euo pipefail
: "${HUTCH_VM:?}" "${HUTCH_KERNEL:?}" "${HUTCH_TEST_DIR:?}"
GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_TIMEOUT=${VM_TIMEOUT:-300}
# shellcheck disable=SC2034  # (used by the tests)
GUEST_APPEND="console=ttyS0 quiet panic=-1"
LOGS=()

# Every log a test made is printed when it fails.
fail() {
	echo "FAIL: $*"
	for l in ${LOGS[@]+"${LOGS[@]}"}; do
		[ -f "$l" ] || continue
		echo "----- $l (last 80 lines)"
		tail -n 80 "$l"
	done
	exit 1
}

note() { echo "  $*"; }

# mk_initramfs OUT INIT_SCRIPT [--module NAME]... [--file SRC:DEST]...
mk_initramfs() {
	local out=$1 init=$2 cache key a src
	cache=${HUTCH_CACHE_DIR:-$(dirname "$HUTCH_TEST_DIR")/.initramfs-cache}
	key=$({
		cat "$GUEST_DIR/mkinitramfs.sh" "$GUEST_DIR/../sandbox/modules.sh" "$init"
		printf '%s\n' "${@:3}" "$HUTCH_KERNEL"
		stat -Lc '%s %Y' "$(command -v busybox)"
		for a in "${@:3}"; do
			case $a in *:*)
				src=${a%%:*}
				tar -C "$(dirname "$src")" --sort=name --mtime=@0 --owner=0 --group=0 \
					--numeric-owner -cf - "$(basename "$src")"
			esac
		done
	} | sha256sum | cut -c1-16)
	mkdir -p "$cache"
	if [ ! -f "$cache/$key.cpio.gz" ]; then
		"$GUEST_DIR/mkinitramfs.sh" "$cache/$key.cpio.gz" "$init" "${@:3}"
	fi
	cp "$cache/$key.cpio.gz" "$out"
}

# Prefix each line with the host's time (epoch seconds) as it arrives.
# A last line without its newline (the VM was killed mid-line) is kept but
# marked "[cut]", so that get_result never reads "flushed=1" out of a
# half-written "flushed=17".
timestamp_lines() {
	local line
	while IFS= read -r line; do
		printf '%(%s)T %s\n' -1 "$line"
	done
	[ -z "$line" ] || printf '%(%s)T [cut] %s\n' -1 "$line"
}

# run_vm NAME [hutch-vm options...]: see above.  Never hangs.
run_vm() {
	local name=$1; shift
	VM_SERIAL=$HUTCH_TEST_DIR/$name.serial
	VM_STDERR=$HUTCH_TEST_DIR/$name.stderr
	LOGS+=("$VM_SERIAL" "$VM_STDERR")
	set +e
	timeout -k 5 "$VM_TIMEOUT" "$HUTCH_VM" --kernel "$HUTCH_KERNEL" --serial stdio "$@" \
		< /dev/null 2> "$VM_STDERR" | timestamp_lines > "$VM_SERIAL"
	VM_STATUS=${PIPESTATUS[0]}
	set -e
	[ "$VM_STATUS" != 124 ] || fail "$name: hutch-vm did not finish within ${VM_TIMEOUT}s"
}

# get_result KEY [LOG]: the value of the last "HUTCH-RESULT ... KEY=value" line.
get_result() {
	local log=${2:-$VM_SERIAL}
	sed -n "/^[0-9]* \[cut\] /d; s/.*HUTCH-RESULT.* $1=\([^ ]*\).*/\1/p; s/.*HUTCH-RESULT $1=\([^ ]*\).*/\1/p" "$log" |
		tail -n 1 | tr -d '\r'
}
result() { get_result "$@"; }

# result_stamp KEY [LOG]: the host time at which that line arrived.
result_stamp() {
	local log=${2:-$VM_SERIAL}
	grep -v "^[0-9]* \[cut\] " "$log" | grep "HUTCH-RESULT.*$1=" | tail -n 1 | cut -d' ' -f1
}

expect_eq() {   # WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
	note "$1 = $2"
}

expect_result() {   # KEY VALUE [LOG]
	expect_eq "$1" "$(get_result "$1" "${3:-$VM_SERIAL}")" "$2"
}

expect_status() {   # WANT
	[ "$VM_STATUS" = "$1" ] || fail "hutch-vm exit status $VM_STATUS, expected $1"
	note "exit status $VM_STATUS"
}

# guest_io OUT: the static guest-io tool (tests/guest/tools/guest_io.c),
# built once per source version and cached.
guest_io() {
	local out=$1 cache key
	cache=${HUTCH_CACHE_DIR:-$(dirname "$HUTCH_TEST_DIR")/.initramfs-cache}
	key=$(sha256sum < "$GUEST_DIR/tools/guest_io.c" | cut -c1-16)
	mkdir -p "$cache"
	if [ ! -x "$cache/guest-io-$key" ]; then
		cc -static -O2 -o "$cache/guest-io-$key.tmp" "$GUEST_DIR/tools/guest_io.c" ||
			fail "cannot build guest-io (needs gcc and libc6-dev's static libc)"
		mv "$cache/guest-io-$key.tmp" "$cache/guest-io-$key"
	fi
	cp "$cache/guest-io-$key" "$out"
}

# guest_tool NAME OUT: tests/guest/tools/NAME.c built static (it runs from
# the busybox initramfs), once per source version, cached.
guest_tool() {
	local name=$1 out=$2 cache key
	cache=${HUTCH_CACHE_DIR:-$(dirname "$HUTCH_TEST_DIR")/.initramfs-cache}
	key=$(sha256sum < "$GUEST_DIR/tools/$name.c" | cut -c1-16)
	mkdir -p "$cache"
	if [ ! -x "$cache/$name-$key" ]; then
		cc -static -O2 -o "$cache/$name-$key.tmp" "$GUEST_DIR/tools/$name.c" ||
			fail "cannot build $name (needs gcc and libc6-dev's static libc)"
		mv "$cache/$name-$key.tmp" "$cache/$name-$key"
	fi
	cp "$cache/$name-$key" "$out"
}
