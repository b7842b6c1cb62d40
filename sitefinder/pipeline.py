"""The end-to-end run: load -> indicators -> scoring -> outputs.

``load`` is the only stage that touches files or the network. Outputs are rendered
into a staging folder first and moved into place only when all are complete, so a
failed run leaves the previous outputs of the folder intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from sitefinder import RESULT_FORMAT_VERSION, __version__
from sitefinder.categories import CategoryRegistry
from sitefinder.config import RunConfig
from sitefinder.coverage import Coverage, censor_rules, censored_notes, covered_radius
from sitefinder.datatypes import NoiseGrid, Routes, StudyData
from sitefinder.errors import DataValidationError, UnknownNameError
from sitefinder.featurecache import cached_buildings, cached_products
from sitefinder.indicators.access import AccessParams, AccessResult, accessibility
from sitefinder.indicators.mobility import build_mobility_network, mobility_indicators, time_columns
from sitefinder.indicators.noise import noise_stats
from sitefinder.indicators.nuisance import NUISANCE_KINDS, nuisance_distances
from sitefinder.indicators.overlay import all_layer_indicators
from sitefinder.indicators.population import RESIDENTIAL_TAGS, population_indicators, residential_points
from sitefinder.indicators.spreading import facility_proximity
from sitefinder.io import cbs, osm
from sitefinder.io.atomic import require_file, sha256_file, staged_outputs
from sitefinder.io.basemap import Basemap, read_basemap
from sitefinder.io.layers import Layer, load_layers
from sitefinder.io.manifest import Manifest, write_manifest
from sitefinder.io.noise import load_noise
from sitefinder.io.paths import check_output_folder, is_within
from sitefinder.io.plots import (
    check_overlap,
    frame_sha256,
    prepare_plots,
    read_area,
    read_plots,
    validate_geometries,
)
from sitefinder.io.runfolder import BASEMAP_FILE, ROUTES_FILE, write_routes
from sitefinder.memory import release_memory
from sitefinder.mobility import get_mobility
from sitefinder.netcache import LazyGeometryNetwork, NetworkCache
from sitefinder.network import WalkNetwork
from sitefinder.products import schema_version
from sitefinder.render.basemap import LazyBasemap
from sitefinder.render.page import MapInputs, write_map
from sitefinder.render.panel import describe_sources
from sitefinder.render.tables import write_tables
from sitefinder.routes import ROUTE_CATEGORIES, route_table
from sitefinder.scoring.profiles import Profile, declared_layers, load_profile
from sitefinder.scoring.score import ProfileResult, score_profile
from sitefinder.surfaces import Surface, suitability_surfaces, write_surface

log = logging.getLogger(__name__)

#: Connected parts of the walking network with fewer nodes are dropped (mapping errors,
#: paths cut at the edge of the extract), so nothing is snapped onto them.
MIN_COMPONENT_NODES = 10


@dataclass(frozen=True)
class RunResult:
    """What a run produced."""

    out_dir: Path
    scores: gpd.GeoDataFrame
    profiles: list[ProfileResult]
    files: dict[str, Path]
    manifest: Manifest


_CATEGORY_COLUMN = re.compile(
    r"^(?:dist_(?P<a>[a-z0-9_]+?)(?:_wheelchair)?_m|n_(?P<b>[a-z0-9_]+?)_\d+m|time_(?P<c>[a-z0-9_]+?)(?:_wheelchair)?_min)$"
)


def check_profile_categories(profiles: list[Profile], registry: CategoryRegistry) -> None:
    """Fail fast, before any data is read, when a profile names an unknown amenity category.

    Raises
    ------
    UnknownNameError
        Naming the profile file, the criterion and the valid categories.
    """
    kinds = {f"{k}_straight" for k in NUISANCE_KINDS} | {f"{c}_straight" for c in registry.names}
    for prof in profiles:
        layer_kinds = {f"{lay.name}_straight" for lay in prof.layers}
        refs = [(c.name, c.indicator) for c in prof.criteria] + [
            (f"constraint {k.describe()}", k.indicator) for k in prof.constraints
        ]
        for what, col in refs:
            m = _CATEGORY_COLUMN.match(col)
            if not m:
                continue
            cat = m.group("a") or m.group("b") or m.group("c")
            if cat not in registry and cat not in kinds and cat not in layer_kinds:
                msg = (
                    f"profile file {prof.source_file}: {what} uses {col!r}, but there is no amenity "
                    f"category {cat!r}; valid categories: {', '.join(registry.names)}"
                )
                raise UnknownNameError(msg)


def load_neighbourhoods(cfg: RunConfig) -> tuple[gpd.GeoDataFrame | None, dict[str, Any]]:
    """The CBS neighbourhoods with their key figures, when the run has them (fast; read first)."""
    if cfg.neighbourhoods_file is None:
        return None, {}
    nbh = cbs.read_neighbourhoods(cfg.neighbourhoods_file, cfg.crs)
    info: dict[str, Any] = {
        "path": str(Path(cfg.neighbourhoods_file).resolve()),
        "sha256": sha256_file(cfg.neighbourhoods_file),
    }
    if cfg.neighbourhood_figures_file is not None:
        fig = cbs.read_key_figures(cfg.neighbourhood_figures_file, cfg.neighbourhood_year)
        nbh = cbs.join_figures(nbh, fig, str(cfg.neighbourhood_figures_file))
        info["figures"] = {
            "path": str(Path(cfg.neighbourhood_figures_file).resolve()),
            "sha256": sha256_file(cfg.neighbourhood_figures_file),
        }
    info.update(cbs.summary(nbh))
    return nbh, info


def load(
    cfg: RunConfig,
    registry: CategoryRegistry,
    neighbourhoods: gpd.GeoDataFrame | None = None,
    plots_frame: gpd.GeoDataFrame | None = None,
) -> StudyData:
    """Read and validate every input into the working CRS.

    Parameters
    ----------
    cfg : RunConfig
        The run configuration (sources, CRS, cache folder).
    registry : CategoryRegistry
        The amenity categories.
    neighbourhoods : geopandas.GeoDataFrame, optional
        CBS neighbourhoods (see :func:`load_neighbourhoods`).
    plots_frame : geopandas.GeoDataFrame, optional
        Plots given in Python instead of ``cfg.plots_file`` (validated the same way).
    """
    crs = cfg.crs
    log.info("Working CRS %s (%s)", crs.to_string(), crs.name)
    tags = dict(registry.osm_tags())
    if neighbourhoods is not None:  # residential land; buildings come with every run
        for key, vals in RESIDENTIAL_TAGS.items():
            cur = tags.get(key)
            tags[key] = True if cur is True else sorted(set(cur if isinstance(cur, list) else []) | set(vals))
    tag_filter = osm.feature_tag_filter(tags)
    sources: dict[str, Any] = {}
    # The user's own files are read first: a bad plots or noise file fails in seconds,
    # before the OSM data is read.
    plots: gpd.GeoDataFrame | None = None
    noise: NoiseGrid | None = None
    if plots_frame is not None:
        plots = prepare_plots(plots_frame, "plots GeoDataFrame", crs, cfg.plots_id, cfg.repair_geometries)
        sources["plots"] = {"from": "GeoDataFrame given in Python", "sha256": frame_sha256(plots_frame)}
    elif cfg.plots_file is not None:
        plots = read_plots(
            cfg.plots_file, crs, cfg.plots_layer, cfg.plots_id, cfg.repair_geometries, cfg.plots_crs
        )
        sources["plots"] = {
            "path": str(Path(cfg.plots_file).resolve()),
            "sha256": sha256_file(cfg.plots_file),
            "layer": cfg.plots_layer,
        }
    if plots is not None and cfg.noise:
        noise = load_noise(list(cfg.noise), crs, _noise_bounds(plots), cfg.noise_resolution_m)
    queried = None
    if cfg.osm_file is not None:
        osm_path = require_file(cfg.osm_file, "OSM file")
    else:
        from sitefinder.io.overpass import area_polygon, download

        assert cfg.overpass is not None
        osm_path, sources["overpass"] = download(cfg.overpass, tag_filter, cfg.cache_dir)
        # The polygon that was asked for is the area the answer covers (cached, no request).
        queried = (
            gpd.GeoSeries([area_polygon(cfg.overpass, cfg.cache_dir)], crs="EPSG:4326").to_crs(crs).iloc[0]
        )
    ext = osm.extract(osm_path, tag_filter, cfg.cache_dir)
    release_memory()  # the pass's buffers: the later stages' peaks do not stack on its peak
    sources["osm"] = {"path": str(ext.source), "sha256": ext.sha256, **ext.stats}
    net, net_key = NetworkCache(cfg.cache_dir).network(
        ext.sha256,
        crs,
        lambda: _build_network(ext, crs),
        params={"min_component_nodes": MIN_COMPONENT_NODES},
        source=str(ext.source),
    )
    # Read only when a product needs them and is not cached; kept only for the residential
    # land (with neighbourhoods), else let go once used (a town's buildings are about 85 MB
    # as geometries: the noise model frees them before its peak).
    keep = neighbourhoods is not None
    features = _ReadOnce(lambda: osm.load_features(ext, tag_filter, crs), keep)
    products = cached_products(cfg.cache_dir, ext, crs, registry, features)
    buildings = _ReadOnce(lambda: cached_buildings(cfg.cache_dir, ext, crs), keep)

    area = osm.study_area(ext, crs)
    data_area = queried if queried is not None else osm.covered_area(ext, crs)
    if cfg.study_area_file is not None:
        area = read_area(cfg.study_area_file, crs)
    amenities, nuisance = products.amenities, products.nuisance
    if plots is None:
        plots = products.candidates if products.n_features else None
        if plots is None or len(plots) == 0:
            msg = (
                f"OSM file {ext.source}: no plots file given and no landuse=construction|brownfield|"
                "greenfield areas found; give a plots file with --plots"
            )
            raise DataValidationError(msg)
        plots = validate_geometries(plots.set_index("plot_id"), "OSM candidate plots", crs)
        sources["plots"] = {"from": "OSM landuse=construction|brownfield|greenfield"}
    check_overlap(
        plots, area, "OSM data area", f"plots file {cfg.plots_file}" if cfg.plots_file is not None else ""
    )
    # Noise over the plots and the whole study area: the suitability surfaces ("zoekgebied")
    # score every cell of it. A noise file read early (fail fast) for the plots alone is read
    # again for the whole area.
    if cfg.noise and (noise is None or not _covers(noise, _noise_bounds(plots, also=area))):
        noise = load_noise(list(cfg.noise), crs, _noise_bounds(plots, also=area), cfg.noise_resolution_m)
    elif not cfg.noise and cfg.model_noise and products.n_features:
        # Modelled noise knows only the roads in the data: never model beyond them.
        noise = model_noise(
            products.noise_lines,
            _noise_bounds(plots, data_area, also=area),
            crs,
            cfg.noise_resolution_m,
            cache_dir=cfg.cache_dir,
            osm_sha256=ext.sha256,
            buildings=buildings,
            inputs_key=_cut_key(ext),
        )
        release_memory()
    if noise is not None:
        sources["noise"] = noise.provenance
    residential = None
    if neighbourhoods is not None:
        parts = [
            f[[c, "geometry"]]
            for f, c in ((buildings(), "building"), (features(), "landuse"))
            if c in f.columns
        ]
        if parts:
            residential = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    return StudyData(
        crs=crs,
        plots=plots,
        amenities=amenities,
        nuisance=nuisance,
        network=net,
        study_area=area,
        noise=noise,
        sources=sources,
        data_area=data_area,
        neighbourhoods=neighbourhoods,
        residential=residential,
        network_key=net_key,
        buildings=buildings.kept,
    )


class _ReadOnce:
    """A frame read on the first call; kept for later calls only with ``keep`` (else read again)."""

    def __init__(self, read: Callable[[], gpd.GeoDataFrame], keep: bool) -> None:
        self.read, self.keep = read, keep
        self.kept: gpd.GeoDataFrame | None = None

    def __call__(self) -> gpd.GeoDataFrame:
        if self.kept is not None:
            return self.kept
        frame = self.read()
        if self.keep:
            self.kept = frame
        return frame


def _build_network(ext: osm.OsmExtract, crs: CRS) -> WalkNetwork:
    """The walking network from the cut's ways (:mod:`sitefinder.netbuild`, imported only on a cache miss)."""
    from sitefinder.netbuild import build_network

    return build_network(osm.load_walk_ways(ext), crs, MIN_COMPONENT_NODES)[0]


