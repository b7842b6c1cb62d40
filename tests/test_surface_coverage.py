"""Suitability surfaces cover the whole study area, also with only two plots (sample town).

The cells inside the boundary and their distance to the edge of the OSM data are worked
out here with shapely and pyproj from the boundary file, the OSM header and the raster's
own transform, independently of sitefinder's grid and coverage code.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer

from sitefinder.api import run
from sitefinder.config import RunConfig
from sitefinder.sample import SampleResult


@pytest.fixture(scope="module")
def two_plot_run(
    sample_town: SampleResult, sample_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path]:
    """Two plots of the session's sample town, scored with its boundary as the study area."""
    root = tmp_path_factory.mktemp("two")
    town = sample_town
    plots = gpd.read_file(town.plots_path)
    plots.iloc[:2].to_file(root / "two.gpkg")
    cfg = RunConfig(
        osm_file=town.osm_path,
        plots_file=root / "two.gpkg",
        study_area_file=town.boundary_path,
        profiles=("senioren", "prikkelarm"),
        out_dir=root / "out",
        cache_dir=sample_cache,
        layers_dir=root / "layers",
        map_tiles="none",
    )
    run(cfg, progress=False)
    return root / "layers", town.boundary_path, town.osm_path


#: How far each profile looks, worked out by hand from its value functions: senioren's
#: gaussian decay (half 8.3 min) is within 0.01 of 0 from 8.3 * sqrt(log2(100)) minutes
#: on, at 60 m a minute; prikkelarm's linear GP and supermarket criteria are flat from 1,500 m.
REACH_M = {"senioren": 8.3 * math.sqrt(math.log2(100)) * 60.0, "prikkelarm": 1500.0}


def _header_box(osm: Path) -> shapely.Polygon:
    head = osm.read_text(encoding="utf-8")[:2000]
    m = re.search(r'<bounds minlat="([\d.]+)" minlon="([\d.]+)" maxlat="([\d.]+)" maxlon="([\d.]+)"', head)
    assert m
    s, w, n, e = map(float, m.groups())
    t = Transformer.from_crs(4326, 28992, always_xy=True)
    ring = shapely.segmentize(shapely.box(w, s, e, n), 0.0005).exterior.coords
    return shapely.Polygon([t.transform(x, y) for x, y in ring])


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["senioren", "prikkelarm"])
def test_surface_has_a_value_in_every_cell_inside_the_boundary(
    two_plot_run: tuple[Path, Path, Path], profile: str
) -> None:
    layers, boundary, osm = two_plot_run
    area = gpd.read_file(boundary).to_crs(28992).geometry.union_all()
    with rasterio.open(layers / f"suitability_{profile}.tif") as src:
        suit, score = src.read(1), src.read(2)
        rows, cols = np.indices(score.shape)
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    xs, ys = np.asarray(xs), np.asarray(ys)
    inside = shapely.contains_xy(area, xs, ys).reshape(score.shape)
    assert inside.sum() > 2000, "the sample town spans thousands of 50 m cells"
    # Every cell inside the boundary has a score (two plots no longer cut the grid down).
    assert np.isfinite(score[inside]).all()
    assert not np.isfinite(score[~inside]).any()
    # The suitability is blank only where the OSM data do not reach as far around the cell
    # as the profile looks: every cell covered that far has a value.
    data = _header_box(osm)
    radius = shapely.distance(shapely.points(xs, ys), data.exterior).reshape(score.shape)
    # Cells with no modelled level anywhere in their 50 m square (inside large buildings)
    # cannot be judged on noise either: read the run's noise raster for them.
    with rasterio.open(layers / "noise_lden_modelled.tif") as nsrc:
        lden = nsrc.read(1)
        r, c = rasterio.transform.rowcol(nsrc.transform, xs, ys)
    r, c = np.asarray(r), np.asarray(c)
    heard = np.zeros(len(xs), dtype=bool)
    for dr in range(-2, 3):
        for dc in range(-2, 3):
            rr, cc = r + dr, c + dc
            ok = (rr >= 0) & (rr < lden.shape[0]) & (cc >= 0) & (cc < lden.shape[1])
            heard[ok] |= np.isfinite(lden[rr[ok], cc[ok]])
    covered = inside & (radius >= REACH_M[profile] + 1.0) & heard.reshape(score.shape)
    assert covered.sum() > 1000
    assert np.isfinite(suit[covered]).all()


def test_cell_noise_is_the_energetic_mean_over_the_cell() -> None:
    from affine import Affine
    from pyproj import CRS

    from sitefinder.datatypes import NoiseGrid
    from sitefinder.surfaces import sample_noise

    lden = np.full((5, 5), np.nan, dtype=np.float32)  # a 50 m cell of 10 m noise pixels
    lden[0, 0], lden[4, 4] = 60.0, 50.0  # the centre pixel (2, 2) lies on a building: no level
    grid = NoiseGrid(lden=lden, transform=Affine(10, 0, 1000.0, 0, -10, 2050.0), crs=CRS.from_epsg(28992))
    x, y = np.array([1025.0]), np.array([2025.0])
    assert np.isnan(sample_noise(grid, x, y)[0])  # the centre alone knows nothing
    expect = 10 * math.log10((10**6.0 + 10**5.0) / 2)  # 57.40 dB
    assert sample_noise(grid, x, y, half_m=24.999)[0] == pytest.approx(expect, abs=1e-4)
