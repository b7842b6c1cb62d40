"""The accessibility engine against an independent osmnx/networkx reference.

The reference snaps with ``osmnx.distance.nearest_edges`` and measures with
``networkx`` Dijkstra on the osmnx graph: for plot access point p on edge (u, v)
at ``a_p`` with offset ``o_p`` and amenity access point m on (u', v') at ``a_m``,
``o_m``: ``o_p + o_m + min over the four end-node combinations of
(along-to-end + shortest_path_length(end_p, end_m) + along-to-end)``, and the
direct along-edge distance when both lie on the same edge. Also: water without a
bridge, the maximum snapping distance, counts within distances, the cache.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Transformer

from sitefinder.categories import CategoryRegistry, classify, load_categories
from sitefinder.indicators.access import (
    AccessParams,
    accessibility,
    amenity_access_points,
    amenity_snaps,
    node_accessibility,
    plot_access_points,
)
from sitefinder.io import osm
from sitefinder.netbuild import build_network
from sitefinder.netcache import LazyGeometryNetwork, NetworkCache, load_network, save_network
from sitefinder.network import (
    Snap,
    WalkNetwork,
    counts_within,
    nearest_distances,
    node_distances,
    snap,
)
from tests.conftest import AMSTERDAM, needs_shared
from tests.osmnx_reference import osmnx_walk_graph

RD = CRS.from_epsg(28992)
TOL_M = 1.0


# --------------------------------------------------------------------------- loading


@dataclass
class Region:
    graph: nx.MultiDiGraph
    net: WalkNetwork
    amenities: gpd.GeoDataFrame
    registry: CategoryRegistry


def _load_region(osm_path: Path, cache: Path, registry: CategoryRegistry | None = None) -> Region:
    """The engine's network (built from the pyosmium pass) and the osmnx reference graph."""
    registry = registry or load_categories(None)
    tag_filter = osm.feature_tag_filter(registry.osm_tags())
    ext = osm.extract(osm_path, tag_filter, cache)
    net, _ = build_network(osm.load_walk_ways(ext), RD)
    graph = osmnx_walk_graph(osm_path, cache, RD)
    feats = osm.load_features(ext, tag_filter, RD)
    amenities = classify(feats, registry)
    return Region(graph, net, amenities, registry)


def _squares(xy: np.ndarray, half: float = 30.0) -> gpd.GeoDataFrame:
    geoms = shapely.box(xy[:, 0] - half, xy[:, 1] - half, xy[:, 0] + half, xy[:, 1] + half)
    return gpd.GeoDataFrame({"plot_id": [f"P{i}" for i in range(len(xy))]}, geometry=geoms, crs=RD).set_index(
        "plot_id"
    )


# --------------------------------------------------------------------------- reference


@dataclass
class RefPoint:
    u: Any
    v: Any
    along: float
    offset: float
    length: float
    geom: shapely.LineString


def _ref_snap(graph: nx.MultiDiGraph, points: np.ndarray, max_snap_m: float) -> list[RefPoint | None]:
    """Snap with osmnx's own nearest-edge search; None beyond the maximum distance."""
    if len(points) == 0:
        return []
    xs = shapely.get_x(points)
    ys = shapely.get_y(points)
    edges, dists = ox.distance.nearest_edges(graph, xs, ys, return_dist=True)
    out: list[RefPoint | None] = []
    for p, (u, v, k), dist in zip(points, edges, dists, strict=True):
        if dist > max_snap_m:
            out.append(None)
            continue
        d = graph.edges[u, v, k]
        geom = d.get("geometry")
        if geom is None:
            nu, nv = graph.nodes[u], graph.nodes[v]
            geom = shapely.LineString([(nu["x"], nu["y"]), (nv["x"], nv["y"])])
        along = float(geom.project(p, normalized=True)) * float(d["length"])
        out.append(RefPoint(u, v, along, float(dist), float(d["length"]), geom))
    return out


