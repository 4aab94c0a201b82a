#!/usr/bin/env bash
# Killing vmctl in the middle of a write leaves the previous settings
# file intact (temp file + rename), and the next write succeeds.
. "$(dirname "$0")/lib.sh"
vmctl createvm --name victim --register > /dev/null
vmctl modifyvm victim --memory 512 --description "before the crash"
cfg=$(mr victim CfgFile)
cp "$cfg" before.xml
# The test hook sleeps between writing the temp file and renaming it.
HUTCH_TEST_SLOW_WRITE=10 "$VMCTL" modifyvm victim --memory 2048 --description "never saved" & pid=$!
# Temp files are unique per writer: NAME.tmp-XXXXXX (mkstemp).
tmpfile() { compgen -G "$1.tmp-??????" | head -n 1; }
for _ in $(seq 1 50); do [ -n "$(tmpfile "$cfg")" ] && break; sleep 0.1; done
[ -s "$(tmpfile "$cfg")" ] || fail "the temp file never appeared"
kill -9 $pid
wait $pid 2> /dev/null || true
cmp -s "$cfg" before.xml || fail "settings file changed by a killed writer"
expect_mr victim memory 512
expect_mr victim description "before the crash"
note "killed mid-write: previous file intact"
# Same for the registry.
cp "$HUTCH_CONFIG_HOME/registry.xml" reg-before.xml
HUTCH_TEST_SLOW_WRITE=10 "$VMCTL" createvm --name ghost --register > /dev/null & pid=$!
for _ in $(seq 1 50); do [ -n "$(tmpfile "$HUTCH_CONFIG_HOME/registry.xml")" ] && break; sleep 0.1; done
kill -9 $pid
wait $pid 2> /dev/null || true
cmp -s "$HUTCH_CONFIG_HOME/registry.xml" reg-before.xml || fail "registry changed by a killed writer"
vmctl list vms | has ghost && fail "half-created VM registered"
note "killed mid-registry-write: registry intact"
vmctl modifyvm victim --memory 1024
expect_mr victim memory 1024
[ -z "$(tmpfile "$cfg")" ] || fail "the killed writer's temp file was not cleaned up"
rm -f before.xml reg-before.xml
check_schemas
