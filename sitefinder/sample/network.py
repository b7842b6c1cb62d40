"""Street-network assembly: noding, obstacle crossings (bridges, tunnels, cuts), densifying.

Streets and paths are planned as independent polylines (:class:`Line`). As in
real OpenStreetMap data, ways that meet must share a node, so
:func:`planarize` nodes every crossing and every end that lies on another way.
:func:`cut` then applies an obstacle (water, the railway, the motorway, a
plot): each part of a way inside it is either kept, replaced by a separate
``bridge=yes`` / ``tunnel=yes`` way, or removed (leaving dead ends). That is
what makes water block walking except at bridges.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

logger = logging.getLogger(__name__)

Tags = dict[str, str]

#: Decisions a crossing policy may return for one crossing.
KEEP, BRIDGE, TUNNEL, CUT = "keep", "bridge", "tunnel", "cut"

_EPS = 1e-6


@dataclass
class Line:
    """A planned polyline with OSM tags, before noding.

    Attributes
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` plan coordinates in metres.
    tags : dict
        OSM tags of the way.
    """

    xy: np.ndarray
    tags: Tags


@dataclass
class Network:
    """Noded ways: ways that meet share a node id.

    Attributes
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` node coordinates; unused rows are allowed.
    ways : list of numpy.ndarray
        Node-id sequence of each way (closed ways repeat their first id).
    tags : list of dict
        Tags of each way.
    """

    xy: np.ndarray
    ways: list[np.ndarray]
    tags: list[Tags]

    def used_nodes(self) -> np.ndarray:
        """Return the sorted ids of nodes referenced by at least one way.

        Returns
        -------
        numpy.ndarray
            Node ids.
        """
        if not self.ways:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(self.ways))


@dataclass(frozen=True)
class Crossing:
    """One stretch of a way inside an obstacle, offered to a crossing policy.

    Attributes
    ----------
    way : int
        Index of the way in the network.
    tags : dict
        The way's tags.
    length : float
        Length of the stretch inside the (margin-buffered) obstacle, metres.
    midpoint : tuple of float
        Plan coordinates of the middle of the stretch.
    at_end : bool
        True when the stretch reaches the start or end of the way; such a
        stretch cannot become a bridge (a bridge needs land on both sides).
    """

    way: int
    tags: Tags
    length: float
    midpoint: tuple[float, float]
    at_end: bool


#: A crossing policy: one decision (KEEP, BRIDGE, TUNNEL or CUT) per crossing.
Policy = Callable[[list[Crossing]], list[str]]


def _side(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Side of ``r`` from the line ``p -> q``: 1 left, -1 right, 0 too close to tell in doubles."""
    t1 = (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1])
    t2 = (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])
    det = t1 - t2
    margin = 1e-9 * (np.abs(t1) + np.abs(t2))  # far above the rounding error of det
    return np.where(det > margin, 1, np.where(det < -margin, -1, 0))


