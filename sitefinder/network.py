"""The accessibility engine: walking distances on a compressed sparse graph.

Design
------
The osmnx walking graph becomes a symmetric CSR matrix (metres). Every point that
must be reached (amenity access points, plot edge points) is snapped to its nearest
edge, within a maximum snapping distance; beyond it the point is *unreachable*, never
silently attached far away. Snapped points are inserted as real nodes that split their
edge, so a plot and an amenity on the same street segment get the exact along-edge
distance with no special cases. Then:

* nearest distance per category: one multi-source Dijkstra
  (``scipy.sparse.csgraph.dijkstra``) from a virtual source joined to every access
  point of the category (weight = off-network distance), for all network nodes and
  all plots at once;
* counts within a distance: bounded Dijkstra searches (``limit=``) from each plot's
  virtual source to the amenities' virtual sinks.

Virtual sources only have outgoing and virtual sinks only incoming edges, so no path
can cut through a plot or an amenity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

log = logging.getLogger(__name__)

_MIN_WEIGHT = 1e-6  # csgraph ignores zero weights in sparse input; keep zero-length hops


@dataclass(frozen=True)
class WalkNetwork:
    """Undirected walking network as arrays (one working CRS, metres).

    Attributes
    ----------
    node_ids : numpy.ndarray
        OSM node id of each graph node (row order of the matrix).
    node_xy : numpy.ndarray
        (n, 2) coordinates of the nodes.
    edge_u, edge_v : numpy.ndarray
        Node indices of each undirected edge (one per parallel pair).
    edge_len : numpy.ndarray
        Length of each edge in metres (osmnx ``length``).
    edge_geom : numpy.ndarray
        Shapely LineStrings of the edges, oriented from u to v.
    """

    node_ids: np.ndarray
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len: np.ndarray
    edge_geom: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of network nodes."""
        return len(self.node_ids)

    @classmethod
    def from_osmnx(cls, graph: nx.MultiDiGraph) -> WalkNetwork:
        """Build from a projected osmnx graph (both directions of a way count once)."""
        node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
        index = {nid: i for i, nid in enumerate(node_ids.tolist())}
        xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype=float)
        us, vs, lens, geoms = [], [], [], []
        seen: set[tuple[int, int, int]] = set()
        for u, v, k, d in graph.edges(keys=True, data=True):
            iu, iv = index[u], index[v]
            key = (min(iu, iv), max(iu, iv), k)
            if key in seen:
                continue
            seen.add(key)
            geom = d.get("geometry")
            if geom is None:
                geom = shapely.LineString([xy[iu], xy[iv]])
            us.append(iu)
            vs.append(iv)
            lens.append(float(d["length"]))
            geoms.append(geom)
        return cls(
            node_ids=node_ids,
            node_xy=xy,
            edge_u=np.asarray(us, dtype=np.int64),
            edge_v=np.asarray(vs, dtype=np.int64),
            edge_len=np.asarray(lens, dtype=float),
            edge_geom=np.asarray(geoms, dtype=object),
        )


@dataclass(frozen=True)
class Snap:
    """Access points snapped to the network.

    Attributes
    ----------
    owner : numpy.ndarray
        Index of the object (plot or amenity) each access point belongs to.
    edge : numpy.ndarray
        Edge index each point snapped to (-1 when unreachable).
    along : numpy.ndarray
        Distance along the edge from its ``u`` node, metres.
    offset : numpy.ndarray
        Straight-line distance from the point to the edge, metres.
    """

    owner: np.ndarray
    edge: np.ndarray
    along: np.ndarray
    offset: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """Mask of access points that snapped within the maximum distance."""
        return self.edge >= 0


