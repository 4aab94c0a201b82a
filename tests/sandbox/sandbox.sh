#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The KVM sandbox: real KVM on a host without /dev/kvm.
#
# Usage: sandbox.sh [--timeout SEC] [--mem MiB] [--cpus N] [--results DIR] -- COMMAND...
#        sandbox.sh --check
#
# How it works.  qemu-system-x86_64 emulates (TCG, no KVM needed) a q35 PC
# whose AMD CPU has SVM and nested paging (-cpu qemu64,+svm,+npt).  It boots
# the newest Debian kernel in /boot ("L1") with a small busybox initramfs,
# built here and cached in ${XDG_CACHE_HOME:-~/.cache}/hutch/ keyed on the
# kernel version and a hash of this script and modules.sh.  L1's /init loads
# kvm-amd and the virtio/9p modules (dependencies resolved from modules.dep),
# so L1 has a working /dev/kvm; mounts the host's / (9p, read-only, tag
# "host") at /host and the writable results DIR (9p, tag "work") over the
# same path inside it; mounts proc, sys, devtmpfs, devpts, and tmpfs on /tmp,
# /run and /dev/shm inside /host; and runs COMMAND with "chroot /host" in the
# caller's working directory, with PATH, HOME=/root, TERM=dumb and the
# caller's CI, HUTCH_*, ASAN_OPTIONS and UBSAN_OPTIONS.  So the very binaries
# built on the host run in L1 and start their own guests ("L2") on real KVM.
#
# COMMAND's output streams to this terminal (L1's console is ttyS0 on QEMU's
# stdio; the kernel is "quiet loglevel=4", so L1's own errors, panics and
# stall warnings show).  L1 prints "SANDBOX-EXIT <status>" and powers off;
# this script exits with that status.  It exits 124 after --timeout seconds
# (default 1800; the QEMU process group is killed and the end of L1's
# console printed); 75 (EX_TEMPFAIL) when L1 died: it panicked, or it
# stopped responding (L1 touches DIR/.sandbox-alive-PID every 5 s; when that
# stops for --idle seconds while QEMU keeps burning CPU, L1 is livelocked
# and killed; so is an L1 whose kernel reported one CPU stalled three
# times); 125 if L1 never ran COMMAND (L1's console is printed), 2 on
# bad usage.  L1's full console is kept in DIR/.sandbox-console.log.
#
#   --results DIR (alias --dir)  writable inside L1 at its host path (default
#                  $HUTCH_SANDBOX_DIR or ./build/sandbox; created if missing)
#   --mem MiB      L1's RAM (default 6144: room for a 4096 MiB guest inside)
#   --cpus N       L1's vCPUs (default 1, or $HUTCH_SANDBOX_CPUS: with 2,
#                  L1 died under nested SVM far more often; docs/testing.md)
#   --idle SEC     L1 is hung after SEC seconds without a heartbeat while
#                  QEMU ran (default 15, or $HUTCH_SANDBOX_IDLE; the
#                  heartbeat runs at real-time priority in L1); a hung L1
#                  is sent an NMI first and killed only if that fails
#   --check        prints one line, first word "kvm" (/dev/kvm usable here:
#                  no sandbox needed), "sandbox" (QEMU and a kernel are here)
#                  or "none" (exit status 1), then the reason.
#
# Knobs for measuring the sandbox itself (tests/sandbox/freeze-repro.sh):
#   HUTCH_SANDBOX_TCG        multi (default) or single: QEMU's TCG threading
#   HUTCH_SANDBOX_CPU_MODEL  L1's CPU (default qemu64,+svm,+npt)
#   HUTCH_SANDBOX_QEMU       the QEMU that emulates L1: "system" (default:
#                            qemu-system-x86_64 on PATH, Debian 12's 7.2),
#                            or "backports" (QEMU 10.0, which
#                            tests/sandbox/l1-qemu.sh --install unpacks)
#   HUTCH_SANDBOX_APPEND     more words for L1's kernel command line; words
#                            MODULE.PARAM=VALUE also reach insmod (kvm_amd.npt=0)
#   HUTCH_SANDBOX_LOGLEVEL   L1's console loglevel (default 4)
#   HUTCH_SANDBOX_L1_IDLE    poll (default) or halt: L1's idle loop.  An L1
#                            that halts (HLT) when idle was seen to halt for
#                            good, its timer interrupt never coming, in 2 of
#                            3 boots running t_serial_stall (and in about 3
#                            of 6 before); with idle=poll, 0 of 4.  It costs a
#                            host core while L1 idles (docs/testing.md).
#
# L1's /tmp is its own tmpfs, and the host's tree is read-only inside: files
# a command needs must be on the host outside /tmp, files it writes must go
# to DIR.  TCG is slow: an L2 Linux boot to userspace takes 10-20 s.
set -euo pipefail
# The whole script is one { } block, read before it runs: editing the file
# during a long run cannot change what this run does.
{

timeout_s=1800
idle=${HUTCH_SANDBOX_IDLE:-15}
mem=6144
cpus=${HUTCH_SANDBOX_CPUS:-1}
tcg_thread=${HUTCH_SANDBOX_TCG:-multi}
cpu_model=${HUTCH_SANDBOX_CPU_MODEL:-qemu64,+svm,+npt}
qemu_opts=()
case ${HUTCH_SANDBOX_QEMU:-system} in
system) qemu=qemu-system-x86_64 ;;
backports)
	l1_qemu=$("$(dirname "${BASH_SOURCE[0]}")/l1-qemu.sh" --dir) ||
		{ echo "sandbox.sh: no backports QEMU (run tests/sandbox/l1-qemu.sh --install)" >&2; exit 125; }
	# Its own firmware and modules first; Debian 12's /usr/share/qemu has
	# the SeaBIOS links.  No audio back end: the one it would probe is a
	# module, and Debian 12's modules are 7.2's, which it refuses.
	qemu=$l1_qemu/usr/bin/qemu-system-x86_64
	qemu_opts=(-L "$l1_qemu/usr/share/qemu" -L /usr/share/qemu -audio none)
	export QEMU_MODULE_DIR=$l1_qemu/usr/lib/x86_64-linux-gnu/qemu ;;
