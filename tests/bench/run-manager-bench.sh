#!/usr/bin/env bash
# What the manager (hutch) costs, in instructions counted by callgrind,
# which repeat from run to run on a loaded machine where wall time does
# not: hutch under Xvfb with VMS VMs registered (a fake hutch-vm,
# tests/cli/fake-hutch-vm.py; no KVM), in three phases:
#   start-up  from exec to the list shown, plus 3 s
#   idle      IDLE_SECS with nothing happening
#   change    vmctl startvm vm1, then controlvm vm1 poweroff, each shown
# For each: instructions of the GUI thread and of the others, frames
# ImGui ran and frames drawn, polls of the state poller and their cost.
# The delays until the list showed each change are wall time under
# callgrind (some 50 times slower, like an emulated CPU): a hint only.
# Usage: run-manager-bench.sh [VMS] [IDLE_SECS]   (a build in build/, or $HUTCH_BUILD_DIR)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vms=${1:-5} idle=${2:-20}
build=${HUTCH_BUILD_DIR:-$top/build}
hutch=${HUTCH_MANAGER:-$build/src/frontend/manager/hutch}
vmctl=$build/src/frontend/vmctl/vmctl
for t in valgrind callgrind_control Xvfb python3; do
	command -v "$t" > /dev/null || { echo "run-manager-bench: needs $t" >&2; exit 1; }
done
if [ ! -x "$hutch" ] || [ ! -x "$vmctl" ]; then
	echo "run-manager-bench: no hutch or vmctl in $build" >&2
	exit 1
fi

work=$(mktemp -d /tmp/hutch-mgr-bench.XXXXXX)
xvfb='' pid=''
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
	[ -n "$xvfb" ] && kill "$xvfb" 2> /dev/null && wait "$xvfb" 2> /dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/config" && mkdir -m 700 "$work/run"
export HUTCH_CONFIG_HOME=$work/config HUTCH_RUNTIME_DIR=$work/run HUTCH_SCALE=1
export HUTCH_VM=$top/tests/cli/fake-hutch-vm.py
for i in $(seq "$vms"); do
	"$vmctl" createvm --name "vm$i" --ostype Ubuntu_64 --default --register > /dev/null
done
Xvfb -displayfd 3 -screen 0 1024x600x24 -nolisten tcp 3> "$work/display" > /dev/null 2>&1 &
xvfb=$!
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.05; done
DISPLAY=:$(head -n 1 "$work/display")
export DISPLAY

# wait_line LINE: milliseconds until the list file holds LINE (gives up after 120 s).
wait_line() {
	local start now
	start=$(date +%s%3N)
	until grep -qxF -- "$1" "$work/list" 2> /dev/null; do
		now=$(date +%s%3N)
		[ $((now - start)) -gt 120000 ] && { echo "never"; return; }
		sleep 0.02
	done
	echo $(($(date +%s%3N) - start))
}

valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/cg.out" \
	"$hutch" --list-state "$work/list" > "$work/hutch.log" 2>&1 &
pid=$!
ms_list=$(wait_line "vm$vms	powered off")
sleep 3
callgrind_control -d start-up "$pid" > /dev/null 2>&1
sleep "$idle"
callgrind_control -d idle "$pid" > /dev/null 2>&1
"$vmctl" startvm vm1 --type headless > /dev/null 2>&1
ms_run=$(wait_line "vm1	running")
sleep 2
"$vmctl" controlvm vm1 poweroff > /dev/null 2>&1
ms_off=$(wait_line "vm1	powered off")
sleep 2
callgrind_control -d change "$pid" > /dev/null 2>&1
kill "$pid"
wait "$pid" 2> /dev/null || true
pid=

echo "hutch with $vms VMs, callgrind instructions (Ir); idle phase $idle s"
# Dumps are cg.out.PART-THREAD; thread 1 is the GUI thread.
python3 - "$work" <<'EOF'
import glob, os, re, sys

def parse(path):
    """Total Ir, and calls and inclusive Ir per callee name, of one callgrind dump."""
    names, calls, incl = {}, {}, {}
    total, callee, pending = 0, None, False
    for line in open(path, errors="replace"):
        if line.startswith("summary:"):
            total = int(line.split()[1])
        m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2).strip()
            callee = names.get(m.group(1), m.group(1))
            continue
        m = re.match(r"fn=\((\d+)\)(?: (.*))?", line)
        if m and m.group(2):
            names[m.group(1)] = m.group(2).strip()
            continue
        if line.startswith("calls="):
            calls[callee] = calls.get(callee, 0) + int(line[6:].split()[0])
            pending = True
            continue
        if pending:
            parts = line.split()
            incl[callee] = incl.get(callee, 0) + (int(parts[1]) if len(parts) > 1 else 0)
            pending = False
    return total, calls, incl

def find(d, prefix):
    return sum(v for k, v in d.items() if k.startswith(prefix))

work = sys.argv[1]
for part, phase in ((1, "start-up"), (2, "idle"), (3, "change")):
    gui, others, frames, drawn, polls, poll_ir = 0, 0, 0, 0, 0, 0
    for path in glob.glob(os.path.join(work, "cg.out.%d-*" % part)):
        total, calls, incl = parse(path)
        if path.endswith("-01"):
            gui = total
            frames = find(calls, "ImGui::NewFrame()")
            drawn = find(calls, "ImGui_ImplSDLRenderer_RenderDrawData(")
        else:
            others += total
        n = find(calls, "VmPoller::poll(bool)")
        if n:
            polls += n
            poll_ir += find(incl, "VmPoller::poll(bool)")
    print("%-9s GUI thread %13s  other threads %12s  frames %3d, drawn %3d  polls %3d, %s Ir each" %
          (phase, format(gui, ","), format(others, ","), frames, drawn, polls,
           format(poll_ir // polls, ",") if polls else "-"))
EOF
echo "delays (wall time under callgrind): list shown ${ms_list} ms after start," \
     "running ${ms_run} ms after startvm, powered off ${ms_off} ms after poweroff"
