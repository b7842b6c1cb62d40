"""Generate the built-in sample municipality: a synthetic Dutch new town.

The town, "Nieuwstad", is fictional. It is written as OSM XML so that it goes
through exactly the same loading code as real OpenStreetMap data, plus a plot
GeoPackage and the town outline.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import shapely

from sitefinder.errors import ConfigError
from sitefinder.sample.amenities import Placer, facility_counts
from sitefinder.sample.buildings import block_buildings
from sitefinder.sample.cbs import write_cbs_files
from sitefinder.sample.cells import Lattice
from sitefinder.sample.crossings import motorway_policy, plot_policy, rail_policy, water_policy
from sitefinder.sample.geometry import (
    RD_CENTRE,
    Deformation,
    Swirls,
    Warp,
    densify,
    rd_to_wgs84,
    rectangle,
)
from sitefinder.sample.layout import Plan, make_plan
from sitefinder.sample.names import TOWN_NAME, StreetNamer
from sitefinder.sample.network import (
    BRIDGE,
    KEEP,
    Crossing,
    Line,
    Network,
    cut,
    densify_network,
    node_counts,
    planarize,
)
from sitefinder.sample.osmxml import Feature, OsmBuilder, write_osm
from sitefinder.sample.plots import Plot, choose_plots
from sitefinder.sample.roads import arterial_lines, canal_bank_paths, rail_lines
from sitefinder.sample.steps import add_steps
from sitefinder.sample.transport import transport_features

logger = logging.getLogger(__name__)

#: Inhabitants per hectare of housing block (block plus half its streets). Dutch
#: new-town neighbourhoods reach roughly 20-25 dwellings per gross hectare at about
#: 2.1-2.2 persons per household (CBS StatLine, "Huishoudens; samenstelling";
#: approximately). Calibrated so that scale 1 gives about 30,000 inhabitants.
RESIDENTS_PER_HA = 36.0
#: Centre blocks hold apartments above shops: this many times denser.
CENTRE_DENSITY_FACTOR = 1.6
#: Shape nodes are added so that no way segment is longer than this (metres).
MAX_SEGMENT = 35.0
#: Allowed range of the scale argument.
SCALE_RANGE = (0.1, 64.0)

#: The GeoPackage's ``last_change`` timestamp (GDAL's ``OGR_CURRENT_DATE``): GDAL writes
#: the current time there by default, which would make ``plots.gpkg`` differ per run.
GPKG_DATE = "2000-01-01T00:00:00.000Z"

_NOT_WALKABLE = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})


@dataclass(frozen=True)
class SampleResult:
    """Files and summary of a generated sample town.

    Attributes
    ----------
    osm_path : pathlib.Path
        ``sample.osm``, OSM XML 0.6 (WGS84).
    plots_path : pathlib.Path
        ``plots.gpkg``, layer ``plots``, EPSG:28992.
    boundary_path : pathlib.Path
        ``boundary.geojson``, the municipal outline, WGS84 (EPSG:4326, RFC 7946).
    neighbourhoods_path, figures_path : pathlib.Path
        ``buurten.geojson`` and ``kerncijfers.csv`` in the CBS layout (:mod:`sitefinder.sample.cbs`).
    seed : int
        Random seed used.
    scale : float
        Scale used.
    inhabitants : int
        Number of inhabitants the facility densities were based on.
    walk_nodes : int
        Nodes of the largest connected walking network (motorways excluded)
        before simplification; an estimate of what osmnx loads.
    walk_nodes_simplified : int
        Of those, the junctions and dead ends (what osmnx keeps with ``simplify=True``).
    amenities : Mapping[str, int]
        Number of facilities per category (an object mapped twice counts once).
    plots : int
        Number of development plots.
    osm_nodes, osm_ways : int
        Number of nodes and ways in the OSM file.
    """

    osm_path: Path
    plots_path: Path
    boundary_path: Path
    neighbourhoods_path: Path
    figures_path: Path
    seed: int
    scale: float
    inhabitants: int
    walk_nodes: int
    walk_nodes_simplified: int
    amenities: Mapping[str, int]
    plots: int
    osm_nodes: int
    osm_ways: int


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; move it onto ``path`` on success."""
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp = tmpdir / path.name
        yield tmp
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


