#!/usr/bin/env bash
# Settings files and the registry are private (0600 in 0700 folders), a
# mode the user chose survives the next save, and passwords are never
# stored or printed (issue 8, finding 11).
. "$(dirname "$0")/lib.sh"
mode() { stat -c %a "$1"; }
vmctl createvm --name priv --register > /dev/null
cfg=$(mr priv CfgFile)
reg=$HUTCH_CONFIG_HOME/registry.xml
[ "$(mode "$cfg")" = 600 ] || fail "settings file is $(mode "$cfg")"
[ "$(mode "$(dirname "$cfg")")" = 700 ] || fail "VM folder is $(mode "$(dirname "$cfg")")"
[ "$(mode "$reg")" = 600 ] || fail "registry is $(mode "$reg")"
[ "$(mode "$HUTCH_CONFIG_HOME")" = 700 ] || fail "config home is $(mode "$HUTCH_CONFIG_HOME")"
for f in "$HUTCH_CONFIG_HOME"/locks/*.lock; do
	[ "$(mode "$f")" = 600 ] || fail "lock $f is $(mode "$f")"
done
note "settings, registry and locks 0600 in 0700 folders"
chmod 640 "$cfg"
chmod 604 "$reg"
vmctl modifyvm priv --memory 300
vmctl createvm --name other --register > /dev/null
[ "$(mode "$cfg")" = 640 ] || fail "chmod 640 of the settings file undone: $(mode "$cfg")"
[ "$(mode "$reg")" = 604 ] || fail "chmod 604 of the registry undone: $(mode "$reg")"
note "a user's chmod survives the next save"

secret='s3cr3t-Pa55w0rd'
vmctl modifyvm priv --teleporterpassword "$secret" 2> /dev/null
vmctl storagectl priv --name SATA --add sata
vmctl createmedium disk --filename d.vdi --size 4 > /dev/null 2>&1
vmctl storageattach priv --storagectl SATA --port 0 --device 0 --type hdd --medium d.vdi \
	--password "$secret-2" 2> /dev/null
vmctl createvm --name enc --register --password "$secret-3" > /dev/null 2>&1
if grep -rl -- "$secret" "$HUTCH_CONFIG_HOME" > found; then fail "password stored in clear: $(cat found)"; fi
for vm in priv enc; do
	for flags in --machinereadable --details ""; do
		# shellcheck disable=SC2086
		vmctl showvminfo $vm $flags > info 2>&1
		has -- "$secret" info && fail "showvminfo $vm $flags prints the password"
	done
done
has -i teleporterpassword "$cfg" || fail "that a teleporter password was set is lost"
note "passwords neither stored nor printed"

# A password an older Hutch stored in clear goes at the next save, and is never printed.
sed -i "s|</HutchMachine>|<ExtraSettings><Setting option=\"teleporterpassword\"><Arg>$secret</Arg></Setting></ExtraSettings></HutchMachine>|" "$(mr other CfgFile)"
grep -q -- "$secret" "$(mr other CfgFile)" || fail "test setup: no clear password planted"
vmctl showvminfo other --machinereadable | has -- "$secret" && fail "an old clear password is printed"
vmctl modifyvm other --memory 200
grep -q -- "$secret" "$(mr other CfgFile)" && fail "an old clear password survives a save"
note "an old clear password is dropped at the next save"
check_schemas
