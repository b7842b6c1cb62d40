"""The offline background: streets by class, water, buildings and green read from the run's own OSM file.

So that the map and the report show context without internet, the load stage reads
these once from the OSM source (libosmium, with areas assembled from closed ways
and multipolygons) into the working CRS. Rendering (:mod:`sitefinder.render.basemap`)
simplifies and embeds them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import osmium
import osmium.filter
import shapely
from pyproj import CRS

from sitefinder.errors import InputFileError

log = logging.getLogger(__name__)

#: Street classes as drawn (wide to narrow); OSM ``highway`` values per class.
STREET_CLASSES: dict[str, tuple[str, ...]] = {
    "major": ("motorway", "trunk", "primary", "motorway_link", "trunk_link", "primary_link"),
    "secondary": ("secondary", "tertiary", "secondary_link", "tertiary_link"),
    "local": ("residential", "unclassified", "living_street", "service", "road"),
    "path": ("footway", "cycleway", "path", "pedestrian", "steps", "track", "bridleway"),
}
_CLASS_OF = {v: k for k, vs in STREET_CLASSES.items() for v in vs}
_WATER = {("natural", "water"), ("landuse", "reservoir"), ("landuse", "basin"), ("waterway", "riverbank")}
_WATER_LINES = ("river", "canal", "stream", "ditch", "drain")
_GREEN = {
    ("leisure", "park"), ("leisure", "garden"), ("leisure", "nature_reserve"), ("landuse", "grass"),
    ("landuse", "forest"), ("landuse", "meadow"), ("landuse", "recreation_ground"),
    ("landuse", "village_green"), ("natural", "wood"), ("natural", "scrub"), ("natural", "heath"),
    ("landuse", "cemetery"), ("leisure", "pitch"),
}  # fmt: skip
#: Every tag key a drawn object has (the filter libosmium applies before Python sees an object).
_KEYS = ("highway", "waterway", "building", *sorted({k for k, _ in _WATER | _GREEN} - {"waterway"}))
#: Keys of the drawn lines (ways) and of the drawn areas (multipolygon relations).
LINE_KEYS: tuple[str, ...] = ("highway", "waterway")
AREA_KEYS: tuple[str, ...] = ("building", *sorted({k for k, _ in _WATER | _GREEN}))


@dataclass(frozen=True)
class Basemap:
    """Background features in the working CRS.

    Attributes
    ----------
    streets : geopandas.GeoDataFrame
        Lines with ``kind`` (``major``, ``secondary``, ``local``, ``path``, ``water``).
    areas : geopandas.GeoDataFrame
        Polygons with ``kind`` (``water``, ``green``, ``building``).
    """

    streets: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame

    def __len__(self) -> int:
        return len(self.streets) + len(self.areas)


def line_kind(tags: Any) -> str | None:
    """The drawn class of a way's line (``major`` ... ``path``, ``water``), None when not drawn."""
    hw = tags.get("highway")
    ww = tags.get("waterway")
    return _CLASS_OF.get(hw) if hw else ("water" if ww in _WATER_LINES else None)


def area_kind(tags: Any) -> str | None:
    """The drawn class of an area (``building``, ``water``, ``green``), None when not drawn."""
    if "building" in tags and tags.get("building") != "no":
        return "building"
    for k, v in _WATER:
        if tags.get(k) == v:
            return "water"
    for k, v in _GREEN:
        if tags.get(k) == v:
            return "green"
    return None


def read_basemap(path: Path, crs: CRS) -> Basemap:
    """Read streets, water, buildings and green from an OSM file into ``crs``.

    Raises
    ------
    InputFileError
        When libosmium cannot read the file.
    """
    t0 = time.perf_counter()
    wkb = osmium.geom.WKBFactory()
    lines: list[str] = []
    line_kinds: list[str] = []
    polys: list[str] = []
    poly_kind: list[str] = []
    keys = _KEYS
    from sitefinder.io.osm import osmium_invalid_location

    # A way with a node the file lacks (a clipped extract) is skipped, not fatal.
    unbuildable = (RuntimeError, osmium_invalid_location())
    try:
        # libosmium drops in C++ what cannot be drawn (untagged nodes, nodes and relations
        # themselves, ways and areas without a drawn key): Python sees only candidates.
        fp = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_areas(osmium.filter.KeyFilter(*keys))
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY | osmium.osm.AREA))
            .with_filter(osmium.filter.KeyFilter(*keys))
        )
        for obj in fp:
            if isinstance(obj, osmium.osm.Way):
                kind = line_kind(obj.tags)
                if kind is None or len(obj.nodes) < 2:
                    continue
                try:
                    lines.append(wkb.create_linestring(obj))
                except unbuildable:  # missing node locations at the edge of an extract
                    continue
                line_kinds.append(kind)
            elif isinstance(obj, osmium.osm.Area):
                kind = area_kind(obj.tags)
                if kind is None:
                    continue
                try:
                    polys.append(wkb.create_multipolygon(obj))
                except unbuildable:
                    continue
                poly_kind.append(kind)
    except (RuntimeError, ValueError) as exc:
        msg = f"OSM file {path}: libosmium cannot read it for the background map ({str(exc).splitlines()[0]})"
        raise InputFileError(msg) from None
    streets = gpd.GeoDataFrame(
        {"kind": line_kinds}, geometry=shapely.from_wkb(lines) if lines else [], crs=4326
    ).to_crs(crs)
    areas = gpd.GeoDataFrame(
        {"kind": poly_kind}, geometry=shapely.from_wkb(polys) if polys else [], crs=4326
    ).to_crs(crs)
    log.info(
        "Background map from %s: %d street and waterway lines, %d areas (water, green, buildings) in %.1f s",
        Path(path).name, len(streets), len(areas), time.perf_counter() - t0,
    )  # fmt: skip
    return Basemap(streets=streets, areas=areas)
