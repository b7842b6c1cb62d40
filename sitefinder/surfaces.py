"""Suitability surfaces: score every cell of a grid over the study area, per profile.

Where plots answer "how good is this plot?", a surface answers "where in the
municipality would this target group do well?", useful before any plot is drawn.
Each cell (50 m by default) is a point site at its centre and gets its indicators
from the functions that compute them for plots:

* walking distances and times per amenity category, on every network the profiles
  use: :func:`sitefinder.indicators.access.site_snap` snaps the centre to the nearest
  network edge (within the run's maximum snapping distance) and
  :func:`sitefinder.indicators.access.site_distances` measures from the per-node
  distances of the accessibility stage, as for a plot's access points; cells
  farther from any path are unreachable (NaN, scored as the criterion's
  ``missing`` rule); :func:`sitefinder.indicators.mobility.time_columns` turns them
  into minutes;
* nuisance distances (nightlife, major roads, railways), straight from the centre
  (:func:`sitefinder.indicators.nuisance.nuisance_distances`);
* noise: :func:`sitefinder.indicators.noise.point_noise_stats`, the energetic mean
  of the noise cells within the cell's own square (mean = p90 = that value); where
  there is none, the noise criteria do not count (as for plots);
* spreading and declared layers: as for plots, from the centre point.

Criteria and constraints on columns a cell does not have (plot area, owner, zoning,
walking counts ``n_<cat>_<d>m``) are skipped and listed in :attr:`Surface.skipped`.

Cells follow the coverage rules of plots (:mod:`sitefinder.coverage`): the covered
radius of a cell is the distance from its centre to the edge of the OSM data, a
criterion the data cannot judge there drops out with its weight shared, and a cell
where too much of the weight cannot be judged has no suitability (NaN in band 1).

The GeoTIFF has three bands: 1 the suitability (the score where the cell passes
every hard constraint that applies to cells, 0 where it fails one, NaN where the data
cannot judge it), 2 the score ignoring the constraints (the gradient everywhere), 3
the eligibility (1/0). All are NaN outside the study area.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.crs
import shapely
from affine import Affine
from pyproj import CRS

from sitefinder import __version__
from sitefinder.coverage import Coverage, censor_rules, covered_radius
from sitefinder.datatypes import StudyData
from sitefinder.indicators.access import AccessParams, site_distances, site_snap
from sitefinder.indicators.mobility import time_columns
from sitefinder.indicators.noise import point_noise_stats, sample_noise
from sitefinder.indicators.nuisance import NUISANCE_KINDS, nuisance_distances
from sitefinder.indicators.overlay import layer_indicators
from sitefinder.indicators.spreading import facility_proximity
from sitefinder.io.atomic import atomic_path
from sitefinder.io.layers import Layer
from sitefinder.mobility import MOBILITIES
from sitefinder.network import Snap, WalkNetwork
from sitefinder.scoring.profiles import Profile
from sitefinder.scoring.score import evaluate

log = logging.getLogger(__name__)

WALK_SPEED_KMH = MOBILITIES["walk"].speed_kmh

__all__ = ["sample_noise"]  # re-exported: the noise under a point lives in sitefinder.indicators.noise

#: GeoTIFF dataset tag holding the surface's provenance as JSON.
PROVENANCE_TAG = "SITEFINDER_PROVENANCE"

#: Largest number of grid cells before the cell size is coarsened (with a warning).
MAX_CELLS = 4_000_000

#: Memory (MiB) for one tile of cells: its indicator table and the arrays of its scoring.
#: The surfaces are computed in bands of rows that fit in it, so the peak does not grow
#: with the area (the results do not depend on the tiling).
TILE_BUDGET_MB = 256.0


def tile_rows(grid: CellGrid, n_columns: int, budget_mb: float = TILE_BUDGET_MB) -> int:
    """Rows per tile, so that a band of cells fits in ``budget_mb``.

    A cell takes 8 bytes per indicator column, four times over for the scoring's
    per-criterion arrays and temporaries.

    >>> g = CellGrid(Affine(50, 0, 0, 0, -50, 0), (1000, 1000), np.ones((1000, 1000), bool), CRS(28992))
    >>> tile_rows(g, 64)
    131
    """
    per_cell = 8 * 4 * max(1, n_columns)
    return max(1, int(budget_mb * 2**20 // (per_cell * max(1, grid.shape[1]))))


@dataclass(frozen=True)
class CellGrid:
    """A north-up grid over the study area.

    Attributes
    ----------
    transform : affine.Affine
        Pixel-to-world transform (working CRS).
    shape : tuple of int
        Rows and columns.
    inside : numpy.ndarray
        Boolean ``shape`` mask: the cell's centre lies in the study area.
    crs : pyproj.CRS
        The working CRS.
    """

    transform: Affine
    shape: tuple[int, int]
    inside: np.ndarray
    crs: CRS

    @property
    def cell_m(self) -> float:
        """Cell size in metres."""
        return float(self.transform.a)

    def band(self, row0: int, row1: int) -> CellGrid:
        """The rows ``row0:row1`` of the grid as a grid of their own (a tile)."""
        t = self.transform
        return CellGrid(transform=t * Affine.translation(0, row0), shape=(row1 - row0, self.shape[1]),
                        inside=self.inside[row0:row1], crs=self.crs)  # fmt: skip

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates (x, y) of the centres of the cells inside the study area (row-major order)."""
        rows, cols = np.nonzero(self.inside)
        x = self.transform.c + (cols + 0.5) * self.transform.a
        y = self.transform.f + (rows + 0.5) * self.transform.e
        return x, y


