#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# The CMOS RTC as Linux uses it, one boot: rtc_cmos binds to it as rtc0
# (no PNP0B00 in the DSDT: Linux registers the legacy platform device, at
# ports 0x70-0x71 with IRQ 8), its time is the host's, busybox `hwclock -r`
# reads it, and its interrupts come from the event loop's timers while the
# guest waits: update interrupts on blocking read()s (Linux emulates UIE
# with the chip's alarm), PIE at 64 Hz through /dev/rtc0 (which Linux
# serves from an hrtimer) and the chip's own periodic interrupt at 64 Hz
# counted in /proc/interrupts, and an alarm 3 s ahead that wakes a blocking
# read.  Last, a guest that sets the clock (`hwclock -w`) reads its own
# time back, advanced, seconds later.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

guest_tool rtc_test "$HUTCH_TEST_DIR/rtc-test"
set_to="2031-05-06 07:08:09"
set_epoch=$(date -u -d "$set_to" +%s)
cat > "$HUTCH_TEST_DIR/init.sh" <<INIT
dmesg | grep -iE 'rtc|cmos|hpet' | sed 's/^/DMESG: /'
echo "HUTCH-RESULT rtc_name=\$(tr ' ' _ < /sys/class/rtc/rtc0/name)"
echo "HUTCH-RESULT rtc_epoch=\$(cat /sys/class/rtc/rtc0/since_epoch)"
if out=\$(hwclock -r -u 2>&1); then
	echo "HUTCH-RESULT hwclock_r=ok"
else
	echo "hwclock -r: \$out"
	echo "HUTCH-RESULT hwclock_r=fail"
fi
/rtc-test
# The guest sets the clock, then reads it back later.
date -u -s "$set_to" > /dev/null
hwclock -w -u
sleep 2
echo "HUTCH-RESULT set_epoch=\$(cat /sys/class/rtc/rtc0/since_epoch)"
echo "HUTCH-RESULT hwclock_after_set=\$(hwclock -r -u | tr ' ' _)"
echo "HUTCH-RESULT done=1"
poweroff -f
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh" \
	--file "$HUTCH_TEST_DIR/rtc-test:/rtc-test"
run_vm rtc --cpus 1 --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "$GUEST_APPEND"
expect_status 0
expect_result done 1

# rtc_cmos drives our chip (HPET emulation would take IRQ 8 otherwise).
grep -q 'DMESG: .*rtc_cmos.*registered as rtc0' "$VM_SERIAL" ||
	fail "rtc_cmos did not register rtc0"
note "dmesg: $(grep -m1 'DMESG: .*rtc_cmos.*registered as rtc0' "$VM_SERIAL" | sed 's/.*DMESG: //')"
case $(result rtc_name) in
rtc_cmos*) note "rtc0 is $(result rtc_name)" ;;
*) fail "rtc0 is '$(result rtc_name)', not rtc_cmos" ;;
esac
expect_result hwclock_r ok

# The guest's clock is the host's (UTC), to a few seconds.
epoch=$(result rtc_epoch) stamp=$(result_stamp rtc_epoch)
[ -n "$epoch" ] && [ $((stamp - epoch)) -ge -2 ] && [ $((stamp - epoch)) -le 5 ] ||
	fail "rtc0 read $epoch at host time $stamp"
note "rtc0 read $epoch, host $stamp"

in_range() {   # WHAT VALUE LOW HIGH
	[[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
		fail "$1 = '$2', expected $3..$4"
	note "$1 = $2 (expected $3..$4)"
}
# (a) Update interrupts: 3 blocking reads, about a second apart.
expect_result uie_irqs 3
in_range uie_ms "$(result uie_ms)" 1500 4500
# (b) 64 Hz for one counted second, within 25 %.
in_range pie_count "$(result pie_count)" 48 80
in_range hw_pie_count "$(result hw_pie_count)" 48 80
# (c) The alarm 3 s ahead (whole seconds: 2 to 3 s, plus latency).
expect_result alarm_woke 1
in_range alarm_ms "$(result alarm_ms)" 2000 5000
# The guest's own time, kept across the 2 s it slept (TCG may stretch them).
in_range set_epoch "$(result set_epoch)" $((set_epoch + 1)) $((set_epoch + 10))
note "hwclock -r after setting: $(result hwclock_after_set)"
