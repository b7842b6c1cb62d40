"""Noise statistics over each plot's area (area-weighted), with exactextract.

exactextract weights every cell by the fraction of it that the polygon covers, so a
plot smaller than a few cells still gets an exact area-weighted mean and quantile.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from sitefinder.datatypes import NoiseGrid
from sitefinder.errors import NoOverlapError

log = logging.getLogger(__name__)


def noise_stats(plots: gpd.GeoDataFrame, grid: NoiseGrid, threshold_db: float = 53.0) -> pd.DataFrame:
    """Area-weighted Lden statistics per plot (for a point plot: the level of the cell under it).

    Parameters
    ----------
    plots : geopandas.GeoDataFrame
        Plots in the grid's CRS, indexed by plot id.
    grid : NoiseGrid
        Noise levels in dB.
    threshold_db : float
        Level for the "share of area above" column (default 53 dB, the WHO 2018
        guideline for road traffic Lden).

    Returns
    -------
    pandas.DataFrame
        ``noise_lden_mean_db``, ``noise_lden_p90_db``,
        ``noise_lden_share_above_<t>db`` (0-1 of the plot area with data) and
        ``noise_coverage_share`` (0-1 of the plot area that has noise data; cells
        inside buildings of a screened model have none), ``noise_modelled`` (bool)
        and ``noise_source`` (Dutch text, :func:`noise_source_text`); with
        ``noise_lnight_mean_db`` when the grid has Lnight.

    Raises
    ------
    NoOverlapError
        When no plot overlaps a cell with noise data.
    """
    if not plots.crs or not grid.crs.equals(plots.crs):
        msg = f"noise grid CRS {grid.crs} differs from the plots' CRS {plots.crs}"
        raise ValueError(msg)
    thr = f"{threshold_db:g}".replace(".", "_")
    above = np.where(np.isnan(grid.lden), np.nan, grid.lden > threshold_db)
    bands = [grid.lden, above]
    names = ["lden", "above"]
    if grid.lnight is not None:
        bands.append(grid.lnight)
        names.append("lnight")
    minx, miny, maxx, maxy = grid.bounds
    wkt = grid.crs.to_wkt()
    sources = [
        NumPyRasterSource(
            np.ma.masked_invalid(np.asarray(b, dtype="float64")),
            minx,
            miny,
            maxx,
            maxy,
            name=name,
            srs_wkt=wkt,
        )
        for b, name in zip(bands, names, strict=True)
    ]
    geoms = plots.geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == 0
    # A point plot has no area to average over: it gets the cell under it, through a
    # square of a hundredth of a cell around the point (inside that one cell).
    half = grid.resolution / 200.0
    geoms = np.where(is_point, shapely.buffer(geoms, half, cap_style="square"), geoms)
    vec = gpd.GeoDataFrame({"pid": np.arange(len(plots))}, geometry=geoms, crs=plots.crs)
    stats = exact_extract(
        sources,
        vec,
        ["mean", "quantile(q=0.9)", "count"],
        include_cols=["pid"],
        output="pandas",
    )
    stats = stats.set_index("pid").sort_index()
    area_cells = shapely.area(geoms) / (grid.resolution**2)
    out = pd.DataFrame(index=plots.index)
    out["noise_lden_mean_db"] = stats["lden_mean"].to_numpy()
    out["noise_lden_p90_db"] = stats["lden_quantile_90"].to_numpy()
    out[f"noise_lden_share_above_{thr}db"] = stats["above_mean"].to_numpy()
    valid_cells = stats["lden_count"].fillna(0).to_numpy()
    out["noise_coverage_share"] = np.clip(valid_cells / area_cells, 0, 1)
    if grid.lnight is not None:
        out["noise_lnight_mean_db"] = stats["lnight_mean"].to_numpy()
    out = out.round(2)
    if (out["noise_coverage_share"] == 0).all():
        msg = "noise: no plot overlaps a cell with noise data; check that the noise map covers the plots"
        raise NoOverlapError(msg)
    out["noise_modelled"] = bool(grid.modelled)
    out["noise_source"] = noise_source_text(grid)
    partial = out.index[out["noise_coverage_share"] < 0.99].tolist()
    if partial:
        screened = bool(grid.modelled and (grid.provenance or {}).get("screening"))
        log.warning(
            "%d plots are only partly covered by noise data%s: %s",
            len(partial),
            " (cells inside buildings are no receivers)" if screened else "",
            ", ".join(map(str, partial[:10])),
        )
    return out


def noise_source_text(grid: NoiseGrid) -> str:
    """Where the noise levels come from, in Dutch, for exclusion reasons and tables.

    Examples: ``"weg- en railverkeer"`` (modelled), ``"geluidskaart lden.tif"`` (official).
    """
    prov = grid.provenance or {}
    if grid.modelled:
        road, rail = bool(prov.get("n_road_sources", 1)), bool(prov.get("n_rail_sources", 0))
        return {(True, True): "weg- en railverkeer", (False, True): "railverkeer"}.get(
            (road, rail), "wegverkeer"
        )
    files = [str(f.get("path", "")).rsplit("/", 1)[-1] for f in prov.get("files", []) if isinstance(f, dict)]
    return "geluidskaart " + ", ".join(f for f in files if f) if any(files) else "geluidskaart"


def sample_noise(grid: NoiseGrid, x: np.ndarray, y: np.ndarray, half_m: float = 0.0) -> np.ndarray:
    """Lden of the noise cell under each point (NaN outside the grid or where unknown).

    With ``half_m`` > 0: the energetic mean, 10·log10(mean 10^(L/10)), of the known noise
    cells within ``half_m`` of the point in x and y (a surface cell's own square), so that a
    cell whose centre falls on a building, where a model gives no level, still gets the
    level of its streets and gardens.
    """
    t = grid.transform
    rows, cols = grid.shape
    k = max(0, int(half_m // abs(t.a)))
    col0 = np.floor((x - t.c) / t.a).astype(np.int64)
    row0 = np.floor((y - t.f) / t.e).astype(np.int64)
    if k == 0:
        ok = (row0 >= 0) & (row0 < rows) & (col0 >= 0) & (col0 < cols)
        out = np.full(len(x), np.nan)
        out[ok] = grid.lden[row0[ok], col0[ok]]
        return out
    energy = np.zeros(len(x))
    count = np.zeros(len(x))
    for dr in range(-k, k + 1):
        for dc in range(-k, k + 1):
            row, col = row0 + dr, col0 + dc
            ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
            v = np.full(len(x), np.nan)
            v[ok] = grid.lden[row[ok], col[ok]]
            known = np.isfinite(v)
            energy[known] += 10.0 ** (v[known] / 10.0)
            count[known] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, 10.0 * np.log10(energy / np.maximum(count, 1)), np.nan)


def point_noise_stats(
    grid: NoiseGrid,
    x: np.ndarray,
    y: np.ndarray,
    index: pd.Index,
    threshold_db: float = 53.0,
    half_m: float = 0.0,
) -> pd.DataFrame:
    """The columns of :func:`noise_stats` at points: the Lden of the cell under each (see :func:`sample_noise`).

    For the cells of a suitability surface (their centres, with ``half_m`` half a cell:
    the energetic mean of the cell's own square): mean and p90 are that level, the
    share above ``threshold_db`` is 1 or 0, the coverage 1 or 0 (NaN levels where the
    grid has none), and ``noise_modelled`` says whether the grid is modelled.
    """
    lden = sample_noise(grid, x, y, half_m=half_m)
    thr = f"{threshold_db:g}".replace(".", "_")
    with np.errstate(invalid="ignore"):
        above = np.where(np.isnan(lden), np.nan, (lden > threshold_db).astype(float))
    return pd.DataFrame(
        {
            "noise_lden_mean_db": np.round(lden, 2),
            "noise_lden_p90_db": np.round(lden, 2),
            f"noise_lden_share_above_{thr}db": above,
            "noise_coverage_share": np.isfinite(lden).astype(float),
            # Hard noise limits treat modelled values with the model's margin (scoring.noiserule).
            "noise_modelled": bool(grid.modelled),
        },
        index=index,
    )
