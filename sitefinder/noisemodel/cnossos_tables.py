"""CNOSSOS-EU road emission coefficients, as law: Table F-1 as replaced in 2021, Table F-4.

Source: Directive 2002/49/EC, Annex II (CNOSSOS-EU, inserted by Commission
Directive (EU) 2015/996), Appendix F, **as replaced by Commission Delegated
Directive (EU) 2021/1226 of 21 December 2020** (OJ L 269, 28.7.2021, p. 65):

- Table F-1: rolling-noise (``A_R``, ``B_R``) and propulsion-noise (``A_P``,
  ``B_P``) coefficients per vehicle category and octave band. 2021/1226 raised
  every ``A_R`` and ``A_P`` against the 2015 table by about 2-5 dB; ``B_R`` and
  ``B_P`` did not change.
- Eq. 2.2.10: rolling-noise temperature correction ``K (T_ref - T)``,
  ``K`` = 0.08 dB/°C (category 1) and 0.04 (categories 2, 3), ``T_ref`` = 20 °C.
- Table F-4: road-surface corrections ``α`` (per band and category) and ``β``
  (per category) for the reference surface (``DEF``) and the Dutch surfaces
  ``NL01``-``NL14``: ``ΔL_WR,road = α + β lg(v / v_ref)`` on rolling noise
  (Eq. 2.2.19) and ``ΔL_WP,road = min(α, 0)`` on propulsion noise of porous
  surfaces (Eq. 2.2.20).

The numbers are EU law (public) and kept here as constants so that sitefinder
runs without any data files; ``tests/test_noise_emission.py`` checks them band
by band against an independent transcription of the directive when it is at
hand. Vehicle categories 4a/4b (powered two-wheelers) are not listed: OSM gives
no traffic for them and the model does not use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Octave band centre frequencies (nominal, Hz) of CNOSSOS-EU.
OCTAVE_BANDS_HZ = np.array([63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0])
#: Exact octave mid-band frequencies 1000·10^(0.3 k), k = -4..3 (IEC 61260; 63.1 ... 7943.3 Hz),
#: at which ISO 9613-1 air absorption is evaluated (as in ISO/TR 17534-4).
EXACT_MIDBAND_HZ = 1000.0 * 10 ** (0.3 * np.arange(-4, 4))

#: Reference speed of the coefficients (km/h).
V_REF_KMH = 70.0
#: Lowest speed the coefficients are used at (km/h); slower traffic is computed at this speed.
V_MIN_KMH = 20.0
#: Reference temperature of rolling noise (°C).
T_REF_C = 20.0
#: Rolling-noise temperature coefficient K per category 1, 2, 3 (dB/°C), Eq. 2.2.10.
K_TEMPERATURE = np.array([0.08, 0.04, 0.04])

# Table F-1 as replaced by (EU) 2021/1226. Rows: category 1 (light), 2 (medium
# heavy), 3 (heavy); columns: 63, 125, 250, 500, 1000, 2000, 4000, 8000 Hz.
A_R = np.array(
    [
        [83.1, 89.2, 87.7, 93.1, 100.1, 96.7, 86.8, 76.2],
        [88.7, 93.2, 95.7, 100.9, 101.7, 95.1, 87.8, 83.6],
        [91.7, 96.2, 98.2, 104.9, 105.1, 98.5, 91.1, 85.6],
    ]
)
B_R = np.array(
    [
        [30.0, 41.5, 38.9, 25.7, 32.5, 37.2, 39.0, 40.0],
        [30.0, 35.8, 32.6, 23.8, 30.1, 36.2, 38.3, 40.1],
        [30.0, 33.5, 31.3, 25.4, 31.8, 37.1, 38.6, 40.6],
    ]
)
A_P = np.array(
    [
        [97.9, 92.5, 90.7, 87.2, 84.7, 88.0, 84.4, 77.1],
        [105.5, 100.2, 100.5, 98.7, 101.0, 97.8, 91.2, 85.0],
        [108.8, 104.2, 103.5, 102.9, 102.6, 98.5, 93.8, 87.5],
    ]
)
B_P = np.array(
    [
        [-1.3, 7.2, 7.7, 8.0, 8.0, 8.0, 8.0, 8.0],
        [-1.9, 4.7, 6.4, 6.5, 6.5, 6.5, 6.5, 6.5],
        [0.0, 3.0, 4.6, 5.0, 5.0, 5.0, 5.0, 5.0],
    ]
)


@dataclass(frozen=True)
class _Surface:
    """One row group of Table F-4: a road surface and its corrections."""

    description: str
    speed_range_kmh: tuple[float, float]
    alpha: tuple[tuple[float, ...], ...]
    beta: tuple[float, float, float]
    porous: bool = False


#: Table F-4 (as replaced by (EU) 2021/1226): road-surface corrections. ``alpha``
#: rows are categories 1, 2, 3 by octave band; ``beta`` per category; the speed
#: range is where the directive gives the correction. ``porous`` marks the
#: open (drainage) asphalts whose propulsion-noise correction is min(α, 0).
ROAD_SURFACES: dict[str, _Surface] = {
    "NL01": _Surface(
        "1-layer ZOAB",
        (50, 130),
        alpha=(
            (0.0, 5.4, 4.3, 4.2, -1.0, -3.2, -2.6, 0.8),
            (7.9, 4.3, 5.3, -0.4, -5.2, -4.6, -3.0, -1.4),
            (9.3, 5.0, 5.5, -0.4, -5.2, -4.6, -3.0, -1.4),
        ),
        beta=(-6.5, 0.2, 0.2),
        porous=True,
    ),
    "DEF": _Surface(
        "without correction - Reference road surface",
        (30, 130),
        alpha=(
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ),
        beta=(0.0, 0.0, 0.0),
    ),
    "NL02": _Surface(
        "2-layer ZOAB",
        (50, 130),
        alpha=(
            (1.6, 4.0, 0.3, -3.0, -4.0, -6.2, -4.8, -2.0),
            (7.3, 2.0, -0.3, -5.2, -6.1, -6.0, -4.4, -3.5),
            (8.3, 2.2, -0.4, -5.2, -6.2, -6.1, -4.5, -3.5),
        ),
        beta=(-3.0, 4.7, 4.7),
        porous=True,
    ),
    "NL03": _Surface(
        "2-layer ZOAB (fine)",
        (80, 130),
        alpha=(
            (-1.0, 3.0, -1.5, -5.3, -6.3, -8.5, -5.3, -2.4),
            (7.9, 0.1, -1.9, -5.9, -6.1, -6.8, -4.9, -3.8),
            (9.4, 0.2, -1.9, -5.9, -6.1, -6.7, -4.8, -3.8),
        ),
        beta=(-0.1, -0.8, -0.9),
        porous=True,
    ),
    "NL04": _Surface(
        "SMA-NL5",
        (40, 80),
        alpha=(
            (10.3, -0.9, 0.9, 1.8, -1.8, -2.7, -2.0, -1.3),
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ),
        beta=(-1.6, 0.0, 0.0),
    ),
    "NL05": _Surface(
        "SMA-NL8",
        (40, 80),
        alpha=(
            (6.0, 0.3, 0.3, 0.0, -0.6, -1.2, -0.7, -0.7),
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ),
        beta=(-1.4, 0.0, 0.0),
    ),
    "NL06": _Surface(
        "Brushed down concrete",
        (70, 120),
        alpha=(
            (8.2, -0.4, 2.8, 2.7, 2.5, 0.8, -0.3, -0.1),
            (0.3, 4.5, 2.5, -0.2, -0.1, -0.5, -0.9, -0.8),
            (0.2, 5.3, 2.5, -0.2, -0.1, -0.6, -1.0, -0.9),
        ),
        beta=(1.4, 5.0, 5.5),
    ),
    "NL07": _Surface(
        "Optimized brushed down concrete",
        (70, 80),
        alpha=(
            (-0.2, -0.7, 1.4, 1.2, 1.1, -1.6, -2.0, -1.8),
            (-0.7, 3.0, -2.0, -1.4, -1.8, -2.7, -2.0, -1.9),
            (-0.5, 4.2, -1.9, -1.3, -1.7, -2.5, -1.8, -1.8),
        ),
        beta=(1.0, -6.6, -6.6),
    ),
    "NL08": _Surface(
        "Fine broomed concrete",
        (70, 120),
        alpha=(
            (8.0, -0.7, 4.8, 2.2, 1.2, 2.6, 1.5, -0.6),
            (0.2, 8.6, 7.1, 3.2, 3.6, 3.1, 0.7, 0.1),
            (0.1, 9.8, 7.4, 3.2, 3.1, 2.4, 0.4, 0.0),
        ),
        beta=(7.6, 3.2, 2.0),
    ),
    "NL09": _Surface(
        "Worked surface",
        (50, 130),
        alpha=(
            (8.3, 2.3, 5.1, 4.8, 4.1, 0.1, -1.0, -0.8),
            (0.1, 6.3, 5.8, 1.8, -0.6, -2.0, -1.8, -1.6),
            (0.0, 7.4, 6.2, 1.8, -0.7, -2.1, -1.9, -1.7),
        ),
        beta=(-0.3, 1.7, 1.4),
    ),
    "NL10": _Surface(
        "Hard elements in herring-bone",
        (30, 60),
        alpha=(
            (27.0, 16.2, 14.7, 6.1, 3.0, -1.0, 1.2, 4.5),
            (29.5, 20.0, 17.6, 8.0, 6.2, -1.0, 3.1, 5.2),
            (29.4, 21.2, 18.2, 8.4, 5.6, -1.0, 3.0, 5.8),
        ),
        beta=(2.5, 2.5, 2.5),
    ),
    "NL11": _Surface(
        "Hard elements not in herring-bone",
        (30, 60),
        alpha=(
            (31.4, 19.7, 16.8, 8.4, 7.2, 3.3, 7.8, 9.1),
            (34.0, 23.6, 19.8, 10.5, 11.7, 8.2, 12.2, 10.0),
            (33.8, 24.7, 20.4, 10.9, 10.9, 6.8, 12.0, 10.8),
        ),
        beta=(2.9, 2.9, 2.9),
    ),
    "NL12": _Surface(
        "Quiet hard elements",
        (30, 60),
        alpha=(
            (26.8, 13.7, 11.9, 3.9, -1.8, -5.8, -2.7, 0.2),
            (9.2, 5.7, 4.8, 2.3, 4.4, 5.1, 5.4, 0.9),
            (9.1, 6.6, 5.2, 2.6, 3.9, 3.9, 5.2, 1.1),
        ),
        beta=(-1.7, 0.0, 0.0),
    ),
    "NL13": _Surface(
        "Thin layer A",
        (40, 130),
        alpha=(
            (10.4, 0.7, -0.6, -1.2, -3.0, -4.8, -3.4, -1.4),
            (13.8, 5.4, 3.9, -0.4, -1.8, -2.1, -0.7, -0.2),
            (14.1, 6.1, 4.1, -0.4, -1.8, -2.1, -0.7, -0.2),
        ),
        beta=(-2.9, 0.5, 0.3),
    ),
    "NL14": _Surface(
        "Thin layer B",
        (40, 130),
        alpha=(
            (6.8, -1.2, -1.2, -0.3, -4.9, -7.0, -4.8, -3.2),
            (13.8, 5.4, 3.9, -0.4, -1.8, -2.1, -0.7, -0.2),
            (14.1, 6.1, 4.1, -0.4, -1.8, -2.1, -0.7, -0.2),
        ),
        beta=(-1.8, 0.5, 0.5),
    ),
}

#: Surfaces that carry an OSM ``surface=*`` value clearly enough to pick a Table F-4 row.
#: Asphalt is the reference surface; Dutch clinker and concrete pavers are laid in
#: herring-bone bond in streets (NL10) unless they are setts/cobbles (NL11);
#: paving with concrete slabs is brushed concrete (NL06). Values not listed (gravel,
#: unpaved, compacted, ...) keep the surface of the road class.
OSM_SURFACE_MAP: dict[str, str] = {
    "asphalt": "DEF",
    "paving_stones": "NL10",
    "paving_stones:30": "NL10",
    "bricks": "NL10",
    "sett": "NL11",
    "cobblestone": "NL11",
    "unhewn_cobblestone": "NL11",
    "cobblestone:flattened": "NL11",
    "concrete": "NL06",
    "concrete:plates": "NL06",
    "concrete:lanes": "NL06",
}
