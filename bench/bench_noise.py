"""Benchmark the modelled noise map on synthetic street networks of growing size.

Run from the repository root::

    .venv/bin/python bench/bench_noise.py            # 5, 10 and 20 km squares at 10 m
    .venv/bin/python bench/bench_noise.py --sizes 5 10 20 40

The network is a jittered street grid (about 110 m blocks) with a class
hierarchy (residential, tertiary every 5th street, secondary every 10th, primary
every 20th), a dual-carriageway motorway ring, a two-track railway and a tram
line; 15 % of residential blocks have no street. Every block side is its own
OSM-like segment, so the 20 km square has over 50,000 segments.

Then the screened model on the built-in sample town with its buildings
(``--town-scale``, default 8: Almere-sized), at 10 m: the town's own extent and
the same town on a 20 x 20 km frame (about 4 M cells), timed without the OSM
reading; and the fast sector screening against the exact per-ray version on a
sub-area of receiver cells near the centre (median and 95th percentile |dB| of
Lden and of the screening attenuation, and the ratio of the run times per cell).
``--no-town`` skips this part.

The baseline is direct summation: for each cell, sum the contributions of all
sample points along all lines (the same points and the same transfer function,
looked up by distance; vectorised numpy), timed on a 24 x 24 block of cells of
the smallest network and extrapolated per cell. Its accuracy column compares the
FFT grid with it on those cells.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.ops import substring

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sitefinder.noisemodel import NoiseModelParams, model_lden, noise_sources_from_osm
from sitefinder.noisemodel.cnossos_tables import EXACT_MIDBAND_HZ
from sitefinder.noisemodel.emission import (
    rail_reference_spectrum,
    road_reference_spectrum,
)
from sitefinder.noisemodel.grid import sample_lines
from sitefinder.noisemodel.propagation import air_absorption_db_per_km, transfer

CRS = 28992
ORIGIN = (140_000.0, 450_000.0)  # somewhere in the middle of the Netherlands (RD New)


def make_network(size_m: float, seed: int = 1, block_m: float = 110.0) -> gpd.GeoDataFrame:
    """A synthetic OSM-like road and rail network covering a ``size_m`` square."""
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    n = int(size_m // block_m) + 1
    gx = x0 + np.arange(n) * block_m
    gy = y0 + np.arange(n) * block_m
    nodes = np.stack(np.meshgrid(gx, gy, indexing="xy"), axis=-1)
    nodes += rng.normal(0, 12, nodes.shape)

    def street_class(k: int) -> str:
        if k % 20 == 0:
            return "primary"
        if k % 10 == 0:
            return "secondary"
        if k % 5 == 0:
            return "tertiary"
        return "residential"

    geoms, highway, railway, maxspeed, lanes, oneway = [], [], [], [], [], []

    def add(geom: shapely.LineString, hw: str | None, rw: str | None = None, **tags: object) -> None:
        geoms.append(geom)
        highway.append(hw)
        railway.append(rw)
        maxspeed.append(tags.get("maxspeed"))
        lanes.append(tags.get("lanes"))
        oneway.append(tags.get("oneway"))

    for horizontal in (True, False):
        for k in range(n):
            cls = street_class(k)
            for j in range(n - 1):
                a, b = (nodes[k, j], nodes[k, j + 1]) if horizontal else (nodes[j, k], nodes[j + 1, k])
                if cls == "residential" and rng.random() < 0.15:
                    continue
                mid = (a + b) / 2 + rng.normal(0, 4, 2)
                speed = "30" if cls == "residential" and rng.random() < 0.6 else None
                lane = "2" if cls != "residential" and rng.random() < 0.3 else None
                add(shapely.LineString([a, mid, b]), cls, maxspeed=speed, lanes=lane)
    # Motorway ring, two carriageways 15 m apart, in ~500 m pieces.
    inset = 0.15 * size_m
    for offset in (-7.5, 7.5):
        ring = shapely.box(x0 + inset, y0 + inset, x0 + size_m - inset, y0 + size_m - inset).exterior
        ring = shapely.offset_curve(ring, offset)
        for s in np.arange(0, ring.length, 500.0):
            piece = substring(ring, s, min(s + 500.0, ring.length))
            add(piece, "motorway", oneway="yes", maxspeed="100")
    # Two-track railway on the diagonal and a tram line along a primary street.
    for offset in (-2.0, 2.0):
        track = shapely.LineString([(x0, y0 + offset), (x0 + size_m, y0 + size_m + offset)])
        for s in np.arange(0, track.length, 400.0):
            add(substring(track, s, min(s + 400.0, track.length)), None, "rail")
    tram_y = y0 + 20 * block_m
    for s in np.arange(0, size_m, 200.0):
        add(shapely.LineString([(x0 + s, tram_y + 3), (x0 + min(s + 200, size_m), tram_y + 3)]), None, "tram")
    return gpd.GeoDataFrame(
        {"highway": highway, "railway": railway, "maxspeed": maxspeed, "lanes": lanes, "oneway": oneway},
        geometry=geoms,
        crs=CRS,
    )


def direct_summation(sources: gpd.GeoDataFrame, centres: np.ndarray, params: NoiseModelParams) -> np.ndarray:
    """Lden at ``centres`` by summing every sample point of every line (the naive way)."""
    alpha = (
        air_absorption_db_per_km(EXACT_MIDBAND_HZ, params.air_temperature_c, params.relative_humidity_pct)
        / 1000.0
    )
    weights = np.array([0.5, 4 / 24 * 10**0.5, 8 / 24 * 10])
    p_fav = np.array(params.favourable)
    radii = np.linspace(0.0, params.max_distance_m, 20_001)
    energy = np.zeros(len(centres))
    for kind, spectrum, z_s in (
        ("road", road_reference_spectrum(), params.road_source_height_m),
        ("rail", rail_reference_spectrum(), params.rail_source_height_m),
    ):
        part = sources[sources["kind"] == kind]
        if len(part) == 0:
            continue
        xy, length, idx = sample_lines(part.geometry.to_numpy(), params.spacing_m)
        power = 10 ** (part[["lw_day", "lw_evening", "lw_night"]].to_numpy() / 10)
        e_f = (power @ (weights * p_fav))[idx] * length
        e_h = (power @ (weights * (1 - p_fav)))[idx] * length
        kw = {
            "z_s": z_s,
            "z_r": params.receiver_height_m,
            "ground_factor": params.ground_factor,
            "alpha_db_per_m": alpha,
        }
        t_f = transfer(radii, spectrum, favourable=True, **kw)
        t_h = transfer(radii, spectrum, favourable=False, **kw)
        for i, (x, y) in enumerate(centres):
            r = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
            near = r <= params.max_distance_m
            rr = r[near]
            energy[i] += (e_f[near] * np.interp(rr, radii, t_f)).sum()
            energy[i] += (e_h[near] * np.interp(rr, radii, t_h)).sum()
    return np.asarray(10 * np.log10(np.maximum(energy, 10 ** (params.floor_db / 10))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=float,
        nargs="+",
        default=[5.0, 10.0, 20.0],
        help="square sizes in km (default 5 10 20)",
    )
    parser.add_argument("--resolution", type=float, default=10.0, help="cell size in m")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the model steps")
    parser.add_argument("--no-town", action="store_true", help="skip the screened sample-town benchmark")
    parser.add_argument("--town-scale", type=float, default=8.0, help="sample town scale (default 8)")
    parser.add_argument("--exact-cells", type=int, default=120, help="receiver cells for the exact check")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    params = NoiseModelParams(resolution_m=args.resolution)

    print(
        f"noise model benchmark: {os.cpu_count()} CPU(s), {args.resolution:g} m cells, "
        f"max distance {params.max_distance_m:g} m"
    )
    # Warm-up (imports, FFT plans) on a tiny network.
    warm = make_network(1000.0)
    model_lden(noise_sources_from_osm(warm, params), tuple(warm.total_bounds), CRS, params)

    rows = []
    first = None
    for size_km in sorted(args.sizes):
        size = size_km * 1000.0
        net = make_network(size)
        bounds = (ORIGIN[0], ORIGIN[1], ORIGIN[0] + size, ORIGIN[1] + size)
        t0 = time.perf_counter()
        sources = noise_sources_from_osm(net, params)
        t1 = time.perf_counter()
        grid = model_lden(sources, bounds, CRS, params)
        t2 = time.perf_counter()
        cells = grid.lden.size
        rows.append((size_km, cells, len(net), t1 - t0, t2 - t1, t2 - t0, cells / (t2 - t0)))
        if first is None:
            first = (sources, grid)

    # Baseline: direct summation on a block of cells of the smallest network.
    assert first is not None
    sources, grid = first
    r0, c0 = grid.shape[0] // 2, grid.shape[1] // 2
    rr, cc = np.meshgrid(np.arange(r0, r0 + 24), np.arange(c0, c0 + 24), indexing="ij")
    xs, ys = grid.transform @ (cc.ravel() + 0.5, rr.ravel() + 0.5)
    centres = np.column_stack([xs, ys])
    t0 = time.perf_counter()
    direct = direct_summation(sources, centres, params)
    t_direct = time.perf_counter() - t0
    direct_rate = len(centres) / t_direct
    fft = grid.lden[rr.ravel(), cc.ravel()].astype(float)
    tree = shapely.STRtree(sources.geometry.to_numpy())
    _, dist = tree.query_nearest(shapely.points(xs, ys), return_distance=True)
    off_road = dist >= 15

    header = (
        "size",
        "cells",
        "segments",
        "sources s",
        "model s",
        "total s",
        "cells/s",
        "x direct",
        "direct est.",
    )
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" for _ in header) + "|")
    for size_km, cells, segs, ts, tm, tt, rate in rows:
        est = cells / direct_rate
        est_txt = f"{est / 3600:.1f} h" if est > 3600 else f"{est:.0f} s"
        print(
            f"| {size_km:g} km | {cells:,} | {segs:,} | {ts:.2f} | {tm:.2f} | {tt:.2f} | "
            f"{rate:,.0f} | {rate / direct_rate:,.0f} | {est_txt} |"
        )
    print()
    print(
        f"direct summation baseline: {len(centres)} cells of the {rows[0][0]:g} km network in "
        f"{t_direct:.1f} s = {direct_rate:,.1f} cells/s (all {len(sources):,} sources, "
        "every sample point, radial lookup of the same transfer function)"
    )
    diff = fft - direct
    print(
        f"FFT grid vs direct summation on those cells: mean {diff.mean():+.2f} dB, "
        f"max |diff| {np.abs(diff).max():.2f} dB; cells >= 15 m from a road "
        f"({int(off_road.sum())}): max |diff| {np.abs(diff[off_road]).max():.2f} dB"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MB")
    if not args.no_town:
        town_benchmark(args.town_scale, args.resolution, args.exact_cells)


def _load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.1f} over the last minute on {os.cpu_count()} CPUs"
    except OSError:  # pragma: no cover
        return f"{os.cpu_count()} CPUs"


def town_benchmark(scale: float, resolution: float, n_exact: int) -> None:
    """The screened model on the sample town; fast sector method against exact rays."""
    import pyproj

    from sitefinder.io import osm
    from sitefinder.noisemodel.buildings import building_heights
    from sitefinder.noisemodel.exact import exact_indicators
    from sitefinder.sample import generate_sample

    root = Path(__file__).resolve().parents[1] / "data" / "cache" / f"bench-town-{scale:g}"
    if not (root / "sample.osm").exists():
        generate_sample(root, seed=42, scale=scale)
    crs = pyproj.CRS.from_epsg(CRS)
    filt = osm.feature_tag_filter({})
    ext = osm.extract(root / "sample.osm", filt, root / "cache")
    features = osm.load_features(ext, filt, crs)
    raw = osm.load_buildings(ext, crs)
    params = NoiseModelParams(resolution_m=resolution)
    print()
    print(f"screened sample town (scale {scale:g}, seed 42), {resolution:g} m cells:")
    t0 = time.perf_counter()
    lines = features[features.geom_type.isin(["LineString", "MultiLineString"])]
    sources = noise_sources_from_osm(lines, params)
    buildings = building_heights(raw[raw.geom_type.isin(["Polygon", "MultiPolygon"])])
    t_prep = time.perf_counter() - t0
    b = features.total_bounds
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    frames = {
        "town extent": tuple(b),
        "20 x 20 km frame": (cx - 10_000, cy - 10_000, cx + 10_000, cy + 10_000),
    }
    print("| area | cells | sources | buildings | sources+buildings s | model s | of which screening s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    grid = None
    for name, bounds in frames.items():
        cpu0 = time.process_time()
        t1 = time.perf_counter()
        g = model_lden(sources, bounds, CRS, params, buildings=buildings)
        t_model = time.perf_counter() - t1
        cpu = time.process_time() - cpu0
        scr = g.provenance["screening"]["seconds"]
        print(
            f"| {name} | {g.lden.size:,} | {len(sources):,} | {len(buildings):,} | {t_prep:.1f} | "
            f"{t_model:.1f} (CPU {cpu:.0f} s) | {scr:.1f} |"
        )
        if grid is None:
            grid = g
    print(_load())
    assert grid is not None
    free = model_lden(sources, tuple(b), CRS, params)

    # Sub-area: receiver cells (not inside buildings) within 600 m of the busiest cell near the centre.
    rows, cols = grid.shape
    rr, cc = np.mgrid[0:rows, 0:cols]
    xs, ys = grid.transform * (cc + 0.5, rr + 0.5)
    near = (np.hypot(xs - cx, ys - cy) < 600) & np.isfinite(grid.lden)
    pick = np.random.default_rng(7).choice(np.flatnonzero(near.ravel()), size=n_exact, replace=False)
    xy = np.column_stack([xs.ravel()[pick], ys.ravel()[pick]])
    t2 = time.perf_counter()
    exact_all = exact_indicators(sources, xy, params, buildings)
    t_exact = time.perf_counter() - t2
    exact_free_all = exact_indicators(sources, xy, params, None)
    per_cell_fast = t_model / grid.lden.size if grid is not None else float("nan")
    print()
    for ind in ("lden", "lnight"):
        # Lnight: the fast method applies the Lden screening factor; the exact rays screen the
        # night's own mix of favourable conditions (curved rays) and traffic.
        exact, exact_free = exact_all[ind], exact_free_all[ind]
        fast = getattr(grid, ind).ravel()[pick].astype(float)
        fast_free = getattr(free, ind).ravel()[pick].astype(float)
        keep = exact > params.floor_db  # compare where neither is clipped at the floor
        d_level = np.abs(fast - exact)[keep]
        d_att = np.abs((fast_free - fast) - (exact_free - exact))[keep]
        print(
            f"{ind}: fast vs exact on {int(keep.sum())} receiver cells within 600 m of the centre: "
            f"|level| median {np.median(d_level):.1f} dB, p95 {np.percentile(d_level, 95):.1f} dB; "
            f"|screening attenuation| median {np.median(d_att):.1f} dB, p95 {np.percentile(d_att, 95):.1f} dB; "
            f"mean attenuation fast {np.mean((fast_free - fast)[keep]):.1f} dB, exact "
            f"{np.mean((exact_free - exact)[keep]):.1f} dB"
        )
    print(
        f"run time per cell: exact {t_exact / len(xy):.2f} s, fast {per_cell_fast * 1e6:.1f} µs "
        f"(whole town model): exact/fast = {t_exact / len(xy) / per_cell_fast:,.0f}x"
    )


if __name__ == "__main__":
    main()
