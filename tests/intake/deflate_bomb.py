"""Build a zip member that inflates to ~1 GB of spaces, in milliseconds (no compressor run).

The spaces are one fixed-Huffman deflate block: a literal ' ' then N back-references
(length 258, distance 1), 13 bits each; 8 of them are exactly 13 bytes, so the block is one
13-byte pattern repeated. The XML before and after is deflated normally.
"""
from __future__ import annotations

import struct
import zlib


class _Bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value: int, nbits: int) -> None:        # LSB first
        self.acc |= value << self.n
        self.n += nbits
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def huff(self, code: int, nbits: int) -> None:        # Huffman codes MSB first
        self.put(int(f"{code:0{nbits}b}"[::-1], 2), nbits)

    def flush(self) -> bytes:
        if self.n:
            self.out.append(self.acc & 0xFF)
            self.acc, self.n = 0, 0
        return bytes(self.out)


def _spaces_block(groups: int) -> bytes:
    """Non-final fixed block: ' ' + 8*groups x (258, 1); then an empty stored block (byte alignment)."""
    b = _Bits()
    b.put(0, 1)            # BFINAL 0
    b.put(1, 2)            # BTYPE 01 fixed
    b.huff(0x30 + 0x20, 8)  # literal ' '
    for _ in range(8 * groups):
        b.huff(0xC0 + 5, 8)  # length code 285 = 258
        b.huff(0, 5)         # distance code 0 = 1
    b.huff(0, 7)             # end of block
    b.put(0, 1)
    b.put(0, 2)              # stored block header, then align
    b.flush()
    b.out += b"\x00\x00\xff\xff"
    return bytes(b.out)


def spaces_deflate(groups: int) -> bytes:
    if groups <= 2:
        return _spaces_block(groups)
    two = _spaces_block(2)
    period = two[2:15]
    return two[:2] + period * (groups - 1) + period[:12] + two[27:]


def spaces_count(groups: int) -> int:
    return 1 + 258 * 8 * groups


def member(prefix: bytes, groups: int, suffix: bytes) -> tuple[bytes, int, int]:
    """(raw deflate data, crc32, uncompressed size) of prefix + spaces + suffix."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    c2 = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = c2.compress(suffix) + c2.flush()
    crc = zlib.crc32(prefix)
    n = spaces_count(groups)
    chunk = b" " * (1 << 20)
    left = n
    while left:
        k = min(left, len(chunk))
        crc = zlib.crc32(chunk[:k], crc)
        left -= k
    crc = zlib.crc32(suffix, crc)
    return head + spaces_deflate(groups) + tail, crc, len(prefix) + n + len(suffix)


def zip_bytes(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, raw deflate data, crc, uncompressed size) members."""
    out, central = bytearray(), bytearray()
    for name, data, crc, usize in members:
        nb = name.encode()
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), usize, len(nb), 0) + nb + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), usize,
                               len(nb), 0, 0, 0, 0, 0, off) + nb
    cd = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), cd, 0)
    return bytes(out)


def deflated(data: bytes) -> tuple[bytes, int, int]:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(), zlib.crc32(data), len(data)