def snap(net: WalkNetwork, points: np.ndarray, owner: np.ndarray, max_snap_m: float) -> Snap:
    """Snap points to their nearest network edge within ``max_snap_m`` metres.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    points : numpy.ndarray
        Shapely Points (working CRS).
    owner : numpy.ndarray
        Object index per point.
    max_snap_m : float
        Points farther than this from every edge are marked unreachable (``edge == -1``).
    """
    tree = shapely.STRtree(net.edge_geom)
    points = np.asarray(points, dtype=object)
    edge = np.full(len(points), -1, dtype=np.int64)
    along = np.zeros(len(points))
    offset = np.full(len(points), np.inf)
    if len(points):
        (pi, ei), dist = tree.query_nearest(
            points, max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        edge[pi] = ei
        offset[pi] = dist
        geoms = net.edge_geom[ei]
        frac = shapely.line_locate_point(geoms, points[pi], normalized=True)
        along[pi] = np.clip(frac, 0.0, 1.0) * net.edge_len[ei]
    return Snap(owner=np.asarray(owner, dtype=np.int64), edge=edge, along=along, offset=offset)


@dataclass(frozen=True)
class AugmentedGraph:
    """The network with snapped points inserted and virtual sources/sinks attached."""

    matrix: csr_matrix
    n_base: int
    source_of_group: dict[str, int]
    sink_of_group: dict[str, np.ndarray]
    plot_source: np.ndarray


def _split_edges(
    net: WalkNetwork, snaps: list[Snap]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Insert every snapped point as a node; return segment arrays and node ids per snap set."""
    n = net.n_nodes
    sizes = [int(s.ok.sum()) for s in snaps]
    edge = np.concatenate([s.edge[s.ok] for s in snaps]) if snaps else np.empty(0, np.int64)
    along = np.concatenate([s.along[s.ok] for s in snaps]) if snaps else np.empty(0)
    m = len(edge)
    order = np.lexsort((along, edge))
    e_sorted, a_sorted = edge[order], along[order]
    new_ids = np.empty(m, dtype=np.int64)
    new_ids[order] = n + np.arange(m)
    sorted_ids = n + np.arange(m)
    first = np.ones(m, dtype=bool)
    first[1:] = e_sorted[1:] != e_sorted[:-1]
    last = np.ones(m, dtype=bool)
    last[:-1] = e_sorted[:-1] != e_sorted[1:]
    prev_node = np.where(first, net.edge_u[e_sorted], np.roll(sorted_ids, 1))
    prev_pos = np.where(first, 0.0, np.roll(a_sorted, 1))
    seg_a = [prev_node, sorted_ids[last]]
    seg_b = [sorted_ids, net.edge_v[e_sorted[last]]]
    seg_w = [a_sorted - prev_pos, net.edge_len[e_sorted[last]] - a_sorted[last]]
    untouched = np.ones(len(net.edge_u), dtype=bool)
    untouched[e_sorted] = False
    seg_a.append(net.edge_u[untouched])
    seg_b.append(net.edge_v[untouched])
    seg_w.append(net.edge_len[untouched])
    a = np.concatenate(seg_a)
    b = np.concatenate(seg_b)
    w = np.maximum(np.concatenate(seg_w), _MIN_WEIGHT)
    splits = np.split(new_ids, np.cumsum(sizes)[:-1]) if snaps else []
    return a, b, w, splits


def build_augmented(
    net: WalkNetwork, amenity_snaps: dict[str, Snap], plot_snap: Snap, n_plots: int
) -> AugmentedGraph:
    """Build the CSR graph with split edges, category sources, plot sinks and sources.

    Parameters
    ----------
    net : WalkNetwork
        The base network.
    amenity_snaps : dict
        Snapped access points per category; ``owner`` indexes that category's
        amenities (0..k-1).
    plot_snap : Snap
        Snapped plot access points; ``owner`` indexes plots (0..n_plots-1).
    n_plots : int
        Number of plots.
    """
    names = list(amenity_snaps)
    snap_list = [amenity_snaps[c] for c in names] + [plot_snap]
    a, b, w, split_ids = _split_edges(net, snap_list)
    next_id = net.n_nodes + sum(len(s) for s in split_ids)
    rows = [a, b]
    cols = [b, a]
    wts = [w, w]
    source_of_group: dict[str, int] = {}
    sink_of_group: dict[str, np.ndarray] = {}
    for name, s, ids in zip(names, snap_list[:-1], split_ids[:-1], strict=True):
        ok = s.ok
        src = next_id
        next_id += 1
        source_of_group[name] = src
        rows.append(np.full(len(ids), src))
        cols.append(ids)
        wts.append(np.maximum(s.offset[ok], _MIN_WEIGHT))
        n_obj = int(s.owner.max()) + 1 if len(s.owner) else 0
        sinks = next_id + np.arange(n_obj)
        next_id += n_obj
        sink_of_group[name] = sinks
        rows.append(ids)
        cols.append(sinks[s.owner[ok]])
        wts.append(np.maximum(s.offset[ok], _MIN_WEIGHT))
    ok = plot_snap.ok
    plot_ids = split_ids[-1]
    plot_sink = next_id + np.arange(n_plots)
    next_id += n_plots
    plot_source = next_id + np.arange(n_plots)
    next_id += n_plots
    rows += [plot_ids, plot_source[plot_snap.owner[ok]]]
    cols += [plot_sink[plot_snap.owner[ok]], plot_ids]
    off = np.maximum(plot_snap.offset[ok], _MIN_WEIGHT)
    wts += [off, off]
    sink_of_group["__plots__"] = plot_sink
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    v = np.concatenate(wts)
    # Keep the shortest of parallel edges (csr_matrix would add them up).
    order = np.lexsort((v, c, r))
    r, c, v = r[order], c[order], v[order]
    keep = np.ones(len(r), dtype=bool)
    keep[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    matrix = csr_matrix((v[keep], (r[keep], c[keep])), shape=(next_id, next_id))
    return AugmentedGraph(matrix, net.n_nodes, source_of_group, sink_of_group, plot_source)


def nearest_distances(aug: AugmentedGraph, category: str) -> np.ndarray:
    """Walking distance from every node of the augmented graph to the nearest amenity.

    Returns the full distance vector (``inf`` where unreachable); index it with
    ``aug.sink_of_group['__plots__']`` for plots or ``[:aug.n_base]`` for network nodes.
    """
    return dijkstra(aug.matrix, directed=True, indices=aug.source_of_group[category])


def counts_within(
    aug: AugmentedGraph,
    categories: list[str],
    thresholds_m: list[float],
    chunk: int = 64,
) -> dict[tuple[str, float], np.ndarray]:
    """Number of amenities of each category within each walking distance of each plot.

    Bounded Dijkstra from each plot's virtual source (``limit`` = the largest threshold).

    Returns
    -------
    dict
        ``(category, threshold) -> int array`` over plots.
    """
    n_plots = len(aug.plot_source)
    limit = float(max(thresholds_m)) if thresholds_m else 0.0
    out = {(c, t): np.zeros(n_plots, dtype=np.int64) for c in categories for t in thresholds_m}
    if n_plots == 0 or not thresholds_m:
        return out
    for start in range(0, n_plots, chunk):
        idx = aug.plot_source[start : start + chunk]
        dist = dijkstra(aug.matrix, directed=True, indices=idx, limit=limit)
        for c in categories:
            d = dist[:, aug.sink_of_group[c]]
            for t in thresholds_m:
                out[(c, t)][start : start + chunk] = (d <= t).sum(axis=1)
    return out
