"""The accessibility engine: walking distances on a compressed sparse graph.

Design
------
The walking network (built from the OSM ways by :mod:`sitefinder.netbuild`, the
same network osmnx builds) becomes a symmetric CSR matrix (metres, the shortest of
parallel edges). Every point that must be reached (amenity access points, plot
outline points, grid cells) is snapped to its nearest edge, within a maximum
snapping distance; beyond it the point is *unreachable* (``edge == -1``), never
silently attached far away. A snapped point sits at ``along`` metres from the
edge's ``u`` node and ``offset`` metres off the network.

Snapped points are **not** inserted into the graph. Every shortest path from a
point on an edge leaves the edge through one of its two end nodes, unless it
reaches its target on that same edge. So:

* a group of source points (all amenities of one category, or the outline points
  of one plot) becomes one *virtual source* row appended to the base CSR, with an
  edge to ``u`` weighing ``offset + along`` and to ``v`` weighing
  ``offset + length - along`` (the shortest when several points share a node).
  The base rows are not touched, so attaching sources is an array concatenation,
  not a graph rebuild, and no path can cut through a plot or an amenity (virtual
  sources have no incoming edges);
* nearest distance per category: one ``scipy.sparse.csgraph.dijkstra`` from the
  category's virtual source gives the distance at every network node
  (:func:`node_distances`);
* distance at any snapped point then follows without another search
  (:func:`point_distances`): ``offset + min(D[u] + along, D[v] + length - along,
  direct along-edge distance to a source point on the same edge)``;
* counts within distances: a bounded Dijkstra (``limit=``) from each plot's
  virtual source, in chunks whose dense distance rows fit a memory budget, then the
  same edge-end formula for every amenity point (:func:`counts_within`).

The virtual-source row is how initial offsets enter the search: ``dijkstra(...,
min_only=True, indices=...)`` starts every source at zero and so cannot add the
off-network distance.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

_MIN_WEIGHT = 1e-6  # csgraph drops explicit zeros in sparse input; keep zero-length hops

#: Default memory budget for the dense distance rows of one chunk of bounded searches.
COUNT_CHUNK_BYTES = 128 * 2**20


@dataclass(frozen=True, eq=False)
class EdgeTags:
    """The OSM tags behind each network edge, for filters that re-weight or drop edges.

    An edge is a chain of way segments and may run over several ways; its *parts*
    say which ways and how many metres of each. Tagged nodes (kerbs, crossings,
    barriers) are either a network node or lie inside exactly one edge.

    Attributes
    ----------
    way_ids : numpy.ndarray
        OSM id of each walkable way (row order of ``way_tags``).
    way_tags : dict
        Tag key -> (n_ways,) str array, ``""`` where the way lacks the tag
        (keys: :data:`sitefinder.io.osmpass.WAY_TAG_KEYS`).
    part_edge, part_way : numpy.ndarray
        Edge index and way row of each part (sorted by edge).
    part_len_m : numpy.ndarray
        Length of each part, metres (the parts of an edge sum to its length).
    node_osm_ids : numpy.ndarray
        OSM ids of the tagged nodes on the network.
    node_tags : dict
        Tag key -> str array over the tagged nodes
        (keys: :data:`sitefinder.io.osmpass.NODE_TAG_KEYS`).
    node_index : numpy.ndarray
        Network node row of each tagged node (-1 when it lies inside an edge).
    node_edge : numpy.ndarray
        Edge a tagged node lies inside (-1 when it is a network node).
    """

    way_ids: np.ndarray
    way_tags: dict[str, np.ndarray]
    part_edge: np.ndarray
    part_way: np.ndarray
    part_len_m: np.ndarray
    node_osm_ids: np.ndarray
    node_tags: dict[str, np.ndarray]
    node_index: np.ndarray
    node_edge: np.ndarray

    def edge_tag(self, key: str, n_edges: int) -> np.ndarray:
        """Per edge, the value of way tag ``key`` on the longest part of the edge (``""`` if none)."""
        out = np.full(n_edges, "", dtype=object)
        if len(self.part_edge) == 0:
            return out
        order = np.lexsort((-self.part_len_m, self.part_edge))
        pe = self.part_edge[order]
        first = np.r_[True, pe[1:] != pe[:-1]]
        out[pe[first]] = self.way_tags[key][self.part_way[order][first]]
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for an ``.npz`` file (see :meth:`from_arrays`)."""
        out = {
            "way_ids": self.way_ids,
            "part_edge": self.part_edge,
            "part_way": self.part_way,
            "part_len_m": self.part_len_m,
            "node_osm_ids": self.node_osm_ids,
            "node_index": self.node_index,
            "node_edge": self.node_edge,
        }
        out.update({f"way_tag:{k}": v for k, v in self.way_tags.items()})
        out.update({f"node_tag:{k}": v for k, v in self.node_tags.items()})
        return out

    @classmethod
    def from_arrays(cls, z: Mapping[str, np.ndarray]) -> EdgeTags:
        """Inverse of :meth:`arrays`."""
        return cls(
            way_ids=z["way_ids"],
            way_tags={k.split(":", 1)[1]: z[k] for k in z if k.startswith("way_tag:")},
            part_edge=z["part_edge"],
            part_way=z["part_way"],
            part_len_m=z["part_len_m"],
            node_osm_ids=z["node_osm_ids"],
            node_tags={k.split(":", 1)[1]: z[k] for k in z if k.startswith("node_tag:")},
            node_index=z["node_index"],
            node_edge=z["node_edge"],
        )


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """Undirected walking network as arrays (one working CRS, metres).

    Attributes
    ----------
    node_ids : numpy.ndarray
        OSM node id of each graph node (row order of the matrix).
    node_xy : numpy.ndarray
        (n, 2) coordinates of the nodes.
    edge_u, edge_v : numpy.ndarray
        Node indices of each undirected edge (one per way segment; the two
        directions of a two-way osmnx edge count once).
    edge_len : numpy.ndarray
        Length of each edge in metres (osmnx ``length``).
    edge_geom : numpy.ndarray
        Shapely LineStrings of the edges, oriented from ``u`` to ``v``.
    tags : EdgeTags or None
        The OSM tags behind the edges (None for networks not built from OSM ways).
    """

    node_ids: np.ndarray
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len: np.ndarray
    edge_geom: np.ndarray
    tags: EdgeTags | None = None

    @property
    def n_nodes(self) -> int:
        """Number of network nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return len(self.edge_u)

    @cached_property
    def matrix(self) -> csr_matrix:
        """Symmetric CSR matrix of edge lengths (shortest of parallel edges, no self-loops)."""
        return _symmetric_csr(self.edge_u, self.edge_v, self.edge_len, self.n_nodes)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """Spatial index of the edge geometries (built on first use)."""
        return shapely.STRtree(self.edge_geom)

    @classmethod
    def from_osmnx(cls, graph: nx.MultiDiGraph) -> WalkNetwork:
        """Build from a projected osmnx graph.

        The two directions of a two-way edge count once: an edge ``(u, v, k)`` is
        dropped when its reverse ``(v, u, k)`` exists and ``u > v`` (by row), and of
        the two keys of a two-way self-loop one is kept; one-way edges are kept
        (walking ignores one-way restrictions). Edges without a ``geometry`` get a
        straight line between their nodes.

        Parameters
        ----------
        graph : networkx.MultiDiGraph
            A projected osmnx graph (node attributes ``x``, ``y``; edge attribute
            ``length`` in metres).

        Returns
        -------
        WalkNetwork
        """
        n = graph.number_of_nodes()
        node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=n)
        xy = np.fromiter(
            (c for _, d in graph.nodes(data=True) for c in (d["x"], d["y"])),
            dtype=float,
            count=2 * n,
        ).reshape(n, 2)
        # Plain loops over the raw adjacency dicts (as networkx's own algorithms do),
        # appending to flat lists: the public edge views and per-edge tuples cost 5x more
        # (creating ~10^5 tuples next to a large graph triggers costly GC passes).
        us: list[int] = []
        vs: list[int] = []
        ks: list[int] = []
        lens: list[float] = []
        geoms: list[shapely.LineString | None] = []
        for u, nbrs in graph._adj.items():
            for v, keydict in nbrs.items():
                for k, d in keydict.items():
                    us.append(u)
                    vs.append(v)
                    ks.append(k)
                    lens.append(d["length"])
                    geoms.append(d.get("geometry"))
        m = len(us)
        if m == 0:
            empty_i = np.empty(0, dtype=np.int64)
            return cls(node_ids, xy, empty_i, empty_i, np.empty(0), np.empty(0, dtype=object))
        order = np.argsort(node_ids, kind="stable")
        sorted_ids = node_ids[order]
        iu = order[np.searchsorted(sorted_ids, np.asarray(us, dtype=np.int64))]
        iv = order[np.searchsorted(sorted_ids, np.asarray(vs, dtype=np.int64))]
        k = np.minimum(np.asarray(ks, dtype=np.int64), 1023)
        code = (iu * n + iv) * 1024 + k
        rev = (iv * n + iu) * 1024 + k
        keep = ~((iu > iv) & pd.Index(rev).isin(code))
        # A two-way self-loop (a closed way) appears as two keys with reversed
        # geometries: keep one per node and length.
        loop = np.flatnonzero(iu == iv)
        if len(loop):
            lens_mm = np.round(np.asarray(lens)[loop] * 1000).astype(np.int64)
            dup = pd.DataFrame({"n": iu[loop], "l": lens_mm}).duplicated().to_numpy()
            keep[loop[dup]] = False
        geom = np.empty(m, dtype=object)
        geom[:] = geoms
        missing = keep & np.fromiter((g is None for g in geoms), dtype=bool, count=m)
        if missing.any():
            pts = np.stack([xy[iu[missing]], xy[iv[missing]]], axis=1)
            geom[missing] = shapely.linestrings(pts)
        sel = np.flatnonzero(keep)
        return cls(
            node_ids=node_ids,
            node_xy=xy,
            edge_u=iu[sel],
            edge_v=iv[sel],
            edge_len=np.asarray(lens, dtype=float)[sel],
            edge_geom=geom[sel],
        )


def _symmetric_csr(u: np.ndarray, v: np.ndarray, length: np.ndarray, n: int) -> csr_matrix:
    """CSR of an undirected edge list, keeping the shortest of parallel edges."""
    loop = u == v
    a = np.concatenate([u[~loop], v[~loop]])
    b = np.concatenate([v[~loop], u[~loop]])
    w = np.maximum(np.concatenate([length[~loop], length[~loop]]), _MIN_WEIGHT)
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, w = a[first], b[first], w[first]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return csr_matrix((w, b.astype(np.int32), indptr), shape=(n, n))


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
        Straight-line distance from the point to the edge, metres (``inf`` when
        unreachable).
    """

    owner: np.ndarray
    edge: np.ndarray
    along: np.ndarray
    offset: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """Mask of access points that snapped within the maximum distance."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    @classmethod
    def empty(cls) -> Snap:
        """A snap of no points."""
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0))

    def owners_reached(self, n_objects: int) -> np.ndarray:
        """Mask over the ``n_objects`` owners: True when at least one point snapped."""
        got = np.zeros(n_objects, dtype=bool)
        got[self.owner[self.ok]] = True
        return got


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
        Points farther than this from every edge are marked unreachable
        (``edge == -1``, ``offset == inf``); they are never attached to a far edge.

    Returns
    -------
    Snap
    """
    points = np.asarray(points, dtype=object)
    edge = np.full(len(points), -1, dtype=np.int64)
    along = np.zeros(len(points))
    offset = np.full(len(points), np.inf)
    if len(points) and net.n_edges:
        if (shapely.get_type_id(points) == 0).all() and not shapely.is_empty(points).any():
            from sitefinder.nearest import nearest_line  # the same distances, ties to the lowest edge

            found, found_dist = nearest_line(points, net.edge_geom, max_snap_m)
            pi = np.flatnonzero(found >= 0)
            ei, dist = found[pi], found_dist[pi]
        else:
            (pi, ei), dist = net.tree.query_nearest(
                points, max_distance=max_snap_m, return_distance=True, all_matches=False
            )
        edge[pi] = ei
        offset[pi] = dist
        frac = shapely.line_locate_point(net.edge_geom[ei], points[pi], normalized=True)
        along[pi] = np.clip(frac, 0.0, 1.0) * net.edge_len[ei]
    return Snap(owner=np.asarray(owner, dtype=np.int64), edge=edge, along=along, offset=offset)


