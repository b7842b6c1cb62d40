"""Compact data for the map: plots, per-plot values, amenities and routes as plain JSON.

The map carries one data block that its script reads once. Plot geometries are
simplified in metres (working CRS) and only then reprojected to WGS84, with
coordinates rounded to 6 decimals (about 0.1 m). Values are stored per column, and
text columns (exclusion reasons repeat a lot) as a dictionary plus codes, so a map of
5,000 plots stays a few megabytes. Routes are Google-encoded polylines.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from sitefinder.datatypes import Routes
from sitefinder.render.escape import script_json
from sitefinder.render.labels import ColumnLabel

#: Decimals kept per value kind (metres to 0.1 m, shares to 0.1 %).
_DECIMALS = {"m": 1, "db": 1, "share": 3, "points": 2, "count": 0, "rank": 0, "number": 3}


@functools.lru_cache(maxsize=8)
def _to_wgs84(crs_wkt: str) -> Transformer:
    """The transformer from a CRS to WGS84 (made once per CRS: that takes a tenth of a second)."""
    return Transformer.from_crs(CRS.from_wkt(crs_wkt), 4326, always_xy=True)


def to_wgs84(geoms: np.ndarray, crs: CRS | str, decimals: int = 6) -> np.ndarray:
    """Reproject shapely geometries to WGS84 (lon, lat) and round their coordinates.

    Vectorised: one pyproj call for all coordinates of all geometries.
    """
    tr = _to_wgs84(CRS.from_user_input(crs).to_wkt())

    def fn(xy: np.ndarray) -> np.ndarray:
        if len(xy) == 0:
            return xy
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), decimals)

    return np.asarray(shapely.transform(np.asarray(geoms, dtype=object), fn), dtype=object)


def feature_collection(geoms: np.ndarray, properties: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of WGS84 geometries with the given properties."""
    feats = [
        {"type": "Feature", "geometry": g.__geo_interface__, "properties": dict(p)}
        for g, p in zip(geoms, properties, strict=True)
    ]
    return {"type": "FeatureCollection", "features": feats}


