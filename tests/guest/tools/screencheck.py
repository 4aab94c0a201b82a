#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check a hutch-vm screenshot against what the screen should show.

  screencheck.py fetch SOCKET OUT
      Ask the VM's control socket for 'screentext' (docs/control-protocol.md)
      and save the whole reply in OUT; exit 1 with the error if the VM
      refused (graphics mode, blank screen).

  screencheck.py text PNG SCREENTEXT [--expect STRING]... [--min-glyphs N]
      Draw every text cell the screentext reply describes with the font the
      guest loaded (the reply's font lines), its palette and attributes,
      and compare the pixels of each cell with the PNG's.  The PNG must
      have the reply's size.  --expect: STRING must appear on one of the
      rows; --min-glyphs: at least N cells must draw a non-empty glyph, so
      an empty screen cannot pass by accident.  The cursor's cell is not
      compared (its shape is the display's business); for characters
      0xC0-0xDF, the 9th column of 9-dot cells copies the 8th only when the
      VGA's line-graphics bit is set, which the reply does not carry, so
      that column is not compared for them.

  screencheck.py pattern PNG RAW WIDTH HEIGHT
      RAW is what the guest wrote to /dev/fb0 at WIDTH x HEIGHT x 32 bpp
      (little-endian XRGB8888, no padding).  Every pixel of the PNG must
      equal it.

Exit 0 when everything matched; 1 with a description of the first
differences otherwise; 2 for bad usage or unreadable input.
"""
import socket
import struct
import sys
import zlib


def die(msg, status=2):
    print(f"screencheck: {msg}", file=sys.stderr)
    sys.exit(status)


class Picture:
    """An 8-bit RGB image: size and rows of R, G, B bytes."""

    def __init__(self, width, height, rgb):
        self.size = (width, height)
        self.rgb = rgb

    def pixel(self, x, y):
        i = 3 * (y * self.size[0] + x)
        return self.rgb[i] << 16 | self.rgb[i + 1] << 8 | self.rgb[i + 2]


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def decode_png(data):
    """8-bit RGB or RGBA, non-interlaced PNGs (what hutch-vm writes), by hand:
    the checker needs nothing beyond python3 (PNG spec, ISO/IEC 15948)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, head = 8, b"", None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if not head:
        raise ValueError("no IHDR chunk")
    w, h, depth, ctype, _, _, interlace = head
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    if len(raw) < h * (stride + 1):
        raise ValueError("truncated image data")
    out = bytearray(w * h * 3)
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
            elif f != 0:
                raise ValueError(f"bad filter type {f} on row {y}")
        if bpp == 3:
            out[y * w * 3:(y + 1) * w * 3] = line
        else:
            for x in range(w):
                out[(y * w + x) * 3:(y * w + x) * 3 + 3] = line[x * 4:x * 4 + 3]
        prev = line
    return Picture(w, h, bytes(out))


def encode_png(pic):
    """An 8-bit RGB PNG of @pic (filter 0): for the self-test's pictures."""
    w, h = pic.size

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\0" + pic.rgb[y * w * 3:(y + 1) * w * 3] for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def load_png(path):
    try:
        with open(path, "rb") as f:
            return decode_png(f.read())
    except (OSError, ValueError, zlib.error) as e:
        die(f"{path}: {e}")


def fetch(sock_path, out):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock_path)
    s.sendall(b"screentext\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if data.startswith(b"error") and b"\n" in data:
            break
        if data.endswith(b"\nend\n"):
            break
    s.close()
    text = data.decode("latin-1")
    if not text.startswith("ok screentext"):
        die(f"the VM answered: {text.strip() or '(nothing)'}", 1)
    with open(out, "w", encoding="latin-1") as f:
        f.write(text)


class Screen:
    """A parsed screentext reply."""

    def __init__(self, path):
        try:
            with open(path, encoding="latin-1") as f:
                lines = f.read().split("\n")
        except OSError as e:
            die(f"{path}: {e}")
        head = lines[0].split()
        if head[:2] != ["ok", "screentext"]:
            die(f"{path}: not a screentext reply: {lines[0]!r}")
        kv = dict(w.split("=", 1) for w in head[2:])
        self.cols, self.rows = int(kv["cols"]), int(kv["rows"])
        self.cell_w, self.cell_h = (int(v) for v in kv["cell"].split("x"))
        self.width, self.height = (int(v) for v in kv["size"].split("x"))
        self.cursor = tuple(int(v) for v in kv["cursor"].split(","))
        self.blink = kv["blink"] == "1"
        self.text = [""] * self.rows
        self.cells = [None] * self.rows
        self.font = [None] * 256
        self.font_b = None
        self.palette = None
        for line in lines[1:]:
            word, _, rest = line.partition(" ")
            if word == "text":
                r, _, t = rest.partition(" ")
                self.text[int(r)] = t
            elif word == "cells":
                r, _, hexs = rest.partition(" ")
                self.cells[int(r)] = [(int(hexs[i:i + 2], 16), int(hexs[i + 2:i + 4], 16))
                                      for i in range(0, len(hexs), 4)]
            elif word == "palette":
                self.palette = [int(v, 16) for v in rest.split()]
            elif word in ("font", "fontb"):
                g, _, hexs = rest.partition(" ")
                glyph = bytes.fromhex(hexs)
                if word == "fontb":
                    if self.font_b is None:
                        self.font_b = [None] * 256
                    self.font_b[int(g, 16)] = glyph
                else:
                    self.font[int(g, 16)] = glyph
        if any(c is None or len(c) != self.cols for c in self.cells) or self.palette is None \
                or any(g is None or len(g) != self.cell_h for g in self.font):
            die(f"{path}: incomplete screentext reply")

    def glyph(self, ch, attr):
        # With two character maps, attribute bit 3 set selects map A.
        if self.font_b is not None and not attr & 0x08:
            return self.font_b[ch]
        return self.font[ch]

    def colours(self, attr):
        fg = self.palette[attr & 0x0F]
        bg = self.palette[(attr >> 4) & (0x07 if self.blink else 0x0F)]
        return fg, bg

    def expected_cell(self, r, c):
        """The cell's pixels, row by row, as 0xRRGGBB (None: not compared)."""
        ch, attr = self.cells[r][c]
        fg, bg = self.colours(attr)
        glyph = self.glyph(ch, attr)
        out = []
        for y in range(self.cell_h):
            bits = glyph[y]
            row = [fg if bits & (0x80 >> x) else bg for x in range(8)]
            if self.cell_w == 9:
                row.append(None if 0xC0 <= ch <= 0xDF else bg)
            out.append(row)
        return out


def check_text(png_path, st_path, expects, min_glyphs):
    scr = Screen(st_path)
    img = load_png(png_path)
    if img.size != (scr.width, scr.height):
        die(f"the screenshot is {img.size[0]}x{img.size[1]}, the text mode {scr.width}x{scr.height}", 1)
    if (scr.cols * scr.cell_w, scr.rows * scr.cell_h) != (scr.width, scr.height):
        die(f"{scr.cols}x{scr.rows} cells of {scr.cell_w}x{scr.cell_h} do not fill {scr.width}x{scr.height}")
    bad = []
    glyphs = 0
    for r in range(scr.rows):
        for c in range(scr.cols):
            if (c, r) == scr.cursor:
                continue
            ch, attr = scr.cells[r][c]
            fg, bg = scr.colours(attr)
            if fg != bg and any(scr.glyph(ch, attr)):
                glyphs += 1
            want = scr.expected_cell(r, c)
            x0, y0 = c * scr.cell_w, r * scr.cell_h
            diff = 0
            first = None
            for y, row in enumerate(want):
                for x, w in enumerate(row):
                    if w is None:
                        continue
                    got = img.pixel(x0 + x, y0 + y)
                    if got != w:
                        diff += 1
                        if first is None:
                            first = (x, y, got, w)
            if diff:
                bad.append((r, c, ch, attr, diff, first))
    for e in expects:
        if not any(e in t for t in scr.text):
            die(f"no row shows {e!r}; the rows are:\n" + "\n".join(t.rstrip() for t in scr.text if t.strip()), 1)
    if glyphs < min_glyphs:
        die(f"only {glyphs} cells draw a glyph, expected at least {min_glyphs}", 1)
    if bad:
        lines = [f"{len(bad)} of {scr.rows * scr.cols} cells differ from the font's glyphs:"]
        for r, c, ch, attr, diff, (x, y, got, w) in bad[:8]:
            lines.append(f"  row {r} col {c} char 0x{ch:02x} {chr(ch) if 32 <= ch < 127 else '.'!r} "
                         f"attr 0x{attr:02x}: {diff} pixels, first at +{x},+{y}: {got:06x} instead of {w:06x}")
        die("\n".join(lines), 1)
    print(f"screencheck: {scr.rows * scr.cols} cells of {scr.cell_w}x{scr.cell_h} match "
          f"({glyphs} glyphs) at {scr.width}x{scr.height}")


def check_pattern(png_path, raw_path, width, height):
    img = load_png(png_path)
    if img.size != (width, height):
        die(f"the screenshot is {img.size[0]}x{img.size[1]}, expected {width}x{height}", 1)
    try:
        with open(raw_path, "rb") as f:
            raw = f.read()
    except OSError as e:
        die(f"{raw_path}: {e}")
    if len(raw) < width * height * 4:
        die(f"{raw_path}: {len(raw)} bytes, less than {width}x{height}x4")
    # XRGB8888 little-endian: B, G, R, X per pixel; the PNG is R, G, B.
    want = bytearray(width * height * 3)
    want[0::3] = raw[2:width * height * 4:4]
    want[1::3] = raw[1:width * height * 4:4]
    want[2::3] = raw[0:width * height * 4:4]
    got = img.rgb
    if got == bytes(want):
        print(f"screencheck: all {width}x{height} pixels match the pattern")
        return
    diffs = [i // 3 for i in range(0, len(got), 3) if got[i:i + 3] != want[i:i + 3]]
    i = diffs[0]
    die(f"{len(diffs)} of {width * height} pixels differ; the first at {i % width},{i // width}: "
        f"{got[3 * i:3 * i + 3].hex()} instead of {bytes(want[3 * i:3 * i + 3]).hex()}", 1)


def main(argv):
    if len(argv) >= 3 and argv[0] == "fetch" and len(argv) == 3:
        fetch(argv[1], argv[2])
    elif len(argv) >= 3 and argv[0] == "text":
        expects, min_glyphs, rest = [], 0, argv[3:]
        while rest:
            if rest[0] == "--expect" and len(rest) > 1:
                expects.append(rest[1])
            elif rest[0] == "--min-glyphs" and len(rest) > 1:
                min_glyphs = int(rest[1])
            else:
                die(f"unknown argument {rest[0]!r}")
            rest = rest[2:]
        check_text(argv[1], argv[2], expects, min_glyphs)
    elif len(argv) == 5 and argv[0] == "pattern":
        check_pattern(argv[1], argv[2], int(argv[3]), int(argv[4]))
    else:
        die(__doc__.strip().split("\n\n")[0] + "\nusage: screencheck.py fetch|text|pattern ... (see the top of the file)")


if __name__ == "__main__":
    main(sys.argv[1:])
