"""Region definitions (``data/regions/<name>.toml``) and the incremental refresh of one region.

A region names its boundary, OSM source, plots, noise files and profiles. ``refresh``
turns it into a :class:`~sitefinder.config.RunConfig` and runs the pipeline, unless the
previous outputs were made from exactly the same inputs: the key is a hash of the
region's settings, the content of every local input file and profile and the schema
versions of the products (:mod:`sitefinder.products`), not the package version.
Downloads (Overpass, PDOK, Geofabrik) are cached in ``data/cache`` and reused.

Online endpoints can be redirected with environment variables (for a mirror, or for
the tests' loopback stand-ins): ``SITEFINDER_OVERPASS_URL``, ``SITEFINDER_NOMINATIM_URL``,
``SITEFINDER_PDOK_URL``, ``SITEFINDER_CBS_ODATA_URL``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sitefinder import RESULT_FORMAT_VERSION
from sitefinder.config import OverpassSource, RunConfig
from sitefinder.errors import ConfigError, RunFolderError, UnknownNameError
from sitefinder.io.atomic import sha256_file
from sitefinder.io.noise import NoiseSourceSpec
from sitefinder.io.paths import check_name, read_toml_text
from sitefinder.presets import builtin_names
from sitefinder.products import schema_version

log = logging.getLogger(__name__)

REGIONS_DIR = Path("data/regions")


#: The host Geofabrik extracts come from; ``SITEFINDER_GEOFABRIK_URL`` adds another
#: (a mirror, or the loopback stand-in of the tests).
GEOFABRIK_HOST = "download.geofabrik.de"


def geofabrik_hosts() -> set[str]:
    """Hosts a region's ``geofabrik_url`` may point at."""
    hosts = {GEOFABRIK_HOST}
    extra = os.environ.get("SITEFINDER_GEOFABRIK_URL")
    if extra and urlsplit(extra).hostname:
        hosts.add(str(urlsplit(extra).hostname))
    return hosts


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SampleSpec(_Strict):
    """Parameters of the generated sample town."""

    seed: int = Field(default=42, ge=0)
    scale: float = Field(default=1.0, ge=0.1, le=64)


class BoundarySpec(_Strict):
    """Where the study-area outline comes from: PDOK (CBS municipal code) or a file."""

    pdok_gemeente: str | None = Field(default=None, pattern=r"^GM\d{4}$")
    file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> BoundarySpec:
        if (self.pdok_gemeente is None) == (self.file is None):
            msg = "give exactly one of pdok_gemeente (e.g. 'GM0034') or file"
            raise ValueError(msg)
        return self


class OsmSpec(_Strict):
    """The OSM source: an Overpass place, a local file, a Geofabrik extract URL or the sample."""

    overpass_place: str | None = None
    file: Path | None = None
    geofabrik_url: str | None = None
    sample: SampleSpec | None = None

    @field_validator("geofabrik_url")
    @classmethod
    def _geofabrik_host(cls, v: str | None) -> str | None:
        if v is None:
            return v
        hosts = geofabrik_hosts()
        url = urlsplit(v)
        if url.scheme not in ("https", "http") or url.hostname not in hosts:
            msg = (
                f"{v!r} is not a Geofabrik download address; extracts are fetched only from "
                f"{', '.join(sorted(hosts))} (e.g. https://download.geofabrik.de/europe/netherlands/"
                "flevoland-latest.osm.pbf), or give a local file as osm.file"
            )
            raise ValueError(msg)
        return v

    @model_validator(mode="after")
    def _one(self) -> OsmSpec:
        given = [v is not None for v in (self.overpass_place, self.file, self.geofabrik_url, self.sample)]
        if sum(given) != 1:
            msg = "give exactly one of overpass_place, file, geofabrik_url or sample"
            raise ValueError(msg)
        return self