def _cut_key(ext: osm.OsmExtract) -> str | None:
    """The content of the cut's feature and building files (their SHA-256), None when unknown."""
    files = ext.file_sha256
    if not files.get("features.parquet") or not files.get("buildings.parquet"):
        return None
    return f"{files['features.parquet']}-{files['buildings.parquet']}"


def _noise_bounds(
    plots: gpd.GeoDataFrame,
    within: shapely.Geometry | None = None,
    pad_m: float = 200.0,
    also: shapely.Geometry | None = None,
) -> tuple[float, float, float, float]:
    """The plots' extent (and that of ``also``, the study area) plus a margin: the noise window.

    With ``within`` (the OSM data area), the window is also kept inside that area plus the margin.
    """
    b = np.asarray(plots.total_bounds, dtype=float)
    if also is not None and not shapely.is_empty(also):
        a = np.asarray(shapely.bounds(also), dtype=float)
        b = np.r_[np.minimum(b[:2], a[:2]), np.maximum(b[2:], a[2:])]
    out = (b[0] - pad_m, b[1] - pad_m, b[2] + pad_m, b[3] + pad_m)
    if within is None:
        return out
    d = shapely.bounds(within).tolist()
    return (max(out[0], d[0] - pad_m), max(out[1], d[1] - pad_m),
            min(out[2], d[2] + pad_m), min(out[3], d[3] + pad_m))  # fmt: skip


