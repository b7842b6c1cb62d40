"""Build the :class:`~sitefinder.network.WalkNetwork` from walkable ways, without a graph library.

The result is the network osmnx gives for the same ways with
``graph_from_xml(bidirectional=True, simplify=True, retain_all=True)``, small
fragments removed and projected (what sitefinder did before, through networkx):

* every pair of consecutive way nodes is a *segment* (consecutive duplicate nodes
  were removed when the ways were read); its length is the great-circle distance
  between its nodes (osmnx's formula and earth radius), so network distances are
  the ones osmnx measures;
* a node is an *endpoint* unless exactly two segments meet there and they lead to
  two different nodes (osmnx's topological simplification rules, which for a
  two-way walking graph reduce to this); chains of segments between endpoints
  become one edge, with the summed length and the chain as its geometry;
* connected parts with fewer than ``min_component_nodes`` endpoints are dropped
  (mapping errors, paths cut at the edge of the extract), as are rings without
  any endpoint;
* node coordinates and edge geometries are projected to the working CRS.

Segments that touch a node missing from the file (a clipped extract) are dropped
and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sitefinder.io.osmpass import WalkWays, sorted_unique
from sitefinder.network import EdgeTags, WalkNetwork

log = logging.getLogger(__name__)

#: osmnx's mean earth radius (metres), used for great-circle segment lengths.
EARTH_RADIUS_M = 6_371_009


def great_circle_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine distance in metres (the formula of ``osmnx.distance.great_circle``)."""
    y1 = np.deg2rad(lat1)
    y2 = np.deg2rad(lat2)
    dy = y2 - y1
    x1 = np.deg2rad(lon1)
    x2 = np.deg2rad(lon2)
    dx = x2 - x1
    h = np.sin(dy / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(dx / 2) ** 2
    h = np.minimum(1, h)
    return np.asarray(2 * np.arcsin(np.sqrt(h)) * EARTH_RADIUS_M, dtype=np.float64)


@dataclass(frozen=True)
class BuildStats:
    """Counts of one network build (for the log and the manifest)."""

    segments: int
    segments_missing_nodes: int
    missing_nodes: int
    fragments_dropped: int
    fragment_nodes_dropped: int
    nodes: int
    edges: int


def build_network(
    ways: WalkWays, crs: CRS | str, min_component_nodes: int = 10
) -> tuple[WalkNetwork, BuildStats]:
    """The walking network of ``ways`` in ``crs``.

    Parameters
    ----------
    ways : WalkWays
        Walkable ways with node locations (WGS84).
    crs : pyproj.CRS or str
        The projected working CRS.
    min_component_nodes : int
        Connected parts with fewer network nodes (endpoints) are dropped.

    Returns
    -------
    net, stats : WalkNetwork, BuildStats
        The network (with :class:`~sitefinder.network.EdgeTags`) and the counts.
    """
    n_ref = len(ways.ref_ids)
    way_of_ref = np.repeat(np.arange(ways.n_ways, dtype=np.int64), np.diff(ways.way_ptr))
    i = np.flatnonzero(way_of_ref[:-1] == way_of_ref[1:]) if n_ref > 1 else np.empty(0, np.int64)
    missing_ref = np.isnan(ways.ref_lon)
    bad = missing_ref[i] | missing_ref[i + 1]
    n_seg_all = len(i)
    n_missing_seg = int(bad.sum())
    n_missing_nodes = len(sorted_unique(ways.ref_ids[missing_ref]))
    i = i[~bad]
    seg_way = way_of_ref[i]
    # Node table over the nodes of usable segments.
    ends = np.concatenate([i, i + 1])
    node_ids, first, inv = np.unique(ways.ref_ids[ends], return_index=True, return_inverse=True)
    lon = ways.ref_lon[ends][first]
    lat = ways.ref_lat[ends][first]
    m = len(i)
    a, b = inv[:m], inv[m:]
    seg_len = great_circle_m(ways.ref_lat[i], ways.ref_lon[i], ways.ref_lat[i + 1], ways.ref_lon[i + 1])
    n = len(node_ids)
    if n_missing_seg:
        log.warning(
            "OSM ways reference %d nodes that are not in the file (a clipped extract?): "
            "dropped %d of %d way segments that touch them",
            n_missing_nodes,
            n_missing_seg,
            n_seg_all,
        )
    if m == 0:
        empty_i = np.empty(0, dtype=np.int64)
        net = WalkNetwork(empty_i, np.empty((0, 2)), empty_i, empty_i, np.empty(0), np.empty(0, dtype=object))
        return net, BuildStats(n_seg_all, n_missing_seg, n_missing_nodes, 0, 0, 0, 0)
    # Endpoints: not exactly two segments to two distinct neighbours.
    seg_deg = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    pair_lo, pair_hi = np.minimum(a, b), np.maximum(a, b)
    uniq_pairs = sorted_unique(pair_lo * n + pair_hi)
    nbr = np.bincount(uniq_pairs // n, minlength=n) + np.bincount(uniq_pairs % n, minlength=n)
    endpoint = ~((seg_deg == 2) & (nbr == 2))
    # Connected parts: keep those with at least min_component_nodes endpoints.
    adj = coo_matrix((np.ones(m, dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    n_comp, label = connected_components(adj, directed=False)
    ep_count = np.bincount(label[endpoint], minlength=n_comp)
    keep_comp = ep_count >= min_component_nodes
    dropped_comp = int((~keep_comp).sum())
    dropped_nodes = int(ep_count[~keep_comp].sum())
    keep_node = keep_comp[label]
    seg_keep = keep_node[a]
    # Project the nodes.
    tr = Transformer.from_crs("EPSG:4326", CRS.from_user_input(crs), always_xy=True)
    x, y = tr.transform(lon, lat)
    xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    # Direct edges (both ends endpoints) and chains through interstitial nodes.
    direct = seg_keep & endpoint[a] & endpoint[b]
    chain_nodes, chain_ptr, chain_segs, chain_seg_ptr = _walk_chains(a, b, endpoint, seg_keep, n)
    n_direct = int(direct.sum())
    n_chain = len(chain_ptr) - 1
    d_idx = np.flatnonzero(direct)
    edge_u = np.concatenate([a[d_idx], chain_nodes[chain_ptr[:-1]]])
    edge_v = np.concatenate([b[d_idx], chain_nodes[chain_ptr[1:] - 1]])
    chain_of_seg = np.repeat(np.arange(n_chain), np.diff(chain_seg_ptr))
    chain_len = np.zeros(n_chain)
    np.add.at(chain_len, chain_of_seg, seg_len[chain_segs])
    edge_len = np.concatenate([seg_len[d_idx], chain_len])
    direct_geom = shapely.linestrings(np.stack([xy[a[d_idx]], xy[b[d_idx]]], axis=1)) if n_direct else []
    chain_geom = (
        shapely.linestrings(xy[chain_nodes], indices=np.repeat(np.arange(n_chain), np.diff(chain_ptr)))
        if n_chain
        else []
    )
    edge_geom = np.empty(n_direct + n_chain, dtype=object)
    edge_geom[:n_direct] = direct_geom
    edge_geom[n_direct:] = chain_geom
    # Renumber the nodes: the endpoints of kept parts.
    net_nodes = np.flatnonzero(endpoint & keep_node)
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[net_nodes] = np.arange(len(net_nodes))
    tags = _edge_tags(
        ways,
        segs=np.concatenate([d_idx, chain_segs]),
        edge_index=np.concatenate([np.arange(n_direct), n_direct + chain_of_seg]),
        seg_way=seg_way,
        seg_len=seg_len,
        node_ids=node_ids,
        node_index=new_index,
        chain_nodes=chain_nodes,
        chain_ptr=chain_ptr,
        n_direct=n_direct,
    )
    net = WalkNetwork(
        node_ids=node_ids[net_nodes],
        node_xy=xy[net_nodes],
        edge_u=new_index[edge_u],
        edge_v=new_index[edge_v],
        edge_len=edge_len,
        edge_geom=edge_geom,
        tags=tags,
    )
    stats = BuildStats(
        segments=n_seg_all,
        segments_missing_nodes=n_missing_seg,
        missing_nodes=n_missing_nodes,
        fragments_dropped=dropped_comp,
        fragment_nodes_dropped=dropped_nodes,
        nodes=net.n_nodes,
        edges=net.n_edges,
    )
    log.info(
        "Walking network: %d nodes, %d edges from %d way segments (dropped %d fragments with %d nodes), CRS %s",
        stats.nodes,
        stats.edges,
        m,
        dropped_comp,
        dropped_nodes,
        CRS.from_user_input(crs).to_string(),
    )
    return net, stats


def _walk_chains(
    a: np.ndarray, b: np.ndarray, endpoint: np.ndarray, seg_keep: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Chains of segments from an endpoint through interstitial nodes to an endpoint.

    Returns the node sequence of every chain (flat, with pointers) and the
    segments of every chain (flat, with pointers), each chain once.
    """
    m = len(a)
    # Incidence: for every node, its segments (both directions).
    ends = np.concatenate([a, b])
    seg_of = np.concatenate([np.arange(m), np.arange(m)])
    other = np.concatenate([b, a])
    order = np.argsort(ends, kind="stable")
    inc_seg = seg_of[order]
    inc_other = other[order]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=ptr[1:])
    # Starts: kept segments with an endpoint on one side and an interstitial node on the other.
    starts_a = np.flatnonzero(seg_keep & endpoint[a] & ~endpoint[b])
    starts_b = np.flatnonzero(seg_keep & endpoint[b] & ~endpoint[a])
    start_seg = np.concatenate([starts_a, starts_b])
    start_from = np.concatenate([a[starts_a], b[starts_b]])
    start_to = np.concatenate([b[starts_a], a[starts_b]])
    order = np.lexsort((start_seg, start_from))
    start_seg, start_from, start_to = start_seg[order], start_from[order], start_to[order]
    vis = bytearray(m)
    ep = endpoint.tolist()
    iseg = inc_seg.tolist()
    ioth = inc_other.tolist()
    p = ptr.tolist()
    nodes_out: list[int] = []
    node_ptr = [0]
    segs_out: list[int] = []
    seg_ptr = [0]
    for s0, frm, to in zip(start_seg.tolist(), start_from.tolist(), start_to.tolist(), strict=True):
        if vis[s0]:
            continue
        vis[s0] = 1
        nodes_out.append(frm)
        nodes_out.append(to)
        segs_out.append(s0)
        prev_seg, cur = s0, to
        while not ep[cur]:
            k = p[cur]
            s = iseg[k] if iseg[k] != prev_seg else iseg[k + 1]
            nxt = ioth[k] if iseg[k] != prev_seg else ioth[k + 1]
            vis[s] = 1
            segs_out.append(s)
            nodes_out.append(nxt)
            prev_seg, cur = s, nxt
        node_ptr.append(len(nodes_out))
        seg_ptr.append(len(segs_out))
    return (
        np.asarray(nodes_out, dtype=np.int64),
        np.asarray(node_ptr, dtype=np.int64),
        np.asarray(segs_out, dtype=np.int64),
        np.asarray(seg_ptr, dtype=np.int64),
    )


def _edge_tags(
    ways: WalkWays,
    *,
    segs: np.ndarray,
    edge_index: np.ndarray,
    seg_way: np.ndarray,
    seg_len: np.ndarray,
    node_ids: np.ndarray,
    node_index: np.ndarray,
    chain_nodes: np.ndarray,
    chain_ptr: np.ndarray,
    n_direct: int,
) -> EdgeTags:
    """Which ways (and how many metres of each) make up each edge, and the tagged nodes on it.

    ``segs[j]`` is a segment of edge ``edge_index[j]``; ``node_index`` maps the build's
    node rows to network node rows (-1 for interior and dropped nodes).
    """
    n_w = max(ways.n_ways, 1)
    code = edge_index * n_w + seg_way[segs]
    uniq, inv = np.unique(code, return_inverse=True)
    part_len = np.bincount(inv, weights=seg_len[segs], minlength=len(uniq))
    # Tagged nodes on the network: a network node, or an interior node of one edge.
    tid = ways.node_tag_ids
    pos = np.searchsorted(node_ids, tid)
    found = pos < len(node_ids)
    found[found] = node_ids[pos[found]] == tid[found]
    tn_node = np.full(len(tid), -1, dtype=np.int64)
    tn_edge = np.full(len(tid), -1, dtype=np.int64)
    tn_node[found] = node_index[pos[found]]
    n_chain = len(chain_ptr) - 1
    inner = np.ones(len(chain_nodes), dtype=bool)
    if n_chain:
        inner[chain_ptr[:-1]] = False
        inner[chain_ptr[1:] - 1] = False
    edge_at = np.full(len(node_ids), -1, dtype=np.int64)
    edge_at[chain_nodes[inner]] = (n_direct + np.repeat(np.arange(n_chain), np.diff(chain_ptr)))[inner]
    tn_edge[found] = edge_at[pos[found]]
    on_net = (tn_node >= 0) | (tn_edge >= 0)
    return EdgeTags(
        way_ids=ways.way_ids,
        way_tags=ways.way_tags,
        part_edge=(uniq // n_w).astype(np.int64),
        part_way=(uniq % n_w).astype(np.int64),
        part_len_m=part_len,
        node_osm_ids=tid[on_net],
        node_tags={k: v[on_net] for k, v in ways.node_tags.items()},
        node_index=tn_node[on_net],
        node_edge=tn_edge[on_net],
    )