def _crossing_pairs(
    tree: shapely.STRtree, segs: np.ndarray, p0: np.ndarray, p1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(segs, predicate="crosses")`` for 2-point segments, with GEOS asked less often.

    Of the pairs whose boxes overlap, those that share an end point cannot cross (they
    meet on a boundary), nor can those where one segment lies wholly on one side of the
    other's line; GEOS decides the rest. The pairs and their order are the query's.
    """
    a, b = tree.query(segs)

    def same(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (u[:, 0] == v[:, 0]) & (u[:, 1] == v[:, 1])

    a0, a1, b0, b1 = p0[a], p1[a], p0[b], p1[b]
    shared = same(a0, b0) | same(a0, b1) | same(a1, b0) | same(a1, b1)
    apart = (_side(a0, a1, b0) * _side(a0, a1, b1) == 1) | (_side(b0, b1, a0) * _side(b0, b1, a1) == 1)
    maybe = np.flatnonzero(~shared & ~apart)
    hit = maybe[shapely.crosses(segs[a[maybe]], segs[b[maybe]])]
    return a[hit], b[hit]


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_inverse=True)`` for an ``(n, 2)`` integer array, faster.

    Each row is packed into one int64 key that sorts as the row does (first column,
    then second), so a 1-D unique does the work; the rows and the inverse are the same.

    Parameters
    ----------
    a : numpy.ndarray
        ``(n, 2)`` integers.

    Returns
    -------
    tuple of numpy.ndarray
        The sorted unique rows (int64) and, for each row of ``a``, its index among them.

    Examples
    --------
    >>> rows, inv = unique_rows(np.array([[2, 1], [0, 5], [2, 1], [0, -3]]))
    >>> rows.tolist(), inv.tolist()
    ([[0, -3], [0, 5], [2, 1]], [2, 1, 2, 0])
    """
    a = np.asarray(a, dtype=np.int64).reshape(-1, 2)
    if len(a):
        lo, hi = a.min(axis=0), a.max(axis=0)
        span = [int(b) - int(a0) + 1 for a0, b in zip(lo.tolist(), hi.tolist(), strict=True)]
        if span[0] * span[1] < 2**62:
            key = (a[:, 0] - lo[0]) * span[1] + (a[:, 1] - lo[1])
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            return a[first], inverse.reshape(-1)
    uniq, inverse = np.unique(a, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def planarize(lines: Sequence[Line], tol: float = 0.02) -> Network:
    """Node a set of lines: shared nodes at crossings, T-junctions and coincident vertices.

    Parameters
    ----------
    lines : sequence of Line
        Planned polylines (at least two vertices each).
    tol : float
        Distance within which a vertex counts as lying on another line, metres.

    Returns
    -------
    Network
        Ways in the order of ``lines``; vertices closer than 1 cm are merged.
    """
    lines = [ln for ln in lines if len(ln.xy) >= 2]
    counts = np.array([len(ln.xy) for ln in lines], dtype=np.int64)
    pts = np.concatenate([np.asarray(ln.xy, dtype=float) for ln in lines])
    way_of = np.repeat(np.arange(len(lines)), counts)
    starts = np.cumsum(counts) - counts
    local = np.arange(len(pts)) - np.repeat(starts, counts)
    is_last = local == np.repeat(counts - 1, counts)
    s0 = np.flatnonzero(~is_last)
    s1 = s0 + 1
    segs = shapely.linestrings(np.stack([pts[s0], pts[s1]], axis=1))
    tree = shapely.STRtree(segs)

    ins_way: list[np.ndarray] = []
    ins_local: list[np.ndarray] = []
    ins_t: list[np.ndarray] = []
    ins_xy: list[np.ndarray] = []

    def _param(seg: np.ndarray, p: np.ndarray) -> np.ndarray:
        a, b = pts[s0[seg]], pts[s1[seg]]
        d = b - a
        return np.einsum("ij,ij->i", p - a, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-12)

    def _insert(seg: np.ndarray, p: np.ndarray) -> None:
        t = _param(seg, p)
        ins_way.append(way_of[s0[seg]])
        ins_local.append(local[s0[seg]])
        ins_t.append(t)
        ins_xy.append(p)

    # proper crossings: both segments get the intersection point
    a, b = _crossing_pairs(tree, segs, pts[s0], pts[s1])
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a):
        inter = shapely.intersection(segs[a], segs[b])
        ok = shapely.get_type_id(inter) == 0
        p = shapely.get_coordinates(inter[ok])
        _insert(a[ok], p)
        _insert(b[ok], p)

    # vertices lying on another segment's interior (T-junctions)
    v, s = tree.query(shapely.points(pts), predicate="dwithin", distance=tol)
    own = (s0[s] == v) | (s1[s] == v)
    v, s = v[~own], s[~own]
    if len(v):
        t = _param(s, pts[v])
        seg_len = np.hypot(*(pts[s1[s]] - pts[s0[s]]).T)
        inner = (t * seg_len > tol) & ((1.0 - t) * seg_len > tol)
        _insert(s[inner], pts[v[inner]])

    ev_way = np.concatenate([way_of, *ins_way])
    ev_local = np.concatenate([local, *ins_local])
    ev_t = np.concatenate([np.zeros(len(pts)), *ins_t])
    ev_xy = np.concatenate([pts, *ins_xy]) if ins_xy else pts
    order = np.lexsort((ev_t, ev_local, ev_way))
    ev_way, ev_xy = ev_way[order], ev_xy[order]

    keys = np.round(ev_xy * 100.0).astype(np.int64)
    uniq, inverse = unique_rows(keys)
    first = np.r_[True, ev_way[1:] != ev_way[:-1]]
    keep_ev = first | np.r_[True, inverse[1:] != inverse[:-1]]
    ev_way, inverse = ev_way[keep_ev], inverse[keep_ev]
    bounds = np.searchsorted(ev_way, np.arange(len(lines) + 1))
    ways: list[np.ndarray] = []
    tags: list[Tags] = []
    for k, line in enumerate(lines):
        ids = inverse[bounds[k] : bounds[k + 1]]
        if len(ids) >= 2:
            ways.append(ids.astype(np.int64))
            tags.append(line.tags)
    logger.debug("planarize: %d lines, %d nodes", len(lines), len(uniq))
    return Network(uniq.astype(float) / 100.0, ways, tags)


def _degrees(net: Network) -> np.ndarray:
    """Count segment ends at each node (2 for a node inside one way, 3+ at junctions)."""
    deg = np.zeros(len(net.xy), dtype=np.int64)
    if not net.ways:
        return deg
    allids = np.concatenate(net.ways)
    deg += 2 * np.bincount(allids, minlength=len(net.xy))
    deg -= np.bincount([w[0] for w in net.ways], minlength=len(net.xy))
    deg -= np.bincount([w[-1] for w in net.ways], minlength=len(net.xy))
    return deg


def way_geometries(net: Network) -> np.ndarray:
    """Build one shapely LineString per way.

    Parameters
    ----------
    net : Network
        The network.

    Returns
    -------
    numpy.ndarray
        Array of LineStrings, in way order.
    """
    counts = np.array([len(w) for w in net.ways])
    coords = net.xy[np.concatenate(net.ways)]
    return np.asarray(shapely.linestrings(coords, indices=np.repeat(np.arange(len(counts)), counts)))


def _intervals(line: shapely.LineString, area: shapely.Geometry) -> list[tuple[float, float]]:
    """Return merged ``(start, end)`` distances along ``line`` of its parts inside ``area``."""
    parts = shapely.get_parts(shapely.intersection(line, area))
    parts = parts[(shapely.get_type_id(parts) == 1) & (shapely.length(parts) > _EPS)]
    if not len(parts):
        return []
    a = shapely.line_locate_point(line, shapely.get_point(parts, 0))
    b = shapely.line_locate_point(line, shapely.get_point(parts, -1))
    spans = sorted(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))
    merged: list[tuple[float, float]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1] + 0.5:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


