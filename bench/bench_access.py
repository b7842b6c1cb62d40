"""Benchmark the accessibility engine against networkx, pandana and the bare scipy floor.

For the sample municipality at scales 1, 4 and 8 (scale 8 is Almere-sized, about
100,000 walking nodes), on the same graph in the same run: the time to compute the
nearest walking distance to every amenity category for every plot and for every
network node, with

* ``sitefinder``: :func:`sitefinder.indicators.access.node_accessibility` and
  :func:`~sitefinder.indicators.access.accessibility` (snapping, virtual sources,
  one Dijkstra per category), first call in a fresh process (``cold``, includes the
  spatial index build) and the best of two repeats (``warm``);
* (a) the straightforward osmnx/networkx approach: nearest node per plot and
  amenity, ``nx.single_source_dijkstra_path_length`` per plot (and per node),
  timed on a sample and extrapolated when the full run would take too long; plus
  (a') ``nx.multi_source_dijkstra_path_length`` per category for context;
* (b) pandana from PyPI: ``Network`` (contraction hierarchies) + ``set_pois`` +
  ``nearest_pois`` with a 3,000 m horizon, preprocessing included; counts with
  ``precompute`` + ``aggregate``;
* (c) the floor: ``scipy.sparse.csgraph.dijkstra(min_only=True)`` from the
  amenities' nearest edge end nodes, Dijkstra calls only (no snapping, no offsets).

Every method runs in its own subprocess, so its peak memory (``ru_maxrss``) is its
own. Samples and prepared inputs are cached in ``--work`` (default
``data/cache/bench``); the OSM load times shown then come from when they were made.

Run: ``.venv/bin/python bench/bench_access.py`` (``make bench``); options
``--scales 1 4 8``, ``--work DIR``, ``--fresh``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import pickle
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HORIZON_M = 3000.0  # pandana search horizon (nearest_pois max_distance)
COUNT_M = (500.0, 1000.0)
NX_PLOT_BUDGET = 10  # per-plot networkx searches actually run (the rest extrapolated)
NX_NODE_SAMPLE = 3  # per-node networkx searches actually run
CHECK_NODES = 3000  # nodes compared across methods
PAIRED_ROUNDS = 5  # alternating sitefinder / floor rounds for the floor ratio
SEED = 42


def _rss_mb() -> float:
    with Path("/proc/self/status").open() as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


# --------------------------------------------------------------------------- preparation


def _fallback_sample(out: Path, scale: float) -> dict[str, Any]:
    """A synthetic grid town when sitefinder.sample is not available (clearly labelled)."""
    import geopandas as gpd
    import networkx as nx
    import shapely

    rng = np.random.default_rng(SEED)
    side = round(113 * math.sqrt(scale))
    xy = np.indices((side, side)).reshape(2, -1).T * 80.0 + rng.uniform(-15, 15, (side * side, 2))
    xy += [150_000.0, 480_000.0]
    idx = np.arange(side * side).reshape(side, side)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(len(a)) > 0.1
    graph = nx.MultiDiGraph(crs="EPSG:28992")
    graph.add_nodes_from((int(i), {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(xy))
    for u, v in zip(a[keep].tolist(), b[keep].tolist(), strict=True):
        length = float(np.hypot(*(xy[u] - xy[v])))
        graph.add_edge(u, v, length=length)
        graph.add_edge(v, u, length=length)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    cats = ["supermarket", "convenience", "gp", "pharmacy", "pt_stop", "meeting_place", "green",
            "nightlife", "school", "care"]  # fmt: skip
    per = [8, 4, 9, 3, 100, 5, 18, 22, 13, 15]
    rows = [(c, shapely.Point(rng.uniform(lo, hi))) for c, k in zip(cats, per, strict=True)
            for _ in range(max(1, round(k * scale)))]  # fmt: skip
    amen = gpd.GeoDataFrame({"category": [r[0] for r in rows],
                             "osm_id": [f"node/{i}" for i in range(len(rows))]},
                            geometry=[r[1] for r in rows], crs=28992)  # fmt: skip
    c = rng.uniform(lo, hi, (max(10, round(20 * scale)), 2))
    plots = gpd.GeoDataFrame({"plot_id": [f"P{i}" for i in range(len(c))]},
                             geometry=shapely.box(c[:, 0] - 40, c[:, 1] - 40, c[:, 0] + 40, c[:, 1] + 40),
                             crs=28992)  # fmt: skip
    return {"graph": graph, "amenities": amen, "plots": plots, "source": "synthetic grid (fallback)"}


def prepare(scale: float, work: Path) -> dict[str, Any]:
    """Generate the sample, load it with osmnx, build and cache the network (in a subprocess)."""
    import geopandas as gpd
    from pyproj import CRS

    from sitefinder.categories import classify, load_categories
    from sitefinder.io import osm
    from sitefinder.netcache import save_network
    from sitefinder.network import WalkNetwork
    from tests.osmnx_reference import osmnx_walk_graph

    folder = work / f"scale{scale:g}"
    meta_path = folder / "prepared.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    registry = load_categories(None)
    crs = CRS.from_epsg(28992)
    meta: dict[str, Any] = {"scale": scale}
    try:
        from sitefinder.sample import generate_sample
    except ImportError:
        generate_sample = None  # type: ignore[assignment]
    if generate_sample is not None:
        t_gen, res = _timed(lambda: generate_sample(folder / "sample", seed=SEED, scale=scale))
        meta.update(source=f"sitefinder.sample seed {SEED}", generate_s=t_gen)
        tag_filter = osm.feature_tag_filter(registry.osm_tags())
        t_cut, ext = _timed(lambda: osm.extract(Path(res.osm_path), tag_filter, folder / "cache"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_graph, graph = _timed(lambda: osmnx_walk_graph(Path(res.osm_path), folder / "cache", crs))
            t_feat, feats = _timed(lambda: osm.load_features(ext, tag_filter, crs))
        amenities = classify(feats, registry)
        plots = gpd.read_file(res.plots_path).to_crs(crs)
        meta.update(cut_s=t_cut, osmnx_graph_s=t_graph, features_s=t_feat)
    else:
        fb = _fallback_sample(folder, scale)
        graph, amenities, plots = fb["graph"], fb["amenities"], fb["plots"]
        meta.update(source=fb["source"], osmnx_graph_s=float("nan"))
    meta["osmnx_graph_peak_mb"] = _peak_mb()
    t_build, net = _timed(lambda: WalkNetwork.from_osmnx(graph))
    t_csr, _ = _timed(lambda: net.matrix)
    t_save, _ = _timed(lambda: save_network(net, folder / "network.npz"))
    with (folder / "graph.pkl").open("wb") as f:
        pickle.dump(graph, f, protocol=pickle.HIGHEST_PROTOCOL)
    plots = plots.reset_index(drop=True)
    plots.index = [f"P{i}" for i in range(len(plots))]
    plots.index.name = "plot_id"
    plots[["geometry"]].to_pickle(folder / "plots.pkl")
    amenities[["category", "osm_id", "geometry"]].to_pickle(folder / "amenities.pkl")
    meta.update(
        nodes=net.n_nodes,
        edges=net.n_edges,
        osmnx_edges=graph.number_of_edges(),
        plots=len(plots),
        amenities=len(amenities),
        categories=len(registry),
        nonempty_categories=int(amenities["category"].nunique()),
        from_osmnx_s=t_build,
        csr_s=t_csr,
        npz_save_s=t_save,
    )
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


# --------------------------------------------------------------------------- workers


def _inputs(folder: Path) -> tuple[Any, Any, Any, Any]:
    import pandas as pd

    from sitefinder.categories import load_categories
    from sitefinder.netcache import load_network

    t_load, net = _timed(lambda: load_network(folder / "network.npz"))
    amen = pd.read_pickle(folder / "amenities.pkl")
    plots = pd.read_pickle(folder / "plots.pkl")
    return net, amen, plots, (load_categories(None), t_load)


def _check_nodes(n: int) -> np.ndarray:
    return np.sort(np.random.default_rng(SEED).choice(n, min(n, CHECK_NODES), replace=False))


def worker_sitefinder(folder: Path, what: str) -> dict[str, Any]:
    from sitefinder.indicators.access import (
        AccessParams,
        accessibility,
        amenity_snaps,
        category_node_distances,
        node_accessibility,
    )

    net, amen, plots, (registry, t_load) = _inputs(folder)
    rss0 = _rss_mb()
    out: dict[str, Any] = {"npz_load_s": t_load}
    nearest_only = AccessParams(count_within_m=())
    if what == "nodes":
        t_cold, table = _timed(lambda: node_accessibility(net, amen, registry, nearest_only))
        warm = [_timed(lambda: node_accessibility(net, amen, registry, nearest_only))[0] for _ in range(2)]
        t_snap, (snaps, _) = _timed(lambda: amenity_snaps(net, amen, registry, nearest_only, warn=False))
        t_dij, _ = _timed(lambda: category_node_distances(net, snaps, registry.names))
        cols = [c for c in table.columns if c.startswith("dist_")]
        out.update(cold_s=t_cold, warm_s=min(warm), snap_s=t_snap, dijkstra_s=t_dij)
        # Paired with the floor: alternate both in this process, so load spikes hit both.
        floor_run = _floor_runner(net, snaps)
        pairs = []
        for _ in range(PAIRED_ROUNDS):
            t_ours = _timed(lambda: node_accessibility(net, amen, registry, nearest_only))[0]
            pairs.append((t_ours, _timed(floor_run)[0]))
        out["paired"] = pairs
        out["check"] = table[cols].to_numpy()[_check_nodes(net.n_nodes)].tolist()
        out["columns"] = cols
    else:
        t_cold, res = _timed(lambda: accessibility(net, plots, amen, registry, nearest_only))
        warm = [_timed(lambda: accessibility(net, plots, amen, registry, nearest_only))[0] for _ in range(2)]
        from sitefinder.network import counts_within

        t_counts, _ = _timed(
            lambda: counts_within(net, res.plot_snap, len(plots), res.amenity_snaps, list(COUNT_M))
        )
        cols = [c for c in res.table.columns if c.startswith("dist_")]
        out.update(cold_s=t_cold, warm_s=min(warm), counts_s=t_counts)
        out["check"] = res.table[cols].to_numpy().tolist()
        out["columns"] = cols
    out.update(peak_mb=_peak_mb(), rss_before_mb=rss0)
    return out


def _end_nodes(net: Any, snaps: dict[str, Any]) -> dict[str, np.ndarray]:
    """Nearer edge end node of every snapped amenity point, per category."""
    out = {}
    for name, s in snaps.items():
        ok = s.ok
        e = s.edge[ok]
        near_u = s.along[ok] <= net.edge_len[e] / 2
        out[name] = np.unique(np.where(near_u, net.edge_u[e], net.edge_v[e]))
    return out


def _floor_runner(net: Any, snaps: dict[str, Any]) -> Callable[[], dict[str, np.ndarray]]:
    """The floor: one min_only Dijkstra per category from its amenities' nearest nodes."""
    from scipy.sparse.csgraph import dijkstra

    ends = {k: v for k, v in _end_nodes(net, snaps).items() if len(v)}
    mat = net.matrix

    def run() -> dict[str, np.ndarray]:
        return {k: dijkstra(mat, directed=True, indices=v, min_only=True) for k, v in ends.items()}

    return run


