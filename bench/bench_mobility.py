"""What networks per mobility and the neighbourhood catchments cost, against the walking indicators alone.

On the sample town (scale 1 by default; ``--scales 1 4``), in one process and on the
same loaded data: the indicator stage with walking only (the baseline), with the
wheelchair network added (edge factors from the OSM tags, one more accessibility
pass), and with the CBS neighbourhoods added (spreading over the homes and the bounded
searches for the catchments). Each is the best of ``--repeat`` runs (default 2);
ratios are against the baseline of the same run, with the machine's load average. The
walking node distances come from the network cache after the first run (as in a
refresh); the wheelchair network's are computed every time (not cached).

Run: ``.venv/bin/python bench/bench_mobility.py`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from sitefinder.categories import load_categories
from sitefinder.config import RunConfig
from sitefinder.indicators.mobility import build_mobility_network
from sitefinder.indicators.population import population_indicators, residential_points
from sitefinder.mobility import get_mobility
from sitefinder.pipeline import compute_indicators, load, load_neighbourhoods
from sitefinder.sample import generate_sample


def _best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench(scale: float, work: Path, repeat: int) -> dict[str, float]:
    res = generate_sample(work / f"scale{scale:g}", seed=42, scale=scale)
    cfg = RunConfig(
        osm_file=res.osm_path, plots_file=res.plots_path, cache_dir=work / "cache", model_noise=False,
        neighbourhoods_file=res.neighbourhoods_path, neighbourhood_figures_file=res.figures_path,
    )  # fmt: skip
    registry = load_categories()
    nbh, _ = load_neighbourhoods(cfg)
    data = load(cfg, registry, nbh)
    walk_only = RunConfig(
        **{**cfg.model_dump(), "neighbourhoods_file": None, "neighbourhood_figures_file": None}
    )
    plain = type(data)(**{**data.__dict__, "neighbourhoods": None})
    out = {"nodes": float(data.network.n_nodes), "plots": float(len(data.plots))}
    out["walk_s"] = _best(lambda: compute_indicators(plain, registry, walk_only), repeat)
    out["walk+wheelchair_s"] = _best(
        lambda: compute_indicators(plain, registry, walk_only, ["wheelchair"]), repeat
    )
    out["wheelchair_network_s"] = _best(
        lambda: build_mobility_network(data.network, get_mobility("wheelchair")), repeat
    )
    out["walk+neighbourhoods_s"] = _best(lambda: compute_indicators(data, registry, cfg), repeat)
    pts = residential_points(nbh, data.residential)
    _, access, net = compute_indicators(plain, registry, walk_only)
    out["catchments_s"] = _best(
        lambda: population_indicators(net, access.plot_snap, data.plots, nbh, pts, [500.0, 1000.0], 250.0),
        repeat,
    )
    out["home_points"] = float(len(pts.points))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    work = args.work or Path(tempfile.mkdtemp(prefix="sf-bench-mobility-"))
    print(
        f"bench_mobility ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; best of {args.repeat})"
    )
    for scale in args.scales:
        r = bench(scale, work, args.repeat)
        base = r["walk_s"]
        print(
            f"scale {scale:g}: {r['nodes']:.0f} nodes, {r['plots']:.0f} plots, {r['home_points']:.0f} home points | "
            f"walk {base:.2f} s | + wheelchair {r['walk+wheelchair_s']:.2f} s ({r['walk+wheelchair_s'] / base:.2f}x; "
            f"network {r['wheelchair_network_s']:.2f} s) | + neighbourhoods {r['walk+neighbourhoods_s']:.2f} s "
            f"({r['walk+neighbourhoods_s'] / base:.2f}x; catchments {r['catchments_s']:.2f} s)"
        )
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