def simplify_m(geoms: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Simplify in the working CRS (metres), keeping valid polygons; never empty a geometry."""
    simple = shapely.simplify(np.asarray(geoms, dtype=object), tolerance_m, preserve_topology=True)
    empty = shapely.is_empty(simple)
    simple[empty] = np.asarray(geoms, dtype=object)[empty]
    return np.asarray(simple, dtype=object)


def encode_column(values: pd.Series, kind: str) -> dict[str, Any]:
    """One column as ``{"v": [...]}`` or, for text, ``{"dict": [...], "idx": [...]}``.

    Missing values become ``null``; numbers are rounded for their kind.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.map({True: "ja", False: "nee"})
    if pd.api.types.is_numeric_dtype(values.dtype):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        dec = _DECIMALS.get(kind, 3)
        arr = np.round(arr, dec)
        if dec == 0:
            out: list[Any] = [None if np.isnan(x) else int(x) for x in arr.tolist()]
        else:
            out = [None if np.isnan(x) else x for x in arr.tolist()]
        return {"v": out}
    codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    return {
        "dict": [str(u) for u in uniques],
        "idx": [None if c < 0 else int(c) for c in codes.tolist()],
    }


def encode_table(table: pd.DataFrame, labels: Mapping[str, ColumnLabel]) -> dict[str, Any]:
    """Every column of ``table`` encoded with :func:`encode_column`."""
    return {col: encode_column(table[col], labels[col].kind) for col in table.columns}


def encode_polyline(latlon: np.ndarray, precision: int = 5) -> str:
    """Google's encoded polyline format of (lat, lon) pairs.

    Examples
    --------
    >>> encode_polyline(np.array([[38.5, -120.2], [40.7, -120.95], [43.252, -126.453]]))
    '_p~iF~ps|U_ulLnnqC_mqNvxq`@'
    """
    factor = 10**precision
    ints = np.round(np.asarray(latlon, dtype=float) * factor).astype(np.int64)
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    chars: list[str] = []
    for value in deltas.tolist():
        v = ~(value << 1) if value < 0 else value << 1
        while v >= 0x20:
            chars.append(chr((0x20 | (v & 0x1F)) + 63))
            v >>= 5
        chars.append(chr(v + 63))
    return "".join(chars)


def encode_polylines(lines: Sequence[np.ndarray], precision: int = 5) -> list[str]:
    """:func:`encode_polyline` of many (lat, lon) arrays at once, vectorised (the same strings).

    Examples
    --------
    >>> encode_polylines([np.array([[38.5, -120.2], [40.7, -120.95]]), np.array([[43.252, -126.453]])])
    ['_p~iF~ps|U_ulLnnqC', '_t~fGfzxbW']
    """
    if not len(lines):
        return []
    sizes = np.array([len(a) for a in lines], dtype=np.int64)
    if not sizes.sum():
        return [""] * len(lines)
    factor = 10**precision
    pts = np.concatenate([np.asarray(a, dtype=float).reshape(-1, 2) for a in lines])
    ints = np.round(pts * factor).astype(np.int64)
    deltas = np.diff(ints, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    starts = np.cumsum(sizes) - sizes
    first = starts[sizes > 0]
    deltas[first] = ints[first]  # each line starts from zero
    vals = deltas.ravel()
    v = np.where(vals < 0, ~(vals << 1), vals << 1)
    # Five bits per character, low bits first; 0x20 marks that another character follows.
    n_chunks = max(1, -(-int(v.max()).bit_length() // 5))
    chunks = np.stack([(v >> (5 * k)) & 0x1F for k in range(n_chunks)], axis=1)
    present = np.stack(
        [np.ones(len(v), dtype=bool)] + [(v >> (5 * k)) > 0 for k in range(1, n_chunks)], axis=1
    )
    more = np.zeros_like(present)
    more[:, :-1] = present[:, 1:]
    codes = (chunks | np.where(more, 0x20, 0)) + 63
    text = codes[present].astype(np.uint8).tobytes().decode("ascii")
    per_value = present.sum(axis=1)
    per_line = (
        np.add.reduceat(per_value, 2 * starts[sizes > 0]) if len(first) else np.zeros(0, dtype=np.int64)
    )
    lengths = np.zeros(len(lines), dtype=np.int64)
    lengths[sizes > 0] = per_line
    ends = np.cumsum(lengths)
    return [text[e - n : e] for e, n in zip(ends.tolist(), lengths.tolist(), strict=True)]


def route_block(
    routes: Routes,
    plot_ids: pd.Index,
    crs: CRS | str,
    labels: Mapping[str, str],
    colours: Mapping[str, str],
    tolerance_m: float = 1.5,
) -> dict[str, Any]:
    """Routes per plot (in the order of ``plot_ids``) as ``[distance_m, amenity name, encoded polyline]`` per category."""
    cats = list(routes.categories)
    table = routes.table
    by_plot: list[list[Any] | None] = [None] * len(plot_ids)
    if len(table):
        where = pd.Index(plot_ids.astype(str)).get_indexer(table["plot_id"].astype(str))
        k_of = {c: k for k, c in enumerate(cats)}
        wgs = to_wgs84(simplify_m(table.geometry.to_numpy(), tolerance_m), crs)
        for i, cat, dist, name, line in zip(
            where.tolist(), table["category"], table["distance_m"], table["amenity"], wgs, strict=True
        ):
            if i < 0 or cat not in k_of:
                continue
            row = by_plot[i] or [None] * len(cats)
            latlon = shapely.get_coordinates(line)[:, ::-1]
            row[k_of[cat]] = [round(float(dist), 1), str(name), encode_polyline(latlon)]
            by_plot[i] = row
    return {
        "categories": [{"name": c, "label": labels[c], "colour": colours[c]} for c in cats],
        "by_plot": by_plot,
    }


def amenity_points(amenities: gpd.GeoDataFrame, crs: CRS | str) -> pd.DataFrame:
    """Amenities as ``category``, ``lat``, ``lon``, ``name`` (one representative point each)."""
    if len(amenities) == 0:
        return pd.DataFrame({"category": [], "lat": [], "lon": [], "name": []})
    pts = to_wgs84(shapely.point_on_surface(amenities.geometry.to_numpy()), crs)
    xy = shapely.get_coordinates(pts)
    name = amenities["name"] if "name" in amenities.columns else pd.Series("", index=amenities.index)
    return pd.DataFrame(
        {
            "category": amenities["category"].to_numpy(),
            "lat": xy[:, 1],
            "lon": xy[:, 0],
            "name": name.fillna("").astype(str).to_numpy(),
        }
    )


def to_script_json(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` block (no ``</`` inside, no NaN)."""
    return script_json(data)