def worker_floor(folder: Path) -> dict[str, Any]:
    from sitefinder.indicators.access import AccessParams, amenity_snaps

    net, amen, _plots, (registry, _t) = _inputs(folder)
    snaps, _ = amenity_snaps(net, amen, registry, AccessParams(), warn=False)
    ends = {k: v for k, v in _end_nodes(net, snaps).items() if len(v)}
    run = _floor_runner(net, snaps)
    rss0 = _rss_mb()

    times = []
    for _ in range(3):
        t, res = _timed(run)
        times.append(t)
    sel = _check_nodes(net.n_nodes)
    cols = [f"dist_{c}_m" for c in registry.names]
    check = np.full((len(sel), len(cols)), np.nan)
    for i, c in enumerate(registry.names):
        if c in res:
            check[:, i] = np.where(np.isfinite(res[c][sel]), res[c][sel], np.nan)
    return {"best_s": min(times), "times": times, "searches": len(ends), "peak_mb": _peak_mb(),
            "rss_before_mb": rss0, "check": check.tolist(), "columns": cols}  # fmt: skip


def worker_networkx(folder: Path) -> dict[str, Any]:
    import networkx as nx
    import osmnx as ox
    import shapely

    from sitefinder.indicators.access import amenity_access_points

    _net, amen, plots, (registry, _t) = _inputs(folder)
    with (folder / "graph.pkl").open("rb") as f:
        graph = pickle.load(f)
    rss0 = _rss_mb()
    node_list = np.fromiter(graph.nodes, dtype=np.int64)

    def attach() -> tuple[np.ndarray, dict[str, set[int]]]:
        c = plots.geometry.centroid
        plot_nodes = np.asarray(ox.distance.nearest_nodes(graph, c.x.to_numpy(), c.y.to_numpy()))
        cat_nodes = {}
        for cat in registry:
            sel = amen[amen["category"] == cat.name]
            if len(sel):
                pts, _ = amenity_access_points(sel, cat.polygon_access_min_area_m2)
                x, y = shapely.get_x(pts), shapely.get_y(pts)
                cat_nodes[cat.name] = set(np.asarray(ox.distance.nearest_nodes(graph, x, y)).tolist())
        return plot_nodes, cat_nodes

    t_attach, (plot_nodes, cat_nodes) = _timed(attach)

    def one(source: int) -> list[float]:
        lengths = nx.single_source_dijkstra_path_length(graph, source, weight="length")
        return [min((lengths.get(n, math.inf) for n in cat_nodes.get(c, ())), default=math.inf)
                for c in registry.names]  # fmt: skip

    k = min(len(plots), NX_PLOT_BUDGET)
    t_plots_k, rows = _timed(lambda: [one(int(s)) for s in plot_nodes[:k]])
    node_sample = np.random.default_rng(SEED).choice(node_list, NX_NODE_SAMPLE, replace=False)
    t_nodes_k, _ = _timed(lambda: [one(int(s)) for s in node_sample])
    per_plot = t_plots_k / k
    per_node = t_nodes_k / NX_NODE_SAMPLE

    def multi() -> dict[str, dict[int, float]]:
        return {c: nx.multi_source_dijkstra_path_length(graph, nodes, weight="length")
                for c, nodes in cat_nodes.items()}  # fmt: skip

    t_multi, dists = _timed(multi)
    sel = node_list[_check_nodes(len(node_list))]
    cols = [f"dist_{c}_m" for c in registry.names]
    check = [[dists.get(c, {}).get(int(n), math.nan) for c in registry.names] for n in sel]
    return {
        "attach_s": t_attach,
        "plots_measured": k,
        "plots_total": len(plots),
        "plots_s": t_attach + per_plot * len(plots),
        "nodes_measured": NX_NODE_SAMPLE,
        "nodes_s": t_attach + per_node * len(node_list),
        "multi_s": t_attach + t_multi,
        "peak_mb": _peak_mb(),
        "rss_before_mb": rss0,
        "check_plots": [[x if math.isfinite(x) else math.nan for x in r] for r in rows],
        "check": check,
        "columns": cols,
    }


