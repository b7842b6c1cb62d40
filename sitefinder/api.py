"""The Python API: a :class:`Study` of one area, scored into a :class:`Result`.

A thin layer over the pipeline's stages (:mod:`sitefinder.pipeline`): ``Study`` loads the
inputs and computes the indicators (once, lazily), ``Study.score`` scores profiles,
``Result`` holds the scores and writes a map, a comparison report or a whole run folder
on request. Nothing is written to disk unless asked: without ``cache_dir`` downloads
and cut files live in a temporary folder that is removed once the data are in memory.

Examples
--------
>>> import sitefinder as sf
>>> study = sf.Study.from_osm("town.osm.pbf", plots="plots.gpkg")  # doctest: +SKIP
>>> result = study.score(["senioren", sf.Profile.load("levendig").with_weights(dist_gp_m=3)])  # doctest: +SKIP
>>> result.scores.sort_values("rank_senioren").head()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import geopandas as gpd
import pandas as pd

from sitefinder import pipeline
from sitefinder.categories import CategoryRegistry, load_categories
from sitefinder.config import OverpassSource, RunConfig
from sitefinder.datatypes import StudyData
from sitefinder.errors import UnknownNameError
from sitefinder.io.noise import NoiseSourceSpec
from sitefinder.progress import StageProgress
from sitefinder.scoring.explain import Explanation, explain
from sitefinder.scoring.profiles import Profile
from sitefinder.scoring.score import ProfileResult

log = logging.getLogger(__name__)

#: A profile as :meth:`Study.score` takes it: a built-in name, a ``.toml`` path or a Profile.
ProfileLike: TypeAlias = str | Path | Profile
PlotsLike: TypeAlias = str | Path | gpd.GeoDataFrame


@contextmanager
def _cache(cache_dir: Path | None) -> Iterator[Path]:
    """The cache folder to use: the given one, or a temporary one removed afterwards."""
    if cache_dir is not None:
        yield Path(cache_dir)
        return
    with tempfile.TemporaryDirectory(prefix="sitefinder-") as tmp:
        yield Path(tmp)


def _noise_specs(noise: Sequence[str | Path | NoiseSourceSpec]) -> tuple[NoiseSourceSpec, ...]:
    return tuple(n if isinstance(n, NoiseSourceSpec) else NoiseSourceSpec.parse(str(n)) for n in noise)


class Study:
    """The inputs of one study area: OSM data, plots, noise; indicators computed on first use.

    Build one with :meth:`from_osm`, :meth:`from_place` or :meth:`from_bbox` (or
    :meth:`from_config`). Loading happens on first use of :attr:`data`,
    :meth:`indicators` or :meth:`score`, and only once.

    Parameters
    ----------
    config : RunConfig
        The validated configuration (sources, CRS, parameters).
    plots : geopandas.GeoDataFrame, optional
        Plots given in Python (instead of ``config.plots_file``).
    cache_dir : Path, optional
        Keep downloads, cut files and network caches here (reused on the next run).
        Default: a temporary folder, removed once the data are loaded.
    """

    def __init__(
        self,
        config: RunConfig,
        plots: gpd.GeoDataFrame | None = None,
        cache_dir: Path | None = None,
        progress: StageProgress | None = None,
    ) -> None:
        self.config = config
        self._progress = progress
        self._plots_frame = plots
        self._cache_dir = None if cache_dir is None else Path(cache_dir)
        self._registry: CategoryRegistry | None = None
        self._data: StudyData | None = None
        self._base: dict[tuple[str, ...], pipeline.BaseIndicators] = {}

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_config(
        cls,
        config: RunConfig,
        plots: gpd.GeoDataFrame | None = None,
        cache_dir: Path | None = None,
        progress: StageProgress | None = None,
    ) -> Study:
        """A study of a :class:`~sitefinder.config.RunConfig` (what the command line builds).

        ``cache_dir`` defaults to ``config.cache_dir``; ``progress`` is advanced at
        each stage (:data:`sitefinder.pipeline.STAGES`).
        """
        cache = cache_dir if cache_dir is not None else config.cache_dir
        return cls(config, plots=plots, cache_dir=cache, progress=progress)

    def _tick(self) -> None:
        if self._progress is not None:
            self._progress.next()

    @classmethod
    def _build(
        cls,
        *,
        osm_file: Path | None = None,
        overpass: OverpassSource | None = None,
        plots: PlotsLike | None = None,
        noise: Sequence[str | Path | NoiseSourceSpec] = (),
        cache_dir: str | Path | None = None,
        **options: Any,
    ) -> Study:
        frame = plots if isinstance(plots, gpd.GeoDataFrame) else None
        plots_file = None if plots is None or frame is not None else Path(plots)
        cfg = RunConfig(
            osm_file=osm_file,
            overpass=overpass,
            plots_file=plots_file,
            noise=_noise_specs(noise),
            **options,
        )
        return cls(cfg, plots=frame, cache_dir=None if cache_dir is None else Path(cache_dir))

    @classmethod
    def from_osm(
        cls,
        osm: str | Path,
        *,
        plots: PlotsLike | None = None,
        noise: Sequence[str | Path | NoiseSourceSpec] = (),
        cache_dir: str | Path | None = None,
        **options: Any,
    ) -> Study:
        """A study of a local OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``).

        Parameters
        ----------
        osm : str or Path
            The OSM file.
        plots : str, Path or geopandas.GeoDataFrame, optional
            The plots: a vector file, or a GeoDataFrame with a CRS and an id column
            (``plot_id``, ``id``, ``kavel_id``, ... or as the index). Default: OSM
            ``landuse=construction|brownfield|greenfield``.
        noise : sequence of str, Path or NoiseSourceSpec
            Official noise rasters, as ``PATH[:scheme=NAME][:period=lden|lnight]``.
            Without any, road and rail noise is modelled (``model_noise=False`` turns
            that off).
        cache_dir : str or Path, optional
            Keep cut files and network caches here; default none kept.
        **options
            Any other :class:`~sitefinder.config.RunConfig` field: ``working_crs``,
            ``max_snap_m``, ``count_within_m``, ``categories_file``, ``study_area_file``,
            ``plots_layer``, ``plots_id``, ``model_noise``, ``title``, ...

        Returns
        -------
        Study
        """
        return cls._build(osm_file=Path(osm), plots=plots, noise=noise, cache_dir=cache_dir, **options)

    @classmethod
    def from_place(
        cls,
        place: str,
        *,
        plots: PlotsLike | None = None,
        noise: Sequence[str | Path | NoiseSourceSpec] = (),
        cache_dir: str | Path | None = None,
        overpass_url: str | None = None,
        nominatim_url: str | None = None,
        **options: Any,
    ) -> Study:
        """A study of a named place, geocoded with Nominatim and downloaded from Overpass.

        Parameters are those of :meth:`from_osm`, plus ``overpass_url`` and
        ``nominatim_url`` for another endpoint (a mirror). Give ``cache_dir`` to
        keep the download for the next session.
        """
        return cls._build(
            overpass=_overpass(place=place, overpass_url=overpass_url, nominatim_url=nominatim_url),
            plots=plots,
            noise=noise,
            cache_dir=cache_dir,
            **options,
        )

    @classmethod
    def from_bbox(
        cls,
        bbox: tuple[float, float, float, float],
        *,
        plots: PlotsLike | None = None,
        noise: Sequence[str | Path | NoiseSourceSpec] = (),
        cache_dir: str | Path | None = None,
        overpass_url: str | None = None,
        **options: Any,
    ) -> Study:
        """A study of a WGS84 box ``(west, south, east, north)`` downloaded from Overpass.

        Parameters are those of :meth:`from_osm`, plus ``overpass_url``.
        """
        return cls._build(
            overpass=_overpass(bbox=tuple(bbox), overpass_url=overpass_url),
            plots=plots,
            noise=noise,
            cache_dir=cache_dir,
            **options,
        )

    # -- stages -------------------------------------------------------------------------
    @property
    def registry(self) -> CategoryRegistry:
        """The amenity categories."""
        if self._registry is None:
            self._registry = load_categories(self.config.categories_file)
        return self._registry

    def _load(self, mobilities: tuple[str, ...] = ()) -> tuple[StudyData, pipeline.BaseIndicators]:
        """Load the data (once) and the indicators for walking plus ``mobilities`` (once per set)."""
        if self._data is None or mobilities not in self._base:
            with _cache(self._cache_dir) as cache:
                cfg = self.config.model_copy(update={"cache_dir": cache})
                if self._data is None:
                    self._tick()
                    self._data = pipeline.load_stage(cfg, self.registry, plots_frame=self._plots_frame)
                self._tick()
                self._base[mobilities] = pipeline.indicator_stage(self._data, self.registry, cfg, mobilities)
        return self._data, self._base[mobilities]

    @property
    def data(self) -> StudyData:
        """The validated inputs in the working CRS (plots, amenities, network, noise, sources)."""
        return self._load()[0]

    @property
    def plots(self) -> gpd.GeoDataFrame:
        """The plots, indexed by ``plot_id``, in the working CRS."""
        return self.data.plots

    def indicators(self, mobilities: Sequence[str] = ()) -> pd.DataFrame:
        """Every profile-independent indicator per plot, indexed by ``plot_id``, units in the names.

        Walking distances (``dist_<category>_m``), counts (``n_<category>_<r>m``),
        straight distances to nuisance sources, noise statistics and the data coverage.
        No profile is needed. ``mobilities`` adds travel over other networks than
        walking (``"wheelchair"``; the columns end in ``_wheelchair_m``).
        """
        return self._load(tuple(sorted(set(mobilities) - {"walk"})))[1].table.copy()

    def score(self, profiles: ProfileLike | Sequence[ProfileLike]) -> Result:
        """Score every plot for each profile.

        Parameters
        ----------
        profiles : str, Path, Profile or a sequence of them
            Built-in profile names (``"senioren"``), profile files (``.toml``) or
            :class:`~sitefinder.scoring.profiles.Profile` objects.

        Returns
        -------
        Result
        """
        if isinstance(profiles, str | Path | Profile):
            profiles = [profiles]
        self._tick()
        loaded, overlays = pipeline.prepare_profiles(list(profiles), self.registry, self.config.crs)
        data, base = self._load(pipeline.profile_mobilities(loaded))
        self._tick()
        scored = pipeline.score_stage(data, base, self.registry, loaded, overlays)
        return Result(scored=scored, config=self.config, progress=self._progress, cache_dir=self._cache_dir)

    def __repr__(self) -> str:
        cfg = self.config
        src = cfg.osm_file or (cfg.overpass.place or cfg.overpass.bbox if cfg.overpass else None)
        state = "loaded" if self._data is not None else "not loaded yet"
        return f"<sitefinder.Study of {src} ({state})>"


def _overpass(
    *,
    place: str | None = None,
    bbox: tuple[float, ...] | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
) -> OverpassSource:
    kw: dict[str, Any] = {"place": place, "bbox": bbox}
    if overpass_url is not None:
        kw["overpass_url"] = overpass_url
    if nominatim_url is not None:
        kw["nominatim_url"] = nominatim_url
    return OverpassSource(**kw)


@dataclass
class Result:
    """The scores of a study for one or more profiles.

    Attributes
    ----------
    scores : geopandas.GeoDataFrame
        One row per plot, indexed by ``plot_id``: the plots' attributes, every
        indicator and per profile ``score_<p>``, ``rank_<p>``, ``excluded_<p>`` and
        the points of each criterion (``pts_<p>_<criterion>``). The same table as
        ``scores.gpkg``.
    profiles : list of ProfileResult
        Per profile: the profile, its table, weights and skipped criteria.
    """

    scored: pipeline.Scored
    config: RunConfig
    progress: StageProgress | None = field(default=None, repr=False)
    cache_dir: Path | None = field(default=None, repr=False)
    _surfaces: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def scores(self) -> gpd.GeoDataFrame:
        """The scores table (see the class attributes)."""
        return self.scored.scores

    @property
    def profiles(self) -> list[ProfileResult]:
        """The result of each profile, in the order scored."""
        return self.scored.results

    def profile(self, name: str) -> ProfileResult:
        """The result of one profile.

        Raises
        ------
        UnknownNameError
            When no profile of that name was scored (the message lists those that were).
        """
        for r in self.scored.results:
            if r.profile.name == name:
                return r
        names = ", ".join(r.profile.name for r in self.scored.results)
        msg = f"no profile {name!r} in this result; profiles scored: {names}"
        raise UnknownNameError(msg)

    def explain(self, plot_id: object, profile: str, n_drivers: int = 3) -> Explanation:
        """Why a plot scores and ranks as it does for a profile (``print`` it for the text).

        Raises
        ------
        UnknownNameError
            When the plot or the profile is not in the result.
        """
        return explain(self.profile(profile), plot_id, n_drivers=n_drivers)

    def surfaces(self) -> dict[str, Any]:
        """Suitability surfaces per profile ("where to look for new sites"), computed once."""
        if self._surfaces is None:
            if self.progress is not None:
                self.progress.next()
            self._surfaces = pipeline.surface_stage(self.scored, self.config, self.cache_dir)
        return self._surfaces

    def to_map(self, path: str | Path, *, title: str | None = None, tiles: str | None = None) -> Path:
        """Write the self-contained interactive map (``map.html``) to ``path``; return the path."""
        update: dict[str, Any] = {}
        if title is not None:
            update["title"] = title
        if tiles is not None:
            update["map_tiles"] = tiles
        cfg = self.config.model_copy(update=update) if update else self.config
        from sitefinder.render.map import write_map

        created = datetime.now(UTC).isoformat(timespec="seconds")
        inputs = pipeline.map_inputs(self.scored, cfg, self.surfaces(), created, self.cache_dir)
        return write_map(inputs, Path(path))

    def save(self, out_dir: str | Path, layers_dir: str | Path | None = None) -> pipeline.RunResult:
        """Write a run folder as ``sitefinder run --out`` does (scores, map, manifest, layers).

        Parameters
        ----------
        out_dir : str or Path
            The run folder (``scores.gpkg``, ``scores.csv``, ``map.html``, ``manifest.json``).
        layers_dir : str or Path, optional
            Derived rasters (modelled noise, suitability surfaces); default
            ``<out_dir>/layers`` (they belong to the run).
        """
        cfg = self.config.model_copy(
            update={"out_dir": Path(out_dir), "layers_dir": None if layers_dir is None else Path(layers_dir)}
        )
        surfaces = self.surfaces()
        if self.progress is not None:
            self.progress.next()
        return pipeline.write_outputs(
            self.scored, cfg, surfaces, started=self.scored.started, cache_dir=self.cache_dir
        )

    def compare(self, plot_ids: Sequence[str], path: str | Path) -> Path:
        """Write the comparison report of a few plots (HTML, with the side-by-side table as CSV beside it).

        The report is made by the same code as ``sitefinder compare``, from a run
        folder written into a temporary folder.

        Returns
        -------
        Path
            The HTML file.
        """
        from sitefinder.render.report import open_run, write_report

        with tempfile.TemporaryDirectory(prefix="sitefinder-compare-") as tmp:
            self.save(Path(tmp) / "run", Path(tmp) / "layers")
            html, _ = write_report(open_run(Path(tmp) / "run"), list(plot_ids), Path(path))
        return html

    def __repr__(self) -> str:
        names = ", ".join(r.profile.name for r in self.scored.results)
        return f"<sitefinder.Result: {len(self.scores)} plots scored for {names}>"


def run(config: RunConfig, progress: bool = False) -> pipeline.RunResult:
    """What ``sitefinder run`` and ``sitefinder refresh`` do: load, score ``config.profiles``, save.

    Parameters
    ----------
    config : RunConfig
        The validated configuration; outputs go to ``config.out_dir`` and ``config.layers_dir``.
    progress : bool
        Show a progress bar over the stages (only on a terminal).
    """
    pipeline.check_output_folders(config)  # before any work: an output folder that is a file
    bar = StageProgress(pipeline.STAGES, enabled=progress)
    try:
        study = Study.from_config(config, progress=bar)
        return study.score(list(config.profiles)).save(config.out_dir, config.layers_dir)
    finally:
        bar.close()
