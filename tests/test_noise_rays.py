"""The compiled per-ray kernel of the fast screening against path differences worked out by hand.

The tables given to the kernel are linear in ``log10 δ`` and ``log10 (δ' - δ)`` (a
different plane per edge-spacing bin and per reference distance), so their bilinear
lookup is exact and the expected loss ``1 - F`` follows from δ alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sitefinder.noisemodel.rays import sector_losses
from sitefinder.noisemodel.screening import _LOG_DELTA, _LOG_EXTRA, EDGE_BINS_M, _ray_offsets

RES = 10.0
MARGIN = 40
Z_S, Z_R = 0.05, 4.0
REF = np.array([[50.0, 200.0], [300.0, 800.0]])  # the two rings' reference distances


def _plane(u: Any, v: Any, b: int, end: int) -> Any:
    """The factor F the tables hold at log10 δ = u, log10 (δ' - δ) = v, bin b, near/far end."""
    return (0.6 - 0.04 * u + 0.02 * v + 0.05 * b) if end == 0 else (0.5 - 0.03 * u + 0.01 * v + 0.05 * b)


def _tables() -> np.ndarray:
    u = _LOG_DELTA[:, None]
    v = _LOG_EXTRA[None, :]
    ring = np.stack(
        [np.stack([_plane(u, v, b, end) for end in (0, 1)], axis=-1) for b in range(len(EDGE_BINS_M))]
    )
    return np.ascontiguousarray(np.stack([ring, ring]), dtype=np.float32)


def _losses(blocks: dict[int, float], rho: tuple[float, float], receiver_h: float = 0.0) -> np.ndarray:
    """Run the kernel for one receiver and one ray due east, buildings at ``{cells east: height}``."""
    heights = np.zeros((2 * MARGIN + 1, 2 * MARGIN + 1), dtype=np.float32)
    heights[MARGIN, MARGIN] = receiver_h
    for east, h in blocks.items():
        heights[MARGIN, MARGIN + east] = h
    n = np.arange(1, 36)
    offsets = np.stack([np.zeros_like(n), n], axis=-1)[None].astype(np.int64)
    dists = (n * RES).astype(np.float64)[None]
    rho_arr = np.array(rho, dtype=np.float32)[:, None]
    bounds = np.array([[r, r] for r in rho_arr[:, 0]], dtype=np.float64)
    out = sector_losses(
        heights, MARGIN, 1, 1, offsets, dists, np.array([len(n)]), rho_arr, bounds,
        np.array([True, True]), np.array([False, False]), Z_S, Z_R, _tables(), REF,
        np.array(EDGE_BINS_M), (float(_LOG_DELTA[0]), float(_LOG_DELTA[1] - _LOG_DELTA[0]), len(_LOG_DELTA)),
        (float(_LOG_EXTRA[0]), float(_LOG_EXTRA[1] - _LOG_EXTRA[0]), len(_LOG_EXTRA)),
    )  # fmt: skip
    return np.asarray(out[:, 0], dtype=float)


def _expected_loss(delta: float, extra: float, e: float, rho: float, ring: int) -> float:
    b = int(np.searchsorted(EDGE_BINS_M, e, side="right") - 1)
    u, v = math.log10(delta), math.log10(max(extra, 1e-12))
    v = max(v, float(_LOG_EXTRA[0]))
    w = min(max(math.log(rho / REF[ring, 0]) / math.log(REF[ring, 1] / REF[ring, 0]), 0.0), 1.0)
    return 1 - ((1 - w) * _plane(u, v, b, 0) + w * _plane(u, v, b, 1))


def test_one_roof_edge_gives_the_path_difference_over_it() -> None:
    rho = (100.0, 400.0)
    got = _losses({5: 12.0}, rho)  # 12 m high, 50 m east
    for ring, r in enumerate(rho):
        direct = math.hypot(r, Z_R - Z_S)
        ra, bs = math.hypot(50, 12 - Z_R), math.hypot(r - 50, 12 - Z_S)
        delta = ra + bs - direct
        extra = math.hypot(50, 12 + Z_R) - ra - math.hypot(r, Z_R + Z_S) + direct
        assert got[ring] == pytest.approx(_expected_loss(delta, extra, 0.0, r, ring), abs=2e-5)
    assert 0 < got[0] < 1


def test_two_edges_highest_from_receiver_and_from_source_with_their_spacing() -> None:
    r = 100.0
    # From the receiver the 10 m roof at 30 m is steepest, from the source the 12 m roof at 80 m;
    # the 6 m roof at 60 m is below both lines.
    got = _losses({3: 10.0, 6: 6.0, 8: 12.0}, (r, 400.0))
    ra, ab, bs = math.hypot(30, 10 - Z_R), math.hypot(50, 2.0), math.hypot(20, 12 - Z_S)
    direct = math.hypot(r, Z_R - Z_S)
    delta = ra + ab + bs - direct
    extra = math.hypot(30, 10 + Z_R) - ra - math.hypot(r, Z_R + Z_S) + direct
    assert got[0] == pytest.approx(_expected_loss(delta, extra, ab, r, 0), abs=2e-5)
    assert ab > EDGE_BINS_M[-1]  # the widest spacing bin


def test_buildings_beyond_the_source_and_receivers_inside_buildings_do_not_count() -> None:
    got = _losses({12: 30.0}, (100.0, 400.0))  # 120 m east: beyond ring 0's source at 100 m
    assert got[0] == 0.0
    assert got[1] > 0.0  # but before ring 1's at 400 m
    assert (_losses({5: 12.0}, (100.0, 400.0), receiver_h=9.0) == 0.0).all()
    # A roof below the line of sight (a 1 m shed 10 m from a 4 m high receiver) does not screen.
    assert (_losses({1: 1.0}, (100.0, 400.0)) == 0.0).all()


def test_ray_offsets_read_each_cell_once_in_order_up_to_the_reach() -> None:
    steps = np.arange(RES, 350.0 + 1e-9, RES / 2)  # half-cell steps: cells repeat
    offsets, dists, counts = _ray_offsets(RES, steps, 4, 200.0)
    for sub in range(len(counts)):
        cells = [tuple(o) for o in offsets[sub, : counts[sub]]]
        assert len(set(cells)) == len(cells)
        d = dists[sub, : counts[sub]]
        np.testing.assert_allclose(d, [math.hypot(dr, dc) * RES for dr, dc in cells])
        assert 180.0 < d.max() < 200.0
