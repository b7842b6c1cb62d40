"""CNOSSOS-EU diffraction over screens and roof edges (Directive 2002/49/EC Annex II, 2.5.7).

Pure functions on one vertical propagation profile over flat ground (the mean
ground plane is ``z = 0``): path differences over one or more edges in
homogeneous (straight rays) and favourable (curved rays, radius
``Γ = max(1000, 8 d)``) conditions, the diffraction attenuation

``Δdif = 10 C_h lg(3 + 40 C″ δ / λ)`` when ``40 C″ δ / λ ≥ -2``, else 0,

with ``C_h = 1`` and ``C″ = 1`` for one edge, ``(1 + (5λ/e)²) / (1/3 + (5λ/e)²)``
for several edges ``e`` metres apart (first to last), and the full boundary
attenuation of a diffracted path

``A_dif = min(25, Δdif(S,R)) + Δground(S,O) + Δground(O,R)`` (Eq. 2.5.31)

whose ground terms use the image source ``S'`` and image receiver ``R'``. Checked
against ISO/TR 17534-4 (TC07) in ``tests/test_noise_iso17534.py``.
"""

from __future__ import annotations

import math

import numpy as np

from sitefinder.noisemodel.cnossos_tables import OCTAVE_BANDS_HZ
from sitefinder.noisemodel.propagation import SPEED_OF_SOUND, ground_attenuation_db

#: Largest diffraction attenuation Δdif(S,R) of a path (Eq. 2.5.31).
MAX_DIFFRACTION_DB = 25.0


def _arc(chord: np.ndarray | float, radius: np.ndarray | float) -> np.ndarray:
    """Length of a circle arc of ``radius`` over a ``chord`` (curved favourable ray)."""
    c = np.asarray(chord, dtype=float)
    return np.asarray(2 * radius * np.arcsin(np.minimum(c / (2 * radius), 1.0)))


def ray_radius(direct_m: np.ndarray | float) -> np.ndarray:
    """Radius of curvature of favourable rays, ``Γ = max(1000, 8 d)`` (m), CNOSSOS-EU 2.5.7."""
    return np.asarray(np.maximum(1000.0, 8.0 * np.asarray(direct_m, dtype=float)))


def path_difference(
    points: list[tuple[float, float]] | np.ndarray,
    *,
    favourable: bool = False,
    radius_m: float | None = None,
) -> float:
    """Path difference δ (m) of a path S → edges → R in a vertical plane.

    Parameters
    ----------
    points : sequence of (distance, height)
        Source, the diffraction edges in order, receiver: horizontal distance
        along the profile (m) and height above the mean ground plane (m).
    favourable : bool
        Curved rays (favourable conditions): segment lengths are arcs of radius
        ``Γ`` over their chords.
    radius_m : float, optional
        ``Γ``; default ``max(1000, 8 d)`` with ``d`` the direct S-R distance.

    Returns
    -------
    float
        ``Σ segments - SR``, positive when the edges block the line of sight.
        A single edge below the line of sight gives a negative δ (as in the
        directive; with curved rays ``2 Γ asin`` terms as in 2.5.7).
    """
    p = np.asarray(points, dtype=float)
    seg = np.hypot(np.diff(p[:, 0]), np.diff(p[:, 1]))
    direct = float(math.hypot(p[-1, 0] - p[0, 0], p[-1, 1] - p[0, 1]))
    if favourable:
        gamma = float(radius_m if radius_m is not None else ray_radius(direct))
        delta = float(_arc(seg, gamma).sum() - _arc(direct, gamma))
    else:
        delta = float(seg.sum() - direct)
    return -delta if len(p) == 3 and _below_line(p) else delta


def _below_line(p: np.ndarray) -> bool:
    """True when the single edge of ``p`` lies below the straight line S-R."""
    (xs, zs), (xo, zo), (xr, zr) = p
    z_line = zs + (zr - zs) * (xo - xs) / (xr - xs) if xr != xs else max(zs, zr)
    return bool(zo < z_line)


def c_double(e_m: float, freq_hz: np.ndarray = OCTAVE_BANDS_HZ) -> np.ndarray:
    """C″ of multiple diffraction: 1 for ``e = 0``, else ``(1 + (5λ/e)²) / (1/3 + (5λ/e)²)``."""
    lam = SPEED_OF_SOUND / np.asarray(freq_hz, dtype=float)
    if e_m <= 0:
        return np.ones_like(lam)
    q = (5 * lam / e_m) ** 2
    return np.asarray((1 + q) / (1 / 3 + q))


