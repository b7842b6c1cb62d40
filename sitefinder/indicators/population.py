"""Who lives nearby: CBS neighbourhood figures spread over homes, summed within walking distances.

Spreading (dasymetric mapping)
------------------------------
CBS gives figures per neighbourhood (buurt), not per address. Each neighbourhood's
figures are spread over where people live in it, in this order of preference:

1. **residential buildings** (OSM ``building=residential|house|apartments|...``) whose
   representative point lies in the neighbourhood: one point per building, weighted by
   its footprint area (a larger block holds more homes; storeys are not known);
2. else **residential land** (OSM ``landuse=residential``) clipped to the
   neighbourhood: points on a regular grid (``cell_m``), equal weights;
3. else the **whole polygon**, the same way.

A neighbourhood's points carry its figures in proportion to their weights, so they
sum to the neighbourhood's figures exactly. A neighbourhood whose figure is unknown
(CBS suppressed it) passes NaN to its points.

Catchments
----------
Per plot, the sum over the points within a walking distance on the network (the same
snapping and edge-end formula as the amenity counts of :mod:`sitefinder.network`).
Points farther than the snapping distance from the network are unreachable and counted
nowhere (logged). When a point with an unknown figure is within reach, the plot's sum
for that figure is unknown (NaN): a lower bound would understate the neighbourhood and
look like a finding.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sitefinder.io.cbs import FIGURES
from sitefinder.network import COUNT_CHUNK_BYTES, Snap, WalkNetwork, _same_edge_pairs, snap, with_sources

log = logging.getLogger(__name__)

#: OSM building values counted as homes.
RESIDENTIAL_BUILDINGS = [
    "residential", "house", "apartments", "detached", "semidetached_house", "terrace",
    "bungalow", "dormitory", "houseboat", "farm",
]  # fmt: skip
#: OSM feature tags to load for the spreading when neighbourhoods are given (the buildings
#: come from the OSM pass of every run).
RESIDENTIAL_TAGS: dict[str, list[str]] = {"landuse": ["residential"]}

#: Indicator column per figure (``<name>_<d>m``).
CATCHMENT_COLUMNS = {"inwoners": "pop_total", "inwoners_65plus": "pop_65plus", "huishoudens": "households"}


@dataclass(frozen=True)
class ResidentialPoints:
    """Points where people live, each carrying its share of its neighbourhood's figures.

    Attributes
    ----------
    points : geopandas.GeoDataFrame
        One row per point: ``bu_code``, ``weight`` and one column per figure.
    basis : pandas.Series
        Per neighbourhood, what its figures were spread over (``buildings``,
        ``landuse``, ``polygon``).
    """

    points: gpd.GeoDataFrame
    basis: pd.Series


def _grid_points(area: object, cell_m: float) -> np.ndarray:
    """Grid points (cell centres) inside ``area``; its representative point when none fall inside."""
    minx, miny, maxx, maxy = shapely.bounds(area)
    xs = np.arange(minx + cell_m / 2, maxx, cell_m)
    ys = np.arange(miny + cell_m / 2, maxy, cell_m)
    gx, gy = np.meshgrid(xs, ys)
    pts = shapely.points(gx.ravel(), gy.ravel())
    inside = pts[shapely.contains(area, pts)] if len(pts) else pts
    if len(inside) == 0:
        inside = np.array([shapely.point_on_surface(area)], dtype=object)
    return np.asarray(inside, dtype=object)


def residential_points(
    neighbourhoods: gpd.GeoDataFrame,
    features: gpd.GeoDataFrame | None,
    cell_m: float = 50.0,
) -> ResidentialPoints:
    """Spread each neighbourhood's figures over its residential buildings, land or polygon.

    Parameters
    ----------
    neighbourhoods : geopandas.GeoDataFrame
        From :mod:`sitefinder.io.cbs`, indexed by ``bu_code``, in the working CRS.
    features : geopandas.GeoDataFrame, optional
        OSM features in the same CRS with ``building`` and/or ``landuse`` columns.
    cell_m : float
        Grid spacing for land and whole-polygon spreading, metres.

    Returns
    -------
    ResidentialPoints
    """
    crs = neighbourhoods.crs
    polys = neighbourhoods.geometry.to_numpy()
    codes = neighbourhoods.index.to_numpy()
    bld_pts = np.empty(0, dtype=object)
    bld_w = np.empty(0)
    land = np.empty(0, dtype=object)
    if features is not None and len(features):
        areal = features[features.geom_type.isin(["Polygon", "MultiPolygon"])]
        if "building" in areal.columns:
            b = areal[areal["building"].isin(RESIDENTIAL_BUILDINGS)]
            bld_pts = shapely.point_on_surface(b.geometry.to_numpy())
            bld_w = np.maximum(shapely.area(b.geometry.to_numpy()), 1.0)
        if "landuse" in areal.columns:
            land = areal[areal["landuse"] == "residential"].geometry.to_numpy()
    tree = shapely.STRtree(polys)
    bld_owner = np.full(len(bld_pts), -1)
    if len(bld_pts):
        pi, ni = tree.query(bld_pts, predicate="within")
        bld_owner[pi] = ni  # a point lies in at most one polygon of a tiling
    land_union = shapely.union_all(land) if len(land) else None
    pts_parts: list[np.ndarray] = []
    w_parts: list[np.ndarray] = []
    own_parts: list[np.ndarray] = []
    basis = []
    for i, poly in enumerate(polys):
        mine = bld_owner == i
        if mine.any():
            pts, w, how = bld_pts[mine], bld_w[mine], "buildings"
        else:
            res = shapely.intersection(poly, land_union) if land_union is not None else None
            if res is not None and shapely.area(res) > cell_m:  # more than a sliver
                pts, how = _grid_points(res, cell_m), "landuse"
            else:
                pts, how = _grid_points(poly, cell_m), "polygon"
            w = np.ones(len(pts))
        pts_parts.append(pts)
        w_parts.append(w / w.sum())
        own_parts.append(np.full(len(pts), i))
        basis.append(how)
    owner = np.concatenate(own_parts) if own_parts else np.empty(0, int)
    share = np.concatenate(w_parts) if w_parts else np.empty(0)
    data: dict[str, object] = {"bu_code": codes[owner], "weight": share}
    for f in FIGURES:
        data[f] = neighbourhoods[f].to_numpy(dtype=float)[owner] * share
    points = gpd.GeoDataFrame(
        data, geometry=np.concatenate(pts_parts) if pts_parts else np.empty(0, object), crs=crs
    )
    bas = pd.Series(basis, index=neighbourhoods.index, name="basis")
    log.info(
        "Spread CBS figures of %d neighbourhoods over %d points (buildings %d, residential land %d, "
        "whole polygon %d neighbourhoods)",
        len(neighbourhoods),
        len(points),
        int((bas == "buildings").sum()),
        int((bas == "landuse").sum()),
        int((bas == "polygon").sum()),
    )
    return ResidentialPoints(points, bas)


def catchment_sums(
    net: WalkNetwork,
    plot_snap: Snap,
    n_plots: int,
    point_snap: Snap,
    values: np.ndarray,
    thresholds_m: Sequence[float],
    max_chunk_bytes: int = COUNT_CHUNK_BYTES,
) -> np.ndarray:
    """Sum of point values within walking distances of each plot.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    plot_snap : Snap
        Plot access points; ``owner`` indexes plots.
    n_plots : int
        Number of plots.
    point_snap : Snap
        One snapped point per row of ``values`` (``owner`` = row).
    values : numpy.ndarray
        ``(n_points, k)`` values; NaN = unknown.
    thresholds_m : sequence of float
        Walking distances, metres.
    max_chunk_bytes : int
        Memory budget of one chunk of distance rows.

    Returns
    -------
    numpy.ndarray
        ``(len(thresholds_m), n_plots, k)`` sums; NaN where an unknown value is within
        reach, and for plots that did not snap to the network.
    """
    k = values.shape[1]
    out = np.zeros((len(thresholds_m), n_plots, k))
    reached = plot_snap.owners_reached(n_plots)
    ok = point_snap.ok
    if n_plots == 0 or not thresholds_m or not ok.any() or net.n_nodes == 0:
        out[:, ~reached, :] = np.nan
        return out
    pts = Snap(point_snap.owner[ok], point_snap.edge[ok], point_snap.along[ok], point_snap.offset[ok])
    vals = values[pts.owner]
    known = np.nan_to_num(vals, nan=0.0)
    unknown = np.isnan(vals).astype(float)
    limit = float(max(thresholds_m))
    mat = with_sources(net, plot_snap, plot_snap.owner, n_plots)
    n = net.n_nodes
    u_m, v_m = net.edge_u[pts.edge], net.edge_v[pts.edge]
    rest = net.edge_len[pts.edge] - pts.along
    pi, aj = _same_edge_pairs(plot_snap.edge, pts.edge)
    direct = plot_snap.offset[pi] + np.abs(plot_snap.along[pi] - pts.along[aj]) + pts.offset[aj]
    direct_plot = plot_snap.owner[pi]
    chunk = int(max(1, min(n_plots, max_chunk_bytes // (8 * (n + n_plots + len(pts))))))
    for start in range(0, n_plots, chunk):
        stop = min(n_plots, start + chunk)
        from scipy.sparse.csgraph import dijkstra  # scipy.sparse.linalg behind it: only when searched

        dist = dijkstra(mat, directed=True, indices=n + np.arange(start, stop), limit=limit)
        d = np.minimum(dist[:, u_m] + pts.along, dist[:, v_m] + rest) + pts.offset
        del dist
        sel = (direct_plot >= start) & (direct_plot < stop)
        if sel.any():
            np.minimum.at(d, (direct_plot[sel] - start, aj[sel]), direct[sel])
        for ti, t in enumerate(thresholds_m):
            within = (d <= t).astype(float)
            s = within @ known
            unk = (within @ unknown) > 0
            out[ti, start:stop] = np.where(unk, np.nan, s)
    out[:, ~reached, :] = np.nan
    return out


def plot_neighbourhood(plots: gpd.GeoDataFrame, neighbourhoods: gpd.GeoDataFrame) -> pd.DataFrame:
    """The neighbourhood each plot lies in (largest overlap) and its figures.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``plots``: ``buurt_code``, ``buurt_naam``, ``buurt_inwoners``,
        ``buurt_65plus``, ``buurt_65plus_pct``, ``buurt_huishoudens`` (NaN/None outside
        every neighbourhood or where CBS suppressed the figure).
    """
    geoms = plots.geometry.to_numpy()
    polys = neighbourhoods.geometry.to_numpy()
    pi, ni = shapely.STRtree(polys).query(geoms, predicate="intersects")
    best = np.full(len(plots), -1)
    if len(pi):
        area = shapely.area(shapely.intersection(geoms[pi], polys[ni]))
        order = np.lexsort((-area, pi))
        first = np.r_[True, pi[order][1:] != pi[order][:-1]]
        best[pi[order][first]] = ni[order][first]
    has = best >= 0
    idx = np.where(has, best, 0)

    def col(name: str) -> np.ndarray:
        v = neighbourhoods[name].to_numpy()[idx] if len(neighbourhoods) else np.full(len(plots), np.nan)
        if v.dtype == object:
            text = np.asarray(v, dtype=object).copy()
            text[~has] = None
            return text
        return np.asarray(np.where(has, v.astype(float), np.nan), dtype=float)

    codes = np.asarray(neighbourhoods.index.to_numpy()[idx], dtype=object).copy()
    codes[~has] = None
    share = col("share_65plus").astype(float)
    return pd.DataFrame(
        {
            "buurt_code": codes,
            "buurt_naam": col("buurt"),
            "buurt_inwoners": col("inwoners").astype(float),
            "buurt_65plus": col("inwoners_65plus").astype(float),
            "buurt_65plus_pct": np.round(100.0 * share, 1),
            "buurt_huishoudens": col("huishoudens").astype(float),
        },
        index=plots.index,
    )


def population_indicators(
    net: WalkNetwork,
    plot_snap: Snap,
    plots: gpd.GeoDataFrame,
    neighbourhoods: gpd.GeoDataFrame,
    points: ResidentialPoints,
    thresholds_m: Sequence[float],
    max_snap_m: float,
) -> pd.DataFrame:
    """Residents, 65+ and households within walking distances, and the plot's own neighbourhood.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``plots``: ``pop_total_<d>m``, ``pop_65plus_<d>m``,
        ``households_<d>m`` per distance (persons / households, rounded to whole
        numbers; NaN = unknown) and the columns of :func:`plot_neighbourhood`.
    """
    pts = points.points
    psnap = snap(net, pts.geometry.to_numpy(), np.arange(len(pts)), max_snap_m)
    figs = list(CATCHMENT_COLUMNS)
    values = pts[figs].to_numpy(dtype=float)
    lost = values[~psnap.ok]
    if len(lost) and np.nansum(lost[:, 0]) > 0:
        log.warning(
            "%.0f residents (%d of %d points) live more than %.0f m from the walking network and are "
            "counted in no catchment",
            np.nansum(lost[:, 0]),
            len(lost),
            len(values),
            max_snap_m,
        )
    sums = catchment_sums(net, plot_snap, len(plots), psnap, values, thresholds_m)
    cols: dict[str, np.ndarray] = {}
    for ti, t in enumerate(thresholds_m):
        for fi, f in enumerate(figs):
            cols[f"{CATCHMENT_COLUMNS[f]}_{int(t)}m"] = np.round(sums[ti, :, fi])
    table = pd.DataFrame(cols, index=plots.index)
    return pd.concat([table, plot_neighbourhood(plots, neighbourhoods)], axis=1)
