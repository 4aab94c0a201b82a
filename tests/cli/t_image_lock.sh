#!/usr/bin/env bash
# The image lock itself refuses a medium command that would write an image
# someone else has open (issue 8, finding 3): no VM is registered, so the
# registry's "in use by the running VM" check cannot fire; qemu-io holds
# the image with QEMU's OFD lock bytes, as a running QEMU, hutch-vm or
# qemu-img would.  modifymedium --compact and --resize, clonemedium (from
# it, and --existing into it) and closemedium --delete each fail with one
# line naming the lock and leave the file as it was; once the holder is
# gone each succeeds.
. "$(dirname "$0")/lib.sh"
command -v qemu-img > /dev/null && command -v qemu-io > /dev/null ||
	{ echo "SKIP: no qemu-img/qemu-io"; exit 77; }

vsize() { qemu-img info --output=json "$1" | sed -n 's/^ *"virtual-size": \([0-9]*\),*$/\1/p'; }

holder=
# hold FMT IMAGE [qemu-io flags]: keep IMAGE open in qemu-io until release;
# returns once its locks are all taken.  Watched in /proc/locks, not by
# opening the image, which could make the holder's own open fail: QEMU
# (raw_apply_lock_bytes) takes the "use" bytes 100.. first, then the
# "refuse to share" bytes 200..; both a writer and a reader refuse to
# share resize (203), the last one.
hold() {
	local fmt=$1 img=$2 ino
	shift 2
	ino=$(stat -c %i "$img")
	qemu-io -f "$fmt" "$@" -c "sleep 600000" "$img" > /dev/null 2>&1 &
	holder=$!
	for _ in $(seq 1 200); do
		kill -0 "$holder" 2> /dev/null || fail "qemu-io $* $img exited at once"
		grep -qE "OFDLCK +ADVISORY +READ +-?[0-9]+ [0-9a-f]+:[0-9a-f]+:$ino 203 203\$" /proc/locks && return 0
		sleep 0.05
	done
	fail "qemu-io did not lock $img within 10 s: $(cat /proc/locks)"
}
release() {
	kill "$holder"
	wait "$holder" 2> /dev/null || true
	holder=
}
trap '[ -z "$holder" ] || kill "$holder" 2> /dev/null; cleanup' EXIT

# expect_locked VERB FILE: the last expect_status failed with exactly one
# line, the lock's, and not the registry's running-VM message.
expect_locked() {
	[ "$(wc -l < "$T/err")" = 1 ] || fail "not one line: $ERR"
	expect_err "^vmctl: error: cannot $1 the medium '$T/$2': it is locked by another process \(a running VM\?\): it (holds|refuses to share) write access$"
	[ ! -s "$T/out" ] || fail "output on a refusal: $(cat "$T/out")"
}

vmctl createmedium disk --filename d.vdi --size 16 > /dev/null 2>&1
vmctl createmedium disk --filename t.qcow2 --size 16 --format qcow2 > /dev/null 2>&1
# 4 MiB of data, 3 of them zeros afterwards: something for --compact to drop.
qemu-io -f vdi -c "write -P 0xa5 1M 4M" -c "write -P 0 1M 3M" d.vdi > /dev/null
cp d.vdi d.ref
[ -z "$(vmctl list vms)" ] || fail "a VM is registered: $(vmctl list vms)"
ino=$(stat -c %i d.vdi)

# A writer (a running VM's disk) holds d.vdi.
hold vdi d.vdi
expect_status 1 vmctl modifymedium disk d.vdi --compact
expect_locked compact d.vdi
note "$ERR"
expect_status 1 vmctl modifymedium d.vdi --resize 32
expect_locked resize d.vdi
expect_status 1 vmctl clonemedium d.vdi c.vdi
expect_locked clone d.vdi
[ ! -e c.vdi ] || fail "a refused clone left c.vdi"
expect_status 1 vmctl clonemedium t.qcow2 d.vdi --existing
expect_locked "write into" d.vdi
expect_status 1 vmctl closemedium disk d.vdi --delete
expect_locked delete d.vdi
vmctl showmediuminfo d.vdi > /dev/null || fail "a refused closemedium unregistered d.vdi"
[ "$(stat -c %i d.vdi)" = "$ino" ] || fail "the held image was replaced"
cmp -s d.vdi d.ref || fail "the held image was changed"
ls -A | has compact && fail "a refused --compact left a temporary file: $(ls -A)"
release
note "compact, resize, clone, clone --existing and delete refused while qemu-io holds d.vdi"

# A reader (say, the backing file of a running VM's overlay) refuses writers too.
hold vdi d.vdi -r
expect_status 1 vmctl modifymedium d.vdi --resize 32
expect_locked resize d.vdi
expect_status 1 vmctl clonemedium t.qcow2 d.vdi --existing
expect_locked "write into" d.vdi
release
[ "$(vsize d.vdi)" = $((16 << 20)) ] || fail "a refused resize changed the size to $(vsize d.vdi)"

# Nobody holds it: each works.
expect_status 0 vmctl modifymedium d.vdi --compact
[ "$(stat -c %i d.vdi)" != "$ino" ] || fail "--compact did not replace the image once free"
qemu-img compare -q d.ref d.vdi || fail "--compact changed the contents"
expect_status 0 vmctl modifymedium d.vdi --resize 32
[ "$(vsize d.vdi)" = $((32 << 20)) ] || fail "not resized once free: $(vsize d.vdi)"
expect_status 0 vmctl clonemedium d.vdi c.vdi
expect_status 0 vmctl clonemedium t.qcow2 d.vdi --existing
expect_status 0 vmctl closemedium disk d.vdi --delete
[ ! -e d.vdi ] || fail "closemedium --delete left d.vdi once free"
note "after the holder exits: compact, resize, clone, clone --existing and delete succeed"
check_schemas
