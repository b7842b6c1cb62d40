"""The grid model: rasterise sound power per cell, convolve with the attenuation kernel.

Sources are sampled densely along their lines (every ``spacing`` m at most);
each sample carries ``10^(LW'/10) × Δl`` of sound power and is spread over the
four nearest cell centres with bilinear weights (:mod:`.splat`, a
compiled loop). The received energy is then the convolution of this power
grid with the point-source transfer kernel (see
:mod:`sitefinder.noisemodel.propagation`), done with real FFTs of the padded
grid; summing point sources along a line gives line-source behaviour. Cost is
O(N log N) in the number of cells, independent of the number of segments.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import scipy.fft
import shapely
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from sitefinder.datatypes import NoiseGrid
from sitefinder.errors import CRSError, DataValidationError
from sitefinder.memory import release_memory
from sitefinder.noisemodel.buildings import Screens
from sitefinder.noisemodel.cnossos_tables import EXACT_MIDBAND_HZ
from sitefinder.noisemodel.emission import (
    rail_reference_spectrum,
    road_reference_spectrum,
)
from sitefinder.noisemodel.params import PERIOD_HOURS, PERIOD_PENALTY_DB, PERIODS, NoiseModelParams
from sitefinder.noisemodel.propagation import air_absorption_db_per_km, attenuation_kernel, speed_of_sound_m_s
from sitefinder.noisemodel.screening import PathSetup, screening_margin, screening_ratio
from sitefinder.noisemodel.splat import deposit

log = logging.getLogger(__name__)

#: Version of the model; bump when results change for the same inputs.
MODEL_VERSION = 2
METHOD = (
    "sitefinder noise model v2: CNOSSOS-EU road emission (Table F-1 as replaced by (EU) 2021/1226, "
    "Table F-4 road surfaces) from typical traffic per OSM class; rail from TSI pass-by levels; "
    "point-source propagation (divergence, ISO 9613-1 air absorption at exact mid-band frequencies, "
    "CNOSSOS-EU flat-ground attenuation in homogeneous and favourable conditions) by FFT convolution; "
    "screening by buildings (CNOSSOS-EU diffraction) when buildings are given; no reflections"
)
SCREENING_METHOD = (
    "screening by buildings: CNOSSOS-EU diffraction over the edge of largest path difference per "
    "azimuth sector (16) and distance ring, heights from OSM height / building:levels x 3 m / default "
    "per building type; receivers inside buildings have no value"
)
REQUIRED_COLUMNS = ("kind", "lw_day", "lw_evening", "lw_night")
_MAX_CELLS = 400_000_000


def sample_lines(geoms: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points along lines, at most ``spacing`` apart, with the line length each stands for.

    Every straight segment of every line is cut into ``ceil(length / spacing)``
    equal pieces; each piece is represented by its midpoint.

    Parameters
    ----------
    geoms : numpy.ndarray
        LineStrings and MultiLineStrings.
    spacing : float
        Largest distance between samples (m).

    Returns
    -------
    xy : numpy.ndarray
        ``(n, 2)`` sample coordinates.
    length : numpy.ndarray
        ``(n,)`` length of line each sample stands for (m); sums to the line lengths.
    source : numpy.ndarray
        ``(n,)`` index into ``geoms`` of the line each sample belongs to.
    """
    parts, part_source = shapely.get_parts(geoms, return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        return np.empty((0, 2)), np.empty(0), np.empty(0, dtype=np.intp)
    same = coord_part[1:] == coord_part[:-1]
    start = coords[:-1][same]
    delta = coords[1:][same] - start
    seg_source = part_source[coord_part[:-1][same]]
    seg_len = np.hypot(delta[:, 0], delta[:, 1])
    keep = seg_len > 0
    start, delta, seg_len, seg_source = start[keep], delta[keep], seg_len[keep], seg_source[keep]
    n = np.ceil(seg_len / spacing).astype(np.intp)
    seg = np.repeat(np.arange(len(n)), n)
    first = np.cumsum(n) - n
    t = (np.arange(int(n.sum())) - first[seg] + 0.5) / n[seg]
    xy = start[seg] + t[:, None] * delta[seg]
    return xy, (seg_len / n)[seg], seg_source[seg]


def _grid_frame(bounds: tuple[float, float, float, float], res: float) -> tuple[Affine, int, int]:
    try:
        minx, miny, maxx, maxy = (float(b) for b in bounds)
    except (TypeError, ValueError):
        msg = f"bounds must be four numbers (minx, miny, maxx, maxy), got {bounds!r}"
        raise DataValidationError(msg) from None
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))) or minx >= maxx or miny >= maxy:
        msg = f"bounds {bounds!r} are not a finite box with minx < maxx and miny < maxy"
        raise DataValidationError(msg)
    # Snap outward to whole cells so grids of different runs align.
    x0 = math.floor(minx / res) * res
    y1 = math.ceil(maxy / res) * res
    cols = max(1, math.ceil(round((maxx - x0) / res, 9)))
    rows = max(1, math.ceil(round((y1 - miny) / res, 9)))
    if rows * cols > _MAX_CELLS:
        msg = (
            f"modelled noise grid of {rows:,} x {cols:,} cells is too large (more than "
            f"{_MAX_CELLS:,} cells would take hours); use a coarser resolution_m or a smaller area"
        )
        raise DataValidationError(msg)
    return Affine(res, 0.0, x0, 0.0, -res, y1), rows, cols


