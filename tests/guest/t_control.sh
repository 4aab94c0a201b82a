#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# The control socket (mode 0600): status, pause/resume (the guest's clock
# keeps going), unknown requests refused, the ACPI power button seen by the
# guest's acpid, which powers off: hutch-vm exits 0, state file "poweroff".
# The running hutch-vm is confined by its seccomp filter (Seccomp: 2, one
# filter, on every thread), and a pause is answered at once while other
# clients keep being served.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$HUTCH_TEST_DIR/acpi/PWRF"
cat > "$HUTCH_TEST_DIR/acpi/PWRF/00000080" <<'ACTION'
#!/bin/sh
echo "HUTCH-RESULT powerbutton=seen" > /dev/console
poweroff -f
ACTION
chmod +x "$HUTCH_TEST_DIR/acpi/PWRF/00000080"
cat > "$HUTCH_TEST_DIR/init.sh" <<'INIT'
acpid -d -f -c /etc/acpi > /dev/null 2>&1 &
echo "HUTCH-RESULT ready=1"
while true; do echo "HUTCH-RESULT tick=$(date +%s)"; sleep 1; done
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh" \
	--module button --module evdev --file "$HUTCH_TEST_DIR/acpi:/etc/acpi"

sock=${XDG_RUNTIME_DIR:-/tmp}/hutch-test-$$.sock
state=$HUTCH_TEST_DIR/state
VM_SERIAL=$HUTCH_TEST_DIR/vm.serial
LOGS+=("$VM_SERIAL" "$HUTCH_TEST_DIR/vm.stderr" "$HUTCH_TEST_DIR/ctl.log")
timeout -k 5 "$VM_TIMEOUT" "$HUTCH_VM" --kernel "$HUTCH_KERNEL" --initrd "$HUTCH_TEST_DIR/initrd.gz" \
	--append "console=ttyS0 quiet panic=-1" --control "$sock" --state-file "$state" \
	--serial stdio < /dev/null 2> "$HUTCH_TEST_DIR/vm.stderr" | timestamp_lines > "$VM_SERIAL" &
vm=$!
for _ in $(seq 1 240); do grep -q "ready=1" "$VM_SERIAL" && break; sleep 0.5; done
grep -q "ready=1" "$VM_SERIAL" || fail "guest never got ready"
grep -q "^running pid=" "$state" || fail "state file says '$(cat "$state")', expected running"
note "state: $(cat "$state")"
pid=$(sed -n 's/^running pid=\([0-9]*\).*/\1/p' "$state")
expect_eq "Seccomp (2 = filter)" "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$pid/status")" 2
expect_eq "Seccomp_filters" "$(awk '$1 == "Seccomp_filters:" { print $2 }' "/proc/$pid/status")" 1
for task in /proc/"$pid"/task/*; do
	[ "$(awk '$1 == "Seccomp:" { print $2 }' "$task/status")" = 2 ] ||
		fail "thread $(cat "$task/comm") of hutch-vm is not under the filter"
done
note "every thread filtered: $(cat /proc/"$pid"/task/*/comm | sort | uniq -c | awk '{ printf "%s%s*%s", sep, $2, $1; sep = " " }')"
[ "$(stat -c %a "$sock")" = 600 ] || fail "control socket mode $(stat -c %a "$sock"), expected 600"
note "socket mode 600"

ctl() { python3 "$GUEST_DIR/ctl.py" "$sock" "$@" | tee -a "$HUTCH_TEST_DIR/ctl.log"; }
ctl status | grep -q "status -> ok running" || fail "status is not 'ok running'"
# Two clients: the second is served while the first's pause completes.
ctl pause status > "$HUTCH_TEST_DIR/pause.log" &
ctl status info >/dev/null || fail "a second client was not served during a pause"
wait $! || fail "pause failed: $(cat "$HUTCH_TEST_DIR/pause.log")"
grep -q "pause -> ok$" "$HUTCH_TEST_DIR/pause.log" || fail "pause not answered ok"
grep -q "status -> ok paused" "$HUTCH_TEST_DIR/pause.log" || fail "pause did not pause"
paused_at=$(date +%s)
sleep 1   # let lines already on their way through the pipe arrive
last_before=$(result tick)
sleep 3
last_during=$(result tick)
[ "$last_before" = "$last_during" ] || fail "guest kept running while paused ($last_before -> $last_during)"
note "no ticks while paused (last $last_before)"
ctl resume >/dev/null
sleep 3
last_after=$(result tick)
[ -n "$last_after" ] && [ "$last_after" -ge $((paused_at + 3)) ] ||
	fail "guest clock after resume ($last_after) did not move on past the pause ($paused_at)"
note "guest clock after resume: $last_after (paused at $paused_at)"
if python3 "$GUEST_DIR/ctl.py" "$sock" frobnicate > "$HUTCH_TEST_DIR/bad.log"; then
	fail "an unknown request was accepted"
fi
grep -q "error unknown request 'frobnicate'" "$HUTCH_TEST_DIR/bad.log" || fail "no error for an unknown request"
note "$(cat "$HUTCH_TEST_DIR/bad.log")"
ctl acpipowerbutton >/dev/null
set +e
wait $vm
VM_STATUS=$?
set -e
expect_status 0
expect_eq "guest saw the power button" "$(result powerbutton)" seen
expect_eq "state file" "$(cat "$state")" poweroff
[ ! -e "$sock" ] || fail "control socket left behind"
