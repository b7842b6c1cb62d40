"""Benchmark the map page: file size and load time in headless Chromium, offline.

Two maps, both opened with every non-``file:`` request blocked (as the browser tests do):

* ``sample``: the sample town at ``--scale`` (default 8, Almere-sized) through
  ``sitefinder run`` with the default backgrounds (the offline one, drawn from the
  run's OSM data, shown first). The sample and the run are made in ``--work`` and
  reused when already there; ``--map FILE`` measures a map made elsewhere instead
  (e.g. the one ``bench/bench_pipeline.py`` left in its work folder).
* ``synthetic``: the synthetic grid town of the tests with 5,041 plots and 10,000
  amenities (``tests/test_map.py::synthetic_town``), written to ``--work``.

For each: size (MB), the time from navigation until the page script is ready
(``body[data-sf-ready]``, median of ``--repeat`` fresh pages) and, for the sample town,
until the offline background is drawn (``body[data-sf-basemap]``). It also checks what a
user would see: no script errors, no request outside the file, every plot on the map, a
click on a plot opens its popup; a failed check ends the benchmark with exit status 1.
Figures are wall-clock with the load average beside them (see docs/maps.md).

Run: ``.venv/bin/python bench/bench_map.py`` (``make bench``); options ``--scale 8``,
``--work DIR`` (default ``data/cache/bench-map``), ``--map FILE``, ``--repeat 3``.
Needs Debian's ``chromium`` (``/usr/bin/chromium``) and Playwright (the dev extra).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SEED = 42


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _open(browser: Any, path: Path, basemap: bool) -> dict[str, Any]:
    """Open ``path`` offline in a fresh page; times, errors, blocked requests and the plot count."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    blocked: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r: Any) -> None:
        if r.request.url.startswith(("file:", "data:", "about:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    t0 = time.perf_counter()
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-sf-ready]", state="attached", timeout=120_000)
    ready_s = time.perf_counter() - t0
    drawn_s = None
    if basemap:
        page.wait_for_selector("body[data-sf-basemap]", state="attached", timeout=120_000)
        drawn_s = time.perf_counter() - t0
    n = page.evaluate("() => sf_data.plots.features.length")
    # Click the middle plot, as a user would, and wait for its popup.
    xy = page.evaluate(
        """(i) => { const s = sitefinder.state; const lyr = s.byPlot[s.active][i];
                    s.map.setView(lyr.getBounds().getCenter(), 17, {animate: false});
                    const p = s.map.latLngToContainerPoint(lyr.getBounds().getCenter());
                    const r = s.map.getContainer().getBoundingClientRect();
                    return [p.x + r.left, p.y + r.top]; }""",
        n // 2,
    )
    page.wait_for_timeout(200)
    page.mouse.click(xy[0], xy[1])
    popup = True
    try:
        page.locator(".sf-popup").wait_for(timeout=10_000)
    except Exception:
        popup = False
    page.close()
    return {"ready_s": ready_s, "drawn_s": drawn_s, "plots": n, "errors": errors, "blocked": blocked,
            "popup": popup}  # fmt: skip


def sample_map(scale: float, work: Path) -> tuple[Path, int]:
    """The sample town's map (made or reused in ``work``) and its number of plots."""
    import geopandas as gpd

    from sitefinder.cli import main

    folder = work / f"scale{scale:g}"
    sample = folder / "sample"
    if not (sample / "sample.osm").is_file():
        t = time.perf_counter()
        assert main(["-q", "sample", "--scale", str(scale), "--seed", str(SEED), "--out", str(sample)]) == 0
        print(f"  sample town at scale {scale:g} made in {time.perf_counter() - t:.0f} s")
    out = folder / "maps"
    if not (out / "map.html").is_file():
        t = time.perf_counter()
        args = ["-q", "run", "--osm", str(sample / "sample.osm"), "--plots", str(sample / "plots.gpkg"),
                "--out", str(out), "--cache", str(folder / "cache"), "--layers", str(folder / "layers")]  # fmt: skip
        assert main(args) == 0
        print(f"  sitefinder run made its map in {time.perf_counter() - t:.0f} s")
    return out / "map.html", len(gpd.read_file(sample / "plots.gpkg"))


def synthetic_map(work: Path) -> tuple[Path, int]:
    """The tests' synthetic grid town with 5,041 plots and 10,000 amenities."""
    from sitefinder.render.map import write_map
    from tests.test_map import synthetic_town

    town = synthetic_town(n_side=71, n_amenities=10_000, draws=0)
    path = work / "synthetic-large.html"
    work.mkdir(parents=True, exist_ok=True)
    write_map(town, path)
    return path, len(town.plots)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=8)
    ap.add_argument("--work", type=Path, default=REPO / "data" / "cache" / "bench-map")
    ap.add_argument(
        "--map", type=Path, default=None, help="measure this sample-town map instead of making one"
    )
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"bench_map: {os.cpu_count()} cores, load average {_load()} at the start; wall-clock times")
    if args.map is not None:
        import re

        text = args.map.read_text("utf-8")
        m = re.search(r'<script type="application/json" id="sf-data">(.*?)</script>', text, re.S)
        n_plots = len(json.loads(m.group(1))["plots"]["features"]) if m else -1
        maps = {f"map {args.map}": (args.map, n_plots, True)}
    else:
        path, n_plots = sample_map(args.scale, args.work)
        maps = {f"sample town, scale {args.scale:g}": (path, n_plots, True)}
    path, n_plots = synthetic_map(args.work)
    maps["synthetic grid town, 10,000 amenities"] = (path, n_plots, False)
    failed = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        for label, (path, n_plots, basemap) in maps.items():
            runs = [_open(browser, path, basemap) for _ in range(args.repeat)]
            ready = statistics.median(r["ready_s"] for r in runs)
            line = f"{label}: {runs[0]['plots']} plots, {path.stat().st_size / 1e6:.2f} MB, ready in {ready:.2f} s"
            if basemap:
                line += f", background drawn in {statistics.median(r['drawn_s'] for r in runs):.2f} s"
            print(f"{line} (median of {len(runs)}; load {_load()})", flush=True)
            for r in runs:
                if r["errors"] or r["blocked"] or not r["popup"] or (n_plots >= 0 and r["plots"] != n_plots):
                    failed.append(f"{label}: errors {r['errors'][:3]}, blocked {r['blocked'][:3]}, "
                                  f"popup {r['popup']}, {r['plots']} of {n_plots} plots on the map")  # fmt: skip
        browser.close()
    for f in dict.fromkeys(failed):
        print(f"FAILED {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
