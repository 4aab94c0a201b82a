#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Convert an X window dump (xwd -silent ...) to a PNG, with python3 only.

    xwd2png.py IN.xwd OUT.png

The desktop tests capture the VM window and the manager under Xvfb with
xwd and compare or keep the pictures as PNGs.  Only what Xvfb writes is
read: a ZPixmap of 24 or 32 bits per pixel (TrueColor, either byte
order); anything else is refused with a message and exit status 2.
"""
import struct
import sys
import zlib


def read_xwd(data):
    if len(data) < 100:
        raise ValueError("too short for an XWD header")
    f = struct.unpack(">25I", data[:100])
    (header_size, version, pixmap_format, depth, width, height, _xoff, byte_order,
     _unit, _bit_order, _pad, bpp, bytes_per_line, _vclass, rmask, gmask, bmask,
     _bits_rgb, _cmap_entries, ncolors) = f[:20]
    if version != 7:
        raise ValueError(f"XWD version {version}, not 7")
    if pixmap_format != 2:
        raise ValueError("not a ZPixmap dump")
    if bpp not in (24, 32) or not (rmask and gmask and bmask):
        raise ValueError(f"{bpp} bits per pixel without colour masks: not supported")
    if not (0 < width <= 16384 and 0 < height <= 16384):
        raise ValueError(f"bad size {width}x{height}")
    start = header_size + 12 * ncolors
    need = start + bytes_per_line * height
    if len(data) < need or bytes_per_line < width * bpp // 8:
        raise ValueError("truncated image data")

    def shift(mask):
        s = 0
        while not (mask >> s) & 1:
            s += 1
        return s

    rs, gs, bs = shift(rmask), shift(gmask), shift(bmask)
    step = bpp // 8
    endian = "little" if byte_order == 0 else "big"
    rows = []
    for y in range(height):
        line = data[start + y * bytes_per_line: start + y * bytes_per_line + width * step]
        out = bytearray(width * 3)
        for x in range(width):
            p = int.from_bytes(line[x * step:(x + 1) * step], endian)
            out[3 * x] = (p & rmask) >> rs
            out[3 * x + 1] = (p & gmask) >> gs
            out[3 * x + 2] = (p & bmask) >> bs
        rows.append(bytes(out))
    return width, height, rows


def write_png(path, width, height, rows):
    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)

    raw = b"".join(b"\0" + r for r in rows)
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def main():
    if len(sys.argv) != 3:
        print("usage: xwd2png.py IN.xwd OUT.png", file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], "rb") as f:
            w, h, rows = read_xwd(f.read())
    except (OSError, ValueError) as e:
        print(f"xwd2png: {sys.argv[1]}: {e}", file=sys.stderr)
        return 2
    write_png(sys.argv[2], w, h, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