#: Working memory of the model per cell of one tile (bytes): the padded tile holds the power
#: grids and their FFTs; the valid tile the energies and, with screening, the per-ring factors.
_BYTES_PER_PADDED_CELL = 100
_BYTES_PER_VALID_CELL = 48
_BYTES_PER_SCREENED_CELL = 1400
#: Memory per cell of the whole grid that stays for the result (Lden, Lnight, float32).
_BYTES_PER_OUTPUT_CELL = 8
#: Default memory budget of one tile of the model (bytes); the grid is computed in tiles of at
#: most this much working memory each (overlap-save over the kernel radius). Never more than
#: half the available memory.
TILE_BUDGET_BYTES = 384 * 2**20
#: Smallest tile side (cells); a budget too small for it still gets tiles of this size.
_MIN_TILE = 16


def available_memory_bytes() -> int:
    """Memory the model may use: ``MemAvailable`` of /proc/meminfo, else total physical memory."""
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024**3


def tile_memory_bytes(rows: int, cols: int, pad: int, screening: bool) -> int:
    """Estimated peak working memory of one ``rows`` x ``cols`` tile with ``pad`` cells of margin."""
    padded = (rows + 2 * pad) * (cols + 2 * pad)
    valid = rows * cols
    per_valid = _BYTES_PER_VALID_CELL + (_BYTES_PER_SCREENED_CELL if screening else 0)
    return padded * _BYTES_PER_PADDED_CELL + valid * per_valid


def memory_needed_bytes(
    rows: int, cols: int, pad: int, screening: bool, tile: tuple[int, int] | None = None
) -> int:
    """Estimated peak memory of :func:`model_lden`: the result grids plus one tile (bytes).

    ``tile`` is the tile shape (default: the whole grid in one tile).
    """
    tr, tc = tile if tile is not None else (rows, cols)
    return rows * cols * _BYTES_PER_OUTPUT_CELL + tile_memory_bytes(tr, tc, pad, screening)


def tile_shape(rows: int, cols: int, pad: int, screening: bool, budget: int) -> tuple[int, int]:
    """Tile shape for a grid: the fewest, most even tiles whose working memory fits ``budget``.

    Tiles are at least :data:`_MIN_TILE` cells a side (or the grid's size), even when that
    exceeds the budget.
    """
    n = 1
    while True:
        # n x m tiles, m chosen so the tiles are about square.
        side = math.ceil(max(rows, cols) / n)
        tr, tc = min(rows, side), min(cols, side)
        ny, nx = math.ceil(rows / tr), math.ceil(cols / tc)
        tr, tc = math.ceil(rows / ny), math.ceil(cols / nx)
        if tile_memory_bytes(tr, tc, pad, screening) <= budget or side <= _MIN_TILE:
            return max(tr, min(rows, _MIN_TILE)), max(tc, min(cols, _MIN_TILE))
        n += 1


