"""Screening by buildings: a fast raster method and an exact per-cell ray version to check it.

Where buildings block the line of sight between a source and a receiver, the
path gets the CNOSSOS-EU diffraction attenuation ``A_dif`` (Directive
2002/49/EC Annex II 2.5.7, as amended by (EU) 2021/1226) instead of the ground
attenuation ``A_ground``; ``A_dif = min(25, Δdif(S,R)) + Δground(S,O) + Δground(O,R)``.

Fast method (:func:`screening_ratio`)
    The unscreened energy comes from the FFT model as before. Around each
    receiver the source offsets are split into ``K`` azimuth sectors and a few
    distance rings; the energy from each (sector, ring) is a convolution of the
    power grid with that part of the kernel (shift-and-add, overlap-add or FFT
    by size). Along the centre line of each sector the building-height raster
    is read at steps out to :data:`PROFILE_REACH_M`; for a source at the ring's
    representative distances (three rays per sector, two distances per ring)
    the highest edges seen from the receiver and from the source give the path
    difference δ and edge spacing ``e``, and the screening factor
    ``F = T_screened / T`` (tables over δ per ring and ``e``, band-weighted with
    the source spectrum). The cell's energy is scaled by ``Σ Q_kj F_kj / Σ Q_kj``.
    Simplifications: straight rays in both conditions, the ground terms of the
    diffracted path at their lower bound ``-3 (1 - G)`` each, ``e`` rounded
    down to a table bin, one factor per (sector, ring).
Exact version (:func:`exact_levels`)
    For chosen receiver cells, every source sample point separately: the
    height profile along the straight path read every half cell, the edges of
    largest elevation seen from the receiver and from the source (two edges
    with C″ when they differ), full ``A_dif`` per band with both ground terms,
    curved rays in favourable conditions. Slow (seconds per cell); for checks.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from sitefinder.noisemodel.cnossos_tables import OCTAVE_BANDS_HZ
from sitefinder.noisemodel.diffraction import MAX_DIFFRACTION_DB, ray_radius
from sitefinder.noisemodel.propagation import SPEED_OF_SOUND, ground_terms, transfer
from sitefinder.noisemodel.rays import sector_losses

log = logging.getLogger(__name__)

#: Buildings farther than this along a sector's centre line are not read (m).
PROFILE_REACH_M = 350.0
#: Outer edges of the distance rings of the fast method (m); the last ring runs to max_distance.
RING_EDGES_M = (20.0, 50.0, 130.0, 350.0)
#: Number of azimuth sectors of the fast method.
SECTORS = 16
#: Rays read per sector (their screening factors are averaged).
SUBRAYS = 3
#: Kernel parts of at most this many cells are convolved by shift-and-add, larger ones by FFT.
_SHIFT_ADD_CELLS = 24
#: Edge spacings (m) of the fast method's tables; a spacing is rounded down to one of them.
EDGE_BINS_M = (0.0, 3.0, 8.0, 20.0)


@dataclass(frozen=True)
class PathSetup:
    """What the screening needs to know about one source kind and the propagation."""

    spectrum: np.ndarray
    z_s: float
    z_r: float
    ground_factor: float
    p_favourable: float
    alpha_db_per_m: np.ndarray | None
    #: ``c`` of the ground term's wave number (m/s); the model passes the one at its air temperature.
    ground_speed_of_sound: float = SPEED_OF_SOUND


def _lam() -> np.ndarray:
    return np.asarray(SPEED_OF_SOUND / OCTAVE_BANDS_HZ)


def _dif(delta: np.ndarray, e: np.ndarray | float = 0.0) -> np.ndarray:
    """Δdif per band for path differences ``delta`` (..., 1) and edge spacing ``e``; ``C_h = 1``."""
    lam = _lam()
    e_arr = np.asarray(e, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (5 * lam / np.where(e_arr > 0, e_arr, np.inf)) ** 2
        c2 = np.where(e_arr > 0, (1 + q) / (1 / 3 + q), 1.0)
    x = 40.0 / lam * c2 * delta
    return np.asarray(np.where(x >= -2.0, 10 * np.log10(np.maximum(3.0 + x, 1e-12)), 0.0))


#: Log10 grids of the fast method's tables: path difference δ (m) and the extra path
#: difference of the image receiver, δ' - δ (m).
_LOG_DELTA = np.linspace(-4.0, 3.0, 71)
_LOG_EXTRA = np.linspace(-4.0, 3.0, 36)


def _screened_transfer_table(ring_rho: float, setup: PathSetup, e_m: float = 0.0) -> np.ndarray:
    """``F(δ, δ' - δ) = T_screened / T`` at distance ``ring_rho`` and edge spacing ``e_m``.

    ``A_dif = min(25, Δdif(δ)) + Δground(S,O) + Δground(O,R)`` per band, with
    ``A_ground(S,O) = A_ground(O,R) = -3 (1 - G)`` (their lower bound), the image
    source on the source (the road source is 5 cm above the ground, so
    ``Δground(S,O) = A_ground(S,O)``) and the image receiver ``R'`` giving
    ``Δground(O,R)`` from ``Δdif(δ') - Δdif(δ)``. Shape ``(len(_LOG_DELTA), len(_LOG_EXTRA))``.
    """
    d = math.hypot(ring_rho, setup.z_r - setup.z_s)
    a_div = 20 * math.log10(d) + 11.0
    a_atm = setup.alpha_db_per_m * d if setup.alpha_db_per_m is not None else 0.0
    g_min = -3.0 * (1.0 - setup.ground_factor)
    delta = (10**_LOG_DELTA)[:, None, None]
    extra = (10**_LOG_EXTRA)[None, :, None]
    d_sr = _dif(delta, e_m)
    d_srp = _dif(delta + extra, e_m)
    dg_or = -20 * np.log10(1 + (10 ** (-g_min / 20) - 1) * 10 ** (-(d_srp - d_sr) / 20))
    a_dif = np.minimum(d_sr, MAX_DIFFRACTION_DB) + g_min + dg_or
    t_scr = (setup.spectrum * 10 ** (-(a_div + a_atm + a_dif) / 10)).sum(axis=2)
    t_free = 0.0
    for fav, prob in ((True, setup.p_favourable), (False, 1 - setup.p_favourable)):
        t_free += prob * float(
            transfer(
                np.array([ring_rho]),
                setup.spectrum,
                z_s=setup.z_s,
                z_r=setup.z_r,
                ground_factor=setup.ground_factor,
                favourable=fav,
                alpha_db_per_m=setup.alpha_db_per_m,
                speed_of_sound=setup.ground_speed_of_sound,
            )[0]
        )
    return np.asarray(np.minimum(t_scr / t_free, 1.0), dtype=np.float32)


def screening_margin(res: float) -> int:
    """Cells of building heights the fast method reads beyond a grid's edge (its profile reach)."""
    return math.ceil(PROFILE_REACH_M / res) + 2


def _profile_steps(res: float) -> np.ndarray:
    """Distances (m) at which a sector's centre line is read: every cell near, sparser far."""
    near = np.arange(res, 50.0 + 1e-9, res)
    mid = np.arange(near[-1] + 2 * res, 130.0 + 1e-9, 2 * res)
    far = np.arange(mid[-1] + 4 * res, PROFILE_REACH_M + 1e-9, 4 * res)
    return np.concatenate([near, mid, far])


def _sector_ring_masks(p: int, res: float, max_distance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per kernel cell: sector index, ring index (-1 for the centre cell) and distance (m).

    Kernel cell ``(a, b)`` (row, col from the centre) multiplies the power at
    the source offset ``dx = -b res``, ``dy = a res`` (convolution, rows down).
    """
    ij = np.arange(-p, p + 1, dtype=float)
    a, b = np.meshgrid(ij, ij, indexing="ij")
    dx, dy = -b * res, a * res
    r = np.hypot(dx, dy)
    phi = np.arctan2(dy, dx)
    sector = np.floor((phi + math.pi) / (2 * math.pi / SECTORS)).astype(np.intp) % SECTORS
    edges = np.array([*[e for e in RING_EDGES_M if e < max_distance], np.inf])
    ring = np.searchsorted(edges, r, side="right")
    ring[r < 0.75 * res] = -1
    return sector, ring, r


def _ring_bounds(j: int, res: float, max_distance: float) -> tuple[float, float]:
    """Inner and outer distance of ring ``j`` (m)."""
    edges = [0.75 * res, *[e for e in RING_EDGES_M if e < max_distance], max_distance]
    return (max(edges[j], res), edges[j + 1])


def _ring_rhos(j: int, res: float, max_distance: float) -> tuple[float, float]:
    """The distances of ring ``j`` at which the screening tables are made: its two ends."""
    return _ring_bounds(j, res, max_distance)


def _ray_offsets(
    res: float, steps: np.ndarray, k: int, reach: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells read along the rays of sector ``k``: offsets, their distances and counts per ray.

    A ray at ``theta`` reads the cell nearest to each step (row offset ``-t sin theta``,
    column offset ``t cos theta``), each cell once; reading stops at the first offset at
    or beyond ``reach`` (the farthest source distance of any ring).

    Returns
    -------
    offsets : numpy.ndarray
        ``(SUBRAYS, len(steps), 2)`` int64 ``(dr, dc)`` per ray, in step order.
    dists : numpy.ndarray
        ``(SUBRAYS, len(steps))`` distance of each offset (m).
    counts : numpy.ndarray
        ``(SUBRAYS,)`` offsets used per ray.
    """
    width = 2 * math.pi / SECTORS
    offsets = np.zeros((SUBRAYS, len(steps), 2), dtype=np.int64)
    dists = np.zeros((SUBRAYS, len(steps)), dtype=np.float64)
    counts = np.zeros(SUBRAYS, dtype=np.int64)
    for sub in range(SUBRAYS):
        theta = -math.pi + (k + (sub + 0.5) / SUBRAYS) * width
        seen: set[tuple[int, int]] = set()
        n = 0
        for t in steps:
            dc = round(t * math.cos(theta) / res)
            dr = round(-t * math.sin(theta) / res)
            if (dr, dc) in seen:
                continue
            seen.add((dr, dc))
            tt = math.hypot(dr, dc) * res
            if tt >= reach:
                break
            offsets[sub, n] = dr, dc
            dists[sub, n] = tt
            n += 1
        counts[sub] = n
    return offsets, dists, counts


def _conv_valid(power: np.ndarray, kernel: np.ndarray, pad: int, rows: int, cols: int) -> np.ndarray:
    """``power ⊛ kernel`` on the valid area (rows x cols inside a padding of ``pad`` cells).

    Shift-and-add over the kernel's nonzero cells: for the few-cell kernel parts (the centre
    cell, the near rings' sectors); larger parts go by FFT in :func:`screening_ratio`.
    """
    nz = np.argwhere(kernel != 0)
    k = (kernel.shape[0] - 1) // 2
    out = np.zeros((rows, cols), dtype=np.float64)
    for a, b in nz:
        da, db = a - k, b - k
        out += kernel[a, b] * power[pad - da : pad - da + rows, pad - db : pad - db + cols]
    return out


def screening_ratio(
    power_pad: np.ndarray,
    kernel: np.ndarray,
    heights_pad: np.ndarray,
    pad: int,
    rows: int,
    cols: int,
    res: float,
    max_distance: float,
    setup: PathSetup,
    *,
    workers: int = -1,
    heights_margin: int | None = None,
    shared: dict[Any, Any] | None = None,
) -> np.ndarray:
    """Fast screening: the factor by which buildings scale each cell's received energy.

    Parameters
    ----------
    power_pad : numpy.ndarray
        Sound power per cell (pW) on the padded grid (``rows + 2 pad`` x ``cols + 2 pad``).
    kernel : numpy.ndarray
        Unscreened transfer kernel ``(2p + 1, 2p + 1)``, conditions mixed.
    heights_pad : numpy.ndarray
        Building height per cell (m, 0 outside buildings) on the valid grid padded by
        ``heights_margin`` cells (at least :func:`screening_margin` or ``pad``).
    pad, rows, cols : int
        Padding of ``power_pad`` and size of the valid grid.
    res, max_distance : float
        Cell size and kernel reach (m).
    setup : PathSetup
        Spectrum, heights, ground factor and condition mix of the sources.
    workers : int
        FFT threads.
    heights_margin : int, optional
        Padding of ``heights_pad`` (cells); default ``pad``.
    shared : dict, optional
        What the tiles of one grid share (give the same empty dict to every tile of it, with
        the same ``kernel``, ``setup`` and resolution): the screening tables, made by the first
        tile and reused.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` factor in (0, 1]; 1 where nothing screens.

    Notes
    -----
    The far ring's sector convolutions are FFTs in float32 (the energies they give only
    weight the screening factors of one cell against each other; levels within 1e-5 dB of
    float64 on the scale-8 town); the nearer rings' stay float64 (float32 there moved a few
    cells by up to 0.09 dB).
    """
    p = (kernel.shape[0] - 1) // 2
    sector, ring, _ = _sector_ring_masks(p, res, max_distance)
    n_rings = int(ring.max()) + 1
    rhos = [_ring_rhos(j, res, max_distance) for j in range(n_rings)]
    shared = {} if shared is None else shared
    if "tables" not in shared:
        # Per ring and edge-spacing bin the tables at the ring's inner and outer edge, stacked:
        # (rings, bins, δ, δ' - δ, [near, far]).
        tables = [
            [
                np.stack([_screened_transfer_table(rho, setup, e) for rho in pair], axis=-1)
                for e in EDGE_BINS_M
            ]
            for pair in rhos
        ]
        shared["tables"] = np.ascontiguousarray(np.stack([np.stack(t) for t in tables]), dtype=np.float32)
    all_t = shared["tables"]
    steps = _profile_steps(res)
    z_r, z_s = setup.z_r, setup.z_s
    num = np.zeros((rows, cols), dtype=np.float64)
    den = np.zeros((rows, cols), dtype=np.float64)
    centre = np.where(ring == -1, kernel, 0.0)
    c0 = _conv_valid(power_pad, centre, pad, rows, cols)
    num += c0
    den += c0
    fshape = (
        scipy.fft.next_fast_len(power_pad.shape[0], real=True),
        scipy.fft.next_fast_len(power_pad.shape[1], real=True),
    )
    p_hat = None
    margin = pad if heights_margin is None else heights_margin
    hts = np.ascontiguousarray(heights_pad, dtype=np.float32)
    _, _, r_kernel = _sector_ring_masks(p, res, max_distance)

    ring_hat: dict[int, np.ndarray] = {}
    # Sectors run two at a time in threads (below): their own FFTs then take one thread each,
    # rather than each asking for every CPU (the same results; pocketfft splits only the work).
    threads = min(2, os.cpu_count() or 1) if workers == -1 else max(1, min(2, workers))
    per_sector = 1 if threads > 1 else workers
    lock = threading.Lock()

    def conv(part: np.ndarray, j: int) -> np.ndarray:
        nonlocal p_hat
        if j == n_rings - 1 and p > 60:
            with lock:
                if p_hat is None:
                    p_hat = scipy.fft.rfft2(power_pad.astype(np.float32), s=fshape, workers=workers)
            k_hat = scipy.fft.rfft2(part.astype(np.float32), s=fshape, workers=per_sector)
            q_full = scipy.fft.irfft2(p_hat * k_hat, s=fshape, workers=per_sector)
            q = q_full[2 * p : 2 * p + rows, 2 * p : 2 * p + cols]
        elif np.count_nonzero(part) <= _SHIFT_ADD_CELLS:
            q = _conv_valid(power_pad, part, pad, rows, cols)
        else:
            # FFT of the power crop once per ring, shared by its sectors (and both weightings).
            h = min(p, math.ceil(_ring_bounds(j, res, max_distance)[1] / res) + 1)
            shape = (
                scipy.fft.next_fast_len(rows + 2 * h, real=True),
                scipy.fft.next_fast_len(cols + 2 * h, real=True),
            )
            with lock:
                if j not in ring_hat:
                    crop = power_pad[pad - h : pad + rows + h, pad - h : pad + cols + h]
                    ring_hat[j] = scipy.fft.rfft2(crop, s=shape, workers=workers)
            c_hat = ring_hat[j]
            sub = part[p - h : p + h + 1, p - h : p + h + 1]
            q_full = scipy.fft.irfft2(
                c_hat * scipy.fft.rfft2(sub, s=shape, workers=per_sector), s=shape, workers=per_sector
            )
            q = q_full[2 * h : 2 * h + rows, 2 * h : 2 * h + cols]
        return np.asarray(np.maximum(q, 0.0), dtype=np.float64)  # FFT round-off

    rho_ref = np.array(rhos, dtype=np.float64)
    edge_bins = np.array(EDGE_BINS_M, dtype=np.float64)
    delta_grid = (float(_LOG_DELTA[0]), float(_LOG_DELTA[1] - _LOG_DELTA[0]), len(_LOG_DELTA))
    extra_grid = (float(_LOG_EXTRA[0]), float(_LOG_EXTRA[1] - _LOG_EXTRA[0]), len(_LOG_EXTRA))

    def one_sector(k: int) -> tuple[np.ndarray, np.ndarray]:
        """The sector's share of the numerator and denominator."""
        num_k = np.zeros((rows, cols), dtype=np.float64)
        den_k = np.zeros((rows, cols), dtype=np.float64)
        q_ring: list[np.ndarray | None] = []
        rho_all = np.zeros((n_rings, rows * cols), dtype=np.float32)
        for j in range(n_rings):
            part = np.where((sector == k) & (ring == j), kernel, 0.0)
            lo, hi = _ring_bounds(j, res, max_distance)
            if not part.any():
                q_ring.append(None)
                rho_all[j] = lo  # unused; keeps the distances in ring order
                continue
            q = conv(part, j)
            if j == n_rings - 1 and p > 60:
                # Beyond the profile reach the source distance hardly changes δ: the ring's
                # log-mean distance saves the second large FFT.
                rho_all[j] = np.float32(math.sqrt(lo * hi))
            else:
                qr = conv(part * r_kernel, j)
                with np.errstate(invalid="ignore", divide="ignore"):
                    rho = np.where(q > 0, qr / q, math.sqrt(lo * hi))
                rho_all[j] = np.clip(rho, lo, hi).reshape(-1)
            q_ring.append(q)
        use = np.array([q is not None for q in q_ring])
        # The rays stop at the farthest source distance of any ring.
        one = np.zeros(n_rings, dtype=bool)
        one[-1] = p > 60  # the far ring: its log-mean distance for all cells
        bounds = np.array(
            [(float(rho_all[j].min()), float(rho_all[j].max())) for j in range(n_rings)], dtype=np.float64
        )
        reach = max((bounds[j, 1] for j in range(n_rings) if use[j]), default=0.0)
        offsets, dists, counts = _ray_offsets(res, steps, k, reach)
        # Summed screening loss 1 - F per ring over SUBRAYS rays across the sector (0 where open).
        loss = sector_losses(
            hts, margin, rows, cols, offsets, dists, counts, rho_all, bounds, use, one, z_s, z_r,
            all_t, rho_ref, edge_bins, delta_grid, extra_grid,
        )  # fmt: skip
        loss_sum = list(loss)
        for q_j, l_j in zip(q_ring, loss_sum, strict=True):
            if q_j is not None:
                num_k += q_j * (1 - l_j / SUBRAYS).reshape(rows, cols)
                den_k += q_j
        return num_k, den_k

    # Sectors are independent: on several CPUs two at a time (numpy releases the GIL in the
    # large array operations); summed in sector order, so the result does not depend on it.
    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for num_k, den_k in pool.map(one_sector, range(SECTORS)):
                num += num_k
                den += den_k
    else:
        for k in range(SECTORS):
            num_k, den_k = one_sector(k)
            num += num_k
            den += den_k
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(den > 0, num / den, 1.0)
    return np.asarray(np.clip(ratio, 0.0, 1.0))


# --- exact per-cell ray version ---------------------------------------------------------------


def _ground_vec(
    d: np.ndarray,
    z_s: np.ndarray,
    z_r: np.ndarray,
    g: float,
    g_s: float,
    fav: bool,
    c: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Vectorised A_ground for paths ``(n, 1)`` with per-path heights (same equations as ground_terms)."""
    f = OCTAVE_BANDS_HZ[None, :]
    d = np.maximum(d, 0.01)
    near = 30.0 * (z_s + z_r)
    g_prime = np.where(d <= near, g * d / near + g_s * (1 - d / near), g)
    if fav:
        a_min = np.where(d <= near, -3 * (1 - g_prime), -3 * (1 - g_prime) * (1 + 2 * (1 - near / d)))
        dz_t = 6e-3 * d / (z_s + z_r)
        zs = z_s + 2e-4 * (z_s / (z_s + z_r)) ** 2 * d**2 / 2 + dz_t
        zr = z_r + 2e-4 * (z_r / (z_s + z_r)) ** 2 * d**2 / 2 + dz_t
        g_w = np.full_like(d, g)
    else:
        a_min = -3 * (1 - g_prime)
        zs, zr, g_w = z_s, z_r, g_prime
    if g == 0:
        return np.asarray(np.broadcast_to(a_min, (len(d), f.shape[1])).copy())
    k = 2 * math.pi * f / c
    gw26 = g_w**2.6
    w = 0.0185 * f**2.5 * gw26 / (f**1.5 * gw26 + 1.3e3 * f**0.75 * g_w**1.3 + 1.16e6)
    wd = w * d
    c_f = d * (1 + 3 * wd * np.exp(-np.sqrt(wd))) / (1 + wd)
    ck = c_f / k
    root = np.sqrt(2 * ck)
    term = 4 * k**2 / d**2 * (zs**2 - root * zs + ck) * (zr**2 - root * zr + ck)
    with np.errstate(divide="ignore"):
        a = -10 * np.log10(term)
    return np.asarray(np.maximum(a, a_min))


def _seg(
    x0: np.ndarray, z0: np.ndarray, x1: np.ndarray, z1: np.ndarray, gamma: np.ndarray | None
) -> np.ndarray:
    c = np.hypot(x1 - x0, z1 - z0)
    if gamma is None:
        return np.asarray(c)
    return np.asarray(2 * gamma * np.arcsin(np.minimum(c / (2 * gamma), 1.0)))


def _delta(
    xs: np.ndarray, zs: np.ndarray, edges: list[tuple[np.ndarray, np.ndarray]], xr: np.ndarray, zr: np.ndarray,
    gamma: np.ndarray | None,
) -> np.ndarray:  # fmt: skip
    pts = [(xs, zs), *edges, (xr, zr)]
    total = sum(_seg(*pts[i], *pts[i + 1], gamma) for i in range(len(pts) - 1))
    return np.asarray(total - _seg(xs, zs, xr, zr, gamma))


def exact_transfer(
    dist: np.ndarray,
    profile_t: np.ndarray,
    profile_h: np.ndarray,
    setup: PathSetup,
) -> np.ndarray:
    """Screened transfer ``T`` (conditions mixed) of paths with given height profiles.

    Parameters
    ----------
    dist : numpy.ndarray
        ``(n,)`` horizontal source-receiver distances (m).
    profile_t, profile_h : numpy.ndarray
        ``(n, m)`` distances from the receiver (m; NaN past the source) and
        building heights (m) along each path.
    setup : PathSetup
        Spectrum, heights, ground and condition mix.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` energy transfer (1/m²), as :func:`~sitefinder.noisemodel.propagation.transfer`.
    """
    z_s, z_r, g = setup.z_s, setup.z_r, setup.ground_factor
    n = len(dist)
    d3 = np.hypot(dist, z_r - z_s)
    a_div = (20 * np.log10(d3) + 11.0)[:, None]
    a_atm = setup.alpha_db_per_m[None, :] * d3[:, None] if setup.alpha_db_per_m is not None else 0.0
    valid = np.isfinite(profile_t) & (profile_t > 0) & (profile_t < dist[:, None])
    t = np.where(valid, profile_t, 1.0)
    h = np.where(valid, profile_h, 0.0)
    ang_r = np.where(valid & (h > 0), (h - z_r) / t, -np.inf)
    ang_s = np.where(valid & (h > 0), (h - z_s) / np.maximum(dist[:, None] - t, 1e-6), -np.inf)
    ia, ib = ang_r.argmax(axis=1), ang_s.argmax(axis=1)
    rows = np.arange(n)
    blocked = ang_r[rows, ia] > (z_s - z_r) / dist
    out = np.zeros(n)
    for fav, prob in ((True, setup.p_favourable), (False, 1 - setup.p_favourable)):
        if prob == 0:
            continue
        free = ground_terms(
            dist[:, None],
            OCTAVE_BANDS_HZ[None, :],
            z_s,
            z_r,
            g,
            0.0,
            favourable=fav,
            speed_of_sound=setup.ground_speed_of_sound,
        )["A_ground"]
        a_b = np.asarray(free, dtype=float).copy()
        if blocked.any():
            sel = np.flatnonzero(blocked)
            dd = dist[sel][:, None]
            # Receiver at x = 0, source at x = dist; edges at distance t from the receiver.
            ta, ha = t[sel, ia[sel]][:, None], h[sel, ia[sel]][:, None]
            tb, hb = t[sel, ib[sel]][:, None], h[sel, ib[sel]][:, None]
            two = (tb > ta + 1e-6)[:, 0]
            gamma = ray_radius(np.hypot(dd, z_r - z_s)) if fav else None
            zs_, zr_ = np.full_like(dd, z_s), np.full_like(dd, z_r)
            x_s = dd
            x0 = np.zeros_like(dd)
            # Edge order from the source: (first, last) = (B, A) for two edges, (A, A) for one.
            e1x, e1z = np.where(two[:, None], tb, ta), np.where(two[:, None], hb, ha)
            e2x, e2z = ta, ha
            edges = [(e1x, e1z), (e2x, e2z)]
            delta_sr = _delta(x_s, zs_, edges, x0, zr_, gamma)
            delta_spr = _delta(x_s, -zs_, edges, x0, zr_, gamma)
            delta_srp = _delta(x_s, zs_, edges, x0, -zr_, gamma)
            e = np.where(two[:, None], np.hypot(e1x - e2x, e1z - e2z), 0.0)
            d_sr, d_spr, d_srp = _dif(delta_sr, e), _dif(delta_spr, e), _dif(delta_srp, e)
            c = setup.ground_speed_of_sound
            a_so = _ground_vec(x_s - e1x, zs_, e1z, g, g, fav, c)
            a_or = _ground_vec(e2x, e2z, zr_, g, g, fav, c)
            dg_so = -20 * np.log10(1 + (10 ** (-a_so / 20) - 1) * 10 ** (-(d_spr - d_sr) / 20))
            dg_or = -20 * np.log10(1 + (10 ** (-a_or / 20) - 1) * 10 ** (-(d_srp - d_sr) / 20))
            a_b[sel] = np.minimum(d_sr, MAX_DIFFRACTION_DB) + dg_so + dg_or
        out += prob * (setup.spectrum * 10 ** (-(a_div + a_atm + a_b) / 10)).sum(axis=1)
    return out


def exact_levels(
    cells: np.ndarray,
    cell_xy: np.ndarray,
    sample_xy: np.ndarray,
    sample_power: np.ndarray,
    heights: np.ndarray,
    height_origin: tuple[float, float],
    res: float,
    max_distance: float,
    setup: PathSetup,
) -> np.ndarray:
    """Received energy per receiver cell, summing every source sample with its own ray.

    Parameters
    ----------
    cells : numpy.ndarray
        ``(c,)`` receiver ids (returned order).
    cell_xy : numpy.ndarray
        ``(c, 2)`` receiver coordinates.
    sample_xy, sample_power : numpy.ndarray
        ``(n, 2)`` source sample points and their sound power (pW): ``(n,)``,
        or ``(n, k)`` for ``k`` power weightings at once (for example Lden and
        Lnight), which share the rays.
    heights : numpy.ndarray
        Building height raster (m) whose top-left corner is ``height_origin``
        (x, y) with square cells of ``res``.
    height_origin : tuple of float
        ``(x0, y0)`` of the raster's top-left corner.
    res, max_distance : float
        Cell size; sources farther than ``max_distance`` are ignored.
    setup : PathSetup
        Spectrum, heights, ground and condition mix.

    Returns
    -------
    numpy.ndarray
        ``(c,)`` or ``(c, k)`` energy (pW/m², ``10 lg`` gives dB).
    """
    x0, y0 = height_origin
    out = np.zeros((len(cells), *np.shape(sample_power)[1:]))
    for i in range(len(cells)):
        rx, ry = cell_xy[i]
        dxy = sample_xy - (rx, ry)
        dist = np.hypot(dxy[:, 0], dxy[:, 1])
        near = (dist <= max_distance) & (dist > 1e-6)
        if not near.any():
            continue
        total: np.ndarray | float = 0.0
        for sel in np.array_split(np.flatnonzero(near), max(1, int(near.sum()) // 4000 + 1)):
            total += _exact_chunk(rx, ry, dist[sel], dxy[sel], sample_power[sel], heights, x0, y0, res, setup)
        out[i] = total
    return out


def _exact_chunk(
    rx: float,
    ry: float,
    dist: np.ndarray,
    dxy: np.ndarray,
    w: np.ndarray,
    heights: np.ndarray,
    x0: float,
    y0: float,
    res: float,
    setup: PathSetup,
) -> np.ndarray:
    """Energy at one receiver from a chunk of source samples (profiles read every half cell).

    ``w`` is ``(n,)`` or ``(n, k)``; the result is ``()`` or ``(k,)``.
    """
    step = res / 2
    m = max(1, math.ceil(float(dist.max()) / step))
    tt = (np.arange(1, m + 1) * step)[None, :]
    frac = tt / dist[:, None]
    inside = frac < 1.0
    px = rx + dxy[:, 0:1] * frac
    py = ry + dxy[:, 1:2] * frac
    col = np.floor((px - x0) / res).astype(np.intp)
    row = np.floor((y0 - py) / res).astype(np.intp)
    nr, nc = heights.shape
    ok = inside & (row >= 0) & (row < nr) & (col >= 0) & (col < nc)
    hh = np.where(ok, heights[np.clip(row, 0, nr - 1), np.clip(col, 0, nc - 1)], 0.0)
    t_prof = np.where(inside, np.broadcast_to(tt, frac.shape), np.nan)
    return np.asarray(np.tensordot(exact_transfer(dist, t_prof, hh, setup), w, axes=(0, 0)))
