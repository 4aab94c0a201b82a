# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for vmctl's CLI tests (sourced).  Each test runs in its own temp
# directory with its own HUTCH_CONFIG_HOME and runtime directory, so it
# never touches the user's VMs.  Needs VMCTL (the binary) and
# HUTCH_DOCS (for the schemas); HUTCH_FAKE_VM for start/control tests.
set -euo pipefail
: "${VMCTL:?}" "${HUTCH_DOCS:?}"
CLI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/vmctl-test.XXXXXX)
export HUTCH_CONFIG_HOME=$T/config
export HUTCH_RUNTIME_DIR=$T/run
export HUTCH_VM=${HUTCH_FAKE_VM:-$CLI_DIR/fake-hutch-vm.py}
unset XDG_CONFIG_HOME
cd "$T"
cleanup() {
	# Stop anything a test left running (fake VMs are our own children's children).
	for s in "$HUTCH_RUNTIME_DIR"/*.state; do
		[ -f "$s" ] || continue
		pid=$(sed -n 's/^running pid=//p' "$s")
		if [ -n "$pid" ]; then kill "$pid" 2> /dev/null || true; fi
	done
	rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "  $*"; }

vmctl() { "$VMCTL" "$@"; }

# "CMD | has PATTERN": grep that reads all its input.  grep -q stops at the
# first match, and under pipefail the writer's SIGPIPE would fail the test.
has() { grep "$@" > /dev/null; }

# expect_status WANT CMD...: run CMD, which must exit WANT; its stderr is in
# $ERR (and $T/err), its stdout in $T/out.
expect_status() {
	local want=$1 got=0
	shift
	"$@" > "$T/out" 2> "$T/err" || got=$?
	ERR=$(cat "$T/err")
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stderr: $ERR"
}

# expect_err PATTERN: the last expect_status's stderr matches (grep -E).
expect_err() {
	grep -qE -- "$1" "$T/err" || fail "stderr '$(cat "$T/err")' does not match '$1'"
}

# mr VM KEY: the value of KEY in showvminfo --machinereadable (quotes removed).
mr() {
	vmctl showvminfo "$1" --machinereadable | awk -v k="$2" '
		{ i = index($0, "="); key = substr($0, 1, i - 1); val = substr($0, i + 1)
		  gsub(/^"|"$/, "", key); gsub(/^"|"$/, "", val)
		  if (key == k) { print val; found = 1 } }
		END { exit found ? 0 : 1 }'
}

expect_mr() {   # VM KEY VALUE
	local got
	got=$(mr "$1" "$2") || fail "showvminfo $1 has no key $2"
	[ "$got" = "$3" ] || fail "$1: $2=\"$got\", expected \"$3\""
}

# Every settings file and the registry validate against the schemas.
check_schemas() {
	local f n=0
	while IFS= read -r -d '' f; do
		xmllint --noout --schema "$HUTCH_DOCS/hutch-vm.xsd" "$f" 2> "$T/xmllint" ||
			fail "$f does not validate: $(cat "$T/xmllint")"
		n=$((n + 1))
	done < <(find "$T" -name '*.hutch' -print0)
	if [ -f "$HUTCH_CONFIG_HOME/registry.xml" ]; then
		xmllint --noout --schema "$HUTCH_DOCS/hutch-registry.xsd" "$HUTCH_CONFIG_HOME/registry.xml" \
			2> "$T/xmllint" || fail "registry.xml does not validate: $(cat "$T/xmllint")"
	fi
	note "schema: $n settings file(s) and the registry validate"
}

# live_vm_with_disk VM DISK: a registered VM with DISK on SATA port 0,
# started with the fake hutch-vm (needs python3), so its disk is in use.
live_vm_with_disk() {
	[ -f "$T/vmlinuz" ] || echo kernel > "$T/vmlinuz"
	vmctl createvm --name "$1" --register > /dev/null
	vmctl modifyvm "$1" --kernel "$T/vmlinuz" --nic1 none
	vmctl storagectl "$1" --name SATA --add sata
	vmctl storageattach "$1" --storagectl SATA --port 0 --device 0 --type hdd --medium "$2"
	vmctl startvm "$1" --type headless > /dev/null
}
