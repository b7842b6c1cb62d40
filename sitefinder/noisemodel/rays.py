"""The fast screening's per-ray loop as one compiled kernel (numba).

For every receiver cell of a tile and each ray of one azimuth sector, the kernel
walks the building-height raster along the ray, keeps per distance ring the edge
seen highest from the receiver (A) and from the source (B), and turns them into
the path difference δ, the image receiver's δ' - δ and the edge spacing ``e``;
the screening factor is looked up in place in the ring's tables. Per ring, over the
steps nearer than the ring's source distance: A is the edge of strictly largest
elevation angle from the receiver, B of largest angle from the source (ties to the
farther edge). Cell by cell, so no per-ring state arrays or per-offset building lists
are kept.

It repeats the arithmetic of the vectorised numpy version it replaced operation by
operation (float32 where that was float32, numpy's ``hypot``, the same comparisons of a
step's distance with the source distance), because the method has a step at grazing
incidence: a path difference just above zero already takes ``10 lg 3`` ≈ 4.8 dB, just
below it nothing, so the last bit of δ can change one ray's factor.

``@njit(cache=True, nogil=True)``: the compiled code is cached next to this file (or in
numba's user cache directory where the package is read-only; ``NUMBA_CACHE_DIR``
overrides), so the first run of an install compiles it (about 5 s of CPU) and later runs
load it (about 0.6 s); the kernel releases the GIL, so the sector threads of
:func:`~sitefinder.noisemodel.screening.screening_ratio` run in parallel.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _frac(x: np.float32, g0: float, step: float, n: int) -> tuple[int, np.float32]:
    """Cell index and fraction of ``log10 x`` on an even log grid of ``n`` points (clipped)."""
    pos = (np.log10(max(x, np.float32(1e-12))) - g0) / step
    pos = min(max(pos, 0.0), n - 1.000001)
    i = int(pos)
    return i, np.float32(pos - i)


@njit(cache=True, nogil=True)
def _bilinear(
    tables: np.ndarray, j: int, b: int, k: int, fk: np.float32, m: int, fm: np.float32, end: int
) -> np.float32:
    """Bilinear lookup in ``tables[j, b, :, :, end]`` at ``(k + fk, m + fm)``, in float32."""
    one = np.float32(1)
    top = tables[j, b, k, m, end] * (one - fm) + tables[j, b, k, m + 1, end] * fm
    bottom = tables[j, b, k + 1, m, end] * (one - fm) + tables[j, b, k + 1, m + 1, end] * fm
    return top * (one - fk) + bottom * fk


@njit(cache=True, nogil=True)
def sector_losses(
    heights: np.ndarray,
    margin: int,
    rows: int,
    cols: int,
    offsets: np.ndarray,
    dists: np.ndarray,
    n_steps: np.ndarray,
    rho: np.ndarray,
    rho_bounds: np.ndarray,
    use: np.ndarray,
    one: np.ndarray,
    z_s: float,
    z_r: float,
    tables: np.ndarray,
    rho_ref: np.ndarray,
    edge_bins: np.ndarray,
    delta_grid: tuple[float, float, int],
    extra_grid: tuple[float, float, int],
) -> np.ndarray:
    """Screening loss ``1 - F`` per ring and receiver cell, summed over a sector's rays.

    Parameters
    ----------
    heights : numpy.ndarray
        ``(rows + 2 margin, cols + 2 margin)`` float32 building heights (m, 0 where open).
    margin : int
        Cells of ``heights`` around the valid grid.
    rows, cols : int
        Size of the valid grid.
    offsets : numpy.ndarray
        ``(rays, steps, 2)`` int64 cell offsets ``(dr, dc)`` read along each ray, in order.
    dists : numpy.ndarray
        ``(rays, steps)`` float64 distance of each offset (m).
    n_steps : numpy.ndarray
        ``(rays,)`` number of offsets of each ray.
    rho : numpy.ndarray
        ``(rings, rows * cols)`` float32 source distance per ring and cell (m), not
        decreasing from ring to ring.
    rho_bounds : numpy.ndarray
        ``(rings, 2)`` float64 smallest and largest ``rho`` of each ring. A step nearer
        than a ring's smallest distance counts for all its cells; beyond, where its float32
        distance is below the cell's. Rings without sources: the ring's inner edge (in
        ``rho`` too), so the distances stay in ring order.
    use : numpy.ndarray
        ``(rings,)`` bool: rings with sources in this sector.
    one : numpy.ndarray
        ``(rings,)`` bool: rings with one source distance for all cells.
    z_s, z_r : float
        Source and receiver height (m).
    tables : numpy.ndarray
        ``(rings, bins, n_delta, n_extra, 2)`` float32 factors ``F`` per edge-spacing bin at
        the ring's two reference distances.
    rho_ref : numpy.ndarray
        ``(rings, 2)`` the two reference distances (m).
    edge_bins : numpy.ndarray
        Lower edges of the edge-spacing bins (m).
    delta_grid, extra_grid : tuple
        ``(first log10, step, points)`` of the tables' δ and δ' - δ axes.

    Returns
    -------
    numpy.ndarray
        ``(rings, rows * cols)`` float32 sum over the rays of ``1 - F`` (0 where open).
    """
    n_rings = rho.shape[0]
    n_rays = offsets.shape[0]
    hh, ww = heights.shape
    f32 = np.float32
    zs32, zr32 = f32(z_s), f32(z_r)
    eps = f32(1e-3)
    out = np.zeros((n_rings, rows * cols), dtype=np.float32)
    ang_a = np.empty(n_rings, dtype=np.float32)
    ta = np.empty(n_rings, dtype=np.float32)
    ang_b = np.empty(n_rings, dtype=np.float32)
    tb = np.empty(n_rings, dtype=np.float32)
    direct = np.empty(n_rings, dtype=np.float32)
    image = np.empty(n_rings, dtype=np.float32)
    w_far = np.empty(n_rings, dtype=np.float32)
    thresh = np.empty(n_rings, dtype=np.float32)
    done = np.zeros(n_rings, dtype=np.bool_)
    # The last ray's edges and loss per ring: the next ray often meets the same edges.
    prev = np.empty((n_rings, 4), dtype=np.float32)
    prev_loss = np.empty(n_rings, dtype=np.float32)
    log_span = np.empty(n_rings, dtype=np.float32)
    for j in range(n_rings):
        log_span[j] = f32(np.log(rho_ref[j, 1] / rho_ref[j, 0]))
    dz_m, dz_p, dz_t = f32(z_r - z_s), f32(z_r + z_s), f32(z_s - z_r)
    d0, dstep, dn = delta_grid
    x0, xstep, xn = extra_grid
    n_bins = edge_bins.shape[0]
    for r in range(rows):
        for c in range(cols):
            if heights[margin + r, margin + c] > 0:
                continue  # no receiver inside a building
            i = r * cols + c
            for j in range(n_rings):
                rj = rho[j, i]
                if one[j]:  # one distance for all cells, compared in float64
                    thresh[j] = f32((z_s - z_r) / max(float(rj), 1e-3))
                else:
                    thresh[j] = dz_t / max(rj, eps)
                done[j] = False
                prev[j, 0] = np.nan
            for s in range(n_rays):
                for j in range(n_rings):
                    ang_a[j] = -np.inf
                    ang_b[j] = -np.inf
                    ta[j] = 0.0
                    tb[j] = 0.0
                for q in range(n_steps[s]):
                    rr = margin + r + offsets[s, q, 0]
                    cc = margin + c + offsets[s, q, 1]
                    if rr < 0 or rr >= hh or cc < 0 or cc >= ww:
                        continue
                    h = heights[rr, cc]
                    if h == 0:
                        continue
                    t64 = dists[s, q]
                    tt = f32(t64)
                    ang_r = (h - zr32) / tt
                    for j in range(n_rings - 1, -1, -1):
                        rj = rho[j, i]
                        if not (t64 < rho_bounds[j, 1] and (t64 < rho_bounds[j, 0] or tt < rj)):
                            break  # beyond this ring's source, so beyond every nearer ring's
                        if not use[j]:
                            continue
                        if ang_r > ang_a[j]:
                            ang_a[j] = ang_r
                            ta[j] = tt
                        ang_s = (h - zs32) / max(rj - tt, eps)
                        if ang_s >= ang_b[j]:
                            ang_b[j] = ang_s
                            tb[j] = tt
                for j in range(n_rings):
                    if not (use[j] and ang_a[j] > thresh[j]):
                        continue
                    if (
                        prev[j, 0] == ang_a[j]
                        and prev[j, 1] == ta[j]
                        and prev[j, 2] == ang_b[j]
                        and prev[j, 3] == tb[j]
                    ):
                        out[j, i] += prev_loss[j]
                        continue
                    prev[j, 0], prev[j, 1], prev[j, 2], prev[j, 3] = ang_a[j], ta[j], ang_b[j], tb[j]
                    prev_loss[j] = 0.0
                    rj = rho[j, i]
                    if not done[j]:
                        done[j] = True
                        direct[j] = np.hypot(rj, dz_m)
                        image[j] = np.hypot(rj, dz_p)
                        wf = np.log(rj / f32(rho_ref[j, 0])) / log_span[j]
                        w_far[j] = min(max(wf, f32(0.0)), f32(1.0))
                    t1 = ta[j]
                    h1 = ang_a[j] * t1 + zr32
                    t2 = tb[j]
                    h2 = ang_b[j] * max(rj - t2, eps) + zs32
                    if not (t2 > t1):
                        t2, h2 = t1, h1
                    ra = np.hypot(t1, h1 - zr32)
                    ab = np.hypot(t2 - t1, h2 - h1)
                    bs = np.hypot(rj - t2, h2 - zs32)
                    delta = ra + ab + bs - direct[j]
                    if not (delta > 0):
                        continue
                    extra = max(np.hypot(t1, h1 + zr32) - ra - image[j] + direct[j], f32(0.0))
                    # Edge spacing rounded down to a table bin.
                    b = 0
                    while b + 1 < n_bins and edge_bins[b + 1] <= ab:
                        b += 1
                    k, fk = _frac(delta, d0, dstep, dn)
                    m, fm = _frac(extra, x0, xstep, xn)
                    near = _bilinear(tables, j, b, k, fk, m, fm, 0)
                    far = _bilinear(tables, j, b, k, fk, m, fm, 1)
                    prev_loss[j] = f32(1) - (near * (f32(1) - w_far[j]) + far * w_far[j])
                    out[j, i] += prev_loss[j]
    return out
