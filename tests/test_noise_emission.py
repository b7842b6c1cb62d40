"""Road emission against the directive's tables, read straight from the shared CSV transcription.

The module keeps Table F-1 (as replaced by (EU) 2021/1226), the constants and
Table F-4 as constants; these tests recompute the per-band sound power by hand
from ``../shared/data/noise/cnossos/*.csv`` (an independent transcription), so
a wrong digit in the module fails here.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from sitefinder.errors import ConfigError
from sitefinder.noisemodel import NoiseModelParams, noise_sources_from_osm, road_vehicle_power_db
from sitefinder.noisemodel.cnossos_tables import EXACT_MIDBAND_HZ, ROAD_SURFACES

CNOSSOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "noise" / "cnossos"
needs_tables = pytest.mark.skipif(
    not CNOSSOS.is_dir(), reason="../shared/data/noise/cnossos is absent (fresh clone): no reference tables"
)
BANDS = [63, 125, 250, 500, 1000, 2000, 4000, 8000]
A_WEIGHT = [-26.2, -16.1, -8.6, -3.2, 0.0, 1.2, 1.0, -1.1]  # IEC 61672-1 octave values


def _rows(name: str) -> list[dict[str, str]]:
    with (CNOSSOS / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _hand_power(cat: str, band: int, v: float, temp_c: float, surface: str) -> float:
    """A-weighted L_W of one vehicle in one band, computed from the CSV rows alone."""
    coef = next(
        r
        for r in _rows("road_emission_coefficients_2021-1226.csv")
        if r["vehicle_category"] == cat and int(r["band_hz"]) == band
    )
    const = {
        (r["vehicle_category"], r["constant"]): float(r["value"])
        for r in _rows("road_emission_constants_2021-1226.csv")
        if r["constant"] != "source"
    }
    surf = next(
        r
        for r in _rows("road_surface_coefficients_2021-1226.csv")
        if r["surface_id"] == surface and r["vehicle_category"] == cat and int(r["band_hz"]) == band
    )
    v_ref = const[("all", "v_ref_kmh")]
    v = max(v, const[("all", "v_min_kmh")])
    alpha, beta = float(surf["alpha"]), float(surf["beta"])
    rolling = (
        float(coef["ar"])
        + float(coef["br"]) * math.log10(v / v_ref)
        + const[(cat, "K_temperature_dB_per_C")] * (const[("all", "T_ref_C")] - temp_c)
        + alpha
        + beta * math.log10(v / v_ref)
    )
    propulsion = float(coef["ap"]) + float(coef["bp"]) * (v - v_ref) / v_ref
    if "ZOAB" in surf["description"]:  # porous surfaces: Eq. 2.2.20
        propulsion += min(alpha, 0.0)
    total = 10 * math.log10(10 ** (rolling / 10) + 10 ** (propulsion / 10))
    return total + A_WEIGHT[BANDS.index(band)]


@needs_tables
@pytest.mark.parametrize(
    ("surface", "speeds", "temp_c"),
    [
        ("DEF", (50.0, 50.0, 50.0), 10.0),
        ("DEF", (15.0, 15.0, 15.0), 20.0),  # below v_min: computed at 20 km/h
        ("NL01", (100.0, 80.0, 80.0), 10.0),
        ("NL10", (30.0, 30.0, 30.0), 5.0),
        ("NL06", (80.0, 80.0, 70.0), 15.0),
    ],
)
def test_vehicle_power_per_band_matches_the_directive_tables(
    surface: str, speeds: tuple[float, float, float], temp_c: float
) -> None:
    got = road_vehicle_power_db(np.array([speeds]), temp_c, surface)[0]
    for m, cat in enumerate(("1", "2", "3")):
        want = [_hand_power(cat, band, speeds[m], temp_c, surface) for band in BANDS]
        np.testing.assert_allclose(got[m], want, atol=0.05, err_msg=f"category {cat}, {surface}")


@needs_tables
def test_every_surface_coefficient_matches_the_directive_table() -> None:
    for r in _rows("road_surface_coefficients_2021-1226.csv"):
        if r["surface_id"] not in ROAD_SURFACES or r["vehicle_category"] not in ("1", "2", "3"):
            continue
        s = ROAD_SURFACES[r["surface_id"]]
        m, i = int(r["vehicle_category"]) - 1, BANDS.index(int(r["band_hz"]))
        assert s.alpha[m][i] == pytest.approx(float(r["alpha"]), abs=1e-9), r
        assert s.beta[m] == pytest.approx(float(r["beta"]), abs=1e-9), r
        assert s.speed_range_kmh == (float(r["vmin_kmh"]), float(r["vmax_kmh"]))


def test_unknown_surface_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Table F-4"):
        road_vehicle_power_db(50.0, 10.0, "XX99")
    with pytest.raises(ConfigError, match=r"class 'primary'.*Table F-4"):
        NoiseModelParams.from_mapping({"road_classes": {"primary": {"surface": "zoab"}}})


def test_exact_midband_frequencies() -> None:
    np.testing.assert_allclose(
        EXACT_MIDBAND_HZ, [63.1, 125.9, 251.2, 501.2, 1000.0, 1995.3, 3981.1, 7943.3], atol=0.05
    )


def test_surface_defaults_and_osm_surface_override() -> None:
    road = shapely.LineString([(0, 0), (1000, 0)])
    lines = gpd.GeoDataFrame(
        {
            "highway": ["motorway", "primary", "primary", "primary", "primary"],
            "surface": [None, None, "sett", "paving_stones", "gravel"],
        },
        geometry=[road] * 5,
        crs=28992,
    )
    src = noise_sources_from_osm(lines)
    assert list(src["surface"]) == ["NL01", "DEF", "NL11", "NL10", "DEF"]
    lw = src["lw_den"].to_numpy()
    assert lw[2] > lw[1]  # setts are louder than asphalt
    off = noise_sources_from_osm(lines, NoiseModelParams(use_osm_surface=False))
    assert list(off["surface"]) == ["NL01", "DEF", "DEF", "DEF", "DEF"]
    per_class = NoiseModelParams.from_mapping({"road_classes": {"motorway": {"surface": "NL02"}}})
    assert noise_sources_from_osm(lines.iloc[:1], per_class)["surface"].iloc[0] == "NL02"