def _covers(noise: NoiseGrid, bounds: tuple[float, float, float, float]) -> bool:
    """True when the noise grid already spans ``bounds`` (within one cell)."""
    g, r = noise.bounds, noise.resolution
    return g[0] <= bounds[0] + r and g[1] <= bounds[1] + r and g[2] >= bounds[2] - r and g[3] >= bounds[3] - r


def model_noise(
    features: gpd.GeoDataFrame,
    bounds: tuple[float, float, float, float],
    crs: Any,
    resolution_m: float,
    cache_dir: Path | None = None,
    osm_sha256: str | None = None,
    buildings: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame] | None = None,
    inputs_key: str | None = None,
) -> NoiseGrid | None:
    """Model road and rail Lden from the OSM lines when no official noise map is given.

    ``buildings`` (OSM building polygons with their tag columns, as
    :func:`sitefinder.io.osm.load_buildings` gives them, or a function that reads
    them) screen the noise; their heights follow
    :func:`sitefinder.noisemodel.buildings.building_heights`.

    With ``cache_dir``, the grid is cached under a key of everything that shapes it
    (:mod:`sitefinder.gridcache`: the OSM source, the source lines, bounds, CRS,
    parameters and the model's code). ``inputs_key`` (the content of the files that
    ``features`` and ``buildings`` were read from, e.g. the cut's file hashes) lets a warm
    run find that key without computing the sources and screens (or reading the
    buildings) again: :func:`sitefinder.gridcache.write_alias`.
    """
    from sitefinder.noisemodel import NoiseModelParams, noise_sources_from_osm
    from sitefinder.noisemodel.buildings import Screens, building_heights

    def model_lden(*a: Any, **k: Any) -> NoiseGrid:
        # The model itself (scipy's FFT) is imported only when the grid is not in the cache.
        from sitefinder.noisemodel.grid import model_lden as compute

        return compute(*a, **k)

    params = NoiseModelParams(resolution_m=resolution_m)
    alias = None
    if cache_dir is not None and inputs_key is not None:
        from sitefinder.gridcache import grid_key, load_grid, read_alias

        alias = grid_key(
            "inputs", inputs_key, osm_sha256, list(bounds), CRS.from_user_input(crs).to_string(),
            params.model_dump(mode="json"), _MODEL_NOISE_CODE,
        )  # fmt: skip
        known = read_alias(cache_dir, alias)
        found = load_grid(cache_dir, known) if known is not None else None
        if found is not None:
            return found
    lines = features[features.geom_type.isin(["LineString", "MultiLineString"])]
    sources = noise_sources_from_osm(lines, params)
    if len(sources) == 0:
        log.warning("No roads or railways to model noise from; running without a noise layer")
        return None
    blds = buildings() if callable(buildings) else buildings
    screens = None
    if blds is not None and "building" in blds.columns:
        polys = blds[blds["building"].notna() & blds.geom_type.isin(["Polygon", "MultiPolygon"])]
        # Compact (WKB) for the model: where the caller keeps no reference to the frame,
        # the buildings' geometries are freed here, before the model's peak.
        screens = Screens.from_frame(building_heights(polys))
        del polys
    del blds
    t0 = time.perf_counter()
    if cache_dir is None:
        grid = model_lden(sources, bounds, crs, params, buildings=screens)
    else:
        from sitefinder.gridcache import cached_grid, grid_key, write_alias

        cols = [c for c in sources.columns if c != "geometry"]
        screen_bytes = b""
        if screens is not None and len(screens):
            screen_bytes = b"".join(screens.wkb.tolist()) + screens.height_m.tobytes()
        key = grid_key(
            osm_sha256,
            b"".join(shapely.to_wkb(sources.geometry.to_numpy()).tolist()),
            sources[cols].to_json(orient="split", double_precision=15),
            screen_bytes,
            list(bounds),
            CRS.from_user_input(crs).to_string(),
            params.model_dump(mode="json"),
        )
        grid, hit = cached_grid(
            cache_dir, key, lambda: model_lden(sources, bounds, crs, params, buildings=screens)
        )
        if alias is not None:
            write_alias(cache_dir, alias, key)
        if hit:
            return grid
    log.info(
        "Modelled road and rail noise (indicative; screened by %d buildings) from %d line sources "
        "on %d x %d cells in %.1f s",
        0 if screens is None else len(screens),
        len(sources),
        grid.shape[0],
        grid.shape[1],
        time.perf_counter() - t0,
    )
    return grid