def delta_dif_db(
    delta_m: np.ndarray | float,
    freq_hz: np.ndarray = OCTAVE_BANDS_HZ,
    e_m: float = 0.0,
) -> np.ndarray:
    """Diffraction attenuation Δdif per band (Eq. 2.5.21), ``C_h = 1``, not capped.

    Parameters
    ----------
    delta_m : float or array_like
        Path difference δ (m); broadcast against ``freq_hz``.
    freq_hz : array_like
        Band frequencies (Hz); the wavelength is ``340 / f``.
    e_m : float
        Distance between the first and the last edge (m) for multiple
        diffraction; 0 for one edge.
    """
    lam = SPEED_OF_SOUND / np.asarray(freq_hz, dtype=float)
    x = 40.0 / lam * c_double(e_m, freq_hz) * np.asarray(delta_m, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(x >= -2.0, 10 * np.log10(np.maximum(3.0 + x, 1e-12)), 0.0)
    return np.asarray(out)


def delta_ground_db(a_ground: np.ndarray, delta_image: np.ndarray, delta_direct: np.ndarray) -> np.ndarray:
    """Ground term of a diffracted path (Eq. 2.5.32/2.5.33).

    ``-20 lg(1 + (10^(-A_ground/20) - 1) 10^(-(Δdif(image) - Δdif(S,R))/20))``
    with ``Δdif(image)`` the attenuation of the path from the image source
    ``S'`` (or to the image receiver ``R'``).
    """
    a = np.asarray(a_ground, dtype=float)
    diff = np.asarray(delta_image, dtype=float) - np.asarray(delta_direct, dtype=float)
    return np.asarray(-20 * np.log10(1 + (10 ** (-a / 20) - 1) * 10 ** (-diff / 20)))


def diffracted_attenuation(
    source: tuple[float, float],
    edges: list[tuple[float, float]],
    receiver: tuple[float, float],
    *,
    g_source_side: float,
    g_receiver_side: float,
    g_under_source: float | None = None,
    favourable: bool = False,
    freq_hz: np.ndarray = OCTAVE_BANDS_HZ,
    ground_speed_of_sound: float = SPEED_OF_SOUND,
) -> dict[str, np.ndarray]:
    """Every term of ``A_dif`` for a path over one or more edges on flat ground.

    Parameters
    ----------
    source, receiver : (distance, height)
        Horizontal position along the profile (m) and height above the ground (m).
    edges : list of (distance, height)
        The diffraction edges on the convex hull of the path, in order from
        the source (one edge: a thin screen; two: the roof edges of a building).
    g_source_side, g_receiver_side : float
        Ground factor ``G_path`` between the source and the first edge and
        between the last edge and the receiver.
    g_under_source : float, optional
        Ground factor under the source for ``G'_path`` (default: ``g_source_side``).
    favourable : bool
        Favourable (curved rays) instead of homogeneous conditions.
    freq_hz : array_like
        Band frequencies.
    ground_speed_of_sound : float
        ``c`` of the wave number ``k = 2π f / c`` of the two ground terms (m/s);
        the wavelength of Δdif stays ``340 / f``.

    Returns
    -------
    dict of numpy.ndarray
        ``delta_dif_SR``, ``delta_dif_SprimeR``, ``delta_dif_SRprime``,
        ``A_ground_SO``, ``A_ground_OR``, ``delta_ground_SO``, ``delta_ground_OR``
        and ``A_dif`` (dB per band).
    """
    xs, zs = source
    xr, zr = receiver
    e = float(math.hypot(edges[-1][0] - edges[0][0], edges[-1][1] - edges[0][1])) if len(edges) > 1 else 0.0
    direct = math.hypot(xr - xs, zr - zs)
    gamma = float(ray_radius(direct))

    def dd(s: tuple[float, float], r: tuple[float, float]) -> np.ndarray:
        delta = path_difference([s, *edges, r], favourable=favourable, radius_m=gamma)
        return delta_dif_db(delta, freq_hz, e)

    d_sr = dd((xs, zs), (xr, zr))
    d_spr = dd((xs, -zs), (xr, zr))
    d_srp = dd((xs, zs), (xr, -zr))
    (xo1, zo1), (xo2, zo2) = edges[0], edges[-1]
    g_s = g_source_side if g_under_source is None else g_under_source
    # Freq-dependent terms use the nominal band frequencies, as the directive's tables do.
    c = ground_speed_of_sound
    a_so = ground_attenuation_db(
        xo1 - xs, freq_hz, zs, zo1, g_source_side, g_s, favourable=favourable, speed_of_sound=c
    )
    # O-R: the edge acts as the source, so G'_path = G_path (no ground under a source).
    a_or = ground_attenuation_db(
        xr - xo2, freq_hz, zo2, zr, g_receiver_side, g_receiver_side, favourable=favourable, speed_of_sound=c
    )
    dg_so = delta_ground_db(a_so, d_spr, d_sr)
    dg_or = delta_ground_db(a_or, d_srp, d_sr)
    a_dif = np.minimum(d_sr, MAX_DIFFRACTION_DB) + dg_so + dg_or
    return {
        "delta_dif_SR": d_sr,
        "delta_dif_SprimeR": d_spr,
        "delta_dif_SRprime": d_srp,
        "A_ground_SO": a_so,
        "A_ground_OR": a_or,
        "delta_ground_SO": dg_so,
        "delta_ground_OR": dg_or,
        "A_dif": a_dif,
    }
