"""Typed, validated, frozen run configuration (built by the CLI or a region file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from sitefinder.errors import DataValidationError
from sitefinder.presets import builtin_names, parse_tiles

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def snake_name(v: str) -> str:
    """Check a name that becomes part of a column name (``[a-z][a-z0-9_]*``).

    >>> snake_name("groenblauw")
    'groenblauw'

    Raises
    ------
    ValueError
        For any other name (pydantic turns it into a validation error naming the key).
    """
    if not _NAME.match(v):
        msg = f"name {v!r} must be lower case letters, digits and _ (it becomes a column name)"
        raise ValueError(msg)
    return v


class LayerSpec(BaseModel):
    """A vector layer the load stage overlays on the plots (and on surface cells).

    Attributes
    ----------
    name : str
        Column stem: ``share_in_<name>``, ``in_<name>``, ``dist_<name>_straight_m``,
        ``n_<name>_straight_<d>m``.
    path : pathlib.Path, optional
        The file (GeoPackage, GeoJSON, Shapefile, ...), relative to the profile file.
    layer : str, optional
        Layer inside the file.
    label, source : str
        What it is and where it comes from, for reports.
    count_within_m : tuple of float
        Radii for the ``n_<name>_straight_<d>m`` counts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str
    path: Path
    layer: str | None = None
    label: str = ""
    source: str = ""
    count_within_m: tuple[float, ...] = (500.0, 1000.0)

    _check_name = field_validator("name")(snake_name)