def cell_grid(area: Any, crs: CRS, cell_m: float = 50.0) -> CellGrid:
    """A grid of ``cell_m`` cells over ``area``, aligned to multiples of ``cell_m``.

    Parameters
    ----------
    area : shapely geometry
        The study area (working CRS).
    crs : pyproj.CRS
        The working CRS.
    cell_m : float
        Cell size in metres; coarsened when the grid would exceed :data:`MAX_CELLS`.
    """
    minx, miny, maxx, maxy = shapely.bounds(area).tolist()
    cells = ((maxx - minx) / cell_m) * ((maxy - miny) / cell_m)
    if cells > MAX_CELLS:
        new = math.ceil(cell_m * math.sqrt(cells / MAX_CELLS))
        log.warning("Surface grid of %.0f m cells would have %.1f million cells; using %d m", cell_m,
                    cells / 1e6, new)  # fmt: skip
        cell_m = float(new)
    x0 = math.floor(minx / cell_m) * cell_m
    y1 = math.ceil(maxy / cell_m) * cell_m
    cols = max(1, math.ceil((maxx - x0) / cell_m))
    rows = max(1, math.ceil((y1 - miny) / cell_m))
    transform = Affine(cell_m, 0.0, x0, 0.0, -cell_m, y1)
    xs = x0 + (np.arange(cols) + 0.5) * cell_m
    ys = y1 - (np.arange(rows) + 0.5) * cell_m
    gx, gy = np.meshgrid(xs, ys)
    shapely.prepare(area)
    inside = shapely.contains_xy(area, gx, gy)
    return CellGrid(transform=transform, shape=(rows, cols), inside=inside, crs=crs)


