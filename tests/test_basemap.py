"""Backgrounds: the offline drawing read from the run's OSM file, the PDOK and OSM tile choices, --tiles."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pyproj import CRS, Transformer

from sitefinder.errors import ConfigError
from sitefinder.io.basemap import Basemap, read_basemap
from sitefinder.presets import TILE_NAMES, parse_tiles
from sitefinder.render.basemap import TILE_SERVICES, LazyBasemap, basemap_block, offline_block
from sitefinder.render.map import render_map
from tests.test_map import ORIGIN, _data, synthetic_town

OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
{nodes}
<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>
<way id="2"><nd ref="2"/><nd ref="3"/><tag k="highway" v="footway"/></way>
<way id="3"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="11"/><tag k="building" v="yes"/></way>
<way id="4"><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="24"/><nd ref="21"/><tag k="natural" v="water"/></way>
<way id="5"><nd ref="31"/><nd ref="32"/><nd ref="33"/><nd ref="34"/><nd ref="31"/><tag k="leisure" v="park"/></way>
<way id="6"><nd ref="3"/><nd ref="1"/><tag k="waterway" v="canal"/></way>
<way id="7"><nd ref="1"/><nd ref="3"/><tag k="amenity" v="bench"/></way>
</osm>
"""


def _osm_file(tmp_path: Path, lat0: float = 52.37, lon0: float = 5.21) -> Path:
    d = 0.0005
    pts = {1: (0, 0), 2: (0, 4), 3: (4, 4)}
    for base, (r, c) in ((11, (1, 1)), (21, (5, 5)), (31, (8, 1))):
        pts |= {base: (r, c), base + 1: (r, c + 1), base + 2: (r + 1, c + 1), base + 3: (r + 1, c)}
    nodes = "\n".join(
        f'<node id="{k}" lat="{lat0 + r * d:.6f}" lon="{lon0 + c * d:.6f}"/>' for k, (r, c) in pts.items()
    )
    path = tmp_path / "mini.osm"
    path.write_text(OSM.format(nodes=nodes), encoding="utf-8")
    return path


def test_read_basemap_sorts_streets_water_buildings_and_green(tmp_path: Path) -> None:
    b = read_basemap(_osm_file(tmp_path), CRS.from_epsg(28992))
    assert sorted(b.streets["kind"]) == ["major", "path", "water"]
    assert sorted(b.areas["kind"]) == ["building", "green", "water"]
    assert b.streets.crs.to_epsg() == 28992
    building = b.areas.loc[b.areas["kind"] == "building"].geometry.iloc[0]
    # 0.0005 degrees is 55.6 m north-south and 55.6 m * cos(52.37) = 34.0 m east-west: 1,890 m².
    assert building.area == pytest.approx(1890, rel=0.03)
    block = basemap_block(
        b, CRS.from_epsg(28992), tuple(b.streets.total_bounds + np.array([-500.0, -500.0, 500.0, 500.0]))
    )
    assert len(block["lines"]["major"]) == 1 and len(block["lines"]["waterline"]) == 1
    assert len(block["areas"]["building"]) == 1 and len(block["areas"]["water"]) == 1


def test_drawing_a_lazy_background_lets_it_go(tmp_path: Path) -> None:
    # The map needs only the drawing: the background's geometries are released after it,
    # and read again (the same) when something else asks for them.
    rd = CRS.from_epsg(28992)
    path = _osm_file(tmp_path)
    reads: list[int] = []

    def read() -> Basemap:
        reads.append(1)
        return read_basemap(path, rd)

    lazy = LazyBasemap("k", read)
    first = lazy.get()
    bounds = tuple(first.streets.total_bounds + np.array([-500.0, -500.0, 500.0, 500.0]))
    for cache in (None, tmp_path / "cache"):
        block = offline_block(lazy, rd, bounds, cache)
        assert block == basemap_block(first, rd, bounds)
        assert lazy._loaded == []
    assert len(reads) == 2  # the first get(); the second drawing read it again after the release
    assert lazy.get().areas.geometry.equals(first.areas.geometry)


def test_parse_tiles_names_and_errors() -> None:
    assert parse_tiles("offline,brt-grijs") == ("offline", "brt-grijs")
    assert parse_tiles("none") == ()
    assert parse_tiles(" BRT , luchtfoto ") == ("brt", "luchtfoto")
    with pytest.raises(ConfigError, match=r"unknown background google.*offline, brt-grijs"):
        parse_tiles("google")


