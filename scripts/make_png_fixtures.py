"""Writes the small PNG files the PNG reader's tests decode, with nothing but Python's standard
library (zlib + struct), so the files come from an encoder independent of libpng.

Prints each file as base64 with its pixels; Tests/NASDataTests/PNGTests.swift holds the output.
"""
import base64
import struct
import zlib


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, bit_depth, color_type, rows, palette=None):
    """rows: the raw bytes of each scanline (no filter byte); every row uses filter 0 or 1."""
    raw = b""
    for i, row in enumerate(rows):
        if i % 2 == 1:   # filter type 1 (Sub) on odd rows, to exercise unfiltering
            bpp = max(1, bit_depth * {0: 1, 2: 3, 3: 1}[color_type] // 8)
            sub = bytes((row[j] - (row[j - bpp] if j >= bpp else 0)) & 0xFF for j in range(len(row)))
            raw += b"\x01" + sub
        else:
            raw += b"\x00" + row
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", bytes(c for rgb in palette for c in rgb))
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


cases = {
    # 3×2 gray, 8-bit
    "gray8": png(3, 2, 8, 0, [bytes([0, 128, 255]), bytes([10, 20, 30])]),
    # 2×2 RGB, 8-bit
    "rgb8": png(2, 2, 8, 2, [bytes([255, 0, 0, 0, 255, 0]), bytes([0, 0, 255, 1, 2, 3])]),
    # 2×1 gray, 16-bit big-endian samples 0x0000 and 0xFFFF
    "gray16": png(2, 1, 16, 0, [bytes([0, 0, 255, 255])]),
    # 2×1 palette: index 1 then 0 of (black, white)
    "palette": png(2, 1, 8, 3, [bytes([1, 0])], palette=[(0, 0, 0), (255, 255, 255)]),
}
for name, data in cases.items():
    print(f'"{name}": "{base64.b64encode(data).decode()}",')