class PlotsSpec(_Strict):
    """The municipality's plots file (optional: else OSM candidate landuse)."""

    file: Path
    layer: str | None = None
    id: str | None = None


class NeighbourhoodsSpec(_Strict):
    """CBS neighbourhoods: polygons from PDOK (by municipal code) or a file; key figures from CBS open data or a CSV.

    ``pdok_gemeente`` fetches the buurten of that municipality from PDOK's CBS
    wijken-en-buurten service of ``year`` and, unless ``figures`` is given, their key
    figures from the CBS open-data table of that year (``cbs_table``, default by year).
    ``file`` (and optionally ``figures``) reads local files instead.
    """

    pdok_gemeente: str | None = Field(default=None, pattern=r"^GM\d{4}$")
    file: Path | None = None
    figures: Path | None = None
    year: int | None = Field(default=None, ge=1990, le=2100)
    cbs_table: str | None = Field(default=None, pattern=r"^\d{5}[A-Z]{3}$")

    @model_validator(mode="after")
    def _one(self) -> NeighbourhoodsSpec:
        if (self.pdok_gemeente is None) == (self.file is None):
            msg = "give exactly one of pdok_gemeente (e.g. 'GM0034', online) or file (local buurten file)"
            raise ValueError(msg)
        if self.pdok_gemeente is not None and self.year is None:
            msg = "pdok_gemeente needs the year of the CBS wijk- en buurtkaart, e.g. year = 2024"
            raise ValueError(msg)
        return self


