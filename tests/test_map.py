"""The interactive map rendered to HTML: content, self-containedness, size, routes.

Most tests use a synthetic grid town built here (streets every 100 m, one plot per
block, amenities beside the streets), scored with the built-in profiles through the
same indicator code as ``sitefinder run``; one test renders the real Amsterdam extract.
The browser tests (tests/test_browser.py) open these maps in Chromium.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from sitefinder.categories import load_categories
from sitefinder.config import RunConfig
from sitefinder.datatypes import NoiseGrid, StudyData
from sitefinder.network import WalkNetwork
from sitefinder.pipeline import compute_indicators
from sitefinder.render.map import MapInputs, Tiles, render_map, write_map
from sitefinder.render.mapdata import encode_polyline
from sitefinder.routes import ROUTE_CATEGORIES, route_table
from sitefinder.scoring.profiles import SensitivitySettings, load_profile
from sitefinder.scoring.score import score_profile
from tests.conftest import AMSTERDAM, needs_shared, run_cli

CRS_RD = CRS.from_epsg(28992)
ORIGIN = (150_000.0, 480_000.0)  # near Almere, EPSG:28992
SPACING = 100.0
AMENITY_CATEGORIES = ("supermarket", "gp", "pt_stop", "pharmacy", "meeting_place", "nightlife", "care")


def _grid_graph(n_side: int) -> nx.MultiDiGraph:
    """A projected osmnx-like walking graph: a square street grid, ``n_side`` blocks a side."""
    g = nx.MultiDiGraph(crs=CRS_RD)
    k = n_side + 1
    for r in range(k):
        for c in range(k):
            g.add_node(r * k + c, x=ORIGIN[0] + c * SPACING, y=ORIGIN[1] + r * SPACING)
    for r in range(k):
        for c in range(k):
            a = r * k + c
            for b in ([a + 1] if c + 1 < k else []) + ([a + k] if r + 1 < k else []):
                g.add_edge(a, b, 0, length=SPACING)
                g.add_edge(b, a, 0, length=SPACING)
    return g


def synthetic_town(
    n_side: int = 4,
    n_amenities: int = 40,
    *,
    modelled: bool = True,
    tiles: Tiles = "none",
    name_of: dict[int, str] | None = None,
    draws: int = 30,
    seed: int = 7,
) -> MapInputs:
    """Map inputs of a synthetic grid town with ``n_side**2`` plots (one per block).

    Parameters
    ----------
    n_side : int
        Blocks per side.
    n_amenities : int
        Amenities, spread over :data:`AMENITY_CATEGORIES`, beside random streets.
    modelled : bool
        Whether the noise grid is labelled as modelled.
    tiles : {"none", "osm"}
        Background tiles of the map.
    name_of : dict, optional
        Plot names to use instead of the defaults, by plot position.
    draws : int
        Draws of the sensitivity analysis (0 switches it off).
    seed : int
        Random seed of the amenity placement and noise.
    """
    rng = np.random.default_rng(seed)
    graph = _grid_graph(n_side)
    rc = [(r, c) for r in range(n_side) for c in range(n_side)]
    cx = np.array([ORIGIN[0] + (c + 0.5) * SPACING for _, c in rc])
    cy = np.array([ORIGIN[1] + (r + 0.5) * SPACING for r, _ in rc])
    half = 20.0 + 15.0 * rng.random(len(rc))
    geoms = shapely.box(cx - half, cy - half, cx + half, cy + half)
    names = [f"Blok {r + 1}-{c + 1}" for r, c in rc]
    for i, nm in (name_of or {}).items():
        names[i] = nm
    plots = gpd.GeoDataFrame(
        {
            "naam": names,
            "eigenaar": np.where(np.arange(len(rc)) % 3 == 0, "corporatie", "gemeente"),
        },
        geometry=geoms,
        index=pd.Index([f"K{i + 1:04d}" for i in range(len(rc))], name="plot_id"),
        crs=CRS_RD,
    )
    # Amenities 4 m beside a random point of a random street.
    size = n_side * SPACING
    along = rng.random(n_amenities) * size
    line = rng.integers(0, n_side + 1, n_amenities) * SPACING
    vertical = rng.random(n_amenities) < 0.5
    ax = ORIGIN[0] + np.where(vertical, line + 4.0, along)
    ay = ORIGIN[1] + np.where(vertical, along, line + 4.0)
    cats = [AMENITY_CATEGORIES[i % len(AMENITY_CATEGORIES)] for i in range(n_amenities)]
    amenities = gpd.GeoDataFrame(
        {
            "category": cats,
            "name": [f"{c.replace('_', ' ').title()} {i}" for i, c in enumerate(cats)],
            "osm_id": [f"node/{i}" for i in range(n_amenities)],
        },
        geometry=shapely.points(ax, ay),
        crs=CRS_RD,
    )
    nightlife = amenities[amenities["category"] == "nightlife"]
    nuisance = gpd.GeoDataFrame(
        {"kind": "nightlife", "osm_id": nightlife["osm_id"].to_numpy()},
        geometry=nightlife.geometry.to_numpy(),
        crs=CRS_RD,
    )
    res = 10.0
    cells = int(size / res)
    _yy, xx = np.mgrid[0:cells, 0:cells]
    lden = (42.0 + 30.0 * xx / cells + rng.normal(0, 1, xx.shape)).astype("float32")
    noise = NoiseGrid(
        lden=lden,
        transform=Affine(res, 0, ORIGIN[0], 0, -res, ORIGIN[1] + size),
        crs=CRS_RD,
        modelled=modelled,
    )
    area = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + size, ORIGIN[1] + size)
    data = StudyData(
        crs=CRS_RD, plots=plots, amenities=amenities, nuisance=nuisance,
        network=WalkNetwork.from_osmnx(graph),
        study_area=area, noise=noise, sources={},
    )  # fmt: skip
    registry = load_categories()
    cfg = RunConfig(osm_file=Path("synthetic.osm"), out_dir=Path("unused"))
    indicators, access, net = compute_indicators(data, registry, cfg)
    attributes = pd.DataFrame(plots.drop(columns="geometry"))
    scoring = pd.concat([indicators, attributes], axis=1)
    settings = SensitivitySettings(draws=draws)
    results = [score_profile(scoring, load_profile(p), settings) for p in ("prikkelarm", "levendig")]
    return MapInputs(
        plots=plots, indicators=indicators, profiles=results, amenities=amenities, registry=registry,
        study_area=area, noise=noise, title="Testkaart {{ sitefinder }}", tiles=tiles,
        routes=route_table(net, access, plots, amenities, ROUTE_CATEGORIES, indicators),
    )  # fmt: skip


@pytest.fixture(scope="module")
def town() -> MapInputs:
    return synthetic_town()


@pytest.fixture(scope="module")
def town_html(town: MapInputs) -> str:
    return render_map(town)


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="sf-data">(.*?)</script>', page, re.S)
    assert m, "the page carries its data block"
    return json.loads(m.group(1))


def test_profiles_switch_in_the_panel(town: MapInputs, town_html: str) -> None:
    data = _data(town_html)
    assert [p["name"] for p in data["profiles"]] == ["prikkelarm", "levendig"]
    assert [p["title"] for p in data["profiles"]] == [r.profile.title for r in town.profiles]
    assert 'id="sf-profile"' in town_html and 'id="sf-list"' in town_html
    assert "Zoek kavel" in town_html
    assert '<html lang="nl">' in town_html


def test_live_data_reproduces_the_scores(town: MapInputs, town_html: str) -> None:
    """100 · Σ w·u / Σ w from the page's data equals scoring's score, for every plot."""
    data = _data(town_html)
    for res, prof in zip(town.profiles, data["profiles"], strict=True):
        w = np.array([c["weight"] for c in prof["criteria"]])
        u = np.array([c["u"] for c in prof["criteria"]])
        e = np.ones_like(u)
        for k, c in enumerate(prof["criteria"]):
            e[k, c["ne"]] = 0.0
        assert len(w) == len(res.weights)
        score = 100 * ((w[:, None] * e * u).sum(axis=0)) / (w[:, None] * e).sum(axis=0)
        want = res.table[f"score_{res.name}"].to_numpy(dtype=float)
        assert np.allclose(score, want, atol=0.051)
        failed = set()
        for con in prof["constraints"]:
            failed |= set(con["fails"] or [])
        excluded = np.flatnonzero(res.table[f"excluded_{res.name}"].to_numpy() != "")
        assert failed == set(excluded.tolist())


def test_reasons_are_dutch_with_value_and_limit(town_html: str) -> None:
    data = _data(town_html)
    cons = {c["indicator"]: c for c in data["profiles"][0]["constraints"]}
    noise = cons["noise_lden_p90_db"]
    assert noise["label"] == "geluid p90"
    # The synthetic town's noise is modelled: the page names the margin scoring allowed.
    assert noise["limit"] == "grens 58\xa0dB (+3\xa0dB modelonzekerheid)"
    assert "_" not in noise["label"] + noise["limit"]


def test_exported_profile_is_a_valid_profile(town: MapInputs, town_html: str) -> None:
    from sitefinder.scoring.profiles import Profile

    data = _data(town_html)
    for res, prof in zip(town.profiles, data["profiles"], strict=True):
        again = Profile(**prof["export"])
        assert again.weights() == pytest.approx(res.profile.weights())
        assert again.constraints == res.profile.constraints
        assert [c.function for c in again.criteria] == [c.function for c in res.profile.criteria]


def test_noise_off_and_many_amenities_off_when_the_map_opens() -> None:
    from sitefinder.render.map import build_map

    fmap = build_map(synthetic_town(n_side=3, n_amenities=500, draws=0))
    shown = {
        child.layer_name: child.show
        for child in fmap._children.values()
        if hasattr(child, "layer_name") and getattr(child, "overlay", False)
    }
    noise = [v for k, v in shown.items() if "Geluid" in k]
    assert noise == [False]
    amenities = [v for k, v in shown.items() if "Voorzieningen" in k]
    assert amenities and not any(amenities), "500 amenities: every amenity layer starts off"
    few = build_map(synthetic_town(n_side=3, n_amenities=40, draws=0))
    assert any(
        getattr(c, "show", False)
        for c in few._children.values()
        if "Supermarkt" in str(getattr(c, "layer_name", ""))
    )


def test_legend_has_units_and_says_modelled(town_html: str) -> None:
    assert "Kavels: score voor het gekozen profiel (0–100 punten)" in town_html
    assert "Geluid Lden (dB)" in town_html
    assert "gemodelleerd" in town_html
    assert "uitgesloten" in town_html
    assert "Afstanden in meter (m)" in town_html


def test_official_noise_is_not_called_modelled() -> None:
    page = render_map(synthetic_town(n_side=2, n_amenities=8, modelled=False, draws=0))
    assert "gemodelleerd" not in page
    assert "officiële kaart" in page


def test_osm_attribution_is_shown(town_html: str) -> None:
    assert "OpenStreetMap</a>-bijdragers" in _data(town_html)["attribution"]
    assert "openstreetmap.org/copyright" in town_html
    assert "OpenStreetMap-bijdragers (ODbL)" in town_html, "named under the title"


def test_self_contained_has_no_external_scripts_or_styles(town_html: str) -> None:
    tags = re.findall(r"<(?:script|link)\b[^>]*>", town_html)
    external = [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", t)]
    assert external == []
    assert "L.markerClusterGroup" in town_html, "markercluster is inlined"


def test_linked_assets_when_not_self_contained(town: MapInputs) -> None:
    from dataclasses import replace

    page = render_map(replace(town, self_contained=False))
    assert re.search(r'<script src="https://[^"]*leaflet', page)


def test_tiles_are_optional(town: MapInputs, town_html: str) -> None:
    from dataclasses import replace

    assert "tile.openstreetmap.org" not in town_html
    osm = render_map(replace(town, tiles="osm"))
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in osm
    assert "OpenStreetMap (internet)" in osm


def test_amenity_layers_per_category_with_counts(town: MapInputs, town_html: str) -> None:
    data = _data(town_html)
    counts = town.amenities["category"].value_counts()
    got = {a["name"]: len(a["points"]) for a in data["amenities"]}
    assert got == counts.to_dict()
    assert "Supermarkt (" in town_html


def test_plot_values_carry_units_and_labels(town_html: str) -> None:
    data = _data(town_html)
    meta = data["meta"]
    assert meta["dist_supermarket_m"] == {"label": "Loopafstand tot supermarkt", "unit": "m", "kind": "m"}
    assert meta["area_m2"]["unit"] == "m²"
    assert meta["noise_lden_mean_db"]["unit"] == "dB"
    prof = data["profiles"][0]
    assert prof["criteria"], "criteria for the popup chart"
    assert all(len(c["u"]) == len(data["plots"]["features"]) for c in prof["criteria"])
    # Sensitivity columns written by scoring are shown when present.
    assert {"rank_p5_prikkelarm", "rank_p95_prikkelarm"} <= set(prof["extras"])
    assert any(k.startswith("p_top") for k in prof["extras"])


def test_exclusion_reasons_are_in_the_data(town: MapInputs, town_html: str) -> None:
    data = _data(town_html)
    col = data["cols"]["excluded_prikkelarm"]
    reasons = {col["dict"][i] for i in col["idx"] if i is not None}
    expected = set(town.profiles[0].table["excluded_prikkelarm"])
    assert reasons == expected


def test_routes_match_the_walking_distances(town: MapInputs, town_html: str) -> None:
    data = _data(town_html)
    routes = data["routes"]
    cats = [c["name"] for c in routes["categories"]]
    assert cats == ["supermarket", "gp", "pt_stop"]
    checked = 0
    for i, pid in enumerate(town.plots.index):
        row = routes["by_plot"][i]
        for k, cat in enumerate(cats):
            want = town.indicators.loc[pid, f"dist_{cat}_m"]
            got = None if row is None else row[k]
            if np.isnan(want):
                assert got is None
                continue
            assert got is not None
            assert abs(got[0] - want) < 0.2
            assert len(got[2]) >= 4, "an encoded polyline"
            checked += 1
    assert checked > 0


def test_route_geometry_follows_the_streets(town: MapInputs) -> None:
    assert town.routes is not None
    table = town.routes.table
    routes = table[table["category"] == "supermarket"]
    # Every plot reaches a supermarket in the grid town, one route each.
    assert sorted(routes["plot_id"]) == sorted(town.plots.index)
    streets = shapely.union_all(WalkNetwork.from_osmnx(_grid_graph(4)).edge_geom).buffer(0.5)
    for line, dist in zip(routes.geometry, routes["distance_m"], strict=True):
        inner = shapely.LineString(line.coords[1:-1]) if len(line.coords) > 3 else None
        if inner is not None:
            assert streets.contains(inner), "the route between plot and amenity runs along streets"
        # Drawn length: network part plus the straight bits at both ends, close to the distance.
        assert line.length <= dist + 1.0
        assert line.length >= dist - 60.0


def test_names_with_template_syntax_are_rendered_literally() -> None:
    page = render_map(synthetic_town(n_side=2, n_amenities=8, draws=0, name_of={0: "{{ kavel }} {% x %}"}))
    assert "{{ kavel }} {% x %}" in page
    assert "Testkaart {{ sitefinder }}" in page


def test_encode_polyline_round_trip() -> None:
    pts = np.array([[52.37, 4.89], [52.3712, 4.8911], [52.36999, 4.88888]])
    enc = encode_polyline(pts)
    # Decode (the page's algorithm) and compare.
    out, index, lat, lon = [], 0, 0, 0
    while index < len(enc):
        vals = []
        for _ in range(2):
            shift = result = 0
            while True:
                b = ord(enc[index]) - 63
                index += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            vals.append(~(result >> 1) if result & 1 else result >> 1)
        lat += vals[0]
        lon += vals[1]
        out.append((lat / 1e5, lon / 1e5))
    assert np.allclose(out, pts, atol=1e-5)


def test_write_map_is_atomic(town: MapInputs, tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    target.write_text("previous")
    write_map(town, target)
    assert target.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


@functools.cache
def large_town() -> MapInputs:
    """5,041 plots and 10,000 amenities, made once per test process (map inputs are not changed by
    rendering; ``test_map`` and ``test_browser`` read the same town)."""
    return synthetic_town(n_side=71, n_amenities=10_000, draws=0)


@pytest.mark.slow
def test_large_map_stays_small(tmp_path: Path) -> None:
    """5,000 plots and 10,000 amenities with routes: under 10 MB (issue 6 budget)."""
    town = large_town()
    assert len(town.plots) >= 5000
    page = render_map(town)
    size_mb = len(page.encode()) / 1e6
    assert size_mb < 10.0, f"map of {len(town.plots)} plots is {size_mb:.1f} MB"
    data = _data(page)
    assert sum(len(a["points"]) for a in data["amenities"]) == 10_000


@pytest.mark.shared
@needs_shared
def test_amsterdam_map_from_a_real_run(amsterdam_plots: Path, amsterdam_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = run_cli("run", "--osm", AMSTERDAM, "--plots", amsterdam_plots, "--out", out,
                  "--cache", amsterdam_cache, "--layers", tmp_path / "layers", "--tiles", "none")  # fmt: skip
    assert res.returncode == 0, res.stderr
    page = (out / "map.html").read_text("utf-8")
    data = _data(page)
    assert len(data["plots"]["features"]) == 6
    assert data["routes"] is not None
    assert "gemodelleerd" in page, "the run models noise when no raster is given"
    assert "tile.openstreetmap.org" not in page


def test_censored_values_and_reasons_read_in_dutch() -> None:
    from sitefinder.render.labels import column_label
    from sitefinder.render.live import dutch_censored, dutch_reason_text
    from sitefinder.scoring.profiles import Constraint

    labels = {c: column_label(c) for c in ("dist_gp_m", "n_gp_500m", "noise_lden_p90_db")}
    text = dutch_censored("dist_gp_m > 1512.6; n_gp_500m >= 3", labels)
    assert text == "Loopafstand tot gp: meer dan 1.513\xa0m; Gp: aantal binnen 500 m lopen: minstens 3"
    con = Constraint(indicator="noise_lden_p90_db", op="<=", value=58, reason="te veel geluid")
    out = dutch_reason_text("reden: te veel geluid (noise_lden_p90_db <= 58)", [con], labels)
    assert out == "reden: te veel geluid (geluid p90, grens 58\xa0dB)"
