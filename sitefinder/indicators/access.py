"""Walking accessibility per plot: nearest distance and counts within distances, per category."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sitefinder.categories import CategoryRegistry
from sitefinder.network import (
    AugmentedGraph,
    Snap,
    WalkNetwork,
    build_augmented,
    counts_within,
    nearest_distances,
    snap,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessParams:
    """Parameters of the accessibility indicators.

    Attributes
    ----------
    max_snap_m : float
        Points farther than this from the walking network are unreachable.
    plot_access_spacing_m : float
        Spacing of access points along a plot's edge.
    count_within_m : tuple of float
        Walking distances for the ``n_<category>_<d>m`` counts (CROW: 30 % of Dutch
        people live within 500 m of daily services, 75 % within 1,000 m).
    """

    max_snap_m: float = 250.0
    plot_access_spacing_m: float = 25.0
    count_within_m: tuple[float, ...] = (500.0, 1000.0)


def plot_access_points(plots: gpd.GeoSeries, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``spacing_m`` along each plot's outline (at least 4 per plot).

    Returns
    -------
    points, owner : numpy.ndarray
        Shapely Points and the positional index of the plot each belongs to.
    """
    bounds = shapely.boundary(plots.to_numpy())
    lengths = shapely.length(bounds)
    counts = np.maximum(4, np.ceil(lengths / spacing_m).astype(int))
    owner = np.repeat(np.arange(len(bounds)), counts)
    starts = np.cumsum(counts) - counts
    frac = (np.arange(counts.sum()) - np.repeat(starts, counts)) / np.repeat(counts, counts)
    pts = shapely.line_interpolate_point(bounds[owner], frac, normalized=True)
    return pts, owner


def amenity_access_points(
    amenities: gpd.GeoDataFrame, boundary_min_area_m2: float | None, spacing_m: float = 50.0
) -> tuple[np.ndarray, np.ndarray]:
    """Access points of the amenities of one category.

    Points are used as they are; polygons by a representative point, except
    polygons of at least ``boundary_min_area_m2`` (parks), which are reached at
    points along their edge.
    """
    geoms = amenities.geometry.to_numpy()
    n = len(geoms)
    big = np.zeros(n, dtype=bool)
    if boundary_min_area_m2 is not None:
        big = shapely.area(geoms) >= boundary_min_area_m2
    pts = list(shapely.point_on_surface(geoms[~big]))
    owner = list(np.flatnonzero(~big))
    if big.any():
        bp, bo = plot_access_points(gpd.GeoSeries(geoms[big]), spacing_m)
        pts += list(bp)
        owner += list(np.flatnonzero(big)[bo])
    return np.asarray(pts, dtype=object), np.asarray(owner, dtype=np.int64)


@dataclass(frozen=True)
class AccessResult:
    """Outputs of the accessibility computation, for indicators and maps."""

    table: pd.DataFrame
    unreachable_amenities: dict[str, list[str]]
    graph: AugmentedGraph
    plot_snap: Snap
    amenity_snaps: dict[str, Snap]


def accessibility(
    net: WalkNetwork,
    plots: gpd.GeoDataFrame,
    amenities: gpd.GeoDataFrame,
    registry: CategoryRegistry,
    params: AccessParams,
) -> AccessResult:
    """Nearest walking distance and counts within distances, per plot and category.

    Parameters
    ----------
    net : WalkNetwork
        The walking network (working CRS).
    plots : geopandas.GeoDataFrame
        Plots indexed by plot id.
    amenities : geopandas.GeoDataFrame
        Classified amenities (``category`` column).
    registry : CategoryRegistry
        Category definitions (for polygon access rules and the column order).
    params : AccessParams
        Snapping and count parameters.

    Returns
    -------
    AccessResult
        ``table`` is indexed like ``plots`` with ``dist_<cat>_m`` (NaN when no
        amenity of the category is reachable) and ``n_<cat>_<d>m`` columns.
    """
    pts, owner = plot_access_points(plots.geometry, params.plot_access_spacing_m)
    plot_snap = snap(net, pts, owner, params.max_snap_m)
    reachable_plot = np.zeros(len(plots), dtype=bool)
    reachable_plot[plot_snap.owner[plot_snap.ok]] = True
    if not reachable_plot.all():
        bad = plots.index[~reachable_plot].tolist()
        log.warning(
            "%d plots lie more than %.0f m from the walking network and get no walking "
            "distances: %s",
            len(bad),
            params.max_snap_m,
            ", ".join(map(str, bad[:10])),
        )
    amenity_snaps: dict[str, Snap] = {}
    unreachable: dict[str, list[str]] = {}
    for cat in registry:
        sel = amenities[amenities["category"] == cat.name]
        apts, aown = amenity_access_points(sel, cat.polygon_access_min_area_m2)
        s = snap(net, apts, aown, params.max_snap_m)
        amenity_snaps[cat.name] = s
        got = np.zeros(len(sel), dtype=bool)
        got[s.owner[s.ok]] = True
        if (~got).any():
            unreachable[cat.name] = sel["osm_id"].to_numpy()[~got].tolist()
            log.warning(
                "%s: %d of %d amenities lie more than %.0f m from the walking network and "
                "are left out (not snapped): %s",
                cat.name,
                int((~got).sum()),
                len(sel),
                params.max_snap_m,
                ", ".join(unreachable[cat.name][:5]),
            )
    aug = build_augmented(net, amenity_snaps, plot_snap, len(plots))
    cols: dict[str, np.ndarray] = {}
    plot_sinks = aug.sink_of_group["__plots__"]
    for cat in registry:
        d = nearest_distances(aug, cat.name)[plot_sinks]
        cols[f"dist_{cat.name}_m"] = np.where(np.isfinite(d), np.round(d, 1), np.nan)
    counts = counts_within(aug, registry.names, list(params.count_within_m))
    for (cat_name, t), arr in counts.items():
        cols[f"n_{cat_name}_{int(t)}m"] = arr
    order = [f"dist_{c}_m" for c in registry.names] + [
        f"n_{c}_{int(t)}m" for c in registry.names for t in params.count_within_m
    ]
    table = pd.DataFrame(cols, index=plots.index)[order]
    return AccessResult(table, unreachable, aug, plot_snap, amenity_snaps)