def cell_indicators(
    grid: CellGrid,
    data: StudyData,
    net: WalkNetwork,
    node_dist: dict[str, np.ndarray],
    amenity_snaps: dict[str, Snap],
    layers: list[Layer] | None = None,
    max_snap_m: float = 250.0,
    noise_threshold_db: float = 53.0,
    other_networks: Mapping[str, tuple[WalkNetwork, dict[str, np.ndarray], dict[str, Snap]]] | None = None,
) -> pd.DataFrame:
    """Indicators at the centre of every cell inside the study area.

    Parameters
    ----------
    grid : CellGrid
        The cells.
    data : StudyData
        The run's loaded inputs (amenities, nuisance sources, noise).
    net : WalkNetwork
        The walking network the node distances were computed on.
    node_dist : dict
        Walking distance from every network node to the nearest amenity, per
        category (``AccessResult.node_dist``).
    amenity_snaps : dict
        The amenities' snapped access points per category (``AccessResult.amenity_snaps``),
        for amenities on the cell's own edge.
    layers : list of Layer, optional
        Declared layers to overlay.
    max_snap_m : float
        Cells farther than this from the network get no walking distances.
    noise_threshold_db : float
        Level of the ``noise_lden_share_above_<t>db`` column.
    other_networks : mapping, optional
        Mobility name -> (network, node distances, amenity snaps) of the networks besides
        walking: ``dist_<cat>_<mobility>_m`` and ``time_<cat>_<mobility>_min`` per cell.

    Returns
    -------
    pandas.DataFrame
        One row per inside cell (row-major), indicator columns as for plots, and
        ``on_network`` (the centre lies within ``max_snap_m`` of a path).
    """
    x, y = grid.centres()
    pts = shapely.points(x, y)
    n = len(pts)
    index = pd.RangeIndex(n, name="cell")
    # The cells are point sites: snapped, measured and timed by the functions that do it for plots.
    params = AccessParams(max_snap_m=max_snap_m)
    at = site_snap(net, pts, params)
    networks = [(MOBILITIES["walk"], net, node_dist, amenity_snaps, at)]
    for name, (mnet, mdist, msnaps) in (other_networks or {}).items():
        networks.append((MOBILITIES[name], mnet, mdist, msnaps, snap_via(net, at, mnet, pts, params)))
    walking = []
    for mob, mnet, mdist, msnaps, mat in networks:
        dist = pd.DataFrame(site_distances(mnet, mat, n, mdist, msnaps, list(mdist), mob.suffix), index=index)
        walking += [dist, time_columns(dist, list(mdist), mob)]
    table = pd.concat(walking, axis=1)
    table["on_network"] = at.owners_reached(n)
    cells = gpd.GeoDataFrame(index=table.index, geometry=pts, crs=grid.crs)
    parts = [table, nuisance_distances(cells, data.nuisance), facility_proximity(cells, data.amenities)]
    if data.noise is not None:
        half = grid.cell_m / 2.0 - 1e-6
        parts.append(point_noise_stats(data.noise, x, y, table.index, noise_threshold_db, half_m=half))
    for lay in layers or []:
        parts.append(layer_indicators(cells, lay.name, lay.geometry, lay.spec.count_within_m))
    return pd.concat(parts, axis=1)


def snap_via(net: WalkNetwork, at: Snap, other: WalkNetwork, pts: np.ndarray, params: AccessParams) -> Snap:
    """Point sites snapped to ``other``, a network whose edges are edges of ``net``, reusing ``at``.

    A mobility's network (wheelchair) keeps a subset of the walking edges, with the same
    geometries. Where the walking edge nearest to a point is kept, it is the nearest edge of
    the subset too (no edge of the subset is nearer than the nearest of all), at the same
    distance; where nothing of ``net`` lies within reach, nothing of ``other`` does. Only the
    points whose nearest walking edge was dropped are snapped again. Falls back to
    :func:`~sitefinder.indicators.access.site_snap` when ``other`` has an edge ``net`` has not.

    Parameters
    ----------
    net : WalkNetwork
        The walking network, which ``at`` snapped ``pts`` to (one access point per site).
    at : Snap
        :func:`~sitefinder.indicators.access.site_snap` of ``pts`` on ``net``.
    other : WalkNetwork
        The other network.
    pts : numpy.ndarray
        The point sites.
    params : AccessParams
        As for ``at``.
    """
    if len(at) != len(pts) or not other.n_edges or not net.n_edges:
        return site_snap(other, pts, params)
    to_other = _edge_map(net, other)
    if to_other is None:
        return site_snap(other, pts, params)
    edge = np.where(at.ok, to_other[np.maximum(at.edge, 0)], -1)
    along = np.zeros(len(pts))
    offset = np.where(at.ok, at.offset, np.inf)
    kept = edge >= 0
    frac = shapely.line_locate_point(other.edge_geom[edge[kept]], pts[kept], normalized=True)
    along[kept] = np.clip(frac, 0.0, 1.0) * other.edge_len[edge[kept]]
    again = np.flatnonzero(at.ok & ~kept)
    if len(again):
        s = site_snap(other, pts[again], params)
        edge[again], along[again], offset[again] = s.edge, s.along, s.offset
    offset[edge < 0] = np.inf
    return Snap(owner=at.owner, edge=edge, along=along, offset=offset)


