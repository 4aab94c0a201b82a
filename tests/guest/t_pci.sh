#!/usr/bin/env bash
# shellcheck disable=SC2015  # "[ A ] && [ B ] || fail ..." is meant
# PCI bus 0 as Linux finds it: through the DSDT's \_SB.PCI0 and
# configuration mechanism #1 the guest lists the i440FX host bridge at 00.0
# and the PIIX3 ISA bridge at 01.0 in sysfs, uses our _CRS windows as its
# host bridge windows, routes IRQs through ACPI (_PRT), and logs no PCI or
# ACPI error.  Every function with an INTx pin that a driver enabled
# without MSI must have the GSI the _PRT names (16 + (slot + pin - 1) % 4):
# on a machine with only the two bridges there is none, and devices added
# later are checked by the same rule.  One boot.
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

cat > "$HUTCH_TEST_DIR/init.sh" <<'INIT'
devs="" checked=0 bad=""
for d in /sys/bus/pci/devices/*; do
	[ -e "$d" ] || continue
	bdf=$(basename "$d")
	devs="$devs,$bdf=$(sed 's/^0x//' "$d/vendor"):$(sed 's/^0x//' "$d/device"):$(sed 's/^0x//' "$d/class")"
	# INTx routed by the _PRT: only for a function a driver enabled, not using MSI.
	pin=$(od -An -tu1 -j61 -N1 "$d/config" | tr -d ' ')
	if [ "${pin:-0}" != 0 ] && [ -e "$d/driver" ] && [ -z "$(ls "$d/msi_irqs" 2>/dev/null)" ]; then
		slot=$((0x$(echo "$bdf" | cut -d: -f3 | cut -d. -f1)))
		want=$((16 + (slot + pin - 1) % 4))
		got=$(cat "$d/irq")
		checked=$((checked + 1))
		[ "$got" = "$want" ] || bad="$bad,$bdf:pin$pin:irq$got:want$want"
	fi
done
echo "HUTCH-RESULT pci_devices=${devs#,}"
echo "HUTCH-RESULT intx_checked=$checked intx_bad=${bad#,}"
# The kernel's PCI, ACPI and IRQ-routing messages, judged on the host.
dmesg | grep -iE 'pci|prt|acpi|fatal' | sed 's/^/DMESG: /'
echo "HUTCH-RESULT done=1"
poweroff -f
INIT
mk_initramfs "$HUTCH_TEST_DIR/initrd.gz" "$HUTCH_TEST_DIR/init.sh"
run_vm pci --initrd "$HUTCH_TEST_DIR/initrd.gz" --append "$GUEST_APPEND"
expect_status 0
expect_result done 1

devs=$(result pci_devices)
for want in 0000:00:00.0=8086:1237:060000 0000:00:01.0=8086:7000:060100; do
	case ",$devs," in
	*",$want,"*) note "sysfs: $want" ;;
	*) fail "sysfs lists '$devs', missing $want" ;;
	esac
done

dmesg_log=$HUTCH_TEST_DIR/dmesg.pci
grep 'DMESG: ' "$VM_SERIAL" | sed 's/^[0-9]* DMESG: //' > "$dmesg_log"
LOGS+=("$dmesg_log")
for want in "PCI: Using configuration type 1 for base access" \
	"PCI: Using host bridge windows from ACPI" \
	"ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])" \
	"root bus resource [io  0x0000-0x0cf7 window]" \
	"root bus resource [io  0x0d00-0xffff window]" \
	"root bus resource [mem 0x000a0000-0x000bffff window]" \
	"root bus resource [mem 0xe0000000-0xfebfffff window]" \
	"PCI: Using ACPI for IRQ routing"; do
	grep -qF "$want" "$dmesg_log" || fail "the guest's log lacks '$want'"
	note "dmesg: $want"
done
# No errors.  Linux says of every i440FX (QEMU's too) that without MMCONFIG
# it cannot reach extended config space: that line is expected.
errors=$(grep -iE 'fatal|error|fail|invalid|conflict|can.t claim|no space|bad|not found' "$dmesg_log" |
	grep -v 'fail to add MMCONFIG information' || true)
[ -z "$errors" ] || fail "PCI/ACPI errors in the guest's log: $errors"
note "no PCI/ACPI errors in the guest's log"
prt=$(grep -i 'prt' "$dmesg_log" | grep -iE 'error|fail|invalid|warn' || true)
[ -z "$prt" ] || fail "Linux complained about the _PRT: $prt"
note "no _PRT complaints"
[ -z "$(result intx_bad)" ] || fail "INTx GSIs differ from the _PRT: $(result intx_bad)"
note "INTx GSIs as the _PRT says for $(result intx_checked) enabled function(s)"
