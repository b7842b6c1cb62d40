"""Propagation checked against ISO/TR 17534-4:2020 (TC01, TC02, TC03, TC07).

Every value the reference file states for these cases (attenuation terms per
band and the resulting levels) is reproduced within the tolerance it gives.
The geometry is read from the file, not restated here.

The ground term's wave number ``k = 2π f / c`` takes the speed of sound at the
cases' air temperature (10 °C: 337.3 m/s, ISO 9613-1), as the reference
implementation does; Δdif keeps the directive's wavelength ``340 / f``. TC07's
ground term of the path as if the barrier were absent (stated by the reference,
not by the ISO/TR) is reproduced to 0.02 dB only that way: with ``c = 340`` it is
0.05 dB (H) and 0.07 dB (F) off at 1 kHz, while the ISO/TR values of TC02/TC03
stay within their 0.1 dB either way (test below).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sitefinder.noisemodel.cnossos_tables import EXACT_MIDBAND_HZ, OCTAVE_BANDS_HZ
from sitefinder.noisemodel.diffraction import diffracted_attenuation
from sitefinder.noisemodel.propagation import (
    SPEED_OF_SOUND,
    air_absorption_db_per_km,
    ground_terms,
    speed_of_sound_m_s,
)

CASES = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "noise" / "cnossos" / "iso17534-4_cases.json"
)
pytestmark = pytest.mark.skipif(
    not CASES.is_file(), reason="../shared/data/noise/cnossos/iso17534-4_cases.json is absent (fresh clone)"
)
DEFAULT_TOL = 0.02  # for values the reference states without a tolerance


def _data() -> dict[str, Any]:
    return dict(json.loads(CASES.read_text("utf-8")))


def _path_g(zones: list[dict[str, float]], x0: float, x1: float) -> float:
    """Length-weighted ground factor between x0 and x1 (the zones are given along x)."""
    total = 0.0
    for z in zones:
        lo, hi = max(z["from_x"], x0), min(z["to_x"], x1)
        total += max(hi - lo, 0.0) * z["G"]
    return total / (x1 - x0)


def _computed(
    case: dict[str, Any], cond: dict[str, Any], c_ground: float | None = None
) -> dict[str, np.ndarray]:
    geo = case["geometry"]
    (xs, ys, zs), (xr, yr, zr) = geo["source_xyz"], geo["receiver_xyz"]
    dp = math.hypot(xr - xs, yr - ys)
    d = math.sqrt(dp**2 + (zr - zs) ** 2)
    zones = geo.get("ground_G_zones_along_path") or [{"from_x": xs, "to_x": xr, "G": geo["ground_G"]}]
    g_path = _path_g(zones, xs, xr)
    g_under_source = zones[0]["G"]
    c = speed_of_sound_m_s(cond["temperature_C"]) if c_ground is None else c_ground
    alpha = air_absorption_db_per_km(
        EXACT_MIDBAND_HZ, cond["temperature_C"], cond["relative_humidity_pct"], cond["pressure_Pa"] / 1000
    )
    out: dict[str, np.ndarray] = {
        "alpha_atm_dB_per_km": alpha,
        "A_atm_dB": alpha * d / 1000,
        "A_div_dB": np.full(8, 20 * math.log10(d) + 11),
    }
    for suffix, fav in (("H", False), ("F", True)):
        g = ground_terms(
            dp, OCTAVE_BANDS_HZ, zs, zr, g_path, g_under_source, favourable=fav, speed_of_sound=c
        )
        out[f"w_{suffix}"], out[f"Cf_{suffix}_m"] = g["w"], g["C_f"]
        out[f"A_ground_{suffix}_dB"] = g["A_ground"]
        boundary = g["A_ground"]
        if geo.get("obstacles"):
            (ob,) = geo["obstacles"]
            ox, oy = ob["crossing_point_xy"]
            d_so, d_or = math.hypot(ox - xs, oy - ys), math.hypot(xr - ox, yr - oy)
            frac = d_so / dp
            x_o = xs + frac * (xr - xs)
            terms = diffracted_attenuation(
                (0.0, zs),
                [(d_so, ob["height_m"])],
                (d_so + d_or, zr),
                g_source_side=_path_g(zones, xs, x_o),
                g_receiver_side=_path_g(zones, x_o, xr),
                g_under_source=g_under_source,
                favourable=fav,
                ground_speed_of_sound=c,
            )
            names = {
                "delta_dif_SR": "Delta_dif_SR",
                "delta_dif_SprimeR": "Delta_dif_SprimeR",
                "delta_dif_SRprime": "Delta_dif_SRprime",
                "A_ground_SO": "A_ground_SO",
                "A_ground_OR": "A_ground_OR",
                "delta_ground_SO": "Delta_ground_SO",
                "delta_ground_OR": "Delta_ground_OR",
                "A_dif": "A_dif",
            }
            for key, name in names.items():
                out[f"{name}_{suffix}_dB"] = terms[key]
            boundary = terms["A_dif"]
        out[f"A_boundary_{suffix}_dB"] = boundary
        out[f"L_{suffix}_dB"] = cond["sound_power_per_band_dB"] - out["A_div_dB"] - out["A_atm_dB"] - boundary
    p = cond["p_favourable"]
    out["L_dB"] = 10 * np.log10(p * 10 ** (out["L_F_dB"] / 10) + (1 - p) * 10 ** (out["L_H_dB"] / 10))
    return out


@pytest.mark.parametrize("name", ["TC01", "TC02", "TC03", "TC07"])
def test_iso_17534_4_case(name: str) -> None:
    data = _data()
    case = data["cases"][name]
    got = _computed(case, data["meta"]["conditions"])
    expected = case["expected"]["direct"]
    assert len(expected) >= 12
    failures = []
    for key, entry in expected.items():
        tol = entry["tolerance_dB"] if entry["tolerance_dB"] is not None else DEFAULT_TOL
        want = np.asarray(entry["values"], dtype=float)
        have = np.asarray(got[key], dtype=float)
        # w is given to 2-3 significant digits: compare relatively where it is tiny.
        scale = np.maximum(np.abs(want), 1.0) if key.startswith("w_") else 1.0
        err = np.abs(have - want) / scale
        if (err > tol + 1e-9).any():
            failures.append(f"{key}: got {np.round(have, 3).tolist()}, want {want.tolist()} (±{tol})")
    assert not failures, "\n".join(failures)


def _worst(name: str, c_ground: float) -> dict[str, float]:
    """Largest |computed - expected| per key of a case, with the ground term's ``c``."""
    data = _data()
    case = data["cases"][name]
    got = _computed(case, data["meta"]["conditions"], c_ground)
    return {
        key: float(np.max(np.abs(np.asarray(got[key], dtype=float) - np.asarray(e["values"], dtype=float))))
        for key, e in case["expected"]["direct"].items()
        if not key.startswith("w_")
    }


def test_ground_wave_number_takes_the_speed_of_sound_at_the_air_temperature() -> None:
    """Why ``c(10 °C)``: TC07's whole-path ground term needs it; the ISO values of TC02 allow it."""
    c10 = speed_of_sound_m_s(10.0)
    assert c10 == pytest.approx(337.3, abs=0.05)
    assert _worst("TC07", SPEED_OF_SOUND)["A_ground_F_dB"] > 0.05  # 340 m/s misses TC07 by 0.07 dB
    assert _worst("TC07", c10)["A_ground_F_dB"] < 0.01
    assert _worst("TC07", c10)["A_ground_H_dB"] < 0.01
    # TC02 (ISO/TR values, tolerance 0.1 dB): 340 m/s fits them a little closer, both pass.
    assert _worst("TC02", SPEED_OF_SOUND)["A_ground_H_dB"] < 0.01
    assert _worst("TC02", c10)["A_ground_H_dB"] < 0.1
