#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Notification benchmark: what ioeventfd/irqfd save hutch-vm, beside QEMU.

Boots the same kernel and busybox initramfs (1 vCPU, a raw virtio-blk
disk) under each VMM -- hutch-vm, hutch-vm --no-kvm-notify (every
notification a userspace exit, every interrupt a KVM_SIGNAL_MSI ioctl) and
qemu-system-x86_64 -accel kvm (virtio-blk-pci, ioeventfd on, its default)
-- interleaved, for several rounds.  In each boot the guest runs
`guest-io randbench`: O_DIRECT random 4 KiB writes, then reads, one request
at a time, for a fixed time each; then it sits idle (`sleep`, no output).
At each "HUTCH-PHASE begin/end" line the VMM's CPU time is read (its
threads' schedstat in ns; /proc/PID/stat's ticks as a fallback), and
reported:
  *_iops          - the guest's own count (requests per second);
  *_cpu_ms_per_1k - the VMM process's CPU milliseconds per 1,000 requests:
                    utime + stime of the whole process (its vCPU thread's
                    time in the guest included);
  *_own_ms_per_1k - the same without guest_time: the VMM's own work (exits
                    in KVM and in userspace, its I/O and event threads);
  idle_cpu_ms_per_s - utime + stime per second of the idle guest (its guest
                    time is next to nothing; subtracting it only adds the
                    noise of two tick counts).
