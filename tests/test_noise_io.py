"""Noise rasters: class decoding, energetic sums, reprojection and zonal statistics."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS

from sitefinder.datatypes import NoiseGrid
from sitefinder.errors import CRSError, DataValidationError, NoOverlapError, UnknownNameError
from sitefinder.indicators.noise import noise_stats
from sitefinder.io.noise import NoiseSourceSpec, decode, energetic_sum, load_noise, load_schemes
from tests.conftest import BARCELONA, needs_shared


def _write_tif(
    path: Path, data: np.ndarray, crs: str | None, transform: Affine, nodata: float | None
) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as ds:
        ds.write(data, 1)
    return path


def test_energetic_sum_two_equal_sources_add_3_db() -> None:
    out = energetic_sum([np.full((2, 2), 60.0), np.full((2, 2), 60.0)])
    assert np.allclose(out, 60 + 10 * np.log10(2), atol=1e-4)


def test_energetic_sum_ignores_nan_of_one_source() -> None:
    out = energetic_sum([np.array([50.0, np.nan, np.nan]), np.array([40.0, 45.0, np.nan])])
    assert out[0] == pytest.approx(10 * np.log10(1e5 + 1e4), abs=1e-4)
    assert out[1] == pytest.approx(45.0, abs=1e-4)
    assert np.isnan(out[2])


def test_decode_class_map_and_list_missing_classes() -> None:
    classes = {1: 57.5, 2: 62.5}
    out = decode(np.array([[0, 1], [2, 1]], dtype="uint8"), 0, classes, "x.tif")
    assert np.isnan(out[0, 0]) and out[0, 1] == 57.5 and out[1, 0] == 62.5
    with pytest.raises(DataValidationError, match=r"class values \[3, 7\] are not in the declared mapping"):
        decode(np.array([[3, 1, 7]]), 0, classes, "x.tif")


def test_two_rasters_combine_cell_by_cell(tmp_path: Path) -> None:
    t = Affine(10, 0, 150000, 0, -10, 480100)
    road = np.array([[50, 60], [70, 0]] * 5, dtype="float32").repeat(5, axis=1)
    rail = np.full((10, 10), 55.0, dtype="float32")
    a = _write_tif(tmp_path / "road.tif", road, "EPSG:28992", t, 0)
    b = _write_tif(tmp_path / "rail.tif", rail, "EPSG:28992", t, None)
    crs = CRS.from_epsg(28992)
    grid = load_noise(
        [NoiseSourceSpec(path=a), NoiseSourceSpec(path=b)], crs, (150000, 480000, 150100, 480100), 10
    )
    assert grid is not None
    expect = 10 * np.log10(np.where(road > 0, 10 ** (road / 10), 0) + 10 ** (rail / 10))
    assert np.allclose(grid.lden, expect, atol=1e-3)
    assert grid.provenance["files"][0]["sha256"]


def test_raster_without_crs_is_refused(tmp_path: Path) -> None:
    p = _write_tif(
        tmp_path / "nocrs.tif", np.full((4, 4), 50, "float32"), None, Affine(10, 0, 0, 0, -10, 40), None
    )
    with pytest.raises(CRSError, match="has no CRS"):
        load_noise([NoiseSourceSpec(path=p)], CRS.from_epsg(28992), (0, 0, 40, 40))


def test_raster_not_overlapping_is_refused(tmp_path: Path) -> None:
    p = _write_tif(
        tmp_path / "far.tif", np.full((4, 4), 50, "float32"), "EPSG:28992", Affine(10, 0, 0, 0, -10, 40), None
    )
    with pytest.raises(NoOverlapError, match="does not overlap the study area"):
        load_noise([NoiseSourceSpec(path=p)], CRS.from_epsg(28992), (150000, 480000, 150100, 480100))


def test_raster_all_nodata_over_area_is_refused(tmp_path: Path) -> None:
    p = _write_tif(
        tmp_path / "empty.tif",
        np.zeros((10, 10), "uint16"),
        "EPSG:28992",
        Affine(10, 0, 150000, 0, -10, 480100),
        0,
    )
    with pytest.raises(DataValidationError, match="nodata covers the whole study area"):
        load_noise(
            [NoiseSourceSpec(path=p, scheme="end-bands-1to5")],
            CRS.from_epsg(28992),
            (150000, 480000, 150100, 480100),
        )


def test_unknown_scheme_lists_valid_ones(tmp_path: Path) -> None:
    p = _write_tif(
        tmp_path / "c.tif", np.ones((4, 4), "uint8"), "EPSG:28992", Affine(10, 0, 0, 0, -10, 40), 0
    )
    with pytest.raises(UnknownNameError, match="valid schemes: end-5db-label"):
        load_noise([NoiseSourceSpec(path=p, scheme="nope")], CRS.from_epsg(28992), (0, 0, 40, 40))


def _independent_stats(plot: shapely.Polygon, grid: NoiseGrid, thr: float) -> tuple[float, float, float]:
    """Area-weighted mean, share above thr and covered share from exact cell-polygon intersections."""
    rows, cols = grid.shape
    inv = ~grid.transform
    minx, miny, maxx, maxy = plot.bounds
    c0, r0 = (int(v) for v in inv @ (minx, maxy))
    c1, r1 = (int(v) + 1 for v in inv @ (maxx, miny))
    w_sum = wv_sum = above = 0.0
    for r in range(max(r0, 0), min(r1 + 1, rows)):
        for c in range(max(c0, 0), min(c1 + 1, cols)):
            x0, y0 = grid.transform @ (c, r)
            x1, y1 = grid.transform @ (c + 1, r + 1)
            a = plot.intersection(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))).area
            v = grid.lden[r, c]
            if a > 0 and not np.isnan(v):
                w_sum += a
                wv_sum += a * v
                above += a * (v > thr)
    if w_sum == 0:
        return float("nan"), float("nan"), 0.0
    return wv_sum / w_sum, above / w_sum, w_sum / plot.area


@needs_shared
@pytest.mark.parametrize("epsg", [28992, 25831])
def test_barcelona_class_map_decodes_and_reprojects_keeping_classes(epsg: int) -> None:
    crs = CRS.from_epsg(epsg)
    centre = gpd.GeoSeries.from_xy([2.16], [41.395], crs=4326).to_crs(crs).iloc[0]
    b = (centre.x - 400, centre.y - 400, centre.x + 400, centre.y + 400)
    grid = load_noise([NoiseSourceSpec(path=BARCELONA, scheme="end-5db-label")], crs, b, 10)
    assert grid is not None
    vals = set(np.unique(grid.lden[~np.isnan(grid.lden)]).round(1).tolist())
    declared = set(load_schemes()["end-5db-label"].classes.values())
    # Nearest-neighbour resampling keeps the 5 dB class structure: only declared levels appear.
    assert vals <= declared
    assert len(vals) >= 5


@needs_shared
def test_barcelona_zonal_stats_match_independent_computation() -> None:
    crs = CRS.from_epsg(25831)
    pts = gpd.GeoSeries.from_xy(
        [2.150, 2.170, 2.130, 2.190], [41.390, 41.400, 41.410, 41.420], crs=4326
    ).to_crs(crs)
    shapes = [
        pts.iloc[0].buffer(60),
        shapely.box(pts.iloc[1].x - 45, pts.iloc[1].y - 25, pts.iloc[1].x + 55, pts.iloc[1].y + 35),
        pts.iloc[2].buffer(23),
        shapely.affinity.rotate(
            shapely.box(pts.iloc[3].x - 70, pts.iloc[3].y - 20, pts.iloc[3].x + 70, pts.iloc[3].y + 20), 30
        ),
    ]
    plots = gpd.GeoDataFrame({"plot_id": ["a", "b", "c", "d"]}, geometry=shapes, crs=crs).set_index("plot_id")
    b = plots.total_bounds
    grid = load_noise(
        [NoiseSourceSpec(path=BARCELONA, scheme="end-5db-label")],
        crs,
        (b[0] - 100, b[1] - 100, b[2] + 100, b[3] + 100),
        10,
    )
    assert grid is not None
    stats = noise_stats(plots, grid, 53.0)
    for pid, geom in zip(plots.index, plots.geometry, strict=True):
        mean, share, cover = _independent_stats(geom, grid, 53.0)
        assert cover > 0.2, f"plot {pid} must lie mostly on mapped cells for this test"
        assert stats.loc[pid, "noise_lden_mean_db"] == pytest.approx(mean, abs=0.01)
        assert stats.loc[pid, "noise_lden_share_above_53db"] == pytest.approx(share, abs=0.01)
        assert stats.loc[pid, "noise_coverage_share"] == pytest.approx(cover, abs=0.01)
        # The 90th percentile lies within the range of levels present on the plot.
        assert 30 <= stats.loc[pid, "noise_lden_p90_db"] <= 90
