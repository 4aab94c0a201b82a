#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Network benchmark: hutch-vm beside qemu-system-x86_64 -accel kvm.

TCP throughput with iperf3 between a guest and its host, guest to host
("up": the guest's iperf3 client sends) and host to guest ("down": -R),
through NAT (libslirp in both VMMs: the server on the host's 127.0.0.1,
reached from the guest as 10.0.2.2) and through a TAP device on a bridge
(the server in a peer network namespace on the bridge, 192.168.77.1; the
guest 192.168.77.10), for e1000 and virtio-net.  Every VM boots the same
kernel and initramfs (tests/guest/net-init.sh, role "bench"), 1 vCPU;
rounds interleave every VMM, NIC and path.  Reported, as medians and
hutch/qemu ratios:
  Mbit/s   - the iperf3 server's count of bytes moved over its test time;
  cpu s/GB - the VMM process's own CPU (utime + stime - guest_time from
             /proc/PID/stat: guest time is the guest's, not the VMM's)
             between the guest's "bench_begin" and "bench_end" lines, per
             10^9 bytes moved.
Runs inside network namespaces set up by run-net-bench.sh (which uses the
KVM sandbox when /dev/kvm is missing).  A benchmark: it asserts nothing.

hutch-vm's network adapter option is written in ONE place, hutch_nic_args():
the spec syntax of src/common/nic_spec.h.  hutch-vm is left out (QEMU only)
with --qemu-only, or when its --help does not mention --nic.
"""
import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import time

MAC = "52:54:00:12:34:56"
DIRS = ("up", "down")


def hutch_nic_args(model, path, bridge):
    """hutch-vm's --nic for MODEL (e1000|virtio) on PATH (nat|tap)."""
    spec = f"nic=1,model={model},mac={MAC.replace(':', '')}"
    if path == "nat":
        spec += ",net=nat"
    else:
        spec += f",net=bridged,bridge={bridge}"   # hutch-vm makes its TAP on the bridge
    return ["--nic", spec]


def qemu_nic_args(model, path, tap):
    if path == "nat":
        netdev = "user,id=n0"
    else:
        netdev = f"tap,id=n0,ifname={tap},script=no,downscript=no"
    # Modern-only virtio-net (1af4:1041), as Hutch's.
    dev = {"e1000": "e1000", "virtio": "virtio-net-pci,disable-legacy=on"}[model]
    return ["-netdev", netdev, "-device", f"{dev},netdev=n0,mac={MAC},romfile="]


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime=14, stime=15, guest_time=43
    utime, stime, guest = int(fields[11]), int(fields[12]), int(fields[40])
    return (utime + stime - guest) / os.sysconf("SC_CLK_TCK")


def json_objects(text):
    """The JSON objects iperf3 -s --json printed one after the other."""
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            return out
        out.append(obj)


def server_results(text):
    """{dir: (bytes, seconds)} from the server's per-test JSON, in order."""
    res = {}
    for obj in json_objects(text):
        # (The server's last object, when it is stopped, is an error.)
        ts = obj.get("start", {}).get("test_start")
        if ts is None or "error" in obj:
            continue
        s = obj.get("end", {}).get("sum_sent" if ts.get("reverse") else "sum_received")
        if s:
            res["down" if ts.get("reverse") else "up"] = (s["bytes"], s["seconds"])
    return res


