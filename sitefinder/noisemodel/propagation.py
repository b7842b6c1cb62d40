"""Point-source propagation over flat ground and the attenuation kernel of the grid model.

The energy a receiver gets from a point source of sound power ``W`` at
horizontal distance ``r`` is ``W · T(r)`` with

``T(r) = Σ_i s_i · 10^(-(A_div + A_atm,i + A_ground,i) / 10)``

summed over octave bands ``i`` with the source's relative A-weighted spectrum
``s_i`` (CNOSSOS-EU, Directive (EU) 2015/996, Annex II, 2.5): geometric
divergence ``A_div = 20 lg d + 11`` over the slant distance ``d``; air absorption
``A_atm = α d`` with α from ISO 9613-1; ground attenuation ``A_ground`` for flat
ground in homogeneous and in favourable (downward-refracting) conditions, mixed
with the probability of favourable conditions. No screening, no reflections.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from sitefinder.noisemodel.cnossos_tables import OCTAVE_BANDS_HZ

#: Speed of sound (m/s) of the CNOSSOS-EU wavelength ``λ = 340 / f`` (diffraction, Eq. 2.5.21).
SPEED_OF_SOUND = 340.0


def speed_of_sound_m_s(temperature_c: float) -> float:
    """Speed of sound in air at ``temperature_c`` (°C): ``343.2 √(T / 293.15 K)`` m/s (ISO 9613-1).

    The ground term's wave number ``k = 2π f / c`` takes it (as NoiseModelling, the
    reference implementation of ISO/TR 17534-4, does); 337.3 m/s at 10 °C.

    Examples
    --------
    >>> round(speed_of_sound_m_s(10.0), 1)
    337.3
    """
    return 343.2 * math.sqrt((temperature_c + 273.15) / 293.15)


def air_absorption_db_per_km(
    freq_hz: np.ndarray,
    temperature_c: float,
    relative_humidity_pct: float,
    pressure_kpa: float = 101.325,
) -> np.ndarray:
    """Atmospheric absorption coefficient α (dB/km), ISO 9613-1:1993 equations.

    Parameters
    ----------
    freq_hz : array_like
        Frequencies (Hz).
    temperature_c : float
        Air temperature (°C).
    relative_humidity_pct : float
        Relative humidity (%).
    pressure_kpa : float
        Atmospheric pressure (kPa).

    Returns
    -------
    numpy.ndarray
        α in dB per km, shape of ``freq_hz``.

    Examples
    --------
    >>> np.round(air_absorption_db_per_km(np.array([1000.0]), 10.0, 70.0), 1)
    array([3.7])
    """
    f = np.asarray(freq_hz, dtype=float)
    t = temperature_c + 273.15
    t0, t01 = 293.15, 273.16
    pa = pressure_kpa / 101.325
    c = -6.8346 * (t01 / t) ** 1.261 + 4.6151
    h = relative_humidity_pct * 10**c / pa
    fr_o = pa * (24 + 4.04e4 * h * (0.02 + h) / (0.391 + h))
    fr_n = pa * (t / t0) ** -0.5 * (9 + 280 * h * math.exp(-4.170 * ((t / t0) ** (-1 / 3) - 1)))
    alpha = (
        8.686
        * f**2
        * (
            1.84e-11 / pa * (t / t0) ** 0.5
            + (t / t0) ** -2.5
            * (
                0.01275 * math.exp(-2239.1 / t) / (fr_o + f**2 / fr_o)
                + 0.1068 * math.exp(-3352.0 / t) / (fr_n + f**2 / fr_n)
            )
        )
    )
    return np.asarray(alpha * 1000.0)


def ground_terms(
    d_p: np.ndarray | float,
    freq_hz: np.ndarray,
    z_s: float,
    z_r: float,
    g_path: float,
    g_source: float = 0.0,
    *,
    favourable: bool = False,
    speed_of_sound: float = SPEED_OF_SOUND,
) -> dict[str, np.ndarray]:
    """Ground attenuation over flat ground and its intermediate terms (CNOSSOS-EU 2.5.6).

    Directive 2002/49/EC Annex II as amended by (EU) 2021/1226, Eq. 2.5.15-2.5.20:
    homogeneous ``A_ground,H = max(-10 lg[4k²/d_p² (z_s² - √(2C_f/k) z_s + C_f/k)
    (z_r² - √(2C_f/k) z_r + C_f/k)], -3 (1 - G'_path))`` with ``w`` and ``C_f``
    from ``G'_path``; favourable: heights raised by ``δz_s + δz_T`` and
    ``δz_r + δz_T``, ``w`` from ``G_path``, lower bound
    ``-3 (1 - G'_path) (1 + 2 (1 - 30 (z_s + z_r) / d_p))`` beyond
    ``30 (z_s + z_r)``; ``G_path = 0`` gives the bound alone.

    Parameters
    ----------
    d_p : array_like
        Horizontal source-receiver distance (m); broadcast against ``freq_hz``.
    freq_hz : array_like
        Octave band centre frequencies (Hz; the nominal ones, as the ISO/TR
        17534-4 reference does for the ground term).
    z_s, z_r : float
        Source and receiver height above the ground (m).
    g_path : float
        Ground factor of the path (0 hard, 1 porous).
    g_source : float
        Ground factor under the source, for ``G'_path`` within ``30 (z_s + z_r)``.
    favourable : bool
        Favourable (downward-refracting) instead of homogeneous conditions.
    speed_of_sound : float
        ``c`` of the wave number ``k = 2π f / c`` (m/s); the model passes
        :func:`speed_of_sound_m_s` at its air temperature.

    Returns
    -------
    dict of numpy.ndarray
        ``A_ground`` (dB; negative values are gains by the ground reflection),
        ``w`` and ``C_f`` (m).
    """
    d = np.maximum(np.asarray(d_p, dtype=float), 0.01)
    f = np.asarray(freq_hz, dtype=float)
    d, f = np.broadcast_arrays(d, f)
    near = 30.0 * (z_s + z_r)
    # G'_path: near the source the ground under the source counts too.
    g_prime = np.where(d <= near, g_path * d / near + g_source * (1 - d / near), g_path)
    if favourable:
        a_min = np.where(d <= near, -3 * (1 - g_prime), -3 * (1 - g_prime) * (1 + 2 * (1 - near / d)))
        a0 = 2e-4
        dz_t = 6e-3 * d / (z_s + z_r)
        zs = z_s + a0 * (z_s / (z_s + z_r)) ** 2 * d**2 / 2 + dz_t
        zr = z_r + a0 * (z_r / (z_s + z_r)) ** 2 * d**2 / 2 + dz_t
        g_w = np.full_like(d, g_path)
    else:
        a_min = -3 * (1 - g_prime)
        zs = np.full_like(d, z_s)
        zr = np.full_like(d, z_r)
        g_w = g_prime
    k = 2 * math.pi * f / speed_of_sound
    gw26 = g_w**2.6
    w = 0.0185 * f**2.5 * gw26 / (f**1.5 * gw26 + 1.3e3 * f**0.75 * g_w**1.3 + 1.16e6)
    wd = w * d
    c_f = d * (1 + 3 * wd * np.exp(-np.sqrt(wd))) / (1 + wd)
    if g_path == 0:
        return {"A_ground": np.asarray(a_min, dtype=float) + 0 * d, "w": w, "C_f": c_f}
    ck = c_f / k
    root = np.sqrt(2 * ck)
    term = 4 * k**2 / d**2 * (zs**2 - root * zs + ck) * (zr**2 - root * zr + ck)
    with np.errstate(divide="ignore"):
        a_ground = -10 * np.log10(term)
    return {"A_ground": np.asarray(np.maximum(a_ground, a_min)), "w": w, "C_f": c_f}


def ground_attenuation_db(
    d_p: np.ndarray | float,
    freq_hz: np.ndarray,
    z_s: float,
    z_r: float,
    g_path: float,
    g_source: float = 0.0,
    *,
    favourable: bool = False,
    speed_of_sound: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Ground attenuation ``A_ground`` over flat ground (dB); see :func:`ground_terms`."""
    terms = ground_terms(
        d_p, freq_hz, z_s, z_r, g_path, g_source, favourable=favourable, speed_of_sound=speed_of_sound
    )
    return terms["A_ground"]


def transfer(
    r: np.ndarray,
    spectrum: np.ndarray,
    *,
    z_s: float,
    z_r: float,
    ground_factor: float,
    favourable: bool,
    alpha_db_per_m: np.ndarray | None,
    speed_of_sound: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """Energy transfer ``T(r)`` from a point source of unit power to a receiver.

    Parameters
    ----------
    r : array_like
        Horizontal distances (m), any shape.
    spectrum : numpy.ndarray
        Relative A-weighted octave band shares of the source (sum 1), shape ``(8,)``.
    z_s, z_r : float
        Source and receiver heights (m).
    ground_factor : float
        Ground factor G of the path.
    favourable : bool
        Favourable instead of homogeneous propagation conditions.
    alpha_db_per_m : numpy.ndarray, optional
        Air absorption per band (dB/m); ``None`` for none.
    speed_of_sound : float
        ``c`` of the ground term's wave number (m/s), see :func:`ground_terms`.

    Returns
    -------
    numpy.ndarray
        ``10^(-A/10)`` summed over the bands, shape of ``r`` (1/m²), so that
        ``Lp = 10 lg(W · T)`` for ``W`` in pW gives dB re 20 µPa.
    """
    r = np.asarray(r, dtype=float)
    d = np.sqrt(r**2 + (z_r - z_s) ** 2)[..., None]
    a_div = 20 * np.log10(d) + 11.0
    a = a_div + ground_attenuation_db(
        r[..., None],
        OCTAVE_BANDS_HZ,
        z_s,
        z_r,
        ground_factor,
        favourable=favourable,
        speed_of_sound=speed_of_sound,
    )
    if alpha_db_per_m is not None:
        a = a + alpha_db_per_m * d
    return np.asarray((spectrum * 10 ** (-a / 10)).sum(axis=-1))


def attenuation_kernel(
    resolution_m: float,
    max_distance_m: float,
    spectrum: np.ndarray,
    *,
    z_s: float,
    z_r: float,
    ground_factor: float,
    favourable: bool,
    alpha_db_per_m: np.ndarray | None,
    n_sub: int = 8,
    near_cells: int = 2,
    speed_of_sound: float = SPEED_OF_SOUND,
) -> np.ndarray:
    """The point-source energy transfer on a square grid of cell offsets.

    The kernel has ``2p + 1`` cells a side (``p = ceil(max_distance / resolution)``)
    and is zero beyond ``max_distance_m``. Cells within ``near_cells`` of the
    centre hold the mean transfer over the cell (``n_sub`` x ``n_sub`` sub-points)
    rather than the value at its centre, so a cell crossed by a road gets the
    cell's average level, not the level at the road axis.

    Returns
    -------
    numpy.ndarray
        Float64 array ``(2p + 1, 2p + 1)``.
    """
    p = math.ceil(max_distance_m / resolution_m)
    at = functools.partial(
        transfer,
        spectrum=spectrum,
        z_s=z_s,
        z_r=z_r,
        ground_factor=ground_factor,
        favourable=favourable,
        alpha_db_per_m=alpha_db_per_m,
        speed_of_sound=speed_of_sound,
    )
    # Radially symmetric: evaluate one quadrant and mirror it.
    ij = np.arange(p + 1, dtype=float) * resolution_m
    r = np.hypot(ij[:, None], ij[None, :])
    quadrant = at(r)
    quadrant[r > max_distance_m] = 0.0
    near = min(near_cells, p)
    sub = (np.arange(n_sub) + 0.5) / n_sub - 0.5
    for i in range(near + 1):
        for j in range(near + 1):
            x = (i + sub[:, None]) * resolution_m
            y = (j + sub[None, :]) * resolution_m
            quadrant[i, j] = at(np.hypot(x, y)).mean()
    top = np.concatenate([quadrant[::-1, ::-1], quadrant[::-1, 1:]], axis=1)
    bottom = np.concatenate([quadrant[1:, ::-1], quadrant[1:, 1:]], axis=1)
    return np.concatenate([top, bottom], axis=0)
