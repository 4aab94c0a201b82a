#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot benchmark: hutch-vm beside qemu-system-x86_64 -accel kvm.

Boots the same kernel and busybox initramfs (1 vCPU, 512 MiB, "quiet") under
each VMM, interleaved, for several rounds, and reports medians and ratios of:
  wall  - seconds from the VMM's start to the guest's first userspace line;
  cpu   - the VMM's own CPU seconds until then: utime + stime - guest_time
          from /proc/PID/stat (guest time is the guest's, not the VMM's);
  rss   - the VMM's resident memory outside guest RAM at that moment: the
          sum of smaps Rss over every mapping except guest RAM (mappings of
          at least the guest's RAM size).
Needs real KVM: run it through run-boot-bench.sh, which uses the sandbox
when /dev/kvm is missing.  A benchmark, not a test: it asserts nothing.
"""
import argparse
import os
import select
import statistics
import subprocess
import sys
import time

MARKER = b"HUTCH-BENCH-USERSPACE"


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime=14, stime=15, guest_time=43
    utime, stime, guest = int(fields[11]), int(fields[12]), int(fields[40])
    return (utime + stime - guest) / os.sysconf("SC_CLK_TCK")


def proc_rss_outside_ram(pid, ram_bytes):
    total_kb, size_kb = 0, 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            key = parts[0]
            if "-" in key and not key.endswith(":"):
                lo, hi = key.split("-")
                size_kb = (int(hi, 16) - int(lo, 16)) // 1024
            elif key == "Rss:" and size_kb * 1024 < ram_bytes:
                total_kb += int(parts[1])
    return total_kb / 1024.0


def wait_marker(p, marker, timeout):
    """Read @p's output until @marker shows: (True, output), or (False,
    output) when it exited or @timeout seconds passed first."""
    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if not r:
            if p.poll() is not None:
                break
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        if marker in buf:
            return True, buf
    return False, buf


def drain(p, seconds):
    """Read and drop @p's output for up to @seconds, or until it exits."""
    end = time.monotonic() + seconds
    while p.poll() is None and time.monotonic() < end:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r and not os.read(p.stdout.fileno(), 65536):
            break


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def run_once(cmd, ram_bytes, timeout):
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    result = None
    try:
        ok, buf = wait_marker(p, MARKER, timeout)
        if ok:
            result = (time.monotonic() - start, proc_cpu_seconds(p.pid),
                      proc_rss_outside_ram(p.pid, ram_bytes))
            drain(p, 60)   # let the guest power off by itself
    finally:
        stop(p)
    if result is None:
        sys.stderr.write(f"no userspace line from: {' '.join(cmd)}\n"
                         f"{buf[-2000:].decode(errors='replace')}\n")
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hutch-vm", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--memory", type=int, default=512)
    ap.add_argument("--timeout", type=int, default=240)
    a = ap.parse_args()

    append = "console=ttyS0 quiet"
    vmms = {
        "hutch": [a.hutch_vm, "--kernel", a.kernel, "--initrd", a.initrd,
                  "--append", append, "--memory", str(a.memory), "--cpus", "1",
                  "--serial", "stdio"],
        "qemu": ["qemu-system-x86_64", "-accel", "kvm", "-M", "pc", "-nodefaults",
                 "-cpu", "host", "-m", str(a.memory), "-smp", "1", "-display", "none",
                 "-serial", "stdio", "-no-reboot",
                 "-kernel", a.kernel, "-initrd", a.initrd, "-append", append],
    }
    results = {k: [] for k in vmms}
    for rnd in range(a.rounds):
        for name, cmd in vmms.items():
            r = run_once(cmd, a.memory << 20, a.timeout)
            if r:
                results[name].append(r)
                print(f"round {rnd + 1} {name:6s} wall {r[0]:6.2f} s  cpu {r[1]:6.2f} s  "
                      f"rss {r[2]:7.2f} MiB", flush=True)
    if not all(results.values()):
        print("benchmark incomplete: a VMM never reached userspace")
        return 1
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)]
           for k, v in results.items()}
    print()
    print(f"medians over {a.rounds} interleaved rounds (1 vCPU, {a.memory} MiB, quiet):")
    print(f"{'':8s}{'wall s':>10s}{'cpu s':>10s}{'rss MiB':>10s}")
    for k, (w, c, r) in med.items():
        print(f"{k:8s}{w:10.2f}{c:10.2f}{r:10.2f}")
    h, q = med["hutch"], med["qemu"]
    print(f"{'ratio':8s}{h[0] / q[0]:10.2f}{h[1] / q[1]:10.2f}{h[2] / q[2]:10.3f}"
          "   (hutch / qemu)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
