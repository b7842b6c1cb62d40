"""The modelled noise grid is cached by everything that shapes it, verified, and rebuilt when broken."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from sitefinder.pipeline import model_noise

X0, Y0 = 150_000.0, 480_000.0
BOUNDS = (X0, Y0, X0 + 400.0, Y0 + 300.0)


def _roads(highway: str = "primary") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"highway": [highway, "residential"], "osm_id": ["way/1", "way/2"]},
        geometry=[
            shapely.LineString([(X0 - 100, Y0 + 150), (X0 + 500, Y0 + 150)]),
            shapely.LineString([(X0 + 200, Y0 - 50), (X0 + 200, Y0 + 350)]),
        ],
        crs=28992,
    )


def test_noise_grid_cache_hits_misses_and_rebuilds(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cold = model_noise(_roads(), BOUNDS, "EPSG:28992", 10.0, cache_dir=tmp_path, osm_sha256="a")
    (entry,) = (tmp_path / "noise").iterdir()
    plain = model_noise(_roads(), BOUNDS, "EPSG:28992", 10.0)
    assert cold is not None and plain is not None
    np.testing.assert_array_equal(cold.lden, plain.lden)
    with caplog.at_level(logging.INFO):
        warm = model_noise(_roads(), BOUNDS, "EPSG:28992", 10.0, cache_dir=tmp_path, osm_sha256="a")
    assert warm is not None and "reused from cache" in caplog.text
    np.testing.assert_array_equal(warm.lden, cold.lden)
    assert warm.lnight is not None and cold.lnight is not None
    np.testing.assert_array_equal(warm.lnight, cold.lnight)
    assert warm.transform == cold.transform and warm.modelled and warm.crs == cold.crs
    # Anything that shapes the grid gives another entry: the road class, the OSM file, the cells.
    for kwargs in (
        {"osm_sha256": "b"},
        {"osm_sha256": "a", "highway": "secondary"},
        {"osm_sha256": "a", "res": 20.0},
    ):
        caplog.clear()
        feats = _roads(str(kwargs.get("highway", "primary")))
        with caplog.at_level(logging.INFO):
            other = model_noise(feats, BOUNDS, "EPSG:28992", float(kwargs.get("res", 10.0)), cache_dir=tmp_path,
                                osm_sha256=str(kwargs["osm_sha256"]))  # fmt: skip
        assert other is not None and "reused from cache" not in caplog.text
    assert len(list((tmp_path / "noise").iterdir())) == 4
    # A damaged entry is rebuilt, never trusted.
    (entry / "grid.npz").write_bytes(b"broken")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = model_noise(_roads(), BOUNDS, "EPSG:28992", 10.0, cache_dir=tmp_path, osm_sha256="a")
    assert "not used" in caplog.text and "rebuilding" in caplog.text and "reused" not in caplog.text
    assert again is not None
    np.testing.assert_array_equal(again.lden, cold.lden)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        model_noise(_roads(), BOUNDS, "EPSG:28992", 10.0, cache_dir=tmp_path, osm_sha256="a")
    assert "reused from cache" in caplog.text


def test_input_key_finds_the_grid_without_the_sources_or_the_buildings(tmp_path: Path) -> None:
    buildings = gpd.GeoDataFrame(
        {"building": ["house"], "height": ["9"], "osm_id": ["way/9"]},
        geometry=[shapely.box(X0 + 250, Y0 + 170, X0 + 280, Y0 + 200)],
        crs=28992,
    )
    reads: list[int] = []

    def read_buildings() -> gpd.GeoDataFrame:
        reads.append(1)
        return buildings

    kw = {"cache_dir": tmp_path, "osm_sha256": "a", "buildings": read_buildings}
    cold = model_noise(_roads(), BOUNDS, "EPSG:28992", 10.0, inputs_key="cut-1", **kw)  # type: ignore[arg-type]
    assert cold is not None and reads == [1]
    assert len(list((tmp_path / "noise" / "by-input").iterdir())) == 1
    # Same input key: the grid comes back without reading the buildings or using the lines
    # (none are given here: computing the sources again would find no road at all).
    no_lines = _roads().iloc[:0]
    warm = model_noise(no_lines, BOUNDS, "EPSG:28992", 10.0, inputs_key="cut-1", **kw)  # type: ignore[arg-type]
    assert warm is not None and reads == [1]
    np.testing.assert_array_equal(warm.lden, cold.lden)
    # The screening building is in the grid: the same roads without it give other levels.
    bare = model_noise(_roads(), BOUNDS, "EPSG:28992", 10.0)
    assert bare is not None and not np.array_equal(bare.lden, cold.lden, equal_nan=True)
    # Another input key (other cut files) computes from the inputs given: here none.
    assert model_noise(no_lines, BOUNDS, "EPSG:28992", 10.0, inputs_key="cut-2", **kw) is None  # type: ignore[arg-type]
    # Other cells or bounds with the same input key are not the cached grid either.
    coarse = model_noise(_roads(), BOUNDS, "EPSG:28992", 20.0, inputs_key="cut-1", **kw)  # type: ignore[arg-type]
    assert coarse is not None and coarse.lden.shape != cold.lden.shape
    # Broken aliases are ignored (the grid is found by its own key again).
    for alias in (tmp_path / "noise" / "by-input").iterdir():
        alias.write_text("not json")
    again = model_noise(_roads(), BOUNDS, "EPSG:28992", 10.0, inputs_key="cut-1", **kw)  # type: ignore[arg-type]
    assert again is not None
    np.testing.assert_array_equal(again.lden, cold.lden)