def worker_pandana(folder: Path) -> dict[str, Any]:
    try:
        import pandana
    except ImportError as exc:
        return {"error": f"pandana is not installed ({exc}); pip install -e '.[bench]'"}
    import pandas as pd
    import shapely

    from sitefinder.indicators.access import amenity_access_points

    net, amen, plots, (registry, _t) = _inputs(folder)
    rss0 = _rss_mb()
    loop = net.edge_u == net.edge_v

    def build() -> Any:
        nodes = pd.DataFrame({"x": net.node_xy[:, 0], "y": net.node_xy[:, 1]})
        edges = pd.DataFrame({"from": net.edge_u[~loop], "to": net.edge_v[~loop],
                              "length": net.edge_len[~loop]})  # fmt: skip
        return pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["length"]],
                               twoway=True)  # fmt: skip

    t_build, pn = _timed(build)

    def pois() -> dict[str, pd.Series]:
        res = {}
        for cat in registry:
            sel = amen[amen["category"] == cat.name]
            if not len(sel):
                continue
            pts, _ = amenity_access_points(sel, cat.polygon_access_min_area_m2)
            pn.set_pois(cat.name, HORIZON_M, 1, pd.Series(shapely.get_x(pts)), pd.Series(shapely.get_y(pts)))
            res[cat.name] = pn.nearest_pois(HORIZON_M, cat.name, num_pois=1)[1]
        return res

    t_pois, res = _timed(pois)
    c = plots.geometry.centroid
    t_plot_ids, plot_nodes = _timed(lambda: pn.get_node_ids(c.x, c.y).to_numpy())
    rss1 = _peak_mb()

    def counts() -> None:
        pn.precompute(max(COUNT_M))
        for cat in registry:
            sel = amen[amen["category"] == cat.name]
            if not len(sel):
                continue
            rp = sel.geometry.representative_point()
            pn.set(pn.get_node_ids(rp.x, rp.y), name=cat.name)
            for d in COUNT_M:
                pn.aggregate(d, type="count", decay="flat", name=cat.name)

    t_counts, _ = _timed(counts)
    cols = [f"dist_{c}_m" for c in registry.names]

    def vals(idx: np.ndarray) -> list[list[float]]:
        out = []
        for i in idx:
            row = []
            for cat in registry.names:
                v = float(res[cat].iloc[i]) if cat in res else math.nan
                row.append(math.nan if v >= HORIZON_M else v)
            out.append(row)
        return out

    return {
        "preprocess_s": t_build,
        "pois_s": t_pois,
        "nodes_s": t_build + t_pois,
        "plots_s": t_build + t_pois + t_plot_ids,
        "counts_s": t_counts,
        "peak_nearest_mb": rss1,
        "peak_mb": _peak_mb(),
        "rss_before_mb": rss0,
        "version": pandana.__version__,
        "check": vals(_check_nodes(net.n_nodes)),
        "check_plots": vals(plot_nodes),
        "columns": cols,
    }


