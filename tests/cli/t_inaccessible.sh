#!/usr/bin/env bash
# A corrupt and a missing settings file beside a healthy VM (issue 8,
# finding 9): every command on the healthy VM and its media works, the
# broken VMs show as inaccessible as in VBoxManage, and both can be
# unregistered.
. "$(dirname "$0")/lib.sh"
vmctl createvm --name good --register > /dev/null
vmctl createvm --name corrupt --register > /dev/null
vmctl createvm --name missing --register > /dev/null
vmctl createmedium disk --filename good.vdi --size 4 > /dev/null 2>&1
vmctl storagectl good --name SATA --add sata
vmctl storageattach good --storagectl SATA --port 0 --device 0 --type hdd --medium good.vdi
ucorrupt=$(mr corrupt UUID)
umissing=$(mr missing UUID)
ccfg=$(mr corrupt CfgFile)
mcfg=$(mr missing CfgFile)
echo '<HutchMachine <<< not XML' > "$ccfg"
rm -rf "$(dirname "$mcfg")"

# Every command on the healthy VM and its media.
vmctl createvm --name fresh --register > /dev/null || fail "createvm --register fails beside a broken VM"
vmctl createvm --name loose > /dev/null
vmctl registervm "$(dirname "$ccfg")/../loose/loose.hutch" || fail "registervm fails beside a broken VM"
vmctl modifyvm good --name good2 || fail "modifyvm --name fails beside a broken VM"
expect_mr good2 memory 128
vmctl modifyvm good2 --memory 256
expect_mr good2 memory 256
vmctl showmediuminfo good.vdi > /dev/null || fail "showmediuminfo fails beside a broken VM"
vmctl createmedium disk --filename spare.vdi --size 4 > /dev/null 2>&1
vmctl closemedium disk spare.vdi --delete || fail "closemedium fails beside a broken VM"
[ ! -e spare.vdi ] || fail "closemedium --delete left spare.vdi"
expect_status 1 vmctl closemedium disk good.vdi
expect_err "attached to good2"
note "createvm, registervm, modifyvm --name, showmediuminfo, closemedium work beside two broken VMs"

# VBoxManage's list and showvminfo for inaccessible VMs, exit status 0.
vmctl list vms > list.out 2> list.err
grep -qx "\"<inaccessible>\" {$ucorrupt}" list.out || fail "corrupt VM not listed: $(cat list.out)"
grep -qx "\"<inaccessible>\" {$umissing}" list.out || fail "missing VM not listed: $(cat list.out)"
grep -q '^"good2" {' list.out || fail "healthy VM not listed: $(cat list.out)"
[ ! -s list.err ] || fail "list vms wrote to stderr (VBoxManage does not): $(cat list.err)"
expect_status 0 vmctl list runningvms
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "list runningvms: '$(cat "$T/out")', stderr '$ERR'"
expect_status 0 vmctl showvminfo "$ucorrupt" --machinereadable
[ "$(cat "$T/out")" = "name=\"<inaccessible>\"
UUID=\"$ucorrupt\"" ] || fail "showvminfo --machinereadable of a broken VM: $(cat "$T/out")"
expect_status 0 vmctl showvminfo "{$umissing}"
has -x "Name:            <inaccessible!>" "$T/out" || fail "human showvminfo: $(cat "$T/out")"
has -x "Config file:     $mcfg" "$T/out" || fail "no config file line: $(cat "$T/out")"
has -A1 "^Access error details:" "$T/out" || fail "no access error: $(cat "$T/out")"
has "$mcfg" "$T/out" || fail "the access error does not name the file"
note "showvminfo: $(tr '\n' ' ' < "$T/out")"

# Other lookups see through the broken files: a name or UUID no VM has is
# "not found" (exit 1), as in a healthy registry, not a broken file's error.
for who in nosuch 01234567-89ab-4cde-8f01-23456789abcd "{01234567-89ab-4cde-8f01-23456789abcd}"; do
	expect_status 1 vmctl showvminfo "$who"
	[ "$ERR" = "vmctl: error: could not find a registered machine named '$who'" ] ||
		fail "showvminfo $who beside broken VMs: $ERR"
	expect_status 1 vmctl modifyvm "$who" --memory 256
	expect_err "^vmctl: error: could not find a registered machine named '$who'$"
done
# A name whose settings file (NAME.hutch) is the broken one gets that file's error.
expect_status 1 vmctl showvminfo corrupt
expect_err "$ccfg.*while looking for VM 'corrupt'"
expect_status 1 vmctl showvminfo missing
expect_err "$mcfg.*while looking for VM 'missing'"
note "unknown names and UUIDs are not found; a broken VM's own name gets its error"

# Both can go; the files of the corrupt one stay (no one can tell its disks).
expect_status 0 vmctl unregistervm "$ucorrupt" --delete
expect_err "inaccessible"
[ -f "$ccfg" ] || fail "unregistervm --delete of an inaccessible VM deleted its file"
vmctl unregistervm "$umissing" || fail "cannot unregister a VM whose file is missing"
vmctl list vms > list.out 2> list.err
has inaccessible list.out && fail "still listed: $(cat list.out)"
[ -s list.err ] && fail "list vms still warns: $(cat list.err)"
rm -f "$ccfg"
vmctl createvm --name corrupt --register > /dev/null
note "both broken VMs unregistered; their names are free again"
check_schemas