def test_pdok_backgrounds_are_offered_by_name() -> None:
    town = synthetic_town(n_side=2, n_amenities=8, draws=0)
    page = render_map(replace(town, tiles="brt-grijs,brt,luchtfoto,osm"))
    for name in ("brt-grijs", "brt", "luchtfoto", "osm"):
        assert TILE_SERVICES[name].url in page
        assert TILE_SERVICES[name].title in page
    assert "service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/grijs/EPSG:3857" in page
    none = render_map(replace(town, tiles="none"))
    assert "service.pdok.nl" not in none and "tile.openstreetmap.org" not in none


def test_offline_background_is_embedded(tmp_path: Path) -> None:
    town = synthetic_town(n_side=2, n_amenities=8, draws=0)
    lon0, lat0 = Transformer.from_crs(town.plots.crs, 4326, always_xy=True).transform(*ORIGIN)
    b = read_basemap(_osm_file(tmp_path, lat0, lon0), town.plots.crs)
    page = render_map(replace(town, tiles="offline,osm", basemap=b))
    data = _data(page)
    assert data["basemap"]["lines"]["major"], "streets embedded in the page"
    assert "Eigen kaart uit de OSM-gegevens (offline)" in page


def test_bad_tiles_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from sitefinder.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["run", "--osm", "x.osm", "--tiles", "satelliet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "satelliet" in err and "brt-grijs" in err


def test_one_default_for_the_backgrounds() -> None:
    from sitefinder.commands.run import DEFAULT_TILES as CLI_DEFAULT
    from sitefinder.config import RunConfig
    from sitefinder.presets import DEFAULT_TILES

    assert CLI_DEFAULT == DEFAULT_TILES == RunConfig.model_fields["map_tiles"].default
    # The names the configuration accepts are the services the renderer draws.
    assert tuple(TILE_SERVICES) == TILE_NAMES


def test_basemap_is_cached_and_a_broken_entry_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from sitefinder.io.basemapcache import cached_basemap

    src = _osm_file(tmp_path)
    rd = CRS.from_epsg(28992)
    first = cached_basemap(tmp_path / "cache", src, "sha-a", rd)
    with caplog.at_level(logging.INFO):
        again = cached_basemap(tmp_path / "cache", src, "sha-a", rd)
    assert "reused from cache" in caplog.text
    assert again.streets["kind"].tolist() == first.streets["kind"].tolist()
    assert all(again.areas.geometry.geom_equals_exact(first.areas.geometry, 1e-9))
    assert again.streets.crs == rd
    (entry,) = (tmp_path / "cache" / "basemap").iterdir()
    (entry / "areas.parquet").write_bytes(b"broken")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        rebuilt = cached_basemap(tmp_path / "cache", src, "sha-a", rd)
    assert "not used" in caplog.text and "reused from cache" not in caplog.text
    assert sorted(rebuilt.areas["kind"]) == ["building", "green", "water"]
    # Another source (or CRS) is another entry.
    cached_basemap(tmp_path / "cache", src, "sha-b", rd)
    assert len(list((tmp_path / "cache" / "basemap").iterdir())) == 2


def test_budgeted_encoding_keeps_the_largest_that_fit_in_their_order() -> None:
    import shapely
    import shapely.affinity

    from sitefinder.render import basemap as bm
    from sitefinder.render.mapdata import encode_polyline, simplify_m, to_wgs84

    rng = np.random.default_rng(3)
    rd = CRS.from_epsg(28992)
    # 5,000 buildings of random size (more than two chunks), most of them left out by the budget.
    x, y = 150_000 + rng.uniform(0, 3000, 5000), 450_000 + rng.uniform(0, 3000, 5000)
    w = rng.uniform(3, 40, 5000)
    parts = shapely.box(x, y, x + w, y + w * rng.uniform(0.5, 2, 5000))
    sizes = shapely.area(parts)
    # Reference: encode every one, then keep the largest while the running total fits.
    every = [[encode_polyline(np.asarray(r.coords)[:, ::-1]) for r in (p.exterior, *p.interiors)]
             for p in to_wgs84(parts, rd)]  # fmt: skip
    lengths = np.array([sum(len(r) + 3 for r in e) + 3 for e in every])
    order = np.argsort(-sizes, kind="stable")
    budget = 60_000
    keep = sorted(order[np.cumsum(lengths[order]) <= budget].tolist())
    # The parts come as WKB (made into geometries a chunk at a time).
    wkb = shapely.to_wkb(parts)
    got = bm._encode_within_budget(wkb, sizes, rd, bm._encode_polygon, budget)
    assert 0 < len(keep) < 5000 and got == [every[i] for i in keep]
    assert bm._encode_within_budget(wkb, sizes, rd, bm._encode_polygon, None) == every
    # Simplified in chunks as WKB: the same parts and sizes as all at once as geometries.
    rotated = shapely.MultiPolygon([shapely.affinity.rotate(p, 17) for p in parts[:3]])
    geoms = np.array([*(shapely.affinity.rotate(p, 17) for p in parts), rotated], dtype=object)
    plain = shapely.get_parts(simplify_m(geoms, 1.5))
    blobs, blob_sizes = bm._simplified(geoms, 1.5, lambda p: shapely.get_type_id(p) == 3, shapely.area)
    assert len(plain) == 5003 and shapely.to_wkb(plain).tolist() == blobs.tolist()
    np.testing.assert_array_equal(shapely.area(plain), blob_sizes)


def test_many_polylines_encode_as_one_at_a_time() -> None:
    from sitefinder.render.mapdata import encode_polyline, encode_polylines

    rng = np.random.default_rng(7)
    lines = [rng.uniform(-90, 90, (int(n), 2)) * rng.choice([1e-5, 1.0]) for n in rng.integers(0, 12, 500)]
    lines += [np.zeros((0, 2)), np.array([[0.0, 0.0]]), np.array([[52.1, 5.2], [52.1, 5.2]])]
    assert encode_polylines(lines) == [encode_polyline(a) for a in lines]
    # Google's documented example, split over two lines (each starts from zero).
    assert encode_polylines([np.array([[38.5, -120.2]]), np.array([[40.7, -120.95]])]) == [
        "_p~iF~ps|U",
        encode_polyline(np.array([[40.7, -120.95]])),
    ]
    assert encode_polylines([]) == []


#: A square lake of two outer ways (1, 2), a closed way tagged building=no and natural=water
#: (3) and a tagged node, on a grid of 0.0005° steps; the tests add their own ways.
_LAKE_POINTS = {1: (0, 0), 2: (0, 3), 3: (3, 3), 4: (3, 0), 5: (5, 5), 6: (5, 6), 7: (6, 6), 8: (6, 5)}
_LAKE_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
{nodes}
<node id="9" lat="52.371" lon="5.211"><tag k="amenity" v="bench"/></node>
<way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/></way>
<way id="2"><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>
<way id="3"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/><tag k="building" v="no"/><tag k="natural" v="water"/></way>
"""
_LAKE_RELATION = (
    '<relation id="1"><member type="way" ref="1" role="outer"/><member type="way" ref="2" role="outer"/>'
    '<tag k="type" v="multipolygon"/><tag k="natural" v="water"/></relation>\n'
)


def _nodes(pts: dict[int, tuple[int, int]], digits: int) -> str:
    d = 0.0005
    return "\n".join(
        f'<node id="{k}" lat="{52.37 + r * d:.{digits}f}" lon="{5.21 + c * d:.{digits}f}"/>'
        for k, (r, c) in pts.items()
    )


def test_read_basemap_takes_multipolygons_and_skips_undrawn_objects(tmp_path: Path) -> None:
    # A lake as a multipolygon relation (untagged member ways), a closed way with building=no
    # and natural=water (water, not a building), a tagged node and an untagged way (not drawn).
    xml = _LAKE_HEAD.format(nodes=_nodes(_LAKE_POINTS, 6)) + (
        '<way id="4"><nd ref="1"/><nd ref="5"/><tag k="barrier" v="fence"/></way>\n'
        + _LAKE_RELATION
        + "</osm>\n"
    )
    path = tmp_path / "lake.osm"
    path.write_text(xml, encoding="utf-8")
    b = read_basemap(path, CRS.from_epsg(28992))
    assert len(b.streets) == 0
    assert sorted(b.areas["kind"]) == ["water", "water"]
    # The lake: 3 x 3 steps of 55.6 m by 34.0 m, about 17,000 m².
    assert max(b.areas.area) == pytest.approx(9 * 1890, rel=0.03)


_CUT_XML = (
    _LAKE_HEAD
    + """<way id="4"><nd ref="1"/><nd ref="1"/><nd ref="5"/><nd ref="5"/><nd ref="6"/><tag k="highway" v="residential"/></way>
<way id="5"><nd ref="2"/><nd ref="999"/><nd ref="3"/><tag k="highway" v="footway"/></way>
<way id="6"><nd ref="4"/><nd ref="4"/><tag k="highway" v="service"/></way>
<way id="7"><nd ref="6"/><nd ref="7"/><tag k="highway" v="motorway"/></way>
<way id="8"><nd ref="8"/><nd ref="2"/><tag k="waterway" v="ditch"/></way>
<way id="9"><nd ref="8"/><nd ref="3"/><tag k="waterway" v="dam"/></way>
<way id="10"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="11"/></way>
<way id="11"><nd ref="1"/><nd ref="4"/><tag k="barrier" v="fence"/></way>
"""
    + _LAKE_RELATION
    + """<relation id="2"><member type="way" ref="10" role="outer"/><tag k="type" v="multipolygon"/><tag k="building" v="yes"/></relation>
</osm>
"""
)


def _cut_file(tmp_path: Path) -> Path:
    pts = _LAKE_POINTS | {11: (8, 8), 12: (8, 9), 13: (9, 9)}
    path = tmp_path / "cut.osm"
    path.write_text(_CUT_XML.format(nodes=_nodes(pts, 7)), encoding="utf-8")
    return path


def _assert_same_background(a: object, b: object) -> None:
    for frame in ("streets", "areas"):
        fa, fb = getattr(a, frame), getattr(b, frame)
        assert fa["kind"].tolist() == fb["kind"].tolist()
        assert fa.crs == fb.crs
        assert bool(
            fa.geometry.reset_index(drop=True).geom_equals_exact(fb.geometry.reset_index(drop=True), 0).all()
        )


@pytest.mark.parametrize("which", ["synthetic", "amsterdam"])
def test_the_cut_collects_the_background_the_file_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    import geopandas as gpd

    from sitefinder.io import basemapcache, osm

    if which == "amsterdam":
        src = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm" / "amsterdam-centrum.osm.gz"
        if not src.is_file():
            pytest.skip("the Amsterdam extract is not here")
    else:
        src = _cut_file(tmp_path)
    rd = CRS.from_epsg(28992)
    cache = tmp_path / "cache"
    ext = osm.extract(src, osm.feature_tag_filter({"amenity": ["bench"]}), cache)
    direct = read_basemap(src, rd)

    def no_xml(*_: object) -> None:
        raise AssertionError("the background was read from the OSM file again")

    monkeypatch.setattr(basemapcache, "read_basemap", no_xml)
    from_cut = basemapcache.cached_basemap(cache, src, ext.sha256, rd)
    _assert_same_background(from_cut, direct)
    assert len(from_cut.streets) and len(from_cut.areas)
    if which == "synthetic":
        # Way 4 without its repeated nodes, way 5 (a node not in the file) and way 6 (one
        # distinct node) not drawn, the dam not drawn; the lake relation drawn as water.
        assert direct.streets["kind"].tolist() == ["local", "major", "water"]
        assert sorted(direct.areas["kind"]) == ["building", "water", "water"]
        assert len(from_cut.streets.geometry.iloc[0].coords) == 3
        # The cut's buildings stay what they were: tagged closed ways and building relations,
        # not the lake relation the background now also assembles.
        ids = gpd.read_parquet(ext.buildings_path)["osm_id"].tolist()
        assert sorted(ids) == ["relation/2", "way/3"]
    # A broken background entry of the cut is not trusted: the file is read instead.
    monkeypatch.undo()
    (folder,) = (cache / "osm-background").iterdir()
    (folder / "streets.parquet").write_bytes(b"broken")
    assert basemapcache.cut_basemap(cache, ext.sha256, rd) is None
    _assert_same_background(basemapcache.cached_basemap(cache, src, ext.sha256, rd), direct)
