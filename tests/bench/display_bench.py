#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Display benchmark: hutch-vm's window (--display sdl) beside QEMU's
(-display sdl), the same guest, on one Xvfb screen, interleaved rounds.

The guest (run-display-bench.sh builds its disk) sets a 1024x768x32 Bochs
VBE mode, draws a picture once and says HUTCH-BENCH idle; after IDLE
seconds it says HUTCH-BENCH busy and redraws every pixel, frame after
frame, for BUSY seconds, then reports the frames it drew and powers off.
Each phase is measured away from its edges (1 s in from each end).

Frames are counted the same way for both, outside both: the X DAMAGE
extension on the VMM's window (libXdamage through ctypes, level
RawRectangles).  Every request that draws into the window damages it; a
damage report's last rectangle has more=False, so a frame (one present,
whatever its rectangles) counts once.  Neither window goes through
OpenGL: QEMU's uses SDL's software renderer (SDL_RENDER_DRIVER=software
SDL_FRAMEBUFFER_ACCELERATION=0), whose present is one image put of the
whole window; hutch-vm's puts each changed rectangle of a present on its
own (SDL_UpdateWindowSurfaceRects), each a report here, so its count is
an upper bound of its presents.

CPU: utime + stime of the VMM process's threads from /proc/PID/task, in
two sums: all of them, and "own" = all but the vCPU threads (hutch-vm's
vcpuN, QEMU's "CPU N/KVM"), i.e. what the VMM spends beside running the
guest: the display, the event loop, the I/O.  And the X server's (Xvfb,
--xserver-pid), which copies every presented image into its screen: the
other part of a window frame's cost (in the sandbox, L1's one vCPU serves
the guest, the VMM and the X server alike).
"""
import argparse
import ctypes
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
MEMORY_MIB = 512
VRAM_MIB = 16


class XDamageCounter:
    """Counts damage reports on one X window (see the module's comment)."""

    def __init__(self, display, window):
        self.x11 = ctypes.CDLL("libX11.so.6")
        self.xd = ctypes.CDLL("libXdamage.so.1")
        self.x11.XOpenDisplay.restype = ctypes.c_void_p
        self.x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x11.XPending.argtypes = [ctypes.c_void_p]
        self.x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.x11.XConnectionNumber.argtypes = [ctypes.c_void_p]
        self.x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.xd.XDamageQueryExtension.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                                                  ctypes.POINTER(ctypes.c_int)]
        self.xd.XDamageCreate.restype = ctypes.c_ulong
        self.xd.XDamageCreate.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int]
        self.dpy = self.x11.XOpenDisplay(display.encode())
        if not self.dpy:
            sys.exit(f"display_bench: cannot open display {display}")
        ev, err = ctypes.c_int(), ctypes.c_int()
        if not self.xd.XDamageQueryExtension(self.dpy, ctypes.byref(ev), ctypes.byref(err)):
            sys.exit("display_bench: the X server has no DAMAGE extension")
        self.notify = ev.value   # XDamageNotify is event 0 of the extension
        self.xd.XDamageCreate(self.dpy, window, 0)   # XDamageReportRawRectangles
        self.x11.XSync(self.dpy, 0)
        self.fd = self.x11.XConnectionNumber(self.dpy)
        self.buf = ctypes.create_string_buffer(192)   # sizeof(XEvent)

    def count(self, seconds):
        """Frames (damage reports) over the next @seconds."""
        self.drain()
        frames = 0
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return frames
            while self.x11.XPending(self.dpy):
                self.x11.XNextEvent(self.dpy, self.buf)
                kind = int.from_bytes(self.buf.raw[0:4], "little")
                more = int.from_bytes(self.buf.raw[52:56], "little")   # XDamageNotifyEvent.more
                if kind == self.notify and not more:
                    frames += 1
            select.select([self.fd], [], [], min(left, 0.05))

    def drain(self):
        while self.x11.XPending(self.dpy):
            self.x11.XNextEvent(self.dpy, self.buf)

    def close(self):
        self.x11.XCloseDisplay(self.dpy)