Medians over the rounds, and ratios.  guest_time counts in clock ticks
(10 ms), so phases are seconds long.  Needs real KVM: run it through
run-notify-bench.sh, which uses the sandbox when /dev/kvm is missing.  A
benchmark, not a test: it asserts nothing.
"""
import argparse
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import time

PHASE = re.compile(rb"HUTCH-PHASE (begin|end) (\w+)(?: ops=(\d+))?")
BENCH = re.compile(rb"HUTCH-BENCH (\w+)=([0-9.]+)")


def proc_cpu_seconds(pid):
    """(CPU seconds, guest seconds) of the process.

    The CPU time is the sum of its threads' sum_exec_runtime from
    /proc/PID/task/*/schedstat (nanoseconds: exact where the clock-tick
    counts of /proc/PID/stat are 10 ms coarse); a thread that exited
    meanwhile is then missing, so where schedstat is absent, or the set of
    threads changed between two reads, /proc/PID/stat's utime + stime (dead threads included)
    is the fallback.  Guest time comes from /proc/PID/stat (ticks) only.
    """
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime=14, stime=15, guest_time=43
    utime, stime, guest = int(fields[11]), int(fields[12]), int(fields[40])
    hz = os.sysconf("SC_CLK_TCK")
    ticks = (utime + stime) / hz
    try:
        ns = 0
        tids = frozenset(os.listdir(f"/proc/{pid}/task"))
        for tid in tids:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
        return ns / 1e9, guest / hz, ticks, tids
    except (OSError, ValueError, IndexError):
        return ticks, guest / hz, ticks, None


def run_once(cmd, timeout):
    """One boot: {figure: value} from the phases, or None."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    buf, line = b"", b""
    begun = {}
    res = {}
    try:
        while time.monotonic() - start < timeout:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if not r:
                if p.poll() is not None:
                    break
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            line += chunk
            while b"\n" in line:
                one, line = line.split(b"\n", 1)
                m = PHASE.search(one)
                if m:
                    # Read the clock and the CPU first: the line is fresh.
                    now, cpu = time.monotonic(), proc_cpu_seconds(p.pid)
                    name = m.group(2).decode()
                    if m.group(1) == b"begin":
                        begun[name] = (now, cpu)
                    elif name in begun:
                        t0, c0 = begun[name]
                        used, guest = cpu[0] - c0[0], cpu[1] - c0[1]
                        # A thread gone between the two reads took its
                        # schedstat with it: trust the tick counts then.
                        if cpu[3] is None or cpu[3] != c0[3]:
                            used = cpu[2] - c0[2]
                        if m.group(3):
                            ops = int(m.group(3))
                            res[name + "_cpu_ms_per_1k"] = used * 1e6 / ops
                            res[name + "_own_ms_per_1k"] = (used - guest) * 1e6 / ops
                        else:
                            res[name + "_cpu_ms_per_s"] = used * 1e3 / (now - t0)
                m = BENCH.search(one)
                if m:
                    res[m.group(1).decode()] = float(m.group(2))
        end = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < end:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r and not os.read(p.stdout.fileno(), 65536):
                break
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    if "idle_cpu_ms_per_s" not in res:
        sys.stderr.write(f"incomplete run of: {' '.join(cmd)}\n"
                         f"{buf[-2000:].decode(errors='replace')}\n")
        return None
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hutch-vm", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--dir", required=True, help="writable directory for the disk images")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory", type=int, default=512)
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--secs", type=int, default=8, help="seconds per random phase")
    ap.add_argument("--idle", type=int, default=20, help="seconds of idle guest")
    ap.add_argument("--timeout", type=int, default=600)
    a = ap.parse_args()

    append = f"console=ttyS0 quiet panic=-1 bench_secs={a.secs} bench_idle={a.idle} bench_mib={a.mib}"
    img = os.path.join(a.dir, "notify-disk.raw")
    hutch = [a.hutch_vm, "--kernel", a.kernel, "--initrd", a.initrd, "--append", append,
             "--memory", str(a.memory), "--cpus", "1", "--serial", "stdio",
             "--drive", f"file={img},format=raw,if=virtio"]
    vmms = {"hutch": hutch}
    helptext = subprocess.run([a.hutch_vm, "--help"], capture_output=True, text=True).stdout
    if "--no-kvm-notify" in helptext:
        vmms["hutch-off"] = hutch + ["--no-kvm-notify"]
    else:
        print("hutch-vm has no --no-kvm-notify: the 'off' column is left out")
    if shutil.which("qemu-system-x86_64"):
        vmms["qemu"] = ["qemu-system-x86_64", "-accel", "kvm", "-M", "pc", "-nodefaults",
                        "-cpu", "host", "-m", str(a.memory), "-smp", "1", "-display", "none",
                        "-serial", "stdio", "-no-reboot",
                        "-kernel", a.kernel, "-initrd", a.initrd, "-append", append,
                        "-drive", f"file={img},format=raw,if=none,id=d0,cache=writeback",
                        "-device", "virtio-blk-pci,drive=d0"]
    figures = ["rand_write_iops", "rand_write_cpu_ms_per_1k", "rand_write_own_ms_per_1k",
               "rand_read_iops", "rand_read_cpu_ms_per_1k", "rand_read_own_ms_per_1k",
               "idle_cpu_ms_per_s"]
    results = {k: [] for k in vmms}
    for rnd in range(a.rounds):
        for name, cmd in vmms.items():
            with open(img, "wb") as f:          # a fresh sparse image each boot
                f.truncate((a.mib + 16) << 20)
            r = run_once(cmd, a.timeout)
            if r:
                results[name].append(r)
                print(f"round {rnd + 1} {name:9s} " +
                      "  ".join(f"{k} {r.get(k, float('nan')):.1f}" for k in figures), flush=True)
    os.unlink(img)
    if not all(results.values()):
        print("benchmark incomplete: a VMM never finished its phases")
        return 1
    med = {k: {f: statistics.median(x[f] for x in v if f in x) for f in figures}
           for k, v in results.items()}
    print()
    print(f"medians over {a.rounds} interleaved rounds (1 vCPU, raw virtio-blk, "
          f"{a.secs} s per random phase, {a.idle} s idle):")
    names = list(med)
    print(f"{'figure':26s}" + "".join(f"{n:>11s}" for n in names) +
          ("   off/hutch" if "hutch-off" in med else "") +
          ("  hutch/qemu" if "qemu" in med else ""))
    for f in figures:
        row = f"{f:26s}" + "".join(f"{med[n][f]:11.1f}" for n in names)
        if "hutch-off" in med:
            row += f"{med['hutch-off'][f] / med['hutch'][f]:12.2f}" if med["hutch"][f] else f"{'-':>12s}"
        if "qemu" in med:
            row += f"{med['hutch'][f] / med['qemu'][f]:12.2f}" if med["qemu"][f] else f"{'-':>12s}"
        print(row)
    print("(iops: higher is better; cpu and own: lower is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
