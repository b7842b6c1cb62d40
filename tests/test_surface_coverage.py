"""Suitability surfaces cover the whole study area, also with only two plots (sample town).

The cells inside the boundary are counted here with shapely from the boundary file and
the raster's own transform, independently of sitefinder's grid code.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from sitefinder.config import RunConfig
from sitefinder.pipeline import run
from sitefinder.sample import generate_sample


@pytest.fixture(scope="module")
def two_plot_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("two")
    town = generate_sample(root / "data", seed=42, scale=1.0)
    plots = gpd.read_file(town.plots_path)
    plots.iloc[:2].to_file(root / "two.gpkg")
    cfg = RunConfig(
        osm_file=town.osm_path,
        plots_file=root / "two.gpkg",
        study_area_file=town.boundary_path,
        profiles=("senioren", "prikkelarm"),
        out_dir=root / "out",
        cache_dir=root / "cache",
        layers_dir=root / "layers",
        map_tiles="none",
    )
    run(cfg, progress=False)
    return root / "layers", town.boundary_path, town.osm_path


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["senioren", "prikkelarm"])
def test_surface_has_a_value_in_every_cell_inside_the_boundary(
    two_plot_run: tuple[Path, Path, Path], profile: str
) -> None:
    layers, boundary, _ = two_plot_run
    area = gpd.read_file(boundary).to_crs(28992).geometry.union_all()
    with rasterio.open(layers / f"suitability_{profile}.tif") as src:
        suit, score = src.read(1), src.read(2)
        rows, cols = np.indices(score.shape)
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    inside = shapely.contains_xy(area, np.asarray(xs), np.asarray(ys)).reshape(score.shape)
    assert inside.sum() > 2000, "the sample town spans thousands of 50 m cells"
    # Every cell inside the boundary has a score; none outside.
    assert np.isfinite(score[inside]).all()
    assert not np.isfinite(score[~inside]).any()
    # The suitability is set wherever the data can judge the cell: nearly everywhere in a
    # town whose OSM data reach beyond its boundary.
    judged = np.isfinite(suit[inside])
    assert judged.mean() > 0.95, judged.mean()
