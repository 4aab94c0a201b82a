#!/usr/bin/env bash
# Older VBoxManage habits: -q/--nologo, createvm --default, createvdi and
# createhd, --sataportcount, IDE with PIIX3, single-dash flags,
# showvminfo --details, list -s -l, registervm/unregistervm --delete.
. "$(dirname "$0")/lib.sh"
vmctl -q --nologo createvm --name winbox --ostype Windows10_64 --register --default > /dev/null
expect_mr winbox memory 2048
expect_mr winbox vram 128
expect_mr winbox nic1 nat
expect_mr winbox storagecontrollername0 SATA
expect_mr winbox "SATA-1-0" emptydrive
vmctl createvm --name oldlinux --ostype Linux26 --register --default > /dev/null
expect_mr oldlinux storagecontrollername0 IDE
expect_mr oldlinux "IDE-1-0" emptydrive
vmctl modifyvm oldlinux -memory 384 -vram 16 -acpi on -hwvirtex on 2> /dev/null
expect_mr oldlinux memory 384
expect_mr oldlinux hwvirtex on
vmctl createvdi -filename old.vdi -size 32 -static > /dev/null 2>&1
vmctl createhd --filename second --size 16 > out 2>&1
grep -q "Medium created" out || fail "createhd"
[ -f second.vdi ] || fail "createhd without extension should make second.vdi"
vmctl storagectl oldlinux --name "SATA Controller" --add sata --sataportcount 2
expect_mr oldlinux storagecontrollername2 "SATA Controller"
expect_mr oldlinux storagecontrollerportcount2 2
vmctl storagectl oldlinux --name "Legacy IDE" --add ide --controller PIIX3
vmctl storageattach oldlinux --storagectl "SATA Controller" --port 0 --device 0 --type hdd --medium old.vdi
vmctl storageattach oldlinux --storagectl "SATA Controller" --port 1 --device 0 --type hdd --medium second.vdi
vmctl storageattach oldlinux --storagectl "Legacy IDE" --port 0 --device 1 --type dvddrive --medium emptydrive
expect_mr oldlinux storagecontrollertype3 PIIX3
expect_mr oldlinux "Legacy IDE-0-1" emptydrive
vmctl showvminfo oldlinux --details | has "^NIC 8: *disabled$" || fail "--details lists every NIC"
vmctl list -s vms | head -1 | has '^"oldlinux"' || fail "list -s sorts by name"
vmctl list --long vms > long.out
grep -q "^Name: *winbox$" long.out || fail "list --long"
vmctl list ostypes > ostypes.out
grep -q "^ID:          Ubuntu_64$" ostypes.out || fail "list ostypes"
vmctl --version | has -E '^[0-9]+\.[0-9]+' || fail "--version"
vmctl help modifyvm | has -- "--nic<1-8>" || fail "help modifyvm"
check_schemas
# unregistervm --delete removes the settings file, its folder and the hard disks.
folder=$(dirname "$(mr oldlinux CfgFile)")
vmctl unregistervm oldlinux --delete 2> /dev/null
[ ! -e "$folder" ] || fail "VM folder left behind: $(ls -la "$folder")"
if [ -e old.vdi ] || [ -e second.vdi ]; then fail "hard disks not deleted"; fi
vmctl list hdds | has old.vdi && fail "deleted disk still registered"
vmctl list vms | has oldlinux && fail "VM still listed"
# unregister without --delete, then registervm brings it back.
cfg=$(mr winbox CfgFile)
vmctl unregistervm winbox
vmctl list vms | has winbox && fail "winbox still listed"
vmctl registervm "$cfg"
expect_mr winbox CfgFile "$cfg"
check_schemas
# Renaming a VM renames its default-layout folder and file, as VirtualBox does.
old_folder=$(dirname "$cfg")
vmctl modifyvm winbox --name "win box 2"
expect_mr "win box 2" CfgFile "$(dirname "$old_folder")/win box 2/win box 2.hutch"
[ ! -e "$old_folder" ] || fail "old folder left: $old_folder"
vmctl modifyvm "win box 2" --memory 3000
expect_mr "win box 2" memory 3000
check_schemas
