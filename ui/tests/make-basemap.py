"""A raster PMTiles archive for the browser test: zoom 0 to 2, each tile a dark shade of
its own, stored without compression so tiles lie past the reader's first 16 KiB and the
map must fetch them by range requests.

    python ui/tests/make-basemap.py OUT.pmtiles
"""

import struct
import sys
import zlib

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write

SIZE_PX = 256


def png(rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * SIZE_PX
    ihdr = struct.pack(">IIBBBBB", SIZE_PX, SIZE_PX, 8, 2, 0, 0, 0)
    idat = zlib.compress(row * SIZE_PX, level=0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def main(out: str) -> None:
    tiles = [(z, x, y) for z in range(3) for x in range(2**z) for y in range(2**z)]
    tiles.sort(key=lambda t: zxy_to_tileid(*t))
    with write(out) as w:
        for z, x, y in tiles:
            w.write_tile(zxy_to_tileid(z, x, y), png((18 + 6 * z, 26 + 4 * x, 36 + 4 * y)))
        w.finalize(
            {
                "tile_type": TileType.PNG,
                "tile_compression": Compression.NONE,
                "min_zoom": 0,
                "max_zoom": 2,
            },
            {"attribution": "dronewatch test tiles"},
        )


if __name__ == "__main__":
    main(sys.argv[1])
