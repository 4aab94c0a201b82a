#!/usr/bin/env bash
# kill -9 at every step of modifyvm --name and unregistervm --delete
# (issue 8, finding 10): the test hook HUTCH_TEST_CRASH_AT=N makes vmctl
# SIGKILL itself at its N-th crash point (between the steps of every
# multi-step change).  After each kill the next command finishes the
# journalled operation, and every VM is accessible under exactly one name.
. "$(dirname "$0")/lib.sh"
vmctl createvm --name bystander --register > /dev/null
vmctl createvm --name r0 --register > /dev/null
uuid=$(mr r0 UUID)
folder=$(dirname "$(mr r0 CfgFile)")
vmctl createmedium disk --filename "$folder/disk.vdi" --size 4 > /dev/null 2>&1
vmctl storagectl r0 --name SATA --add sata
vmctl storageattach r0 --storagectl SATA --port 0 --device 0 --type hdd --medium "$folder/disk.vdi"

# check_one NAME: the VM with $uuid is accessible as NAME (only), its
# folder and file follow the name, and its disk moved with them.
check_one() {
	local name=$1 cfg disk
	vmctl list vms > list.out 2> list.err || fail "list vms failed: $(cat list.err)"
	has inaccessible list.out && fail "a VM is inaccessible: $(cat list.out) $(cat list.err)"
	[ "$(grep -c "{$uuid}" list.out)" = 1 ] || fail "VM listed $(grep -c "{$uuid}" list.out) times"
	grep -qx "\"$name\" {$uuid}" list.out || fail "VM is not named $name: $(cat list.out)"
	has -x '"bystander" {.*}' list.out || fail "bystander lost"
	cfg=$(mr "$uuid" CfgFile)
	[ "$cfg" = "$HUTCH_CONFIG_HOME/Hutch VMs/$name/$name.hutch" ] || fail "settings file $cfg for $name"
	disk=$(mr "$uuid" SATA-0-0)
	[ "$disk" = "$HUTCH_CONFIG_HOME/Hutch VMs/$name/disk.vdi" ] && [ -f "$disk" ] ||
		fail "disk attachment $disk for $name"
	vmctl list hdds | has -x "Location:       $disk" || fail "registry has a stale disk path: $(vmctl list hdds)"
	[ "$(find "$HUTCH_CONFIG_HOME/Hutch VMs" -mindepth 1 -maxdepth 1 ! -name bystander | wc -l)" = 1 ] ||
		fail "leftover folders: $(ls "$HUTCH_CONFIG_HOME/Hutch VMs")"
}

cur=r0 crashed=0 n=1
while :; do
	new=r$n
	rc=0
	HUTCH_TEST_CRASH_AT=$n "$VMCTL" modifyvm "$cur" --name "$new" --memory $((128 + n)) 2> err || rc=$?
	case $rc in
	0) check_one "$new"; expect_mr "$new" memory $((128 + n)); cur=$new; break ;;
	137) crashed=$((crashed + 1)) ;;
	*) fail "modifyvm exited $rc at crash point $n: $(cat err)" ;;
	esac
	# The next command finishes (or never began) the rename: one name either way.
	if vmctl list vms | has -x "\"$new\" {$uuid}"; then cur=$new; fi
	check_one "$cur"
	n=$((n + 1))
	[ $n -lt 40 ] || fail "modifyvm --name never completed"
done
[ $crashed -ge 6 ] || fail "only $crashed crash points in a rename"
note "modifyvm --name killed at each of its $crashed steps: one accessible VM every time"
check_schemas

# The same with a plain kill -9 from outside, at delays that land in each
# of its (slowed) writes: HUTCH_TEST_SLOW_WRITE=1 sleeps 1 s before each
# atomic write's rename.
for delay in 0.5 1.5 2.5 3.5 4.5; do
	new=k${delay%.*}
	HUTCH_TEST_SLOW_WRITE=1 "$VMCTL" modifyvm "$cur" --name "$new" 2> /dev/null & pid=$!
	sleep "$delay"
	kill -9 $pid 2> /dev/null || true
	wait $pid 2> /dev/null || true
	if vmctl list vms | has -x "\"$new\" {$uuid}"; then cur=$new; fi
	check_one "$cur"
done
note "modifyvm --name killed from outside after 0.5 to 4.5 s: one accessible VM every time"

# unregistervm --delete, killed at each step.
crashed=0 n=1
while :; do
	vmctl createvm --name "d$n" --register > /dev/null
	f=$(dirname "$(mr "d$n" CfgFile)")
	vmctl createmedium disk --filename "$f/d.vdi" --size 4 > /dev/null 2>&1
	vmctl storagectl "d$n" --name SATA --add sata
	vmctl storageattach "d$n" --storagectl SATA --port 0 --device 0 --type hdd --medium "$f/d.vdi"
	mkdir -p "$f/Logs" && echo log > "$f/Logs/VBox.log"
	rc=0
	HUTCH_TEST_CRASH_AT=$n "$VMCTL" unregistervm "d$n" --delete 2> err || rc=$?
	[ $rc = 0 ] || [ $rc = 137 ] || fail "unregistervm exited $rc at crash point $n: $(cat err)"
	vmctl list vms > list.out 2> list.err
	has inaccessible list.out && fail "inaccessible after a kill at $n: $(cat list.out) $(cat list.err)"
	if has "\"d$n\"" list.out; then
		# Killed before its one registry write: nothing happened yet.
		[ -f "$f/d.vdi" ] && [ -f "$f/d$n.hutch" ] || fail "files of registered d$n deleted"
		vmctl unregistervm "d$n" --delete
	fi
	vmctl list hdds | has "$f/d.vdi" && fail "deleted disk still registered (kill at $n)"
	[ ! -e "$f" ] || fail "folder left after a kill at $n: $(find "$f")"
	[ $rc = 0 ] && break
	crashed=$((crashed + 1))
	n=$((n + 1))
	[ $n -lt 40 ] || fail "unregistervm --delete never completed"
done
[ $crashed -ge 5 ] || fail "only $crashed crash points in unregistervm --delete"
note "unregistervm --delete killed at each of its $crashed steps: nothing deleted stays registered"
check_schemas

# A rename whose new folder exists: the VM is renamed, its files keep their
# names (a warning), and no journal is left behind.
vmctl createvm --name blocked --register > /dev/null
mkdir "$HUTCH_CONFIG_HOME/Hutch VMs/taken"
expect_status 0 vmctl modifyvm blocked --name taken --memory 200
expect_err "files keep the old name"
expect_mr taken memory 200
[ "$(mr taken CfgFile)" = "$HUTCH_CONFIG_HOME/Hutch VMs/blocked/blocked.hutch" ] || fail "files moved into 'taken'"
has renameTo "$HUTCH_CONFIG_HOME/registry.xml" && fail "a journal was left behind"
note "new folder exists: renamed, files kept, no journal"
check_schemas
