"""Straight-line distance from many points to the nearest of some geometries, as GEOS measures it.

``shapely.STRtree.query_nearest`` answers one point at a time, and for a long line it
measures the whole line (every segment) for every point that may be near it. A suitability
surface asks this for some 10^5 cell centres, so two shapes of the question are answered
faster, with the same doubles:

* point features: a k-d tree (scipy), whose Euclidean distance is
  ``sqrt(dx * dx + dy * dy)``, the operations of GEOS's point-to-point distance;
* lines (and polygon outlines, as the edge of the data): the lines taken apart into their
  segments, each its own two-point line in the STRtree: GEOS's distance from a point to a
  line is the smallest of its distances to the line's segments (``Distance::pointToSegment``
  on each), so the nearest segment gives the same value while the search measures only
  the segments near the point.

Anything else (polygon features, mixtures) goes to ``query_nearest`` on the geometries
themselves. The tests compare all three paths with ``query_nearest`` bit for bit.
"""

from __future__ import annotations

import numpy as np
import shapely

_POINT = 0
_LINES = (1, 2, 5)  # LineString, LinearRing, MultiLineString


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


def nearest_distance(points: np.ndarray, geoms: np.ndarray, max_distance: float) -> np.ndarray:
    """Distance from each point to the nearest of ``geoms``; NaN where none lies within ``max_distance``.

    The same values as ``STRtree(geoms).query_nearest(points, max_distance=...,
    return_distance=True)`` (see the module's description of the faster paths).

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
    query_points = bool((shapely.get_type_id(points) == _POINT).all())
    if query_points and kinds == {_POINT}:
        from scipy.spatial import cKDTree

        d, _ = cKDTree(shapely.get_coordinates(geoms)).query(shapely.get_coordinates(points), k=1)
        return np.where(d <= max_distance, d, np.nan)
    tree_geoms = segments(geoms)[0] if query_points and kinds <= set(_LINES) else geoms
    (pi, _), d = shapely.STRtree(tree_geoms).query_nearest(
        points, max_distance=max_distance if np.isfinite(max_distance) else None, return_distance=True,
        all_matches=False,
    )  # fmt: skip
    dist[pi] = d
    return dist