# --------------------------------------------------------------------------- driver


def _spawn(args: list[str], out: Path, timeout: float = 900) -> dict[str, Any]:
    cmd = [sys.executable, __file__, *args, "--result", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads(out.read_text())


def _agreement(ref: dict[str, Any], other: dict[str, Any], key: str = "check") -> str:
    """Median and 95th percentile |difference| (m) against sitefinder, where both are finite."""
    if "error" in other or key not in other:
        return "-"
    a = np.asarray(ref["check"], dtype=float)
    b = np.asarray(other[key], dtype=float)
    if a.shape != b.shape:
        return "-"
    fin = np.isfinite(a) & np.isfinite(b)
    if not fin.any():
        return "-"
    d = np.abs(a[fin] - b[fin])
    return f"{np.median(d):.0f} / {np.percentile(d, 95):.0f}"


def _f(x: float | None, unit: str = "s") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if unit == "s":
        if x >= 3600:
            return f"{x / 3600:.1f} h"
        if x >= 100:
            return f"{x:.0f} s"
        return f"{x:.2f} s" if x >= 1 else f"{x * 1000:.0f} ms"
    return f"{x:,.0f}"


def _ratio(x: float | None, ours: float) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x / ours:,.1f}x"


def _paired(sfn: dict[str, Any]) -> float:
    return float(np.median([a / b for a, b in sfn["paired"]]))