def with_sources(net: WalkNetwork, snap: Snap, group: np.ndarray, n_groups: int) -> csr_matrix:
    """The base CSR plus one virtual source row per group of snapped points.

    Row ``net.n_nodes + g`` has an edge to the ``u`` and ``v`` node of the edge of
    every point of group ``g``, weighing ``offset + along`` and ``offset + length -
    along`` (the shortest when several points reach the same node). Virtual sources
    have no incoming edges, so no path passes through one.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    snap : Snap
        Snapped points; unreachable ones are ignored.
    group : numpy.ndarray
        Group (0..n_groups-1) of each point of ``snap``.
    n_groups : int
        Number of virtual sources to append.

    Returns
    -------
    scipy.sparse.csr_matrix
        Square matrix of size ``net.n_nodes + n_groups``.
    """
    base = net.matrix
    n = net.n_nodes
    ok = snap.ok
    e = snap.edge[ok]
    g = np.asarray(group, dtype=np.int64)[ok]
    a = snap.along[ok]
    o = snap.offset[ok]
    rows = np.concatenate([g, g])
    cols = np.concatenate([net.edge_u[e], net.edge_v[e]])
    w = np.maximum(np.concatenate([o + a, o + net.edge_len[e] - a]), _MIN_WEIGHT)
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, w = rows[first], cols[first], w[first]
    extra = np.cumsum(np.bincount(rows, minlength=n_groups)) + base.nnz
    size = n + n_groups
    indptr = np.concatenate([base.indptr, extra]).astype(np.int32)
    indices = np.concatenate([base.indices, cols.astype(np.int32)])
    data = np.concatenate([base.data, w])
    return csr_matrix((data, indices, indptr), shape=(size, size))