def cpu_ticks(pid, vcpu_names):
    """(all threads, all but the vCPUs) in clock ticks."""
    total = own = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        t = int(fields[11]) + int(fields[12])   # utime, stime
        total += t
        if not vcpu_names(comm):
            own += t
    return total, own


def hutch_cmd(a, serial):
    return [a.hutch_vm, "--name", "bench", "--memory", str(MEMORY_MIB), "--cpus", "1",
            "--drive", f"file={a.disk},format=raw,if=sata,readonly=on", "--vga", "std",
            "--vram", str(VRAM_MIB), "--boot", "disk", "--display", "sdl",
            "--serial", f"file:{serial}"]


def qemu_cmd(a, serial):
    # debug-threads: QEMU names its vCPU thread "CPU 0/KVM" (else every
    # thread is "qemu-system-x86", and its own CPU would be the whole).
    return ["qemu-system-x86_64", "-accel", "kvm", "-M", "pc", "-nodefaults", "-cpu", "host",
            "-m", str(MEMORY_MIB), "-smp", "1", "-name", "bench-qemu,debug-threads=on",
            "-display", "sdl",
            "-vga", "std", "-global", f"VGA.vgamem_mb={VRAM_MIB}",
            "-device", "ahci,id=ahci",
            "-drive", f"file={a.disk},format=raw,if=none,id=d0,snapshot=on",
            "-device", "ide-hd,drive=d0,bus=ahci.0,bootindex=0",
            "-serial", f"file:{serial}", "-no-reboot"]


VMMS = {
    "hutch": (hutch_cmd, "^bench \\[", lambda c: c.startswith("vcpu")),
    "qemu": (qemu_cmd, "bench-qemu", lambda c: c.startswith("CPU ") and c.endswith("/KVM")),
}


def find_line(path, word):
    """The first whole line of @path with @word: a line the UART is still
    writing ("frames=1" of "frames=112") does not count yet."""
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if word in line and line.endswith("\n"):
                    return line.strip()
    except OSError:
        pass
    return None


def wait_line(path, word, timeout, proc):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        exited = proc.poll() is not None   # before reading: its last line is in the file by then
        line = find_line(path, word)
        if line:
            return line
        if exited:
            sys.exit(f"display_bench: the VMM exited ({proc.returncode}) before '{word}'")
        time.sleep(0.05)
    sys.exit(f"display_bench: no '{word}' within {timeout}s")


def find_window(pattern, timeout=30):
    out = subprocess.run(["timeout", str(timeout), "xdotool", "search", "--sync", "--name", pattern],
                         capture_output=True, text=True).stdout.split()
    if not out:
        sys.exit(f"display_bench: no window named like '{pattern}'")
    return int(out[0])


def phase(counter, pid, vcpu, xserver, seconds):
    """fps, CPU % of one core (all threads), CPU % (the VMM's own), CPU % of
    the X server (@xserver's pid, or 0: not measured)."""
    t0 = time.monotonic()
    c0 = cpu_ticks(pid, vcpu)
    x0 = cpu_ticks(xserver, lambda c: False)[0] if xserver else 0
    frames = counter.count(seconds)
    c1 = cpu_ticks(pid, vcpu)
    x1 = cpu_ticks(xserver, lambda c: False)[0] if xserver else 0
    dt = time.monotonic() - t0
    return (frames / dt, 100.0 * (c1[0] - c0[0]) / CLK_TCK / dt,
            100.0 * (c1[1] - c0[1]) / CLK_TCK / dt, 100.0 * (x1 - x0) / CLK_TCK / dt)