def run_scale(scale: float, work: Path) -> dict[str, Any]:
    folder = work / f"scale{scale:g}"
    prep = _spawn(["--worker", "prepare", "--scale", str(scale), "--work", str(work)],
                  folder.parent / f"prep{scale:g}.json", timeout=1800)  # fmt: skip
    if "error" in prep:
        print(f"scale {scale:g}: preparation failed: {prep['error']}")
        return {}
    res: dict[str, Any] = {"prep": prep}
    for name in ("sf_nodes", "sf_plots", "floor", "networkx", "pandana"):
        t = time.perf_counter()
        res[name] = _spawn(["--worker", name, "--scale", str(scale), "--work", str(work)],
                           folder / f"{name}.json")  # fmt: skip
        res[name]["wall_s"] = time.perf_counter() - t
    return res


def print_scale(r: dict[str, Any]) -> None:
    p = r["prep"]
    sfn, sfp, fl, nxr, pdr = r["sf_nodes"], r["sf_plots"], r["floor"], r["networkx"], r["pandana"]
    print(f"\n### scale {p['scale']:g}: {p['nodes']:,} nodes, {p['edges']:,} edges "
          f"({p['osmnx_edges']:,} osmnx directed), {p['plots']} plots, {p['amenities']:,} amenities, "
          f"{p['categories']} categories ({p['nonempty_categories']} with amenities); {p['source']}")  # fmt: skip
    print(f"graph build: osmnx graph_from_xml {_f(p.get('osmnx_graph_s'))} (peak {_f(p['osmnx_graph_peak_mb'], 'mb')} MB)"
          f" | WalkNetwork.from_osmnx {_f(p['from_osmnx_s'])} + CSR {_f(p['csr_s'])}"
          f" | cache save {_f(p['npz_save_s'])}, load {_f(sfn.get('npz_load_s'))}")  # fmt: skip
    for name, w in (
        ("sitefinder nodes", sfn),
        ("sitefinder plots", sfp),
        ("floor", fl),
        ("networkx", nxr),
        ("pandana", pdr),
    ):
        if "error" in w:
            print(f"  ! {name}: {w['error']}")
    if "error" in sfn or "error" in sfp:
        return
    ours_n, ours_p = sfn["cold_s"], sfp["cold_s"]
    head = (f"{'method':44s} {'plots':>9s} {'nodes':>9s} {'ratio plots/nodes':>19s} {'peak MB':>8s} "
            f"{'Δ MB':>6s} {'|Δ| m':>9s}")  # fmt: skip
    print(head)
    print("-" * len(head))
    notes: list[str] = []

    def row(label: str, tp: float | None, tn: float | None, w: dict[str, Any], agree: str) -> None:
        rp = _ratio(tp, ours_p) if tp is not None else "-"
        rn = _ratio(tn, ours_n) if tn is not None else "-"
        peak = w.get("peak_mb")
        delta = peak - w["rss_before_mb"] if peak is not None and "rss_before_mb" in w else None
        print(f"{label:44s} {_f(tp):>9s} {_f(tn):>9s} {rp + ' / ' + rn:>19s} "
              f"{_f(peak, 'mb'):>8s} {_f(delta, 'mb'):>6s} {agree:>9s}")  # fmt: skip

    row("sitefinder, first call in process [1]", ours_p, ours_n, sfn, "ref.")
    row("sitefinder, warm repeat", sfp["warm_s"], sfn["warm_s"], sfp, "")
    notes.append(f"[1] cold: includes building the spatial index; nodes = snapping {_f(sfn['snap_s'])}"
                 f" + Dijkstra {_f(sfn['dijkstra_s'])} (warm); ratio = method time / this row's time")  # fmt: skip
    if "paired" in sfn:
        notes.append(f"    paired with the floor ({PAIRED_ROUNDS} alternating rounds in one process): "
                     f"sitefinder / floor = {_paired(sfn):.2f}x (median)")  # fmt: skip
    if "error" not in fl:
        row("(c) floor: scipy dijkstra min_only [2]", None, fl["best_s"], fl, _agreement(sfn, fl))
        notes.append(f"[2] {fl['searches']} searches from the amenities' nearest nodes, searches only "
                     "(no snapping, no offsets), best of 3")  # fmt: skip
    if "error" not in nxr:
        first = {"check": sfp["check"][: nxr["plots_measured"]]}
        row("(a) networkx Dijkstra per plot / node [3]", nxr["plots_s"], nxr["nodes_s"], nxr,
            _agreement(first, nxr, "check_plots"))  # fmt: skip
        row("(a') networkx multi-source per category", nxr["multi_s"], nxr["multi_s"], nxr,
            _agreement(sfn, nxr))  # fmt: skip
        est = "measured on all plots" if nxr["plots_measured"] == nxr["plots_total"] else (
            f"EXTRAPOLATED from {nxr['plots_measured']} of {nxr['plots_total']} plots")  # fmt: skip
        notes.append(f"[3] nearest node + nx.single_source_dijkstra_path_length per plot: {est}; per node: "
                     f"EXTRAPOLATED from {nxr['nodes_measured']} of {p['nodes']:,} nodes")  # fmt: skip
    if "error" not in pdr:
        row(f"(b) pandana {pdr['version']} [4]", pdr["plots_s"], pdr["nodes_s"],
            {"peak_mb": pdr["peak_nearest_mb"], "rss_before_mb": pdr["rss_before_mb"]},
            _agreement(sfn, pdr))  # fmt: skip
        notes.append(f"[4] Network (contraction hierarchies, {_f(pdr['preprocess_s'])}) + set_pois + "
                     f"nearest_pois, horizon {HORIZON_M:.0f} m (sitefinder: no horizon)")  # fmt: skip
    notes.append("|Δ| m: median / 95th percentile difference from sitefinder where both are finite "
                 "(networkx/pandana/floor attach to the nearest node without offsets)")  # fmt: skip
    for n in notes:
        print(f"  {n}")
    counts = f"counts within {'/'.join(f'{d:.0f}' for d in COUNT_M)} m, all categories, all plots: " \
             f"sitefinder {_f(sfp['counts_s'])}"  # fmt: skip
    if "error" not in pdr:
        counts += (f"; pandana precompute + aggregate (every node) {_f(pdr['counts_s'])}, "
                   f"peak {_f(pdr['peak_mb'], 'mb')} MB")  # fmt: skip
    print(counts)