def _edge_map(net: WalkNetwork, other: WalkNetwork) -> np.ndarray | None:
    """The edge of ``other`` with the geometry of each edge of ``net`` (-1: none), or None.

    None when ``other`` has an edge ``net`` has not. Networks on the same nodes are matched
    by their edges' ends (among parallel edges, the one of the same shape) and checked to
    have the same coordinates; otherwise by the geometries' WKB.
    """
    if np.array_equal(net.node_ids, other.node_ids):
        n = np.int64(max(net.n_nodes, 1))
        code_w = net.edge_u.astype(np.int64) * n + net.edge_v
        code_o = other.edge_u.astype(np.int64) * n + other.edge_v
        order = np.argsort(code_w, kind="stable")
        lo = np.searchsorted(code_w[order], code_o, side="left")
        hi = np.searchsorted(code_w[order], code_o, side="right")
        j = order[np.minimum(lo, net.n_edges - 1)]
        same = (hi > lo) & shapely.equals_exact(net.edge_geom[j], other.edge_geom, tolerance=0.0)
        for i in np.flatnonzero(~same & (hi - lo > 1)):  # parallel edges: the one of the same shape
            for cand in order[lo[i] : hi[i]]:
                if shapely.equals_exact(net.edge_geom[cand], other.edge_geom[i], tolerance=0.0):
                    j[i], same[i] = cand, True
                    break
        if same.all():
            to_other = np.full(net.n_edges, -1, dtype=np.int64)
            to_other[j] = np.arange(other.n_edges)
            return to_other
    walk_wkb = shapely.to_wkb(net.edge_geom)
    shapes = pd.Index(walk_wkb).unique()  # parallel edges of one geometry are one shape
    mapped = shapes.get_indexer(shapely.to_wkb(other.edge_geom))
    if (mapped < 0).any():
        return None
    shape_to_other = np.full(len(shapes), -1, dtype=np.int64)
    shape_to_other[mapped] = np.arange(other.n_edges)
    return shape_to_other[shapes.get_indexer(walk_wkb)]