def stop(proc, log):
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def one_round(a, name, r, tmp):
    cmd, pattern, vcpu = VMMS[name]
    # The serial file and the VMM's output stay in --dir (in the sandbox: on
    # its writable share, which outlives L1); QEMU's snapshot overlay goes
    # to tmp (the sandbox's /var/tmp is read-only, its /tmp a fast tmpfs).
    serial = os.path.join(a.dir, f"r{r + 1}-{name}.serial")
    open(serial, "w").close()
    env = dict(os.environ, SDL_RENDER_DRIVER="software", SDL_FRAMEBUFFER_ACCELERATION="0",
               TMPDIR=tmp)
    log = open(os.path.join(a.dir, f"r{r + 1}-{name}.log"), "w")
    proc = subprocess.Popen(cmd(a, serial), stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)
    try:
        win = find_window(pattern)
        counter = XDamageCounter(os.environ["DISPLAY"], win)
        wait_line(serial, "HUTCH-BENCH idle", 300, proc)
        if find_line(serial, "vbe-draw failed"):
            sys.exit("display_bench: the guest's vbe-draw failed: no picture to measure")
        time.sleep(1)
        idle = phase(counter, proc.pid, vcpu, a.xserver_pid, a.idle - 2)
        wait_line(serial, "HUTCH-BENCH busy", a.idle + 30, proc)
        time.sleep(1)
        busy = phase(counter, proc.pid, vcpu, a.xserver_pid, a.busy - 2)
        drawn = wait_line(serial, "frames=", a.busy + 30, proc)
        counter.close()
        guest_fps = int(drawn.split("frames=")[1].split()[0]) / a.busy
    except SystemExit:
        stop(proc, log)   # its last words in the files first
        for what, path in (("serial", serial), ("output", log.name)):
            with open(path, errors="replace") as f:
                print(f"display_bench: {name}'s {what} ({path}), its end:\n{f.read()[-2000:]}",
                      file=sys.stderr)
        raise
    finally:
        stop(proc, log)   # (a second time after a failure: harmless)
    return idle, busy, guest_fps


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hutch-vm", required=True)
    p.add_argument("--disk", required=True)
    p.add_argument("--dir", required=True, help="where each round's serial file and VMM output stay")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--xserver-pid", type=int, default=0,
                   help="the X server's pid: its CPU is measured beside the VMM's")
    p.add_argument("--idle", type=int, default=10, help="seconds of the idle phase")
    p.add_argument("--busy", type=int, default=10, help="seconds of the redrawing phase")
    a = p.parse_args()
    results = {n: [] for n in VMMS}
    os.makedirs(a.dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="display-bench.") as tmp:
        for r in range(a.rounds):
            for name in (VMMS if r % 2 == 0 else reversed(list(VMMS))):
                res = one_round(a, name, r, tmp)
                results[name].append(res)
                (ifps, icpu, iown, ix), (bfps, bcpu, bown, bx), gfps = res
                print(f"round {r + 1} {name:5}: idle {ifps:6.1f} fps cpu {icpu:6.1f}% own {iown:6.1f}%"
                      f" X {ix:5.1f}% | busy {bfps:6.1f} fps cpu {bcpu:6.1f}% own {bown:6.1f}%"
                      f" X {bx:5.1f}% | guest drew {gfps:6.1f} fps", flush=True)

    def med(name, ph, i):
        return statistics.median(r[ph][i] if ph < 2 else r[ph] for r in results[name])

    print(f"\nmedians of {a.rounds} rounds (CPU in % of one core; own = without the vCPU threads)")
    print(f"{'':28}{'hutch-vm':>10}{'qemu':>10}{'hutch/qemu':>12}")
    rows = [("idle: window fps", 0, 0), ("idle: CPU, whole process", 0, 1),
            ("idle: CPU, VMM's own", 0, 2), ("idle: CPU, X server", 0, 3),
            ("busy: window fps", 1, 0), ("busy: CPU, whole process", 1, 1),
            ("busy: CPU, VMM's own", 1, 2), ("busy: CPU, X server", 1, 3)]
    for label, ph, i in rows:
        h, q = med("hutch", ph, i), med("qemu", ph, i)
        ratio = f"{h / q:12.2f}" if q else f"{'-':>12}"
        print(f"{label:28}{h:10.1f}{q:10.1f}{ratio}")
    h, q = med("hutch", 2, 0), med("qemu", 2, 0)
    print(f"{'busy: guest frames drawn/s':28}{h:10.1f}{q:10.1f}{h / q if q else 0:12.2f}")


if __name__ == "__main__":
    main()
