#!/usr/bin/env bash
# clonemedium (clonehd, clonevdi): raw -> qcow2 -> VDI, a streamOptimized
# VMDK -> VDI, qcow2 --compress, --existing, --resize, DVD images; the
# clones checked and compared by qemu-img, registered under the printed
# UUID (a VDI's header carries it too), and bad input refused with
# VBoxManage-style errors.
. "$(dirname "$0")/lib.sh"
command -v qemu-img > /dev/null || { echo "SKIP: no qemu-img"; exit 77; }

# The UUID in a VDI header (offset 392), printed as VirtualBox does: the
# first three fields are stored little-endian.
vdi_uuid() {
	local b
	read -r -a b < <(od -An -tx1 -v -j392 -N16 "$1" | tr '\n' ' ')
	echo "${b[3]}${b[2]}${b[1]}${b[0]}-${b[5]}${b[4]}-${b[7]}${b[6]}-${b[8]}${b[9]}-${b[10]}${b[11]}${b[12]}${b[13]}${b[14]}${b[15]}"
}
# clone SRC DST ARGS...: run clonemedium, check its output lines; UUID in $UUID.
clone() {
	local src=$1 dst=$2
	shift 2
	expect_status 0 vmctl clonemedium "$src" "$dst" "$@"
	grep -qx "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%" "$T/err" ||
		fail "clonemedium $src $dst: progress on stderr: $ERR"
	UUID=$(sed -n "s/^Clone medium created in format '[A-Za-z0-9]*'. UUID: //p" "$T/out")
	[ -n "$UUID" ] || fail "clonemedium $src $dst: output $(cat "$T/out")"
}
check_same() {   # REFERENCE IMAGE
	# Raw images have no metadata for qemu-img check to look at.
	if ! qemu-img info "$2" | has "^file format: raw"; then
		qemu-img check -q "$2" || fail "qemu-img check $2"
	fi
	qemu-img compare -q "$1" "$2" || fail "$2 differs from $1"
}

# 3 MiB of random data at 1 MiB in a 16 MiB raw disk.
head -c $((3 << 20)) /dev/urandom > data.bin
truncate -s 16M a.raw
dd if=data.bin of=a.raw bs=1M seek=1 conv=notrunc status=none

clone a.raw a.qcow2 --format qcow2
grep -qx "Clone medium created in format 'qcow2'. UUID: $UUID" "$T/out" || fail "output: $(cat "$T/out")"
check_same a.raw a.qcow2
qemu-img info a.qcow2 | has "^file format: qcow2" || fail "a.qcow2 is not qcow2"
vmctl showmediuminfo "$UUID" | has "^Location:       $T/a.qcow2$" || fail "clone not registered under $UUID"
vmctl showmediuminfo a.qcow2 | has "^Capacity:       16 MBytes$" || fail "clone's capacity"
vmctl list hdds | has "^Location:       $T/a.raw$" && fail "the unregistered source was registered"
note "raw -> qcow2: identical, registered as $UUID"

# The registered qcow2 by UUID -> VDI with the old verb name.
q_uuid=$UUID
clone "$q_uuid" a.vdi --format VDI
check_same a.raw a.vdi
qemu-img info a.vdi | has "^file format: vdi" || fail "a.vdi is not VDI"
[ "$(vdi_uuid a.vdi)" = "$UUID" ] || fail "VDI header UUID $(vdi_uuid a.vdi), registry $UUID"
expect_status 0 vmctl clonehd a.vdi b.vdi --variant Fixed
check_same a.raw b.vdi
[ "$(( $(stat -c %b b.vdi) * 512 ))" -ge $((16 << 20)) ] || fail "--variant Fixed did not allocate b.vdi"
# Without --format the clone keeps the source's format.
expect_status 0 vmctl clonevdi a.vdi c.img
grep -q "in format 'VDI'" "$T/out" || fail "default format: $(cat "$T/out")"
qemu-img info c.img | has "^file format: vdi" || fail "c.img is not VDI"
note "qcow2 -> VDI (header UUID = registry UUID), Fixed variant, clonehd/clonevdi"

# --compress: compressible data makes compressed clusters and a small file.
{ yes "Hutch compresses this line." || true; } | head -c $((8 << 20)) > text.raw
clone text.raw plain.qcow2 --format qcow2
clone text.raw packed.qcow2 --format qcow2 --compress
check_same text.raw packed.qcow2
qemu-img check packed.qcow2 | has "[1-9][0-9.]*% compressed clusters" || fail "no compressed clusters"
plain=$(stat -c %s plain.qcow2) packed=$(stat -c %s packed.qcow2)
[ "$packed" -lt $((plain / 4)) ] || fail "--compress: $packed bytes, uncompressed $plain"
note "--compress: $packed bytes against $plain uncompressed"

# A streamOptimized VMDK (what OVAs carry): read, converted to VDI by default.
qemu-img convert -O vmdk -o subformat=streamOptimized a.raw s.vmdk
clone s.vmdk s.vdi
grep -q "in format 'VDI'" "$T/out" || fail "VMDK source: $(cat "$T/out")"
check_same a.raw s.vdi
clone s.vmdk s.raw --format RAW
check_same a.raw s.raw
[ "$(( $(stat -c %b s.raw) * 512 ))" -lt $((8 << 20)) ] || fail "RAW clone is not sparse"
note "streamOptimized VMDK -> VDI and sparse RAW"

