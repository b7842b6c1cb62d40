"""Walking accessibility per plot: nearest distance and counts within distances, per category."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sitefinder.categories import CategoryRegistry
from sitefinder.network import (
    Snap,
    WalkNetwork,
    counts_within,
    nearest_distances,
    node_distances,
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


def plot_access_points(plots: gpd.GeoSeries | np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``spacing_m`` along each plot's outline (at least 4 per plot); a point plot is its own point.

    Parameters
    ----------
    plots : geopandas.GeoSeries or numpy.ndarray
        Plot polygons or points (working CRS).
    spacing_m : float
        Spacing of the points along the outline, metres.

    Returns
    -------
    points, owner : numpy.ndarray
        Shapely Points and the positional index of the plot each belongs to.
    """
    geoms = plots.to_numpy() if isinstance(plots, gpd.GeoSeries) else np.asarray(plots, dtype=object)
    is_point = shapely.get_type_id(geoms) == 0
    outlines = geoms.copy()
    outlines[is_point] = None
    bounds = shapely.boundary(outlines)
    lengths = shapely.length(bounds)
    counts = np.where(is_point, 1, np.maximum(4, np.ceil(np.nan_to_num(lengths) / spacing_m).astype(int)))
    owner = np.repeat(np.arange(len(geoms)), counts)
    starts = np.cumsum(counts) - counts
    frac = (np.arange(counts.sum()) - np.repeat(starts, counts)) / np.repeat(counts, counts)
    pts = shapely.line_interpolate_point(bounds[owner], frac, normalized=True)
    own_point = is_point[owner]
    pts[own_point] = geoms[owner[own_point]]
    return pts, owner


