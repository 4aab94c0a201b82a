#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in for hutch-vm in vmctl's CLI tests (no KVM needed).

Takes hutch-vm's options, writes the state file as hutch-vm does
("running pid=N", then "poweroff"), and answers the control protocol of
docs/control-protocol.md on --control.  "acpipowerbutton" behaves like a
guest that powers off when it sees the button.

FAKE_VM_FAIL=1 makes it fail at start like hutch-vm without /dev/kvm.
"""
import os
import socket
import sys
import time


def write_state(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def main():
    opts = {}
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--no-reboot":
            opts[a] = True
            i += 1
            continue
        if not a.startswith("--") or i + 1 >= len(args):
            print(f"hutch-vm: error: bad option '{a}'", file=sys.stderr)
            return 2
        opts[a] = args[i + 1]
        i += 2
    for required in ("--kernel", "--control", "--state-file", "--serial"):
        if required not in opts:
            print(f"hutch-vm: error: {required} missing", file=sys.stderr)
            return 2
    print("fake hutch-vm: " + " ".join(sys.argv[1:]), flush=True)
    if os.environ.get("FAKE_VM_FAIL"):
        print("hutch-vm: error: /dev/kvm: No such file or directory", file=sys.stderr, flush=True)
        return 1
    serial = opts["--serial"]
    if serial.startswith("file:"):
        with open(serial[5:], "w") as f:
            f.write("fake guest console\n")
    state_file = opts["--state-file"]
    sock_path = opts["--control"]
    srv = socket.socket(socket.AF_UNIX)
    old = os.umask(0o177)
    srv.bind(sock_path)
    os.umask(old)
    srv.listen(4)
    # Like hutch-vm, the socket listens a moment before the state file says
    # running; startvm must wait for both.  (Requests queue until accept.)
    time.sleep(0.5)
    write_state(state_file, f"running pid={os.getpid()}")
    paused = False
    off = False
    while not off:
        conn, _ = srv.accept()
        f = conn.makefile("rw")
        for line in f:
            req = line.strip()
            if req == "status":
                ans = "ok paused" if paused else "ok running"
            elif req == "info":
                ans = (f"ok pid={os.getpid()} cpus={opts.get('--cpus')} "
                       f"memory={opts.get('--memory')} state={'paused' if paused else 'running'}")
            elif req == "pause":
                paused, ans = True, "ok"
            elif req == "resume":
                paused, ans = False, "ok"
            elif req in ("reset", "version"):
                ans = "ok" if req == "reset" else "ok fake"
            elif req in ("poweroff", "acpipowerbutton"):
                ans, off = "ok", True
            else:
                ans = f"error unknown request '{req.split(' ')[0]}'"
            f.write(ans + "\n")
            f.flush()
            if off:
                break
        conn.close()
    srv.close()
    os.unlink(sock_path)
    write_state(state_file, "poweroff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