@contextmanager
def _gdal_config(name: str, value: str) -> Iterator[None]:
    """Set a GDAL configuration option (process-wide) for the block; restore the old value after."""
    import pyogrio

    old = pyogrio.get_gdal_config_option(name)
    pyogrio.set_gdal_config_options({name: value})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({name: old})


def _always_bridge(crossings: list[Crossing]) -> list[str]:
    return [BRIDGE if not c.at_end else KEEP for c in crossings]


def _keep(crossings: list[Crossing]) -> list[str]:
    return [KEEP] * len(crossings)


def _walkable(tags: dict[str, str]) -> bool:
    return tags.get("highway", "") not in _NOT_WALKABLE and tags.get("foot") != "no"


def _street_network(
    plan: Plan, lattices: list[Lattice], plots: list[Plot], rng: np.random.Generator
) -> Network:
    """Plan, node and cut the street network."""
    lines = arterial_lines(plan) + canal_bank_paths(plan)
    for lat in lattices:
        lines += lat.lines(StreetNamer(lat.cell.theme, rng), rng)
    for ring, name in plan.lakes:
        loop = shapely.Polygon(ring).buffer(24.0).simplify(2.0)
        lines.append(
            Line(
                np.asarray(shapely.get_coordinates(loop.exterior)),
                {"highway": "footway", "name": f"{name}pad"},
            )
        )
    net = planarize(lines)
    if plots:
        plot_area = shapely.union_all([shapely.Polygon(p.ring).buffer(-1.0) for p in plots])
        net = cut(net, plot_area, plot_policy)
    water = plan.water()
    net = cut(net, water.buffer(3.0), water_policy)
    net = cut(net, plan.rail_corridor(), rail_policy(plan.stations))
    net = cut(net, plan.motorway_corridor(), motorway_policy)
    return densify_network(net, MAX_SEGMENT)


def _rail_network(plan: Plan) -> Network:
    net = planarize(rail_lines(plan))
    net = cut(net, plan.water().buffer(3.0), _always_bridge)
    net = cut(net, plan.motorway_corridor(), _keep)
    return densify_network(net, 30.0)


#: Swirl angle range (radians) at the centre of each kind of neighbourhood.
_SWIRL = {"residential": (0.2, 0.55), "park": (0.3, 0.6), "centre": (0.05, 0.15), "business": (0.0, 0.1)}


def _deformation(plan: Plan, rng: np.random.Generator) -> Deformation:
    """Draw the swirls of the neighbourhoods and the town-wide warp."""
    ncol, nrow = len(plan.xs) - 1, len(plan.ys) - 1
    centres = np.zeros((ncol, nrow, 2))
    radius = np.ones((ncol, nrow))
    angle = np.zeros((ncol, nrow))
    for cell in plan.cells:
        x0, y0, x1, y1 = cell.inner(45.0)
        centres[cell.i, cell.j] = cell.centre
        radius[cell.i, cell.j] = 0.5 * min(x1 - x0, y1 - y0)
        lo, hi = _SWIRL[cell.kind]
        if cell.x0 - 50.0 < plan.rail_x < cell.x1 + 50.0:
            lo, hi = 0.02, 0.08  # railways need large curve radii
        angle[cell.i, cell.j] = rng.uniform(lo, hi) * rng.choice([-1.0, 1.0])
    return Deformation(Swirls(plan.xs, plan.ys, centres, radius, angle), Warp.random(rng))