def amenity_access_points(
    amenities: gpd.GeoDataFrame | np.ndarray,
    boundary_min_area_m2: float | None,
    spacing_m: float = 50.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Access points of the amenities of one category.

    Points are used as they are; polygons by a representative point, except
    polygons of at least ``boundary_min_area_m2`` (parks), which are reached at
    points along their edge.

    Parameters
    ----------
    amenities : geopandas.GeoDataFrame or numpy.ndarray
        The category's amenities (or their geometries).
    boundary_min_area_m2 : float or None
        Polygons at least this large are reached along their edge.
    spacing_m : float
        Spacing of the edge points of large polygons.

    Returns
    -------
    points, owner : numpy.ndarray
        Shapely Points and the positional index of the amenity each belongs to.
    """
    geoms = (
        amenities.geometry.to_numpy()
        if isinstance(amenities, gpd.GeoDataFrame)
        else np.asarray(amenities, dtype=object)
    )
    big = np.zeros(len(geoms), dtype=bool)
    if boundary_min_area_m2 is not None:
        big = shapely.area(geoms) >= boundary_min_area_m2
    small = np.flatnonzero(~big)
    pts = shapely.point_on_surface(geoms[small])
    owner = small.astype(np.int64)
    if big.any():
        bp, bo = plot_access_points(geoms[big], spacing_m)
        pts = np.concatenate([pts, bp])
        owner = np.concatenate([owner, np.flatnonzero(big)[bo]])
    return np.asarray(pts, dtype=object), owner


def _dist_column(d: np.ndarray) -> np.ndarray:
    """Metres rounded to 0.1, NaN where unreachable."""
    return np.where(np.isfinite(d), np.round(d, 1), np.nan)


def site_snap(net: WalkNetwork, sites: gpd.GeoSeries | np.ndarray, params: AccessParams) -> Snap:
    """The sites' access points snapped to ``net``: points along a plot's outline, a point site itself.

    Plots and the cells of a suitability surface (their centres, as point sites) are
    snapped the same way (:func:`plot_access_points`, :func:`sitefinder.network.snap`);
    ``owner`` indexes the sites.
    """
    pts, owner = plot_access_points(sites, params.plot_access_spacing_m)
    return snap(net, pts, owner, params.max_snap_m)


def site_distances(
    net: WalkNetwork,
    at: Snap,
    n_sites: int,
    node_dist: dict[str, np.ndarray],
    snaps: dict[str, Snap],
    names: list[str],
    suffix: str = "",
) -> dict[str, np.ndarray]:
    """Walking distance from each site to the nearest amenity, per category: ``dist_<cat><suffix>_m``.

    The one computation of walking distances for plots and grid cells: the best of
    the site's access points (``at``, see :func:`site_snap`), each reached through
    the ends of its edge or along it from an amenity on the same edge
    (:func:`sitefinder.network.nearest_distances`). Metres to 0.1 m, NaN where no
    amenity of the category is reachable.
    """
    return {
        f"dist_{c}{suffix}_m": _dist_column(
            nearest_distances(net, node_dist[c], at, n_sites, snaps.get(c, Snap.empty()))
        )
        for c in names
    }


def amenity_snaps(
    net: WalkNetwork,
    amenities: gpd.GeoDataFrame,
    registry: CategoryRegistry,
    params: AccessParams,
    names: list[str] | None = None,
    warn: bool = True,
) -> tuple[dict[str, Snap], dict[str, list[str]]]:
    """Snap the access points of every category's amenities to the network.

    Amenities farther than ``params.max_snap_m`` from every edge are left out and
    logged (they are unreachable, not snapped to a far street).

    Parameters
    ----------
    net : WalkNetwork
        The walking network.
    amenities : geopandas.GeoDataFrame
        Classified amenities (``category`` column).
    registry : CategoryRegistry
        Category definitions (polygon access rules).
    params : AccessParams
        Snapping parameters.
    names : list of str, optional
        Only these categories (default: all, in registry order).
    warn : bool
        Log a warning for amenities left out.

    Returns
    -------
    snaps, unreachable : dict
        Snapped access points per category (``owner`` indexes that category's
        amenities in the order of ``amenities``), and the ``osm_id`` of the left-out
        amenities per category.
    """
    cats = [c for c in registry if names is None or c.name in names]
    geoms = amenities.geometry.to_numpy()
    rows = amenities.groupby("category", sort=False).indices if len(amenities) else {}
    empty = np.empty(0, dtype=np.int64)
    members = [np.asarray(rows.get(c.name, empty), dtype=np.int64) for c in cats]
    parts = [
        amenity_access_points(geoms[m], c.polygon_access_min_area_m2)
        for c, m in zip(cats, members, strict=True)
    ]
    # One spatial query for all categories, then split per category.
    sizes = [len(p[0]) for p in parts]
    allpts = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, dtype=object)
    allown = np.concatenate([p[1] for p in parts]) if parts else empty
    whole = snap(net, allpts, allown, params.max_snap_m)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    snaps: dict[str, Snap] = {}
    unreachable: dict[str, list[str]] = {}
    for i, cat in enumerate(cats):
        sl = slice(bounds[i], bounds[i + 1])
        s = Snap(whole.owner[sl], whole.edge[sl], whole.along[sl], whole.offset[sl])
        snaps[cat.name] = s
        got = s.owners_reached(len(members[i]))
        if got.all():
            continue
        if "osm_id" in amenities.columns:
            ids = amenities["osm_id"].to_numpy()[members[i][~got]]
        else:
            ids = amenities.index.to_numpy()[members[i][~got]]
        unreachable[cat.name] = [str(x) for x in ids]
        if warn:
            log.warning(
                "%s: %d of %d amenities lie more than %.0f m from the walking network and "
                "are left out (not snapped): %s",
                cat.name,
                int((~got).sum()),
                len(members[i]),
                params.max_snap_m,
                ", ".join(unreachable[cat.name][:5]),
            )
    return snaps, unreachable


def category_node_distances(
    net: WalkNetwork, snaps: dict[str, Snap], names: list[str]
) -> dict[str, np.ndarray]:
    """Distance (m) from every network node to the nearest amenity, per category.

    One multi-source Dijkstra per category (see :func:`sitefinder.network.node_distances`).
    """
    if not names:
        return {}
    dist = node_distances(net, [snaps[c] for c in names])
    return {c: dist[i] for i, c in enumerate(names)}


def node_accessibility(
    net: WalkNetwork,
    amenities: gpd.GeoDataFrame,
    registry: CategoryRegistry,
    params: AccessParams,
    node_dist: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Nearest walking distance per category at every network node (for suitability surfaces).

    Parameters
    ----------
    net : WalkNetwork
        The walking network (working CRS).
    amenities : geopandas.GeoDataFrame
        Classified amenities (``category`` column).
    registry : CategoryRegistry
        Category definitions (column order, polygon access rules).
    params : AccessParams
        Snapping parameters.
    node_dist : dict, optional
        Precomputed (e.g. cached) node distances per category; computed when absent.

    Returns
    -------
    pandas.DataFrame
        Indexed by node position (``node``, row of ``net.node_xy``), with
        ``dist_<cat>_m`` columns in metres (NaN where unreachable) and the node's
        ``x``, ``y``.

    Examples
    --------
    >>> table = node_accessibility(net, amenities, registry, AccessParams())  # doctest: +SKIP
    >>> table["dist_supermarket_m"].describe()  # doctest: +SKIP
    """
    if node_dist is None:
        snaps, _ = amenity_snaps(net, amenities, registry, params)
        node_dist = category_node_distances(net, snaps, registry.names)
    cols = {f"dist_{c}_m": _dist_column(node_dist[c]) for c in registry.names}
    table = pd.DataFrame(cols, index=pd.RangeIndex(net.n_nodes, name="node"))
    table["x"] = net.node_xy[:, 0]
    table["y"] = net.node_xy[:, 1]
    return table


def group_snaps(amenities: gpd.GeoDataFrame, snaps: dict[str, Snap]) -> dict[str, Snap]:
    """The snaps with owners renumbered by ``count_group``, so that a group counts once.

    Without a ``count_group`` column (see :func:`sitefinder.categories.count_groups`)
    every amenity is its own group and the snaps are returned as they are.
    """
    if "count_group" not in amenities.columns or not len(amenities):
        return snaps
    rows = amenities.groupby("category", sort=False).indices
    out: dict[str, Snap] = {}
    for cat, s in snaps.items():
        members = rows.get(cat)
        if members is None or not len(s):
            out[cat] = s
            continue
        codes, _ = pd.factorize(amenities["count_group"].to_numpy()[members])
        out[cat] = Snap(codes[s.owner].astype(np.int64), s.edge, s.along, s.offset)
    return out


@dataclass(frozen=True)
class AccessResult:
    """Outputs of the accessibility computation, for indicators and maps.

    Attributes
    ----------
    table : pandas.DataFrame
        Per-plot indicators (see :func:`accessibility`).
    unreachable_amenities : dict
        ``osm_id`` of amenities left out per category (too far from the network).
    plot_snap : Snap
        Snapped plot access points.
    amenity_snaps : dict
        Snapped amenity access points per category.
    node_dist : dict
        Distance from every network node to the nearest amenity, per category.
    other_networks : dict
        Mobility name -> (network, its AccessResult) for the networks besides walking
        (:mod:`sitefinder.indicators.mobility`), for the suitability surfaces.
    """

    table: pd.DataFrame
    unreachable_amenities: dict[str, list[str]]
    plot_snap: Snap
    amenity_snaps: dict[str, Snap]
    node_dist: dict[str, np.ndarray]
    other_networks: dict[str, tuple[WalkNetwork, AccessResult]] = field(default_factory=dict)


def accessibility(
    net: WalkNetwork,
    plots: gpd.GeoDataFrame,
    amenities: gpd.GeoDataFrame,
    registry: CategoryRegistry,
    params: AccessParams,
    node_dist: dict[str, np.ndarray] | None = None,
) -> AccessResult:
    """Nearest walking distance and counts within distances, per plot and category.

    Parameters
    ----------
    net : WalkNetwork
        The walking network (working CRS).
    plots : geopandas.GeoDataFrame
        Plots indexed by plot id (any polygons: grid cells work too).
    amenities : geopandas.GeoDataFrame
        Classified amenities (``category`` column).
    registry : CategoryRegistry
        Category definitions (for polygon access rules and the column order).
    params : AccessParams
        Snapping and count parameters.
    node_dist : dict, optional
        Node distances per category made from the same amenities and parameters
        (e.g. from :mod:`sitefinder.netcache`); computed when absent.

    Returns
    -------
    AccessResult
        ``table`` is indexed like ``plots`` with ``dist_<cat>_m`` (NaN when no
        amenity of the category is reachable) and ``n_<cat>_<d>m`` columns.
    """
    plot_snap = site_snap(net, plots.geometry, params)
    reachable_plot = plot_snap.owners_reached(len(plots))
    if not reachable_plot.all():
        bad = plots.index[~reachable_plot].tolist()
        log.warning(
            "%d plots lie more than %.0f m from the walking network and get no walking distances: %s",
            len(bad),
            params.max_snap_m,
            ", ".join(map(str, bad[:10])),
        )
    snaps, unreachable = amenity_snaps(net, amenities, registry, params)
    if node_dist is None:
        node_dist = category_node_distances(net, snaps, registry.names)
    cols = site_distances(net, plot_snap, len(plots), node_dist, snaps, registry.names)
    counts = counts_within(
        net, plot_snap, len(plots), group_snaps(amenities, snaps), list(params.count_within_m)
    )
    for (cat_name, t), arr in counts.items():
        cols[f"n_{cat_name}_{int(t)}m"] = arr
    order = [f"dist_{c}_m" for c in registry.names] + [
        f"n_{c}_{int(t)}m" for c in registry.names for t in params.count_within_m
    ]
    table = pd.DataFrame(cols, index=plots.index)[order]
    return AccessResult(table, unreachable, plot_snap, snaps, node_dist)
