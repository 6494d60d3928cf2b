"""Build land-110m.json, the coarse world outline behind the Preview page's map of positions.

Source: Natural Earth 1:110m countries ("naturalearth_lowres", public domain, naturalearthdata.com),
as shipped inside the geopandas 0.14 wheel.  Usage:
    python make_world.py path/to/naturalearth_lowres.shp
Rings are rounded to 0.1 degree and thinned (points closer than 0.25 degree dropped); country
borders stay as polygon edges.  Reads the shapefile directly (polygon records, type 5).
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path


def read_polygons(shp: Path) -> list[list[tuple[float, float]]]:
    data = shp.read_bytes()
    pos = 100
    rings: list[list[tuple[float, float]]] = []
    while pos < len(data):
        _num, length = struct.unpack(">ii", data[pos : pos + 8])
        rec = data[pos + 8 : pos + 8 + 2 * length]
        pos += 8 + 2 * length
        (stype,) = struct.unpack("<i", rec[:4])
        if stype != 5:
            continue
        nparts, npoints = struct.unpack("<ii", rec[36:44])
        parts = list(struct.unpack(f"<{nparts}i", rec[44 : 44 + 4 * nparts]))
        off = 44 + 4 * nparts
        pts = [struct.unpack("<dd", rec[off + 16 * i : off + 16 * i + 16]) for i in range(npoints)]
        for k, start in enumerate(parts):
            end = parts[k + 1] if k + 1 < nparts else npoints
            rings.append(pts[start:end])
    return rings


def thin(ring: list[tuple[float, float]], tol: float = 0.25) -> list[list[float]]:
    out = [ring[0]]
    for x, y in ring[1:]:
        px, py = out[-1]
        if abs(x - px) >= tol or abs(y - py) >= tol:
            out.append((x, y))
    return [[round(x, 1), round(y, 1)] for x, y in out]


def main(argv: list[str]) -> int:
    shp = Path(argv[1])
    polys = [p for p in (thin(r) for r in read_polygons(shp)) if len(p) >= 4]
    out = Path(__file__).with_name("land-110m.json")
    doc = {
        "source": "Natural Earth 1:110m countries, public domain (naturalearthdata.com)",
        "polygons": polys,
    }
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    print(
        f"{len(polys)} polygons, {sum(len(p) for p in polys)} points, {out.stat().st_size} bytes -> {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
