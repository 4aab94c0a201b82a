#!/usr/bin/env bash
# modifymedium (modifyhd, modifyvdi): --resize/--resizebyte grow qcow2, VDI
# and RAW images with their data kept and the registry's size updated;
# shrinking refused; --compact drops zeroed blocks (file smaller, qemu-img
# check clean, contents equal, VDI header UUID and registry entry kept);
# --description stored; VBoxManage flags Hutch does not act on warned in
# one line; a running VM's disk refused; bad input exits 1 or 2.
. "$(dirname "$0")/lib.sh"
command -v qemu-img > /dev/null && command -v qemu-io > /dev/null ||
	{ echo "SKIP: no qemu-img/qemu-io"; exit 77; }

vdi_uuid() {   # the header's image UUID, first three fields little-endian
	local b
	read -r -a b < <(od -An -tx1 -v -j392 -N16 "$1" | tr '\n' ' ')
	echo "${b[3]}${b[2]}${b[1]}${b[0]}-${b[5]}${b[4]}-${b[7]}${b[6]}-${b[8]}${b[9]}-${b[10]}${b[11]}${b[12]}${b[13]}${b[14]}${b[15]}"
}
vsize() { qemu-img info --output=json "$1" | sed -n 's/^ *"virtual-size": \([0-9]*\),*$/\1/p'; }
check() {   # IMAGE: qemu-img check where the format has metadata
	qemu-img info "$1" | has "^file format: raw" || qemu-img check -q "$1" || fail "qemu-img check $1"
}

head -c $((4 << 20)) /dev/urandom > data.bin
for f in VDI qcow2 RAW; do
	img=d.$f
	vmctl createmedium disk --filename "$img" --size 16 --format $f > /dev/null 2>&1
	qemu-io -f "$(echo $f | tr A-Z a-z)" -c "write -P 0xa5 1M 4M" "$img" > /dev/null
	qemu-img convert -O raw "$img" "$img.ref"
done

# --resize (MB) and --resizebyte grow; data kept, new part zeros, registry follows.
for f in VDI qcow2 RAW; do
	img=d.$f
	expect_status 0 vmctl modifymedium disk "$img" --resize 24
	grep -qx "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%" "$T/err" ||
		fail "$img: progress: $ERR"
	[ "$(vsize "$img")" = $((24 << 20)) ] || fail "$img: virtual size $(vsize "$img") after --resize 24"
	check "$img"
	qemu-img compare -q "$img.ref" "$img" || fail "$img: data changed by --resize"
	vmctl showmediuminfo "$img" | has "^Capacity:       24 MBytes$" || fail "$img: registry size"
done
vmctl modifyhd d.qcow2 --resizebyte $(((32 << 20) + 512)) 2> /dev/null
[ "$(vsize d.qcow2)" = $(((32 << 20) + 512)) ] || fail "--resizebyte: $(vsize d.qcow2)"
qemu-img compare -q d.qcow2.ref d.qcow2 || fail "d.qcow2: data changed by --resizebyte"
vmctl modifymedium d.VDI --resize 24 2> /dev/null	# the same size: nothing to do
note "--resize grew VDI, qcow2 and RAW with their data kept; --resizebyte too"

# Shrinking is refused, as in VirtualBox; so is a thousandfold --resize (MB taken for bytes).
expect_status 1 vmctl modifymedium d.VDI --resize 8
expect_err "^vmctl: error: shrinking is not yet supported for medium '$T/d.VDI' \(from 25165824 to 8388608 bytes\)$"
[ "$(vsize d.VDI)" = $((24 << 20)) ] || fail "a refused shrink changed the size"
expect_status 1 vmctl modifymedium d.VDI --resize 30000
expect_err "attempt to resize the medium from 24.0 MB to 30000.0 MB: use --resizebyte if this is intended"
expect_status 1 vmctl modifymedium d.VDI --resizebyte 25166000
expect_err "not a multiple of 512"

# --compact: zero 3 of the 4 MiB of data, then compact.
uuid=$(vmctl showmediuminfo d.VDI | sed -n 's/^UUID: *//p')
[ "$(vdi_uuid d.VDI)" = "$uuid" ] || fail "createmedium: VDI header UUID $(vdi_uuid d.VDI), registry $uuid"
chmod 640 d.VDI
qemu-io -f vdi -c "write -P 0 1M 3M" d.VDI > /dev/null	# VDI: literal zeros, still allocated
qemu-io -f qcow2 -c "write -z 1M 3M" d.qcow2 > /dev/null	# qcow2: zero clusters
qemu-io -f raw -c "write -P 0 1M 3M" d.RAW > /dev/null
for f in VDI qcow2 RAW; do
	img=d.$f
	qemu-img convert -O raw "$img" "$img.ref"
	before=$(($(stat -c %b "$img") * 512))
	expect_status 0 vmctl modifymedium "$img" --compact
	grep -qx "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%" "$T/err" ||
		fail "$img: compact progress: $ERR"
	after=$(($(stat -c %b "$img") * 512))
	# 3 MiB of zeros dropped; the copy may hold one metadata cluster (64 KiB)
	# more than the original (seen: 4 KiB over, under parallel load).
	[ "$after" -le $((before - (3 << 20) + (64 << 10))) ] || fail "$img: $before bytes before --compact, $after after"
	check "$img"
	qemu-img compare -q "$img.ref" "$img" || fail "$img: contents changed by --compact"
	note "--compact $f: $before -> $after bytes on disk"
