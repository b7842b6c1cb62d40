"""Straight-line distance from many points to the nearest of some geometries, as GEOS measures it.

``shapely.STRtree.query_nearest`` answers one point at a time (some 6-15 µs each, most of
it the generic tree search), and a suitability surface asks for some 10^5 cell centres,
five times. Points queried against points, lines and polygons are answered in bulk, with
the same doubles:

* point features: a k-d tree (scipy), whose Euclidean distance is
  ``sqrt(dx * dx + dy * dy)``, the operations of GEOS's point-to-point distance;
* lines, polygons and mixtures: every geometry is taken apart into segments
  (:func:`segment_ends`: a point is a segment of length 0, a polygon its rings'
  segments). GEOS's distance from a point to a line or ring is the smallest of
  ``Distance::pointToSegment`` over its segments; :mod:`sitefinder.nearestkernel` repeats that
  function's arithmetic in a compiled kernel (numba, ``cache=True`` like the noise
  kernel). The segments are listed in the bins of a uniform grid that their boxes meet,
  and each point searches rings of bins outward from its own until the edge of the
  searched square lies farther than the best distance found (or ``max_distance``);
* a point inside (or on) a polygon is at distance 0, found by one bulk ``intersects``.

Anything else (geometry collections, non-point queries) goes to ``query_nearest`` on the
geometries themselves. The tests compare all paths with ``query_nearest`` bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

_POINT = 0
_LINES = (1, 2, 5)  # LineString, LinearRing, MultiLineString
_POLYGONS = (3, 6)  # Polygon, MultiPolygon
_BULK = {_POINT, 4, *_LINES, *_POLYGONS}  # 4: MultiPoint


def segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The segments of line geometries as two-point LineStrings, with the index of the geometry of each.

    >>> segs, owner = segments(np.array([shapely.LineString([(0, 0), (1, 0), (1, 1)])]))
    >>> [s.wkt for s in segs], owner.tolist()
    (['LINESTRING (0 0, 1 0)', 'LINESTRING (1 0, 1 1)'], [0, 0])
    """
    parts, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    pairs = np.stack([xy[:-1][same], xy[1:][same]], axis=1)
    return shapely.linestrings(pairs), owner[idx[:-1][same]]


