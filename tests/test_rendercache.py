"""The cache of rendered pieces: a hit equals a fresh drawing, a broken or old entry is rebuilt, a change misses."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS

from sitefinder.datatypes import NoiseGrid
from sitefinder.io.basemap import read_basemap
from sitefinder.pipeline import _write_noise_layer
from sitefinder.render.assets import asset
from sitefinder.render.basemap import LazyBasemap, basemap_block, offline_block
from sitefinder.render.map import NOISE_BREAKS, NOISE_COLOURS, classed_png
from sitefinder.rendercache import cached_file, cached_value
from tests.test_basemap import _osm_file

RD = CRS.from_epsg(28992)


def _entries(cache: Path, kind: str) -> list[Path]:
    folder = cache / "render" / kind
    return sorted(folder.iterdir()) if folder.exists() else []


class _Counter:
    """A compute function that counts its calls."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def test_value_is_reused_and_a_broken_or_old_entry_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    value = {"lines": ["_p~iF~ps|U"], "n": 3, "x": 0.1}
    compute = _Counter(value)
    assert cached_value(tmp_path, "map-basemap", "k1", compute) == value
    assert cached_value(tmp_path, "map-basemap", "k1", compute) == value
    assert compute.calls == 1
    # Another key misses.
    assert cached_value(tmp_path, "map-basemap", "k2", compute) == value
    assert compute.calls == 2
    # A file changed behind the cache's back: reported and made again, never trusted.
    (folder,) = [p for p in _entries(tmp_path, "map-basemap") if p.name == "k1"]
    text = (folder / "value.json").read_text("utf-8")
    (folder / "value.json").write_text(text.replace('"n":3', '"n":4'), "utf-8")  # same size, other content
    with caplog.at_level(logging.WARNING, logger="sitefinder"):
        assert cached_value(tmp_path, "map-basemap", "k1", compute) == value
    assert "does not match its recorded SHA-256" in caplog.text
    assert compute.calls == 3
    # An entry of another schema version is rebuilt too.
    entry = json.loads((folder / "entry.json").read_text("utf-8"))
    entry["schema"] = 0
    (folder / "entry.json").write_text(json.dumps(entry), "utf-8")
    assert cached_value(tmp_path, "map-basemap", "k1", compute) == value
    assert compute.calls == 4
    assert cached_value(tmp_path, "map-basemap", "k1", compute) == value
    assert compute.calls == 4
    # Without a cache folder nothing is kept.
    assert cached_value(None, "map-basemap", "k1", compute) == value
    assert compute.calls == 5