class Reference:
    """networkx single-source Dijkstra from edge end nodes, memoised per node."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.graph = graph
        self._memo: dict[Any, dict[Any, float]] = {}

    def sp(self, a: Any, b: Any) -> float:
        if a not in self._memo:
            self._memo[a] = nx.single_source_dijkstra_path_length(self.graph, a, weight="length")
        return self._memo[a].get(b, math.inf)

    def pair(self, p: RefPoint, m: RefPoint) -> float:
        ends_p = ((p.u, p.along), (p.v, p.length - p.along))
        ends_m = ((m.u, m.along), (m.v, m.length - m.along))
        best = min(dp + self.sp(ep, em) + dm for ep, dp in ends_p for em, dm in ends_m)
        if {p.u, p.v} == {m.u, m.v} and p.geom.equals(m.geom):
            same_way = shapely.equals_exact(p.geom, m.geom, 1e-6)
            a_m = m.along if same_way else m.length - m.along
            best = min(best, abs(p.along - a_m))
        return p.offset + m.offset + best

    def matrix(
        self,
        plot_pts: list[RefPoint | None],
        plot_owner: np.ndarray,
        n_plots: int,
        am_pts: list[RefPoint | None],
        am_owner: np.ndarray,
        n_am: int,
    ) -> np.ndarray:
        """(n_plots, n_am) walking distances, min over both objects' access points."""
        out = np.full((n_plots, n_am), math.inf)
        for p, po in zip(plot_pts, plot_owner, strict=True):
            if p is None:
                continue
            for m, mo in zip(am_pts, am_owner, strict=True):
                if m is not None:
                    out[po, mo] = min(out[po, mo], self.pair(p, m))
        return out


def _reference_tables(
    region: Region, plots: gpd.GeoDataFrame, params: AccessParams, categories: list[str]
) -> dict[str, np.ndarray]:
    """Reference plot x amenity distance matrices per category."""
    ref = Reference(region.graph)
    ppts, pown = plot_access_points(plots.geometry, params.plot_access_spacing_m)
    plot_ref = _ref_snap(region.graph, ppts, params.max_snap_m)
    out = {}
    for name in categories:
        cat = next(c for c in region.registry if c.name == name)
        sel = region.amenities[region.amenities["category"] == name]
        apts, aown = amenity_access_points(sel, cat.polygon_access_min_area_m2)
        am_ref = _ref_snap(region.graph, apts, params.max_snap_m)
        out[name] = ref.matrix(plot_ref, pown, len(plots), am_ref, aown, len(sel))
    return out


def _check_against_reference(
    region: Region, plots: gpd.GeoDataFrame, params: AccessParams, categories: list[str]
) -> int:
    """Assert the engine's table equals the reference; return how many finite distances matched."""
    res = accessibility(region.net, plots, region.amenities, region.registry, params)
    refs = _reference_tables(region, plots, params, categories)
    checked = 0
    for name, mat in refs.items():
        want = mat.min(axis=1) if mat.shape[1] else np.full(len(plots), np.inf)
        got = res.table[f"dist_{name}_m"].to_numpy()
        assert np.array_equal(np.isfinite(want), np.isfinite(got)), name
        fin = np.isfinite(want)
        np.testing.assert_allclose(got[fin], want[fin], atol=TOL_M, err_msg=name)
        checked += int(fin.sum())
        for t in params.count_within_m:
            clear = np.all(np.abs(mat - t) > 0.01, axis=1)  # skip ties at the threshold
            want_n = (mat <= t).sum(axis=1)
            got_n = res.table[f"n_{name}_{int(t)}m"].to_numpy()
            np.testing.assert_array_equal(got_n[clear], want_n[clear], err_msg=f"{name} {t}")
    return checked


def _check_pairs(region: Region, plots: gpd.GeoDataFrame, params: AccessParams, n_pairs: int) -> None:
    """Single plot-amenity pairs: the engine with a one-amenity source vs the reference."""
    rng = np.random.default_rng(7)
    net, graph = region.net, region.graph
    ref = Reference(graph)
    ppts, pown = plot_access_points(plots.geometry, params.plot_access_spacing_m)
    psnap = snap(net, ppts, pown, params.max_snap_m)
    plot_ref = _ref_snap(graph, ppts, params.max_snap_m)
    am = region.amenities.reset_index(drop=True)
    am_pts = shapely.point_on_surface(am.geometry.to_numpy())
    am_ref = _ref_snap(graph, am_pts, params.max_snap_m)
    pairs = [(int(rng.integers(len(plots))), int(rng.integers(len(am)))) for _ in range(n_pairs)]
    n_finite = 0
    for pi, ai in pairs:
        src = snap(net, am_pts[ai : ai + 1], np.zeros(1, dtype=np.int64), params.max_snap_m)
        node_d = node_distances(net, [src])[0]
        got = nearest_distances(net, node_d, psnap, len(plots), src)[pi]
        want = min(
            (
                ref.pair(p, am_ref[ai])  # type: ignore[arg-type]
                for p, o in zip(plot_ref, pown, strict=True)
                if o == pi and p is not None and am_ref[ai] is not None
            ),
            default=math.inf,
        )
        assert math.isfinite(got) == math.isfinite(want), (pi, ai, got, want)
        if math.isfinite(want):
            n_finite += 1
            assert abs(got - want) <= TOL_M, (pi, ai, got, want)
    assert n_finite > n_pairs // 2


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def adam(tmp_path_factory: pytest.TempPathFactory) -> Region:
    if not AMSTERDAM.exists():
        pytest.skip(f"real OSM extract {AMSTERDAM} is absent")
    return _load_region(AMSTERDAM, tmp_path_factory.mktemp("adam-cache"))