def run_once(a, vmm, model, path, port):
    """One boot: {dir: (Mbit/s, cpu s per GB)} or None."""
    if path == "nat":
        server_cmd = ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port), "--json"]
        guest = f"hnet.server=10.0.2.2 hnet.port={port}"
    else:
        server_cmd = ["ip", "netns", "exec", a.peer_ns, "iperf3", "-s", "-B", a.peer_ip,
                      "-p", str(port), "--json"]
        guest = f"hnet.server={a.peer_ip} hnet.port={port} hnet.ip={a.guest_ip}/24"
    append = f"console=ttyS0 quiet panic=-1 hnet.role=bench hnet.secs={a.secs} {guest}"
    if vmm == "hutch":
        cmd = [a.hutch_vm, "--kernel", a.kernel, "--initrd", a.initrd, "--append", append,
               "--memory", str(a.memory), "--cpus", "1", "--serial", "stdio"]
        cmd += hutch_nic_args(model, path, a.bridge)
    else:
        cmd = ["qemu-system-x86_64", "-accel", "kvm", "-M", "pc", "-nodefaults", "-cpu", "host",
               "-m", str(a.memory), "-smp", "1", "-display", "none", "-serial", "stdio",
               "-no-reboot", "-kernel", a.kernel, "-initrd", a.initrd, "-append", append]
        cmd += qemu_nic_args(model, path, a.tap)
    slog = open(os.path.join(a.work, f"iperf3-server-{port}.json"), "w+")
    server = subprocess.Popen(server_cmd, stdout=slog, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    cpu, buf, ok = {}, b"", False
    end = time.monotonic() + a.timeout
    try:
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
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode(errors="replace").strip()
                if a.verbose:
                    print(f"    [{vmm} {model} {path}] {text}", flush=True)
                if "HUTCH-RESULT bench_begin=" in text:
                    cpu[text.split("=")[-1] + ".0"] = proc_cpu_seconds(p.pid)
                elif "HUTCH-RESULT bench_end=" in text:
                    d = text.split("bench_end=")[1].split()[0]
                    cpu[d + ".1"] = proc_cpu_seconds(p.pid)
                    if "bench_rc=0" not in text:
                        print(f"    {vmm} {model} {path}: iperf3 {d} failed", flush=True)
                elif "HUTCH-RESULT done=" in text:
                    ok = True
                elif "HUTCH-RESULT" in text and "failed" in text:
                    print(f"    {vmm} {model} {path}: {text}", flush=True)
            if ok:
                break
    finally:
        if p.poll() is None:
            try:
                p.wait(timeout=20)      # the guest powers off by itself
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # The server writes a test's JSON once the client has gone.
        for _ in range(50):
            slog.flush()
            with open(slog.name) as f:
                if len(server_results(f.read())) == len(DIRS):
                    break
            time.sleep(0.1)
        server.terminate()
        server.wait()
    slog.seek(0)
    moved = server_results(slog.read())
    slog.close()
    out = {}
    for d in DIRS:
        if d not in moved or f"{d}.0" not in cpu or f"{d}.1" not in cpu:
            continue
        nbytes, secs = moved[d]
        if nbytes <= 0 or secs <= 0:
            continue
        out[d] = (nbytes * 8 / secs / 1e6, (cpu[f"{d}.1"] - cpu[f"{d}.0"]) / (nbytes / 1e9))
    if len(out) != len(DIRS):
        sys.stderr.write(f"{vmm} {model} {path}: incomplete (moved {moved}, cpu {cpu})\n"
                         f"{buf[-1500:].decode(errors='replace')}\n")
        return None
    return out


def hutch_has_nic(path):
    try:
        h = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    except OSError:
        return False
    return "--nic" in h.stdout + h.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hutch-vm")
    ap.add_argument("--qemu-only", action="store_true")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5, help="iperf3 seconds per direction")
    ap.add_argument("--memory", type=int, default=512)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--paths", default="nat,tap")
    ap.add_argument("--models", default="e1000,virtio")
    ap.add_argument("--bridge", default="hutchbr0")
    ap.add_argument("--tap", default="htap0", help="QEMU's TAP device, already on the bridge")
    ap.add_argument("--peer-ns", required=True)
    ap.add_argument("--peer-ip", default="192.168.77.1")
    ap.add_argument("--guest-ip", default="192.168.77.10")
    ap.add_argument("--work", default=".")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()

    vmms = ["qemu"]
    if a.qemu_only:
        print("hutch-vm left out (--qemu-only)")
    elif not a.hutch_vm or not os.access(a.hutch_vm, os.X_OK):
        print(f"hutch-vm left out: no hutch-vm at {a.hutch_vm}")
    elif not hutch_has_nic(a.hutch_vm):
        print(f"hutch-vm left out: {a.hutch_vm} --help has no --nic yet")
    else:
        vmms = ["hutch", "qemu"]
    paths, models = a.paths.split(","), a.models.split(",")
    rows = [(p, m, d) for p in paths for m in models for d in DIRS]
    res = {(v, p, m, d): [] for v in vmms for (p, m, d) in rows}
    port = 5201
    for rnd in range(a.rounds):
        for p in paths:
            for m in models:
                for v in vmms:
                    port += 1
                    t0 = time.monotonic()
                    r = run_once(a, v, m, p, port)
                    if r is None:
                        continue
                    for d in DIRS:
                        res[(v, p, m, d)].append(r[d])
                    print(f"round {rnd + 1} {v:5s} {m:6s} {p:3s} " +
                          "  ".join(f"{d} {r[d][0]:8.1f} Mbit/s {r[d][1]:7.2f} cpu s/GB" for d in DIRS) +
                          f"  ({time.monotonic() - t0:.0f} s)", flush=True)

    def med(v, row, i):
        x = res[(v,) + row]
        return statistics.median(e[i] for e in x) if x else float("nan")

    print()
    print(f"medians over {a.rounds} interleaved rounds (iperf3 {a.secs} s per direction, "
          f"1 vCPU, {a.memory} MiB; up = guest to host, down = host to guest):")
    hdr = f"{'path':5s}{'nic':7s}{'dir':5s}"
    for v in vmms:
        hdr += f"{v + ' Mbit/s':>14s}"
    if "hutch" in vmms:
        hdr += f"{'ratio':>7s}"
    for v in vmms:
        hdr += f"{v + ' cpu s/GB':>16s}"
    if "hutch" in vmms:
        hdr += f"{'ratio':>7s}"
    print(hdr)
    for row in rows:
        line = f"{row[0]:5s}{row[1]:7s}{row[2]:5s}"
        for v in vmms:
            line += f"{med(v, row, 0):14.1f}"
        if "hutch" in vmms:
            line += f"{med('hutch', row, 0) / med('qemu', row, 0):7.2f}"
        for v in vmms:
            line += f"{med(v, row, 1):16.2f}"
        if "hutch" in vmms:
            line += f"{med('hutch', row, 1) / med('qemu', row, 1):7.2f}"
        print(line)
    if "hutch" in vmms:
        print("ratio = hutch / qemu (throughput: higher is better for hutch; cpu: lower)")
    missing = [k for k, v in res.items() if not v]
    if missing:
        print(f"incomplete: no result for {missing}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
