"""Walking routes from each plot to its nearest amenity of a category, as line geometries.

The accessibility engine (:mod:`sitefinder.network`) gives distances only. For maps we
also want to *see* the route. This module repeats the engine's search for a few
categories with the same public building blocks, adding predecessors:

* :func:`sitefinder.network.with_sources` appends one virtual source joined to every
  access point of the category; ``scipy.sparse.csgraph.dijkstra(...,
  return_predecessors=True)`` from it gives the shortest-path tree over the nodes;
* a plot's distance is the engine's edge-end formula over its access points
  (through the ``u`` or ``v`` node of the point's edge, or straight along the edge
  to an amenity point on the same edge), so the route's length equals the plot's
  ``dist_<category>_m``;
* the predecessor chain from the chosen end node back to the source is drawn along
  the street geometries, and the first and last pieces along the snapped edges.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import nearest_points, substring

from sitefinder.datatypes import ROUTE_COLUMNS, Routes
from sitefinder.indicators.access import AccessResult
from sitefinder.network import Snap, WalkNetwork, with_sources

log = logging.getLogger(__name__)

#: Categories whose nearest walking route is kept and drawn when a plot is clicked on the
#: map (the seniors' daily "triple A" minus the pharmacy, plus public transport; see DOMAIN.md).
ROUTE_CATEGORIES = ("supermarket", "gp", "pt_stop")

_NO_PRED = -9999  # scipy's marker for "no predecessor"


@dataclass(frozen=True)
class Route:
    """The walking route from one plot to its nearest amenity of one category.

    Attributes
    ----------
    distance_m : float
        Walking distance in metres, as in the ``dist_<category>_m`` indicator.
    amenity : int
        Position of the amenity within the category's rows of the amenities frame
        (the order :func:`sitefinder.indicators.access.accessibility` used).
    line : shapely.LineString
        The route from the plot's edge to the amenity, working CRS.
    """

    distance_m: float
    amenity: int
    line: shapely.LineString


class _Geometry:
    """Street geometry lookups: pieces of edges and the edge between two nodes."""

    def __init__(self, net: WalkNetwork) -> None:
        self.net = net
        n = max(net.n_nodes, 1)
        lo = np.minimum(net.edge_u, net.edge_v)
        hi = np.maximum(net.edge_u, net.edge_v)
        key = lo.astype(np.int64) * n + hi
        self._order = np.argsort(key, kind="stable")
        self._keys = key[self._order]
        self._n = n
        self._hops: dict[tuple[int, int], np.ndarray] = {}

    def frac(self, e: int, along: float) -> float:
        length = float(self.net.edge_len[e])
        return min(max(along / length, 0.0), 1.0) if length > 0 else 0.0

    def piece(self, e: int, start: float, end: float) -> np.ndarray:
        """Coordinates along edge ``e`` from fraction ``start`` to ``end`` (either direction)."""
        geom = self.net.edge_geom[e]
        if start == end:
            pt = shapely.line_interpolate_point(geom, start, normalized=True)
            return shapely.get_coordinates(pt)
        return shapely.get_coordinates(substring(geom, start, end, normalized=True))

    def node_end(self, e: int, node: int) -> float:
        """0.0 when ``node`` is the ``u`` end of edge ``e``, else 1.0."""
        return 0.0 if int(self.net.edge_u[e]) == node else 1.0

    def hop(self, a: int, b: int, weight: float) -> np.ndarray:
        """Coordinates from node ``a`` to neighbouring node ``b`` along the street.

        Of parallel edges, the one whose length is closest to ``weight`` (the graph
        keeps the shortest).
        """
        got = self._hops.get((a, b))
        if got is not None:
            return got
        key = min(a, b) * self._n + max(a, b)
        lo, hi = np.searchsorted(self._keys, [key, key + 1])
        net = self.net
        if hi > lo:
            cands = self._order[lo:hi]
            e = int(cands[np.argmin(np.abs(net.edge_len[cands] - weight))])
            coords = shapely.get_coordinates(net.edge_geom[e])
            coords = coords if int(net.edge_u[e]) == a else coords[::-1]
        else:
            coords = net.node_xy[[a, b]]
        self._hops[(a, b)] = coords
        return coords


def _best_points(
    net: WalkNetwork, dist: np.ndarray, at: Snap, sources: Snap, n_objects: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each object: its best access point, how it leaves its edge, and the distance.

    Returns
    -------
    point : numpy.ndarray
        Index into ``at`` of the object's best point (-1 when unreachable).
    mode : numpy.ndarray
        0: via the edge's ``u`` node, 1: via ``v``, 2: straight along the edge to a
        source point.
    source : numpy.ndarray
        For mode 2, the index into ``sources`` of that point.
    total : numpy.ndarray
        Distance in metres (``inf`` when unreachable).
    """
    ok = np.flatnonzero(at.ok)
    e = at.edge[ok]
    a = at.along[ok]
    cand = np.stack([dist[net.edge_u[e]] + a, dist[net.edge_v[e]] + net.edge_len[e] - a], axis=1)
    mode = np.argmin(cand, axis=1)
    best = cand[np.arange(len(ok)), mode]
    src_pt = np.full(len(ok), -1, dtype=np.int64)
    src_ok = np.flatnonzero(sources.ok)
    if len(src_ok) and len(ok):
        by_edge: dict[int, list[int]] = {}
        for j in src_ok.tolist():
            by_edge.setdefault(int(sources.edge[j]), []).append(j)
        for k in np.flatnonzero(np.isin(e, sources.edge[src_ok])).tolist():
            for j in by_edge.get(int(e[k]), []):
                d = abs(float(a[k]) - float(sources.along[j])) + float(sources.offset[j])
                if d < best[k]:
                    best[k], mode[k], src_pt[k] = d, 2, j
    total_pt = at.offset[ok] + best
    point = np.full(n_objects, -1, dtype=np.int64)
    total = np.full(n_objects, np.inf)
    if len(ok):
        owner = at.owner[ok]
        order = np.lexsort((total_pt, owner))
        first = np.ones(len(order), dtype=bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        pick = order[first]
        point[owner[pick]] = ok[pick]
        total[owner[pick]] = total_pt[pick]
    modes = np.full(len(at), -1, dtype=np.int64)
    srcs = np.full(len(at), -1, dtype=np.int64)
    modes[ok] = mode
    srcs[ok] = src_pt
    return point, modes, srcs, total


def _entry_point(net: WalkNetwork, sources: Snap, node: int, dist_at_node: float) -> int:
    """The source point whose virtual edge reaches ``node`` at ``dist_at_node`` (or the closest)."""
    ok = sources.ok
    e = sources.edge
    at_u = ok & (net.edge_u[np.maximum(e, 0)] == node)
    at_v = ok & (net.edge_v[np.maximum(e, 0)] == node)
    cost = np.full(len(sources), np.inf)
    cost[at_u] = sources.offset[at_u] + sources.along[at_u]
    cost[at_v] = np.minimum(cost[at_v], sources.offset[at_v] + net.edge_len[e[at_v]] - sources.along[at_v])
    return int(np.argmin(np.abs(cost - dist_at_node))) if np.isfinite(cost).any() else -1


def nearest_routes(
    net: WalkNetwork,
    access: AccessResult,
    plots: gpd.GeoDataFrame,
    amenities: gpd.GeoDataFrame,
    categories: Sequence[str],
) -> dict[str, list[Route | None]]:
    """The walking route from every plot to its nearest amenity of each category.

    Parameters
    ----------
    net : WalkNetwork
        The network the accessibility was computed on.
    access : AccessResult
        What :func:`sitefinder.indicators.access.accessibility` returned for ``plots``.
    plots : geopandas.GeoDataFrame
        The plots, in the order used for ``access``.
    amenities : geopandas.GeoDataFrame
        Classified amenities (``category`` column), as passed to the accessibility.
    categories : sequence of str
        Categories to route to; categories the accessibility did not compute are skipped.

    Returns
    -------
    dict
        ``category -> list`` over plots (positional) of :class:`Route`, or None where
        no amenity of the category is reachable.
    """
    geo = _Geometry(net)
    n = net.n_nodes
    plot_geoms = plots.geometry.to_numpy()
    ps = access.plot_snap
    out: dict[str, list[Route | None]] = {}
    for cat in categories:
        src = access.amenity_snaps.get(cat)
        if src is None:
            continue
        routes: list[Route | None] = [None] * len(plots)
        out[cat] = routes
        if not src.ok.any() or n == 0:
            continue
        cat_geoms = amenities.loc[amenities["category"] == cat].geometry.to_numpy()
        mat = with_sources(net, src, np.zeros(len(src), dtype=np.int64), 1)
        from scipy.sparse.csgraph import dijkstra  # scipy.sparse.linalg behind it: only when searched

        dist, pred = dijkstra(mat, directed=True, indices=n, return_predecessors=True)
        point, mode, src_pt, total = _best_points(net, dist, ps, src, len(plots))
        for i in np.flatnonzero(np.isfinite(total)).tolist():
            k = int(point[i])
            e = int(ps.edge[k])
            f0 = geo.frac(e, float(ps.along[k]))
            parts: list[np.ndarray] = []
            if mode[k] == 2:
                j = int(src_pt[k])
                parts.append(geo.piece(e, f0, geo.frac(e, float(src.along[j]))))
            else:
                node = int(net.edge_u[e] if mode[k] == 0 else net.edge_v[e])
                parts.append(geo.piece(e, f0, 0.0 if mode[k] == 0 else 1.0))
                while int(pred[node]) not in (n, _NO_PRED):
                    nxt = int(pred[node])
                    parts.append(geo.hop(node, nxt, float(dist[node] - dist[nxt])))
                    node = nxt
                j = _entry_point(net, src, node, float(dist[node]))
                if j >= 0:
                    ej = int(src.edge[j])
                    parts.append(geo.piece(ej, geo.node_end(ej, node), geo.frac(ej, float(src.along[j]))))
            amenity = int(src.owner[j]) if j >= 0 else -1
            coords = np.concatenate(parts)
            ends = [_nearest_on(plot_geoms[i], coords[0])[None, :], coords]
            if 0 <= amenity < len(cat_geoms):
                ends.append(_nearest_on(cat_geoms[amenity], coords[-1])[None, :])
            coords = np.concatenate(ends)
            keep = np.ones(len(coords), dtype=bool)
            keep[1:] = np.any(np.diff(coords, axis=0) != 0, axis=1)
            coords = coords[keep]
            if len(coords) == 1:
                coords = np.repeat(coords, 2, axis=0)
            routes[i] = Route(float(total[i]), amenity, shapely.LineString(coords))
    got = sum(r is not None for rs in out.values() for r in rs)
    log.debug("Walking routes: %d for %d plots and %d categories", got, len(plots), len(out))
    return out


def _nearest_on(geom: shapely.Geometry, xy: np.ndarray) -> np.ndarray:
    """The point of ``geom`` (its outline, for a polygon) nearest to ``xy``."""
    pt = shapely.Point(xy)
    polygonal = geom.geom_type in ("Polygon", "MultiPolygon")
    if polygonal and geom.contains(pt):
        return np.asarray(xy, dtype=float)
    near = nearest_points(geom.boundary if polygonal else geom, pt)[0]
    return np.asarray(shapely.get_coordinates(near)[0], dtype=float)


def route_table(
    net: WalkNetwork,
    access: AccessResult,
    plots: gpd.GeoDataFrame,
    amenities: gpd.GeoDataFrame,
    categories: Sequence[str],
    indicators: pd.DataFrame | None = None,
) -> Routes:
    """The routes of :func:`nearest_routes` as a table, checked against the distances.

    Parameters
    ----------
    net, access, plots, amenities, categories
        As for :func:`nearest_routes`.
    indicators : pandas.DataFrame, optional
        The plots' indicators: a category whose route lengths differ from its
        ``dist_<category>_m`` (another network than the indicators used) is left out,
        with a warning.

    Returns
    -------
    Routes
    """
    routes = nearest_routes(net, access, plots, amenities, categories)
    for cat in list(routes):
        col = f"dist_{cat}_m"
        if indicators is None or col not in indicators.columns:
            continue
        want = indicators[col].reindex(plots.index).to_numpy(dtype=float)
        got = np.array([np.nan if r is None else r.distance_m for r in routes[cat]])
        if not np.allclose(got, want, atol=0.5, rtol=1e-3, equal_nan=True):
            log.warning("walking routes to %s left out: they do not match %s", cat, col)
            del routes[cat]
    ids = plots.index.astype(str).to_numpy()
    rows: dict[str, list[object]] = {c: [] for c in ROUTE_COLUMNS}
    lines: list[shapely.LineString] = []
    for cat, per_plot in routes.items():
        sel = amenities.loc[amenities["category"] == cat]
        named = sel["name"] if "name" in sel.columns else pd.Series("", index=sel.index)
        names = named.fillna("").astype(str).to_numpy()
        for i, r in enumerate(per_plot):
            if r is None:
                continue
            for key, value in zip(
                ROUTE_COLUMNS,
                (ids[i], cat, r.distance_m, names[r.amenity] if 0 <= r.amenity < len(names) else ""),
                strict=True,
            ):
                rows[key].append(value)
            lines.append(r.line)
    table = gpd.GeoDataFrame(
        {
            "plot_id": pd.Series(rows["plot_id"], dtype=object),
            "category": pd.Series(rows["category"], dtype=object),
            "distance_m": pd.Series(rows["distance_m"], dtype=float),
            "amenity": pd.Series(rows["amenity"], dtype=object),
        },
        geometry=gpd.GeoSeries(lines, crs=plots.crs),
        crs=plots.crs,
    )
    return Routes(categories=tuple(routes), table=table)