*) echo "sandbox.sh: HUTCH_SANDBOX_QEMU must be system or backports" >&2; exit 2 ;;
esac
extra_append=${HUTCH_SANDBOX_APPEND:-}
case ${HUTCH_SANDBOX_L1_IDLE:-poll} in
poll) extra_append="idle=poll $extra_append" ;;
halt) ;;
*) echo "sandbox.sh: HUTCH_SANDBOX_L1_IDLE must be poll or halt" >&2; exit 2 ;;
esac
dir=${HUTCH_SANDBOX_DIR:-$PWD/build/sandbox}

kernel_image() {   # the newest /boot/vmlinuz-* that has its modules
	local k
	while read -r k; do
		[ -f "$k" ] && [ -f "/lib/modules/${k#/boot/vmlinuz-}/modules.dep" ] && { echo "$k"; return; }
	done < <(printf '%s\n' /boot/vmlinuz-* | sort -rV)
}

check() {
	local k why="no usable /dev/kvm"
	if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		# A /dev/kvm without VMX or SVM in the CPU is a paravirtual KVM
		# (such as PVM in some cloud VMs): it runs only guest kernels built
		# for it, and Debian's stock kernel hangs there without a word.
		if grep -qw -e vmx -e svm /proc/cpuinfo; then
			echo "kvm: /dev/kvm is usable here; no sandbox needed"
			return 0
		fi
		why="/dev/kvm is here but the CPU has neither VMX nor SVM (a paravirtual KVM that cannot run unmodified guests)"
	fi
	k=$(kernel_image)
	if command -v qemu-system-x86_64 >/dev/null && [ -n "$k" ]; then
		echo "sandbox: $why; the sandbox can run (qemu-system-x86_64, $k)"
		return 0
	fi
	echo "none: $why, and the sandbox needs qemu-system-x86_64 and /boot/vmlinuz-* with /lib/modules (scripts/install-deps.sh)"
	return 1
}

usage() { echo "usage: sandbox.sh [--timeout SEC] [--mem MiB] [--cpus N] [--results DIR] -- COMMAND... | sandbox.sh --check" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--check) check; exit $? ;;
	--timeout|--mem|--cpus|--idle|--results|--dir)
		[ $# -ge 2 ] || usage
		case $1 in
		--timeout) timeout_s=$2 ;;
		--mem) mem=$2 ;;
		--cpus) cpus=$2 ;;
		--idle) idle=$2 ;;
		*) dir=$2 ;;
		esac
		shift 2 ;;
	--) shift; break ;;
	*) echo "sandbox.sh: unknown option '$1'" >&2; usage ;;
	esac
