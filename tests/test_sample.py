"""Tests of the built-in sample municipality generator (sitefinder.sample)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely

from sitefinder.errors import ConfigError
from sitefinder.sample import SampleResult, generate_sample
from sitefinder.sample.amenities import INHABITANTS_PER, facility_counts

RD = "EPSG:28992"

#: OSM tags per facility category, as a loader would query them.
CATEGORY_TAGS: dict[str, dict[str, list[str]]] = {
    "gp": {"amenity": ["doctors"], "healthcare": ["doctor"]},
    "pharmacy": {"amenity": ["pharmacy"], "healthcare": ["pharmacy"]},
    "supermarket": {"shop": ["supermarket"]},
    "convenience": {"shop": ["convenience"]},
    "meeting_place": {"amenity": ["community_centre", "social_centre"]},
    "school": {"amenity": ["school"]},
    "daycare": {"amenity": ["kindergarten", "childcare"]},
    "care": {"social_facility": ["nursing_home", "group_home", "assisted_living"]},
    "bus_stop": {"highway": ["bus_stop"]},
    "station": {"railway": ["station"]},
    "park": {"leisure": ["park"]},
    "nightlife": {"amenity": ["bar", "pub", "nightclub"]},
    "candidate_site": {"landuse": ["construction", "brownfield", "greenfield"]},
}


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> SampleResult:
    return generate_sample(tmp_path_factory.mktemp("town"), seed=3, scale=0.5)


@pytest.fixture(scope="module")
def graph(town: SampleResult) -> nx.MultiDiGraph:
    g = ox.graph_from_xml(town.osm_path, bidirectional=True, simplify=True, retain_all=False)
    return ox.project_graph(g, to_crs=RD)


@pytest.fixture(scope="module")
def features(town: SampleResult) -> gpd.GeoDataFrame:
    tags: dict[str, list[str]] = {}
    for cat in CATEGORY_TAGS.values():
        for key, values in cat.items():
            tags.setdefault(key, []).extend(values)
    tags["natural"] = ["water"]
    tags["waterway"] = ["canal"]
    return ox.features_from_xml(town.osm_path, tags=tags).to_crs(RD)  # type: ignore[arg-type]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_and_summary(town: SampleResult) -> None:
    out = town.osm_path.parent
    assert town.osm_path == out / "sample.osm"
    assert town.plots_path == out / "plots.gpkg"
    assert town.boundary_path == out / "boundary.geojson"
    # atomic writes leave no temporary files behind
    assert sorted(p.name for p in out.iterdir()) == [
        "boundary.geojson",
        "buurten.geojson",
        "kerncijfers.csv",
        "plots.gpkg",
        "sample.osm",
    ]
    assert 10_000 < town.inhabitants < 20_000
    assert 20 <= town.plots <= 50
    assert town.walk_nodes > town.walk_nodes_simplified > 1_000
    head = town.osm_path.read_text(encoding="utf-8")[:400]
    assert '<osm version="0.6"' in head
    assert "timestamp" not in head
    with pytest.raises(TypeError):
        town.amenities["gp"] = 0  # type: ignore[index]


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = generate_sample(tmp_path / "a", seed=11, scale=0.1)
    b = generate_sample(tmp_path / "b", seed=11, scale=0.1)
    c = generate_sample(tmp_path / "c", seed=12, scale=0.1)
    for name in ("sample.osm", "plots.gpkg", "boundary.geojson", "buurten.geojson", "kerncijfers.csv"):
        assert _digest(tmp_path / "a" / name) == _digest(tmp_path / "b" / name), name
    assert a.amenities == b.amenities and a.inhabitants == b.inhabitants
    assert _digest(a.osm_path) != _digest(c.osm_path)
    # regenerating in place replaces the files
    again = generate_sample(tmp_path / "a", seed=11, scale=0.1)
    assert _digest(again.osm_path) == _digest(a.osm_path)


def test_plots_gpkg_timestamp_is_fixed_and_gdal_config_restored(tmp_path: Path) -> None:
    import sqlite3

    import pyogrio

    from sitefinder.sample.generate import GPKG_DATE

    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    town = generate_sample(tmp_path, seed=3, scale=0.1)
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") == before
    with sqlite3.connect(town.plots_path) as db:
        stamps = db.execute("SELECT last_change FROM gpkg_contents").fetchall()
    assert stamps == [(GPKG_DATE,)]


@pytest.mark.parametrize("scale", [0.0, -1.0, 100.0, float("nan")])
def test_rejects_bad_scale(tmp_path: Path, scale: float) -> None:
    with pytest.raises(ConfigError, match="scale"):
        generate_sample(tmp_path, scale=scale)


@pytest.mark.slow
def test_graph_loads_with_osmnx(town: SampleResult, graph: nx.MultiDiGraph) -> None:
    assert len(graph) > 1_000
    # osmnx's simplified node count is what the generator estimates (motorways aside)
    assert abs(len(graph) - town.walk_nodes_simplified) / town.walk_nodes_simplified < 0.1
    highways = {h for _, _, h in graph.edges(data="highway") if isinstance(h, str)}
    assert {"primary", "secondary", "tertiary", "residential", "footway", "cycleway", "motorway"} <= highways


def _has(features: gpd.GeoDataFrame, tags: dict[str, list[str]]) -> np.ndarray:
    mask = np.zeros(len(features), dtype=bool)
    for key, values in tags.items():
        if key in features:
            mask |= features[key].isin(values).to_numpy()
    return mask


@pytest.mark.slow
def test_every_category_is_found(town: SampleResult, features: gpd.GeoDataFrame) -> None:
    for category, tags in CATEGORY_TAGS.items():
        assert _has(features, tags).sum() >= 1, category
    gp = features[_has(features, CATEGORY_TAGS["gp"])]
    # both tagging schemes, and objects carrying both
    assert (gp["amenity"].eq("doctors") & gp["healthcare"].isna()).any()
    assert (gp["healthcare"].eq("doctor") & gp["amenity"].isna()).any()
    assert (gp["healthcare"].eq("doctor") & gp["amenity"].eq("doctors")).any()
    # at least one GP is mapped both as a building polygon and as a node inside it
    polys = gp[gp.geom_type == "Polygon"]
    points = gp[gp.geom_type == "Point"]
    assert polys.geometry.apply(lambda p: points.within(p).any()).any()
    # one GP object per facility, plus the one double-mapped GP
    assert len(gp) == town.amenities["gp"] + 1
    care = features[_has(features, CATEGORY_TAGS["care"])]
    assert (care["amenity"] == "social_facility").all()
    assert set(care["social_facility"]) == {"nursing_home", "group_home", "assisted_living"}
    assert _has(features, CATEGORY_TAGS["bus_stop"]).sum() == town.amenities["bus_stop"]


@pytest.mark.slow
def test_counts_follow_inhabitants(tmp_path: Path, town: SampleResult) -> None:
    counts = facility_counts(30_000)
    assert counts["gp"] == round(30_000 / INHABITANTS_PER["gp"])
    assert counts["supermarket"] == round(30_000 / INHABITANTS_PER["supermarket"])
    assert facility_counts(10)["pharmacy"] == 1  # every category present in a tiny town
    big = generate_sample(tmp_path / "big", seed=3, scale=1.0)
    ratio = big.inhabitants / town.inhabitants
    assert 1.6 < ratio < 2.5
    for key in ("gp", "supermarket", "daycare", "primary_school", "shop", "bus_stop"):
        got = big.amenities[key] / town.amenities[key]
        assert 0.6 * ratio < got < 1.5 * ratio, key
    for town_ in (town, big):
        per_gp = town_.inhabitants / town_.amenities["gp"]
        assert 2_500 < per_gp < 5_000


def _bridges_and_water(features: gpd.GeoDataFrame, path: Path) -> tuple[shapely.Geometry, gpd.GeoSeries]:
    ways = ox.features_from_xml(path, tags={"highway": True}).to_crs(RD)  # type: ignore[arg-type]
    water = shapely.union_all(features.loc[features["natural"].eq("water"), "geometry"].to_numpy())
    return water, ways


@pytest.mark.slow
def test_only_bridges_cross_water(town: SampleResult, features: gpd.GeoDataFrame) -> None:
    water, ways = _bridges_and_water(features, town.osm_path)
    lines = ways[ways.geom_type == "LineString"]
    is_bridge = lines["bridge"].eq("yes") if "bridge" in lines else False
    inner = water.buffer(-0.5)
    crossing = lines.geometry.intersects(inner)
    assert crossing.any()
    assert not (crossing & ~is_bridge).any()


@pytest.mark.slow
def test_water_blocks_walking_except_at_bridges(
    town: SampleResult, graph: nx.MultiDiGraph, features: gpd.GeoDataFrame
) -> None:
    water, ways = _bridges_and_water(features, town.osm_path)
    bridges = ways[ways.get("bridge").eq("yes") & ways.geometry.intersects(water)]
    bridge_union = shapely.union_all(bridges.geometry.to_numpy())
    walk = graph.to_undirected()
    node_ids = np.array(list(walk.nodes))
    node_xy = np.array([(walk.nodes[n]["x"], walk.nodes[n]["y"]) for n in node_ids])
    canals = features[features["waterway"].eq("canal")]
    far: list[tuple[float, float]] = []
    near: list[tuple[float, float]] = []
    for axis in canals.geometry:
        for s in np.arange(0.0, axis.length, 20.0):
            p = axis.interpolate(s)
            q = axis.interpolate(min(s + 1.0, axis.length))
            t = np.array([q.x - p.x, q.y - p.y])
            t /= np.linalg.norm(t) or 1.0
            normal = np.array([-t[1], t[0]])
            a = np.array([p.x, p.y]) + 40.0 * normal
            b = np.array([p.x, p.y]) - 40.0 * normal
            na = node_ids[np.argmin(np.hypot(*(node_xy - a).T))]
            nb = node_ids[np.argmin(np.hypot(*(node_xy - b).T))]
            pa, pb = node_xy[node_ids == na][0], node_xy[node_ids == nb][0]
            # only pairs of network nodes close to the two banks at this point
            if max(np.hypot(*(pa - a)), np.hypot(*(pb - b))) > 50.0:
                continue
            if na == nb or not shapely.LineString([pa, pb]).intersects(water):
                continue
            straight = float(np.hypot(*(pa - pb)))
            try:
                network = nx.shortest_path_length(walk, na, nb, weight="length")
            except nx.NetworkXNoPath:
                network = np.inf
            d_bridge = p.distance(bridge_union)
            if d_bridge > 200.0:
                far.append((straight, network))
            elif d_bridge < 15.0:
                near.append((straight, network))
    assert len(far) >= 5 and len(near) >= 2
    for straight, network in far:
        assert network > straight + 250.0 and network > 3.0 * straight
    for straight, network in near:
        assert network < straight + 150.0


def test_plots(town: SampleResult) -> None:
    plots = gpd.read_file(town.plots_path, layer="plots")
    assert plots.crs is not None and plots.crs.to_epsg() == 28992
    assert len(plots) == town.plots
    assert {"plot_id", "name", "owner", "zoning", "setting"} <= set(plots.columns)
    assert plots["plot_id"].is_unique and plots["plot_id"].str.fullmatch(r"NS-\d{3}").all()
    assert plots.is_valid.all() and (plots.geom_type == "Polygon").all()
    area = plots.area / 1e4
    assert area.min() >= 0.2 and area.max() <= 5.0
    assert set(plots["setting"]) == {"centre", "edge", "motorway", "park", "railway"}
    assert set(plots["owner"]) <= {"gemeente", "corporatie", "particulier"}
    assert not plots.geometry.union_all().is_empty
    # plots do not overlap each other
    assert plots.geometry.area.sum() == pytest.approx(plots.geometry.union_all().area, rel=1e-6)


@pytest.mark.slow
def test_boundary_contains_town(town: SampleResult, graph: nx.MultiDiGraph) -> None:
    doc = json.loads(town.boundary_path.read_text(encoding="utf-8"))
    assert doc["features"][0]["properties"]["synthetic"] is True
    boundary = gpd.read_file(town.boundary_path)
    assert boundary.crs is not None and boundary.crs.to_epsg() == 4326
    outline = boundary.to_crs(RD).geometry.iloc[0]
    plots = gpd.read_file(town.plots_path, layer="plots")
    assert plots.within(outline).all()
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)])
    inside = shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
    assert inside.mean() > 0.99
    # plausible Dutch location (Flevoland)
    lon, lat = boundary.geometry.iloc[0].centroid.coords[0]
    assert 5.0 < lon < 6.2 and 52.2 < lat < 52.7


def test_batched_densify_gives_the_vertices_of_one_by_one() -> None:
    from sitefinder.sample.geometry import densify, densify_all

    rng = np.random.default_rng(3)
    lines = [rng.uniform(0, 200, (k, 2)) for k in rng.integers(0, 7, 400)]
    lines[5] = np.array([[0.0, 0.0], [0.0, 0.0], [60.0, 0.0]])  # a zero-length segment
    for one, batch in zip([densify(x, 25.0) for x in lines], densify_all(lines, 25.0), strict=True):
        assert one.shape == batch.shape and np.array_equal(one, batch)
    # 60 m at most 25 m a segment: 3 pieces, the original vertices kept.
    np.testing.assert_allclose(densify_all([lines[5]], 25.0)[0][:, 0], [0, 0, 20, 40, 60])


def test_crossing_pairs_are_the_geos_crosses_query() -> None:
    from sitefinder.sample.network import _crossing_pairs

    rng = np.random.default_rng(5)
    p0 = np.round(rng.uniform(0, 100, (600, 2)))  # integer grid: shared ends, collinear pieces
    p1 = np.round(p0 + rng.uniform(-30, 30, (600, 2)))
    p1[::7] = p0[(np.arange(600)[::7] + 1) % 600]  # chains sharing end points
    p1[3::11, 1] = p0[3::11, 1]  # horizontal segments, many collinear
    segs = shapely.linestrings(np.stack([p0, p1], axis=1))
    tree = shapely.STRtree(segs)
    a, b = _crossing_pairs(tree, segs, p0, p1)
    want_a, want_b = tree.query(segs, predicate="crosses")
    assert len(want_a) > 100
    np.testing.assert_array_equal(a, want_a)
    np.testing.assert_array_equal(b, want_b)


def test_block_rect_is_block_point_at_its_corners() -> None:
    from sitefinder.sample.cells import Lattice
    from sitefinder.sample.layout import make_plan

    rng = np.random.default_rng(5)
    plan = make_plan(rng, 0.2)
    lat = Lattice(plan.cells[0], rng, plan.water(), None)
    for i, j, f in [
        (0, 0, (0.1, 0.2, 0.9, 0.8)),
        (1, 2, (0.2, -0.5, 0.7, 1.5)),
        (2, 1, (0.0, 0.0, 1.0, 1.0)),
    ]:
        fu0, fv0, fu1, fv1 = f
        want = np.array(
            [
                lat.block_point(i, j, u, v)
                for u, v in ((fu0, fv0), (fu1, fv0), (fu1, fv1), (fu0, fv1), (fu0, fv0))
            ]
        )
        got = lat.block_rect(i, j, fu0, fv0, fu1, fv1)
        assert got.shape == (5, 2) and np.array_equal(got, want)


@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_unique_rows_is_numpys_unique_by_rows(n: int) -> None:
    from sitefinder.sample.network import unique_rows

    rng = np.random.default_rng(n)
    a = np.c_[rng.integers(-3_000_000, 3_000_000, n), rng.integers(-50, 50, n)]
    a = np.r_[a, a[: n // 2]]
    want_rows, want_inv = np.unique(a, axis=0, return_inverse=True)
    rows, inv = unique_rows(a)
    assert np.array_equal(rows, want_rows) and np.array_equal(inv, want_inv.reshape(-1))
    # keys too far apart to pack fall back to numpy and agree as well
    big = np.array([[-(2**62), 0], [2**62, 1], [-(2**62), 0]])
    rows, inv = unique_rows(big)
    assert rows.tolist() == [[-(2**62), 0], [2**62, 1]] and inv.tolist() == [0, 1, 0]


def test_intersecting_matches_shapely_intersects_for_multi_part_areas() -> None:
    from sitefinder.sample.network import intersecting

    rng = np.random.default_rng(8)
    start = rng.uniform(0, 1000, (3000, 2))
    lines = shapely.linestrings(np.stack([start, start + rng.normal(0, 30, (3000, 2))], axis=1))
    blobs = shapely.buffer(shapely.points(rng.uniform(0, 1000, (40, 2))), rng.uniform(5, 60, 40))
    for area in (shapely.union_all(blobs), blobs[0], shapely.union_all(blobs[:5]).buffer(-1000)):
        want = np.flatnonzero(shapely.intersects(lines, area))
        got = intersecting(lines, area)
        assert np.array_equal(got, want)
    assert 0 < len(intersecting(lines, shapely.union_all(blobs))) < len(lines)


def test_add_all_gives_the_nodes_and_ways_of_adding_one_by_one() -> None:
    from sitefinder.sample.osmxml import Feature, OsmBuilder

    ring = np.array([[0.0, 0.0], [80.0, 0.0], [80.0, 40.0], [0.0, 40.0], [0.0, 0.0]])
    feats = [
        Feature("point", np.array([[5.0, 5.0]]), {"amenity": "bench"}),
        Feature("polygon", ring, {"building": "yes"}),
        Feature("polygon", ring[:-1] + 100.0, {"landuse": "grass"}),  # an open ring is closed
        Feature("line", np.array([[0.0, 0.0], [0.0, 90.0], [30.0, 90.0]]), {"highway": "footway"}),
        Feature("point", np.array([[7.0, 9.0]]), {"shop": "bakery"}),
    ]
    one, many = OsmBuilder(), OsmBuilder()
    one.add_nodes(np.zeros((3, 2)))
    many.add_nodes(np.zeros((3, 2)))
    for f in feats:
        one.add(f)
    many.add_all(feats)
    assert many.node_count == one.node_count > 3 + 4 + 4
    assert np.array_equal(many.coordinates(), one.coordinates())
    assert many.node_tags == one.node_tags and set(many.node_tags) == {3, one.node_count - 1}
    assert len(many.ways) == len(one.ways) == 3
    for (ids_a, tags_a), (ids_b, tags_b) in zip(many.ways, one.ways, strict=True):
        assert np.array_equal(ids_a, ids_b) and tags_a == tags_b
    assert many.ways[0][0][0] == many.ways[0][0][-1]


@pytest.mark.slow
def test_more_than_99_buurten_get_valid_cbs_codes_in_several_wijken(tmp_path: Path) -> None:
    # A CBS buurt code has two digits for the buurt: an Almere-sized sample (133 buurten at
    # scale 8) once wrote 'BU999901100', which the CBS reader rightly refused.
    from pyproj import CRS

    from sitefinder.io.cbs import join_figures, read_key_figures, read_neighbourhoods

    town = generate_sample(tmp_path, seed=5, scale=6.5)
    rd = CRS.from_epsg(28992)
    polys = read_neighbourhoods(town.neighbourhoods_path, rd)
    assert len(polys) > 99
    codes = sorted(polys.index)
    assert len(set(codes)) == len(codes) and all(len(c) == 10 for c in codes)
    raw = json.loads((town.neighbourhoods_path).read_text("utf-8"))
    wijken = {f["properties"]["WK_CODE"] for f in raw["features"]}
    assert wijken == {"WK999901", "WK999902"}
    assert all(f["properties"]["WK_CODE"][2:] == f["properties"]["BU_CODE"][2:8] for f in raw["features"])
    figures = read_key_figures(town.figures_path)
    joined = join_figures(polys, figures, "kerncijfers.csv")
    assert joined["inwoners"].notna().all()
    # Each wijk row holds the sum of its buurten.
    lines = (town.figures_path).read_text("utf-8-sig").splitlines()
    rows = [line.split(";") for line in lines[1:]]
    for wk in sorted(wijken):
        (wijk_row,) = [r for r in rows if r[1].strip() == wk]
        buurt_sum = sum(int(r[6]) for r in rows if r[3].strip() == "Buurt" and r[1].strip()[2:8] == wk[2:])
        assert int(wijk_row[6]) == buurt_sum > 0
