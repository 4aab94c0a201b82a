#!/usr/bin/env bash
# The media registry: createmedium in each format (checked by qemu-img),
# showmediuminfo, list hdds/dvds, closemedium (refused while attached,
# --delete), and images registered on first attach.
. "$(dirname "$0")/lib.sh"
vmctl createmedium disk --filename a.vdi --size 64 --format VDI > a.out 2> /dev/null
vmctl createmedium disk --filename b.qcow2 --size 64 --format qcow2 > /dev/null 2>&1
vmctl createmedium disk --filename c.img --size 64 --format RAW --variant Fixed > /dev/null 2>&1
[ "$(stat -c %s c.img)" = $((64 << 20)) ] || fail "raw size"
[ "$(( $(stat -c %b c.img) * 512 ))" -ge $((64 << 20)) ] || fail "fixed raw image is not allocated"
if command -v qemu-img > /dev/null; then
	for f in a.vdi b.qcow2; do
		qemu-img check "$f" > /dev/null || fail "qemu-img check $f"
		qemu-img info --output=json "$f" | has '"virtual-size": 67108864' || fail "$f virtual size"
	done
	qemu-img create -q -f qcow2 foreign.qcow2 100M
	note "qemu-img checks our VDI and qcow2"
fi
uuid=$(sed -n 's/^Medium created. UUID: //p' a.out)
vmctl showmediuminfo disk "$uuid" > info.out
grep -q "^Location:       $T/a.vdi$" info.out || fail "showmediuminfo by UUID"
grep -q "^Storage format: VDI$" info.out || fail "format"
grep -q "^Capacity:       64 MBytes$" info.out || fail "capacity"
vmctl showmediuminfo b.qcow2 | has "^Storage format: qcow2$" || fail "showmediuminfo by path"
[ "$(vmctl list hdds | grep -c '^UUID:')" = 3 ] || fail "list hdds"

vmctl createvm --name m --register > /dev/null
vmctl storagectl m --name SATA --add sata --portcount 4
vmctl storageattach m --storagectl SATA --port 0 --device 0 --type hdd --medium a.vdi
if [ -f foreign.qcow2 ]; then
	vmctl storageattach m --storagectl SATA --port 1 --device 0 --type hdd --medium foreign.qcow2
	vmctl showmediuminfo foreign.qcow2 > f.out
	if ! grep -q "^Storage format: qcow2$" f.out || ! grep -q "^Capacity:       100 MBytes$" f.out; then
		fail "a foreign qcow2 is probed on attach: $(cat f.out)"
	fi
	grep -q "^In use by VMs:  m (UUID: " f.out || fail "In use by VMs"
fi
truncate -s 1M cd.iso
vmctl storageattach m --storagectl SATA --port 2 --device 0 --type dvddrive --medium cd.iso
vmctl list dvds | has "^Location:       $T/cd.iso$" || fail "list dvds"
expect_status 1 vmctl storageattach m --storagectl SATA --port 3 --device 0 --type hdd --medium cd.iso
expect_err "registered, but not as a hdd image"
expect_status 1 vmctl closemedium disk a.vdi
expect_err "attached to m"
# Detach, then close and delete.
vmctl storageattach m --storagectl SATA --port 0 --device 0 --medium none
expect_mr m "SATA-0-0" none
vmctl closemedium disk a.vdi --delete 2> /dev/null
[ ! -e a.vdi ] || fail "closemedium --delete left the file"
vmctl closemedium c.img
[ -e c.img ] || fail "closemedium without --delete removed the file"
[ "$(vmctl list hdds | grep -c '^UUID:')" = 2 ] || fail "list hdds after closing: $(vmctl list hdds)"
expect_status 1 vmctl showmediuminfo a.vdi
check_schemas
# unregistervm --delete keeps a disk another VM still uses.
vmctl createmedium disk --filename shared.vdi --size 8 > /dev/null 2>&1
for v in s1 s2; do
	vmctl createvm --name $v --register > /dev/null
	vmctl storagectl $v --name SATA --add sata
	vmctl storageattach $v --storagectl SATA --port 0 --device 0 --type hdd --medium shared.vdi
done
vmctl unregistervm s1 --delete 2> del.err
[ -f shared.vdi ] || fail "a disk still attached to s2 was deleted"
grep -q "kept '$T/shared.vdi': it is also attached to s2" del.err || fail "no word about the kept disk: $(cat del.err)"
vmctl unregistervm s2 --delete 2> /dev/null
[ ! -e shared.vdi ] || fail "the last user's --delete kept the disk"
check_schemas
