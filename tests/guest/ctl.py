#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Send control requests to a hutch-vm socket (docs/control-protocol.md).

Usage: ctl.py SOCKET REQUEST...   ("sleep:N" waits N seconds)
Prints "REQUEST -> RESPONSE" per request; exits 1 if any answer is not ok.
"""
import socket
import sys
import time

sock = socket.socket(socket.AF_UNIX)
sock.settimeout(30)
sock.connect(sys.argv[1])
f = sock.makefile("rw")
ok = True
for req in sys.argv[2:]:
    if req.startswith("sleep:"):
        time.sleep(float(req[6:]))
        continue
    f.write(req + "\n")
    f.flush()
    ans = f.readline().strip()
    print(f"{req} -> {ans}", flush=True)
    ok = ok and ans.startswith("ok")
sys.exit(0 if ok else 1)
