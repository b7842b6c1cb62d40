"""The single pyosmium pass: network arrays, edge tags, buildings, coverage, clipped files, cut cache."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from sitefinder.categories import classify, load_categories
from sitefinder.io import osm
from sitefinder.netbuild import EARTH_RADIUS_M, build_network
from tests.conftest import AMSTERDAM, needs_shared
from tests.osmnx_reference import osmnx_features

RD = CRS.from_epsg(28992)
LON0, LAT0 = 5.0, 52.0
DLAT = 0.001  # one step north: EARTH_RADIUS_M * radians(0.001) metres (same meridian)
STEP_M = EARTH_RADIUS_M * math.radians(DLAT)


def _xml(nodes: dict[int, tuple[float, float, dict[str, str]]], ways: list[tuple[int, list[int], dict[str, str]]],
         rels: str = "", bounds: bool = False) -> str:  # fmt: skip
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    if bounds:
        out.append('<bounds minlat="51.99" minlon="4.99" maxlat="52.02" maxlon="5.02"/>')
    for nid, (lon, lat, tags) in nodes.items():
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(f'<node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">{tag_xml}</node>')
    for wid, refs, tags in ways:
        nd = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(f'<way id="{wid}" version="1">{nd}{tag_xml}</way>')
    out.append(rels)
    out.append("</osm>")
    return "\n".join(out)


def _extract(tmp_path: Path, text: str, name: str = "t.osm") -> osm.OsmExtract:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return osm.extract(path, osm.feature_tag_filter({"shop": ["supermarket"]}), tmp_path / "cache")


def _line_nodes(
    n: int, lon: float = LON0, first_id: int = 1
) -> dict[int, tuple[float, float, dict[str, str]]]:
    return {first_id + i: (lon, LAT0 + i * DLAT, {}) for i in range(n)}


def test_chain_over_two_ways_is_one_edge_with_two_parts(tmp_path: Path) -> None:
    # Way 10 (footway) over nodes 1-2-3, way 11 (steps) 3-4: node 3 joins only two segments,
    # so 1..4 is one edge of three steps; node 2 carries a kerb tag inside it.
    nodes = _line_nodes(4)
    nodes[2] = (LON0, LAT0 + DLAT, {"kerb": "lowered"})
    nodes[9] = (LON0 + 0.01, LAT0, {"amenity": "bench"})  # not on a way
    ways = [
        (10, [1, 2, 3], {"highway": "footway", "surface": "paving_stones"}),
        (11, [3, 4], {"highway": "steps", "incline": "up"}),
    ]
    ext = _extract(tmp_path, _xml(nodes, ways))
    net, stats = build_network(osm.load_walk_ways(ext), RD, min_component_nodes=1)
    assert net.n_nodes == 2 and net.n_edges == 1
    assert sorted(net.node_ids.tolist()) == [1, 4]
    assert net.edge_len[0] == pytest.approx(3 * STEP_M, abs=1e-6)
    assert shapely.get_num_points(net.edge_geom[0]) == 4
    tags = net.tags
    assert tags is not None
    parts = {int(tags.way_ids[w]): ln for w, ln in zip(tags.part_way, tags.part_len_m, strict=True)}
    assert parts == {10: pytest.approx(2 * STEP_M), 11: pytest.approx(STEP_M)}
    assert tags.edge_tag("highway", 1).tolist() == ["footway"]
    assert tags.node_osm_ids.tolist() == [2]
    assert tags.node_tags["kerb"].tolist() == ["lowered"]
    assert tags.node_edge.tolist() == [0] and tags.node_index.tolist() == [-1]
    assert stats.segments == 3 and stats.segments_missing_nodes == 0


def test_way_with_missing_nodes_drops_those_edges_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A clipped extract: way 20 runs 1-2-3-4-5, but node 4 is not in the file.
    nodes = _line_nodes(5)
    del nodes[4]
    ext = _extract(tmp_path, _xml(nodes, [(20, [1, 2, 3, 4, 5], {"highway": "residential"})]))
    with caplog.at_level(logging.WARNING):
        net, stats = build_network(osm.load_walk_ways(ext), RD, min_component_nodes=1)
    assert "reference 1 nodes that are not in the file" in caplog.text
    assert "dropped 2 of 4 way segments" in caplog.text
    assert stats.missing_nodes == 1 and stats.segments_missing_nodes == 2
    # What is left: 1-2-3 (one edge); node 5 lost both its segments.
    assert net.n_edges == 1 and sorted(net.node_ids.tolist()) == [1, 3]
    assert net.edge_len[0] == pytest.approx(2 * STEP_M, abs=1e-6)


def test_fragments_and_rings_follow_the_osmnx_rules(tmp_path: Path) -> None:
    # A 12-node line (2 endpoints after simplification), a 3-edge star (4 endpoints)
    # and a closed ring without any junction.
    nodes = _line_nodes(12)
    nodes |= {
        100: (5.01, LAT0, {}),
        101: (5.011, LAT0, {}),
        102: (5.01, LAT0 + DLAT, {}),
        103: (5.009, LAT0, {}),
    }
    nodes |= {200 + i: (5.02 + 0.001 * math.cos(i), LAT0 + 0.001 * math.sin(i), {}) for i in range(5)}
    ways = [
        (1, list(range(1, 13)), {"highway": "footway"}),
        (2, [100, 101], {"highway": "footway"}),
        (3, [100, 102], {"highway": "footway"}),
        (4, [100, 103], {"highway": "footway"}),
        (5, [200, 201, 202, 203, 204, 200], {"highway": "footway"}),
    ]
    ext = _extract(tmp_path, _xml(nodes, ways))
    ways_ = osm.load_walk_ways(ext)
    assert build_network(ways_, RD, min_component_nodes=1)[0].n_edges == 1 + 3
    net, stats = build_network(ways_, RD, min_component_nodes=3)
    assert sorted(net.node_ids.tolist()) == [100, 101, 102, 103]
    assert stats.fragments_dropped == 2 and stats.fragment_nodes_dropped == 2


def test_buildings_coverage_and_not_walkable(tmp_path: Path) -> None:
    nodes = _line_nodes(3)
    square = {50: (5.010, 52.010), 51: (5.011, 52.010), 52: (5.011, 52.011), 53: (5.010, 52.011)}
    nodes |= {k: (x, y, {}) for k, (x, y) in square.items()}
    nodes[60] = (4.95, 51.95, {"shop": "supermarket"})  # far south-west: widens the hull
    ways = [
        (1, [1, 2, 3], {"highway": "footway"}),
        (2, [1, 3], {"highway": "motorway"}),
        (3, [50, 51, 52, 53, 50], {"building": "apartments", "height": "12.5", "building:levels": "4"}),
    ]
    ext = _extract(tmp_path, _xml(nodes, ways))
    assert ext.stats["walk_ways_kept"] == 1
    assert ext.stats["walk_ways_dropped"] == {"highway=motorway": 1}
    b = osm.load_buildings(ext, RD)
    assert len(b) == 1 and b["osm_id"].tolist() == ["way/3"]
    assert b["building"].iloc[0] == "apartments" and b["height"].iloc[0] == "12.5"
    assert b["building:levels"].iloc[0] == "4" and b["min_height"].iloc[0] is None
    assert b.crs == RD
    assert b.geometry.iloc[0].area == pytest.approx(68.0 * 111.3, rel=0.05)  # ~68 m x ~111 m
    # No header bounds: the hull of all nodes, buildings and the far shop included.
    assert ext.bounds is None
    cov = ext.coverage
    assert cov.covers(shapely.Point(4.95, 51.95)) and cov.covers(shapely.Point(5.011, 52.011))
    area = osm.study_area(ext, RD)
    shop_rd = b.geometry.iloc[0].centroid  # the building lies inside the hull
    assert area.covers(shop_rd)
    # With header bounds, the coverage is the bounds.
    ext2 = _extract(tmp_path, _xml(nodes, ways, bounds=True), name="with-bounds.osm")
    assert ext2.bounds == (4.99, 51.99, 5.02, 52.02)
    assert shapely.equals(ext2.coverage, shapely.box(4.99, 51.99, 5.02, 52.02))


def test_multipolygon_building(tmp_path: Path) -> None:
    sq = [(5.010, 52.010), (5.012, 52.010), (5.012, 52.012), (5.010, 52.012)]
    hole = [(5.0105, 52.0105), (5.0115, 52.0105), (5.0115, 52.0115), (5.0105, 52.0115)]
    nodes = {10 + i: (x, y, {}) for i, (x, y) in enumerate(sq)} | {
        20 + i: (x, y, {}) for i, (x, y) in enumerate(hole)
    }
    nodes |= _line_nodes(2, first_id=1)
    ways = [(1, [1, 2], {"highway": "footway"}), (5, [10, 11, 12, 13, 10], {}), (6, [20, 21, 22, 23, 20], {})]
    rel = (
        '<relation id="7" version="1"><member type="way" ref="5" role="outer"/>'
        '<member type="way" ref="6" role="inner"/><tag k="type" v="multipolygon"/>'
        '<tag k="building" v="church"/><tag k="height" v="30"/></relation>'
    )
    ext = _extract(tmp_path, _xml(nodes, ways, rel))
    b = osm.load_buildings(ext, RD)
    assert b["osm_id"].tolist() == ["relation/7"]
    poly = b.geometry.iloc[0]
    assert len(poly.geoms[0].interiors) == 1
    assert b["height"].iloc[0] == "30"


def test_cut_cache_is_verified_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = _xml(_line_nodes(3), [(1, [1, 2, 3], {"highway": "footway"})])
    ext = _extract(tmp_path, text)
    walk = ext.walk_path.read_bytes()
    with caplog.at_level(logging.INFO):
        again = _extract(tmp_path, text)
    assert "reused from cache" in caplog.text and again.folder == ext.folder
    # Same size, other content: caught by the hash, rebuilt.
    spoiled = bytearray(walk)
    spoiled[-30] ^= 0xFF
    ext.walk_path.write_bytes(bytes(spoiled))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        rebuilt = _extract(tmp_path, text)
    assert "does not match its recorded SHA-256" in caplog.text
    assert rebuilt.walk_path.read_bytes() == walk
    # A cut without its entry file (writing broke off) is rebuilt too.
    (ext.folder / "entry.json").unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _extract(tmp_path, text)
    assert "reused from cache" not in caplog.text
    np.testing.assert_array_equal(osm.load_walk_ways(ext).ref_ids, [1, 2, 3])


def _assert_features_equal_osmnx(src: Path, folder: Path) -> int:
    registry = load_categories(None)
    tag_filter = osm.feature_tag_filter(registry.osm_tags())
    new = osm.load_features(osm.extract(src, tag_filter, folder / "cache"), tag_filter, RD)
    old = osmnx_features(src, folder, tag_filter, RD).set_index("osm_id")
    assert sorted(new["osm_id"]) == sorted(old.index)
    new = new.set_index("osm_id").loc[old.index]
    assert shapely.equals_exact(new.geometry.to_numpy(), old.geometry.to_numpy(), 1e-9).all()
    for col in [c for c in old.columns if c != "geometry"]:
        assert (new[col].fillna("-").astype(str) == old[col].fillna("-").astype(str)).all(), col
    a_new = classify(new.reset_index(), registry).sort_values("osm_id")[["osm_id", "category"]]
    a_old = classify(old.reset_index(), registry).sort_values("osm_id")[["osm_id", "category"]]
    pd.testing.assert_frame_equal(a_new.reset_index(drop=True), a_old.reset_index(drop=True))
    return len(a_new)


@pytest.mark.slow
@needs_shared
def test_amsterdam_features_equal_osmnx_features(tmp_path: Path) -> None:
    assert _assert_features_equal_osmnx(AMSTERDAM, tmp_path) > 100


def test_feature_geometries_follow_osmnx_rules(tmp_path: Path) -> None:
    # Closed ways: amenity -> polygon, highway=residential -> line, area=no -> line; a
    # multipolygon relation with an untagged outer and inner way; a node shop.
    sq = [(5.010, 52.010), (5.012, 52.010), (5.012, 52.012), (5.010, 52.012)]
    hole = [(5.0105, 52.0105), (5.0115, 52.0105), (5.0115, 52.0115), (5.0105, 52.0115)]
    nodes = {10 + i: (x, y, {}) for i, (x, y) in enumerate(sq)} | {
        20 + i: (x, y, {}) for i, (x, y) in enumerate(hole)
    }
    nodes |= _line_nodes(3) | {5: (5.001, 52.0, {"shop": "supermarket", "name": "Buurtsuper"})}
    nodes |= {30 + i: (x + 0.01, y, {}) for i, (x, y) in enumerate(sq)}
    ways = [
        (1, [1, 2, 3, 1], {"highway": "residential", "name": "Hofje"}),
        (2, [30, 31, 32, 33, 30], {"amenity": "pharmacy"}),
        (3, [30, 31, 32, 33, 30], {"leisure": "park", "area": "no"}),
        (5, [10, 11, 12, 13, 10], {}),
        (6, [20, 21, 22, 23, 20], {}),
    ]
    rel = (
        '<relation id="7" version="1"><member type="way" ref="5" role="outer"/>'
        '<member type="way" ref="6" role="inner"/><tag k="type" v="multipolygon"/>'
        '<tag k="landuse" v="construction"/><tag k="name" v="Bouwterrein"/></relation>'
    )
    path = tmp_path / "f.osm"
    path.write_text(_xml(nodes, ways, rel), encoding="utf-8")
    _assert_features_equal_osmnx(path, tmp_path)
    feats = osm.load_features(
        osm.extract(path, osm.feature_tag_filter(load_categories(None).osm_tags()), tmp_path / "cache"),
        {},
        RD,
    ).set_index("osm_id")
    assert feats.loc["way/1"].geometry.geom_type == "LineString"
    assert feats.loc["way/2"].geometry.geom_type == "Polygon"
    assert feats.loc["way/3"].geometry.geom_type == "LineString"
    assert len(feats.loc["relation/7"].geometry.interiors) == 1
    assert feats.loc["node/5", "name"] == "Buurtsuper"


def test_tag_values_with_opl_special_characters_survive_the_pass(tmp_path: Path) -> None:
    # Space, comma, '=', '%', '@', a newline and an Arabic letter are escaped in the OPL the
    # pass reads back; the features and the way tags must hold the values as the file has them.
    name = "Bakker & Zn, 100% vers = lekker @ hoek\nاسم"
    nodes = _line_nodes(3)
    nodes[9] = (5.001, LAT0, {"shop": "supermarket", "name": name})
    text = _xml(nodes, [(1, [1, 2, 3], {"highway": "footway", "name": name})])
    text = text.replace("&", "&amp;").replace("\n" + "اسم", "&#10;اسم")
    ext = _extract(tmp_path, text)
    feats = osm.load_features(ext, {}, RD).set_index("osm_id")
    assert feats.loc["node/9", "name"] == name
    assert osm.load_walk_ways(ext).way_tags["name"].tolist() == [name]


def test_stop_areas_are_read_with_the_cut(tmp_path: Path) -> None:
    nodes = _line_nodes(3)
    nodes[9] = (5.001, LAT0, {"highway": "bus_stop"})
    rel = (
        '<relation id="70" version="1"><member type="node" ref="9" role="platform"/>'
        '<member type="way" ref="1" role=""/><tag k="public_transport" v="stop_area"/></relation>'
        '<relation id="71" version="1"><member type="node" ref="9" role=""/>'
        '<tag k="public_transport" v="stop_area"/></relation>'
    )
    ext = _extract(tmp_path, _xml(nodes, [(1, [1, 2, 3], {"highway": "footway"})], rel))
    assert (ext.folder / osm.STOP_AREAS_FILE).exists()
    # A member of two stop areas belongs to the first in the file.
    assert osm.stop_areas(ext) == {"node/9": "relation/70", "way/1": "relation/70"}


def test_relations_are_read_from_the_relations_part_of_plain_xml(tmp_path: Path) -> None:
    from sitefinder.io import osmrelations

    rel = (
        '<relation id="7" version="1"><member type="way" ref="1" role="outer"/>'
        '<tag k="type" v="multipolygon"/><tag k="landuse" v="construction"/></relation>'
        '<relation id="8" version="1"><member type="node" ref="2" role=""/>'
        '<tag k="public_transport" v="stop_area"/></relation>'
    )
    with_rel = tmp_path / "r.osm"
    with_rel.write_text(_xml(_line_nodes(3), [(1, [1, 2, 3, 1], {})], rel), encoding="utf-8")
    assert not isinstance(osmrelations.relations_source(with_rel), str)

    def match(tags: object) -> bool:
        return True

    part = osmrelations.read_relations(with_rel, match)
    whole = osmrelations._read(str(with_rel), match)
    assert (
        part.features
        == whole.features
        == [(7, {"type": "multipolygon", "landuse": "construction"}, [("w", 1, "outer")])]
    )
    assert part.stop_areas == whole.stop_areas == {"node/2": "relation/8"}
    without = tmp_path / "n.osm"
    without.write_text(_xml(_line_nodes(3), []), encoding="utf-8")
    assert osmrelations.read_relations(without, match).features == []
    # Compressed files are read whole by libosmium.
    assert osmrelations.relations_source(tmp_path / "x.osm.gz") == str(tmp_path / "x.osm.gz")
