#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in for hutch-vm in vmctl's CLI tests (no KVM needed).

Takes hutch-vm's options, writes the state file as hutch-vm does
("running pid=N", then "poweroff"), and answers the control protocol of
docs/control-protocol.md on --control.  "acpipowerbutton" behaves like a
guest that powers off when it sees the button.

FAKE_VM_FAIL=1 makes it fail at start like hutch-vm without /dev/kvm.
--nic SPEC (repeatable, src/common/nic_spec.h) makes adapters that answer
"natpf N RULE", "natpf N delete NAME" and "setlinkstate N on|off" as
hutch-vm does (rules only on NAT adapters, names unique per adapter).
FAKE_VM_RECORD=DIR records, for a test to check what arrived, the command
line in DIR/<VM name>.args (one argument a line) and every request in
DIR/<VM name>.requests.
"screenshot" writes a 2x2 PNG into the descriptor passed with the request
(SCM_RIGHTS), as hutch-vm does; FAKE_VM_NO_DISPLAY=1 answers it as a VM
without a display.
"""
import array
import os
import socket
import struct
import sys
import time
import zlib


def tiny_png():
    """A 2x2 RGB PNG (red, green / blue, white), made by hand."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    rows = b"\0\xff\0\0\0\xff\0" + b"\0\0\0\xff\xff\xff\xff"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def requests(conn):
    """Yield (line, descriptor passed with it or None) as hutch-vm reads them."""
    buf = b""
    fd = None
    while True:
        data, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(4 * 4))
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(payload[:len(payload) - len(payload) % 4])
                for new in fds:
                    if fd is not None:
                        os.close(fd)
                    fd = new
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode().strip(), fd
            fd = None if line.strip() == b"screenshot" else fd


def spec_items(spec):
    """The key=value items of a --nic spec: split at single commas, ",," is a comma."""
    items, cur, i = [], "", 0
    while i < len(spec):
        if spec[i] == ",":
            if spec[i + 1:i + 2] == ",":
                cur += ","
                i += 2
                continue
            items.append(cur)
            cur = ""
        else:
            cur += spec[i]
        i += 1
    items.append(cur)
    return [tuple(it.split("=", 1)) for it in items]


def parse_nic(spec):
    nic = {"rules": {}, "cable": "on"}
    for key, val in spec_items(spec):
        if key == "fwd":
            nic["rules"][val.split(",")[0]] = val
        elif key in ("nic", "model", "net", "mac", "cable", "natnet", "tftp", "bootfile", "dnshost",
                     "bridge", "intnet"):
            nic[key] = val
        else:
            raise ValueError(f"--nic: unknown key '{key}'")
    for key in ("nic", "model", "net", "mac"):
        if key not in nic:
            raise ValueError(f"--nic: needs {key}=")
    return nic


def nic_request(nics, req):
    """natpf / setlinkstate: the answer hutch-vm gives."""
    words = req.split(" ", 2)
    if len(words) < 3:
        return f"error {words[0]}: expected an adapter number and an argument"
    nic = nics.get(words[1])
    if nic is None:
        return f"error {words[0]}: NIC {words[1]} does not exist in this VM"
    if words[0] == "setlinkstate":
        if words[2] not in ("on", "off"):
            return "error setlinkstate: expected on or off"
        nic["cable"] = words[2]
        return "ok"
    if nic["net"] != "nat":
        return f"error natpf: NIC {words[1]} is not attached to NAT"
    arg = words[2]
    if arg.startswith("delete "):
        name = arg[len("delete "):]
        if name not in nic["rules"]:
            return f"error natpf: NIC {words[1]} has no rule named '{name}'"
        del nic["rules"][name]
        return "ok"
    fields = arg.split(",")
    if len(fields) != 6 or fields[1] not in ("tcp", "udp") or not fields[3].isdigit():
        return f"error natpf: bad rule '{arg}'"
    if fields[0] in nic["rules"]:
        return f"error natpf: NIC {words[1]} already has a rule named '{fields[0]}'"
    if os.environ.get("FAKE_VM_PORT_TAKEN") == fields[3]:
        return f"error natpf: host port {fields[3]}/{fields[1]} is in use"
    nic["rules"][fields[0]] = arg
    return "ok"


def record(opts, kind, line):
    where = os.environ.get("FAKE_VM_RECORD")
    if where:
        with open(os.path.join(where, f"{opts.get('--name', 'vm')}.{kind}"), "a") as f:
            f.write(line + "\n")


def write_state(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def main():
    opts = {}
    nic_specs = []
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
        if a == "--nic":
            nic_specs.append(args[i + 1])
        opts[a] = args[i + 1]
        i += 2
    for required in ("--control", "--state-file", "--serial"):
        if required not in opts:
            print(f"hutch-vm: error: {required} missing", file=sys.stderr)
            return 2
    nics = {}
    for spec in nic_specs:
        try:
            nic = parse_nic(spec)
        except ValueError as err:
            print(f"hutch-vm: error: {err}", file=sys.stderr)
            return 2
        if nic["nic"] in nics:
            print(f"hutch-vm: error: --nic nic={nic['nic']} given twice", file=sys.stderr)
            return 2
        nics[nic["nic"]] = nic
    print("fake hutch-vm: " + " ".join(sys.argv[1:]), flush=True)
    for a in sys.argv[1:]:
        record(opts, "args", a)
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
        for req, fd in requests(conn):
            record(opts, "requests", req)
            if req.split(" ")[0] in ("natpf", "setlinkstate"):
                ans = nic_request(nics, req)
            elif req == "screenshot":
                if fd is None:
                    ans = "error screenshot: pass the file to write the PNG into with the request (SCM_RIGHTS)"
                elif os.environ.get("FAKE_VM_NO_DISPLAY"):
                    ans = "error screenshot: this VM has no display"
                else:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, tiny_png(), 0)
                    ans = "ok 2x2"
                if fd is not None:
                    os.close(fd)
            elif req.startswith("keyboardputstring "):
                # hutch-vm's answer for a character no US key types
                bad = [c for c in req[18:] if ord(c) > 0x7e]
                ans = f"error keyboardputstring: cannot type the byte 0x{ord(bad[0].encode()[:1]):02x}" \
                    if bad else "ok"
            elif req.startswith("keyboardputscancode "):
                ans = "ok"
            elif req == "status":
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
            conn.sendall((ans + "\n").encode())
            if off:
                break
        conn.close()
    srv.close()
    os.unlink(sock_path)
    write_state(state_file, "poweroff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
