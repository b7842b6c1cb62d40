"""Benchmark the whole pipeline on the sample town: cold and warm runs, per stage, and a plain baseline.

For each sample scale (default 1, 2, 4, 8 and 32; scale 8 is Almere-sized, 32 about
a million inhabitants), every measurement in its own subprocess (so its peak RSS,
``ru_maxrss``, is its own) and every figure measured in this run:

* ``sample``: ``sitefinder sample --scale S`` (skipped, and said so, when the
  sample is already in the work folder);
* ``cold``: ``sitefinder run`` on an empty cache: the pyosmium pass, the network
  build, the feature read, noise model, indicators, scoring, surfaces, map;
* ``warm``: the same run again on the filled cache (a new output folder);
* ``baseline``: a plain osmnx + networkx script doing the same job: cut the walkable
  ways with the same rule (pyosmium), ``osmnx.graph_from_xml`` + ``project_graph``,
  ``osmnx.features_from_xml`` of the whole file, the same classification and
  access points, edge snapping with ``osmnx.distance.nearest_edges`` (timed on its
  own), and per category one networkx Dijkstra from a super-source joined to the
  snapped amenity points with their offsets (timed on its own). Its plot distances
  are compared with the engine's (``scores.csv``).

Every figure is given as wall time and CPU time (user + system, ``getrusage``): on a
shared machine the CPU time is the fair one. A warm run's ``buildings`` is empty when
nothing needed them (the noise grid came from the cache).

Run: ``.venv/bin/python bench/bench_pipeline.py`` (``make bench``); options
``--scales 1 2 4 8 32``, ``--work DIR`` (default ``data/cache/bench-pipeline``),
``--baseline-max-scale 8`` (the osmnx baseline needs several GB beyond that).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SEED = 42
STAGES = [
    "imports", "cut", "network", "features", "buildings", "noise model", "indicators", "scoring",
    "surfaces", "tables+map",
]  # fmt: skip


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- workers


def _cpu_s() -> float:
    """CPU time (user + system) of this process so far, seconds."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _wrap(
    obj: Any, name: str, label: str, times: dict[str, float], cpu: dict[str, float] | None = None
) -> None:
    orig = getattr(obj, name)
    depth = [0]

    def timed(*a: Any, **k: Any) -> Any:
        if depth[0]:  # a stage calling itself (or a wrapped alias of itself) is counted once
            return orig(*a, **k)
        depth[0] += 1
        t, c = time.perf_counter(), _cpu_s()
        try:
            return orig(*a, **k)
        finally:
            depth[0] -= 1
            times[label] += time.perf_counter() - t
            if cpu is not None:
                cpu[label] += _cpu_s() - c

    setattr(obj, name, timed)


def worker_sample(scale: float, out: Path) -> dict[str, Any]:
    from sitefinder.cli import main

    t = time.perf_counter()
    rc = main(["-q", "sample", "--scale", str(scale), "--seed", str(SEED), "--out", str(out)])
    return {"rc": rc, "wall_s": time.perf_counter() - t, "cpu_s": _cpu_s(), "peak_mb": _peak_mb()}


def worker_run(sample: Path, cache: Path, out: Path) -> dict[str, Any]:
    times: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    t0, c0 = time.perf_counter(), _cpu_s()
    import sitefinder.pipeline as pl
    from sitefinder import netcache
    from sitefinder.cli import main
    from sitefinder.io import osm

    times["imports"] = time.perf_counter() - t0
    cpu["imports"] = _cpu_s() - c0
    _wrap(osm, "extract", "cut", times, cpu)
    _wrap(netcache.NetworkCache, "network", "network", times, cpu)
    _wrap(pl, "cached_products", "features", times, cpu)  # read + classify, or the cached products
    _wrap(osm, "load_buildings", "buildings", times, cpu)
    _wrap(pl, "model_noise", "noise model", times, cpu)
    _wrap(pl, "indicator_stage", "indicators", times, cpu)  # indicators + routes, or their cache
    _wrap(pl, "score_profile", "scoring", times, cpu)
    _wrap(pl, "suitability_surfaces", "surfaces", times, cpu)
    _wrap(pl, "write_tables", "tables+map", times, cpu)
    _wrap(pl, "write_map", "tables+map", times, cpu)
    args = ["-q", "run", "--osm", str(sample / "sample.osm"), "--plots", str(sample / "plots.gpkg")]
    args += ["--out", str(out / "maps"), "--cache", str(cache), "--layers", str(out / "layers")]
    rc = main(args)
    man = json.loads((out / "maps" / "manifest.json").read_text()) if rc == 0 else {}
    return {
        "rc": rc,
        "wall_s": time.perf_counter() - t0,
        "cpu_s": _cpu_s(),
        "stages": dict(times),
        "stages_cpu": dict(cpu),
        "peak_mb": _peak_mb(),
        "nodes": man.get("counts", {}).get("network_nodes"),
        "plots": man.get("counts", {}).get("plots"),
        "amenities": sum(man.get("counts", {}).get("amenities", {}).values()),
    }


