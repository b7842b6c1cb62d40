"""Small geometry helpers for the sample town: smooth warp, densifying, placing, projecting.

The town is laid out in a local plan frame (metres, origin at the south-west
corner of the built-up area, axes along RD New). A smooth random displacement
field (:class:`Warp`) then bends every coordinate, so straight planned streets
become gently curving ones while the topology stays as planned: the field's
Lipschitz constant is kept below one, which makes it a bijection. Finally the
plan frame is shifted to an origin in EPSG:28992 and, for the OSM file,
converted to WGS84.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from pyproj import Transformer

#: Plan-frame origin's target in RD New: farmland in the Flevoland polder between
#: Lelystad and Biddinghuizen (about 52.47 N, 5.61 E). The town is fictional.
RD_CENTRE = (170_000.0, 498_000.0)

#: Sum of |amplitude × wavenumber| over the warp components; below 1 keeps the warp
#: one-to-one, and well below 1 keeps angles and lengths close to the plan.
WARP_STRAIN = 0.5


@dataclass(frozen=True)
class Warp:
    """A smooth displacement field made of a few plane sine waves.

    Each component displaces points by ``amp * dir * sin(k · p + phase)``.

    Attributes
    ----------
    wavevectors : numpy.ndarray
        ``(m, 2)`` wave vectors (radians per metre).
    directions : numpy.ndarray
        ``(m, 2)`` unit displacement directions.
    amplitudes : numpy.ndarray
        ``(m,)`` amplitudes in metres.
    phases : numpy.ndarray
        ``(m,)`` phases in radians.
    """

    wavevectors: np.ndarray
    directions: np.ndarray
    amplitudes: np.ndarray
    phases: np.ndarray

    @classmethod
    def random(cls, rng: np.random.Generator, components: int = 7) -> Warp:
        """Draw a warp with wavelengths between 600 m and 5 km.

        Parameters
        ----------
        rng : numpy.random.Generator
            Random source.
        components : int
            Number of sine components.

        Returns
        -------
        Warp
            The field; its total strain is :data:`WARP_STRAIN`.
        """
        wavelength = np.exp(rng.uniform(np.log(600.0), np.log(5000.0), components))
        angle = rng.uniform(0.0, np.pi, components)
        k = (2.0 * np.pi / wavelength)[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        dir_angle = rng.uniform(0.0, 2.0 * np.pi, components)
        directions = np.column_stack([np.cos(dir_angle), np.sin(dir_angle)])
        weights = rng.uniform(0.5, 1.5, components)
        strain = WARP_STRAIN * weights / weights.sum()
        amplitudes = strain * wavelength / (2.0 * np.pi)
        phases = rng.uniform(0.0, 2.0 * np.pi, components)
        return cls(k, directions, amplitudes, phases)

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Displace points.

        Parameters
        ----------
        xy : numpy.ndarray
            ``(n, 2)`` plan coordinates.

        Returns
        -------
        numpy.ndarray
            ``(n, 2)`` warped coordinates.
        """
        out = np.array(xy, dtype=float, copy=True)
        for k, d, a, ph in zip(self.wavevectors, self.directions, self.amplitudes, self.phases, strict=True):
            s = a * np.sin(xy @ k + ph)
            out += s[:, None] * d[None, :]
        return out


@dataclass(frozen=True)
class Swirls:
    """Per-neighbourhood swirls: each disc is rotated by an angle that fades to zero at its rim.

    A point at distance ``r`` from a disc's centre turns by
    ``angle * (1 - (r / radius)**2)**2``; circles map onto themselves, so the
    mapping is one-to-one, and points outside every disc do not move. Straight
    planned streets through a neighbourhood become S-curves, as in Almere's
    neighbourhoods, while the main roads around it stay put.

    Attributes
    ----------
    xs, ys : numpy.ndarray
        Main-road grid lines; disc ``(i, j)`` belongs to grid cell ``(i, j)``.
    centres : numpy.ndarray
        ``(ncol, nrow, 2)`` disc centres.
    radius : numpy.ndarray
        ``(ncol, nrow)`` disc radii.
    angle : numpy.ndarray
        ``(ncol, nrow)`` rotation at the centre, radians.
    """

    xs: np.ndarray
    ys: np.ndarray
    centres: np.ndarray
    radius: np.ndarray
    angle: np.ndarray

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Apply the swirls.

        Parameters
        ----------
        xy : numpy.ndarray
            ``(n, 2)`` plan coordinates.

        Returns
        -------
        numpy.ndarray
            ``(n, 2)`` swirled coordinates.
        """
        xy = np.asarray(xy, dtype=float)
        i = np.searchsorted(self.xs, xy[:, 0]) - 1
        j = np.searchsorted(self.ys, xy[:, 1]) - 1
        ok = (i >= 0) & (i < len(self.xs) - 1) & (j >= 0) & (j < len(self.ys) - 1)
        out = xy.copy()
        if not ok.any():
            return out
        ii, jj = i[ok], j[ok]
        c = self.centres[ii, jj]
        d = xy[ok] - c
        u = np.hypot(d[:, 0], d[:, 1]) / self.radius[ii, jj]
        phi = self.angle[ii, jj] * np.where(u < 1.0, (1.0 - u**2) ** 2, 0.0)
        cos, sin = np.cos(phi), np.sin(phi)
        out[ok] = c + np.column_stack([cos * d[:, 0] - sin * d[:, 1], sin * d[:, 0] + cos * d[:, 1]])
        return out


@dataclass(frozen=True)
class Deformation:
    """The full plan-to-map deformation: neighbourhood swirls, then the town-wide warp.

    Attributes
    ----------
    swirls : Swirls
        Per-neighbourhood swirls.
    warp : Warp
        Town-wide smooth warp.
    """

    swirls: Swirls
    warp: Warp

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Deform plan coordinates (see the class docstring)."""
        return self.warp(self.swirls(xy))


