"""Sound power per metre of road and rail lines, from OSM tags and typical traffic.

Road emission follows CNOSSOS-EU (Directive 2002/49/EC Annex II, 2.2, with
Table F-1 as replaced by Commission Delegated Directive (EU) 2021/1226; the
coefficients are in :mod:`.cnossos_tables`): per octave band *i* and vehicle
category *m*, rolling noise ``L_WR = A_R + B_R lg(v / 70) + K (20 - T) + α + β lg(v / 70)``
(temperature and Table F-4 road-surface corrections) and propulsion noise
``L_WP = A_P + B_P (v - 70) / 70 (+ min(α, 0) on porous surfaces)`` add energetically to the sound power of one
vehicle; a steady flow of ``Q`` vehicles/hour at ``v`` km/h is a line source of
``L_W' = L_W + 10 lg(Q / (1000 v))`` dB re 1 pW per metre. Rail is simplified:
a train is a line source whose power per metre of train follows from a TSI
pass-by level and grows with 30 lg(v); averaged over the period it gives
``L_W' = L_W'train + 10 lg(Q ℓ / (1000 v))`` per metre of track.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Hashable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from sitefinder.errors import ConfigError, CRSError, DataValidationError
from sitefinder.noisemodel.cnossos_tables import (
    A_P,
    A_R,
    B_P,
    B_R,
    K_TEMPERATURE,
    OCTAVE_BANDS_HZ,  # noqa: F401 - re-exported
    OSM_SURFACE_MAP,
    ROAD_SURFACES,
    T_REF_C,
    V_MIN_KMH,
    V_REF_KMH,
)
from sitefinder.noisemodel.params import (
    PERIOD_HOURS,
    PERIOD_PENALTY_DB,
    PERIODS,
    NoiseModelParams,
)
from sitefinder.osmrules import underground_mask

log = logging.getLogger(__name__)

#: A-weighting per octave band (IEC 61672-1), dB.
A_WEIGHTING_DB = np.array([-26.2, -16.1, -8.6, -3.2, 0.0, 1.2, 1.0, -1.1])
#: Speed range in which the CNOSSOS-EU road coefficients are used (km/h): below
#: 20 km/h the directive's minimum speed applies; 130 km/h is the Dutch maximum.
ROAD_SPEED_RANGE_KMH = (V_MIN_KMH, 130.0)

#: Representative A-weighted octave spectrum of rail rolling noise (relative dB, assumed).
RAIL_SPECTRUM_DB = np.array([-31.0, -23.0, -15.0, -8.0, -3.0, -3.5, -8.5, -17.0])

RAIL_CLASSES_OSM = ("rail", "light_rail", "subway", "tram")
_RAIL_SERVICE = {"yard", "siding", "spur", "crossover"}
_TRUE = {"yes", "true", "1", "-1", "reversible"}
# Implicit maxspeed codes (OSM "XX:zone") -> km/h.
_IMPLICIT_SPEED = {
    "urban": 50.0,
    "rural": 80.0,
    "motorway": 130.0,
    "trunk": 100.0,
    "living_street": 15.0,
    "bicycle_road": 30.0,
    "walk": 7.0,
}
_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(mph|knots|km/h|kmh|kph)?\s*$")

#: Columns of the frame :func:`noise_sources_from_osm` returns.
SOURCE_COLUMNS = (
    "kind",
    "source_class",
    "osm_ref",
    "flow_per_day",
    "share_medium",
    "share_heavy",
    "speed_kmh",
    "lanes",
    "surface",
    "lw_day",
    "lw_evening",
    "lw_night",
    "lw_den",
)


def road_vehicle_power_db(
    speed_kmh: np.ndarray | float,
    temperature_c: float = T_REF_C,
    surface: str = "DEF",
) -> np.ndarray:
    """A-weighted octave-band sound power of one vehicle (CNOSSOS-EU, Table F-1 of 2021/1226).

    Parameters
    ----------
    speed_kmh : array_like
        Vehicle speeds (km/h), shape ``(n,)`` (the same speed for the three
        categories) or ``(n, 3)`` (per category); clipped to 20-130 km/h.
    temperature_c : float
        Air temperature for the rolling-noise temperature correction (Eq. 2.2.10).
    surface : str
        Road surface id of Table F-4 (``"DEF"`` reference surface, ``"NL01"``
        1-layer ZOAB, ...; see :data:`~sitefinder.noisemodel.cnossos_tables.ROAD_SURFACES`).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 3, 8)``: per speed, per category (light, medium heavy,
        heavy) and octave band, A-weighted ``L_W`` in dB re 1 pW.

    Raises
    ------
    sitefinder.errors.ConfigError
        When ``surface`` is not a Table F-4 id.

    Examples
    --------
    >>> lw = road_vehicle_power_db([70.0])
    >>> round(float(10 * np.log10((10 ** (lw[0, 0] / 10)).sum())), 1)  # light vehicle, 70 km/h
    103.0
    """
    try:
        surf = ROAD_SURFACES[surface]
    except KeyError:
        msg = f"road surface {surface!r} is not in CNOSSOS-EU Table F-4; use one of {sorted(ROAD_SURFACES)}"
        raise ConfigError(msg) from None
    v = np.clip(np.asarray(speed_kmh, dtype=float), *ROAD_SPEED_RANGE_KMH)
    v = np.broadcast_to(v[:, None] if v.ndim == 1 else np.atleast_2d(v), (v.shape[0] if v.ndim else 1, 3))
    v = v[:, :, None]
    alpha = np.asarray(surf.alpha)
    beta = np.asarray(surf.beta)[:, None]
    temp = (K_TEMPERATURE * (T_REF_C - temperature_c))[None, :, None]
    lg_v = np.log10(v / V_REF_KMH)
    rolling = A_R + B_R * lg_v + temp + alpha + beta * lg_v
    propulsion = A_P + B_P * (v - V_REF_KMH) / V_REF_KMH
    if surf.porous:
        propulsion = propulsion + np.minimum(alpha, 0.0)
    total = 10 * np.log10(10 ** (rolling / 10) + 10 ** (propulsion / 10))
    return np.asarray(total + A_WEIGHTING_DB)


def road_reference_spectrum() -> np.ndarray:
    """Relative A-weighted octave spectrum of urban road traffic (shares summing to 1).

    The CNOSSOS-EU spectrum of a flow of 90 % light, 5 % medium heavy and 5 %
    heavy vehicles at 50 km/h; the propagation kernel uses it to weight the
    frequency-dependent ground and air attenuation.
    """
    power = 10 ** (road_vehicle_power_db(50.0)[0] / 10)  # (3, 8)
    mix = np.array([0.90, 0.05, 0.05]) @ power
    return np.asarray(mix / mix.sum())


def rail_reference_spectrum() -> np.ndarray:
    """Relative A-weighted octave spectrum of rail rolling noise (shares summing to 1)."""
    power = 10 ** (RAIL_SPECTRUM_DB / 10)
    return np.asarray(power / power.sum())


def parse_speed_kmh(value: Any) -> float | None:
    """Read an OSM ``maxspeed`` value as km/h; ``None`` when absent or not a speed.

    Handles numbers, ``"50 mph"``, ``"NL:urban"``-style implicit limits,
    ``"walk"``, several values (``"30;50"`` or an osmnx list: the highest).

    Examples
    --------
    >>> parse_speed_kmh("NL:urban"), parse_speed_kmh("30 mph"), parse_speed_kmh(["30", "50"])
    (50.0, 48.3, 50.0)
    >>> parse_speed_kmh("signals") is None
    True
    """
    if isinstance(value, list | tuple | np.ndarray):
        parsed = [p for p in (parse_speed_kmh(v) for v in value) if p is not None]
        return max(parsed) if parsed else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, int | float | np.number):
        speed = float(value)
        return speed if 0 < speed <= 300 else None
    text = str(value).strip().lower()
    if ";" in text or "|" in text:
        return parse_speed_kmh(re.split(r"[;|]", text))
    if ":" in text:
        text = text.split(":", 1)[1].replace("zone", "").strip()
        if text in _IMPLICIT_SPEED:
            return _IMPLICIT_SPEED[text]
    if text in _IMPLICIT_SPEED:
        return _IMPLICIT_SPEED[text]
    match = _NUMBER.match(text)
    if match is None:
        return None
    speed = float(match.group(1).replace(",", "."))
    unit = match.group(2)
    if unit == "mph":
        speed = round(speed * 1.609344, 1)
    elif unit == "knots":
        speed = round(speed * 1.852, 1)
    return speed if 0 < speed <= 300 else None


def parse_lanes(value: Any) -> float | None:
    """Read an OSM ``lanes`` value; the highest of several; ``None`` when absent or invalid.

    Examples
    --------
    >>> parse_lanes("2"), parse_lanes("2;3"), parse_lanes(["1", "2"]), parse_lanes("many")
    (2.0, 3.0, 2.0, None)
    """
    if isinstance(value, list | tuple | np.ndarray):
        parsed = [p for p in (parse_lanes(v) for v in value) if p is not None]
        return max(parsed) if parsed else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if ";" in text:
        return parse_lanes(text.split(";"))
    try:
        lanes = float(text.replace(",", "."))
    except ValueError:
        return None
    return lanes if 1 <= lanes <= 20 else None


def _first_known(value: Any, known: set[str] | dict[str, Any]) -> str | None:
    """The first value of a tag (str or osmnx list) that is a key of ``known``."""
    values = value if isinstance(value, list | tuple | np.ndarray) else [value]
    for v in values:
        if isinstance(v, str) and v in known:
            return v
    return None


def _is_true(value: Any) -> bool:
    values = value if isinstance(value, list | tuple | np.ndarray) else [value]
    return any(isinstance(v, str) and v.strip().lower() in _TRUE for v in values)


def _cached_map(values: pd.Series, func: Callable[[Any], Any]) -> list[Any]:
    """Apply ``func`` to each value, once per distinct value (lists made hashable)."""
    cache: dict[Hashable, Any] = {}
    out = []
    for v in values:
        key: Hashable = tuple(v) if isinstance(v, list | np.ndarray) else v
        try:
            out.append(cache[key])
        except KeyError:
            cache[key] = func(v)
            out.append(cache[key])
        except TypeError:  # unhashable odd value
            out.append(func(v))
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _den_weights() -> np.ndarray:
    """Weights of period-average powers in Lden: hours/24 x 10^(penalty/10)."""
    return np.array([PERIOD_HOURS[p] / 24 * 10 ** (PERIOD_PENALTY_DB[p] / 10) for p in PERIODS])


def _power_db(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.asarray(10 * np.log10(power))


def _road_power(rows: pd.DataFrame, params: NoiseModelParams) -> np.ndarray:
    """Period-average sound power per metre (pW/m), shape ``(n, 3)``, for road rows."""
    classes = params.road_classes
    n = len(rows)
    shares = np.empty((n, 3))
    period = np.empty((n, 3))
    for i, name in enumerate(rows["source_class"]):
        c = classes[name]
        shares[i] = (1 - c.share_medium - c.share_heavy, c.share_medium, c.share_heavy)
        period[i] = c.period_shares
    surfaces = rows["surface"].to_numpy()
    flow = rows["flow_per_day"].to_numpy(float)
    speed = rows["speed_kmh"].to_numpy(float)
    speeds = np.stack([speed, *[np.minimum(speed, params.heavy_max_speed_kmh)] * 2], axis=1)
    speeds = np.clip(speeds, *ROAD_SPEED_RANGE_KMH)
    # Sound power per vehicle, summed over bands, per row and category (pW).
    w_vehicle = np.empty((n, 3))
    for surface in set(surfaces):
        sel = surfaces == surface
        lw = road_vehicle_power_db(speeds[sel], params.air_temperature_c, str(surface))
        w_vehicle[sel] = (10 ** (lw / 10)).sum(axis=2)
    hours = np.array([PERIOD_HOURS[p] for p in PERIODS])
    # vehicles per hour per category and period: (n, 3 categories, 3 periods)
    q = flow[:, None, None] * shares[:, :, None] * (period / hours)[:, None, :]
    power = (q * (w_vehicle / (1000.0 * speeds))[:, :, None]).sum(axis=1)
    return np.asarray(power)


def _rail_power(rows: pd.DataFrame, params: NoiseModelParams) -> np.ndarray:
    """Period-average sound power per metre of track (pW/m), shape ``(n, 3)``."""
    n = len(rows)
    out = np.empty((n, 3))
    hours = np.array([PERIOD_HOURS[p] for p in PERIODS])
    for i, (name, flow, speed) in enumerate(
        zip(rows["source_class"], rows["flow_per_day"], rows["speed_kmh"], strict=True)
    ):
        c = params.rail_classes[name]
        # Pass-by level at 7.5 m over the hard test-site ground -> power per metre of
        # train: Lp = LW' - 10 lg(4 d) + 3 for a long line source at distance d.
        lw_train = (
            c.passby_level_db
            + 10 * math.log10(4 * 7.5)
            - 3.0
            + c.speed_exponent * math.log10(speed / c.reference_speed_kmh)
        )
        per_hour = flow * np.asarray(c.period_shares) / hours
        duty = per_hour * c.train_length_m / (1000.0 * speed)  # share of time a train is there
        out[i] = 10 ** (lw_train / 10) * duty
    return out


def _check_projected(frame: gpd.GeoDataFrame, what: str) -> None:
    if frame.crs is None:
        msg = f"{what} has no CRS; set the CRS it was made in (never assume WGS84) and project it"
        raise CRSError(msg)
    if not frame.crs.is_projected:
        msg = (
            f"{what} is in a geographic CRS ({frame.crs.to_string()}); "
            "project it to the working CRS in metres first, e.g. .to_crs(28992)"
        )
        raise CRSError(msg)


def _empty_sources(crs: Any) -> gpd.GeoDataFrame:
    cols: dict[str, Any] = {c: pd.Series(dtype=float) for c in SOURCE_COLUMNS}
    for c in ("kind", "source_class", "osm_ref", "surface"):
        cols[c] = pd.Series(dtype=object)
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def noise_sources_from_osm(
    lines: gpd.GeoDataFrame, params: NoiseModelParams | None = None
) -> gpd.GeoDataFrame:
    """Road and rail noise sources, with sound power per metre, from OSM line features.

    Parameters
    ----------
    lines : geopandas.GeoDataFrame
        OSM features in a projected CRS (metres), with any of the columns
        ``highway``, ``railway``, ``maxspeed``, ``lanes``, ``oneway``,
        ``tunnel``, ``covered``, ``service``, ``surface`` (missing columns, NaN and osmnx
        lists are fine). Only LineString/MultiLineString rows are used; ways in
        tunnels or covered are left out; ``highway`` classes not in
        ``params.road_classes`` (footways, cycleways, ...) carry no traffic.
    params : NoiseModelParams, optional
        Traffic per class and climate; defaults to ``NoiseModelParams()``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per source line (a way tagged both ``highway`` and
        ``railway=tram`` gives two rows), with ``kind`` (``"road"``/``"rail"``),
        ``source_class``, ``osm_ref`` (the input index label as text),
        ``flow_per_day`` (vehicles or trains), ``share_medium``,
        ``share_heavy``, ``speed_kmh``, ``lanes``, ``surface`` (Table F-4 id:
        the class's surface, or the one an OSM ``surface=*`` maps to clearly,
        :data:`~sitefinder.noisemodel.cnossos_tables.OSM_SURFACE_MAP`) and the A-weighted sound power
        per metre in dB re 1 pW/m, averaged over each period: ``lw_day``,
        ``lw_evening``, ``lw_night``, and ``lw_den`` (the three combined with
        the Lden weights and penalties). Same CRS as ``lines``.

    Raises
    ------
    sitefinder.errors.CRSError
        When ``lines`` has no CRS or a geographic one.
    sitefinder.errors.DataValidationError
        When ``lines`` is not a GeoDataFrame.
    """
    if not isinstance(lines, gpd.GeoDataFrame):
        msg = f"noise source lines must be a GeoDataFrame, got {type(lines).__name__}"
        raise DataValidationError(msg)
    _check_projected(lines, "noise source lines")
    params = params or NoiseModelParams()
    is_line = lines.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    frame = lines.loc[is_line]
    hidden = underground_mask(frame)
    frame = frame.loc[~hidden] if len(frame) else frame
    road_class = _cached_map(_column(frame, "highway"), lambda v: _first_known(v, params.road_classes))
    rail_tag = _cached_map(_column(frame, "railway"), lambda v: _first_known(v, set(RAIL_CLASSES_OSM)))
    speed_tag = np.array(_cached_map(_column(frame, "maxspeed"), parse_speed_kmh), dtype=float)
    lanes_tag = np.array(_cached_map(_column(frame, "lanes"), parse_lanes), dtype=float)
    oneway = np.array(_cached_map(_column(frame, "oneway"), _is_true), dtype=bool)
    service = _cached_map(_column(frame, "service"), lambda v: _first_known(v, _RAIL_SERVICE))
    surface_tag = (
        _cached_map(_column(frame, "surface"), lambda v: _first_known(v, OSM_SURFACE_MAP))
        if params.use_osm_surface
        else [None] * len(frame)
    )
    refs = [str(i) for i in frame.index]
    geoms = frame.geometry.to_numpy()

    road_rows: list[dict[str, Any]] = []
    rail_rows: list[dict[str, Any]] = []
    for i, name in enumerate(road_class):
        if name is not None:
            c = params.road_classes[name]
            factor = c.oneway_factor if oneway[i] else 1.0
            expected = max(1.0, round(c.lanes * factor))
            lanes = lanes_tag[i] if np.isfinite(lanes_tag[i]) else expected
            flow = c.aadt * factor * float(np.clip(lanes / expected, 0.5, 2.0))
            speed = speed_tag[i] if np.isfinite(speed_tag[i]) else c.speed_kmh
            tag = surface_tag[i]
            road_rows.append(
                {
                    "kind": "road",
                    "source_class": name,
                    "osm_ref": refs[i],
                    "flow_per_day": flow,
                    "share_medium": c.share_medium,
                    "share_heavy": c.share_heavy,
                    "speed_kmh": speed,
                    "lanes": lanes,
                    "surface": OSM_SURFACE_MAP[tag] if tag is not None else c.surface,
                    "geometry": geoms[i],
                }
            )
        rail = rail_tag[i]
        if rail is not None:
            rname = "rail_service" if rail == "rail" and service[i] is not None else rail
            if rname not in params.rail_classes:
                continue
            r = params.rail_classes[rname]
            speed = speed_tag[i] if np.isfinite(speed_tag[i]) else r.speed_kmh
            rail_rows.append(
                {
                    "kind": "rail",
                    "source_class": rname,
                    "osm_ref": refs[i],
                    "flow_per_day": r.trains_per_day,
                    "share_medium": np.nan,
                    "share_heavy": np.nan,
                    "speed_kmh": speed,
                    "lanes": np.nan,
                    "surface": None,
                    "geometry": geoms[i],
                }
            )

    if not road_rows and not rail_rows:
        log.warning(
            "No road or rail noise sources among %d OSM features (%d lines)", len(lines), int(is_line.sum())
        )
        return _empty_sources(lines.crs)
    parts = []
    for rows, power_fn in ((road_rows, _road_power), (rail_rows, _rail_power)):
        if not rows:
            continue
        part = pd.DataFrame(rows)
        power = power_fn(part, params)
        den = power @ _den_weights()
        part["lw_day"], part["lw_evening"], part["lw_night"] = _power_db(power).T
        part["lw_den"] = _power_db(den)
        parts.append(part)
    sources = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=lines.crs)
    sources = sources[[*SOURCE_COLUMNS, "geometry"]]
    silent = ~np.isfinite(sources["lw_den"].to_numpy())
    if silent.any():
        sources = sources.loc[~silent].reset_index(drop=True)
    log.info(
        "Noise sources from %d OSM features: %d road and %d rail lines (%d without traffic, "
        "%d in tunnels or covered left out)",
        len(lines),
        int((sources["kind"] == "road").sum()),
        int((sources["kind"] == "rail").sum()),
        int(silent.sum()),
        int(hidden.sum()),
    )
    return sources
