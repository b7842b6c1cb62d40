"""Feature geometries from the pyosmium pass, by the rules of ``osmnx.features_from_xml``.

sitefinder read its tagged features with osmnx before; this builds the same frame
from what the single pass over the file collected, without writing or parsing XML:

* a node with any of the filter's keys is a Point;
* a way is a Polygon when it is closed, not ``area=no`` and one of its tags is a
  polygon feature by :data:`POLYGON_FEATURES`, else a LineString; ways with any of
  the filter's keys are features;
* a ``type=multipolygon|boundary`` relation is the union of the polygons formed by
  its outer member ways minus those formed by its inner ones (line merge and
  polygonize, as osmnx does);
* empty geometries are dropped, the rest made valid; a feature is kept when one
  of its tags matches the filter exactly (``True``: any value; a list: one of the
  values); columns without any value are dropped; rows are ordered by element
  type and id.

:data:`POLYGON_FEATURES` is osmnx's table (``osmnx.features._POLYGON_FEATURES``,
OSMnx 2.x, MIT licence, after the OSM wiki's polygon-features list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import shapely

#: Tags that make a closed way a polygon: "all" values, a passlist or a blocklist.
POLYGON_FEATURES: dict[str, tuple[str, frozenset[str]]] = {
    "aeroway": ("blocklist", frozenset({"taxiway"})),
    "amenity": ("all", frozenset()),
    "area": ("all", frozenset()),
    "area:highway": ("all", frozenset()),
    "barrier": ("passlist", frozenset({"city_wall", "ditch", "hedge", "retaining_wall", "spikes"})),
    "boundary": ("all", frozenset()),
    "building": ("all", frozenset()),
    "building:part": ("all", frozenset()),
    "craft": ("all", frozenset()),
    "golf": ("all", frozenset()),
    "highway": ("passlist", frozenset({"elevator", "escape", "rest_area", "services"})),
    "historic": ("all", frozenset()),
    "indoor": ("all", frozenset()),
    "landuse": ("all", frozenset()),
    "leisure": ("all", frozenset()),
    "man_made": ("blocklist", frozenset({"cutline", "embankment", "pipeline"})),
    "military": ("all", frozenset()),
    "natural": ("blocklist", frozenset({"arete", "cliff", "coastline", "ridge", "tree_row"})),
    "office": ("all", frozenset()),
    "place": ("all", frozenset()),
    "power": ("passlist", frozenset({"generator", "plant", "substation", "transformer"})),
    "public_transport": ("all", frozenset()),
    "railway": ("passlist", frozenset({"platform", "roundhouse", "station", "turntable"})),
    "ruins": ("all", frozenset()),
    "shop": ("all", frozenset()),
    "tourism": ("all", frozenset()),
    "waterway": ("passlist", frozenset({"boatyard", "dam", "dock", "riverbank"})),
}

#: Relation types that become (multi)polygons.
RELATION_TYPES = frozenset({"boundary", "multipolygon"})


def way_is_polygon(closed: bool, tags: Mapping[str, str]) -> bool:
    """Whether a way becomes a Polygon (osmnx's rule)."""
    if not closed or tags.get("area") == "no":
        return False
    for key in tags.keys() & POLYGON_FEATURES.keys():
        rule, values = POLYGON_FEATURES[key]
        if (
            rule == "all"
            or (rule == "passlist" and tags[key] in values)
            or (rule == "blocklist" and tags[key] not in values)
        ):
            return True
    return False


def way_geometry(coords: list[tuple[float, float] | None], polygon: bool) -> Any:
    """LineString or Polygon of a way's node coordinates (empty when it cannot be built)."""
    if any(c is None for c in coords):
        return shapely.Polygon() if polygon else shapely.LineString()
    try:
        return shapely.Polygon(coords) if polygon else shapely.LineString(coords)
    except (shapely.errors.GEOSException, ValueError):
        return shapely.Polygon() if polygon else shapely.LineString()


def way_geometries(
    xy: np.ndarray, valid: np.ndarray, ptr: np.ndarray, rows: np.ndarray, polygon: np.ndarray
) -> np.ndarray:
    """:func:`way_geometry` of many ways at once.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) lon/lat of the nodes of all ways, flat.
    valid : numpy.ndarray
        (n,) whether each node has a valid location.
    ptr : numpy.ndarray
        ``ptr[r]:ptr[r+1]`` are the nodes of way ``r``.
    rows : numpy.ndarray
        The ways to make geometries of.
    polygon : numpy.ndarray
        (len(rows),) whether each becomes a Polygon (:func:`way_is_polygon`).

    Returns
    -------
    numpy.ndarray
        Object array of LineStrings and Polygons, empty where :func:`way_geometry`
        gives an empty one (a node without location, too few nodes).
    """
    start, stop = ptr[rows], ptr[rows + 1]
    count = stop - start
    missing = np.cumsum(np.concatenate([[0], ~valid]))
    complete = (missing[stop] - missing[start]) == 0
    out = np.empty(len(rows), dtype=object)
    out[polygon] = shapely.Polygon()
    out[~polygon] = shapely.LineString()
    for want, minimum, make in ((False, 2, shapely.linestrings), (True, 4, None)):
        sel = np.flatnonzero((polygon == want) & complete & (count >= minimum))
        if len(sel) == 0:
            continue
        lengths = count[sel]
        offsets = np.repeat(start[sel] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        pos = np.arange(int(lengths.sum())) + offsets
        index = np.repeat(np.arange(len(sel)), lengths)
        if make is None:
            out[sel] = shapely.polygons(shapely.linearrings(xy[pos], indices=index))
        else:
            out[sel] = make(xy[pos], indices=index)
    return out


def relation_geometry(members: Iterable[tuple[str, int, str]], way_geoms: Mapping[int, Any]) -> Any:
    """(Multi)polygon of a multipolygon relation from its member ways (osmnx's construction)."""
    outer_lines: list[Any] = []
    inner_lines: list[Any] = []
    outer_polys: list[Any] = []
    inner_polys: list[Any] = []
    for mtype, ref, role in members:
        if mtype != "w":
            continue
        geom = way_geoms.get(ref)
        if geom is None:
            return shapely.Polygon()
        kind = geom.geom_type
        if role == "outer":
            (outer_lines if kind == "LineString" else outer_polys if kind == "Polygon" else []).append(geom)
        elif role == "inner":
            (inner_lines if kind == "LineString" else inner_polys if kind == "Polygon" else []).append(geom)
    for lines, polys in ((outer_lines, outer_polys), (inner_lines, inner_polys)):
        merged = shapely.line_merge(shapely.MultiLineString(lines)) if lines else shapely.MultiLineString()
        parts = [merged] if merged.geom_type == "LineString" else list(shapely.get_parts(merged))
        for part in parts:
            polys.extend(shapely.get_parts(shapely.polygonize([part])).tolist())
    if not inner_polys:
        geom = shapely.union_all(outer_polys) if outer_polys else shapely.Polygon()
    else:
        pieces = []
        for outer in outer_polys:
            holes = [inner for inner in inner_polys if outer.contains(inner)]
            pieces.append(outer.difference(shapely.union_all(holes)) if holes else outer)
        geom = shapely.union_all(pieces) if pieces else shapely.Polygon()
    return geom if geom.geom_type in ("Polygon", "MultiPolygon") else shapely.Polygon()


def matches_exactly(tags: Mapping[str, str], tag_filter: Mapping[str, bool | list[str]]) -> bool:
    """Osmnx's final tag filter: a key with any value (True) or one of the listed values."""
    for key, want in tag_filter.items():
        v = tags.get(key)
        if v is None:
            continue
        if want is True or (isinstance(want, list) and v in want):
            return True
    return False


def features_frame(
    rows: list[tuple[str, int, dict[str, str], Any]], tag_filter: Mapping[str, bool | list[str]]
) -> Any:
    """The feature GeoDataFrame (WGS84) of ``(element, id, tags, geometry)`` rows.

    Columns: ``osm_id`` (``node/123``), every tag key that has a value, ``geometry``.
    """
    import geopandas as gpd
    import pandas as pd

    kept = [r for r in rows if r[3] is not None and not r[3].is_empty and matches_exactly(r[2], tag_filter)]
    kept.sort(key=lambda r: (r[0], r[1]))
    if not kept:
        return gpd.GeoDataFrame({"osm_id": []}, geometry=[], crs="EPSG:4326")
    tags = pd.DataFrame.from_records([r[2] for r in kept])
    tags = tags.dropna(axis="columns", how="all")
    tags = tags.astype(object).where(tags.notna(), None)
    geoms = shapely.make_valid(np.array([r[3] for r in kept], dtype=object))
    frame = gpd.GeoDataFrame(tags, geometry=geoms, crs="EPSG:4326")
    frame.insert(0, "osm_id", [f"{r[0]}/{r[1]}" for r in kept])
    return frame
