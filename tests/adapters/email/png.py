"""Reading the pixels of a PNG screenshot with the stdlib (zlib), to tell a blank page from a rendered one.

Enough of PNG for what Chromium writes: 8-bit greyscale, RGB or RGBA, not interlaced,
every row filter. ``write_png`` is the inverse, used to test the reader.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 6: 4}  # colour type -> bytes a pixel (bit depth 8)


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int
    rows: list[bytes]  # unfiltered, ``width * channels`` bytes each

    def pixels(self) -> Counter[bytes]:
        """How many pixels have each colour (alpha dropped)."""
        step, colour = self.channels, min(self.channels, 3)
        counts: Counter[bytes] = Counter()
        for row in self.rows:
            counts.update(row[i : i + colour] for i in range(0, len(row), step))
        return counts


def read_png(path: Path) -> Image:
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG")
    position, header, compressed = len(SIGNATURE), b"", bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in CHANNELS or interlace:
        raise ValueError(f"{path}: bit depth {depth}, colour type {colour}, interlace {interlace} not supported")
    channels = CHANNELS[colour]
    stride = width * channels
    raw = zlib.decompress(bytes(compressed))
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], prior, channels)
        rows.append(row)
        prior = row
    return Image(width, height, channels, rows)


def _unfilter(kind: int, line: bytes, prior: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 2:  # up
        return bytes((a + b) & 255 for a, b in zip(line, prior, strict=True))
    out = bytearray(line)
    if kind == 1:  # sub
        for i in range(bpp, len(out)):
            out[i] = (out[i] + out[i - bpp]) & 255
    elif kind == 3:  # average
        for i in range(len(out)):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prior[i]) >> 1)) & 255
    elif kind == 4:  # paeth
        for i in range(len(out)):
            a = out[i - bpp] if i >= bpp else 0
            b = prior[i]
            c = prior[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    else:
        raise ValueError(f"unknown PNG row filter {kind}")
    return bytes(out)


def write_png(path: Path, rows: list[bytes], *, width: int, channels: int, filters: list[int]) -> None:
    """A PNG of ``rows``, each row filtered with the filter given for it (to exercise every one)."""
    colour = {v: k for k, v in CHANNELS.items()}[channels]
    stream = bytearray()
    prior = bytes(width * channels)
    for row, kind in zip(rows, filters, strict=True):
        stream.append(kind)
        stream += _filter(kind, row, prior, channels)
        prior = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, len(rows), 8, colour, 0, 0, 0)
    path.write_bytes(
        SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(stream))) + chunk(b"IEND", b"")
    )


def _filter(kind: int, row: bytes, prior: bytes, bpp: int) -> bytes:
    out = bytearray(len(row))
    for i, value in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        if kind == 0:
            predicted = 0
        elif kind == 1:
            predicted = a
        elif kind == 2:
            predicted = b
        elif kind == 3:
            predicted = (a + b) >> 1
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predicted = a if pa <= pb and pa <= pc else b if pb <= pc else c
        out[i] = (value - predicted) & 255
    return bytes(out)