def node_distances(net: WalkNetwork, sources: Sequence[Snap], limit: float = np.inf) -> np.ndarray:
    """Walking distance from every network node to the nearest point of each source group.

    One Dijkstra per group, from a virtual source joined to all its points
    (off-network distance included).

    Parameters
    ----------
    net : WalkNetwork
        The network.
    sources : sequence of Snap
        One snap per group (e.g. per amenity category).
    limit : float
        Stop searching beyond this distance (``inf`` beyond it).

    Returns
    -------
    numpy.ndarray
        ``(len(sources), n_nodes)`` distances in metres, ``inf`` where no point of
        the group is reachable.
    """
    k = len(sources)
    if k == 0 or net.n_nodes == 0:
        return np.full((k, net.n_nodes), np.inf)
    allsnap = _concat(sources)
    group = np.repeat(np.arange(k), [len(s) for s in sources])
    mat = with_sources(net, allsnap, group, k)
    n = net.n_nodes
    from scipy.sparse.csgraph import dijkstra  # scipy.sparse.linalg behind it: only when searched

    dist = dijkstra(mat, directed=True, indices=n + np.arange(k), limit=limit)
    return np.ascontiguousarray(dist[:, :n])


def _concat(snaps: Sequence[Snap]) -> Snap:
    if not snaps:
        return Snap.empty()
    return Snap(
        owner=np.concatenate([s.owner for s in snaps]),
        edge=np.concatenate([s.edge for s in snaps]),
        along=np.concatenate([s.along for s in snaps]),
        offset=np.concatenate([s.offset for s in snaps]),
    )