def worker_baseline(sample: Path, folder: Path, engine_scores: Path) -> dict[str, Any]:
    """The plain osmnx + networkx way (see the module docstring)."""
    times: dict[str, float] = {}

    def step(label: str, fn: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        out = fn()
        times[label] = time.perf_counter() - t
        return out

    t0 = time.perf_counter()
    import warnings

    import geopandas as gpd
    import networkx as nx
    import numpy as np
    import osmnx as ox
    import pandas as pd
    import shapely
    from pyproj import CRS

    from sitefinder.categories import classify, load_categories
    from sitefinder.indicators.access import AccessParams, amenity_access_points, plot_access_points
    from sitefinder.io.osm import feature_tag_filter
    from tests.osmnx_reference import cut_walk_xml

    times["imports"] = time.perf_counter() - t0
    warnings.simplefilter("ignore")
    crs = CRS.from_epsg(28992)
    params = AccessParams()
    registry = load_categories(None)
    src = sample / "sample.osm"
    xml = folder / "walk.osm"
    xml.unlink(missing_ok=True)
    step("walk cut", lambda: cut_walk_xml(src, xml))

    def graph_build() -> Any:
        g = ox.graph_from_xml(xml, bidirectional=True, simplify=True, retain_all=True)
        small = [c for c in nx.weakly_connected_components(g) if len(c) < 10]
        for comp in small:
            g.remove_nodes_from(comp)
        return ox.project_graph(g, to_crs=crs)

    graph = step("graph build", graph_build)
    tag_filter = feature_tag_filter(registry.osm_tags())

    def features() -> Any:
        f = ox.features_from_xml(src, tags=dict(tag_filter)).reset_index()
        f["osm_id"] = f["element"].astype(str) + "/" + f["id"].astype(str)
        return classify(f.drop(columns=["element", "id"]).to_crs(crs), registry)

    amenities = step("features", features)
    plots = gpd.read_file(sample / "plots.gpkg").to_crs(crs).reset_index(drop=True)
    ppts, powner = plot_access_points(plots.geometry, params.plot_access_spacing_m)
    cats = [c for c in registry if (amenities["category"] == c.name).any()]
    apts_l, aown_l, acat_l = [], [], []
    for ci, c in enumerate(cats):
        sel = amenities[amenities["category"] == c.name]
        pts, own = amenity_access_points(sel.geometry.to_numpy(), c.polygon_access_min_area_m2)
        apts_l.append(pts)
        aown_l.append(own)
        acat_l.append(np.full(len(pts), ci))
    allpts = np.concatenate([ppts, *apts_l])
    xs, ys = shapely.get_x(allpts), shapely.get_y(allpts)
    edges, dists = step("nearest_edges", lambda: ox.distance.nearest_edges(graph, xs, ys, return_dist=True))

    def along_of(i: int) -> tuple[Any, Any, float, float, float, Any]:
        u, v, k = edges[i]
        d = graph.edges[u, v, k]
        geom = d.get("geometry")
        if geom is None:
            nu, nv = graph.nodes[u], graph.nodes[v]
            geom = shapely.LineString([(nu["x"], nu["y"]), (nv["x"], nv["y"])])
        frac = shapely.line_locate_point(geom, allpts[i], normalized=True)
        # The two directions of a two-way edge are one street: key and "along" from the smaller node.
        a = float(frac) * d["length"]
        edge = (min(u, v), max(u, v), round(d["length"], 3))
        return u, v, a, float(dists[i]), float(d["length"]), (edge, a if u < v else d["length"] - a)

    snapped = step("edge positions", lambda: [along_of(i) for i in range(len(allpts))])
    n_p = len(ppts)
    cat_of = np.concatenate(acat_l) if acat_l else np.empty(0, int)

    def dijkstra_all() -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for ci, c in enumerate(cats):
            idx = n_p + np.flatnonzero(cat_of == ci)
            src_node = ("source", c.name)
            for i in idx:
                u, v, a, o, ln, _ = snapped[i]
                if o > params.max_snap_m:
                    continue
                for node, w in ((u, o + a), (v, o + ln - a)):
                    cur = graph.get_edge_data(src_node, node)
                    if cur is None or cur[0]["length"] > w:
                        graph.remove_edges_from([(src_node, node)] * (cur is not None))
                        graph.add_edge(src_node, node, length=max(w, 1e-6))
            dist = nx.single_source_dijkstra_path_length(graph, src_node, weight="length")
            graph.remove_node(src_node)
            best = np.full(len(plots), np.inf)
            same: dict[Any, list[tuple[float, float]]] = defaultdict(list)
            for i in idx:
                _, _, _, o, _, (edge, a0) = snapped[i]
                if o <= params.max_snap_m:
                    same[edge].append((a0, o))
            for i in range(n_p):
                u, v, a, o, ln, (edge, a0) = snapped[i]
                if o > params.max_snap_m:
                    continue
                d = min(dist.get(u, np.inf) + a, dist.get(v, np.inf) + ln - a)
                for a2, o2 in same.get(edge, []):
                    d = min(d, abs(a0 - a2) + o2)
                best[powner[i]] = min(best[powner[i]], o + d)
            out[c.name] = best
        return out

    result = step("dijkstra", dijkstra_all)
    wall = time.perf_counter() - t0
    eng = (
        pd.read_csv(engine_scores, dtype={"plot_id": str})
        .set_index("plot_id")
        .loc[plots["plot_id"].astype(str)]
    )
    diffs = []
    worst: tuple[float, str, str, float, float] = (0.0, "", "", 0.0, 0.0)
    for c, d in result.items():
        col = f"dist_{c}_m"
        if col in eng.columns:
            e = eng[col].to_numpy(float)
            ok = np.isfinite(e) & np.isfinite(d)
            if ok.any():
                i = int(np.argmax(np.where(ok, np.abs(e - d), -1)))
                diffs.append(float(abs(e[i] - d[i])))
                if diffs[-1] > worst[0]:
                    worst = (diffs[-1], str(eng.index[i]), c, float(e[i]), float(d[i]))
            diffs.append(0.0 if (np.isfinite(e) == np.isfinite(d)).all() else float("inf"))
    return {
        "wall_s": wall,
        "stages": times,
        "peak_mb": _peak_mb(),
        "nodes": graph.number_of_nodes(),
        "max_diff_m": max(diffs) if diffs else float("nan"),
        "worst": worst,
    }


# --------------------------------------------------------------------------- driver


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _subprocess(kind: str, *args: str, timeout: float = 7200) -> dict[str, Any]:
    t, c = time.perf_counter(), _children_cpu_s()
    res = subprocess.run(
        [sys.executable, __file__, "--worker", kind, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    wall, cpu = time.perf_counter() - t, _children_cpu_s() - c
    if res.returncode != 0:
        tail = (res.stderr or "").strip().splitlines()[-3:]
        return {
            "error": f"exit {res.returncode}: {' | '.join(tail)}",
            "process_s": wall,
            "process_cpu_s": cpu,
        }
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    out["process_cpu_s"] = cpu  # the whole subprocess, interpreter start included
    return out


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run_scale(scale: float, work: Path, baseline_max: float) -> dict[str, Any]:
    folder = work / f"scale{scale:g}"
    sample = folder / "sample"
    out: dict[str, Any] = {"scale": scale}
    if (sample / "sample.osm").exists() and (sample / "plots.gpkg").exists():
        out["sample"] = None
    else:
        out["sample"] = _subprocess("sample", str(scale), str(sample))
        out["sample"]["load"] = _load()
    cache = folder / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    for kind in ("cold", "warm"):
        run_out = folder / kind
        shutil.rmtree(run_out, ignore_errors=True)
        out[kind] = _subprocess("run", str(sample), str(cache), str(run_out))
        out[kind]["load"] = _load()
    if scale <= baseline_max and "error" not in out["warm"]:
        out["baseline"] = _subprocess(
            "baseline", str(sample), str(folder), str(folder / "warm" / "maps" / "scores.csv")
        )
        out["baseline"]["load"] = _load()
    return out


def _f(x: Any, nd: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        "\n## sitefinder run, per stage: wall s / CPU s (user + system); the whole process; "
        "peak RSS (MB); load average 1/5/15 min when it ended"
    )
    head = ["scale", "run", *STAGES, "process", "peak MB", "nodes", "load"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        for kind in ("cold", "warm"):
            m = r.get(kind, {})
            if "error" in m:
                print(f"| {r['scale']:g} | {kind} | error: {m['error']} |")
                continue
            st, sc = m.get("stages", {}), m.get("stages_cpu", {})
            cells = [f"{r['scale']:g}", kind, *[f"{_f(st.get(s))} / {_f(sc.get(s))}" for s in STAGES],
                     f"{_f(m.get('process_s'))} / {_f(m.get('process_cpu_s'))}",
                     _f(m.get("peak_mb"), 0), str(m.get("nodes")), m.get("load", "")]  # fmt: skip
            print("| " + " | ".join(cells) + " |")
    print("\n## baseline: osmnx + networkx, the same job (s); peak RSS (MB); max |difference| to sitefinder")
    bst = ["imports", "walk cut", "graph build", "features", "nearest_edges", "edge positions", "dijkstra"]
    head = ["scale", *bst, "process", "peak MB", "max diff m", "cold speed-up", "load"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        b = r.get("baseline")
        if b is None:
            print(
                f"| {r['scale']:g} | not run (scale above --baseline-max-scale, or the engine run failed) |"
            )
            continue
        if "error" in b:
            print(f"| {r['scale']:g} | error: {b['error']} |")
            continue
        st = b["stages"]
        cold = r["cold"].get("process_s")
        speed = b["process_s"] / cold if cold else float("nan")
        cells = [f"{r['scale']:g}", *[_f(st.get(s)) for s in bst], _f(b["process_s"]), _f(b["peak_mb"], 0),
                 _f(b["max_diff_m"], 2), f"{speed:.1f}x", b.get("load", "")]  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    print("\n## sample generation (s, peak MB); '-' = sample reused from the work folder, not measured now")
    for r in results:
        s = r.get("sample")
        if s is None:
            print(f"scale {r['scale']:g}: reused, not measured in this run")
        elif "error" in s:
            print(f"scale {r['scale']:g}: error {s['error']}")
        else:
            print(
                f"scale {r['scale']:g}: {s['process_s']:.1f} s wall, {s.get('process_cpu_s', float('nan')):.1f} s "
                f"CPU, peak {s['peak_mb']:.0f} MB (load {s['load']})"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1, 2, 4, 8, 32])
    ap.add_argument("--work", type=Path, default=REPO / "data" / "cache" / "bench-pipeline")
    ap.add_argument("--baseline-max-scale", type=float, default=8)
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "sample":
            res = worker_sample(float(rest[0]), Path(rest[1]))
        elif kind == "run":
            res = worker_run(Path(rest[0]), Path(rest[1]), Path(rest[2]))
        else:
            res = worker_baseline(Path(rest[0]), Path(rest[1]), Path(rest[2]))
        print(json.dumps(res))
        return
    t0 = time.perf_counter()
    print(f"bench_pipeline: {os.cpu_count()} cores, load average {_load()} at the start; wall-clock times, "
          "each measurement in its own process, all measured in this run")  # fmt: skip
    results = []
    for s in args.scales:
        results.append(run_scale(s, args.work, args.baseline_max_scale))
        print(json.dumps(results[-1]), flush=True)
    print_table(results)
    print(f"\nbench_pipeline done in {time.perf_counter() - t0:.0f} s; load average at the end {_load()}")


if __name__ == "__main__":
    main()