def targets(r: dict[str, Any]) -> None:
    if not r or "error" in r.get("sf_nodes", {"error": 1}):
        return
    p, sfn, sfp, fl, nxr, pdr = (
        r[k] for k in ("prep", "sf_nodes", "sf_plots", "floor", "networkx", "pandana")
    )
    ours = sfn["cold_s"]
    checks = [(f"nodes, {p['categories']} categories, every node < 2 s", ours < 2.0, _f(ours))]
    if "error" not in nxr:
        checks.append((">= 20x faster than networkx per-plot (plots)", nxr["plots_s"] / sfp["cold_s"] >= 20,
                       _ratio(nxr["plots_s"], sfp["cold_s"])))  # fmt: skip
        checks.append((">= 20x faster than networkx per-node (nodes)", nxr["nodes_s"] / ours >= 20,
                       _ratio(nxr["nodes_s"], ours)))  # fmt: skip
    if "error" not in pdr:
        checks.append(("faster than pandana incl. preprocessing (nodes)", ours < pdr["nodes_s"],
                       _ratio(pdr["nodes_s"], ours)))  # fmt: skip
    else:
        checks.append(("faster than pandana", None, f"not measured: {pdr['error']}"))
    if "paired" in sfn:
        ratio = _paired(sfn)
        extra = "" if "error" in fl else (f"; unpaired: cold first call {ours / fl['best_s']:.2f}x, "
                                          f"warm {sfn['warm_s'] / fl['best_s']:.2f}x")  # fmt: skip
        checks.append(("within 2x of the scipy floor (paired median)", ratio <= 2.0, f"{ratio:.2f}x{extra}"))
    peak = max(sfn["peak_mb"], sfp["peak_mb"])
    checks.append(("peak memory < 2 GB (engine process)", peak < 2048, f"{peak:,.0f} MB"))
    print(f"\n### targets at scale {p['scale']:g} ({p['nodes']:,} nodes)")
    for label, ok, val in checks:
        mark = "n/a " if ok is None else ("MET " if ok else "MISS")
        print(f"  [{mark}] {label}: {val}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 4.0, 8.0])
    ap.add_argument("--work", type=Path, default=REPO / "data" / "cache" / "bench")
    ap.add_argument("--fresh", action="store_true", help="regenerate samples and prepared inputs")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        logging.basicConfig(level=logging.ERROR)
        warnings.simplefilter("ignore")
        folder = args.work / f"scale{args.scale:g}"
        fn: dict[str, Callable[[], dict[str, Any]]] = {
            "prepare": lambda: prepare(args.scale, args.work),
            "sf_nodes": lambda: worker_sitefinder(folder, "nodes"),
            "sf_plots": lambda: worker_sitefinder(folder, "plots"),
            "floor": lambda: worker_floor(folder),
            "networkx": lambda: worker_networkx(folder),
            "pandana": lambda: worker_pandana(folder),
        }
        result = fn[args.worker]()
        args.result.parent.mkdir(parents=True, exist_ok=True)
        args.result.write_text(json.dumps(result))
        return
    if args.fresh and args.work.exists():
        import shutil

        shutil.rmtree(args.work)
    t0 = time.perf_counter()
    print(f"bench_access: accessibility engine vs networkx, pandana and the scipy floor "
          f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; wall-clock times; each method in its "
          f"own process)")  # fmt: skip
    results = {}
    for s in args.scales:
        results[s] = run_scale(s, args.work)
        if results[s]:
            print_scale(results[s])
    targets(results[max(args.scales)])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nbench_access done in {time.perf_counter() - t0:.0f} s (work folder {args.work}; "
          f"load average at the end {load} on {os.cpu_count()} cores)")  # fmt: skip


if __name__ == "__main__":
    main()