def _land_features(plan: Plan, lattices: list[Lattice], plots: list[Plot], inhabitants: int) -> list[Feature]:
    """Water, land use, parks, plots' land use, place and boundary (buildings: sample.buildings)."""
    feats: list[Feature] = []
    for c in plan.canals:
        feats.append(Feature("polygon", c.ring(), {"natural": "water", "water": "canal", "name": c.name}))
        feats.append(Feature("line", c.axis(), {"waterway": "canal", "name": c.name}))
    for ring, name in plan.lakes:
        feats.append(Feature("polygon", ring, {"natural": "water", "water": "lake", "name": name}))
    for lat in lattices:
        cell = lat.cell
        inner = rectangle(*cell.inner(30.0))
        if cell.kind == "residential":
            feats.append(Feature("polygon", inner, {"landuse": "residential", "name": cell.name}))
        elif cell.kind == "park":
            feats.append(Feature("polygon", inner, {"leisure": "park", "name": cell.name}))
        elif cell.kind == "business":
            feats.append(Feature("polygon", inner, {"landuse": "industrial", "name": cell.name}))
        elif cell.kind == "centre":
            sx, sy, _ = plan.stations[0]
            x0, y0, x1, y1 = cell.inner(45.0)
            core = rectangle(max(x0, sx - 300), max(y0, sy - 250), min(x1, sx + 300), min(y1, sy + 250))
            feats.append(Feature("polygon", core, {"landuse": "retail", "name": f"{TOWN_NAME} Centrum"}))
        cx, cy = cell.centre
        feats.append(Feature("point", np.array([[cx, cy]]), {"place": "neighbourhood", "name": cell.name}))
    for p in plots:
        if p.landuse is not None:
            feats.append(Feature("polygon", p.ring, {"landuse": p.landuse}))
    sx, sy, _ = plan.stations[0]
    feats.append(
        Feature(
            "point",
            np.array([[sx - 120.0, sy + 60.0]]),
            {"place": "town", "name": TOWN_NAME, "population": str(inhabitants)},
        )
    )
    feats.append(
        Feature(
            "polygon",
            rectangle(*plan.extent),
            {"boundary": "administrative", "admin_level": "8", "name": TOWN_NAME},
        )
    )
    return feats


def _write_plots(path: Path, plots: list[Plot], to_rd: Deformation, origin: np.ndarray) -> None:
    geoms = [shapely.Polygon(to_rd(densify(p.ring, 10.0)) + origin) for p in plots]
    gdf = gpd.GeoDataFrame(
        {
            "plot_id": [p.plot_id for p in plots],
            "name": [p.name for p in plots],
            "owner": [p.owner for p in plots],
            "zoning": [p.zoning for p in plots],
            "setting": [p.setting for p in plots],
            "area_ha": [round(g.area / 1e4, 2) for g in geoms],
        },
        geometry=geoms,
        crs="EPSG:28992",
    )
    with _atomic(path) as tmp, _gdal_config("OGR_CURRENT_DATE", GPKG_DATE):
        gdf.to_file(tmp, layer="plots", driver="GPKG", engine="pyogrio")


def _write_boundary(path: Path, plan: Plan, to_rd: Deformation, origin: np.ndarray, inhabitants: int) -> None:
    ring = rd_to_wgs84(to_rd(densify(rectangle(*plan.extent), 50.0)) + origin)
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": TOWN_NAME, "synthetic": True, "inhabitants": inhabitants},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring.tolist()]],
                },
            }
        ],
    }
    with _atomic(path) as tmp:
        tmp.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")


