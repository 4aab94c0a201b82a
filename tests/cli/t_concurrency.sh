#!/usr/bin/env bash
# Two vmctl processes changing one VM at once lose nothing (the settings
# file's lock serialises them), and a lock held too long is a clear error.
. "$(dirname "$0")/lib.sh"
vmctl createvm --name busy --register > /dev/null
N=15
writer() {   # PREFIX PORTBASE [VM]
	local i
	for i in $(seq 1 $N); do
		vmctl modifyvm "${3:-busy}" --natpf1 "$1$i,tcp,,$2$i,,22"
	done
}
writer a 20 & pa=$!
writer b 30 & pb=$!
writer c 40 & pc=$!
wait $pa $pb $pc
rules=$(vmctl showvminfo busy --machinereadable | grep -c '^Forwarding(')
[ "$rules" = $((3 * N)) ] || fail "lost updates: $rules rules, expected $((3 * N))"
note "$rules port forwarding rules from 3 concurrent writers, none lost"

# Edits racing renames (folder and file move; the lock, named by UUID,
# does not): every command succeeds and no edit is lost.
vmctl createvm --name mover --register > /dev/null
uuid=$(mr mover UUID)
renamer() {
	local i
	for i in $(seq 1 12); do
		vmctl modifyvm "$uuid" --name "mover$i"
	done
}
writer a 20 "$uuid" & pa=$!
writer b 30 "$uuid" & pb=$!
renamer & pr=$!
for p in $pa $pb $pr; do wait "$p" || fail "a command failed while edits raced renames"; done
rules=$(vmctl showvminfo mover12 --machinereadable | grep -c '^Forwarding(')
[ "$rules" = $((2 * N)) ] || fail "lost updates beside renames: $rules rules, expected $((2 * N))"
[ "$(mr mover12 CfgFile)" = "$HUTCH_CONFIG_HOME/Hutch VMs/mover12/mover12.hutch" ] ||
	fail "files did not follow the name: $(mr mover12 CfgFile)"
leftover=$(find "$HUTCH_CONFIG_HOME" -name '*.tmp*')
[ -z "$leftover" ] || fail "temp files left: $leftover"
note "$((2 * N)) edits racing 12 renames: all succeeded, none lost"

# Concurrent creation: the registry's lock keeps every VM.
for i in 1 2 3 4 5 6; do vmctl createvm --name "par$i" --register > /dev/null & done
wait
[ "$(vmctl list vms | grep -c '"par')" = 6 ] || fail "concurrent createvm lost a VM: $(vmctl list vms)"
note "6 concurrent createvm, all registered"

# Someone holds the lock (until we say so): a short timeout fails clearly,
# the default one waits and then saves.
# The VM's lock is named by its UUID, outside its folder (a rename never moves it).
lock="$HUTCH_CONFIG_HOME/locks/$(mr busy UUID).lock"
[ -f "$lock" ] || fail "no lock file at $lock"
flock "$lock" sh -c 'touch held; while [ ! -e release ]; do sleep 0.05; done' & holder=$!
for _ in $(seq 1 100); do [ -e held ] && break; sleep 0.05; done
expect_status 1 env HUTCH_LOCK_TIMEOUT=0.5 "$VMCTL" modifyvm busy --memory 300
expect_err "is locked by another process"
note "$ERR"
vmctl modifyvm busy --memory 400 & waiter=$!
sleep 1
kill -0 $waiter 2> /dev/null || fail "modifyvm did not wait for the lock"
expect_mr busy memory 128
touch release
wait $waiter || fail "modifyvm failed after the lock was released"
wait $holder
expect_mr busy memory 400
note "waited for the lock, then saved"
check_schemas