class Region(_Strict):
    """One region definition."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str
    working_crs: str = "EPSG:28992"
    boundary: BoundarySpec | None = None
    osm: OsmSpec
    plots: PlotsSpec | None = None
    noise: tuple[NoiseSourceSpec, ...] = ()
    profiles: tuple[str, ...] = Field(default_factory=lambda: tuple(builtin_names()))
    neighbourhoods: NeighbourhoodsSpec | None = None
    source_file: str = ""


def region_names(regions_dir: Path = REGIONS_DIR) -> list[str]:
    """Names of the region files in ``regions_dir``."""
    return sorted(p.stem for p in Path(regions_dir).glob("*.toml"))


def load_region(name: str, regions_dir: Path = REGIONS_DIR) -> Region:
    """Read and validate ``<regions_dir>/<name>.toml``.

    Raises
    ------
    UnknownNameError
        When there is no such region (the message lists the regions).
    ConfigError
        When the file has unknown or missing keys or invalid values (named).
    """
    check_name(name, "region", f"regions folder {regions_dir}")
    path = Path(regions_dir) / f"{name}.toml"
    if not path.is_file():
        msg = f"unknown region {name!r}; regions in {regions_dir}: {', '.join(region_names(regions_dir)) or 'none'}"
        raise UnknownNameError(msg)
    try:
        raw = tomllib.loads(read_toml_text(path, "region file"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"region file {path}: not valid TOML ({exc}); fix the syntax"
        raise ConfigError(msg) from None
    try:
        region = Region(**raw, source_file=str(path))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            text = f"unknown key {loc!r}; check the spelling"
        elif kind == "missing":
            text = f"missing required key {loc!r}"
        else:
            text = f"{loc}: {err['msg'].removeprefix('Value error, ')}"
        msg = f"region file {path}: {text}"
        raise ConfigError(msg) from None
    if region.name != name:
        msg = f"region file {path}: name = {region.name!r} differs from the file name; make them equal"
        raise ConfigError(msg)
    return region


def inputs_key(region: Region) -> str:
    """Hash of everything a region's outputs depend on that is known without downloading.

    The validated region (its file's settings with every default filled in), the
    content of every local input file and profile (built-in profiles too), the
    categories, the schema versions of the run folder and, for a sample region, of the
    sample town (:mod:`sitefinder.products`), and the result format version. Not the
    package version and not file times: a release or a ``touch`` that changes nothing
    rebuilds nothing (``--force`` does). Online sources are cached and not re-checked.
    """
    from sitefinder.presets import builtin_names

    h = hashlib.sha256()

    def part(label: str, value: object) -> None:
        h.update(f"{label}={value}\n".encode())

    part("run-schema", schema_version("run"))
    part("format", RESULT_FORMAT_VERSION)
    if region.osm.sample is not None:
        part("sample-schema", schema_version("sample"))
    part("region", region.model_dump_json(exclude={"source_file"}))
    local = [
        region.osm.file,
        region.plots.file if region.plots else None,
        region.boundary.file if region.boundary else None,
        region.neighbourhoods.file if region.neighbourhoods else None,
        region.neighbourhoods.figures if region.neighbourhoods else None,
        *[n.path for n in region.noise],
    ]
    for p in local:
        if p is not None and Path(p).is_file():
            part(str(p), sha256_file(Path(p)))
    for prof in region.profiles:
        if prof.endswith(".toml") and Path(prof).is_file():
            part(prof, sha256_file(Path(prof)))
        elif prof in builtin_names():
            text = resources.files("sitefinder").joinpath(f"profiles/{prof}.toml").read_bytes()
            part(prof, hashlib.sha256(text).hexdigest())
    cats = resources.files("sitefinder").joinpath("data/categories.toml").read_bytes()
    part("categories", hashlib.sha256(cats).hexdigest())
    return h.hexdigest()


def _endpoint(env: str, default: str) -> str:
    return os.environ.get(env, default)


def resolve(region: Region, cache_dir: Path, out_dir: Path, layers_dir: Path | None = None) -> RunConfig:
    """Fetch or reuse the region's online sources and build its run configuration."""
    from sitefinder.io.download import PDOK_CBS_URL, geofabrik_extract, pdok_boundary

    boundary_file: Path | None = None
    if region.boundary is not None:
        if region.boundary.file is not None:
            boundary_file = region.boundary.file
        else:
            assert region.boundary.pdok_gemeente is not None
            boundary_file, _ = pdok_boundary(
                region.boundary.pdok_gemeente, cache_dir, _endpoint("SITEFINDER_PDOK_URL", PDOK_CBS_URL)
            )
    osm_file: Path | None = None
    overpass: OverpassSource | None = None
    plots_file = region.plots.file if region.plots else None
    nbh_file, nbh_figures, nbh_year = _neighbourhood_sources(region, cache_dir)
    osm = region.osm
    if osm.file is not None:
        osm_file = osm.file
    elif osm.geofabrik_url is not None:
        osm_file, _ = geofabrik_extract(osm.geofabrik_url, cache_dir)
    elif osm.sample is not None:
        sample = ensure_sample(osm.sample, Path(cache_dir) / "sample")
        osm_file = sample["osm_path"]
        plots_file = plots_file or sample["plots_path"]
        boundary_file = boundary_file or sample.get("boundary_path")
        if region.neighbourhoods is None and "neighbourhoods_path" in sample:
            nbh_file, nbh_figures = sample["neighbourhoods_path"], sample["figures_path"]
    else:
        kw: dict[str, Any] = (
            {"polygon_file": boundary_file} if boundary_file else {"place": osm.overpass_place}
        )
        overpass = OverpassSource(
            **kw,
            overpass_url=_endpoint(
                "SITEFINDER_OVERPASS_URL", OverpassSource.model_fields["overpass_url"].default
            ),
            nominatim_url=_endpoint(
                "SITEFINDER_NOMINATIM_URL", OverpassSource.model_fields["nominatim_url"].default
            ),
        )
    return RunConfig(
        osm_file=osm_file,
        overpass=overpass,
        plots_file=plots_file,
        plots_layer=region.plots.layer if region.plots else None,
        plots_id=region.plots.id if region.plots else None,
        study_area_file=boundary_file,
        noise=region.noise,
        profiles=region.profiles,
        working_crs=region.working_crs,
        out_dir=out_dir,
        cache_dir=cache_dir,
        layers_dir=layers_dir,
        title=f"sitefinder – {region.title}",
        inputs_key=inputs_key(region),
        neighbourhoods_file=nbh_file,
        neighbourhood_figures_file=nbh_figures,
        neighbourhood_year=nbh_year,
    )


def _neighbourhood_sources(region: Region, cache_dir: Path) -> tuple[Path | None, Path | None, int | None]:
    """The buurten file, key-figures CSV and year of a region (downloaded and cached when online)."""
    spec = region.neighbourhoods
    if spec is None:
        return None, None, None
    if spec.file is not None:
        return spec.file, spec.figures, spec.year
    from sitefinder.io.cbs_online import CBS_ODATA_URL, cbs_key_figures, pdok_neighbourhoods, pdok_url

    assert spec.pdok_gemeente is not None and spec.year is not None
    base = _endpoint("SITEFINDER_PDOK_URL", pdok_url(spec.year))
    polys, _ = pdok_neighbourhoods(spec.pdok_gemeente, cache_dir, base)
    figures = spec.figures
    if figures is None:
        odata = _endpoint("SITEFINDER_CBS_ODATA_URL", CBS_ODATA_URL)
        figures, _ = cbs_key_figures(spec.pdok_gemeente, spec.year, cache_dir, odata, spec.cbs_table)
    return polys, figures, spec.year


def ensure_sample(spec: SampleSpec, root: Path) -> dict[str, Path]:
    """Generate the sample town for ``spec`` unless it is already there; return its paths."""
    from sitefinder.sample import generate_sample

    out = Path(root) / f"seed{spec.seed}-scale{spec.scale:g}"
    marker = out / "sample.json"
    if marker.exists():
        info = json.loads(marker.read_text("utf-8"))
        if info.get("schema") == schema_version("sample"):
            log.info("Sample town reused from %s", out)
            return {k: Path(v) for k, v in info["paths"].items()}
    res = generate_sample(out, seed=spec.seed, scale=spec.scale)
    paths = {
        "osm_path": res.osm_path,
        "plots_path": res.plots_path,
        "boundary_path": res.boundary_path,
        "neighbourhoods_path": res.neighbourhoods_path,
        "figures_path": res.figures_path,
    }
    from sitefinder.io.atomic import write_text_atomic

    write_text_atomic(
        marker,
        json.dumps({"schema": schema_version("sample"), "paths": {k: str(v) for k, v in paths.items()}}),
    )
    log.info("Generated the sample town (seed %d, scale %g) in %s", spec.seed, spec.scale, out)
    return paths


def refresh(
    name: str,
    regions_dir: Path = REGIONS_DIR,
    maps_dir: Path = Path("maps"),
    cache_dir: Path = Path("data/cache"),
    force: bool = False,
    layers_dir: Path | None = None,
    progress: bool = True,
) -> str:
    """Rebuild one region's outputs when its inputs changed; return ``"rebuilt"`` or ``"up to date"``."""
    from sitefinder.api import run
    from sitefinder.io.runfolder import read_manifest

    region = load_region(name, regions_dir)
    out = Path(maps_dir) / region.name
    key = inputs_key(region)
    if not force and (out / "manifest.json").exists():
        try:
            old_key = read_manifest(out).config_value("inputs_key")
        except RunFolderError as exc:
            log.info("%s: previous results not usable (%s); rebuilding", region.name, exc)
            old_key = None
        done = all((out / f).exists() for f in ("scores.gpkg", "scores.csv", "map.html"))
        if done and old_key == key:
            log.info("%s: up to date, nothing to do", region.name)
            return "up to date"
    cfg = resolve(
        region, Path(cache_dir), out, None if layers_dir is None else Path(layers_dir) / region.name
    )
    run(cfg, progress=progress)
    log.info("%s: rebuilt -> %s", region.name, out)
    return "rebuilt"
