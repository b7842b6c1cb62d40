"""Parameters of the modelled noise map: traffic per OSM class, rail traffic, propagation.

Everything the model assumes lives here, as frozen values with their source next
to them, so that a region file can override any of it and the provenance of a
modelled grid (``params.model_dump()``) says exactly what was assumed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sitefinder.errors import ConfigError
from sitefinder.noisemodel.cnossos_tables import ROAD_SURFACES

#: Hours of the Lden periods (Dutch and END definition: day 07-19, evening 19-23, night 23-07).
PERIOD_HOURS: dict[str, float] = {"day": 12.0, "evening": 4.0, "night": 8.0}
#: Lden penalties per period (Directive 2002/49/EC, Annex I).
PERIOD_PENALTY_DB: dict[str, float] = {"day": 0.0, "evening": 5.0, "night": 10.0}
PERIODS: tuple[str, ...] = ("day", "evening", "night")

# Typical Dutch hourly shares of the 24-hour flow (assumed; the order of the
# "etmaalverdeling" used in Dutch traffic models when no counts exist):
# urban roads 6.7 %/h day, 3.1 %/h evening, 0.9 %/h night;
# motorways 6.1 %/h day, 3.7 %/h evening, 1.5 %/h night.
_URBAN = (0.804, 0.124, 0.072)
_MOTORWAY = (0.732, 0.148, 0.120)
# Passenger rail: service roughly 06:00-00:30, some freight at night (assumed).
_RAIL = (0.65, 0.20, 0.15)
_TRAM = (0.70, 0.20, 0.10)


def _check_shares(what: str, day: float, evening: float, night: float) -> None:
    shares = (day, evening, night)
    if min(shares) < 0 or not math.isclose(sum(shares), 1.0, abs_tol=1e-3):
        msg = (
            f"{what}: day_share/evening_share/night_share must be >= 0 and sum to 1, "
            f"got {day}/{evening}/{night} (sum {sum(shares):.4f}); fix the shares"
        )
        raise ConfigError(msg)


@dataclass(frozen=True)
class RoadClassDefaults:
    """Typical traffic on one OSM ``highway`` class, used where no counts exist.

    Attributes
    ----------
    aadt : float
        Motor vehicles per day (annual average daily traffic) on a way of this
        class mapped as one two-way carriageway, both directions together.
    speed_kmh : float
        Speed of light vehicles when ``maxspeed`` is not tagged (km/h).
    share_medium : float
        Share of medium heavy vehicles (CNOSSOS-EU category 2: vans > 3.5 t,
        buses, two-axle lorries).
    share_heavy : float
        Share of heavy vehicles (CNOSSOS-EU category 3: three or more axles).
    lanes : int
        Typical number of lanes of a two-way way; a tagged ``lanes`` scales the
        flow by ``lanes / expected``, clipped to 0.5-2.
    oneway_factor : float
        Factor on ``aadt`` for ways tagged ``oneway`` (0.5: a carriageway of a
        dual carriageway or a one-way street carries about half the flow;
        1.0 for classes that are single one-way ways anyway, such as links).
    day_share, evening_share, night_share : float
        Shares of the daily flow in the day (07-19), evening (19-23) and night
        (23-07) periods; they sum to 1.
    surface : str
        Usual road surface of the class, an id of CNOSSOS-EU Table F-4 (as
        replaced by (EU) 2021/1226): ``"DEF"`` the reference surface (dense
        asphalt), ``"NL01"`` 1-layer porous asphalt (ZOAB, the usual Dutch
        motorway surface), ``"NL10"`` clinkers in herring-bone, ... A tagged
        OSM ``surface=*`` that maps clearly replaces it.
    """

    aadt: float
    speed_kmh: float
    share_medium: float = 0.03
    share_heavy: float = 0.02
    lanes: int = 2
    oneway_factor: float = 0.5
    day_share: float = _URBAN[0]
    evening_share: float = _URBAN[1]
    night_share: float = _URBAN[2]
    surface: str = "DEF"

    def __post_init__(self) -> None:
        """Check ranges; raise :class:`~sitefinder.errors.ConfigError` naming the field."""
        if not (math.isfinite(self.aadt) and self.aadt >= 0):
            msg = f"road class aadt must be a number >= 0, got {self.aadt!r}"
            raise ConfigError(msg)
        if not (math.isfinite(self.speed_kmh) and 0 < self.speed_kmh <= 200):
            msg = f"road class speed_kmh must be in (0, 200], got {self.speed_kmh!r}"
            raise ConfigError(msg)
        heavy = self.share_medium + self.share_heavy
        if min(self.share_medium, self.share_heavy) < 0 or heavy > 1 + 1e-9:
            msg = (
                f"road class share_medium + share_heavy must be within 0-1, "
                f"got {self.share_medium} + {self.share_heavy}"
            )
            raise ConfigError(msg)
        if self.lanes < 1:
            msg = f"road class lanes must be >= 1, got {self.lanes!r}"
            raise ConfigError(msg)
        if not 0 < self.oneway_factor <= 1:
            msg = f"road class oneway_factor must be in (0, 1], got {self.oneway_factor!r}"
            raise ConfigError(msg)
        _check_shares("road class", self.day_share, self.evening_share, self.night_share)
        if self.surface not in ROAD_SURFACES:
            msg = (
                f"road class surface must be a CNOSSOS-EU Table F-4 id, got {self.surface!r}; "
                f"use one of {sorted(ROAD_SURFACES)}"
            )
            raise ConfigError(msg)

    @property
    def period_shares(self) -> tuple[float, float, float]:
        """Day, evening and night shares of the daily flow."""
        return (self.day_share, self.evening_share, self.night_share)


@dataclass(frozen=True)
class RailClassDefaults:
    """Typical traffic and emission on one OSM ``railway`` class.

    Attributes
    ----------
    trains_per_day : float
        Train (or tram) passages per day on one mapped track (OSM maps each
        track as its own way), both directions together.
    speed_kmh : float
        Speed when ``maxspeed`` is not tagged (km/h).
    train_length_m : float
        Typical train length (m).
    passby_level_db : float
        A-weighted pass-by level ``LpAeq,Tp`` at 7.5 m from the track centre,
        1.2 m above the rail head, at ``reference_speed_kmh`` on the rolling
        stock and track found in service (TSI Noise test conditions,
        Regulation (EU) 1304/2014, plus an in-service margin).
    reference_speed_kmh : float
        Speed at which ``passby_level_db`` holds.
    speed_exponent : float
        Level change per decade of speed (30 dB: rolling noise).
    day_share, evening_share, night_share : float
        Shares of the daily passages per period; they sum to 1.
    """

    trains_per_day: float
    speed_kmh: float
    train_length_m: float
    passby_level_db: float
    reference_speed_kmh: float = 80.0
    speed_exponent: float = 30.0
    day_share: float = _RAIL[0]
    evening_share: float = _RAIL[1]
    night_share: float = _RAIL[2]

    def __post_init__(self) -> None:
        """Check ranges; raise :class:`~sitefinder.errors.ConfigError` naming the field."""
        for name in ("speed_kmh", "train_length_m", "reference_speed_kmh"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                msg = f"rail class {name} must be a number > 0, got {value!r}"
                raise ConfigError(msg)
        if not (math.isfinite(self.trains_per_day) and self.trains_per_day >= 0):
            msg = f"rail class trains_per_day must be >= 0, got {self.trains_per_day!r}"
            raise ConfigError(msg)
        _check_shares("rail class", self.day_share, self.evening_share, self.night_share)

    @property
    def period_shares(self) -> tuple[float, float, float]:
        """Day, evening and night shares of the daily passages."""
        return (self.day_share, self.evening_share, self.night_share)


def _road(aadt: float, speed: float, medium: float, heavy: float, lanes: int, **kw: Any) -> RoadClassDefaults:
    return RoadClassDefaults(aadt, speed, medium, heavy, lanes, **kw)


_MW = {
    "day_share": _MOTORWAY[0],
    "evening_share": _MOTORWAY[1],
    "night_share": _MOTORWAY[2],
    "surface": "NL01",
}

#: Typical Dutch traffic per OSM highway class (assumed; order of magnitude of
#: counts on such roads in Dutch municipalities: NDW/municipal traffic models).
#: Classes not listed (footway, cycleway, pedestrian, path, steps, track,
#: construction, ...) carry no motor traffic in the model.
DEFAULT_ROAD_CLASSES: Mapping[str, RoadClassDefaults] = {
    "motorway": _road(80_000, 100, 0.04, 0.08, 4, **_MW),
    "motorway_link": _road(8_000, 70, 0.04, 0.06, 1, oneway_factor=1.0, **_MW),
    "trunk": _road(30_000, 80, 0.04, 0.06, 4, **_MW),
    "trunk_link": _road(5_000, 60, 0.04, 0.05, 1, oneway_factor=1.0, surface="NL01"),
    "primary": _road(15_000, 50, 0.04, 0.03, 2),
    "primary_link": _road(3_000, 50, 0.04, 0.03, 1, oneway_factor=1.0),
    "secondary": _road(8_000, 50, 0.03, 0.02, 2),
    "secondary_link": _road(2_000, 50, 0.03, 0.02, 1, oneway_factor=1.0),
    "tertiary": _road(4_000, 50, 0.03, 0.01, 2),
    "tertiary_link": _road(1_000, 50, 0.03, 0.01, 1, oneway_factor=1.0),
    "unclassified": _road(1_000, 50, 0.03, 0.01, 2),
    "road": _road(1_000, 50, 0.03, 0.01, 2),
    "residential": _road(500, 30, 0.02, 0.0, 2),
    "living_street": _road(100, 15, 0.01, 0.0, 2),
    "service": _road(150, 20, 0.02, 0.0, 2),
    # Bus-only ways: city buses are CNOSSOS category 2 (two axles).
    "busway": _road(300, 40, 1.0, 0.0, 2),
    "bus_guideway": _road(300, 50, 1.0, 0.0, 2),
}

#: Typical Dutch rail traffic per OSM railway class and mapped track (assumed).
#: Pass-by levels: TSI Noise limits at 80 km/h (EMU/coaches 80 dB, freight
#: wagons 83 dB) plus about 2 dB for in-service track roughness; trams:
#: embedded track with curves and older stock (assumed 78 dB at 40 km/h).
DEFAULT_RAIL_CLASSES: Mapping[str, RailClassDefaults] = {
    "rail": RailClassDefaults(160, 100, 150, 82.0),
    # railway=rail with service=yard/siding/spur/crossover
    "rail_service": RailClassDefaults(5, 30, 150, 82.0),
    "light_rail": RailClassDefaults(150, 60, 60, 80.0),
    "subway": RailClassDefaults(180, 60, 115, 80.0),
    "tram": RailClassDefaults(
        200,
        30,
        30,
        78.0,
        reference_speed_kmh=40.0,
        day_share=_TRAM[0],
        evening_share=_TRAM[1],
        night_share=_TRAM[2],
    ),
}

_T = TypeVar("_T", RoadClassDefaults, RailClassDefaults)


def _merge_classes(value: Any, defaults: Mapping[str, _T], kind: type[_T]) -> dict[str, _T]:
    """Overlay user entries on the default class table.

    A mapping entry for a known class overrides only the fields it names; an
    entry for a new class must give all required fields.
    """
    if value is None:
        return dict(defaults)
    if not isinstance(value, Mapping):
        msg = f"expected a table of class name -> fields, got {type(value).__name__}"
        raise ValueError(msg)  # noqa: TRY004 - pydantic turns ValueError into a validation error
    merged: dict[str, _T] = dict(defaults)
    fields = {f.name for f in dataclasses.fields(kind)}
    for name, entry in value.items():
        if isinstance(entry, kind):
            merged[str(name)] = entry
            continue
        if not isinstance(entry, Mapping):
            msg = f"class {name!r}: expected a table of fields, got {entry!r}"
            raise ValueError(msg)  # noqa: TRY004
        unknown = sorted(set(entry) - fields)
        if unknown:
            msg = f"class {name!r}: unknown field(s) {unknown}; valid fields: {sorted(fields)}"
            raise ValueError(msg)
        try:
            if name in defaults:
                merged[str(name)] = dataclasses.replace(defaults[name], **entry)
            else:
                merged[str(name)] = kind(**entry)
        except TypeError as exc:
            msg = f"class {name!r}: {exc}; a new class must give all required fields"
            raise ValueError(msg) from None
        except ConfigError as exc:
            msg = f"class {name!r}: {exc}"
            raise ValueError(msg) from None
    return merged


class NoiseModelParams(BaseModel):
    """All assumptions of the modelled road and rail noise map.

    Attributes
    ----------
    resolution_m : float
        Cell size of the output grid (m).
    max_distance_m : float
        Sources farther than this from a cell are ignored (m). Beyond about
        2 km even motorways add little at the levels that matter here.
    receiver_height_m : float
        Receiver height above ground (4 m, the END and Dutch mapping height).
    road_source_height_m, rail_source_height_m : float
        Source heights (CNOSSOS-EU road source 0.05 m; rail simplified to one
        source 0.5 m above the ground).
    ground_factor : float
        CNOSSOS-EU ground factor G of the propagation path: 0 hard (asphalt,
        paving, water), 1 porous (grass, fields); one value for the whole map.
    favourable_day, favourable_evening, favourable_night : float
        Probability of favourable (downward-refracting) propagation per period.
    air_absorption : bool
        Apply ISO 9613-1 atmospheric absorption.
    air_temperature_c, relative_humidity_pct : float
        Annual mean air temperature and humidity (Dutch climate, De Bilt:
        about 10 degrees C, 80 %), used for air absorption and the CNOSSOS-EU
        rolling-noise temperature correction.
    heavy_max_speed_kmh : float
        Medium and heavy vehicles drive at most this fast (80 km/h in NL).
    use_osm_surface : bool
        Let a tagged OSM ``surface=*`` that maps clearly onto Table F-4 replace
        the class's surface (``sett`` -> NL11, ``paving_stones`` -> NL10, ...).
    floor_db : float
        Levels are clipped from below at this value: residual sound from
        sources not modelled (distant roads, people, nature).
    sample_spacing_m : float, optional
        Spacing of the points sampled along source lines; default half a cell.
    road_classes, rail_classes : dict
        Typical traffic per OSM class; a partial table given here is laid
        over :data:`DEFAULT_ROAD_CLASSES` / :data:`DEFAULT_RAIL_CLASSES`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    resolution_m: float = Field(default=10.0, gt=0, le=1000)
    max_distance_m: float = Field(default=2000.0, gt=0, le=20_000)
    receiver_height_m: float = Field(default=4.0, ge=0, le=100)
    road_source_height_m: float = Field(default=0.05, ge=0, le=20)
    rail_source_height_m: float = Field(default=0.5, ge=0, le=20)
    ground_factor: float = Field(default=0.5, ge=0, le=1)
    favourable_day: float = Field(default=0.5, ge=0, le=1)
    favourable_evening: float = Field(default=0.75, ge=0, le=1)
    favourable_night: float = Field(default=1.0, ge=0, le=1)
    air_absorption: bool = True
    air_temperature_c: float = Field(default=10.0, ge=-20, le=40)
    relative_humidity_pct: float = Field(default=80.0, gt=0, le=100)
    heavy_max_speed_kmh: float = Field(default=80.0, gt=0, le=200)
    use_osm_surface: bool = True
    floor_db: float = Field(default=35.0, ge=0, le=80)
    sample_spacing_m: float | None = Field(default=None, gt=0)
    road_classes: dict[str, RoadClassDefaults] = Field(default_factory=lambda: dict(DEFAULT_ROAD_CLASSES))
    rail_classes: dict[str, RailClassDefaults] = Field(default_factory=lambda: dict(DEFAULT_RAIL_CLASSES))

    @field_validator("road_classes", mode="before")
    @classmethod
    def _merge_road(cls, value: Any) -> dict[str, RoadClassDefaults]:
        return _merge_classes(value, DEFAULT_ROAD_CLASSES, RoadClassDefaults)

    @field_validator("rail_classes", mode="before")
    @classmethod
    def _merge_rail(cls, value: Any) -> dict[str, RailClassDefaults]:
        return _merge_classes(value, DEFAULT_RAIL_CLASSES, RailClassDefaults)

    @model_validator(mode="after")
    def _grid_sizes(self) -> NoiseModelParams:
        if self.max_distance_m < 2 * self.resolution_m:
            msg = (
                f"max_distance_m ({self.max_distance_m}) must be at least two cells "
                f"(2 x resolution_m = {2 * self.resolution_m})"
            )
            raise ValueError(msg)
        if self.max_distance_m / self.resolution_m > 2000:
            msg = (
                f"max_distance_m / resolution_m = {self.max_distance_m / self.resolution_m:.0f} "
                "cells is over 2000: the attenuation kernel would not fit in memory; "
                "use a coarser resolution_m or a smaller max_distance_m"
            )
            raise ValueError(msg)
        if self.sample_spacing_m is not None and self.sample_spacing_m > self.resolution_m / 2:
            msg = (
                f"sample_spacing_m ({self.sample_spacing_m}) must be at most half a cell "
                f"({self.resolution_m / 2})"
            )
            raise ValueError(msg)
        return self

    @property
    def spacing_m(self) -> float:
        """Spacing of sample points along source lines (m)."""
        return self.sample_spacing_m or self.resolution_m / 2

    @property
    def favourable(self) -> tuple[float, float, float]:
        """Probability of favourable propagation in the day, evening and night."""
        return (self.favourable_day, self.favourable_evening, self.favourable_night)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "noise model") -> NoiseModelParams:
        """Build parameters from a (TOML) table; raise a one-line ``ConfigError`` if invalid.

        Parameters
        ----------
        data : mapping
            Field values; ``road_classes`` / ``rail_classes`` may be partial.
        where : str
            Where the table came from (file and section), for the message.

        Returns
        -------
        NoiseModelParams

        Raises
        ------
        sitefinder.errors.ConfigError
            Naming the key, the value and what is allowed.

        Examples
        --------
        >>> p = NoiseModelParams.from_mapping({"road_classes": {"primary": {"aadt": 12000}}})
        >>> p.road_classes["primary"].aadt, p.road_classes["primary"].speed_kmh
        (12000, 50)
        """
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "(top level)"
            value = first.get("input")
            msg = f"{where}: {key} = {value!r}: {first['msg']} ({exc.error_count()} error(s) in total)"
            raise ConfigError(msg) from None