def _same_edge_pairs(at_edge: np.ndarray, src_edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with ``at_edge[i] == src_edge[j] >= 0``."""
    okj = np.flatnonzero(src_edge >= 0)
    if len(okj) == 0 or len(at_edge) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = okj[np.argsort(src_edge[okj], kind="stable")]
    se = src_edge[order]
    lo = np.searchsorted(se, at_edge, side="left")
    hi = np.searchsorted(se, at_edge, side="right")
    hi[at_edge < 0] = lo[at_edge < 0]
    cnt = hi - lo
    i = np.repeat(np.arange(len(at_edge)), cnt)
    starts = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt)
    j = order[starts + np.arange(len(i))]
    return i, j


def point_distances(net: WalkNetwork, node_dist: np.ndarray, at: Snap, sources: Snap) -> np.ndarray:
    """Walking distance at snapped points, from node distances of one source group.

    ``offset + min(D[u] + along, D[v] + length - along, |along - along_s| + offset_s)``,
    the last term over source points on the same edge (reached without passing
    an end node).

    Parameters
    ----------
    net : WalkNetwork
        The network.
    node_dist : numpy.ndarray
        ``(n_nodes,)`` distances from :func:`node_distances` for the group.
    at : Snap
        The points to evaluate (e.g. plot access points).
    sources : Snap
        The group's own points (for the same-edge term).

    Returns
    -------
    numpy.ndarray
        Distance per point of ``at`` (``inf`` when unreachable).
    """
    out = np.full(len(at), np.inf)
    ok = np.flatnonzero(at.ok)
    e = at.edge[ok]
    a = at.along[ok]
    d = np.minimum(node_dist[net.edge_u[e]] + a, node_dist[net.edge_v[e]] + (net.edge_len[e] - a))
    i, j = _same_edge_pairs(e, sources.edge)
    if len(i):
        np.minimum.at(d, i, np.abs(a[i] - sources.along[j]) + sources.offset[j])
    out[ok] = at.offset[ok] + d
    return out


def min_by_owner(values: np.ndarray, owner: np.ndarray, n_objects: int) -> np.ndarray:
    """Smallest value per owner (``inf`` for owners without values)."""
    out = np.full(n_objects, np.inf)
    if len(values):
        np.minimum.at(out, owner, values)
    return out


def nearest_distances(
    net: WalkNetwork,
    node_dist: np.ndarray,
    at: Snap,
    n_objects: int,
    sources: Snap,
) -> np.ndarray:
    """Walking distance from each object (e.g. plot) to the nearest source point.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    node_dist : numpy.ndarray
        ``(n_nodes,)`` node distances of the source group (:func:`node_distances`).
    at : Snap
        Access points of the objects; ``owner`` indexes objects 0..n_objects-1.
    n_objects : int
        Number of objects.
    sources : Snap
        The source group's points.

    Returns
    -------
    numpy.ndarray
        ``(n_objects,)`` metres, ``inf`` where unreachable.
    """
    return min_by_owner(point_distances(net, node_dist, at, sources), at.owner, n_objects)


def counts_within(
    net: WalkNetwork,
    plot_snap: Snap,
    n_plots: int,
    amenity_snaps: Mapping[str, Snap],
    thresholds_m: Sequence[float],
    max_chunk_bytes: int = COUNT_CHUNK_BYTES,
) -> dict[tuple[str, float], np.ndarray]:
    """Number of amenities of each category within each walking distance of each plot.

    A bounded Dijkstra (``limit`` = the largest threshold) from each plot's
    virtual source; the distance to each amenity access point follows from the
    distances at its edge's end nodes (or along the edge when a plot point shares
    it); an amenity with several access points counts once, at its nearest.
    Plots are processed in chunks whose dense ``(chunk, n_nodes)`` float64 rows
    fit in ``max_chunk_bytes``.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    plot_snap : Snap
        Plot access points; ``owner`` indexes plots 0..n_plots-1.
    n_plots : int
        Number of plots.
    amenity_snaps : mapping
        Snapped access points per category; ``owner`` indexes that category's
        amenities.
    thresholds_m : sequence of float
        Walking distances, metres.
    max_chunk_bytes : int
        Memory budget of one chunk of distance rows.

    Returns
    -------
    dict
        ``(category, threshold) -> int64 array`` over plots.
    """
    names = list(amenity_snaps)
    out = {(c, float(t)): np.zeros(n_plots, dtype=np.int64) for c in names for t in thresholds_m}
    if n_plots == 0 or not thresholds_m or not names or net.n_nodes == 0:
        return out
    limit = float(max(thresholds_m))
    # All amenity points of all categories, ordered by (category, amenity).
    parts = [amenity_snaps[c] for c in names]
    cat_of = np.repeat(np.arange(len(names)), [len(s) for s in parts])
    n_amen = [int(s.owner.max()) + 1 if len(s) else 0 for s in parts]
    amen_base = np.concatenate([[0], np.cumsum(n_amen)])
    am = _concat(parts)
    gid = am.owner + amen_base[cat_of]
    keep = am.ok
    am = Snap(gid[keep], am.edge[keep], am.along[keep], am.offset[keep])
    order = np.argsort(am.owner, kind="stable")
    am = Snap(am.owner[order], am.edge[order], am.along[order], am.offset[order])
    if len(am) == 0:
        return out
    # Segments of points per amenity (for reduceat) and of amenities per category.
    starts = np.flatnonzero(np.r_[True, am.owner[1:] != am.owner[:-1]])
    amen_ids = am.owner[starts]
    amen_cat = np.searchsorted(amen_base, amen_ids, side="right") - 1
    cat_cols = [np.flatnonzero(amen_cat == ci) for ci in range(len(names))]
    mat = with_sources(net, plot_snap, plot_snap.owner, n_plots)
    n = net.n_nodes
    u_m, v_m = net.edge_u[am.edge], net.edge_v[am.edge]
    rest_m = net.edge_len[am.edge] - am.along
    # Same-edge plot point -> amenity point pairs (walk along the shared edge).
    pi, aj = _same_edge_pairs(plot_snap.edge, am.edge)
    direct = plot_snap.offset[pi] + np.abs(plot_snap.along[pi] - am.along[aj]) + am.offset[aj]
    direct_plot = plot_snap.owner[pi]
    chunk = int(max(1, min(n_plots, max_chunk_bytes // (8 * (n + n_plots)))))
    log.debug("Counts within %.0f m: %d plots in chunks of %d", limit, n_plots, chunk)
    for start in range(0, n_plots, chunk):
        stop = min(n_plots, start + chunk)
        from scipy.sparse.csgraph import dijkstra  # scipy.sparse.linalg behind it: only when searched

        dist = dijkstra(mat, directed=True, indices=n + np.arange(start, stop), limit=limit)
        d = np.minimum(dist[:, u_m] + am.along, dist[:, v_m] + rest_m)
        d += am.offset
        del dist
        sel = (direct_plot >= start) & (direct_plot < stop)
        if sel.any():
            np.minimum.at(d, (direct_plot[sel] - start, aj[sel]), direct[sel])
        amen_d = np.minimum.reduceat(d, starts, axis=1)
        for t in thresholds_m:
            within = amen_d <= t
            for ci, c in enumerate(names):
                out[(c, float(t))][start:stop] = within[:, cat_cols[ci]].sum(axis=1)
    return out
