"""The noise model in tiles (overlap-save over the kernel radius) equals the untiled model."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
import shapely

from sitefinder.noisemodel import NoiseModelParams, model_lden, noise_sources_from_osm
from sitefinder.noisemodel.buildings import building_heights
from sitefinder.noisemodel.grid import _tiles, tile_memory_bytes, tile_shape

RD = 28992


def _town() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads, a railway and blocks of several heights, some across the later tile borders."""
    lines = gpd.GeoDataFrame(
        {"highway": ["primary", "residential", None], "railway": [None, None, "rail"]},
        geometry=[
            shapely.LineString([(-2000, 0), (2000, 0)]),
            shapely.LineString([(35, -900), (35, 900)]),
            shapely.LineString([(-1500, 1400), (1500, -1000)]),  # partly outside the grid
        ],
        crs=RD,
    )
    boxes = [
        (-180, 12, -60, 38, "15"),
        (-40, 12, 25, 60, "9"),  # across the tile borders at x = -40 and y = 40
        (45, -70, 150, -20, "21"),
        (-120, -140, -20, -90, "6"),
        (60, 80, 190, 150, "12"),  # a block with a courtyard
    ]
    geoms = [shapely.box(a, b, c, d) for a, b, c, d, _ in boxes]
    geoms[-1] = geoms[-1].difference(shapely.box(90, 100, 160, 130))
    blocks = gpd.GeoDataFrame(
        {"building": ["apartments"] * len(boxes), "height": [h for *_, h in boxes]}, geometry=geoms, crs=RD
    )
    return noise_sources_from_osm(lines), building_heights(blocks)


def test_tiles_cover_the_grid_once_and_fit_the_budget() -> None:
    for rows, cols, budget in ((1530, 1741, 384 * 2**20), (300, 7000, 64 * 2**20), (40, 35, 1)):
        tile = tile_shape(rows, cols, 200, True, budget)
        count = np.zeros((rows, cols), dtype=int)
        for r0, c0, tr, tc in _tiles(rows, cols, tile):
            count[r0 : r0 + tr, c0 : c0 + tc] += 1
        assert (count == 1).all()
        assert tile_memory_bytes(*tile, 200, True) <= budget or min(tile) == 16
    # A budget that holds the whole grid gives one tile; a quarter of it several.
    whole = tile_memory_bytes(1000, 1000, 200, True)
    assert tile_shape(1000, 1000, 200, True, whole) == (1000, 1000)
    assert len(_tiles(1000, 1000, tile_shape(1000, 1000, 200, True, whole // 4))) >= 4


@pytest.mark.slow
def test_tiled_model_equals_the_untiled_model(caplog: pytest.LogCaptureFixture) -> None:
    src, blocks = _town()
    bounds = (-200.0, -150.0, 200.0, 200.0)  # 40 x 35 cells of 10 m
    params = NoiseModelParams()
    whole = model_lden(src, bounds, RD, params, buildings=blocks)
    small = tile_memory_bytes(16, 16, 200, True)
    with caplog.at_level(logging.INFO, logger="sitefinder.noisemodel.grid"):
        tiled = model_lden(src, bounds, RD, params, buildings=blocks, memory_budget_bytes=small)
    assert "Noise model in 9 tiles of up to 16 x 16 cells" in caplog.text
    assert tiled.transform == whole.transform and tiled.shape == whole.shape == (35, 40)
    assert tiled.lnight is not None and whole.lnight is not None
    inside = np.isnan(whole.lden)
    assert inside.sum() > 100  # the blocks are there, in several tiles
    np.testing.assert_array_equal(np.isnan(tiled.lden), inside)
    np.testing.assert_allclose(tiled.lden, whole.lden, atol=1e-4, equal_nan=True)
    np.testing.assert_allclose(tiled.lnight, whole.lnight, atol=1e-4, equal_nan=True)
    # Screening is at work (behind the blocks the levels drop), so the test compares something.
    bare = model_lden(src, bounds, RD, params)
    att = (bare.lden - whole.lden)[~inside]
    assert att.max() > 10
    s_t, s_w = tiled.provenance["screening"], whole.provenance["screening"]
    assert s_t["cells_inside_buildings"] == s_w["cells_inside_buildings"] == int(inside.sum())
    assert s_t["median_attenuation_db"] == pytest.approx(s_w["median_attenuation_db"], abs=0.011)


def test_tiled_model_without_buildings_equals_the_untiled_model() -> None:
    src, _ = _town()
    bounds = (-200.0, -150.0, 200.0, 200.0)
    whole = model_lden(src, bounds, RD)
    tiled = model_lden(src, bounds, RD, memory_budget_bytes=tile_memory_bytes(16, 16, 200, False))
    assert whole.provenance["screening"] is None
    np.testing.assert_allclose(tiled.lden, whole.lden, atol=1e-4)
    assert whole.lden.max() - whole.lden.min() > 10  # roads and rail, not a flat field


def test_tile_budget_is_at_most_half_the_available_memory(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    src, _ = _town()
    bounds = (-200.0, -150.0, 200.0, 200.0)
    whole = model_lden(src, bounds, RD)
    # The whole 40 x 35 grid with its 2 km margin needs about 19 MB: with 30 MB available
    # the budget is 15 MB and the grid is split.
    assert tile_memory_bytes(35, 40, 200, False) > 15 * 2**20
    monkeypatch.setattr("sitefinder.noisemodel.grid.available_memory_bytes", lambda: 30 * 2**20)
    with caplog.at_level(logging.INFO, logger="sitefinder.noisemodel.grid"):
        tiled = model_lden(src, bounds, RD)
    assert "Noise model in 9 tiles" in caplog.text
    np.testing.assert_allclose(tiled.lden, whole.lden, atol=1e-4)
