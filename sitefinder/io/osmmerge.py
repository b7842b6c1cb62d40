"""Split a large download area into squares of a maximum area, and merge the OSM XML answers.

Overpass refuses or times out on very large queries; osmnx therefore splits the query
polygon into sub-polygons of at most ``max_query_area_size`` and merges the answers. The
same here: :func:`subdivide` cuts the area (in a local UTM CRS, so the squares are true
metres) into a grid of squares of at most the given area, and :func:`merge_osm_xml`
joins the answers into one OSM XML file, each node, way and relation once (by type and
id), sorted as OSM files are (nodes, ways, relations, each by id).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from sitefinder.errors import DownloadError

#: The order of element types in an OSM file.
KINDS = ("node", "way", "relation")


def area_km2(area: Any) -> float:
    """Area of a WGS84 (Multi)Polygon in km², measured in its UTM zone."""
    s = gpd.GeoSeries([area], crs=4326)
    return float(s.to_crs(s.estimate_utm_crs()).area.iloc[0]) / 1e6


def subdivide(area: Any, max_area_km2: float) -> list[Any]:
    """``area`` (WGS84) cut into a grid of squares of at most ``max_area_km2``; the pieces, in WGS84.

    An area no larger than ``max_area_km2`` comes back whole. The squares are aligned
    on the south-west corner of the area's bounds in its UTM zone; every piece is a
    Polygon (a MultiPolygon piece is split into its parts), and together they cover
    the area exactly.

    >>> import shapely
    >>> parts = subdivide(shapely.box(5.0, 52.0, 5.3, 52.1), 50.0)  # about 20.6 x 11.1 km: 3 x 2 squares of 7.1 km
    >>> len(parts), round(sum(area_km2(p) for p in parts), 1) == round(area_km2(shapely.box(5.0, 52.0, 5.3, 52.1)), 1)
    (6, True)
    """
    if area_km2(area) <= max_area_km2:
        return [area]
    s = gpd.GeoSeries([area], crs=4326)
    utm = s.estimate_utm_crs()
    geom = s.to_crs(utm).iloc[0]
    side = math.sqrt(max_area_km2) * 1000.0
    x0, y0, x1, y1 = geom.bounds
    nx, ny = max(1, math.ceil((x1 - x0) / side)), max(1, math.ceil((y1 - y0) / side))
    xs = x0 + side * np.arange(nx + 1)
    ys = y0 + side * np.arange(ny + 1)
    cells = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(ny) for i in range(nx)]
    pieces = shapely.intersection(np.asarray(cells, dtype=object), geom)
    polys: list[Any] = []
    for piece in pieces:
        for part in getattr(piece, "geoms", [piece]):
            if part.geom_type == "Polygon" and not part.is_empty and part.area > 0:
                polys.append(part)
    return list(gpd.GeoSeries(polys, crs=utm).to_crs(4326))


def merge_osm_xml(parts: Sequence[Path], out: Path, what: str) -> dict[str, int]:
    """Join OSM XML files into ``out``: every element once (by type and id), nodes, ways, relations by id.

    Returns the number of elements of each type written.

    Raises
    ------
    DownloadError
        When a part is not OSM XML (``what`` names the source in the message).
    """
    seen: dict[str, dict[int, bytes]] = {k: {} for k in KINDS}
    for path in parts:
        try:
            for _, elem in ET.iterparse(path, events=("end",)):
                if elem.tag in seen:
                    seen[elem.tag].setdefault(int(elem.attrib["id"]), ET.tostring(elem, encoding="utf-8"))
                    elem.clear()
        except (ET.ParseError, KeyError, ValueError) as exc:
            msg = f"{what}: one of the answers is not OSM XML ({exc}); not cached, retry or use --osm FILE"
            raise DownloadError(msg) from None
    with out.open("wb") as f:
        f.write(
            b'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="sitefinder (merged Overpass answers)">\n'
        )
        for kind in KINDS:
            for key in sorted(seen[kind]):
                f.write(seen[kind][key].strip() + b"\n")
        f.write(b"</osm>\n")
    return {k: len(v) for k, v in seen.items()}