done
[ $# -gt 0 ] || { echo "sandbox.sh: no command given" >&2; usage; }
case $tcg_thread in multi|single) ;; *) echo "sandbox.sh: HUTCH_SANDBOX_TCG must be multi or single" >&2; exit 2 ;; esac
loglevel=${HUTCH_SANDBOX_LOGLEVEL:-4}
for n in "$timeout_s" "$mem" "$cpus" "$idle" "$loglevel"; do
	case $n in ''|*[!0-9]*) echo "sandbox.sh: '$n' is not a number" >&2; exit 2 ;; esac
done

kernel=$(kernel_image)
[ -n "$kernel" ] || { echo "sandbox.sh: no /boot/vmlinuz-* with its /lib/modules (install linux-image-amd64)" >&2; exit 125; }
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
command -v "$qemu" >/dev/null || { echo "sandbox.sh: $qemu missing (install qemu-system-x86)" >&2; exit 125; }
command -v busybox >/dev/null || { echo "sandbox.sh: busybox missing (install busybox-static)" >&2; exit 125; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/sandbox/modules.sh
. "$here/modules.sh"

tmpfiles=()
# shellcheck disable=SC2317  # (called from traps)
cleanup() { rm -rf ${tmpfiles[@]+"${tmpfiles[@]}"}; }
trap cleanup EXIT

# --- the L1 initramfs, cached per kernel and per version of this script ---
cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/hutch
mkdir -p "$cache"
hash=$(cat "$0" "$here/modules.sh" | sha256sum | cut -c1-12)
l1=$cache/sandbox-$kver-$hash.cpio.gz
if [ ! -f "$l1" ]; then
	work=$(mktemp -d)
	tmpfiles+=("$work")
	mkdir -p "$work"/{bin,dev,proc,sys,host,mods}
	cp "$(command -v busybox)" "$work/bin/busybox"
	modules_copy "$moddir" "$work/mods" kvm-amd 9p 9pnet_virtio virtio_pci > "$work/mods/order"
	cat > "$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# busybox's insmod does not read module parameters from the kernel command
# line as modprobe does: pass "MODULE.PARAM=VALUE" words on to insmod.
while read -r m; do
	name=$(echo "${m%.ko}" | tr - _)
	params=$(tr ' ' '\n' < /proc/cmdline | sed -n "s/^$name\.//p" | tr '\n' ' ')
	# shellcheck disable=SC2086  # (one word per parameter)
	insmod "/mods/$m" $params || echo "sandbox: insmod $m $params failed"
done < /mods/order
arg() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" /proc/cmdline; }
dir=$(arg hutch.dir)
cmd=$(arg hutch.cmd)
fail() { echo "sandbox: $*"; echo "SANDBOX-EXIT 125"; poweroff -f; }
mkdir -p /hostro
mount -t 9p -o trans=virtio,version=9p2000.L,ro host /hostro || fail "cannot mount the host's root"
mount -o bind /hostro /host || fail "cannot bind the host's root"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm 2>/dev/null
mount -t devpts devpts /host/dev/pts 2>/dev/null
mount -t tmpfs shm /host/dev/shm
ln -sf /proc/self/fd /host/dev/fd
ln -sf /proc/self/fd/0 /host/dev/stdin
ln -sf /proc/self/fd/1 /host/dev/stdout
ln -sf /proc/self/fd/2 /host/dev/stderr
mount -t tmpfs tmp /host/tmp
mount -t tmpfs run /host/run
# A checkout under the host's /tmp (CI clones there) stays visible: the
# tmpfs above hides the host's /tmp, so bind its top directory back.
keep=$(arg hutch.keep)
if [ -n "$keep" ]; then
	mkdir -p "/host$keep"
	mount -o bind "/hostro$keep" "/host$keep" || fail "cannot bind $keep"
fi
mount -t 9p -o trans=virtio,version=9p2000.L work "/host$dir" || fail "cannot mount the writable share at $dir"
[ -c /dev/kvm ] || fail "no /dev/kvm in L1 (kvm-amd did not load)"
# L1's code addresses (KASLR, modules such as kvm-amd): the host's
# l1-state.py names the function a frozen CPU sat in with them.
grep ' [tTwW] ' /proc/kallsyms > "/host$dir/.sandbox-l1-kallsyms" &
# The heartbeat, at real-time priority where the host's chrt can give it:
# an L1 that schedules at all runs it within milliseconds however busy its
# guests keep it, so a missing heartbeat means a frozen L1, and the host's
# watchdog can act on it after 15 s instead of minutes.
alive=$dir/.sandbox-alive-$(arg hutch.id)
if chroot /host chrt -f 10 true 2>/dev/null; then
	chroot /host chrt -f 10 /bin/sh -c "while :; do touch '$alive'; sleep 5; done" < /dev/null &
else
	(while :; do touch "/host$alive"; sleep 5; done) &
fi
echo "SANDBOX-READY"
chroot /host /bin/sh "$dir/$cmd" < /dev/null
echo "SANDBOX-EXIT $?"
poweroff -f
INIT
	chmod +x "$work/init"
	(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$l1.tmp.$$"
	mv "$l1.tmp.$$" "$l1"
	# Older builds for this kernel are stale now.
	for old in "$cache/sandbox-$kver-"*.cpio.gz; do
		[ "$old" = "$l1" ] || rm -f "$old"
	done
fi

# --- the command, as a script in the writable share ---
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $dir in *[[:space:],]*) echo "sandbox.sh: the results directory '$dir' has white space or a comma in its path (QEMU's -virtfs cannot take it)" >&2; exit 2 ;; esac
cmdfile=.sandbox-cmd-$$.sh
log=$dir/.sandbox-console-$$.log
alive=$dir/.sandbox-alive-$$
# The top directory under /tmp holding the caller's directory or DIR, if any.
keep=""
for p in "$PWD" "$dir"; do
	case $p in /tmp/?*) keep=/tmp/$(echo "${p#/tmp/}" | cut -d/ -f1) ;; esac