def _check_memory(rows: int, cols: int, pad: int, res: float, screening: bool, tile: tuple[int, int]) -> None:
    need = memory_needed_bytes(rows, cols, pad, screening, tile)
    have = available_memory_bytes()
    if need > have:
        msg = (
            f"modelled noise grid of {cols * res / 1000:.1f} x {rows * res / 1000:.1f} km at {res:g} m "
            f"({rows:,} x {cols:,} cells, computed in tiles of {tile[0]:,} x {tile[1]:,} with a "
            f"{pad * res / 1000:g} km margin) needs about {need / 1024**3:.1f} GB of memory for the "
            f"result and one tile, and {have / 1024**3:.1f} GB is available; "
            "use a coarser noise resolution or a smaller area"
        )
        raise DataValidationError(msg)


def _check_sources(sources: gpd.GeoDataFrame, crs: CRS) -> None:
    if not isinstance(sources, gpd.GeoDataFrame):
        msg = f"noise sources must be a GeoDataFrame, got {type(sources).__name__}"
        raise DataValidationError(msg)
    missing = [c for c in REQUIRED_COLUMNS if c not in sources.columns]
    if missing:
        msg = (
            f"noise sources lack column(s) {missing}; make them with noise_sources_from_osm "
            "or give kind ('road'/'rail') and lw_day/lw_evening/lw_night in dB re 1 pW/m"
        )
        raise DataValidationError(msg)
    if len(sources) == 0:
        return
    if sources.crs is None:
        msg = "noise sources have no CRS; set it and project them to the grid CRS"
        raise CRSError(msg)
    if CRS.from_user_input(sources.crs) != crs:
        msg = (
            f"noise sources are in {sources.crs.to_string()}, the grid in {crs.to_string()}; "
            "reproject the sources with .to_crs() first"
        )
        raise CRSError(msg)
    kinds = set(sources["kind"].unique()) - {"road", "rail"}
    if kinds:
        msg = f"noise source kind must be 'road' or 'rail', found {sorted(map(str, kinds))}"
        raise DataValidationError(msg)
    types = set(sources.geom_type.dropna().unique()) - {"LineString", "MultiLineString"}
    if types:
        msg = f"noise sources must be lines, found geometry types {sorted(types)}"
        raise DataValidationError(msg)
    lw = sources[list(REQUIRED_COLUMNS[1:])].to_numpy(dtype=float)
    if np.isnan(lw).any() or np.isposinf(lw).any():
        msg = "noise sources have NaN or infinite lw_day/lw_evening/lw_night; fix or drop those rows"
        raise DataValidationError(msg)


def _fft_shape(rows: int, cols: int) -> tuple[int, int]:
    # Circular convolution of the padded grid (rows/cols include 2p of padding)
    # does not alias into the valid centre, so the padded size itself suffices.
    return (scipy.fft.next_fast_len(rows, real=True), scipy.fft.next_fast_len(cols, real=True))


