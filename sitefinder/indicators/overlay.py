"""Overlay indicators: where plots (or grid cells) lie relative to a declared vector layer.

Per layer ``<name>``:

* ``share_in_<name>``: share (0-1) of the plot's area inside the layer's polygons
  (for points, 1 when inside and 0 outside);
* ``in_<name>``: True when any of the plot lies in (or touches a line or point of)
  the layer;
* ``dist_<name>_straight_m``: straight-line distance from the plot's edge to the
  nearest feature (0 when they overlap; NaN beyond ``search_m``);
* ``n_<name>_straight_<d>m``: number of features within ``d`` metres.

These turn a geometric condition ("outside the green-blue network", "not within
500 m of an existing facility") into plain columns, so scoring stays geometry-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sitefinder.nearest import nearest_distance

if TYPE_CHECKING:
    from sitefinder.io.layers import Layer


def proximity(
    geoms: np.ndarray,
    features: np.ndarray,
    name: str,
    count_within_m: Sequence[float],
    search_m: float = 5000.0,
    distance: bool = True,
) -> dict[str, np.ndarray]:
    """Straight-line distance to the nearest feature and counts of features within distances.

    Parameters
    ----------
    geoms : numpy.ndarray
        Shapely geometries (plots or points), working CRS.
    features : numpy.ndarray
        Shapely geometries of the features, same CRS.
    name : str
        Column stem.
    count_within_m : sequence of float
        Radii for the counts.
    search_m : float
        Features farther than this are not looked for (distance NaN).
    distance : bool
        False: only the counts (no ``dist_<name>_straight_m``).

    Returns
    -------
    dict
        ``dist_<name>_straight_m`` and ``n_<name>_straight_<d>m`` arrays.
    """
    n = len(geoms)
    out: dict[str, np.ndarray] = {}
    counts = {d: np.zeros(n, dtype=np.int64) for d in count_within_m}
    if len(features) and n:
        tree = shapely.STRtree(features)
        for r in count_within_m:
            gi2, _ = tree.query(geoms, predicate="dwithin", distance=r)
            counts[r] = np.bincount(gi2, minlength=n).astype(np.int64)
    if distance:
        out[f"dist_{name}_straight_m"] = np.round(nearest_distance(geoms, features, search_m), 1)
    for r in count_within_m:
        out[f"n_{name}_straight_{int(r)}m"] = counts[r]
    return out


def overlay_share(geoms: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Share (0-1) of each geometry's area inside the union of the polygonal ``features``.

    Points count as 1 when inside a feature polygon (or on it) and 0 otherwise.
    """
    n = len(geoms)
    share = np.zeros(n)
    polys = features[np.isin(shapely.get_type_id(features), (3, 6))]
    if not len(polys) or not n:
        return share
    tree = shapely.STRtree(polys)
    gi, fi = tree.query(geoms, predicate="intersects")
    if not len(gi):
        return share
    area = shapely.area(geoms)
    order = np.argsort(gi, kind="stable")
    gi, fi = gi[order], fi[order]
    starts = np.flatnonzero(np.r_[True, gi[1:] != gi[:-1]])
    ends = np.r_[starts[1:], len(gi)]
    for s, e in zip(starts, ends, strict=True):
        g = gi[s]
        if area[g] <= 0:
            share[g] = 1.0
            continue
        inside = shapely.intersection(geoms[g], shapely.union_all(polys[fi[s:e]]))
        share[g] = min(shapely.area(inside) / area[g], 1.0)
    return np.round(share, 4)


def layer_indicators(
    plots: gpd.GeoDataFrame | gpd.GeoSeries,
    name: str,
    features: gpd.GeoSeries,
    count_within_m: Sequence[float] = (500.0, 1000.0),
) -> pd.DataFrame:
    """All overlay indicators of one layer, indexed like ``plots``.

    Parameters
    ----------
    plots : geopandas.GeoDataFrame or GeoSeries
        Plots (or cell points), working CRS.
    name : str
        The layer's name (column stem).
    features : geopandas.GeoSeries
        The layer's geometries, same CRS.
    count_within_m : sequence of float
        Radii for the counts.
    """
    geoms = np.asarray(plots.geometry.to_numpy(), dtype=object)
    feats = np.asarray(features.to_numpy(), dtype=object)
    out = pd.DataFrame(index=plots.index)
    share = overlay_share(geoms, feats)
    out[f"share_in_{name}"] = share
    touches = np.zeros(len(geoms), dtype=bool)
    if len(feats) and len(geoms):
        gi, _ = shapely.STRtree(feats).query(geoms, predicate="intersects")
        touches[gi] = True
    out[f"in_{name}"] = touches
    for col, arr in proximity(geoms, feats, name, count_within_m).items():
        out[col] = arr
    return out


def all_layer_indicators(plots: gpd.GeoDataFrame | gpd.GeoSeries, layers: Sequence[Layer]) -> pd.DataFrame:
    """Overlay indicators of every loaded layer, indexed like ``plots`` (no columns without layers)."""
    parts = [layer_indicators(plots, lay.name, lay.geometry, lay.spec.count_within_m) for lay in layers]
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=plots.index)