#: The code that turns features and buildings into noise sources and screens, part of the
#: input key of a modelled grid (a change of it must not find an old grid).
_MODEL_NOISE_CODE = hashlib.sha256(inspect.getsource(model_noise).encode()).hexdigest()


def plot_coverage(
    data: StudyData,
    indicators: pd.DataFrame,
    registry: CategoryRegistry,
    reached: np.ndarray | None = None,
    max_snap_m: float = 250.0,
) -> Coverage | None:
    """Covered radius, censored columns, plots wholly outside the data (None: area unknown).

    ``reached`` marks the plots that snapped to the walking network; those that did not,
    although the data cover ``max_snap_m`` around them, have no path within reach (a
    finding, see :class:`sitefinder.coverage.Coverage`).
    """
    if data.data_area is None or "covered_radius_m" not in indicators.columns:
        return None
    rules = censor_rules(indicators.columns, [*registry.names, *NUISANCE_KINDS])
    outside = ~data.plots.geometry.intersects(data.data_area).to_numpy()
    radius = indicators["covered_radius_m"].to_numpy(dtype=float)
    off = None if reached is None else ~np.asarray(reached, dtype=bool) & (radius >= max_snap_m)
    return Coverage(radius_m=radius, rules=rules, outside=outside, off_network=off)


def empty_kinds(data: StudyData, registry: CategoryRegistry) -> list[str]:
    """Amenity categories and nuisance kinds with no object at all in the data, logged as a warning."""
    cats = set(data.amenities["category"]) if len(data.amenities) else set()
    kinds = set(data.nuisance["kind"]) if len(data.nuisance) else set()
    empty = [c for c in registry.names if c not in cats]
    empty += [k for k in NUISANCE_KINDS if k not in kinds and k not in registry]
    if empty:
        log.warning(
            "Not in the data at all (criteria on these are judged only where the data reach far enough "
            "around a plot): %s",
            ", ".join(empty),
        )
    return empty


def plot_area_m2(geoms: gpd.GeoSeries) -> pd.Series:
    """Plot area in m² (0.1 m²), empty (NaN) for a point plot, whose outline is unknown.

    >>> import shapely
    >>> plot_area_m2(gpd.GeoSeries([shapely.box(0, 0, 10, 20), shapely.Point(5, 5)])).tolist()
    [200.0, nan]
    """
    return geoms.area.round(1).where(geoms.geom_type != "Point")


