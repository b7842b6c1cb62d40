"""Nearest distances from many points (sitefinder.nearest): the same doubles as shapely's query_nearest."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from sitefinder.coverage import covered_radius
from sitefinder.nearest import nearest_distance, nearest_line, segments


def _reference(points: np.ndarray, geoms: np.ndarray, max_distance: float) -> np.ndarray:
    (pi, _), d = shapely.STRtree(geoms).query_nearest(
        points, max_distance=max_distance, return_distance=True, all_matches=False
    )
    out = np.full(len(points), np.nan)
    out[pi] = d
    return out


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return shapely.points(150_000 + rng.random(n) * 3000, 450_000 + rng.random(n) * 3000)


def _lines(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(2, 12))
        start = np.array([150_000.0, 450_000.0]) + rng.random(2) * 3000
        out.append(shapely.LineString(start + np.cumsum(rng.normal(0, 80, (k, 2)), axis=0)))
    return np.array(out, dtype=object)


def test_distance_to_a_line_and_a_point_by_hand() -> None:
    # (0, 3) is 3 m above the segment; (10, 0) is 5 m from (13, 4) (a 3-4-5 triangle) and
    # exactly at the search limit, which counts as found (as in query_nearest).
    line = np.array([shapely.LineString([(-1, 0), (1, 0)])])
    assert nearest_distance(shapely.points([0.0, 2.0], [3.0, 0.0]), line, 10.0).tolist() == [3.0, 1.0]
    pts = shapely.points([10.0, 10.0], [0.0, 100.0])
    got = nearest_distance(pts, np.array([shapely.Point(13, 4)]), 5.0)
    assert got[0] == 5.0 and np.isnan(got[1])


@pytest.mark.parametrize("max_distance", [150.0, 5000.0, np.inf])
def test_lines_equal_query_nearest_bit_for_bit(max_distance: float) -> None:
    pts, lines = _points(3000, 1), _lines(40, 2)
    got = nearest_distance(pts, lines, max_distance)
    ref = _reference(pts, lines, max_distance if np.isfinite(max_distance) else None)  # type: ignore[arg-type]
    assert np.array_equal(got, ref, equal_nan=True)
    if max_distance == 150.0:
        assert np.isnan(got).any() and np.isfinite(got).any()  # both cases occur


def test_points_equal_query_nearest_bit_for_bit() -> None:
    pts, feats = _points(3000, 3), _points(60, 4)
    assert np.array_equal(nearest_distance(pts, feats, 400.0), _reference(pts, feats, 400.0), equal_nan=True)


def test_polygons_and_mixtures_equal_query_nearest() -> None:
    pts = _points(2000, 5)
    polys = shapely.buffer(_points(30, 6), 60.0)
    mixed = np.concatenate([polys, _lines(5, 7), _points(5, 8), np.array([None, shapely.Point()])])
    for feats in (polys, mixed):
        ref = _reference(pts, feats[~shapely.is_missing(feats)], 5000.0)
        assert np.array_equal(nearest_distance(pts, feats, 5000.0), ref, equal_nan=True)
    assert np.isnan(nearest_distance(pts[:3], np.array([], dtype=object), 10.0)).all()


def test_segments_of_lines() -> None:
    multi = shapely.MultiLineString([[(0, 0), (1, 0)], [(5, 5), (5, 6), (6, 6)]])
    segs, owner = segments(np.array([shapely.LineString([(9, 9), (9, 8)]), multi]))
    assert [s.wkt for s in segs] == [
        "LINESTRING (9 9, 9 8)", "LINESTRING (0 0, 1 0)", "LINESTRING (5 5, 5 6)", "LINESTRING (5 6, 6 6)",
    ]  # fmt: skip
    assert owner.tolist() == [0, 1, 1, 1]


def test_covered_radius_of_points_is_the_distance_to_the_edge() -> None:
    hole = [(450, 150), (550, 150), (550, 250), (450, 250)]
    area = shapely.Polygon([(0, 0), (1000, 0), (1000, 400), (0, 400)], holes=[hole])
    pts = shapely.points([100.0, 500.0, 500.0, 1200.0, 430.0], [200.0, 50.0, 200.0, 200.0, 200.0])
    # 100 m from the west edge; 50 m from the south edge; in the hole and outside: 0;
    # 20 m from the hole's west side.
    assert covered_radius(pts, area).tolist() == [100.0, 50.0, 0.0, 0.0, 20.0]
    many = _points(2000, 9)
    box = shapely.box(150_200, 450_300, 152_900, 452_700)
    expect = np.where(shapely.contains(box, many), np.round(shapely.distance(many, box.boundary), 1), 0.0)
    assert np.array_equal(covered_radius(many, box), expect)


@pytest.mark.parametrize("max_distance", [40.0, 900.0, np.inf])
def test_many_segments_in_many_bins_equal_query_nearest(max_distance: float) -> None:
    # 600 lines (some 4,000 segments in about as many bins) and points reaching 2 km past
    # them, so that searches run over many rings, stop at max_distance or at the grid's edge.
    rng = np.random.default_rng(11)
    pts = shapely.points(148_000 + rng.random(4000) * 7000, 448_000 + rng.random(4000) * 7000)
    lines = _lines(600, 12)
    got = nearest_distance(pts, lines, max_distance)
    ref = _reference(pts, lines, max_distance if np.isfinite(max_distance) else None)  # type: ignore[arg-type]
    assert np.array_equal(got, ref, equal_nan=True)


def test_points_in_holes_on_edges_and_on_vertices_equal_query_nearest() -> None:
    ring = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]
    poly = shapely.Polygon(ring, holes=[[(40.0, 40.0), (60.0, 40.0), (60.0, 60.0), (40.0, 60.0)]])
    line = shapely.LineString([(200.0, 0.0), (200.0, 0.0 + 1e-9), (300.0, 50.0)])
    feats = np.array([poly, line, shapely.MultiPoint([(150.0, 150.0), (150.0, 150.0)])])
    xs = [50.0, 40.0, 100.0, 150.0, 250.0, 200.0, 120.0, 45.0, -30.0]
    ys = [50.0, 50.0, 100.0, 150.0, 20.0, 0.0, 130.0, 41.0, -40.0]
    pts = shapely.points(xs, ys)
    got = nearest_distance(pts, feats, 1000.0)
    assert np.array_equal(got, _reference(pts, feats, 1000.0), equal_nan=True)
    assert got[0] == 10.0 and got[1] == 0.0 and got[2] == 0.0 and got[3] == 0.0


def test_nearest_line_index_and_distance_equal_query_nearest() -> None:
    pts, lines = _points(3000, 13), _lines(300, 14)
    idx, dist = nearest_line(pts, lines, 60.0)
    (pi, _), d = shapely.STRtree(lines).query_nearest(pts, max_distance=60.0, return_distance=True)
    ref = np.full(len(pts), np.inf)
    ref[pi] = d
    assert np.array_equal(dist, ref)
    assert ((idx >= 0) == np.isfinite(ref)).all() and (idx >= 0).any() and (idx < 0).any()
    # The line found is at that distance (query_nearest's pick among ties may differ).
    ok = idx >= 0
    assert np.array_equal(shapely.distance(pts[ok], lines[idx[ok]]), dist[ok])


def test_nearest_line_ties_go_to_the_lowest_index() -> None:
    star = np.array([shapely.LineString([(0, 0), (x, y)]) for x, y in [(10, 0), (0, 10), (-10, 0), (0, -10)]])
    idx, dist = nearest_line(shapely.points([0.0, 0.0], [0.0, -20.0]), star[::-1], 50.0)
    assert idx.tolist() == [0, 0] and dist.tolist() == [0.0, 10.0]


def test_importing_nearest_does_not_import_numba() -> None:
    # The kernels live in sitefinder.nearestkernel, imported on the first bulk query: a
    # warm run that computes no distance (and `import sitefinder.pipeline`) pays no numba start-up.
    import subprocess
    import sys

    code = "import sys, sitefinder.nearest, sitefinder.coverage\nprint('numba' in sys.modules)\n"
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert res.stdout.strip() == "False"