done
# QEMU's monitor, for a look at a frozen L1's CPU before it is killed
# (l1-state.py); not in DIR, whose path may be too long for a socket.
mon=${XDG_RUNTIME_DIR:-/tmp}/hutch-sandbox-$$.monitor
state=$dir/.sandbox-l1-state.txt
rm -f "$state" "$dir/.sandbox-l1-kallsyms"
tmpfiles+=("$dir/$cmdfile" "$alive" "$alive.hung" "$mon")
{
	echo "cd $(printf %q "$PWD") || exit 125"
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb"
	echo "export XDG_RUNTIME_DIR=/run"
	while IFS='=' read -r name _; do
		case $name in CI|HUTCH_*|ASAN_OPTIONS|UBSAN_OPTIONS)
			echo "export $name=$(printf %q "${!name}")" ;; esac
	done < <(env)
	printf '%q ' "$@"
	echo
} > "$dir/$cmdfile"
: > "$log"

# QEMU runs in the background under timeout (its own process group), its
# console into $log; tail streams $log to this terminal, without SeaBIOS's
# escape sequences and the sandbox's own marker lines.
timeout -k 10 "$timeout_s" "$qemu" ${qemu_opts[@]+"${qemu_opts[@]}"} \
	-machine q35 -accel "tcg,thread=$tcg_thread" -cpu "$cpu_model" \
	-smp "$cpus" -m "$mem" -nographic -no-reboot -nic none -vga none \
	-monitor "unix:$mon,server=on,wait=off" \
	-kernel "$kernel" -initrd "$l1" \
	-append "console=ttyS0 quiet loglevel=$loglevel panic=-1 $extra_append hutch.dir=$dir hutch.cmd=$cmdfile hutch.id=$$ hutch.keep=$keep" \
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$dir,mount_tag=work,security_model=none,multidevs=remap" \
	</dev/null >"$log" 2>&1 &