def model_lden(
    sources: gpd.GeoDataFrame,
    bounds: tuple[float, float, float, float],
    crs: Any,
    params: NoiseModelParams | None = None,
    *,
    buildings: gpd.GeoDataFrame | Screens | None = None,
    workers: int = -1,
    memory_budget_bytes: int | None = None,
) -> NoiseGrid:
    """Model Lden (and Lnight) of road and rail traffic on a regular grid.

    Parameters
    ----------
    sources : geopandas.GeoDataFrame
        Source lines with ``kind`` and ``lw_day``, ``lw_evening``, ``lw_night``
        (A-weighted sound power per metre, dB re 1 pW/m), as made by
        :func:`~sitefinder.noisemodel.noise_sources_from_osm`. Sources outside
        ``bounds`` but within ``max_distance_m`` count.
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` of the area in ``crs``; snapped outward
        to whole cells.
    crs : pyproj.CRS or str or int
        Projected CRS of the grid; ``sources`` must be in it.
    params : NoiseModelParams, optional
        Model parameters; defaults to ``NoiseModelParams()``.
    buildings : geopandas.GeoDataFrame or Screens, optional
        Screening buildings with ``height_m`` (see
        :func:`~sitefinder.noisemodel.buildings.building_heights`) in ``crs``, or the
        same as :class:`~sitefinder.noisemodel.buildings.Screens` (compact: a caller that
        drops its frame saves the geometries' memory during the model).
        When given, paths they block get the CNOSSOS-EU diffraction attenuation
        (fast sector method, :func:`~sitefinder.noisemodel.screening.screening_ratio`)
        and cells inside buildings are NaN (no receivers there).
    workers : int
        Threads for the FFTs (``scipy.fft`` ``workers``); -1, the default, uses
        all CPUs.
    memory_budget_bytes : int, optional
        Working memory of one tile (default :data:`TILE_BUDGET_BYTES`, at most half the
        available memory). The grid is
        computed in tiles, each with a margin of ``max_distance_m`` (overlap-save over
        the kernel radius), so memory does not grow with the area beyond the result
        grids; the tiled result equals the untiled one within float round-off.

    Returns
    -------
    NoiseGrid
        ``lden`` and ``lnight`` (float32, dB(A), at receiver height, clipped
        below at ``params.floor_db``), ``modelled=True`` and ``provenance``
        with ``method``, ``params``, ``n_sources`` and ``model_version``.

    Raises
    ------
    sitefinder.errors.CRSError
        When ``crs`` is not projected or the sources are in another CRS.
    sitefinder.errors.DataValidationError
        On bad bounds, missing columns, non-line geometries or NaN levels.
    """
    t_start = time.perf_counter()
    params = params or NoiseModelParams()
    try:
        grid_crs = CRS.from_user_input(crs)
    except PyprojCRSError:
        msg = f"grid CRS {crs!r} is not a CRS pyproj knows; use e.g. EPSG:28992"
        raise CRSError(msg) from None
    if not grid_crs.is_projected:
        msg = f"grid CRS {grid_crs.to_string()} is geographic; use a projected CRS in metres"
        raise CRSError(msg)
    _check_sources(sources, grid_crs)
    res = params.resolution_m
    transform, rows, cols = _grid_frame(bounds, res)
    pad = math.ceil(params.max_distance_m / res)
    screening = buildings is not None and len(buildings) > 0
    if memory_budget_bytes is None:
        budget = min(TILE_BUDGET_BYTES, available_memory_bytes() // 2)
    else:
        budget = int(memory_budget_bytes)
    tile = tile_shape(rows, cols, pad, screening, budget)
    _check_memory(rows, cols, pad, res, screening, tile)
    fshape = _fft_shape(tile[0] + 2 * pad, tile[1] + 2 * pad)

    alpha = None
    if params.air_absorption:
        alpha = (
            air_absorption_db_per_km(EXACT_MIDBAND_HZ, params.air_temperature_c, params.relative_humidity_pct)
            / 1000.0
        )
    den_w = np.array([PERIOD_HOURS[p] / 24 * 10 ** (PERIOD_PENALTY_DB[p] / 10) for p in PERIODS])
    c_ground = speed_of_sound_m_s(params.air_temperature_c)

    # Per kind and propagation condition c (favourable F, homogeneous H), by linearity:
    # Lden energy = sum_c (sum_p w_p P_c,p E_p) * K_c, with w_p the Lden period weights and
    # P_F,p = p_p, P_H,p = 1 - p_p; Lnight energy = sum_c (P_c,night E_night) * K_c.
    p_fav = np.array(params.favourable)
    mix = {"favourable": p_fav, "homogeneous": 1 - p_fav}
    night = np.array([0.0, 0.0, 1.0])
    kinds: list[_KindModel] = []
    n_samples = 0
    screen_total = np.zeros(3)
    for kind, spectrum, z_s in (
        ("road", road_reference_spectrum(), params.road_source_height_m),
        ("rail", rail_reference_spectrum(), params.rail_source_height_m),
    ):
        part = sources.loc[sources["kind"].to_numpy() == kind]
        part = part.loc[~part.geometry.isna().to_numpy() & ~part.geometry.is_empty.to_numpy()]
        if len(part) == 0:
            continue
        xy, length, idx = sample_lines(part.geometry.to_numpy(), params.spacing_m)
        n_samples += len(length)
        lw = part[["lw_day", "lw_evening", "lw_night"]].to_numpy(dtype=float)
        power = 10 ** (lw / 10)  # pW/m per period, (n_sources, 3)
        model = _KindModel(xy=xy, spectrum=spectrum, z_s=z_s, source=idx, length=length)
        for cond, prob in mix.items():
            kernel = attenuation_kernel(
                res,
                params.max_distance_m,
                spectrum,
                z_s=z_s,
                z_r=params.receiver_height_m,
                ground_factor=params.ground_factor,
                favourable=cond == "favourable",
                alpha_db_per_m=alpha,
                speed_of_sound=c_ground,
            )
            model.kernels[cond] = kernel
            model.kernel_hats[cond] = scipy.fft.rfft2(kernel, s=fshape, workers=workers)
            for name, weights in (("lden", den_w * prob), ("lnight", night * prob)):
                if weights.any():
                    model.line_power[(name, cond)] = power @ weights
        if screening:
            model.screen_line_power = power @ den_w
            screen_total = screen_total + power.sum(axis=0) * den_w
        kinds.append(model)

    screen: _Screen | None = None
    if screening:
        assert buildings is not None
        screens = buildings if isinstance(buildings, Screens) else Screens.from_frame(buildings)
        screen = _Screen(screens, min(pad, screening_margin(res)))
    if screen is not None and kinds:
        # One screening factor for all sources, with the geometry and spectrum of the first kind
        # (road when there is road traffic) and the Lden share of favourable conditions.
        first = kinds[0]
        p_den = float((screen_total * p_fav).sum() / screen_total.sum()) if screen_total.sum() > 0 else 0.5
        setup = PathSetup(
            first.spectrum, first.z_s, params.receiver_height_m, params.ground_factor, p_den, alpha, c_ground
        )
        kernel = p_den * first.kernels["favourable"] + (1 - p_den) * first.kernels["homogeneous"]
        screen.setup, screen.kernel = setup, kernel
    for model in kinds:
        model.kernels.clear()

    lden = np.empty((rows, cols), dtype=np.float32)
    lnight = np.empty((rows, cols), dtype=np.float32)
    n_inside = 0
    t_scr = 0.0
    att_hist = np.zeros(len(_ATT_BINS_DB) + 1, dtype=np.int64)
    tiles = _tiles(rows, cols, tile)
    if len(tiles) > 1:
        log.info(
            "Noise model in %d tiles of up to %d x %d cells (budget %.0f MB per tile)",
            len(tiles),
            tile[0],
            tile[1],
            budget / 2**20,
        )
    for r0, c0, tr, tc in tiles:
        # The tile's padded frame: its top-left corner is pad cells up and left of the tile's.
        tx0 = transform.c + (c0 - pad) * res
        ty0 = transform.f - (r0 - pad) * res
        pshape = (tr + 2 * pad, tc + 2 * pad)
        energy: dict[str, np.ndarray] = {}
        screen_power: np.ndarray | None = None
        for model in kinds:
            near = model.near(tx0, ty0, res, pshape)
            acc: dict[str, np.ndarray] = {}
            for cond in mix:
                k_hat = model.kernel_hats[cond]
                for name in ("lden", "lnight"):
                    if (name, cond) not in model.line_power:
                        continue
                    e_hat = scipy.fft.rfft2(
                        model.deposit(model.line_power[(name, cond)], tx0, ty0, res, pshape, near),
                        s=fshape,
                        workers=workers,
                    )
                    e_hat *= k_hat
                    if name in acc:
                        acc[name] += e_hat
                    else:
                        acc[name] = e_hat
            for name, hat in acc.items():
                e = _valid_energy(hat, fshape, pad, tr, tc, workers)
                energy[name] = energy[name] + e if name in energy else e
            del acc
            if model.screen_line_power is not None:
                den_power = model.deposit(model.screen_line_power, tx0, ty0, res, pshape, near)
                screen_power = den_power if screen_power is None else screen_power + den_power
        inside = None
        if screen is not None:
            heights = screen.heights(tx0 + pad * res, ty0 - pad * res, res, tr, tc)
            m = screen.margin
            inside = heights[m : m + tr, m : m + tc] > 0
            if (
                screen_power is not None
                and screen.setup is not None
                and screen.kernel is not None
                and heights.any()
            ):
                t0 = time.perf_counter()
                ratio = screening_ratio(
                    screen_power,
                    screen.kernel,
                    heights,
                    pad,
                    tr,
                    tc,
                    res,
                    params.max_distance_m,
                    screen.setup,
                    workers=workers,
                    heights_margin=m,
                    shared=screen.shared,
                )
                t_scr += time.perf_counter() - t0
                energy = {name: e * ratio for name, e in energy.items()}
                # Median attenuation over the receivers (cells outside buildings).
                att = -10 * np.log10(np.maximum(ratio[~inside], 1e-12))
                att_hist += np.bincount(np.searchsorted(_ATT_BINS_DB, att), minlength=len(att_hist))
            else:
                att_hist[0] += tr * tc
        del screen_power
        out_lden = lden[r0 : r0 + tr, c0 : c0 + tc]
        out_lnight = lnight[r0 : r0 + tr, c0 : c0 + tc]
        out_lden[...] = _to_level(energy.get("lden"), tr, tc, params.floor_db)
        out_lnight[...] = _to_level(energy.get("lnight"), tr, tc, params.floor_db)
        if inside is not None:
            n_inside += int(inside.sum())
            out_lden[inside] = np.nan
            out_lnight[inside] = np.nan
        del energy, inside
        if len(tiles) > 1:
            release_memory()  # the tile's buffers, freed in the arenas of its threads
    screened_stats: dict[str, Any] = {}
    if screen is not None and screen.setup is not None:
        screened_stats = {
            "seconds": round(t_scr, 2),
            "median_attenuation_db": round(_hist_median(att_hist), 2),
        }
    elapsed = time.perf_counter() - t_start
    log.info(
        "Modelled Lden on %d x %d cells of %g m (%s) from %d sources (%d samples) in %.1f s; "
        "Lden %.1f-%.1f dB",
        rows,
        cols,
        res,
        grid_crs.to_string(),
        len(sources),
        n_samples,
        elapsed,
        float(np.nanmin(lden)) if np.isfinite(lden).any() else float("nan"),
        float(np.nanmax(lden)) if np.isfinite(lden).any() else float("nan"),
    )
    provenance = {
        "method": METHOD,
        "model_version": MODEL_VERSION,
        "params": params.model_dump(mode="json"),
        "n_sources": len(sources),
        "n_road_sources": int((sources["kind"] == "road").sum()) if len(sources) else 0,
        "n_rail_sources": int((sources["kind"] == "rail").sum()) if len(sources) else 0,
        "floor_db": params.floor_db,
        "screening": (
            {
                "method": SCREENING_METHOD,
                "n_buildings": len(buildings) if buildings is not None else 0,
                "cells_inside_buildings": n_inside,
                **screened_stats,
            }
            if screening
            else None
        ),
    }
    return NoiseGrid(
        lden=lden,
        transform=transform,
        crs=grid_crs,
        lnight=lnight,
        modelled=True,
        provenance=provenance,
    )


#: Bin edges of the screening attenuation histogram (dB): bin i holds values that round to
#: ``0.01 i`` dB, so the median is exact to 0.01 dB without keeping the whole grid.
_ATT_BINS_DB = 0.005 + 0.01 * np.arange(6000)


def _hist_median(hist: np.ndarray) -> float:
    """Median of the values counted in an :data:`_ATT_BINS_DB` histogram (dB, to 0.01)."""
    total = int(hist.sum())
    if total == 0:
        return float("nan")
    return 0.01 * int(np.searchsorted(np.cumsum(hist), (total + 1) / 2))


def _tiles(rows: int, cols: int, tile: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """``(row0, col0, rows, cols)`` of the tiles covering a ``rows`` x ``cols`` grid."""
    tr, tc = tile
    return [
        (r0, c0, min(tr, rows - r0), min(tc, cols - c0))
        for r0 in range(0, rows, tr)
        for c0 in range(0, cols, tc)
    ]


@dataclass
class _KindModel:
    """One source kind (road or rail): its sample points, per-sample powers and kernel FFTs."""

    xy: np.ndarray
    spectrum: np.ndarray
    z_s: float
    #: Source line of each sample and the line length it stands for (m).
    source: np.ndarray
    length: np.ndarray
    #: Power per metre of each source line (pW/m) per (period weighting, condition): a
    #: sample's power is ``line_power[...][source] * length``, formed in the deposition loop.
    line_power: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    kernels: dict[str, np.ndarray] = field(default_factory=dict)
    kernel_hats: dict[str, np.ndarray] = field(default_factory=dict)
    #: Power per metre of each source line for the screening weights (Lden periods, pW/m).
    screen_line_power: np.ndarray | None = None

    def near(self, x0: float, y0: float, res: float, shape: tuple[int, int]) -> np.ndarray:
        """Indices of the samples within a cell of the grid of ``shape`` with top-left corner ``(x0, y0)``.

        Only these can put power on the grid (a sample reaches the four cell centres around it).
        """
        rows, cols = shape
        x, y = self.xy[:, 0], self.xy[:, 1]
        keep = (x >= x0 - res) & (x <= x0 + (cols + 1) * res) & (y <= y0 + res) & (y >= y0 - (rows + 1) * res)
        return np.flatnonzero(keep)

    def deposit(
        self, power: np.ndarray, x0: float, y0: float, res: float, shape: tuple[int, int], near: np.ndarray
    ) -> np.ndarray:
        """The samples' power summed onto the grid of ``shape`` whose top-left corner is ``(x0, y0)``.

        ``power`` is per source line (pW/m); each sample carries ``power[source] * length``,
        spread with bilinear weights over the four nearest cell centres (:func:`.splat.deposit`);
        ``near`` from :meth:`near`.
        """
        return np.asarray(
            deposit(self.xy, x0, y0, res, shape[0], shape[1], power, self.source, self.length, near)
        )


class _Screen:
    """The buildings that screen, rasterised tile by tile with a margin for the profile reach."""

    def __init__(self, buildings: Screens, margin: int) -> None:
        self.buildings = buildings
        self.margin = margin
        self.setup: PathSetup | None = None
        self.kernel: np.ndarray | None = None
        #: What the tiles share in :func:`~sitefinder.noisemodel.screening.screening_ratio`.
        self.shared: dict[Any, Any] = {}

    def heights(self, x0: float, y0: float, res: float, rows: int, cols: int) -> np.ndarray:
        """Heights (m) of the tile with top-left corner ``(x0, y0)``, plus ``margin`` cells around."""
        m = self.margin
        left, top = x0 - m * res, y0 + m * res
        shape = (rows + 2 * m, cols + 2 * m)
        return self.buildings.raster(Affine(res, 0.0, left, 0.0, -res, top), shape)


def _valid_energy(
    spectrum_hat: np.ndarray, fshape: tuple[int, int], pad: int, rows: int, cols: int, workers: int
) -> np.ndarray:
    """Inverse FFT and cut out the valid grid (received energy, pW/m²)."""
    energy = scipy.fft.irfft2(spectrum_hat, s=fshape, workers=workers)
    return np.asarray(energy[2 * pad : 2 * pad + rows, 2 * pad : 2 * pad + cols])


def _to_level(energy: np.ndarray | None, rows: int, cols: int, floor_db: float) -> np.ndarray:
    """Energy -> dB, clipped at the floor; the floor where there is no energy."""
    if energy is None:
        return np.full((rows, cols), floor_db, dtype=np.float32)
    floor = 10 ** (floor_db / 10)
    level = 10 * np.log10(np.maximum(energy, floor))
    return level.astype(np.float32)
