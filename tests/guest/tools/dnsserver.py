#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A tiny authoritative DNS server for the network guest tests (stdlib only).

    dnsserver.py [--bind 127.0.0.1] [--port 53] [--log FILE] NAME=A.B.C.D...

Answers UDP queries class IN: type A for a NAME given on the command line
with its address (TTL 60); any other type for such a name with no answer
(NOERROR, NODATA: busybox's nslookup asks for AAAA too); any other name with
NXDOMAIN.  Each query is logged as one line "QTYPE NAME RCODE" (flushed), so
a test can tell that the guest's question reached it through the VMM's NAT
(guest -> 10.0.2.3 -> the host's resolver from /etc/resolv.conf -> here).
Malformed packets are dropped.  It prints "dnsserver: ready PORT" once bound.
"""
import argparse
import socket
import struct
import sys

QTYPE_A = 1
QCLASS_IN = 1


def parse_question(msg):
    """(id, flags, qname, qtype, qclass, end of question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000 or qdcount != 1:    # a response, or not one question
        return None
    labels, i = [], 12
    while True:
        if i >= len(msg):
            return None
        n = msg[i]
        i += 1
        if n == 0:
            break
        if n & 0xC0 or i + n > len(msg):  # no compression in a question
            return None
        labels.append(msg[i:i + n].decode("ascii", "replace").lower())
        i += n
    if i + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack("!HH", msg[i:i + 4])
    return qid, flags, ".".join(labels), qtype, qclass, i + 4


def answer(msg, names):
    q = parse_question(msg)
    if q is None:
        return None, None
    qid, flags, name, qtype, qclass, end = q
    rd = flags & 0x0100
    addr = names.get(name.rstrip("."))
    rcode = 0 if addr is not None else 3          # NXDOMAIN
    answers = b""
    if addr is not None and qtype == QTYPE_A and qclass == QCLASS_IN:
        # A pointer to the name at offset 12, type A, class IN, TTL, 4 bytes.
        answers = struct.pack("!HHHIH", 0xC00C, QTYPE_A, QCLASS_IN, 60, 4) + socket.inet_aton(addr)
    ancount = 1 if answers else 0
    # QR, opcode 0, AA, RD copied, RA, rcode.
    rflags = 0x8000 | 0x0400 | rd | 0x0080 | rcode
    header = struct.pack("!HHHHHH", qid, rflags, 1, ancount, 0, 0)
    return header + msg[12:end] + answers, f"{qtype} {name} {rcode}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--log")
    ap.add_argument("names", nargs="+", help="NAME=A.B.C.D")
    a = ap.parse_args()
    names = {}
    for n in a.names:
        name, _, addr = n.partition("=")
        socket.inet_aton(addr)                    # refuses a bad address
        names[name.lower().rstrip(".")] = addr
    log = open(a.log, "a", buffering=1) if a.log else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    print(f"dnsserver: ready {s.getsockname()[1]}", flush=True)
    while True:
        msg, peer = s.recvfrom(4096)
        reply, what = answer(msg, names)
        if reply is None:
            continue
        if log:
            log.write(what + "\n")
        s.sendto(reply, peer)


if __name__ == "__main__":
    sys.exit(main())
