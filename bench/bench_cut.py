"""Benchmark the OSM cut (one pyosmium pass) on real OSM files: wall, CPU and peak RSS.

Run from the repository root::

    .venv/bin/python bench/bench_cut.py                     # ../shared/data/osm/amsterdam-centrum.osm.gz
    .venv/bin/python bench/bench_cut.py FILE.osm.pbf ...

Each measurement runs in its own subprocess (its ``ru_maxrss`` is its own): the cut
(:func:`sitefinder.io.osm.extract` into an empty cache folder, the run's tag filter: the
walking network, features, buildings and background, written as the cache files) and, as
the floor in the same run, a read-only pyosmium pass with libosmium's node-location index
(``apply_file(..., locations=True)``) that keeps nothing: what reading the file costs at
least. The peak of the imports alone is reported with each. Issue 11's target: the
Amsterdam cut under 400 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AMSTERDAM = ROOT.parent / "shared" / "data" / "osm" / "amsterdam-centrum.osm.gz"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, path: str) -> None:
    """Measure one pass in this process and print it as JSON."""
    if kind == "cut":
        from sitefinder.categories import load_categories
        from sitefinder.io import osm

        tag_filter = osm.feature_tag_filter(dict(load_categories().osm_tags()))
        imports = _peak_mb()
        with tempfile.TemporaryDirectory() as cache:
            t0, c0 = time.perf_counter(), time.process_time()
            ext = osm.extract(Path(path), tag_filter, Path(cache))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        del ext
    else:
        import osmium

        imports = _peak_mb()

        class Ways(osmium.SimpleHandler):
            def __init__(self) -> None:
                super().__init__()
                self.n = 0

            def way(self, w: osmium.osm.Way) -> None:
                if "highway" in w.tags:
                    self.n += 1

        t0, c0 = time.perf_counter(), time.process_time()
        handler = Ways()
        handler.apply_file(path, locations=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_mb": _peak_mb(), "imports_mb": imports}))


def _measure(kind: str, path: Path) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        sys.exit(f"bench_cut: {kind} of {path} failed:\n{res.stderr[-2000:]}")
    out: dict[str, float] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="OSM files (default: the Amsterdam extract)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    files = args.files or [AMSTERDAM]
    missing = [f for f in files if not f.is_file()]
    if missing:
        sys.exit(f"bench_cut: {missing[0]} not found (the shared data folder beside the checkout)")
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"bench_cut: {os.cpu_count()} cores, load {load}; each pass in its own process")
    print(f"{'file':32s} {'pass':9s} {'wall s':>7s} {'CPU s':>7s} {'peak MB':>8s} {'imports MB':>10s}")
    for f in files:
        cut, base = _measure("cut", f), _measure("baseline", f)
        for name, m in (("cut", cut), ("read-only", base)):
            print(
                f"{f.name:32s} {name:9s} {m['wall_s']:7.2f} {m['cpu_s']:7.2f} {m['peak_mb']:8.0f} {m['imports_mb']:10.0f}"
            )
        print(
            f"{'':32s} cut / read-only floor: time {cut['wall_s'] / base['wall_s']:.2f}x, peak {cut['peak_mb'] / base['peak_mb']:.2f}x"
        )


if __name__ == "__main__":
    main()
