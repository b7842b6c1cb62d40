"""The compiled kernels of :mod:`sitefinder.nearest` (numba; imported only where they are used).

``@njit(cache=True, nogil=True)`` as the noise kernel (:mod:`sitefinder.noisemodel.rays`):
compiled once, then loaded from numba's cache next to this file.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Slack (m) on the search's stopping distance, for the rounding of the bin edges.
_EPS = 1e-6


@njit(cache=True, nogil=True)
def register(ax, ay, bx, by, x0, y0, cell, nx, ny):  # type: ignore[no-untyped-def]
    """Bins (CSR: ``start``, ``members``) of a ``nx`` x ``ny`` grid, each listing the segments whose box meets it."""
    n = len(ax)
    lo_i = np.empty(n, np.int64)
    hi_i = np.empty(n, np.int64)
    lo_j = np.empty(n, np.int64)
    hi_j = np.empty(n, np.int64)
    count = np.zeros(nx * ny + 1, np.int64)
    for s in range(n):
        lo_i[s] = min(max(int((min(ax[s], bx[s]) - x0) / cell), 0), nx - 1)
        hi_i[s] = min(max(int((max(ax[s], bx[s]) - x0) / cell), 0), nx - 1)
        lo_j[s] = min(max(int((min(ay[s], by[s]) - y0) / cell), 0), ny - 1)
        hi_j[s] = min(max(int((max(ay[s], by[s]) - y0) / cell), 0), ny - 1)
        for j in range(lo_j[s], hi_j[s] + 1):
            for i in range(lo_i[s], hi_i[s] + 1):
                count[j * nx + i + 1] += 1
    start = np.cumsum(count)
    fill = start[:-1].copy()
    members = np.empty(start[-1], np.int64)
    for s in range(n):
        for j in range(lo_j[s], hi_j[s] + 1):
            for i in range(lo_i[s], hi_i[s] + 1):
                members[fill[j * nx + i]] = s
                fill[j * nx + i] += 1
    return start, members


@njit(cache=True, nogil=True)
def _point_segment(x, y, ax, ay, bx, by):  # type: ignore[no-untyped-def]
    """GEOS's ``Distance::pointToSegment`` (the same operations in the same order)."""
    if ax == bx and ay == by:
        ex, ey = x - ax, y - ay
        return np.sqrt(ex * ex + ey * ey)
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    r = ((x - ax) * dx + (y - ay) * dy) / len2
    if r <= 0.0:
        ex, ey = x - ax, y - ay
        return np.sqrt(ex * ex + ey * ey)
    if r >= 1.0:
        ex, ey = x - bx, y - by
        return np.sqrt(ex * ex + ey * ey)
    s = ((ay - y) * dx - (ax - x) * dy) / len2
    return abs(s) * np.sqrt(len2)


@njit(cache=True, nogil=True)
def grid_nearest(px, py, ax, ay, bx, by, owner, x0, y0, cell, nx, ny, start, members, max_distance):  # type: ignore[no-untyped-def]
    """Smallest segment distance per point (inf beyond ``max_distance``) and its segment's ``owner``.

    Rings of bins are searched outward from the point's own bin; among segments at the
    same distance the one of the lowest ``owner`` is taken (-1 where none is in reach).

    After the bins within ``r`` rings of the point's own bin, a segment not yet measured
    lies wholly outside that square (a segment is listed in every bin its box meets), so
    no farther than the point's distance to the square's edge: the search stops there.
    """
    out = np.full(len(px), np.inf)
    own = np.full(len(px), -1, np.int64)
    for k in range(len(px)):
        x, y = px[k], py[k]
        ci = min(max(int((x - x0) / cell), 0), nx - 1)
        cj = min(max(int((y - y0) / cell), 0), ny - 1)
        best = np.inf
        best_own = -1
        r = 0
        while True:
            for gj in range(max(cj - r, 0), min(cj + r, ny - 1) + 1):
                edge_row = gj == cj - r or gj == cj + r
                gi = ci - r
                while gi <= ci + r:
                    if 0 <= gi < nx:
                        b = gj * nx + gi
                        for m in range(start[b], start[b + 1]):
                            s = members[m]
                            d = _point_segment(x, y, ax[s], ay[s], bx[s], by[s])
                            if d < best or (d == best and owner[s] < best_own):
                                best, best_own = d, owner[s]
                    gi += 1 if (edge_row or r == 0) else 2 * r
            if ci - r <= 0 and cj - r <= 0 and ci + r >= nx - 1 and cj + r >= ny - 1:
                break
            reach = min(x - (x0 + (ci - r) * cell), x0 + (ci + r + 1) * cell - x,
                        y - (y0 + (cj - r) * cell), y0 + (cj + r + 1) * cell - y) - _EPS  # fmt: skip
            if reach >= best or reach > max_distance:
                break
            r += 1
        out[k] = best
        own[k] = best_own
    return out, own
