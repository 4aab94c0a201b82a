#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Firmware benchmark: hutch-vm beside qemu-system-x86_64 -accel kvm, both
booting SeaBIOS from the same disk image, with the same PC around it (an
AHCI disk, an empty IDE CD/DVD drive, a standard VGA with 16 MiB VRAM).

Per round and VMM, interleaved:
  boot  - seconds from the VMM's start to the guest's first userspace line
          (the disk's syslinux boots the kernel; the initramfs prints a marker
          and powers off), the VMM's own CPU seconds until then and its
          resident memory outside guest RAM and VRAM at that moment (the Rss
          of every mapping smaller than the VRAM; RAM and VRAM are larger);
  idle  - a second disk whose guest sets 1024x768x32 through the bochs DRM
          driver and idles: the VMM's own CPU per second of wall time over
          SECS seconds while a screenshot is taken every second (hutch-vm:
          the control socket's `screenshot`; QEMU: QMP `screendump` as PNG).
Needs real KVM: run it through run-firmware-bench.sh, which uses the
sandbox when /dev/kvm is missing.  A benchmark, not a test: it asserts
nothing.
"""
import argparse
import array
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from boot_bench import (drain, proc_cpu_seconds, proc_rss_outside_ram,  # noqa: E402
                        stop, wait_marker)

BOOT_MARKER = b"HUTCH-BENCH-USERSPACE"
IDLE_MARKER = b"HUTCH-BENCH-IDLE"
VRAM_MIB = 16


def hutch_cmd(a, disk, sock):
    return [a.hutch_vm, "--memory", str(a.memory), "--cpus", "1",
            "--drive", f"file={disk},format=raw,if=sata",
            "--drive", "media=cdrom,if=ide",
            "--vga", "std", "--vram", str(VRAM_MIB), "--boot", "disk",
            "--serial", "stdio", "--control", sock]


def qemu_cmd(a, disk, sock):
    return ["qemu-system-x86_64", "-accel", "kvm", "-M", "pc", "-nodefaults",
            "-cpu", "host", "-m", str(a.memory), "-smp", "1", "-display", "none",
            "-serial", "stdio", "-no-reboot", "-vga", "std",
            "-global", f"VGA.vgamem_mb={VRAM_MIB}",
            "-device", "ahci,id=ahci",
            "-drive", f"file={disk},format=raw,if=none,id=d0",
            "-device", "ide-hd,drive=d0,bus=ahci.0,bootindex=0",
            "-drive", "if=ide,media=cdrom",
            "-qmp", f"unix:{sock},server=on,wait=off"]


def hutch_screenshot(sock_path, out):
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(sock_path)
            s.sendmsg([b"screenshot\n"],
                      [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
            reply = s.makefile().readline()
    finally:
        os.close(fd)
    return reply.startswith("ok")


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(100):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        self.f = self.s.makefile("rw")
        self.f.readline()                       # the greeting
        self.call("qmp_capabilities")

    def call(self, cmd, **args):
        self.f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r or "error" in r:
                return r

    def close(self):
        self.s.close()


def run_boot(name, cmd, a):
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        ok, buf = wait_marker(p, BOOT_MARKER, a.timeout)
        if not ok:
            sys.stderr.write(f"{name}: no userspace line\n{buf[-2000:].decode(errors='replace')}\n")
            return None
        res = (time.monotonic() - start, proc_cpu_seconds(p.pid),
               proc_rss_outside_ram(p.pid, VRAM_MIB << 20))
        drain(p, 30)
        return res
    finally:
        stop(p)


def run_idle(name, cmd, sock, a, tmp):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    qmp = None
    try:
        ok, buf = wait_marker(p, IDLE_MARKER, a.timeout)
        if not ok:
            sys.stderr.write(f"{name}: the idle guest never came up\n"
                             f"{buf[-2000:].decode(errors='replace')}\n")
            return None
        if name == "qemu":
            qmp = Qmp(sock)
        drain(p, 3)                             # let the guest settle
        shot = os.path.join(tmp, f"{name}.png")
        cpu0, t0 = proc_cpu_seconds(p.pid), time.monotonic()
        shots = 0
        for i in range(a.idle):
            if name == "qemu":
                r = qmp.call("screendump", filename=shot, format="png")
                shots += "return" in r
            else:
                shots += hutch_screenshot(sock, shot)
            drain(p, t0 + i + 1 - time.monotonic())
        cpu = proc_cpu_seconds(p.pid) - cpu0
        wall = time.monotonic() - t0
        if shots != a.idle:
            sys.stderr.write(f"{name}: only {shots} of {a.idle} screenshots succeeded\n")
            return None
        return cpu / wall * 1000.0
    finally:
        if qmp:
            qmp.close()
        stop(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hutch-vm", required=True)
    ap.add_argument("--boot-disk", required=True)
    ap.add_argument("--idle-disk", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--idle", type=int, default=20, help="seconds of idle measurement")
    ap.add_argument("--memory", type=int, default=512)
    ap.add_argument("--timeout", type=int, default=240)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="fw-bench-")
    vmms = {"hutch": hutch_cmd, "qemu": qemu_cmd}
    boots = {k: [] for k in vmms}
    idles = {k: [] for k in vmms}
    for rnd in range(a.rounds):
        for name, mk in vmms.items():
            sock = os.path.join(tmp, f"{name}.sock")
            disk = os.path.join(tmp, "boot.img")
            subprocess.run(["cp", a.boot_disk, disk], check=True)
            r = run_boot(name, mk(a, disk, sock), a)
            if r:
                boots[name].append(r)
            disk = os.path.join(tmp, "idle.img")
            subprocess.run(["cp", a.idle_disk, disk], check=True)
            i = run_idle(name, mk(a, disk, sock), sock, a, tmp)
            if i is not None:
                idles[name].append(i)
            if r and i is not None:
                print(f"round {rnd + 1} {name:6s} boot {r[0]:6.2f} s  cpu {r[1]:6.2f} s  "
                      f"rss {r[2]:7.2f} MiB  idle+screenshots {i:7.1f} ms/s", flush=True)
    if not all(boots.values()) or not all(idles.values()):
        print("benchmark incomplete: a VMM failed a phase (see above)")
        return 1
    med = {k: [statistics.median(x[i] for x in boots[k]) for i in range(3)] +
           [statistics.median(idles[k])] for k in vmms}
    print()
    print(f"medians over {a.rounds} interleaved rounds (SeaBIOS from an AHCI disk, "
          f"1 vCPU, {a.memory} MiB, VGA {VRAM_MIB} MiB):")
    print(f"{'':8s}{'boot s':>10s}{'cpu s':>10s}{'rss MiB':>10s}{'idle ms/s':>12s}")
    for k, (w, c, r, i) in med.items():
        print(f"{k:8s}{w:10.2f}{c:10.2f}{r:10.2f}{i:12.1f}")
    h, q = med["hutch"], med["qemu"]
    print(f"{'ratio':8s}{h[0] / q[0]:10.2f}{h[1] / q[1]:10.2f}{h[2] / q[2]:10.3f}"
          f"{h[3] / q[3]:12.2f}   (hutch / qemu)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