def _adam_plots(region: Region, n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = region.net.node_xy
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return _squares(rng.uniform(lo, hi, (n, 2)), half=35.0)


@pytest.mark.slow
@needs_shared
def test_amsterdam_nearest_and_counts_match_networkx(adam: Region) -> None:
    params = AccessParams()
    plots = _adam_plots(adam, 12, seed=3)
    cats = ["supermarket", "pharmacy", "green", "pt_stop", "care", "school"]
    assert _check_against_reference(adam, plots, params, cats) > 40


@pytest.mark.slow
@needs_shared
def test_amsterdam_sampled_pairs_match_networkx(adam: Region) -> None:
    _check_pairs(adam, _adam_plots(adam, 20, seed=11), AccessParams(), n_pairs=40)


@pytest.mark.slow
@needs_shared
def test_amsterdam_node_distances_match_networkx(adam: Region) -> None:
    params = AccessParams()
    table = node_accessibility(adam.net, adam.amenities, adam.registry, params)
    assert len(table) == adam.net.n_nodes
    ref = Reference(adam.graph)
    sel = adam.amenities[adam.amenities["category"] == "supermarket"]
    am_ref = [
        m
        for m in _ref_snap(adam.graph, shapely.point_on_surface(sel.geometry.to_numpy()), 250.0)
        if m is not None
    ]
    rng = np.random.default_rng(5)
    for i in rng.choice(adam.net.n_nodes, 25, replace=False):
        node = int(adam.net.node_ids[i])
        want = min(
            m.offset + min(m.along + ref.sp(m.u, node), m.length - m.along + ref.sp(m.v, node))
            for m in am_ref
        )
        assert table.loc[i, "dist_supermarket_m"] == pytest.approx(want, abs=TOL_M)
    np.testing.assert_allclose(table["x"], adam.net.node_xy[:, 0])


@pytest.fixture(scope="module")
def sample_region(
    sample_town: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Region, gpd.GeoDataFrame]:
    """The session's sample town (seed 42, scale 1): engine network, osmnx graph, plots.

    Its own cache folder: the osmnx reference graph's cut file there is not keyed by content.
    """
    region = _load_region(Path(sample_town.osm_path), tmp_path_factory.mktemp("sample-net-cache"))
    plots = gpd.read_file(sample_town.plots_path).to_crs(RD)
    return region, plots


@pytest.mark.slow
def test_sample_town_matches_networkx(sample_region: tuple[Region, gpd.GeoDataFrame]) -> None:
    region, plots = sample_region
    plots = plots.reset_index(drop=True).iloc[:6]
    plots.index = pd.Index([f"S{i}" for i in range(len(plots))], name="plot_id")
    assert _check_against_reference(region, plots, AccessParams(), ["supermarket", "gp", "green"]) > 0
    _check_pairs(region, plots, AccessParams(), n_pairs=15)


# --------------------------------------------------------------------------- old engine = new engine

SAME_M = 0.01


def _assert_same_as_osmnx_engine(region: Region, plots: gpd.GeoDataFrame) -> int:
    """The network from the pyosmium pass gives the distances of the old osmnx-built network."""
    old = WalkNetwork.from_osmnx(region.graph)
    new = region.net
    assert sorted(new.node_ids.tolist()) == sorted(old.node_ids.tolist())
    assert new.n_edges == old.n_edges
    assert new.edge_len.sum() == pytest.approx(old.edge_len.sum(), abs=1e-6)
    params = AccessParams()
    a = accessibility(old, plots, region.amenities, region.registry, params).table
    b = accessibility(new, plots, region.amenities, region.registry, params).table
    assert list(a.columns) == list(b.columns)
    dist_cols = [c for c in a.columns if c.startswith("dist_")]
    for c in a.columns:
        if c in dist_cols:
            np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), atol=SAME_M, rtol=0)
        else:
            pd.testing.assert_series_equal(b[c], a[c])
    na = node_accessibility(old, region.amenities, region.registry, params)
    nb = node_accessibility(new, region.amenities, region.registry, params)
    na.index = pd.Index(old.node_ids, name="osm_node")
    nb.index = pd.Index(new.node_ids, name="osm_node")
    nb = nb.loc[na.index]
    for c in [c for c in na.columns if c.startswith("dist_")]:
        np.testing.assert_allclose(nb[c].to_numpy(float), na[c].to_numpy(float), atol=SAME_M, rtol=0)
    np.testing.assert_allclose(nb[["x", "y"]].to_numpy(), na[["x", "y"]].to_numpy(), atol=1e-6)
    return int(np.isfinite(a[dist_cols].to_numpy(float)).sum())


