#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Self-tests of the network guest tests' host tools, no VM needed:
dnsserver.py answers A, NODATA and NXDOMAIN and drops malformed packets
(over a real socket on 127.0.0.1); netxfer.py moves a file with matching
checksums and fails cleanly when nobody listens; net_bench.py reads the
byte counts out of an iperf3 server's JSON stream."""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import net_bench  # noqa: E402


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def query(name, qtype, qid=0x1234):
    q = b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


class DnsServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port(socket.SOCK_DGRAM)
        cls.log = tempfile.NamedTemporaryFile(delete=False)
        cls.log.close()
        cls.p = subprocess.Popen([sys.executable, os.path.join(HERE, "dnsserver.py"), "--port",
                                  str(cls.port), "--log", cls.log.name, "Files.Hutch.Test=10.0.2.2"],
                                 stdout=subprocess.PIPE, text=True)
        assert "ready" in cls.p.stdout.readline()

    @classmethod
    def tearDownClass(cls):
        cls.p.kill()
        cls.p.wait()
        cls.p.stdout.close()
        os.unlink(cls.log.name)

    def ask(self, pkt):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1)
        s.sendto(pkt, ("127.0.0.1", self.port))
        try:
            return s.recv(4096)
        except socket.timeout:
            return None

    def test_a(self):
        r = self.ask(query("files.hutch.test", 1))
        qid, flags, qd, an = struct.unpack("!HHHH", r[:8])
        self.assertEqual((qid, flags & 0x800F, qd, an), (0x1234, 0x8000, 1, 1))
        self.assertEqual(r[-4:], socket.inet_aton("10.0.2.2"))

    def test_aaaa_nodata(self):
        r = self.ask(query("files.hutch.test", 28))
        flags, _, an = struct.unpack("!HHH", r[2:8])
        self.assertEqual((flags & 0xF, an), (0, 0))

    def test_nxdomain(self):
        r = self.ask(query("nope.hutch.test", 1))
        self.assertEqual(struct.unpack("!H", r[2:4])[0] & 0xF, 3)

    def test_malformed_dropped(self):
        for bad in (b"", b"\x12\x34", query("files.hutch.test", 1)[:-3],
                    query("files.hutch.test", 1)[:12] + b"\x40abc"):
            self.assertIsNone(self.ask(bad))
        self.assertIsNotNone(self.ask(query("files.hutch.test", 1)))   # still serving

    def test_log(self):
        self.ask(query("files.hutch.test", 1))
        time.sleep(0.1)
        with open(self.log.name) as f:
            self.assertIn("1 files.hutch.test 0", f.read())


class NetXfer(unittest.TestCase):
    def test_send_recv(self):
        tool = os.path.join(HERE, "netxfer.py")
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
            data = os.urandom(3 << 20)
            with open(src, "wb") as f:
                f.write(data)
            port = free_port()
            r = subprocess.Popen([sys.executable, tool, "recv", "--bind", "127.0.0.1", "--timeout", "30",
                                  str(port), dst], stdout=subprocess.PIPE, text=True)
            s = subprocess.run([sys.executable, tool, "send", "--timeout", "30", "127.0.0.1",
                                str(port), src], capture_output=True, text=True, check=True)
            out, _ = r.communicate(timeout=30)
            want = f"bytes={len(data)} sha256={hashlib.sha256(data).hexdigest()}"
            self.assertEqual(s.stdout.strip(), want)
            self.assertEqual(out.strip(), want)

    def test_get_refused(self):
        r = subprocess.run([sys.executable, os.path.join(HERE, "netxfer.py"), "get", "--timeout", "5",
                            f"http://127.0.0.1:{free_port()}/"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("netxfer.py get:", r.stderr)


class BenchJson(unittest.TestCase):
    def test_server_results(self):
        up = {"start": {"test_start": {"reverse": 0}},
              "end": {"sum_sent": {"bytes": 0, "seconds": 3.0},
                      "sum_received": {"bytes": 3000000, "seconds": 3.0}}}
        down = {"start": {"test_start": {"reverse": 1}},
                "end": {"sum_sent": {"bytes": 9000000, "seconds": 3.0},
                        "sum_received": {"bytes": 0, "seconds": 3.0}}}
        stopped = {"start": {"connected": []}, "intervals": [], "end": {},
                   "error": "interrupt - the server has terminated"}
        import json
        text = "\n".join(json.dumps(o, indent=1) for o in (up, down, stopped)) + "\n{ truncated"
        self.assertEqual(net_bench.server_results(text),
                         {"up": (3000000, 3.0), "down": (9000000, 3.0)})


if __name__ == "__main__":
    unittest.main()