@dataclass(frozen=True)
class Surface:
    """A profile's suitability surface.

    Attributes
    ----------
    profile : str
        Profile name.
    score : numpy.ndarray
        ``(rows, cols)`` float32 score 0-100 ignoring the constraints; NaN outside the
        study area and where a cell could not be scored (no noise data).
    eligible : numpy.ndarray
        ``(rows, cols)`` bool: the cell passes every constraint that applies to cells.
        :attr:`suitability` combines the two.
    transform : affine.Affine
        Pixel-to-world transform (working CRS).
    crs : pyproj.CRS
        The working CRS.
    skipped : list of str
        Criteria and constraints that cells cannot have (plot area, owner, ...).
    provenance : dict
        Profile, weights, cell size, inputs, version.
    judged : numpy.ndarray, optional
        ``(rows, cols)`` bool: the data can judge the cell (see :mod:`sitefinder.coverage`).
    """

    profile: str
    score: np.ndarray
    eligible: np.ndarray
    transform: Affine
    crs: CRS
    skipped: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    judged: np.ndarray | None = None

    @property
    def suitability(self) -> np.ndarray:
        """Score where the cell passes every applicable constraint, 0 where it fails one.

        NaN outside the study area and where the data cannot judge the cell
        (:attr:`judged` False: "onvoldoende gegevens").
        """
        out = np.where(self.eligible, self.score, np.where(np.isnan(self.score), np.nan, 0.0))
        if self.judged is not None:
            out = np.where(self.judged, out, np.nan)
        return out.astype(np.float32)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in the working CRS."""
        rows, cols = self.score.shape
        t = self.transform
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)


def score_cells(
    grid: CellGrid, cells: pd.DataFrame, profile: Profile, noise: bool, coverage: Coverage | None = None
) -> Surface:
    """Score the cells of ``grid`` for one profile.

    Parameters
    ----------
    grid : CellGrid
        The grid the rows of ``cells`` belong to (row-major over ``grid.inside``).
    cells : pandas.DataFrame
        :func:`cell_indicators` output.
    profile : Profile
        The profile.
    noise : bool
        True when the run has noise data. Without coverage (old behaviour), cells
        without noise data stay unscored.
    coverage : Coverage, optional
        Covered radius per cell and the censored columns; not-evaluable criteria then
        drop out per cell, and cells that cannot be judged are marked.
    """
    ev = evaluate(cells, profile, strict=False, coverage=coverage, texts=False)
    score = ev.scores
    if coverage is None and noise and "noise_coverage_share" in cells.columns:
        score = np.where(cells["noise_coverage_share"].to_numpy() > 0, score, np.nan)
    ok = ~ev.flagged
    judged = np.ones(grid.shape, dtype=bool)
    if ev.insufficient.size:
        judged[grid.inside] = ~ev.insufficient
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    out[grid.inside] = score
    elig = np.zeros(grid.shape, dtype=bool)
    elig[grid.inside] = ok & np.isfinite(score)
    prov = {
        "profile": profile.name,
        "profile_source": profile.source_file,
        "weights": {c.name: round(float(w), 4) for c, w in zip(ev.criteria, ev.weights, strict=True)},
        "skipped": ev.skipped,
        "cell_m": grid.cell_m,
    }
    return Surface(profile=profile.name, score=out, eligible=elig, transform=grid.transform, crs=grid.crs,
                   skipped=ev.skipped, provenance=prov, judged=judged)  # fmt: skip


def suitability_surfaces(
    profiles: list[Profile],
    data: StudyData,
    net: WalkNetwork,
    node_dist: dict[str, np.ndarray],
    amenity_snaps: dict[str, Snap],
    layers: list[Layer] | None = None,
    cell_m: float = 50.0,
    max_snap_m: float = 250.0,
    noise_threshold_db: float = 53.0,
    other_networks: Mapping[str, tuple[WalkNetwork, dict[str, np.ndarray], dict[str, Snap]]] | None = None,
    cache_dir: Path | None = None,
    tile_budget_mb: float = TILE_BUDGET_MB,
) -> dict[str, Surface]:
    """Suitability surface of every profile over the study area (arrays + transform).

    This is the function a map layer or report calls; :func:`write_surface` writes
    one to a GeoTIFF.

    Parameters
    ----------
    profiles : list of Profile
        The profiles.
    data : StudyData
        The run's loaded inputs (``study_area``, amenities, nuisance, noise, ``sources``).
    net : WalkNetwork
        The walking network of the accessibility stage.
    node_dist : dict
        ``AccessResult.node_dist``.
    amenity_snaps : dict
        ``AccessResult.amenity_snaps``.
    layers : list of Layer, optional
        Declared layers.
    cell_m : float
        Cell size in metres (default 50).
    max_snap_m : float
        Maximum distance from a cell centre to the walking network.
    noise_threshold_db : float
        As for plots.
    other_networks : mapping, optional
        The networks besides walking (see :func:`cell_indicators`).
    cache_dir : pathlib.Path, optional
        Cache folder: surfaces of the same inputs are reused (:mod:`sitefinder.surfacecache`).
    tile_budget_mb : float
        Memory for one tile of cells (see :func:`tile_rows`); the results do not depend on it.

    Returns
    -------
    dict
        Profile name -> :class:`Surface`.
    """
    t0 = time.perf_counter()

    def tile(band: CellGrid) -> dict[str, Surface]:
        cells = cell_indicators(
            band, data, net, node_dist, amenity_snaps, layers, max_snap_m, noise_threshold_db, other_networks
        )
        coverage = None
        if data.data_area is not None:
            x, y = band.centres()
            centres = shapely.points(x, y)
            radius = covered_radius(centres, data.data_area)
            rules = censor_rules(cells.columns, [*node_dist, *NUISANCE_KINDS])
            outside = ~shapely.intersects(data.data_area, centres)
            off = ~cells["on_network"].to_numpy(dtype=bool) & (radius >= max_snap_m)
            coverage = Coverage(radius_m=radius, rules=rules, outside=outside, off_network=off)
        return {p.name: score_cells(band, cells, p, data.noise is not None, coverage) for p in profiles}

    def compute() -> dict[str, Surface]:
        grid = cell_grid(data.study_area, data.crs, cell_m)
        n_columns = 2 * len(node_dist) * (1 + len(other_networks or {})) + 24 + 4 * len(layers or [])
        step = tile_rows(grid, n_columns, tile_budget_mb)
        if step >= grid.shape[0] or not grid.inside.any():
            return tile(grid)
        out: dict[str, Surface] = {}
        for row0 in range(0, grid.shape[0], step):
            band = grid.band(row0, min(row0 + step, grid.shape[0]))
            if not band.inside.any():
                continue
            for name, part in tile(band).items():
                if name not in out:
                    whole = np.full(grid.shape, np.nan, dtype=np.float32)
                    out[name] = replace(part, score=whole, eligible=np.zeros(grid.shape, dtype=bool),
                                        transform=grid.transform, judged=np.ones(grid.shape, dtype=bool))  # fmt: skip
                rows = slice(row0, row0 + band.shape[0])
                s = out[name]
                s.score[rows], s.eligible[rows] = part.score, part.eligible
                if s.judged is not None and part.judged is not None:
                    s.judged[rows] = part.judged
        log.info("Suitability surfaces in tiles of %d rows (%d x %d cells)", step, *grid.shape)
        return out

    hit = False
    if cache_dir is None:
        per_profile = compute()
    else:
        from sitefinder.surfacecache import cached_surfaces, surface_key

        key = surface_key(
            study_area=data.study_area, data_area=data.data_area, crs=data.crs, net=net, node_dist=node_dist,
            amenity_snaps=amenity_snaps, other_networks=other_networks or {}, amenities=data.amenities,
            nuisance=data.nuisance, noise=data.noise, layers=list(layers or []), profiles=list(profiles),
            params={"cell_m": cell_m, "max_cells": MAX_CELLS, "max_snap_m": max_snap_m,
                    "noise_threshold_db": noise_threshold_db},
        )  # fmt: skip
        per_profile, hit = cached_surfaces(Path(cache_dir), key, compute)
    common = {
        "sitefinder_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "working_crs": data.crs.to_string(),
        "inputs": data.sources,
        "layers": {lay.name: lay.provenance for lay in layers or []},
        "method": "cell centre; walking distance via the nearest network edge; noise at the centre",
    }
    out = {name: replace(s, provenance={**common, **s.provenance}) for name, s in per_profile.items()}
    first = next(iter(out.values()), None)
    if first is not None:
        log.info("Suitability surfaces for %d profiles on %d x %d cells of %g m %s in %.1f s", len(out),
                 *first.score.shape, first.transform.a, "from the cache" if hit else "computed",
                 time.perf_counter() - t0)  # fmt: skip
    return out


def write_surface(surface: Surface, path: str | Path) -> Path:
    """Write a surface as a GeoTIFF, atomically.

    Band 1 is the suitability (score where eligible, 0 where a constraint fails),
    band 2 the score ignoring constraints (0-100), band 3 the eligibility (1/0). All
    are float32 with nodata NaN outside the study area, DEFLATE-compressed and tiled;
    the dataset tags hold ``SITEFINDER_PROVENANCE`` (JSON), ``PROFILE`` and ``UNITS``.

    Parameters
    ----------
    surface : Surface
        The surface.
    path : str or pathlib.Path
        Target file; its folder is created when missing.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    target = Path(path)
    rows, cols = surface.score.shape
    elig = np.where(np.isnan(surface.score), np.nan, surface.eligible.astype(np.float32))
    profile = {
        "driver": "GTiff", "height": rows, "width": cols, "count": 3, "dtype": "float32",
        "crs": rasterio.crs.CRS.from_wkt(surface.crs.to_wkt()), "transform": surface.transform, "nodata": np.nan,
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 3,
    }  # fmt: skip
    with atomic_path(target) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(surface.suitability, 1)
        dst.write(surface.score.astype(np.float32), 2)
        dst.write(elig.astype(np.float32), 3)
        dst.set_band_description(1, f"suitability_{surface.profile}")
        dst.set_band_description(2, f"score_{surface.profile}")
        dst.set_band_description(3, f"eligible_{surface.profile}")
        dst.update_tags(
            1, QUANTITY="suitability: score where every hard constraint is met, else 0; "
            "nodata where the data cannot judge the cell", UNITS="0-100",
        )  # fmt: skip
        dst.update_tags(2, QUANTITY="score ignoring the hard constraints", UNITS="0-100")
        dst.update_tags(3, QUANTITY="passes every constraint that applies to cells", UNITS="1/0")
        dst.update_tags(**{PROVENANCE_TAG: json.dumps(surface.provenance, sort_keys=True, default=str)},
                        PROFILE=surface.profile, UNITS="score 0-100")  # fmt: skip
    log.info("Wrote the %s suitability surface (%d x %d) to %s", surface.profile, rows, cols, target)
    return target