class _Splitter:
    """Rebuild ways around obstacle stretches; collects the new nodes."""

    def __init__(self, net: Network, prune: float) -> None:
        self.net = net
        self.deg = _degrees(net)
        self.prune = prune
        self.new_xy: list[np.ndarray] = []
        self.next_id = len(net.xy)

    def _xy(self, node: int) -> np.ndarray:
        if node < len(self.net.xy):
            return self.net.xy[node]
        return self.new_xy[node - len(self.net.xy)]

    def _is_junction(self, node: int) -> bool:
        return node < len(self.deg) and self.deg[node] >= 3

    def point_at(self, ids: np.ndarray, xy: np.ndarray, cum: np.ndarray, s: float) -> int:
        k = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(cum) - 2))
        if abs(cum[k] - s) < _EPS:
            return int(ids[k])
        if abs(cum[k + 1] - s) < _EPS:
            return int(ids[k + 1])
        f = (s - cum[k]) / (cum[k + 1] - cum[k])
        self.new_xy.append(xy[k] + (xy[k + 1] - xy[k]) * f)
        self.next_id += 1
        return self.next_id - 1

    def _length(self, nodes: list[int]) -> float:
        p = np.array([self._xy(n) for n in nodes])
        return float(np.hypot(*np.diff(p, axis=0).T).sum())

    def prune_piece(self, nodes: list[int], start_cut: bool, end_cut: bool) -> list[int]:
        """Drop short dangling tails left next to a cut (stubs of a few metres)."""
        if end_cut:
            for j in range(len(nodes) - 2, -1, -1):
                if self._length(nodes[j:]) >= self.prune:
                    break
                if self._is_junction(nodes[j]):
                    nodes = nodes[: j + 1]
                    break
        if start_cut and len(nodes) >= 2:
            for j in range(1, len(nodes)):
                if self._length(nodes[: j + 1]) >= self.prune:
                    break
                if self._is_junction(nodes[j]):
                    nodes = nodes[j:]
                    break
        return nodes

    def split(
        self, ids: np.ndarray, spans: list[tuple[float, float, str]]
    ) -> tuple[list[list[int]], list[tuple[int, int, str]]]:
        """Split one way; return its kept pieces and its bridge/tunnel stretches."""
        xy = self.net.xy[ids]
        cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
        total = float(cum[-1])
        pieces: list[tuple[list[int], bool, bool]] = []
        links: list[tuple[int, int, str]] = []
        cur: list[int] | None = [int(ids[0])]
        start_cut = False
        pos = 0.0
        for s0, s1, decision in spans:
            if decision == KEEP or cur is None:
                continue
            a = b = None
            if s0 > _EPS:
                inner = ids[(cum > pos + _EPS) & (cum < s0 - _EPS)]
                a = self.point_at(ids, xy, cum, s0)
                pieces.append(([*cur, *map(int, inner), a], start_cut, decision == CUT))
            if s1 < total - _EPS:
                b = self.point_at(ids, xy, cum, s1)
            if decision in (BRIDGE, TUNNEL) and a is not None and b is not None:
                links.append((a, b, decision))
                start_cut = False
            else:
                start_cut = True
            cur = [b] if b is not None else None
            pos = s1
        if cur is not None:
            inner = ids[cum > pos + _EPS]
            pieces.append(([*cur, *map(int, inner)], start_cut, False))
        out: list[list[int]] = []
        for nodes, sc, ec in pieces:
            kept = self.prune_piece(nodes, sc, ec)
            if len(kept) >= 2 and self._length(kept) > 1.0:
                out.append(kept)
        return out, links

    def new_points(self) -> np.ndarray:
        if not self.new_xy:
            return np.zeros((0, 2))
        return np.array(self.new_xy)