@needs_shared
def test_amsterdam_network_equals_the_osmnx_engine(adam: Region) -> None:
    assert _assert_same_as_osmnx_engine(adam, _adam_plots(adam, 30, seed=8)) > 100


@pytest.mark.slow
def test_sample_network_equals_the_osmnx_engine(sample_region: tuple[Region, gpd.GeoDataFrame]) -> None:
    region, plots = sample_region
    plots = plots.reset_index(drop=True)
    plots.index = pd.Index([f"S{i}" for i in range(len(plots))], name="plot_id")
    assert _assert_same_as_osmnx_engine(region, plots) > 100


# --------------------------------------------------------------------------- synthetic OSM

_TO_WGS = Transformer.from_crs(28992, 4326, always_xy=True)
X0, Y0 = 121_000.0, 487_000.0


def _osm_xml(ways: list[list[tuple[float, float]]], pois: list[tuple[float, float, dict[str, str]]]) -> str:
    """OSM XML from RD-offset coordinates: residential ways and tagged POI nodes."""
    ids: dict[tuple[float, float], int] = {}
    node_lines: list[str] = []

    def node(x: float, y: float, tags: dict[str, str] | None = None) -> int:
        key = (round(x, 3), round(y, 3))
        if key in ids and not tags:
            return ids[key]
        nid = len(node_lines) + 1
        lon, lat = _TO_WGS.transform(X0 + x, Y0 + y)
        inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        node_lines.append(f'<node id="{nid}" version="1" lat="{lat:.8f}" lon="{lon:.8f}">{inner}</node>')
        if not tags:
            ids[key] = nid
        return nid

    way_lines = []
    for wi, coords in enumerate(ways, start=1):
        refs = "".join(f'<nd ref="{node(x, y)}"/>' for x, y in coords)
        way_lines.append(f'<way id="{wi}" version="1">{refs}<tag k="highway" v="residential"/></way>')
    for x, y, tags in pois:
        node(x, y, tags)
    head = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    return "\n".join([*head, *node_lines, *way_lines, "</osm>"]) + "\n"


def _grid(x0: float, n: int = 5, step: float = 60.0) -> list[list[tuple[float, float]]]:
    xs = [x0 + i * step for i in range(n)]
    ys = [i * step for i in range(n)]
    rows = [[(x, y) for x in xs] for y in ys]
    cols = [[(x, y) for y in ys] for x in xs]
    return rows + cols


def _canal_region(tmp_path: Path, bridge: bool) -> Region:
    """West grid x 0..240, east grid x 300..540, canal between; optional bridge 2 km north."""
    ways = _grid(0.0) + _grid(300.0)
    if bridge:
        ways += [[(0.0, 240.0), (0.0, 2000.0), (540.0, 2000.0), (540.0, 240.0)]]
    pois = [(310.0, 120.0, {"shop": "supermarket", "name": "Across the water"})]
    path = tmp_path / ("canal-bridge.osm" if bridge else "canal.osm")
    path.write_text(_osm_xml(ways, pois), encoding="utf-8")
    return _load_region(path, tmp_path / "cache")


