#!/usr/bin/env bash
# The manager's live list with a real VM on KVM: Xvfb and hutch (the
# manager) in the sandbox, one small direct-kernel-boot VM made with
# vmctl; vmctl startvm --type headless must show as "running" in the list
# within 2 s, the manager's Pause and Resume must reach it, vmctl
# controlvm poweroff must show as "powered off" within 2 s
# (mgr_check_live_vm in tests/desktop/manager_lib.sh, which a test that
# boots a VM anyway can call instead).  A screenshot of the list with the
# running VM is kept.  Skips (77) without Xvfb/xdotool/xwd or the manager.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"
VMCTL=${HUTCH_BUILD_DIR:+$HUTCH_BUILD_DIR/src/frontend/vmctl/vmctl}
[ -x "${VMCTL:-}" ] || VMCTL=$(dirname "$HUTCH_VM")/vmctl/vmctl
[ -x "$VMCTL" ] || fail "no vmctl at $VMCTL"
HUTCH_MANAGER=${HUTCH_MANAGER:-${HUTCH_BUILD_DIR:+$HUTCH_BUILD_DIR/src/frontend/manager/hutch}}
# shellcheck source=tests/desktop/manager_lib.sh
. "$GUEST_DIR/../desktop/manager_lib.sh"
if [ ! -x "${HUTCH_MANAGER:-}" ]; then
	echo "SKIP: hutch (the manager) was not built"
	exit 77
fi
if missing=$(mgr_missing_tools); then
	echo "SKIP: missing$missing"
	exit 77
fi

T=$HUTCH_TEST_DIR
ART=$HUTCH_TEST_DIR
export HUTCH_CONFIG_HOME=$HUTCH_TEST_DIR/config HUTCH_SCALE=1
# Slow frames and polls in hutch.log: the sandbox's CPU is emulated (the
# manager draws with SDL's software renderer and only when its picture
# changed: docs/testing.md, "Reading the manager in a test").
export HUTCH_DEBUG_TIMING=1
# Sockets in a short /tmp path (UNIX socket paths are limited to 108 bytes).
HUTCH_RUNTIME_DIR=$(mktemp -d /tmp/hutch-rt.XXXXXX)
export HUTCH_RUNTIME_DIR
export HUTCH_START_TIMEOUT=${HUTCH_START_TIMEOUT:-180}
trap 'mgr_stop; rm -rf "$HUTCH_RUNTIME_DIR"' EXIT
# The list file in local /tmp too: the test directory is the sandbox's share.
MGR_LIST=$HUTCH_RUNTIME_DIR/list
LOGS+=("$T/hutch.log" "$T/xvfb.log" "$T/startvm.log" "$T/poweroff.log")

cat > "$T/init.sh" <<'INIT'
echo "HUTCH-RESULT ready=1"
while true; do sleep 1; done
INIT
mk_initramfs "$T/initrd.gz" "$T/init.sh"
VM=livelist
"$VMCTL" createvm --name "$VM" --ostype Linux_64 --register > /dev/null
"$VMCTL" modifyvm "$VM" --memory 128 --cpus 1 --nic1 none --kernel "$HUTCH_KERNEL" \
	--initrd "$T/initrd.gz" --cmdline "console=ttyS0 quiet panic=-1"

mgr_start_x 1024x600x24
mgr_start
mgr_check_live_vm "$VM" "$VMCTL" pause
kill -0 "$MGR_PID" || fail "hutch died"
note "$(grep -c "timing: a frame" "$T/hutch.log") frames over 50 ms, $(grep -c "timing: a poll" "$T/hutch.log") polls over 50 ms"
echo "PASS"
