#!/usr/bin/env bash
# Bad input: exit 1 for failures, 2 for usage errors, "vmctl: error: ..."
# naming the value; a malformed settings file is named with its line and
# left exactly as it was.
. "$(dirname "$0")/lib.sh"
vmctl createvm --name vm1 --register > /dev/null

expect_status 2 vmctl frobnicate
expect_err "^vmctl: error: unknown command 'frobnicate'"
expect_status 2 vmctl
expect_status 1 vmctl snapshot vm1 take s1
expect_err "^vmctl: error: 'snapshot' is not yet supported by Hutch$"
expect_status 1 vmctl showvminfo nosuchvm
expect_err "^vmctl: error: could not find a registered machine named 'nosuchvm'"
expect_status 1 vmctl modifyvm nosuchvm --memory 512
expect_status 2 vmctl modifyvm vm1 --frobnicate on
expect_err "unknown option '--frobnicate'"
expect_status 2 vmctl modifyvm vm1 --nic-frob1 on
expect_status 2 vmctl modifyvm vm1 --memory lots
expect_err "--memory 'lots': expected a whole number"
expect_status 1 vmctl modifyvm vm1 --memory 8
expect_err "memory size 8 MB is out of range: expected 16 to 1048576 MB"
expect_status 1 vmctl modifyvm vm1 --memory 99999999
expect_status 1 vmctl modifyvm vm1 --cpus 0
expect_err "CPU count 0 is out of range"
expect_status 1 vmctl modifyvm vm1 --cpus 1000
expect_status 1 vmctl modifyvm vm1 --vram 1024
expect_status 2 vmctl modifyvm vm1 --nic9 nat
expect_err "the number must be 1 to 8"
expect_status 2 vmctl modifyvm vm1 --nic1 carrier-pigeon
expect_status 2 vmctl modifyvm vm1 --boot1 tape
expect_status 2 vmctl modifyvm vm1 --natpf1 "bad,tcp,,99999,,22"
expect_status 2 vmctl modifyvm vm1 --macaddress1 xyz
expect_status 1 vmctl modifyvm vm1 --ostype Amiga
expect_err "guest OS type 'Amiga' is invalid"
expect_status 1 vmctl modifyvm vm1 --kernel /nonexistent/vmlinuz
expect_err "no such file"
expect_status 2 vmctl modifyvm vm1 --memory
expect_err "needs a value"
expect_mr vm1 memory 128
vmctl modifyvm vm1 --natpf1 "ssh,tcp,,2222,,22"
expect_status 1 vmctl modifyvm vm1 --natpf1 "ssh,tcp,,2223,,22"
expect_err "already exists"
expect_status 1 vmctl modifyvm vm1 --natpf1 delete nosuchrule

expect_status 1 vmctl createvm --name vm1 --register
expect_err "a VM named 'vm1' is already registered"
vmctl createvm --name vm2 --register > /dev/null
expect_status 1 vmctl modifyvm vm2 --name vm1
expect_status 2 vmctl createvm --ostype Linux
expect_err "--name is required"
expect_status 1 vmctl createvm --name vm3 --ostype Nope

expect_status 1 vmctl createmedium disk --filename big.vdi --size 0
expect_err "out of range"
expect_status 1 vmctl createmedium disk --filename big.vdi --size 999999999999
expect_status 2 vmctl createmedium disk --filename big.vdi
expect_status 1 vmctl createmedium disk --filename x.vmdk --size 10 --format VMDK
expect_err "format 'VMDK' is not yet supported"
vmctl createmedium disk --filename ok.vdi --size 10 > /dev/null 2>&1
expect_status 1 vmctl createmedium disk --filename ok.vdi --size 10
expect_status 1 vmctl storageattach vm1 --storagectl nope --port 0 --device 0 --type hdd --medium ok.vdi
expect_err "could not find a storage controller named 'nope'"
vmctl storagectl vm1 --name SATA --add sata --portcount 2
expect_status 1 vmctl storagectl vm1 --name SATA --add sata
expect_status 1 vmctl storageattach vm1 --storagectl SATA --port 5 --device 0 --type hdd --medium ok.vdi
expect_err "port 5 is out of range"
expect_status 1 vmctl storageattach vm1 --storagectl SATA --port 0 --device 0 --type hdd --medium missing.vdi
expect_err "missing.vdi"
expect_status 2 vmctl storageattach vm1 --storagectl SATA --port 0 --device 0 --type tape --medium ok.vdi
vmctl storageattach vm1 --storagectl SATA --port 0 --device 0 --type hdd --medium ok.vdi
expect_status 1 vmctl closemedium disk ok.vdi
expect_err "attached to vm1"
expect_status 2 vmctl list frobs
expect_status 1 vmctl controlvm vm1 pause
expect_err "not currently running"
expect_status 2 vmctl controlvm vm1 frobnicate

# A malformed settings file: the error names file and line; nothing is written.
cfg=$(mr vm1 CfgFile)
sed -i 's|<Hardware memory="128"|<Hardware memory="128" <<<|' "$cfg"
cp "$cfg" before.xml
expect_status 1 vmctl modifyvm vm1 --memory 256
expect_err "^vmctl: error: $cfg:[0-9]+: malformed XML"
expect_status 1 vmctl showvminfo vm1
cmp -s "$cfg" before.xml || fail "the malformed file was changed"
note "malformed XML: $ERR"
vmctl list vms > list.out 2> list.err || fail "list vms fails on one broken VM"
grep -qE '^"<inaccessible>" \{[0-9a-f-]{36}\}$' list.out || fail "broken VM not listed as inaccessible: $(cat list.out)"
grep -q '^"vm2" {' list.out || fail "other VMs not listed"
# As in VBoxManage, list says nothing on stderr; showvminfo UUID says why.
[ ! -s list.err ] || fail "list vms wrote to stderr: $(cat list.err)"
bad=$(sed -n 's/^"<inaccessible>" {\(.*\)}$/\1/p' list.out)
vmctl showvminfo "$bad" | has "$cfg:[0-9]*: malformed XML" || fail "showvminfo $bad does not say why"
# Valid XML, invalid content: still named with its line.
sed -i 's|<Hardware memory="128" <<<|<Hardware memory="7"|' "$cfg"
expect_status 1 vmctl showvminfo vm1
expect_err "$cfg:[0-9]+: <Hardware memory=\"7\">"
note "bad value: $ERR"
sed -i 's|<Hardware memory="7"|<Hardware memory="128"|' "$cfg"
vmctl showvminfo vm1 > /dev/null
rm -f before.xml
check_schemas