class NoiseSourceSpec(BaseModel):
    """One noise raster and how to read it.

    Attributes
    ----------
    path : pathlib.Path
        The GeoTIFF (or any raster GDAL reads).
    period : {"lden", "lnight"}
        Which indicator the raster holds.
    scheme : str, optional
        Name of a class scheme preset (see ``sitefinder/data/noise_schemes.toml``).
    classes : dict, optional
        Explicit class value -> dB mapping (overrides ``scheme``).
    label : str, optional
        What the source is (``"weg"``, ``"rail"``, ``"industrie"``), for legends.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path
    period: Literal["lden", "lnight"] = "lden"
    scheme: str | None = None
    classes: dict[int, float] | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _one_mapping(self) -> NoiseSourceSpec:
        if self.scheme is not None and self.classes is not None:
            msg = "give either scheme or classes, not both"
            raise ValueError(msg)
        return self

    @classmethod
    def parse(cls, text: str) -> NoiseSourceSpec:
        r"""Parse the command-line form ``PATH[:scheme=NAME][:period=lnight][:label=TEXT]``.

        Options start at the first ``:scheme=``, ``:period=`` or ``:label=``, so a path may
        hold colons itself (a Windows path such as ``C:\data\lden.tif``).

        >>> NoiseSourceSpec.parse(r"C:\kaarten\lden.tif:scheme=end-5db-label").scheme
        'end-5db-label'
        """
        m = re.search(r":(?=(?:scheme|period|label)=)", text)
        path_text, rest = (text[: m.start()], text[m.start() + 1 :]) if m else (text, "")
        if not path_text:
            msg = f"noise option {text!r}: no file named; use PATH[:scheme=NAME][:period=lden|lnight][:label=TEXT]"
            raise DataValidationError(msg)
        kwargs: dict[str, Any] = {"path": Path(path_text)}
        parts = re.split(r":(?=(?:scheme|period|label)=)", rest) if rest else []
        for opt in parts:
            key, _, val = opt.partition("=")
            if key not in {"scheme", "period", "label"} or not val:
                msg = (
                    f"noise option {opt!r} in {text!r}: use PATH[:scheme=NAME]"
                    "[:period=lden|lnight][:label=TEXT]"
                )
                raise DataValidationError(msg)
            kwargs[key] = val
        return cls(**kwargs)


class OverpassSource(BaseModel):
    """Download OSM data for an area from Overpass (cached on disk)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north (WGS84)
    polygon_file: Path | None = None
    overpass_url: str = "https://overpass-api.de/api/interpreter"
    nominatim_url: str = "https://nominatim.openstreetmap.org/"
    timeout_s: float = Field(default=180.0, gt=0)
    #: Attempts in all on 429/502/503/504 answers and broken connections (1: no retry).
    attempts: int = Field(default=5, ge=1, le=20)
    #: First wait before a retry; it doubles each time (capped at ``max_wait_s``).
    backoff_s: float = Field(default=5.0, ge=0)
    max_wait_s: float = Field(default=300.0, ge=0)
    #: Seconds without a byte after which a download counts as stalled (None: the common
    #: limit, 60 s or ``SITEFINDER_STALL_S``). A stall is not retried: it fails at once.
    stall_s: float | None = Field(default=None, gt=0)
    #: Largest area of one query (km²); a larger area is split into squares of this size,
    #: queried one by one and merged (OSM elements deduplicated by type and id), as osmnx
    #: does (its default: 2,500 km², 50 x 50 km).
    max_query_area_km2: float = Field(default=2500.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_area(self) -> OverpassSource:
        given = [x is not None for x in (self.place, self.bbox, self.polygon_file)]
        if sum(given) != 1:
            msg = "give exactly one of place, bbox or polygon_file for an Overpass download"
            raise ValueError(msg)
        return self


class RunConfig(BaseModel):
    """Everything one ``sitefinder run`` needs.

    Attributes
    ----------
    osm_file : Path, optional
        Local OSM file; exclusive with ``overpass``.
    overpass : OverpassSource, optional
        Online source; exclusive with ``osm_file``.
    plots_file : Path, optional
        Plots; without it, candidate plots come from OSM landuse.
    plots_crs : str, optional
        CRS of the plots file's coordinates (needed for a CSV; overrides a wrong one).
    noise : list of NoiseSourceSpec
        Official noise rasters (may be empty).
    profiles : list of str
        Built-in profile names or profile file paths (default: every built-in profile).
    working_crs : str
        The projected working CRS (default EPSG:28992, RD New).
    out_dir : Path
        Where scores.gpkg, scores.csv and map.html go.
    cache_dir : Path
        Where downloads and OSM cut files are cached.
    model_noise : bool
        Without official noise rasters, model road and rail Lden from the OSM
        network (labelled "modelled" everywhere it is shown).
    layers_dir : Path, optional
        Where derived rasters go (default ``layers/<out_dir name>``).
    study_area_file : Path, optional
        Outline of the study area (a region's municipal boundary); default the
        extent of the OSM data.
    inputs_key : str, optional
        Hash of a region's inputs, recorded in the manifest for incremental refreshes.
    map_tiles : str
        Backgrounds of map.html, comma-separated, the first shown: ``offline`` (drawn from
        the run's OSM data, embedded), ``brt-grijs``, ``brt``, ``luchtfoto`` (PDOK), ``osm``,
        or ``none``; the map itself is self-contained either way.
    neighbourhoods_file : Path, optional
        CBS wijk- en buurtkaart (buurten polygons with ``BU_CODE``), for who lives nearby.
    neighbourhood_figures_file : Path, optional
        CBS key figures per neighbourhood (StatLine CSV, ``;``-separated); without it
        the figures come from the polygons' own attributes.
    neighbourhood_year : int, optional
        Year of the key figures to use when the CSV holds several (default: the latest).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    osm_file: Path | None = None
    overpass: OverpassSource | None = None
    plots_file: Path | None = None
    plots_layer: str | None = None
    plots_id: str | None = None
    plots_crs: str | None = None
    repair_geometries: bool = True
    noise: tuple[NoiseSourceSpec, ...] = ()
    noise_resolution_m: float = Field(default=10.0, gt=0)
    model_noise: bool = True
    layers_dir: Path | None = None
    noise_threshold_db: float = 53.0
    categories_file: Path | None = None
    profiles: tuple[str, ...] = Field(default_factory=lambda: tuple(builtin_names()))
    working_crs: str = "EPSG:28992"
    out_dir: Path = Path("maps/run")
    cache_dir: Path = Path("data/cache")
    study_area_file: Path | None = None
    inputs_key: str | None = None
    max_snap_m: float = Field(default=250.0, gt=0)
    count_within_m: tuple[float, ...] = (500.0, 1000.0)
    title: str = "sitefinder"
    map_tiles: str = "offline,brt-grijs,brt,luchtfoto,osm"
    neighbourhoods_file: Path | None = None
    neighbourhood_figures_file: Path | None = None
    neighbourhood_year: int | None = Field(default=None, ge=1990, le=2100)

    @model_validator(mode="after")
    def _one_osm(self) -> RunConfig:
        if (self.osm_file is None) == (self.overpass is None):
            msg = "give exactly one OSM source: --osm FILE or --place NAME"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _figures_need_polygons(self) -> RunConfig:
        if self.neighbourhood_figures_file is not None and self.neighbourhoods_file is None:
            msg = "--neighbourhood-figures needs --neighbourhoods (the CBS buurten polygons) as well"
            raise ValueError(msg)
        return self

    @field_validator("map_tiles")
    @classmethod
    def _tiles(cls, v: str) -> str:
        return ",".join(parse_tiles(v)) or "none"

    @field_validator("working_crs")
    @classmethod
    def _projected(cls, v: str) -> str:
        try:
            crs = CRS.from_user_input(v)
        except PyprojCRSError:
            msg = f"working CRS {v!r} is not a CRS pyproj knows; use e.g. EPSG:28992"
            raise ValueError(msg) from None
        if not crs.is_projected:
            msg = (
                f"working CRS {v!r} is geographic (degrees); use a projected CRS in metres such as EPSG:28992"
            )
            raise ValueError(msg)
        return v

    @property
    def crs(self) -> CRS:
        """The working CRS as a pyproj CRS."""
        return CRS.from_user_input(self.working_crs)