# --resize (MB) makes the clone bigger; the new part reads as zeros.
clone a.vdi big.qcow2 --format qcow2 --resize 32
qemu-img info --output=json big.qcow2 | has '"virtual-size": 33554432' || fail "--resize 32"
qemu-img compare -q a.raw big.qcow2 || fail "resized clone differs"
vmctl showmediuminfo big.qcow2 | has "^Capacity:       32 MBytes$" || fail "resized clone's capacity"

# --existing: written into an existing (here unregistered) image, whose UUID stays.
qemu-img create -q -f qcow2 target.qcow2 16M
qemu-io -c "write -P 0x55 0 16M" target.qcow2 > /dev/null
expect_status 0 vmctl clonemedium a.vdi target.qcow2 --existing
t_uuid=$(sed -n "s/^Clone medium created in format 'qcow2'. UUID: //p" "$T/out")
vmctl showmediuminfo target.qcow2 | has "^UUID:           $t_uuid$" || fail "--existing target's UUID"
check_same a.raw target.qcow2
note "--existing overwrote every block of a 16 MiB qcow2"

# DVD images are plain files.
head -c 1M /dev/urandom > cd.iso
expect_status 0 vmctl clonemedium dvd cd.iso cd2.iso
cmp -s cd.iso cd2.iso || fail "DVD clone differs"
vmctl list dvds | has "^Location:       $T/cd2.iso$" || fail "DVD clone not in list dvds"
expect_status 1 vmctl clonemedium dvd cd.iso cd3.vdi --format VDI
expect_err "DVD images are plain files"
expect_status 1 vmctl clonemedium dvd a.vdi cd3.iso
expect_err "medium '$T/a.vdi' is registered as a disk image, not a dvd image"

# Bad input: failures exit 1, usage errors 2; nothing is left behind.
expect_status 1 vmctl clonemedium missing.vdi x.vdi
expect_err "^vmctl: error: could not open the medium '$T/missing.vdi': No such file"
expect_status 1 vmctl clonemedium 01234567-89ab-4cde-8f01-23456789abcd x.vdi
expect_err "could not find a registered medium with UUID"
expect_status 1 vmctl clonemedium a.raw x.img --format foo
expect_err "^vmctl: error: invalid format 'foo': expected VDI, qcow2 or RAW$"
expect_status 1 vmctl clonemedium a.raw x.vmdk --format VMDK
expect_err "format 'VMDK' is not yet supported: use VDI, qcow2 or RAW"
expect_status 1 vmctl clonemedium a.raw x.vhd --format VHD
expect_err "format 'VHD' is not yet supported"
expect_status 1 vmctl clonemedium a.raw data.bin
expect_err "could not create the clone medium '$T/data.bin': the file exists"
expect_status 1 vmctl clonemedium a.raw a.vdi
expect_err "a medium is already registered there"
expect_status 1 vmctl clonemedium a.raw x.vdi --format VDI --compress
expect_err "--compress needs --format qcow2"
expect_status 1 vmctl clonemedium a.raw small.vdi --resize 8
expect_err "shrinking is not yet supported"
expect_status 1 vmctl clonemedium a.vdi a.vdi --existing
expect_err "the source and the target are the same medium"
expect_status 1 vmctl clonemedium a.raw x.vdi --variant Split2G
expect_err "--variant 'Split2G' is not yet supported"
for f in x.vdi x.img x.vmdk x.vhd small.vdi; do [ ! -e "$f" ] || fail "a failed clone left $f"; done
expect_status 2 vmctl clonemedium a.raw
expect_err "mandatory output file parameter missing"
expect_status 2 vmctl clonemedium
expect_err "mandatory UUID or input file parameter missing"
expect_status 2 vmctl clonemedium a.raw x.vdi extra
expect_status 2 vmctl clonemedium a.raw x.vdi --frobnicate
expect_err "unknown option '--frobnicate'"
expect_status 2 vmctl clonemedium a.raw x.vdi --variant Bogus
expect_err "invalid medium variant 'Bogus'"
expect_status 2 vmctl clonemedium a.raw a.vdi --existing --format VDI
expect_err "cannot be used with --existing"
expect_status 2 vmctl clonemedium a.raw x.vdi --resize lots
vmctl help clonemedium | has "clonemedium \[disk|dvd|floppy\] <uuid|inputfile> <uuid|outputfile>" ||
	fail "vmctl help clonemedium"

# A disk a running VM uses is not cloned (its contents change under the copy).
if command -v python3 > /dev/null; then
	live_vm_with_disk live a.vdi
	expect_status 1 vmctl clonemedium a.vdi x.vdi
	expect_err "cannot clone the medium '$T/a.vdi': it is in use by the running VM live \(UUID: "
	expect_status 1 vmctl clonemedium a.raw a.vdi --existing
	expect_err "cannot write into the medium '$T/a.vdi': it is in use by the running VM live"
	vmctl controlvm live poweroff 2> /dev/null
	clone a.vdi x.vdi
	note "a running VM's disk is refused, and cloned once it is off"
fi
check_schemas