def densify(xy: np.ndarray, max_len: float) -> np.ndarray:
    """Insert vertices so that no segment of a polyline is longer than ``max_len``.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` vertices.
    max_len : float
        Longest allowed segment.

    Returns
    -------
    numpy.ndarray
        Densified vertices; the original ones are kept.
    """
    if len(xy) < 2:
        return np.asarray(xy, dtype=float)
    d = np.diff(xy, axis=0)
    n = np.maximum(1, np.ceil(np.hypot(d[:, 0], d[:, 1]) / max_len).astype(int))
    seg = np.repeat(np.arange(len(d)), n)
    step = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    t = step / np.repeat(n, n)
    pts = xy[seg] + d[seg] * t[:, None]
    return np.vstack([pts, xy[-1:]])


def densify_all(lines: list[np.ndarray], max_len: float) -> list[np.ndarray]:
    """:func:`densify` of many polylines at once (the same vertices, in one vectorised step).

    Parameters
    ----------
    lines : list of numpy.ndarray
        ``(n, 2)`` vertices of each polyline.
    max_len : float
        Longest allowed segment.

    Returns
    -------
    list of numpy.ndarray
        The densified vertices of each polyline, as :func:`densify` gives them.
    """
    out: list[np.ndarray] = [np.asarray(xy, dtype=float) for xy in lines]
    multi = [k for k, xy in enumerate(out) if len(xy) >= 2]
    if not multi:
        return out
    counts = np.array([len(out[k]) for k in multi], dtype=np.int64)
    pts = np.concatenate([out[k] for k in multi])
    ends = np.cumsum(counts)
    # Segments never join the last vertex of one polyline to the first of the next.
    inner = np.ones(len(pts) - 1, dtype=bool)
    inner[ends[:-1] - 1] = False
    first = np.flatnonzero(inner)
    d = pts[first + 1] - pts[first]
    n = np.maximum(1, np.ceil(np.hypot(d[:, 0], d[:, 1]) / max_len).astype(int))
    seg = np.repeat(np.arange(len(d)), n)
    step = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    t = step / np.repeat(n, n)
    dense = pts[first][seg] + d[seg] * t[:, None]
    # Rows of each polyline in ``dense``: its segments' points, then its last vertex.
    per_line = np.add.reduceat(n, np.concatenate([[0], np.cumsum(counts - 1)[:-1]]))
    stops = np.cumsum(per_line)
    dense = np.insert(dense, stops, pts[ends - 1], axis=0)
    for k, part in zip(multi, np.split(dense, stops + np.arange(1, len(stops) + 1))[:-1], strict=True):
        out[k] = part
    return out


def rectangle(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Return a closed rectangle ring (counter-clockwise).

    Parameters
    ----------
    x0, y0, x1, y1 : float
        Bounds.

    Returns
    -------
    numpy.ndarray
        ``(5, 2)`` ring with the first vertex repeated at the end.
    """
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], dtype=float)


def ellipse(
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    rng: np.random.Generator | None = None,
    wobble: float = 0.0,
    n: int = 72,
) -> np.ndarray:
    """Return a closed, optionally wobbly, ellipse ring.

    Parameters
    ----------
    cx, cy : float
        Centre.
    rx, ry : float
        Semi-axes.
    rng : numpy.random.Generator, optional
        Random source for the wobble.
    wobble : float
        Relative radial noise (0 gives a true ellipse).
    n : int
        Number of vertices.

    Returns
    -------
    numpy.ndarray
        ``(n + 1, 2)`` closed ring.
    """
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    if rng is not None and wobble > 0:
        for harmonic in (2, 3, 5):
            r += wobble / harmonic * np.sin(harmonic * t + rng.uniform(0, 2 * np.pi))
    ring = np.column_stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)])
    return np.vstack([ring, ring[:1]])


@functools.lru_cache(maxsize=1)
def _rd_to_wgs84() -> Transformer:
    """The RD New to WGS84 transformer, made once (making one takes a tenth of a second)."""
    return Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)


def rd_to_wgs84(xy: np.ndarray) -> np.ndarray:
    """Convert RD New (EPSG:28992) coordinates to WGS84 longitude/latitude.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` easting/northing in metres.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` longitude/latitude in degrees.
    """
    lon, lat = _rd_to_wgs84().transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])
