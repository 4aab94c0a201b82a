#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""screencheck.py against screens drawn here, independently of it: a text
screen drawn from a made-up font passes, one wrong pixel, a wrong size, a
missing string or an empty screen fail; a graphics pattern passes and
fails the same way.  The PNGs are written by screencheck's encoder
(filter 0) and by zlib-compressed rows with every PNG filter type, so the
decoder's filters are checked too."""
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from screencheck import decode_png, encode_png, Picture  # noqa: E402

TOOL = os.path.join(HERE, "screencheck.py")
COLS, ROWS, CW, CH = 10, 3, 9, 16
PALETTE = [0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA, 0xAA5500, 0xAAAAAA,
           0x555555, 0x5555FF, 0x55FF55, 0x55FFFF, 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF]
failures = 0


def run(*args):
    p = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def expect(what, status, args):
    global failures
    got, out = run(*args)
    if got != status:
        failures += 1
        print(f"FAIL: {what}: exit {got}, expected {status}\n{out}")
    else:
        print(f"ok: {what}")


rnd = random.Random(11)
font = [bytes(rnd.randrange(256) for _ in range(CH)) for _ in range(256)]
font[0x20] = bytes(CH)
text = ["HELLO  ", "hutch vga", ""]
cells = [[(0x20, 0x07)] * COLS for _ in range(ROWS)]
for r, t in enumerate(text):
    for c, ch in enumerate(t):
        cells[r][c] = (ord(ch), 0x1F if r == 1 else 0x07)
cells[2][0] = (0xC4, 0x0E)   # a line-drawing character: its 9th column is skipped
cells[2][9] = (0x41, 0x9C)   # blink bit set: the background stays colour 1


class Canvas:
    def __init__(self, w, h):
        self.size = (w, h)
        self.px = bytearray(w * h * 3)

    def put(self, x, y, v):
        i = 3 * (y * self.size[0] + x)
        self.px[i:i + 3] = bytes((v >> 16, (v >> 8) & 255, v & 255))

    def copy(self):
        c = Canvas(*self.size)
        c.px[:] = self.px
        return c

    def save(self, path):
        with open(path, "wb") as f:
            f.write(encode_png(Picture(self.size[0], self.size[1], bytes(self.px))))


def draw():
    img = Canvas(COLS * CW, ROWS * CH)
    for r in range(ROWS):
        for c in range(COLS):
            ch, attr = cells[r][c]
            fg, bg = PALETTE[attr & 15], PALETTE[(attr >> 4) & 7]
            for y in range(CH):
                for x in range(CW):
                    on = x < 8 and font[ch][y] & (0x80 >> x)
                    if x == 8 and 0xC0 <= ch <= 0xDF:
                        on = font[ch][y] & 1      # line graphics: copies the 8th
                    v = fg if on else bg
                    img.put(c * CW + x, r * CH + y, v)
    return img


def screentext(cursor="-1,-1"):
    lines = [f"ok screentext cols={COLS} rows={ROWS} cell={CW}x{CH} size={COLS * CW}x{ROWS * CH} "
             f"cursor={cursor} cursor_lines=14-15 blink=1 fonts=1 lines=0"]
    for r in range(ROWS):
        lines.append(f"text {r} " + "".join(chr(ch) if 32 <= ch < 127 else "." for ch, _ in cells[r]))
    for r in range(ROWS):
        lines.append(f"cells {r} " + "".join(f"{ch:02x}{a:02x}" for ch, a in cells[r]))
    lines.append("palette " + " ".join(f"{p:06x}" for p in PALETTE))
    for g in range(256):
        lines.append(f"font {g:02x} {font[g].hex()}")
    lines.append("end")
    return "\n".join(lines) + "\n"


with tempfile.TemporaryDirectory() as d:
    png, st, st_cur = (os.path.join(d, n) for n in ("s.png", "s.txt", "c.txt"))
    with open(st, "w") as f:
        f.write(screentext())
    with open(st_cur, "w") as f:
        f.write(screentext("3,0"))
    img = draw()
    img.save(png)
    expect("the drawn screen matches", 0, ["text", png, st, "--expect", "hutch vga", "--min-glyphs", "10"])
    expect("a string not on screen", 1, ["text", png, st, "--expect", "No bootable device"])
    expect("too few glyphs", 1, ["text", png, st, "--min-glyphs", "100"])
    bad = img.copy()
    bad.put(1 * CW + 3, 1 * CH + 5, 0x010203)
    bad.save(png)
    expect("one wrong pixel", 1, ["text", png, st])
    # The cursor's cell is not compared.
    bad = img.copy()
    for y in range(14, 16):
        for x in range(CW):
            bad.put(3 * CW + x, y, 0xAAAAAA)
    bad.save(png)
    expect("the cursor's cell is skipped", 0, ["text", png, st_cur])
    expect("... but only that cell", 1, ["text", png, st])
    small = Canvas(COLS * CW, ROWS * CH - 1)
    small.px[:] = img.px[:len(small.px)]
    small.save(png)
    expect("a wrong size", 1, ["text", png, st])

    raw = os.path.join(d, "fb.raw")
    w, h = 64, 40
    data = bytearray()
    for y in range(h):
        for x in range(w):
            data += bytes((x * 4 & 255, y * 6 & 255, (x ^ y) & 255, 0))   # B, G, R, X
    with open(raw, "wb") as f:
        f.write(data)
    g = Canvas(w, h)
    for y in range(h):
        for x in range(w):
            g.put(x, y, ((x ^ y) & 255) << 16 | (y * 6 & 255) << 8 | (x * 4 & 255))
    g.save(png)
    expect("the pattern matches", 0, ["pattern", png, raw, str(w), str(h)])

    # Every filter type (0-4), RGBA too, decodes to the same pixels.
    def filtered_png(pic, alpha):
        bpp = 4 if alpha else 3
        stride = w * bpp
        rows, prev = b"", bytearray(stride)
        for y in range(h):
            line = bytearray()
            for x in range(w):
                line += pic.px[3 * (y * w + x):3 * (y * w + x) + 3] + (b"\x80" if alpha else b"")
            f = y % 5
            enc = bytearray(stride)
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                pred = [0, a, b, (a + b) >> 1, 0][f]
                if f == 4:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                enc[i] = (line[i] - pred) & 255
            rows += bytes([f]) + enc
            prev = line

        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        return (b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6 if alpha else 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    for alpha in (False, True):
        dec = decode_png(filtered_png(g, alpha))
        ok = dec.size == (w, h) and dec.rgb == bytes(g.px)
        print(f"{'ok' if ok else 'FAIL'}: PNG filters 0-4 decode ({'RGBA' if alpha else 'RGB'})")
        failures += 0 if ok else 1
    g.put(63, 39, 0)
    g.save(png)
    expect("a pattern pixel off", 1, ["pattern", png, raw, str(w), str(h)])
    expect("the pattern's size", 1, ["pattern", png, raw, str(w + 1), str(h)])
sys.exit(1 if failures else 0)
