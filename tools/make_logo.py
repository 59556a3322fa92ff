"""Draw the integration's logo: AzureSentinel/AzureSentinel_image.png (120x50, the platform's logo size).

    python tools/make_logo.py [OUTPUT]

A shield with a ring and a single dot ("each incident exactly once"), drawn with plain geometry and
written as an RGBA PNG with zlib and struct only, so the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

WIDTH, HEIGHT = 120, 50
OUTPUT = Path(__file__).resolve().parent.parent / "AzureSentinel" / "AzureSentinel_image.png"

BLUE = (0x0F, 0x5F, 0xB8)
LIGHT = (0x5C, 0xB8, 0xF0)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per axis, for smooth edges


def in_shield(x: float, y: float) -> bool:
    """A shield centred in the image: straight top with rounded shoulders, sides curving to a point."""
    cx, top, bottom, half = WIDTH / 2, 3.0, 47.0, 19.0
    if y < top or y > bottom:
        return False
    t = (y - top) / (bottom - top)
    width = half if t < 0.45 else half * (1 - ((t - 0.45) / 0.55) ** 1.6)
    if t < 0.08:  # rounded shoulders
        width = half - (0.08 - t) * 40
    return abs(x - cx) <= width


def in_ring(x: float, y: float) -> bool:
    cx, cy = WIDTH / 2, 22.0
    distance = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5
    return 8.0 <= distance <= 11.5


def in_dot(x: float, y: float) -> bool:
    cx, cy = WIDTH / 2, 22.0
    return (x - cx) ** 2 + (y - cy) ** 2 <= 3.6 ** 2


def in_band(x: float, y: float) -> bool:
    """Two light bars beside the shield, like a signal passing through it once."""
    return 23.0 <= y <= 26.0 and (18.0 <= x <= 36.0 or 84.0 <= x <= 102.0)


def pixel(px: int, py: int) -> tuple[int, int, int, int]:
    colours: dict[tuple[int, int, int], int] = {}
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x, y = px + (sx + 0.5) / SAMPLES, py + (sy + 0.5) / SAMPLES
            colour = None
            if in_shield(x, y):
                colour = WHITE if in_ring(x, y) or in_dot(x, y) else BLUE
            elif in_band(x, y):
                colour = LIGHT
            if colour is not None:
                colours[colour] = colours.get(colour, 0) + 1
    covered = sum(colours.values())
    if not covered:
        return (0, 0, 0, 0)
    r, g, b = (round(sum(c[i] * n for c, n in colours.items()) / covered) for i in range(3))
    return (r, g, b, round(255 * covered / SAMPLES ** 2))


def png_bytes() -> bytes:
    rows = b"".join(b"\x00" + bytes(v for px in range(WIDTH) for v in pixel(px, py)) for py in range(HEIGHT))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else OUTPUT
    output.write_bytes(png_bytes())
    print(f"wrote {output} ({output.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