@pytest.mark.parametrize("bridge", [False, True], ids=["no-bridge", "far-bridge"])
def test_amenity_across_water_is_never_near(tmp_path: Path, bridge: bool) -> None:
    region = _canal_region(tmp_path, bridge)
    assert (region.amenities["category"] == "supermarket").sum() == 1
    # Plot on the west quay, 80 m straight across the canal from the supermarket.
    plots = _squares(np.array([[X0 + 230.0, Y0 + 120.0]]), half=8.0)
    params = AccessParams()
    res = accessibility(region.net, plots, region.amenities, region.registry, params)
    d = res.table["dist_supermarket_m"].iloc[0]
    if bridge:
        assert d > 3000.0  # round trip over the bridge 2 km north
    else:
        assert np.isnan(d)
    assert res.table["n_supermarket_1000m"].iloc[0] == 0
    assert _check_against_reference(region, plots, params, ["supermarket"]) == int(bridge)


def test_point_one_km_from_any_street_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ways = _grid(0.0)
    pois = [
        (100.0, 30.0, {"shop": "supermarket", "name": "Near"}),
        (1240.0, 120.0, {"amenity": "pharmacy", "name": "Far"}),
    ]
    path = tmp_path / "far.osm"
    path.write_text(_osm_xml(ways, pois), encoding="utf-8")
    region = _load_region(path, tmp_path / "cache")
    near = np.array([[X0 + 90.0, Y0 + 90.0]])
    far = np.array([[X0 + 1240.0, Y0 + 1240.0]])
    plots = _squares(np.vstack([near, far]), half=10.0)
    params = AccessParams(max_snap_m=250.0)
    with caplog.at_level(logging.WARNING):
        res = accessibility(region.net, plots, region.amenities, region.registry, params)
    t = res.table
    assert t.loc["P0", "dist_supermarket_m"] < 200
    assert t.loc[["P1"], [c for c in t.columns if c.startswith("dist_")]].isna().all(axis=None)
    assert (t.loc["P1", [c for c in t.columns if c.startswith("n_")]] == 0).all()
    assert np.isnan(t.loc["P0", "dist_pharmacy_m"])  # the only pharmacy is 1 km off the network
    assert res.unreachable_amenities["pharmacy"]
    msgs = " ".join(r.getMessage() for r in caplog.records)
    assert "1 plots lie more than 250 m from the walking network" in msgs and "P1" in msgs
    assert "pharmacy: 1 of 1 amenities lie more than 250 m" in msgs
    # The snap itself: no edge, infinite offset, never attached to a far street.
    s = snap(region.net, shapely.points(far), np.zeros(1, dtype=np.int64), 250.0)
    assert s.edge[0] == -1 and math.isinf(s.offset[0])
    s = snap(region.net, shapely.points(far), np.zeros(1, dtype=np.int64), 2000.0)
    assert s.edge[0] >= 0  # with a larger tolerance it would snap: the rule is what stops it
    nodes = node_accessibility(region.net, region.amenities, region.registry, params)
    assert nodes["dist_pharmacy_m"].isna().all()
    assert nodes["dist_supermarket_m"].notna().all()


# --------------------------------------------------------------------------- engine units


def _line_net(detour: bool = True) -> WalkNetwork:
    """A path 0-1-2-3 with 100 m edges, and a 500 m parallel detour between 0 and 1."""
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0], [300.0, 0.0]])
    u = np.array([0, 1, 2, 0])
    v = np.array([1, 2, 3, 1])
    length = np.array([100.0, 100.0, 100.0, 500.0])
    geoms = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    geoms[3] = shapely.LineString([(0, 0), (50, 240), (100, 0)])
    k = 4 if detour else 3
    return WalkNetwork(np.arange(4) + 10, xy, u[:k], v[:k], length[:k], geoms[:k])


def test_same_edge_and_offsets() -> None:
    net = _line_net()
    src = snap(net, shapely.points([[130.0, 5.0]]), np.zeros(1, dtype=np.int64), 50.0)
    at = snap(net, shapely.points([[180.0, -3.0], [290.0, 0.0]]), np.array([0, 1]), 50.0)
    d = node_distances(net, [src])[0]
    np.testing.assert_allclose(d, [135.0, 35.0, 75.0, 175.0])
    got = nearest_distances(net, d, at, 2, src)
    np.testing.assert_allclose(got, [5.0 + 50.0 + 3.0, 5.0 + 160.0])
    # The parallel 500 m edge never shortens anything; the 100 m edge is used.
    assert net.matrix[0, 1] == 100.0