def compute_indicators(
    data: StudyData,
    registry: CategoryRegistry,
    cfg: RunConfig,
    mobilities: Sequence[str] = (),
    factors: dict[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, AccessResult, WalkNetwork]:
    """All indicators per plot, indexed by plot id, units in the column names.

    ``mobilities``: the networks besides walking that the profiles use (one
    accessibility pass each); what their rules did goes to ``data.sources["mobility"]``,
    and the edge factors of their networks to ``factors`` (when given).
    """
    t0 = time.perf_counter()
    params = AccessParams(max_snap_m=cfg.max_snap_m, count_within_m=cfg.count_within_m)
    net = data.network
    node_dist = None
    if data.network_key is not None:
        node_dist = NetworkCache(cfg.cache_dir).node_distances(
            net, data.network_key, data.amenities, registry, params
        )
    access = accessibility(net, data.plots, data.amenities, registry, params, node_dist=node_dist)
    walk = get_mobility("walk")
    parts = [
        pd.DataFrame({"area_m2": plot_area_m2(data.plots.geometry)}),
        access.table,
        time_columns(access.table, registry.names, walk),
    ]
    if mobilities:
        info = data.sources.setdefault("mobility", {"walk": {"speed_kmh": walk.speed_kmh}})
        for name in mobilities:
            mnet = build_mobility_network(net, get_mobility(name))
            info[name] = mnet.info
            if factors is not None and mnet.factor is not None:
                factors[name] = mnet.factor
            mdist = None
            if data.network_key is not None:
                mdist = NetworkCache(cfg.cache_dir).node_distances(
                    mnet.network, _mobility_key(data.network_key, name, mnet.network), data.amenities,
                    registry, params,
                )  # fmt: skip
            table_m, res_m = mobility_indicators(
                mnet, data.plots, data.amenities, registry, params, node_dist=mdist
            )
            parts.append(table_m)
            access.other_networks[name] = (mnet.network, res_m)
    parts += [
        nuisance_distances(data.plots, data.nuisance),
        facility_proximity(data.plots, data.amenities),
    ]
    if data.noise is not None:
        parts.append(noise_stats(data.plots, data.noise, cfg.noise_threshold_db))
    if data.neighbourhoods is not None:
        points = residential_points(data.neighbourhoods, data.residential)
        data.sources.setdefault("neighbourhoods", {})["spread_over"] = points.basis.value_counts().to_dict()
        thresholds = list(cfg.count_within_m)
        parts.append(
            population_indicators(
                net, access.plot_snap, data.plots, data.neighbourhoods, points, thresholds, cfg.max_snap_m
            )
        )
    table = pd.concat(parts, axis=1)
    if data.data_area is not None:
        table.insert(1, "covered_radius_m", covered_radius(data.plots.geometry.to_numpy(), data.data_area))
    log.info("Indicators for %d plots in %.1f s", len(table), time.perf_counter() - t0)
    return table, access, net


STAGES = [
    "profielen lezen", "gegevens laden", "indicatoren", "scores", "zoekgebieden", "kaart en tabellen",
]  # fmt: skip


def prepare_profiles(
    profiles: Sequence[str | Path | Profile], registry: CategoryRegistry, crs: CRS
) -> tuple[list[Profile], list[Layer]]:
    """Load the profiles (names, files or :class:`Profile` objects), check them and read their layers.

    Raises
    ------
    DataValidationError
        When two profiles have the same name.
    UnknownNameError
        When a profile names an amenity category that does not exist.
    """
    loaded = [p if isinstance(p, Profile) else load_profile(p) for p in profiles]
    names = [p.name for p in loaded]
    if len(set(names)) != len(names):
        msg = f"profiles: the same profile name is given twice ({', '.join(names)}); each profile needs its own name"
        raise DataValidationError(msg)
    check_profile_categories(loaded, registry)
    return loaded, load_layers(declared_layers(loaded), crs)


def load_stage(
    cfg: RunConfig, registry: CategoryRegistry, plots_frame: gpd.GeoDataFrame | None = None
) -> StudyData:
    """Read the neighbourhoods (when configured) and every other input (see :func:`load`)."""
    neighbourhoods, nbh_info = load_neighbourhoods(cfg)
    data = load(cfg, registry, neighbourhoods, plots_frame=plots_frame)
    if nbh_info:
        data.sources["neighbourhoods"] = nbh_info
    return data


@dataclass(frozen=True)
class BaseIndicators:
    """The indicators of every plot that do not depend on a profile, with what they were computed on."""

    table: pd.DataFrame
    access: AccessResult
    network: WalkNetwork
    max_snap_m: float = 250.0
    routes: Routes | None = None


def profile_mobilities(profiles: Sequence[Profile]) -> tuple[str, ...]:
    """The networks besides walking that ``profiles`` use (wheelchair, ...), sorted."""
    return tuple(sorted({p.mobility for p in profiles} - {"walk"}))


def _mobility_key(network_key: str, name: str, m: WalkNetwork) -> str:
    """The node-distance cache key of a mobility's network.

    Cached like walking's, under a key of the walking network, the mobility and its
    edges (their lengths carry the mobility's factors).
    """
    edges = hashlib.sha256(m.edge_u.tobytes() + m.edge_v.tobytes() + m.edge_len.tobytes())
    return f"{network_key}-{name}-{edges.hexdigest()[:16]}"


def indicator_stage(
    data: StudyData, registry: CategoryRegistry, cfg: RunConfig, mobilities: Sequence[str] = ()
) -> BaseIndicators:
    """Compute the indicators that depend on no profile's criteria (see :func:`compute_indicators`).

    ``mobilities`` adds the accessibility of other networks than walking (see
    :func:`profile_mobilities`). With a cache folder and a network key, the stage's
    results are reused for the same inputs (:mod:`sitefinder.indicatorcache`).
    """
    from sitefinder import indicatorcache

    mobilities = tuple(mobilities)
    params = {"max_snap_m": cfg.max_snap_m, "count_within_m": list(cfg.count_within_m),
              "noise_threshold_db": cfg.noise_threshold_db}  # fmt: skip
    key = None
    if cfg.cache_dir is not None:
        key = indicatorcache.indicator_key(data, registry, mobilities, params, _INDICATOR_CODE)
    if key is not None:
        found = indicatorcache.load(cfg.cache_dir, key)
        if found is not None:
            return _cached_indicators(found, data, registry, cfg)
    factors: dict[str, np.ndarray] = {}
    with indicatorcache.collected_warnings() as warnings:
        table, access, net = compute_indicators(data, registry, cfg, list(mobilities), factors)
        t0 = time.perf_counter()
        cats = [c for c in ROUTE_CATEGORIES if c in registry]
        routes = route_table(net, access, data.plots, data.amenities, cats, table)
        log.info("Walking routes: %d in %.1f s", len(routes.table), time.perf_counter() - t0)
    if key is not None:
        nets = {"walk": access, **{name: res for name, (_n, res) in access.other_networks.items()}}
        indicatorcache.save(cfg.cache_dir, key, indicatorcache.CachedIndicators(
            table=table, routes=routes,
            snaps={n: {"plots": r.plot_snap, **r.amenity_snaps} for n, r in nets.items()},
            access_tables={n: r.table for n, r in nets.items()},
            unreachable={n: r.unreachable_amenities for n, r in nets.items()},
            factors=factors, sources=_indicator_sources(data.sources), warnings=warnings,
        ))  # fmt: skip
    return BaseIndicators(table=table, access=access, network=net, max_snap_m=cfg.max_snap_m, routes=routes)


def _indicator_sources(sources: dict[str, Any]) -> dict[str, Any]:
    """What :func:`compute_indicators` records in the run's sources."""
    out: dict[str, Any] = {}
    if "mobility" in sources:
        out["mobility"] = sources["mobility"]
    spread = (sources.get("neighbourhoods") or {}).get("spread_over")
    if spread is not None:
        out["spread_over"] = spread
    return out


def _cached_indicators(
    found: Any, data: StudyData, registry: CategoryRegistry, cfg: RunConfig
) -> BaseIndicators:
    """The indicator stage from its cache entry.

    Node distances come from :mod:`sitefinder.netcache`, the mobilities' networks are
    rebuilt from their edge factors and the warnings are logged again.
    """
    from sitefinder.indicatorcache import replay
    from sitefinder.netcache import factored_network

    assert data.network_key is not None and cfg.cache_dir is not None
    params = AccessParams(max_snap_m=cfg.max_snap_m, count_within_m=cfg.count_within_m)
    cache = NetworkCache(cfg.cache_dir)

    def result(net: WalkNetwork, key: str, name: str) -> AccessResult:
        snaps = dict(found.snaps[name])
        plot_snap = snaps.pop("plots")
        node_dist = cache.node_distances(net, key, data.amenities, registry, params)
        return AccessResult(found.access_tables[name], found.unreachable[name], plot_snap, snaps, node_dist)

    net = data.network
    access = result(net, data.network_key, "walk")
    for name, factor in found.factors.items():
        mnet = factored_network(net, factor)
        access.other_networks[name] = (mnet, result(mnet, _mobility_key(data.network_key, name, mnet), name))
    if "mobility" in found.sources:
        data.sources["mobility"] = found.sources["mobility"]
    if "spread_over" in found.sources:
        data.sources.setdefault("neighbourhoods", {})["spread_over"] = found.sources["spread_over"]
    replay(found.warnings)
    return BaseIndicators(
        table=found.table, access=access, network=net, max_snap_m=cfg.max_snap_m, routes=found.routes
    )


#: The stage functions' own code, part of the indicator cache key (a change of them misses).
_INDICATOR_CODE = "".join(
    inspect.getsource(f) for f in (compute_indicators, indicator_stage, plot_area_m2, _mobility_key)
)


@dataclass(frozen=True)
class Scored:
    """Everything the outputs are made from: data, indicators, profile results and the scores table."""

    data: StudyData
    registry: CategoryRegistry
    base: BaseIndicators
    overlays: list[Layer]
    indicators: pd.DataFrame
    results: list[ProfileResult]
    scores: gpd.GeoDataFrame
    absent_from_data: list[str]
    started: datetime

    @property
    def profiles(self) -> list[Profile]:
        """The profiles scored, in order."""
        return [r.profile for r in self.results]


def score_stage(
    data: StudyData,
    base: BaseIndicators,
    registry: CategoryRegistry,
    profiles: list[Profile],
    overlays: list[Layer],
) -> Scored:
    """Add the profiles' layer indicators, judge the data coverage and score every profile."""
    started = datetime.now(UTC)
    indicators = pd.concat([base.table, all_layer_indicators(data.plots, overlays)], axis=1)
    attributes = pd.DataFrame(data.plots.drop(columns="geometry"))
    scoring_input = pd.concat(
        [indicators, attributes.drop(columns=[c for c in attributes.columns if c in indicators.columns])],
        axis=1,
    )
    coverage = plot_coverage(
        data, indicators, registry, base.access.plot_snap.owners_reached(len(data.plots)), base.max_snap_m
    )
    if coverage is not None:
        indicators.insert(2, "censored_values", censored_notes(indicators, coverage.radius_m, coverage.rules))
    empty = empty_kinds(data, registry)
    results = [score_profile(scoring_input, p, coverage=coverage) for p in profiles]
    attributes, renamed = prefix_colliding(attributes, [indicators, *[r.table for r in results]])
    if renamed:
        data = replace(data, plots=data.plots.rename(columns=renamed))
        log.warning(
            "plots: %d attribute(s) have the name of an output column and are kept as %s",
            len(renamed), ", ".join(f"{a} -> {b}" for a, b in list(renamed.items())[:10]),
        )  # fmt: skip
    scores = gpd.GeoDataFrame(
        pd.concat([attributes, indicators, *[r.table for r in results]], axis=1),
        geometry=data.plots.geometry,
        crs=data.crs,
    )
    scores.index.name = "plot_id"
    return Scored(data, registry, base, overlays, indicators, results, scores, empty, started)


def surface_stage(scored: Scored, cfg: RunConfig, cache_dir: Path | None = None) -> dict[str, Surface]:
    """Suitability surfaces ("where to look for new sites") of every profile.

    ``cache_dir``: where surfaces of the same inputs are reused from (None: computed).
    """
    surfaces = suitability_surfaces(
        scored.profiles,
        scored.data,
        scored.base.network,
        scored.base.access.node_dist,
        scored.base.access.amenity_snaps,
        scored.overlays,
        max_snap_m=cfg.max_snap_m,
        noise_threshold_db=cfg.noise_threshold_db,
        other_networks={
            k: (n, r.node_dist, r.amenity_snaps) for k, (n, r) in scored.base.access.other_networks.items()
        },
        cache_dir=cache_dir,
    )
    # The last stage that needs the edges' LineStrings (the map and the tables do not): let
    # them go before the map's peak; they are made again if a later call needs them.
    nets = [
        scored.data.network,
        scored.base.network,
        *(n for n, _ in scored.base.access.other_networks.values()),
    ]
    for net in nets:
        if isinstance(net, LazyGeometryNetwork):
            net.drop_geometries()
    release_memory()
    return surfaces


def build_manifest(
    scored: Scored,
    cfg: RunConfig,
    started: datetime,
    noise_layer: str | None = None,
    surfaces: dict[str, str] | None = None,
    routes: Routes | None = None,
) -> Manifest:
    """The run's ``manifest.json``: versions, configuration, sources, counts, profiles, layers.

    ``noise_layer`` and ``surfaces``: where the modelled noise grid and the surfaces
    are written, as recorded (relative to the run folder when inside it).
    """
    data = scored.data
    noise: dict[str, Any] | None = None
    if data.noise is not None:
        noise = {"modelled": data.noise.modelled}
        if noise_layer is not None:
            noise["layer"] = noise_layer
    raw = {
        "sitefinder_version": __version__,
        "format_version": RESULT_FORMAT_VERSION,
        "created": started.isoformat(timespec="seconds"),
        "working_crs": data.crs.to_string(),
        "config": json.loads(cfg.model_dump_json()),
        "sources": data.sources,
        "counts": {
            "plots": len(data.plots),
            "amenities": data.amenities["category"].value_counts().to_dict(),
            "network_nodes": data.network.n_nodes,
        },
        "absent_from_data": scored.absent_from_data,
        "profiles": {r.profile.name: r.manifest_entry() for r in scored.results},
        "layers": {lay.name: lay.provenance for lay in scored.overlays},
        "noise": noise,
        "surfaces": surfaces or {},
    }
    if routes is not None:
        raw["routes"] = {
            "path": ROUTES_FILE,
            "categories": list(routes.categories),
            "count": len(routes.table),
        }
    # Through JSON, so that what is validated is what the file holds (paths and numpy
    # numbers in the sources become text and numbers, as json.dumps(default=str) did).
    return Manifest.model_validate_json(json.dumps(raw, default=str))


def _basemap(cfg: RunConfig, data: StudyData, cache_dir: Path | None) -> Basemap | LazyBasemap | None:
    """Streets, water, buildings and green for the offline background, when the map offers it.

    Read from the run's OSM file; with ``cache_dir``, a :class:`LazyBasemap` keyed by the
    file's SHA-256, the CRS and the reading code, read (through its own cache) only when
    the drawing or ``basemap.gpkg`` of it is not cached. None when that file is gone (a
    download into a temporary cache).
    """
    if "offline" not in cfg.map_tiles.split(","):
        return None
    osm_src = data.sources.get("osm") or {}
    path, sha = osm_src.get("path"), osm_src.get("sha256")
    if not path or not Path(path).is_file():
        return None
    if not sha or cache_dir is None:
        return read_basemap(Path(path), data.crs)
    from sitefinder.io.basemapcache import cached_basemap
    from sitefinder.surfacecache import KeyHash, code_hash

    key = KeyHash().add("osm", sha).add("crs", data.crs.to_wkt())
    key.add("code", code_hash((("sitefinder.io", "basemap.py"), ("sitefinder.io", "basemapcache.py"))))
    return LazyBasemap(key.hexdigest(), lambda: cached_basemap(cache_dir, Path(path), sha, data.crs))


def map_inputs(
    scored: Scored,
    cfg: RunConfig,
    surfaces: dict[str, Surface],
    created: str,
    cache_dir: Path | None = None,
) -> MapInputs:
    """What :func:`~sitefinder.render.map.write_map` draws for a scored study.

    ``cache_dir``: where the offline background may be cached (None: not cached).
    """
    data = scored.data
    return MapInputs(
        plots=data.plots,
        indicators=scored.indicators,
        profiles=scored.results,
        amenities=data.amenities,
        registry=scored.registry,
        study_area=data.study_area,
        noise=data.noise,
        title=cfg.title,
        routes=scored.base.routes,
        tiles=cfg.map_tiles,
        surfaces=surfaces,
        created=created,
        basemap=_basemap(cfg, data, cache_dir),
        sources=describe_sources(data.sources),
        neighbourhoods=data.neighbourhoods,
        cache_dir=cache_dir,
    )


#: The files of a run folder.
OUT_FILES = (
    "scores.gpkg", "scores.csv", "scores_nl.csv", "scores.xlsx", "map.html", "manifest.json", ROUTES_FILE,
)  # fmt: skip


#: Columns the outputs add besides indicators and scores (scores.csv's point; the index).
RESERVED_COLUMNS = ("plot_id", "x_m", "y_m", "geometry")


def prefix_colliding(
    attributes: pd.DataFrame, outputs: list[pd.DataFrame]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename plot attributes that share a name with an output column to ``attr_<name>``.

    A plots file may carry columns such as ``area_m2`` or ``score_prikkelarm`` (a previous
    ``scores.gpkg`` used as plots); they are kept, under a name that cannot collide.

    >>> a = pd.DataFrame({"area_m2": [1.0], "naam": ["x"]})
    >>> prefix_colliding(a, [pd.DataFrame({"area_m2": [2.0]})])[1]
    {'area_m2': 'attr_area_m2'}
    """
    taken = {str(c) for frame in outputs for c in frame.columns} | set(RESERVED_COLUMNS)
    names = [str(c) for c in attributes.columns]
    renamed: dict[str, str] = {}
    used = set(names) | taken
    for c in names:
        if c in taken:
            new = f"attr_{c}"
            while new in used:
                new = f"attr_{new}"
            renamed[c] = new
            used.add(new)
    return attributes.rename(columns=renamed), renamed


def layers_folder(cfg: RunConfig) -> Path:
    """Where a run's derived layers go: ``--layers``, else ``<out>/layers`` (they belong to the run)."""
    return Path(cfg.layers_dir) if cfg.layers_dir is not None else Path(cfg.out_dir) / "layers"


def check_output_folders(cfg: RunConfig) -> None:
    """Refuse output folders that are files, before any work is done."""
    check_output_folder(Path(cfg.out_dir), "output folder", "--out")
    check_output_folder(layers_folder(cfg), "layers folder", "--layers")


def _write_memo_basemap(
    basemap: Basemap | LazyBasemap,
    bounds: tuple[float, float, float, float],
    path: Path,
    cache_dir: Path | None,
) -> None:
    """``basemap.gpkg`` for the memo: a copy of the one written for the same background and bounds.

    The memo module (and the report behind it) is imported only when the file is written.
    """

    def write(p: Path) -> Path | None:
        from sitefinder.render.memo import write_basemap

        return write_basemap(basemap.get() if isinstance(basemap, LazyBasemap) else basemap, bounds, p)

    if not isinstance(basemap, LazyBasemap):
        write(path)
        return
    from sitefinder.rendercache import cached_file
    from sitefinder.surfacecache import KeyHash, code_hash

    key = KeyHash().add("schema", schema_version("memo-basemap"))
    key.add("code", code_hash((("sitefinder.render", "memo.py"),))).add("basemap", basemap.key)
    key.add("bounds", [float(b) for b in bounds])
    cached_file(cache_dir, "memo-basemap", key.hexdigest(), path, write)


def _write_noise_layer(grid: NoiseGrid, path: Path, cache_dir: Path | None) -> None:
    """The modelled noise GeoTIFF: a copy of the one written for the same grid (levels, place, provenance)."""
    from sitefinder.noisemodel import write_noise_geotiff

    def write(p: Path) -> Path:
        write_noise_geotiff(grid, p)
        return p

    if cache_dir is None:
        write(path)
        return
    from sitefinder.rendercache import cached_file
    from sitefinder.surfacecache import KeyHash, code_hash

    key = KeyHash().add("schema", schema_version("noise-geotiff"))
    key.add("code", code_hash((("sitefinder.noisemodel", "geotiff.py"),)))
    key.add("lden", np.asarray(grid.lden, dtype=np.float32))
    key.add("lnight", None if grid.lnight is None else np.asarray(grid.lnight, dtype=np.float32))
    key.add("transform", list(tuple(grid.transform)[:6])).add("crs", grid.crs.to_wkt())
    key.add("provenance", json.dumps(grid.provenance, sort_keys=True, default=str))
    key.add("modelled", bool(grid.modelled))
    cached_file(cache_dir, "noise-geotiff", key.hexdigest(), path, write)


def write_outputs(
    scored: Scored,
    cfg: RunConfig,
    surfaces: dict[str, Surface],
    started: datetime | None = None,
    cache_dir: Path | None = None,
) -> RunResult:
    """Write the run folder ``cfg.out_dir`` and the derived layers ``cfg.layers_dir``.

    Tables, map, manifest and the derived layers (``<out>/layers`` unless ``--layers``
    names another folder) are written into a staging folder first and moved into place
    only when all are complete; the manifest records the layers relative to the run
    folder. A failure anywhere leaves the previous outputs (and layers) as they were.
    """
    data = scored.data
    out = Path(cfg.out_dir)
    layers = layers_folder(cfg)
    inside = is_within(layers, out)
    rel = Path(os.path.relpath(layers.resolve(), out.resolve())) if inside else None

    def recorded(name: str) -> str:
        # Inside the run folder: relative to it (the run folder can be moved or read from
        # anywhere); outside it (--layers elsewhere): absolute.
        return (rel / name).as_posix() if rel is not None else str((layers / name).resolve())

    modelled = data.noise is not None and data.noise.modelled
    routes = scored.base.routes or Routes((), gpd.GeoDataFrame(geometry=[], crs=data.crs))
    manifest = build_manifest(
        scored,
        cfg,
        started or scored.started,
        noise_layer=recorded("noise_lden_modelled.tif") if modelled else None,
        surfaces={name: recorded(f"suitability_{name}.tif") for name in surfaces},
        routes=routes,
    )
    inputs = map_inputs(scored, cfg, surfaces, manifest.created, cache_dir)
    with staged_outputs(out) as stage, contextlib.ExitStack() as more:
        write_tables(scored.scores, stage, scored.registry, [r.profile.name for r in scored.results])
        if inputs.basemap is not None:
            # Before the map: the map's drawing lets the background go (read once for both).
            margin = shapely.box(*data.plots.total_bounds).buffer(1500).bounds
            _write_memo_basemap(inputs.basemap, margin, stage / BASEMAP_FILE, cache_dir)
        write_map(inputs, stage / "map.html")
        write_routes(routes, stage / ROUTES_FILE)
        write_manifest(manifest, stage)
        # Layers are staged last: a failed map leaves no trace in a --layers folder either.
        lstage = stage / rel if rel is not None else more.enter_context(staged_outputs(layers))
        lstage.mkdir(parents=True, exist_ok=True)
        if data.noise is not None and data.noise.modelled:
            _write_noise_layer(data.noise, lstage / "noise_lden_modelled.tif", cache_dir)
        for name, surf in surfaces.items():
            write_surface(surf, lstage / f"suitability_{name}.tif")
    files = {name: out / name for name in OUT_FILES}
    return RunResult(
        out_dir=out, scores=scored.scores, profiles=scored.results, files=files, manifest=manifest
    )