def intersecting(geoms: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    """Sorted indices of ``geoms`` that intersect ``area`` (``flatnonzero(intersects(geoms, area))``).

    Parameters
    ----------
    geoms : numpy.ndarray
        Geometries to test.
    area : shapely geometry
        The area; a multi-part one is looked up part by part.

    Returns
    -------
    numpy.ndarray
        Indices into ``geoms``, ascending.

    Notes
    -----
    A geometry intersects a multi-part area when it intersects one of its parts. GEOS
    tests lines against a multipolygon far more slowly than against its parts one by one,
    so a multi-part area is split and its parts are looked up in a tree of ``geoms``.
    """
    parts = shapely.get_parts(area)
    if len(parts) <= 1:
        return np.flatnonzero(shapely.intersects(geoms, area))
    _, idx = shapely.STRtree(geoms).query(parts, predicate="intersects")
    return np.unique(idx)


def cut(net: Network, area: shapely.Geometry, policy: Policy, prune: float = 12.0) -> Network:
    """Apply an obstacle to a network: keep, bridge, tunnel or remove each stretch inside it.

    Parameters
    ----------
    net : Network
        The noded network.
    area : shapely geometry
        The obstacle, already buffered by the wanted clearance: bridges start and
        cut ways end on its outline.
    policy : Policy
        Decides each :class:`Crossing`; called once with all crossings, in way order.
    prune : float
        Tails shorter than this between a cut and the previous junction are removed.

    Returns
    -------
    Network
        A new network; bridge/tunnel stretches become separate ways tagged
        ``bridge=yes, layer=1`` or ``tunnel=yes, layer=-1``.
    """
    if area.is_empty or not net.ways:
        return net
    shapely.prepare(area)
    hit = intersecting(way_geometries(net), area)
    if not len(hit):
        return net
    crossings: list[Crossing] = []
    work: list[tuple[int, np.ndarray, list[tuple[float, float]]]] = []
    drop: set[int] = set()
    for w in hit.tolist():
        ids = net.ways[w]
        if len(ids) > 2 and ids[0] == ids[-1]:
            ring = ids[:-1]
            inside = shapely.contains_xy(area, net.xy[ring, 0], net.xy[ring, 1])
            if inside.all():
                drop.add(w)
                continue
            ring = np.roll(ring, -int(np.argmin(inside)))
            ids = np.r_[ring, ring[:1]]
        line = shapely.linestrings(net.xy[ids])
        spans = _intervals(line, area)
        if not spans:
            continue
        total = float(shapely.length(line))
        for lo, hi in spans:
            mid = shapely.get_coordinates(shapely.line_interpolate_point(line, 0.5 * (lo + hi)))[0]
            crossings.append(
                Crossing(
                    way=w,
                    tags=net.tags[w],
                    length=hi - lo,
                    midpoint=(float(mid[0]), float(mid[1])),
                    at_end=lo <= _EPS or hi >= total - _EPS,
                )
            )
        work.append((w, ids, spans))
    decisions = policy(crossings)
    it = iter(decisions)
    splitter = _Splitter(net, prune)
    replaced: dict[int, list[tuple[np.ndarray, Tags]]] = {}
    for w, ids, spans in work:
        decided = [(lo, hi, next(it)) for lo, hi in spans]
        pieces, links = splitter.split(ids, decided)
        new: list[tuple[np.ndarray, Tags]] = [(np.array(p, dtype=np.int64), net.tags[w]) for p in pieces]
        for a, b, kind in links:
            extra = {"bridge": "yes", "layer": "1"} if kind == BRIDGE else {"tunnel": "yes", "layer": "-1"}
            new.append((np.array([a, b], dtype=np.int64), {**net.tags[w], **extra}))
        replaced[w] = new
    ways: list[np.ndarray] = []
    tags: list[Tags] = []
    for w, (ids, t) in enumerate(zip(net.ways, net.tags, strict=True)):
        if w in drop:
            continue
        if w in replaced:
            for nids, ntags in replaced[w]:
                ways.append(nids)
                tags.append(ntags)
        else:
            ways.append(ids)
            tags.append(t)
    xy = np.vstack([net.xy, splitter.new_points()])
    logger.debug("cut: %d crossings, %d ways changed", len(crossings), len(replaced))
    return Network(xy, ways, tags)


def densify_network(net: Network, max_len: float) -> Network:
    """Insert shape nodes so that no way segment is longer than ``max_len``.

    Parameters
    ----------
    net : Network
        The network.
    max_len : float
        Longest allowed segment, metres.

    Returns
    -------
    Network
        Same ways, with extra (unshared) shape nodes.
    """
    counts = np.array([len(w) for w in net.ways], dtype=np.int64)
    ids = np.concatenate(net.ways)
    starts = np.cumsum(counts) - counts
    is_last = np.zeros(len(ids), dtype=bool)
    is_last[starts + counts - 1] = True
    nxt = np.r_[ids[1:], ids[-1]]
    d = net.xy[nxt] - net.xy[ids]
    n = np.where(is_last, 1, np.maximum(1, np.ceil(np.hypot(d[:, 0], d[:, 1]) / max_len))).astype(np.int64)
    offsets = np.cumsum(n) - n
    out = np.empty(int(n.sum()), dtype=np.int64)
    out[offsets] = ids
    seg = np.repeat(np.arange(len(ids)), n - 1)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(n - 1) - (n - 1), n - 1) + 1
    new_ids = len(net.xy) + np.arange(len(seg))
    out[offsets[seg] + k] = new_ids
    new_xy = net.xy[ids[seg]] + d[seg] * (k / n[seg])[:, None]
    way_len = np.add.reduceat(n, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    bounds = np.r_[0, np.cumsum(way_len)]
    ways = [out[bounds[i] : bounds[i + 1]] for i in range(len(net.ways))]
    return Network(np.vstack([net.xy, new_xy]), ways, list(net.tags))


def node_counts(net: Network, walkable: Callable[[Tags], bool]) -> tuple[int, int]:
    """Estimate the walking graph size the way osmnx would build it.

    Parameters
    ----------
    net : Network
        The network.
    walkable : callable
        Whether a way (by its tags) belongs to the walking network.

    Returns
    -------
    tuple of int
        ``(nodes, simplified_nodes)`` of the largest connected component:
        all nodes, and the nodes osmnx keeps when simplifying (dead ends and
        junctions: nodes without exactly two distinct neighbours).
    """
    sel = [w for w, t in zip(net.ways, net.tags, strict=True) if walkable(t)]
    if not sel:
        return 0, 0
    a = np.concatenate([w[:-1] for w in sel])
    b = np.concatenate([w[1:] for w in sel])
    keep = a != b
    a, b = a[keep], b[keep]
    nodes, inv = np.unique(np.r_[a, b], return_inverse=True)
    ia, ib = inv[: len(a)], inv[len(a) :]
    lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
    pairs, _ = unique_rows(np.column_stack([lo, hi]))
    m = len(nodes)
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    _, labels = csgraph.connected_components(graph, directed=False)
    largest = np.bincount(labels).argmax()
    neighbours = np.bincount(pairs.reshape(-1), minlength=m)
    in_comp = labels == largest
    return int(in_comp.sum()), int((in_comp & (neighbours != 2)).sum())
