#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host-side helpers of the network guest tests (python3 stdlib only).

    netxfer.py recv [--bind IP] [--timeout S] PORT OUT
        accept one TCP connection, write what arrives to OUT until the peer
        closes; print "bytes=N sha256=HEX"
    netxfer.py send [--timeout S] HOST PORT FILE
        connect (retrying while refused or unreachable, up to the timeout),
        send FILE, close; print "bytes=N sha256=HEX"
    netxfer.py get [--timeout S] URL
        an HTTP GET; the body on stdout; exit 1 (and a reason on stderr)
        when it fails
    netxfer.py hmp [--timeout S] SOCKET COMMAND
        one command on a QEMU human monitor (-monitor unix:SOCKET,server,
        nowait); its answer on stdout
Every command ends within its timeout (default 120 s) with status 1.
"""
import argparse
import hashlib
import socket
import sys
import time
import urllib.request


def recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(1)
    s.settimeout(a.timeout)
    c, _ = s.accept()
    c.settimeout(a.timeout)
    h, n = hashlib.sha256(), 0
    with open(a.out, "wb") as f:
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            f.write(b)
            h.update(b)
            n += len(b)
    print(f"bytes={n} sha256={h.hexdigest()}", flush=True)


def send(a):
    end = time.monotonic() + a.timeout
    while True:
        try:
            c = socket.create_connection((a.host, a.port), timeout=5)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)
    c.settimeout(a.timeout)
    h, n = hashlib.sha256(), 0
    with open(a.file, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                break
            c.sendall(b)
            h.update(b)
            n += len(b)
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):      # until the receiver closes: everything arrived
        pass
    c.close()
    print(f"bytes={n} sha256={h.hexdigest()}", flush=True)


def get(a):
    with urllib.request.urlopen(a.url, timeout=a.timeout) as r:
        sys.stdout.buffer.write(r.read())


def hmp(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    s.connect(a.socket)

    def until_prompt():
        buf = b""
        while not buf.endswith(b"(qemu) "):
            b = s.recv(4096)
            if not b:
                break
            buf += b
        return buf
    until_prompt()
    s.sendall(a.command.encode() + b"\n")
    out = until_prompt().decode(errors="replace").replace("\r", "")
    # The monitor echoes the command line first.
    lines = [line for line in out.split("\n") if line != "(qemu) " and a.command not in line]
    sys.stdout.write("\n".join(lines).strip() + ("\n" if lines else ""))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("recv")
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("port", type=int)
    p.add_argument("out")
    p = sub.add_parser("send")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("file")
    p = sub.add_parser("get")
    p.add_argument("url")
    p = sub.add_parser("hmp")
    p.add_argument("socket")
    p.add_argument("command")
    for p in sub.choices.values():
        p.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    try:
        {"recv": recv, "send": send, "get": get, "hmp": hmp}[a.cmd](a)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"netxfer.py {a.cmd}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
