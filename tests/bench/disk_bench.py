#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Disk benchmark: hutch-vm beside QEMU, interleaved rounds, medians.

For each round, for virtio-blk and AHCI, each with a raw and a qcow2
image, boots the same guest (run-disk-bench.sh builds it) under hutch-vm
and under qemu-system-x86_64 -accel kvm (cache=writeback, like Hutch's
default host cache), fresh images each boot.  The guest runs
`guest-io bench`: O_DIRECT sequential 1 MiB writes and reads, random 4 KiB
writes and reads one at a time, and random 4 KiB reads 32 in flight.  At
each "HUTCH-PHASE begin/end" line the VMM's CPU time is read (as
notify_bench.py does: the threads' schedstat), giving per phase:
  *_cpu_s_per_gb  - the VMM process's CPU seconds per GiB moved (its vCPU
                    thread's time in the guest included);
  *_own_s_per_gb  - the same without guest_time: the VMM's own work.
Rounds interleave (round 1 of every row, then round 2, ...) so that a
noisy minute of the host hits one round of every row, not every round of
one; the table shows medians.  A benchmark, not a test: nothing is
asserted.
"""
import argparse
import os
import re
import select
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from notify_bench import proc_cpu_seconds  # noqa: E402

PHASE = re.compile(rb"HUTCH-PHASE (begin|end) (\w+)(?: bytes=(\d+))?")
BENCH = re.compile(rb"HUTCH-BENCH (\w+)=([0-9.]+)")
GIB = 1 << 30


def run_once(cmd, timeout):
    """One boot: {figure: value}, or None if the guest did not finish."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    buf, line, begun, res = b"", b"", {}, {}
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
            buf = (buf + chunk)[-8192:]
            line += chunk
            while b"\n" in line:
                one, line = line.split(b"\n", 1)
                m = PHASE.search(one)
                if m:
                    cpu = proc_cpu_seconds(p.pid)
                    name = m.group(2).decode()
                    if m.group(1) == b"begin":
                        begun[name] = cpu
                    elif name in begun and m.group(3):
                        c0 = begun[name]
                        used, guest = cpu[0] - c0[0], cpu[1] - c0[1]
                        if cpu[3] is None or cpu[3] != c0[3]:
                            used = cpu[2] - c0[2]
                        gib = int(m.group(3)) / GIB
                        res[name + "_cpu_s_per_gb"] = used / gib
                        res[name + "_own_s_per_gb"] = max(used - guest, 0.0) / gib
                m = BENCH.search(one)
                if m:
                    res[m.group(1).decode()] = float(m.group(2))
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    if "rand_read_qd32_iops" not in res:
        sys.stderr.write(f"incomplete run of: {' '.join(cmd)}\n"
                         f"{buf[-2000:].decode(errors='replace')}\n")
        return None
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hutch-vm", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--dir", required=True,
                    help="writable directory for the disk images (created if missing)")
    ap.add_argument("--rows", default="",
                    help="only these rows, e.g. virtio:qcow2,sata:raw (default: all four)")
    ap.add_argument("--mib", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--hutch-drive-opts", default="",
                    help="extra --drive keys for hutch-vm (e.g. ,hostcache=off)")
    a = ap.parse_args()
    append = "console=ttyS0 quiet panic=-1"
    figures = ["seq_write_mbs", "seq_read_mbs", "rand_write_iops", "rand_read_iops",
               "rand_read_qd32_iops", "seq_write_cpu_s_per_gb", "seq_read_cpu_s_per_gb",
               "seq_write_own_s_per_gb", "seq_read_own_s_per_gb"]
    os.makedirs(a.dir, exist_ok=True)
    rows = [(bus, fmt) for bus in ("virtio", "sata") for fmt in ("raw", "qcow2")]
    if a.rows:
        want = [tuple(r.split(":")) for r in a.rows.split(",")]
        bad = [r for r in want if r not in rows]
        if bad:
            ap.error(f"--rows: unknown {bad}; rows are bus:format, bus virtio|sata, format raw|qcow2")
        rows = want
    results = {}
    for rnd in range(a.rounds):
        for bus, fmt in rows:
            for vmm in ("hutch", "qemu"):
                img = os.path.join(a.dir, f"disk.{fmt}")
                if os.path.exists(img):
                    os.unlink(img)
                subprocess.run(["qemu-img", "create", "-q", "-f", fmt, img, f"{a.mib + 16}M"],
                               check=True)
                if vmm == "hutch":
                    cmd = [a.hutch_vm, "--kernel", a.kernel, "--initrd", a.initrd,
                           "--append", append, "--memory", "512",
                           "--drive", f"file={img},format={fmt},if={bus}{a.hutch_drive_opts}"]
                else:
                    dev = ["-device", "virtio-blk-pci,drive=d0"] if bus == "virtio" else \
                          ["-device", "ich9-ahci,id=ahci", "-device", "ide-hd,drive=d0,bus=ahci.0"]
                    cmd = ["qemu-system-x86_64", "-accel", "kvm", "-M", "pc", "-nodefaults",
                           "-cpu", "host", "-m", "512", "-display", "none", "-serial", "stdio",
                           "-kernel", a.kernel, "-initrd", a.initrd, "-append", append,
                           "-drive", f"file={img},format={fmt},if=none,id=d0,cache=writeback"] + dev
                r = run_once(cmd, a.timeout)
                if r:
                    results.setdefault((bus, fmt, vmm), []).append(r)
                    print(f"round {rnd + 1} {vmm:5s} {bus:6s} {fmt:5s} " +
                          " ".join(f"{k}={r.get(k, float('nan')):.1f}" for k in figures[:5]),
                          flush=True)
    print()
    print(f"medians over {a.rounds} interleaved rounds, {a.mib} MiB disk "
          "(MB/s, IOPS: higher is better; CPU s/GiB: lower is better)")
    print("%-7s %-6s %-24s %10s %10s %7s" % ("bus", "format", "figure", "hutch", "qemu", "ratio"))
    for bus, fmt in rows:
        for f in figures:
            med = {}
            for vmm in ("hutch", "qemu"):
                vals = [x[f] for x in results.get((bus, fmt, vmm), []) if f in x]
                med[vmm] = statistics.median(vals) if vals else None
            h, q = med["hutch"], med["qemu"]
            ratio = "%.2f" % (h / q) if h is not None and q else "-"
            print("%-7s %-6s %-24s %10s %10s %7s" % (
                bus, fmt, f, "-" if h is None else "%.2f" % h, "-" if q is None else "%.2f" % q,
                ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
