"""The noise model's compact forms give the same grids as the plain ones they replaced.

The bilinear deposition (:mod:`sitefinder.noisemodel.splat`) against ``np.bincount`` over
the four corners' entries (the earlier implementation, written out here), bit for bit; the
WKB screens (:class:`~sitefinder.noisemodel.buildings.Screens`) against
:func:`~sitefinder.noisemodel.buildings.height_raster` of the frame.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity
from affine import Affine

from sitefinder.noisemodel.buildings import Screens, height_raster
from sitefinder.noisemodel.splat import deposit


def _bincount_deposit(
    xy: np.ndarray, x0: float, y0: float, res: float, shape: tuple[int, int], power: np.ndarray
) -> np.ndarray:
    rows, cols = shape
    fx = (xy[:, 0] - x0) / res - 0.5
    fy = (y0 - xy[:, 1]) / res - 0.5
    ix, iy = np.floor(fx).astype(np.intp), np.floor(fy).astype(np.intp)
    ax, ay = fx - ix, fy - iy
    flat, weight, sample = [], [], []
    for dy, dx, w in (
        (0, 0, (1 - ax) * (1 - ay)),
        (0, 1, ax * (1 - ay)),
        (1, 0, (1 - ax) * ay),
        (1, 1, ax * ay),
    ):
        r, c = iy + dy, ix + dx
        ok = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        flat.append(r[ok] * cols + c[ok])
        weight.append(w[ok])
        sample.append(np.flatnonzero(ok))
    f, w, s = np.concatenate(flat), np.concatenate(weight), np.concatenate(sample)
    return np.bincount(f, weights=w * power[s], minlength=rows * cols).reshape(shape)


def test_deposit_equals_bincount_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    # Samples in RD-like coordinates, some outside the grid and some on its edge cells.
    n = 20_000
    x0, y0, res, shape = 140_000.0, 480_000.0, 10.0, (57, 83)
    xy = np.column_stack(
        [rng.uniform(x0 - 30, x0 + 83 * res + 30, n), rng.uniform(y0 - 57 * res - 30, y0 + 30, n)]
    )
    source = rng.integers(0, 300, n)
    length = rng.uniform(0.5, 5.0, n)
    power = 10 ** rng.uniform(-2, 6, 300)
    got = deposit(xy, x0, y0, res, shape[0], shape[1], power, source, length, np.arange(n))
    want = _bincount_deposit(xy, x0, y0, res, shape, power[source] * length)
    assert got.dtype == np.float64
    assert np.array_equal(got, want)
    # Only the samples within a cell of the grid: the same grid, bit for bit.
    x, y = xy[:, 0], xy[:, 1]
    near = np.flatnonzero((x >= x0 - res) & (x <= x0 + 84 * res) & (y <= y0 + res) & (y >= y0 - 58 * res))
    assert 0 < len(near) < n
    assert np.array_equal(deposit(xy, x0, y0, res, shape[0], shape[1], power, source, length, near), want)
    # Power is conserved where all four corners are inside.
    assert want.sum() < (power[source] * length).sum()


def test_screens_raster_equals_height_raster_of_the_frame() -> None:
    rng = np.random.default_rng(3)
    # 400 rotated rectangles and L-shapes (MultiPolygons, as the cut writes them), overlapping.
    geoms = []
    for _ in range(400):
        cx, cy = rng.uniform(0, 600, 2)
        box = shapely.affinity.rotate(shapely.box(cx, cy, cx + rng.uniform(5, 40), cy + rng.uniform(5, 25)),
                                      rng.uniform(0, 90))  # fmt: skip
        if rng.random() < 0.3:
            box = box.union(shapely.box(cx, cy, cx + 6, cy + 30))
        geoms.append(shapely.MultiPolygon([box]) if box.geom_type == "Polygon" else box)
    frame = gpd.GeoDataFrame({"height_m": rng.choice([3.0, 6.0, 9.0, 12.0, 21.0], 400)}, geometry=geoms)
    screens = Screens.from_frame(frame)
    assert len(screens) == 400
    for left, top, shape in ((0.0, 600.0, (60, 60)), (155.0, 410.0, (23, 31)), (-50.0, 700.0, (90, 75))):
        transform = Affine(10.0, 0.0, left, 0.0, -10.0, top)
        want = height_raster(frame, transform, shape)
        assert want.any()
        assert np.array_equal(screens.raster(transform, shape), want)
    # A window with no building in it.
    empty = Affine(10.0, 0.0, 5000.0, 0.0, -10.0, 5000.0)
    assert not screens.raster(empty, (8, 8)).any()