qpid=$!
# The watchdog.  L1 touches its heartbeat file every 5 s.  L1 is hung when
# the file is older than $idle seconds while QEMU kept burning CPU (at least
# half of that time): a livelocked L1 spins, a host too busy to run QEMU
# does not, and must not be mistaken for a hang.  It is hung too when,
# with no heartbeat for $idle seconds, QEMU has been quiet (under 2 s of
# CPU) for the last half of that while the host had a free CPU for at
# least half of the quiet time: an L1 halted for good, waiting for an
# interrupt that never comes (seen in t_serial_stall, and 30 s after
# boot).  A heartbeat older than four times $idle is a hang whatever the
# CPU did.
#
# A hung L1 is first rescued if it can be: the freezes seen so far are an
# SMP L2 guest's CPU spinning with interrupts off (an AP waiting for the
# boot CPU), the one L1 CPU never leaving it although L1's timer interrupt
# is pending in its APIC: TCG's nested SVM lost that interrupt, and L1,
# without a tick, never runs the L2 CPU that would end the spin.  Two
# kicks, each given 10 s for the heartbeat to come back:
#  1. a key press on L1's PS/2 keyboard (monitor's sendkey): an external
#     interrupt through the I/O APIC makes QEMU look at L1's APIC again;
#     it had dropped its note of the pending timer (in 300 boots, three
#     freezes: an NMI ended none, the key press each, 2 s later);
#  2. an NMI: it forces a #VMEXIT, and L1 takes its pending interrupts
#     on the way back if QEMU still knows of them (it ended one freeze of
#     another face, L1 running but never ticking).
# If the heartbeat is back, L1 lives on and the rescue is logged with the
# kick that did it; otherwise (and after 10 rescues) it is killed as before.
# What a hung L1's CPU was doing (L2 or L1's kernel, where, its APIC),
# asked of QEMU's monitor just before the kill; docs/testing.md.
l1_state() {
	timeout 60 python3 "$here/l1-state.py" "$mon" "$dir/.sandbox-l1-kallsyms" > "$state" 2>&1 || true
	# Every death's, for runs that reuse DIR (freeze-repro.sh, retries).
	{ echo "===== $(date '+%F %T') sandbox $$"; cat "$state"; } >> "$dir/.sandbox-l1-states.log"
}
# QEMU and what it started (timeout(1) made $qpid a process group).
kill_l1() {   # SIGNAL
	kill -"$1" -- -"$qpid" 2>/dev/null || kill -"$1" "$qpid" 2>/dev/null || true
}
rescues=$dir/.sandbox-rescues-$$
tmpfiles+=("$rescues")
: > "$rescues"
l1_rescue() {   # HEARTBEAT_MTIME_WHEN_HUNG SECONDS_WITHOUT_ONE
	local i kick
	[ "$(wc -l < "$rescues")" -lt 10 ] || return 1
	for kick in key nmi; do
		timeout 30 python3 "$here/l1-state.py" --"$kick" "$mon" > /dev/null 2>&1 || return 1
		for i in 1 2 3 4 5; do
			sleep 2
			if [ "$(stat -c %Y "$alive" 2>/dev/null || echo "")" != "$1" ]; then
				echo "$(date '+%T') kick=$kick $(grep -m1 '^l1-state: sample 0' "$state" | cut -c 11-)" >> "$rescues"
				# Kept across runs in DIR, for run.sh's count.
				tail -n 1 "$rescues" >> "$dir/.sandbox-rescues.log"
				echo "sandbox: L1 froze (no heartbeat for ${2}s) and $([ "$kick" = nmi ] && echo an NMI || echo a key press) brought it back after $((2 * i))s; $state has its CPU before" >&2
				return 0
			fi
		done
	done
	return 1
}
(
	hz=$(getconf CLK_TCK)
	# $qpid is timeout(1); QEMU is its child.
	qemu_cpu() {
		local q
		q=$(pgrep -P "$qpid" | head -n 1)
		awk -v hz="$hz" '{ print int(($14 + $15) / hz) }' "/proc/${q:-$qpid}/stat" 2>/dev/null || echo 0
	}
	# Idle CPU seconds of the whole host (idle + iowait, all CPUs).
	host_idle() { awk -v hz="$hz" '/^cpu / { print int(($5 + $6) / hz) }' /proc/stat; }
	seen=$(date +%s) seen_cpu=$(qemu_cpu) prev=""
	# Since when QEMU has been quiet (its CPU time grew by under 2 s), and
	# the host's idle time then.
	quiet_since=$seen quiet_cpu=$seen_cpu quiet_idle=$(host_idle)
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 2
		now=$(date +%s) cpu=$(qemu_cpu)
		if [ $((cpu - quiet_cpu)) -ge 2 ]; then
			quiet_since=$now quiet_cpu=$cpu quiet_idle=$(host_idle)
		fi
		last=$(stat -c %Y "$alive" 2>/dev/null || echo "")
		if [ "$last" != "$prev" ]; then
			prev=$last seen=$now seen_cpu=$cpu
			continue
		fi
		# Before its first heartbeat L1 is still booting, which takes
		# 8-30 s on a loaded host: it gets 180 s, not $idle.
		[ -n "$last" ] || [ $((now - seen)) -gt 180 ] || continue
		quiet=$((now - quiet_since))
		if { [ $((now - seen)) -gt "$idle" ] && [ $((cpu - seen_cpu)) -ge $((idle / 2)) ]; } ||
			{ [ $((now - seen)) -gt "$idle" ] && [ "$quiet" -gt $((idle / 2)) ] &&
				[ $(($(host_idle) - quiet_idle)) -ge $((quiet / 2)) ]; } ||
			[ $((now - seen)) -gt $((4 * idle)) ]; then
			l1_state
			if l1_rescue "$last" "$((now - seen))"; then
				now=$(date +%s)
				prev=$(stat -c %Y "$alive" 2>/dev/null || echo "") seen=$now seen_cpu=$(qemu_cpu)
				quiet_since=$now quiet_cpu=$seen_cpu quiet_idle=$(host_idle)
				continue
			fi
			echo "$((now - seen))" > "$alive.hung"
			kill_l1 KILL
			break
		fi
	done
) &
wpid=$!
# With two vCPUs, one of L1's CPUs can stall for good while the other still
# touches the heartbeat: L1's kernel reports it (RCU, every 63 s after the
# first at 21 s).  Three such reports (about 2.5 minutes stalled) are a hang.
(
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		if [ "$(grep -c 'rcu: INFO: .* detected stalls' "$log" 2>/dev/null)" -ge 3 ]; then
			echo "RCU stall" > "$alive.hung"
			l1_state
			kill_l1 KILL
			break
		fi
	done
) &
rpid=$!
# shellcheck disable=SC2317
stop() {   # a signal: take QEMU down with us
	kill_l1 TERM
	sleep 1
	kill_l1 KILL
	mv -f "$log" "$dir/.sandbox-console.log"
	echo "sandbox: interrupted; L1's console is in $dir/.sandbox-console.log" >&2
	exit 130
}
trap stop INT TERM HUP
console() { sed -u -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g'; }   # without escapes
tail -n +1 -f --pid="$qpid" "$log" | console |
	grep --line-buffered -v -e '^SANDBOX-EXIT ' -e '^SANDBOX-READY' -e '^SeaBIOS (version' \
		-e '^Booting from ROM' -e '^$' -e 'Unhandled WRMSR(0xc0010007)' &
tpid=$!
set +e
wait "$qpid"
qemu_status=$?
wait "$tpid"
set -e
trap - INT TERM HUP
kill "$wpid" "$rpid" 2>/dev/null || true
n=$(wc -l < "$rescues")
[ "$n" = 0 ] || echo "sandbox: L1 froze and was brought back $n time(s):$(sed 's/^/ [/; s/$/]/' "$rescues" | tr -d '\n')" >&2
mv -f "$log" "$dir/.sandbox-console.log"
log=$dir/.sandbox-console.log
status=$(sed -n 's/^SANDBOX-EXIT \([0-9]*\).*/\1/p' "$log" | tail -n 1)
stalls=$(grep -c -e 'rcu: INFO: .* detected stalls' -e 'soft lockup' -e 'hung_task' "$log" || true)
[ "$stalls" = 0 ] || echo "sandbox: L1 logged $stalls stall warnings (RCU, soft lockup or hung task) in $log" >&2
if [ -e "$alive.hung" ]; then
	if [ "$(cat "$alive.hung")" = "RCU stall" ]; then
		echo "sandbox: a CPU of L1 stalled for minutes (three RCU stall reports) and L1 was killed; the end of its console ($log):" >&2
	else
		echo "sandbox: L1 stopped responding (no heartbeat for $(cat "$alive.hung")s) and was killed; the end of its console ($log):" >&2
	fi
	tail -n 40 "$log" | console >&2
	if [ -s "$state" ]; then
		echo "sandbox: L1's CPU when it was killed (QEMU's monitor; all of it in $state):" >&2
		grep '^l1-state:' "$state" >&2 || tail -n 5 "$state" >&2
	fi
	exit 75
fi
if grep -q 'Kernel panic' "$log"; then
	echo "sandbox: L1 panicked; the end of its console ($log):" >&2
	tail -n 60 "$log" | console >&2
	exit 75
fi
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
	echo "sandbox: timed out after ${timeout_s}s; the end of L1's console ($log):" >&2
	tail -n 40 "$log" | console >&2
	exit 124
fi
if [ -z "$status" ]; then
	if grep -q '^SANDBOX-READY' "$log"; then
		echo "sandbox: L1 ended while the command ran (qemu status $qemu_status); the end of its console ($log):" >&2
	else
		echo "sandbox: L1 ended without running the command (qemu status $qemu_status); its console ($log):" >&2
	fi
	tail -n 60 "$log" | console >&2
	exit 125
fi
exit "$status"
}