done
[ "$(vdi_uuid d.VDI)" = "$uuid" ] || fail "--compact changed the VDI header UUID to $(vdi_uuid d.VDI)"
vmctl showmediuminfo "$uuid" | has "^Location:       $T/d.VDI$" || fail "registry entry lost by --compact"
[ "$(stat -c %a d.VDI)" = 640 ] || fail "--compact changed the mode to $(stat -c %a d.VDI)"
ls -A | has "compact" && fail "--compact left a temporary file: $(ls -A)"
# Compacting what has nothing to drop keeps the file as it is.
ino=$(stat -c %i d.VDI)
vmctl modifymedium d.VDI --compact 2> /dev/null
[ "$(stat -c %i d.VDI)" = "$ino" ] || fail "a compact with nothing to gain replaced the file"
# The old spelling without dashes.
expect_status 0 vmctl modifyhd d.qcow2 compact

# A VDI made elsewhere is registered under its header's UUID on first use.
qemu-img create -q -f vdi foreign.vdi 8M
vmctl modifymedium foreign.vdi --resize 16 2> /dev/null
vmctl showmediuminfo foreign.vdi | has "^UUID:           $(vdi_uuid foreign.vdi)$" ||
	fail "foreign VDI registered as $(vmctl showmediuminfo foreign.vdi | head -1), header $(vdi_uuid foreign.vdi)"
check foreign.vdi

# --description is kept; flags Hutch does not act on are warned in one line.
expect_status 0 vmctl modifymedium d.qcow2 --description "build cache"
grep -qx "Medium description has been changed." "$T/out" || fail "--description output: $(cat "$T/out")"
vmctl showmediuminfo d.qcow2 | has "^Description:    build cache$" || fail "description not shown"
expect_status 0 vmctl modifymedium disk d.qcow2 --type immutable --autoreset on --property a=b --move /x \
	--setlocation /y
[ "$(wc -l < "$T/err")" = 1 ] || fail "more than one warning line: $ERR"
expect_err "^vmctl: warning: medium '$T/d.qcow2': not yet supported by Hutch, ignored: --type, --autoreset, --property, --move, --setlocation$"
[ -f d.qcow2 ] || fail "--move was acted on"
expect_status 0 vmctl modifymedium d.qcow2 --type normal
[ ! -s "$T/err" ] || fail "--type normal warned: $ERR"

# Fixed, differencing and read-only images are not compacted.
vmctl createmedium disk --filename fixed.vdi --size 4 --variant Fixed > /dev/null 2>&1
expect_status 1 vmctl modifymedium fixed.vdi --compact
expect_err "'$T/fixed.vdi' is a fixed-size image"
qemu-img create -q -f qcow2 -b d.qcow2 -F qcow2 overlay.qcow2
expect_status 1 vmctl modifymedium overlay.qcow2 --compact
expect_err "compacting the differencing image '$T/overlay.qcow2' \(backing file 'd.qcow2'\) is not yet supported"
qemu-img convert -O vmdk d.RAW d.vmdk
expect_status 1 vmctl modifymedium d.vmdk --compact
expect_err "VMDK image, which Hutch can read but not write"

# Bad input.
expect_status 1 vmctl modifymedium missing.vdi --compact
expect_err "^vmctl: error: could not open the medium '$T/missing.vdi': No such file"
expect_status 1 vmctl modifymedium 01234567-89ab-4cde-8f01-23456789abcd --compact
expect_err "could not find a registered medium with UUID"
expect_status 2 vmctl modifymedium d.VDI
expect_err "no operation specified"
expect_status 2 vmctl modifymedium --compact
expect_err "medium name or UUID required"
expect_status 2 vmctl modifymedium d.VDI --frobnicate
expect_err "unknown option '--frobnicate'"
expect_status 2 vmctl modifymedium d.VDI --resize lots
expect_status 2 vmctl modifymedium d.VDI --type fancy
expect_err "invalid medium type 'fancy'"
expect_status 2 vmctl modifymedium d.VDI --autoreset maybe
expect_status 2 vmctl modifymedium d.VDI --property novalue
expect_status 2 vmctl modifymedium d.VDI d.qcow2 --compact
expect_err "invalid parameter 'd.qcow2'"

# A disk a running VM uses is neither resized nor compacted; its description may change.
if command -v python3 > /dev/null; then
	live_vm_with_disk live d.VDI
	expect_status 1 vmctl modifymedium d.VDI --resize 64
	expect_err "^vmctl: error: cannot resize the medium '$T/d.VDI': it is in use by the running VM live \(UUID: "
	[ ! -s "$T/out" ] || fail "output on a refusal: $(cat "$T/out")"
	expect_status 1 vmctl modifymedium d.VDI --compact
	expect_err "cannot compact the medium '$T/d.VDI': it is in use by the running VM live"
	vmctl modifymedium d.VDI --description "in use" > /dev/null
	vmctl controlvm live poweroff 2> /dev/null
	vmctl modifymedium d.VDI --resize 64 2> /dev/null
	[ "$(vsize d.VDI)" = $((64 << 20)) ] || fail "not resized once the VM is off"
	note "a running VM's disk: resize and compact refused, allowed once it is off"
fi
vmctl help modifymedium | has "modifymedium \[disk|dvd|floppy\] <uuid|filename>" || fail "vmctl help modifymedium"
check_schemas
