#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Self-test of xwd2png.py: synthetic dumps in both byte orders, each pixel
checked after the round trip through PNG; bad input refused."""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "xwd2png.py")


def make_xwd(w, h, pixel, byte_order, name=b"win\0"):
    bpl = w * 4 + 8                      # padded lines, as X servers may write
    hdr_size = 100 + len(name)
    fields = [hdr_size, 7, 2, 24, w, h, 0, byte_order, 32, byte_order, 32, 32, bpl, 4,
              0xff0000, 0x00ff00, 0x0000ff, 8, 256, 1, w, h, 0, 0, 0]
    data = struct.pack(">25I", *fields) + name + b"\0" * 12   # one colormap entry
    endian = "little" if byte_order == 0 else "big"
    for y in range(h):
        line = b"".join(pixel(x, y).to_bytes(4, endian) for x in range(w))
        data += line + b"\xee" * 8
    return data


def read_png(path):
    d = open(path, "rb").read()
    assert d[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", d[16:24])
    i = d.index(b"IDAT")
    n = struct.unpack(">I", d[i - 4:i])[0]
    raw = zlib.decompress(d[i + 4:i + 4 + n])
    rows = [raw[y * (3 * w + 1) + 1:(y + 1) * (3 * w + 1)] for y in range(h)]
    return w, h, rows


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as t:
        def pixel(x, y):
            return (x * 17 & 0xff) << 16 | (y * 29 & 0xff) << 8 | ((x ^ y) & 0xff)
        for order in (0, 1):
            src, dst = os.path.join(t, "a.xwd"), os.path.join(t, "a.png")
            open(src, "wb").write(make_xwd(13, 7, pixel, order))
            subprocess.run([sys.executable, TOOL, src, dst], check=True)
            w, h, rows = read_png(dst)
            if (w, h) != (13, 7):
                print(f"FAIL order {order}: size {w}x{h}")
                failures += 1
                continue
            for y in range(h):
                for x in range(w):
                    p = pixel(x, y)
                    want = bytes([p >> 16, p >> 8 & 0xff, p & 0xff])
                    if rows[y][3 * x:3 * x + 3] != want:
                        print(f"FAIL order {order}: pixel {x},{y} {rows[y][3*x:3*x+3].hex()} != {want.hex()}")
                        failures += 1
        bad = os.path.join(t, "bad.xwd")
        open(bad, "wb").write(make_xwd(4, 4, lambda x, y: 0, 0)[:150])   # truncated
        r = subprocess.run([sys.executable, TOOL, bad, os.path.join(t, "b.png")],
                           capture_output=True, text=True)
        if r.returncode != 2 or "truncated" not in r.stderr:
            print(f"FAIL truncated dump: rc {r.returncode}, {r.stderr.strip()}")
            failures += 1
    print("xwd2png self-test:", "FAIL" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