def segment_ends(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end (n, 2) of every segment of points, lines and polygon rings (a point: start = end).

    Also the index in ``geoms`` of the geometry of each segment.

    >>> a, b, owner = segment_ends(np.array([shapely.Point(5, 5), shapely.LineString([(0, 0), (1, 0), (1, 1)])]))
    >>> a.tolist(), b.tolist(), owner.tolist()
    ([[5.0, 5.0], [0.0, 0.0], [1.0, 0.0]], [[5.0, 5.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1])
    """
    geoms = np.asarray(geoms, dtype=object)
    kind = shapely.get_type_id(geoms)
    if np.isin(kind, (4, 5, 6, 7)).any():  # multi-part: its parts (copies, so only when needed)
        parts, part_owner = shapely.get_parts(geoms, return_index=True)
        kind = shapely.get_type_id(parts)
    else:
        parts, part_owner = geoms, np.arange(len(geoms))
    is_point, is_line, is_poly = kind == _POINT, np.isin(kind, _LINES), kind == 3
    rings, ring_part = shapely.get_rings(parts[is_poly], return_index=True)
    lines = np.concatenate([parts[is_line], rings])
    line_owner = np.concatenate([part_owner[is_line], part_owner[is_poly][ring_part]])
    points = shapely.get_coordinates(parts[is_point])
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    owner = np.concatenate([part_owner[is_point], line_owner[idx[:-1][same]]]).astype(np.int64)
    return np.concatenate([points, xy[:-1][same]]), np.concatenate([points, xy[1:][same]]), owner


def _segment_search(
    points: np.ndarray, geoms: np.ndarray, max_distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each Point to the nearest segment of ``geoms`` (inf beyond ``max_distance``), and its geometry."""
    from sitefinder.nearestkernel import grid_nearest, register  # numba: imported where used

    a, b, owner = segment_ends(geoms)
    pxy = shapely.get_coordinates(points)
    dist, own = np.full(len(points), np.inf), np.full(len(points), -1, dtype=np.int64)
    if len(a):
        allxy = np.concatenate([a, b, pxy])
        x0, y0 = allxy.min(axis=0)
        w, h = allxy.max(axis=0) - (x0, y0)
        cell = max(math.sqrt(w * h / len(a)), max(w, h) / 4096.0, 1e-3)
        nx, ny = int(w // cell) + 1, int(h // cell) + 1
        start, members = register(a[:, 0], a[:, 1], b[:, 0], b[:, 1], x0, y0, cell, nx, ny)
        dist, own = grid_nearest(pxy[:, 0].copy(), pxy[:, 1].copy(), a[:, 0].copy(), a[:, 1].copy(),
                                  b[:, 0].copy(), b[:, 1].copy(), owner, x0, y0, cell, nx, ny, start, members,
                                  max_distance)  # fmt: skip
    return dist, own


def nearest_line(points: np.ndarray, lines: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """The nearest of ``lines`` to each Point within ``max_distance``, and its distance.

    The distances are GEOS's (as ``query_nearest``); among lines at the same distance
    (a point nearest to a node several lines share) the one of the lowest index.

    Parameters
    ----------
    points : numpy.ndarray
        Shapely Points.
    lines : numpy.ndarray
        Shapely LineStrings (no missing or empty ones), same CRS.
    max_distance : float
        Lines farther than this are not looked for.

    Returns
    -------
    index, distance : numpy.ndarray
        Index into ``lines`` (-1 where none lies within reach) and the distance (inf there).

    >>> lines = np.array([shapely.LineString([(0, 0), (1, 0)]), shapely.LineString([(1, 0), (1, 1)])])
    >>> i, d = nearest_line(shapely.points([2.0, 0.5, 9.0], [0.0, 0.5, 9.0]), lines, 5.0)
    >>> i.tolist(), d.tolist()
    ([0, 0, -1], [1.0, 0.5, inf])
    """
    dist, own = _segment_search(
        np.asarray(points, dtype=object), np.asarray(lines, dtype=object), max_distance
    )
    far = ~(dist <= max_distance)
    dist[far], own[far] = np.inf, -1
    return own, dist


def _bulk_distance(points: np.ndarray, geoms: np.ndarray, max_distance: float) -> np.ndarray:
    """:func:`nearest_distance` for Points against points, lines and polygons (see the module)."""
    dist, _ = _segment_search(points, geoms, max_distance)
    polys = geoms[np.isin(shapely.get_type_id(geoms), _POLYGONS)]
    if len(polys):
        pi, _ = shapely.STRtree(polys).query(points, predicate="intersects")
        dist[pi] = 0.0
    return np.where(dist <= max_distance, dist, np.nan)


def nearest_distance(points: np.ndarray, geoms: np.ndarray, max_distance: float) -> np.ndarray:
    """Distance from each point to the nearest of ``geoms``; NaN where none lies within ``max_distance``.

    The same values as ``STRtree(geoms).query_nearest(points, max_distance=...,
    return_distance=True)`` (see the module's description of the faster path).

    Parameters
    ----------
    points : numpy.ndarray
        Shapely Points (the query; other geometries are measured by ``query_nearest``).
    geoms : numpy.ndarray
        Shapely geometries, same CRS.
    max_distance : float
        Geometries farther than this are not looked for.

    >>> pts = shapely.points([0.0, 10.0], [3.0, 0.0])
    >>> nearest_distance(pts, np.array([shapely.LineString([(-1, 0), (1, 0)])]), 5.0).tolist()
    [3.0, nan]
    """
    points = np.asarray(points, dtype=object)
    geoms = np.asarray(geoms, dtype=object)
    dist = np.full(len(points), np.nan)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    if not len(points) or not len(geoms):
        return dist
    kinds = set(np.unique(shapely.get_type_id(geoms)).tolist())
    query_points = bool((shapely.get_type_id(points) == _POINT).all()) and not shapely.is_empty(points).any()
    if query_points and kinds == {_POINT}:
        from scipy.spatial import cKDTree

        d, _ = cKDTree(shapely.get_coordinates(geoms)).query(shapely.get_coordinates(points), k=1)
        return np.where(d <= max_distance, d, np.nan)
    if query_points and kinds <= _BULK and not math.isnan(max_distance):
        return _bulk_distance(points, geoms, max_distance)
    (pi, _), d = shapely.STRtree(geoms).query_nearest(
        points, max_distance=max_distance if np.isfinite(max_distance) else None, return_distance=True,
        all_matches=False,
    )  # fmt: skip
    dist[pi] = d
    return dist