def test_counts_within_chunks_give_the_same_result() -> None:
    net = _line_net(detour=False)
    rng = np.random.default_rng(0)
    am = snap(net, shapely.points(rng.uniform([0, -20], [300, 20], (30, 2))), np.arange(30), 50.0)
    pl = snap(net, shapely.points(rng.uniform([0, -20], [300, 20], (40, 2))), np.arange(40) // 2, 50.0)
    whole = counts_within(net, pl, 20, {"a": am}, [50.0, 120.0])
    tiny = counts_within(net, pl, 20, {"a": am}, [50.0, 120.0], max_chunk_bytes=1)
    for k in whole:
        np.testing.assert_array_equal(whole[k], tiny[k])
    # Brute force on a straight line: |x_p - x_a| + both offsets.
    xp = net.node_xy[net.edge_u[pl.edge], 0] + pl.along
    xa = net.node_xy[net.edge_u[am.edge], 0] + am.along
    dmat = np.abs(xp[:, None] - xa[None, :]) + pl.offset[:, None] + am.offset[None, :]
    per_plot = np.full((20, 30), np.inf)
    np.minimum.at(per_plot, pl.owner, dmat)
    for t in (50.0, 120.0):
        np.testing.assert_array_equal(whole[("a", t)], (per_plot <= t).sum(axis=1))


def test_virtual_source_equals_min_only_without_offsets() -> None:
    from scipy.sparse.csgraph import dijkstra

    net = _line_net()
    src = Snap(np.arange(2), np.array([0, 2]), np.array([0.0, 100.0]), np.zeros(2))
    d = node_distances(net, [src])[0]
    floor = dijkstra(net.matrix, directed=True, indices=[0, 3], min_only=True)
    np.testing.assert_allclose(d, floor, atol=1e-5)


def test_from_osmnx_counts_two_way_edges_once(adam: Region) -> None:
    g = adam.graph
    net = WalkNetwork.from_osmnx(g)
    undirected = {(min(u, v), max(u, v), k) for u, v, k in g.edges(keys=True) if u != v}
    loops = {(u, round(d["length"], 3)) for u, v, d in g.edges(data=True) if u == v}
    assert net.n_edges == len(undirected) + len(loops)
    assert net.n_nodes == g.number_of_nodes()
    assert np.isclose(net.edge_len.sum() * 2, sum(d["length"] for *_, d in g.edges(data=True)))


# --------------------------------------------------------------------------- cache


def test_network_npz_roundtrip(tmp_path: Path) -> None:
    net = _line_net()
    save_network(net, tmp_path / "n.npz")
    back = load_network(tmp_path / "n.npz")
    for f in ("node_ids", "node_xy", "edge_u", "edge_v", "edge_len"):
        np.testing.assert_array_equal(getattr(back, f), getattr(net, f))
    assert all(shapely.equals_exact(back.edge_geom, net.edge_geom, 0.0))
    assert (back.matrix != net.matrix).nnz == 0


def test_cold_cache_gives_a_network_whose_linestrings_can_be_let_go(tmp_path: Path) -> None:
    net = _line_net()
    cold, _ = NetworkCache(tmp_path).network("abc", RD, lambda: net)
    assert isinstance(cold, LazyGeometryNetwork)
    assert "_make_geom" not in cold.__dict__  # nothing made yet: only coordinates held
    first = cold.edge_geom
    assert all(shapely.equals_exact(first, net.edge_geom, 0.0))
    assert sorted(cold.tree.query(shapely.box(-1, -1, 1, 1)).tolist()) == [0, 3]  # both edges at node 0
    cold.drop_geometries()
    assert callable(cold.__dict__["_edge_geom"]) and "tree" not in cold.__dict__
    again = cold.edge_geom
    assert again is not first
    assert shapely.to_wkb(again).tolist() == shapely.to_wkb(first).tolist()
    # A network given its geometries outright keeps them.
    plain = LazyGeometryNetwork(**{f: getattr(net, f) for f in ("node_ids", "node_xy", "edge_u", "edge_v", "edge_len")},
                                edge_geom=net.edge_geom)  # fmt: skip
    plain.drop_geometries()
    assert plain.edge_geom is net.edge_geom


@needs_shared
def test_cache_hits_and_invalidation(adam: Region, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = NetworkCache(tmp_path)
    params = AccessParams()
    with caplog.at_level(logging.INFO, logger="sitefinder.netcache"):
        net, key = cache.network("abc", RD, lambda: adam.net)
        first = cache.node_distances(net, key, adam.amenities, adam.registry, params)
    assert "cached in" in caplog.text and "computed and cached for 11" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sitefinder.netcache"):
        net2, key2 = cache.network("abc", RD, lambda: adam.net)
        again = cache.node_distances(net2, key2, adam.amenities, adam.registry, params)
    assert key2 == key
    assert "reused from cache" in caplog.text and "for 11 of 11 categories" in caplog.text
    for c in first:
        np.testing.assert_array_equal(first[c], again[c])
    # Another OSM source: another network key.
    assert cache.network("def", RD, lambda: adam.net)[1] != key
    # Fewer supermarkets: only that category is recomputed; the other file is kept
    # (another run on the same cache may still use it) and hit again on the way back.
    fewer = adam.amenities.drop(adam.amenities.index[adam.amenities["category"] == "supermarket"][:2])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sitefinder.netcache"):
        changed = cache.node_distances(net2, key2, fewer, adam.registry, params)
    assert "computed and cached for 1 categories (supermarket)" in caplog.text
    assert len(list((tmp_path / "network" / key / "dist").glob("supermarket-*.npy"))) == 2
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sitefinder.netcache"):
        back = cache.node_distances(net2, key2, adam.amenities, adam.registry, params)
    assert "for 11 of 11 categories" in caplog.text and "computed" not in caplog.text
    np.testing.assert_array_equal(back["supermarket"], first["supermarket"])
    expected = node_accessibility(net2, fewer, adam.registry, params)["dist_supermarket_m"]
    np.testing.assert_allclose(np.round(changed["supermarket"], 1), expected.fillna(np.inf))
    # Another snapping distance: everything is recomputed.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sitefinder.netcache"):
        cache.node_distances(net2, key2, fewer, adam.registry, AccessParams(max_snap_m=100.0))
    assert "computed and cached for 11" in caplog.text


@needs_shared
def test_cached_node_distances_give_the_same_plot_table(adam: Region, tmp_path: Path) -> None:
    params = AccessParams()
    plots = _adam_plots(adam, 8, seed=21)
    cache = NetworkCache(tmp_path)
    net, key = cache.network("abc", RD, lambda: adam.net)
    nd = cache.node_distances(net, key, adam.amenities, adam.registry, params)
    a = accessibility(adam.net, plots, adam.amenities, adam.registry, params).table
    b = accessibility(net, plots, adam.amenities, adam.registry, params, node_dist=nd).table
    pd.testing.assert_frame_equal(a, b)
    snaps, _ = amenity_snaps(net, adam.amenities, adam.registry, params)
    assert set(snaps) == set(adam.registry.names)


def test_unwritable_or_corrupt_cache_never_fails_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "grid.osm"
    path.write_text(_osm_xml(_grid(0.0), [(100.0, 30.0, {"shop": "supermarket"})]), encoding="utf-8")
    region = _load_region(path, tmp_path / "osm-cache")
    params = AccessParams()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="sitefinder.netcache"):
        net, key = NetworkCache(blocked).network("abc", RD, lambda: region.net)
        nd = NetworkCache(blocked).node_distances(net, key, region.amenities, region.registry, params)
    assert "not cached" in caplog.text
    assert np.isfinite(nd["supermarket"]).all()
    cache = NetworkCache(tmp_path / "cache")
    builds: list[int] = []

    def build() -> WalkNetwork:
        builds.append(1)
        return region.net

    net, key = cache.network("abc", RD, build)
    assert cache.network("abc", RD, build)[1] == key and len(builds) == 1
    npz = cache.root / key / "network.npz"
    good = npz.read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    entry = cache.root / key / "entry.json"
    other_schema = entry.read_text().replace('"schema": 2', '"schema": 1')
    cases = [
        (lambda: npz.write_bytes(b"not a zip file"), "bytes, expected"),
        (lambda: npz.write_bytes(bytes(flipped)), "does not match its recorded SHA-256"),
        (lambda: entry.write_text(other_schema), "schema 1, expected 'network' 2"),
        (lambda: entry.write_text("{not json"), "unreadable entry"),
    ]
    for spoil, reason in cases:
        spoil()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            again, _ = cache.network("abc", RD, build)
        assert reason in caplog.text and "rebuilding" in caplog.text
        np.testing.assert_array_equal(again.edge_len, net.edge_len)
        assert npz.read_bytes() == good
    assert len(builds) == 1 + len(cases)
