#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Where a frozen sandbox L1 is: asks QEMU's monitor, before the watchdog
kills it, for L1's CPU registers and local APIC a few times, and says
whether the CPU sat in L2 (an SVM guest) or in L1's own kernel, and where.

Usage: l1-state.py MONITOR_SOCKET KALLSYMS [SAMPLES]
       l1-state.py --key MONITOR_SOCKET   (presses and releases Shift on L1's
                                           PS/2 keyboard: an external interrupt,
                                           sandbox.sh's first rescue kick)
       l1-state.py --nmi MONITOR_SOCKET   (sends L1 an NMI: its second kick)

Prints the raw answers, then one summary line per sample: RIP, and the
L1 kernel function it falls in (or "outside L1's kernel text": L2, SeaBIOS
or user space), the interrupt flag, HLT, CR3, and L1's local APIC: its
timer and the vectors pending (IRR) and in service (ISR).  The APIC is
always L1's own (L2's APIC is KVM's software model inside L1), so a timer
vector pending for seconds while IF=1 means an interrupt TCG never
delivered; pending with IF=0 in an L1 function, a lock-up in L1's kernel.

KALLSYMS is L1's own /proc/kallsyms (its code symbols, modules included),
which L1's init copies to the results folder at boot: Debian ships no
System.map, and L1's kernel is randomised (KASLR).  The same kernel as an
L2 guest has another offset, so an L2 RIP rarely lands on an L1 symbol;
one that does names a random function (several samples that agree are
the evidence).
"""
import bisect
import re
import socket
import sys
import time


def hmp(sock_path, commands):
    """Runs HMP commands; returns their outputs."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    buf = b""

    def until_prompt():
        nonlocal buf
        while b"(qemu) " not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        out, _, buf = buf.partition(b"(qemu) ")
        return out.decode(errors="replace")

    until_prompt()  # the banner
    outs = []
    for c in commands:
        s.sendall(c.encode() + b"\n")
        out = until_prompt()
        # The monitor echoes the command line first.
        outs.append(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out))
    s.close()
    return outs


def load_symbols(kallsyms):
    """Sorted [(address, name)] of L1's code symbols; [] if unreadable."""
    syms = []
    try:
        with open(kallsyms) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    name = parts[2] + (" " + parts[3] if len(parts) > 3 else "")
                    syms.append((int(parts[0], 16), name))
    except (OSError, ValueError):
        return []
    syms.sort()
    return syms


def symbolize(rip, syms):
    if not syms:
        return "no L1 symbols"
    i = bisect.bisect_right([a for a, _ in syms], rip) - 1
    # Beyond 64 KiB past the nearest symbol is no function of L1's.
    if i < 0 or rip - syms[i][0] > 0x10000:
        return "not L1 kernel code"
    return "L1 %s+0x%x" % (syms[i][1], rip - syms[i][0])


def summarize(regs):
    rip = re.search(r"RIP=([0-9a-f]+)", regs)
    efl = re.search(r"RFL=([0-9a-f]+)", regs) or re.search(r"EFL=([0-9a-f]+)", regs)
    cr3 = re.search(r"CR3=([0-9a-f]+)", regs)
    hlt = re.search(r"HLT=(\d)", regs)
    return (int(rip.group(1), 16) if rip else None,
            int(efl.group(1), 16) if efl else None,
            cr3.group(1) if cr3 else "?",
            hlt.group(1) if hlt else "?")


def main():
    kicks = {"--nmi": ["nmi"], "--key": ["sendkey shift"]}
    if len(sys.argv) == 3 and sys.argv[1] in kicks:
        try:
            hmp(sys.argv[2], kicks[sys.argv[1]])
        except OSError as e:
            print("l1-state: QEMU's monitor did not answer: %s" % e)
            return 1
        return 0
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    sock_path, kallsyms = sys.argv[1:3]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    syms = load_symbols(kallsyms)
    lines = []
    for n in range(samples):
        try:
            regs, lapic = hmp(sock_path, ["info registers", "info lapic"])
        except OSError as e:
            print("l1-state: QEMU's monitor did not answer: %s" % e)
            return 1
        print("----- sample %d: info registers\n%s\n----- info lapic\n%s" % (n, regs, lapic))
        rip, efl, cr3, hlt = summarize(regs)
        if rip is None:
            lines.append("sample %d: registers not understood" % n)
            continue
        iflag = (efl >> 9) & 1 if efl is not None else "?"
        timer = re.search(r"Timer\s+(.*)", lapic)
        irr = re.search(r"IRR\s+(.*)", lapic)
        isr = re.search(r"ISR\s+(.*)", lapic)
        prio = re.search(r"TPR (\S+).*PPR (\S+)", lapic)
        lines.append("sample %d: RIP=%x (%s) IF=%s HLT=%s CR3=%s; APIC timer %s; IRR %s; ISR %s; TPR %s PPR %s" % (
            n, rip, symbolize(rip, syms), iflag, hlt, cr3,
            timer.group(1).strip() if timer else "?",
            irr.group(1).strip() if irr else "?",
            isr.group(1).strip() if isr else "?",
            prio.group(1) if prio else "?", prio.group(2) if prio else "?"))
        time.sleep(0.5)
    for line in lines:
        print("l1-state: " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
