"""The exact per-cell ray version of the screened model, to check the fast grid method.

Every source sample point is its own path to every receiver: straight-line
height profile over the building raster, CNOSSOS-EU diffraction over one or two
edges with both ground terms, curved rays in favourable conditions (see
:func:`sitefinder.noisemodel.screening.exact_transfer`). Slow: seconds per
receiver on a town; used by the tests and ``bench/bench_noise.py`` on a few
hundred cells.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
from affine import Affine

from sitefinder.noisemodel.buildings import height_raster
from sitefinder.noisemodel.cnossos_tables import EXACT_MIDBAND_HZ
from sitefinder.noisemodel.emission import rail_reference_spectrum, road_reference_spectrum
from sitefinder.noisemodel.grid import sample_lines
from sitefinder.noisemodel.params import PERIOD_HOURS, PERIOD_PENALTY_DB, PERIODS, NoiseModelParams
from sitefinder.noisemodel.propagation import air_absorption_db_per_km, speed_of_sound_m_s
from sitefinder.noisemodel.screening import PathSetup, exact_levels


def exact_lden(
    sources: gpd.GeoDataFrame,
    receivers_xy: np.ndarray,
    params: NoiseModelParams | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    *,
    spacing_m: float | None = None,
) -> np.ndarray:
    """Lden (dB, not clipped) at receiver points by per-ray summation over all source samples.

    Parameters
    ----------
    sources : geopandas.GeoDataFrame
        Noise sources as from :func:`~sitefinder.noisemodel.noise_sources_from_osm`.
    receivers_xy : numpy.ndarray
        ``(n, 2)`` receiver coordinates in the sources' CRS.
    params : NoiseModelParams, optional
        Model parameters.
    buildings : geopandas.GeoDataFrame, optional
        Screening buildings with ``height_m``; ``None`` for no screening.
    spacing_m : float, optional
        Spacing of source samples (default: the model's, half a cell).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` Lden in dB; receivers are not checked for being inside buildings.
    """
    return exact_indicators(sources, receivers_xy, params, buildings, spacing_m=spacing_m)["lden"]


def exact_indicators(
    sources: gpd.GeoDataFrame,
    receivers_xy: np.ndarray,
    params: NoiseModelParams | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    *,
    spacing_m: float | None = None,
) -> dict[str, np.ndarray]:
    """Lden and Lnight (dB, not clipped) at receiver points, every ray with its own screening.

    Each period and propagation condition weighs the same rays: Lnight with the
    night traffic and the night share of favourable conditions, so its screening
    is its own (unlike the fast grid method, which applies the Lden factor).
    Parameters and return shapes as :func:`exact_lden`; keys ``lden`` and ``lnight``.
    """
    params = params or NoiseModelParams()
    res = params.resolution_m
    den_w = np.array([PERIOD_HOURS[p] / 24 * 10 ** (PERIOD_PENALTY_DB[p] / 10) for p in PERIODS])
    night_w = np.array([0.0, 0.0, 1.0])
    p_fav = np.array(params.favourable)
    alpha = None
    if params.air_absorption:
        alpha = air_absorption_db_per_km(
            EXACT_MIDBAND_HZ, params.air_temperature_c, params.relative_humidity_pct
        )
        alpha = alpha / 1000.0
    xy_r = np.asarray(receivers_xy, dtype=float).reshape(-1, 2)
    margin = params.max_distance_m + res
    x0 = math.floor((xy_r[:, 0].min() - margin) / res) * res
    y1 = math.ceil((xy_r[:, 1].max() + margin) / res) * res
    cols = math.ceil((xy_r[:, 0].max() + margin - x0) / res)
    rows = math.ceil((y1 - (xy_r[:, 1].min() - margin)) / res)
    if buildings is not None and len(buildings):
        heights = height_raster(buildings, Affine(res, 0.0, x0, 0.0, -res, y1), (rows, cols)).astype(float)
    else:
        heights = np.zeros((1, 1))
    energy = np.zeros((len(xy_r), 2))
    for kind, spectrum, z_s in (
        ("road", road_reference_spectrum(), params.road_source_height_m),
        ("rail", rail_reference_spectrum(), params.rail_source_height_m),
    ):
        part = sources.loc[sources["kind"].to_numpy() == kind]
        if len(part) == 0:
            continue
        xy, length, idx = sample_lines(part.geometry.to_numpy(), spacing_m or params.spacing_m)
        power = 10 ** (part[["lw_day", "lw_evening", "lw_night"]].to_numpy(dtype=float) / 10)
        # Per condition: the favourable (or homogeneous) share of each period's energy,
        # weighted for Lden (column 0) and for Lnight (column 1).
        for favourable, prob in ((1.0, p_fav), (0.0, 1 - p_fav)):
            weights = np.column_stack([den_w * prob, night_w * prob])  # (3 periods, 2)
            w = (power @ weights)[idx] * length[:, None]
            if w.sum() <= 0:
                continue
            setup = PathSetup(
                spectrum,
                z_s,
                params.receiver_height_m,
                params.ground_factor,
                favourable,
                alpha,
                speed_of_sound_m_s(params.air_temperature_c),
            )
            energy += exact_levels(
                np.arange(len(xy_r)), xy_r, xy, w, heights, (x0, y1), res, params.max_distance_m, setup
            )
    with np.errstate(divide="ignore"):
        levels = 10 * np.log10(energy)
    return {"lden": np.asarray(levels[:, 0]), "lnight": np.asarray(levels[:, 1])}