def test_file_is_copied_from_the_cache_and_nothing_to_write_is_remembered(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    calls: list[Path] = []

    def write(p: Path) -> Path:
        calls.append(p)
        p.write_bytes(b"GPKG\x00" + bytes(range(256)))
        return p

    first = cached_file(cache, "memo-basemap", "k", tmp_path / "a.gpkg", write)
    second = cached_file(cache, "memo-basemap", "k", tmp_path / "b.gpkg", write)
    assert first == tmp_path / "a.gpkg" and second == tmp_path / "b.gpkg"
    assert len(calls) == 1
    assert (tmp_path / "b.gpkg").read_bytes() == b"GPKG\x00" + bytes(range(256))
    # A background with nothing in the window writes no file, on a hit neither.
    nothing: list[int] = []
    assert (
        cached_file(cache, "memo-basemap", "empty", tmp_path / "c.gpkg", lambda p: nothing.append(1)) is None
    )
    assert (
        cached_file(cache, "memo-basemap", "empty", tmp_path / "d.gpkg", lambda p: nothing.append(1)) is None
    )
    assert nothing == [1] and not (tmp_path / "c.gpkg").exists() and not (tmp_path / "d.gpkg").exists()
    # A truncated cached file is caught by its recorded size and written again.
    (folder,) = [p for p in _entries(cache, "memo-basemap") if p.name == "k"]
    (folder / "data.bin").write_bytes(b"GPKG")
    cached_file(cache, "memo-basemap", "k", tmp_path / "e.gpkg", write)
    assert len(calls) == 2 and (tmp_path / "e.gpkg").read_bytes() == (tmp_path / "a.gpkg").read_bytes()


def _grid(shift: float = 0.0) -> tuple[np.ndarray, Affine]:
    rng = np.random.default_rng(1)
    values = rng.uniform(40.0, 80.0, size=(30, 40)).astype("float32") + np.float32(shift)
    values[:3, :3] = np.nan
    return values, Affine(10.0, 0.0, 140_000.0, 0.0, -10.0, 480_000.0)


def test_image_from_the_cache_equals_a_fresh_one(tmp_path: Path) -> None:
    values, transform = _grid()
    fresh = classed_png(values, transform, RD, NOISE_BREAKS, NOISE_COLOURS)
    first = classed_png(values, transform, RD, NOISE_BREAKS, NOISE_COLOURS, cache_dir=tmp_path)
    again = classed_png(values, transform, RD, NOISE_BREAKS, NOISE_COLOURS, cache_dir=tmp_path)
    assert first == fresh and again == fresh
    assert len(_entries(tmp_path, "map-image")) == 1
    # Other values, other classes or another place: other images, never the cached one.
    louder, _ = _grid(shift=5.0)
    assert classed_png(louder, transform, RD, NOISE_BREAKS, NOISE_COLOURS, cache_dir=tmp_path) == classed_png(
        louder, transform, RD, NOISE_BREAKS, NOISE_COLOURS
    )
    classed_png(values, transform, RD, NOISE_BREAKS[1:], NOISE_COLOURS[1:], cache_dir=tmp_path)
    moved = transform * Affine.translation(5, 0)
    _png, bounds = classed_png(values, moved, RD, NOISE_BREAKS, NOISE_COLOURS, cache_dir=tmp_path)
    assert bounds != fresh[1]
    assert len(_entries(tmp_path, "map-image")) == 4


def test_offline_background_is_drawn_once_per_content_and_bounds(tmp_path: Path) -> None:
    base = read_basemap(_osm_file(tmp_path), RD)
    bounds = tuple(float(v) for v in base.streets.total_bounds + np.array([-500.0, -500.0, 500.0, 500.0]))
    reads: list[int] = []

    def read() -> object:
        reads.append(1)
        return base

    cache = tmp_path / "cache"
    want = json.loads(json.dumps(basemap_block(base, RD, bounds)))
    assert offline_block(LazyBasemap("bm1", read), RD, bounds, cache) == want  # type: ignore[arg-type]
    assert offline_block(LazyBasemap("bm1", read), RD, bounds, cache) == want  # type: ignore[arg-type]
    assert len(reads) == 1, "a hit does not read the background"
    # Other bounds or another background (another key): drawn again.
    smaller = (bounds[0] + 400.0, bounds[1] + 400.0, bounds[2] - 400.0, bounds[3] - 400.0)
    assert offline_block(LazyBasemap("bm1", read), RD, smaller, cache) == json.loads(  # type: ignore[arg-type]
        json.dumps(basemap_block(base, RD, smaller))
    )
    offline_block(LazyBasemap("bm2", read), RD, bounds, cache)  # type: ignore[arg-type]
    assert len(reads) == 3
    # An empty background gives no layer, from the cache too.
    empty = type(base)(streets=base.streets.iloc[:0], areas=base.areas.iloc[:0])
    assert offline_block(LazyBasemap("none", lambda: empty), RD, bounds, cache) is None
    assert offline_block(LazyBasemap("none", read), RD, bounds, cache) is None
    assert len(reads) == 3
    assert offline_block(None, RD, bounds, cache) is None


def test_noise_geotiff_is_copied_for_the_same_grid_and_written_for_another(tmp_path: Path) -> None:
    values, transform = _grid()
    grid = NoiseGrid(lden=values, transform=transform, crs=RD, modelled=True, provenance={"model": "t"})
    cache = tmp_path / "cache"
    _write_noise_layer(grid, tmp_path / "a.tif", cache)
    _write_noise_layer(grid, tmp_path / "b.tif", cache)
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()
    with rasterio.open(tmp_path / "b.tif") as r:
        assert np.array_equal(r.read(1), values, equal_nan=True)
        assert r.tags()["MODELLED"] == "true"
    louder = NoiseGrid(lden=values + 3, transform=transform, crs=RD, modelled=True, provenance={"model": "t"})
    _write_noise_layer(louder, tmp_path / "c.tif", cache)
    with rasterio.open(tmp_path / "c.tif") as r:
        assert np.array_equal(r.read(1), values + 3, equal_nan=True)
    assert len(_entries(cache, "noise-geotiff")) == 2


def test_web_asset_from_the_cache_equals_the_package_copy(tmp_path: Path) -> None:
    url = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"
    shipped = asset(url)
    assert shipped is not None and "leaflet" in shipped
    assert asset(url, tmp_path) == shipped
    assert asset(url, tmp_path) == shipped
    assert asset("https://example.invalid/none.js", tmp_path) is None
    assert len(_entries(tmp_path, "web-asset")) == 2


def test_map_page_is_reused_for_the_same_inputs_and_drawn_for_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    import sitefinder.render.map as map_module
    from sitefinder.render.page import write_map
    from tests.test_map import synthetic_town

    town = replace(
        synthetic_town(n_side=3, n_amenities=20, draws=0),
        cache_dir=tmp_path / "cache",
        created="2026-12-02T06:00:00+00:00",
    )
    drawn: list[str] = []
    real = map_module.render_map

    def counting(inputs: object) -> str:
        drawn.append(inputs.title)  # type: ignore[attr-defined]
        return real(inputs)  # type: ignore[arg-type]

    monkeypatch.setattr(map_module, "render_map", counting)
    write_map(town, tmp_path / "a.html")
    write_map(town, tmp_path / "b.html")
    assert len(drawn) == 1
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert "<title>" in (tmp_path / "b.html").read_text("utf-8")
    # Another title, another day or another score: drawn again, never the cached page.
    write_map(replace(town, title="Andere titel"), tmp_path / "c.html")
    assert "Andere titel" in (tmp_path / "c.html").read_text("utf-8")
    write_map(replace(town, created="2030-01-02T10:00:00+00:00"), tmp_path / "d.html")
    assert "Stand 2030-01-02" in (tmp_path / "d.html").read_text("utf-8")
    changed = town.profiles[0].table.copy()
    score = f"score_{town.profiles[0].name}"
    changed.loc[changed.index[0], score] = 12.5 if changed[score].iloc[0] != 12.5 else 13.5
    write_map(replace(town, profiles=[replace(town.profiles[0], table=changed), *town.profiles[1:]]),
              tmp_path / "e.html")  # fmt: skip
    assert len(drawn) == 4
    # The same day at another time is the same page.
    write_map(replace(town, created="2026-12-02T23:59:59+00:00"), tmp_path / "f.html")
    assert len(drawn) == 4
    assert (tmp_path / "f.html").read_bytes() == (tmp_path / "a.html").read_bytes()
    # A page damaged in the cache is drawn again.
    for entry in _entries(tmp_path / "cache", "map-page"):
        (entry / "data.bin").write_bytes(b"<html></html>")
    write_map(town, tmp_path / "g.html")
    assert (tmp_path / "g.html").read_bytes() != b"<html></html>" and len(drawn) == 5


def test_cached_network_makes_its_edge_geometries_on_first_use(tmp_path: Path) -> None:
    import shapely

    from sitefinder.mobility import apply_factors
    from sitefinder.netcache import LazyGeometryNetwork, factored_network, load_network, save_network
    from sitefinder.network import WalkNetwork

    xy = np.array([[0.0, 0.0], [100.0, 0.0], [100.0, 50.0], [0.0, 80.0]])
    net = WalkNetwork(
        node_ids=np.arange(4), node_xy=xy, edge_u=np.array([0, 1, 2, 0]), edge_v=np.array([1, 2, 3, 3]),
        edge_len=np.array([100.0, 50.0, 104.4, 80.0]),
        edge_geom=shapely.linestrings([xy[[0, 1]], xy[[1, 2]], xy[[2, 3]], xy[[0, 3]]]),
    )  # fmt: skip
    save_network(net, tmp_path / "n.npz")
    back = load_network(tmp_path / "n.npz")
    assert isinstance(back, LazyGeometryNetwork)
    assert callable(back.__dict__["_edge_geom"]), "not made while loading"
    assert [g.wkt for g in back.edge_geom] == [g.wkt for g in net.edge_geom]
    assert back.edge_geom is back.edge_geom, "made once"
    assert np.array_equal(back.matrix.toarray(), net.matrix.toarray())
    factor = np.array([1.0, np.inf, 1.5, 2.0])
    lazy, plain = factored_network(back, factor), apply_factors(net, factor)
    for f in ("edge_u", "edge_v", "edge_len", "node_xy"):
        assert np.array_equal(getattr(lazy, f), getattr(plain, f)), f
    assert lazy.edge_len.tolist() == [100.0, 104.4 * 1.5, 160.0]
    assert [g.wkt for g in lazy.edge_geom] == [g.wkt for g in plain.edge_geom]