def generate_sample(out_dir: Path, seed: int = 42, scale: float = 1.0) -> SampleResult:
    """Generate the synthetic sample town "Nieuwstad" and write its files.

    Nieuwstad is a fictional Dutch new town (synthetic data, not real geography)
    placed on farmland in the Flevoland polder. Scale 1 gives about 30,000
    inhabitants on some 4.4 by 3.7 km; the area grows linearly with ``scale``
    (scale 8 is Almere-sized, over 200,000 inhabitants). The same seed and
    scale always give byte-identical files (``plots.gpkg`` included: its
    timestamp is :data:`GPKG_DATE`).

    Parameters
    ----------
    out_dir : pathlib.Path
        Output folder; created if missing. Existing files are replaced atomically.
    seed : int
        Random seed.
    scale : float
        Size factor, between 0.1 and 64.

    Returns
    -------
    SampleResult
        Paths of ``sample.osm``, ``plots.gpkg`` and ``boundary.geojson`` and summary counts.

    Raises
    ------
    ConfigError
        When ``scale`` is out of range or not a number.
    """
    if (
        not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or not (SCALE_RANGE[0] <= scale <= SCALE_RANGE[1])
    ):
        raise ConfigError(
            f"sample scale must be between {SCALE_RANGE[0]} and {SCALE_RANGE[1]}, got {scale!r}"
        )
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(int(seed))
    plan = make_plan(rng, float(scale))
    warp = _deformation(plan, rng)
    blockers = shapely.union_all([plan.water(), plan.rail_corridor()])
    station = plan.stations[0][:2]
    lattices = [
        Lattice(cell, rng, blockers, station if cell.kind == "centre" else None) for cell in plan.cells
    ]
    plots = choose_plots(
        rng,
        plan,
        lattices,
        shapely.union_all([blockers, plan.motorway_corridor()]),
        lambda ring: float(shapely.area(shapely.Polygon(warp(densify(ring, 10.0))))),
    )

    inhabitants = 0.0
    for lat in lattices:
        factor = CENTRE_DENSITY_FACTOR if lat.cell.kind == "centre" else 1.0
        if lat.cell.kind in ("residential", "centre"):
            inhabitants += lat.residential_area() / 1e4 * RESIDENTS_PER_HA * factor
    n_inhabitants = round(inhabitants)
    counts = facility_counts(n_inhabitants)
    placer = Placer(rng, plan, lattices)
    placer.reserve_neighbourhood_sites()
    placer.place_all(counts)

    net = _street_network(plan, lattices, plots, rng)
    net, lift_tags, step_counts = add_steps(net)
    walk_nodes, walk_simplified = node_counts(net, _walkable)
    avoid = shapely.union_all([blockers, plan.motorway_corridor(), *[shapely.Polygon(p.ring) for p in plots]])
    transport, transport_counts = transport_features(plan, rng, avoid)

    builder = OsmBuilder()
    street_index = builder.add_network(net)
    for node, tags in lift_tags.items():
        builder.node_tags[int(street_index[node])] = tags
    builder.add_network(_rail_network(plan))
    land = _land_features(plan, lattices, plots, n_inhabitants)
    builder.add_all([*land, *placer.features, *transport, *block_buildings(lattices)])

    origin = np.round(np.array(RD_CENTRE) - 0.5 * np.array([plan.width, plan.height]), -2)
    lonlat = rd_to_wgs84(warp(builder.coordinates()) + origin)
    osm_path = out_dir / "sample.osm"
    with _atomic(osm_path) as tmp:
        write_osm(tmp, builder, lonlat)
    plots_path = out_dir / "plots.gpkg"
    _write_plots(plots_path, plots, warp, origin)
    boundary_path = out_dir / "boundary.geojson"
    _write_boundary(boundary_path, plan, warp, origin, n_inhabitants)
    buurten_path, figures_path = write_cbs_files(
        out_dir, plan, lattices, np.random.default_rng([int(seed), 15]), warp, origin, RESIDENTS_PER_HA,
        CENTRE_DENSITY_FACTOR, _atomic,
    )  # fmt: skip

    amenities = {**placer.counts, **transport_counts, **step_counts}
    result = SampleResult(
        osm_path=osm_path,
        plots_path=plots_path,
        boundary_path=boundary_path,
        neighbourhoods_path=buurten_path,
        figures_path=figures_path,
        seed=int(seed),
        scale=float(scale),
        inhabitants=n_inhabitants,
        walk_nodes=walk_nodes,
        walk_nodes_simplified=walk_simplified,
        amenities=MappingProxyType(dict(sorted(amenities.items()))),
        plots=len(plots),
        osm_nodes=builder.node_count,
        osm_ways=len(builder.ways),
    )
    logger.info(
        "sample town %s (seed %d, scale %g): %d inhabitants, %d plots, %d walking nodes "
        "(%d simplified), %d OSM nodes, %.1f s",
        TOWN_NAME,
        result.seed,
        result.scale,
        n_inhabitants,
        len(plots),
        walk_nodes,
        walk_simplified,
        result.osm_nodes,
        time.perf_counter() - started,
    )
    return result
