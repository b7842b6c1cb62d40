"""The cache of what a run makes of the cut's features: a hit equals a fresh make, a broken entry is rebuilt, a change misses."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS

from sitefinder.categories import load_categories
from sitefinder.config import RunConfig
from sitefinder.featurecache import OsmProducts, cached_buildings, cached_products, make_products
from sitefinder.io import osm
from sitefinder.pipeline import load
from tests.tinytown import DLAT, DLON, LAT0, LON0, osm_xml, plots_frame

RD = CRS.from_epsg(28992)


def _town(root: Path) -> Path:
    """The tiny town plus a trunk road, a railway, two pubs, a building and a construction site."""

    def node(i: int, r: float, c: float, tags: str = "") -> str:
        return f"<node id='{i}' version='1' lat='{LAT0 + r * DLAT:.7f}' lon='{LON0 + c * DLON:.7f}'>{tags}</node>"

    extra = [
        node(2001, -0.5, 0.0), node(2002, -0.5, 5.0), node(2003, 5.5, 0.0), node(2004, 5.5, 5.0),
        node(2010, 2.2, 2.2, "<tag k='amenity' v='pub'/><tag k='name' v='De Kroeg'/>"),
        node(2011, 3.2, 1.2, "<tag k='amenity' v='bar'/>"),
        node(2021, 1.1, 1.1), node(2022, 1.1, 1.4), node(2023, 1.4, 1.4), node(2024, 1.4, 1.1),
        node(2031, 3.1, 3.1), node(2032, 3.1, 3.9), node(2033, 3.9, 3.9), node(2034, 3.9, 3.1),
    ]  # fmt: skip
    ways = (
        "<way id='9001' version='1'><nd ref='2001'/><nd ref='2002'/><tag k='highway' v='trunk'/></way>"
        "<way id='9002' version='1'><nd ref='2003'/><nd ref='2004'/><tag k='railway' v='rail'/></way>"
        "<way id='9003' version='1'><nd ref='2021'/><nd ref='2022'/><nd ref='2023'/><nd ref='2024'/>"
        "<nd ref='2021'/><tag k='building' v='house'/><tag k='building:levels' v='2'/></way>"
        "<way id='9004' version='1'><nd ref='2031'/><nd ref='2032'/><nd ref='2033'/><nd ref='2034'/>"
        "<nd ref='2031'/><tag k='landuse' v='construction'/><tag k='name' v='Bouwterrein'/></way>"
    )
    text = osm_xml(extra_nodes="\n".join(extra)).replace("</osm>", ways + "\n</osm>")
    root.mkdir(parents=True, exist_ok=True)
    path = root / "town.osm"
    path.write_text(text, encoding="utf-8")
    return path


def _cut(tmp_path: Path) -> tuple[osm.OsmExtract, dict[str, bool | list[str]]]:
    registry = load_categories()
    tag_filter = osm.feature_tag_filter(registry.osm_tags())
    return osm.extract(_town(tmp_path / "town"), tag_filter, tmp_path / "cache"), tag_filter


def _same(a: OsmProducts, b: OsmProducts) -> None:
    for name in ("amenities", "nuisance", "noise_lines", "candidates"):
        fa, fb = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(
            pd.DataFrame(fa.drop(columns="geometry")),
            pd.DataFrame(fb.drop(columns="geometry")),
            check_dtype=False,
        )
        assert fa.geometry.to_wkb().tolist() == fb.geometry.to_wkb().tolist(), name
        assert fa.crs == fb.crs
    assert a.n_features == b.n_features


def _counted_features(
    ext: osm.OsmExtract, tag_filter: dict[str, bool | list[str]]
) -> tuple[list[int], Callable[[], gpd.GeoDataFrame]]:
    """A features reader for ``cached_products`` and the list that counts its calls."""
    reads: list[int] = []

    def features() -> gpd.GeoDataFrame:
        reads.append(1)
        return osm.load_features(ext, tag_filter, RD)

    return reads, features


def test_products_are_reused_and_equal_a_fresh_make(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ext, tag_filter = _cut(tmp_path)
    registry = load_categories()
    reads, features = _counted_features(ext, tag_filter)

    fresh = make_products(osm.load_features(ext, tag_filter, RD), registry, osm.stop_areas(ext))
    # What the town holds, counted by hand: two pubs (nightlife), the trunk road and the
    # railway as nuisance lines, 12 streets + trunk + rail as lines, one construction site.
    assert sorted(fresh.amenities.loc[fresh.amenities["category"] == "nightlife", "osm_id"]) == [
        "node/2010", "node/2011",
    ]  # fmt: skip
    assert sorted(fresh.nuisance["kind"]) == ["major_road", "nightlife", "nightlife", "railway"]
    assert len(fresh.noise_lines) == 14
    assert fresh.candidates["plot_id"].tolist() == ["way-9004"]
    first = cached_products(tmp_path / "cache", ext, RD, registry, features)
    with caplog.at_level(logging.INFO, logger="sitefinder"):
        again = cached_products(tmp_path / "cache", ext, RD, registry, features)
    assert "reused from cache" in caplog.text
    assert reads == [1], "a hit reads no features"
    _same(fresh, first)
    _same(fresh, again)
    # Nothing is reprojected on a hit: the frames come back in the working CRS.
    assert again.amenities.crs == RD and again.nuisance.crs == RD


def test_broken_or_old_entry_is_rebuilt_and_a_changed_input_misses(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ext, tag_filter = _cut(tmp_path)
    registry = load_categories()
    reads, features = _counted_features(ext, tag_filter)

    base = cached_products(tmp_path / "cache", ext, RD, registry, features)
    (folder,) = (tmp_path / "cache" / "osm-products").iterdir()
    # A product file damaged behind the cache's back: reported and made again.
    raw = bytearray((folder / "amenities.parquet").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (folder / "amenities.parquet").write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="sitefinder"):
        again = cached_products(tmp_path / "cache", ext, RD, registry, features)
    assert "not used" in caplog.text and len(reads) == 2
    _same(base, again)
    # An entry of another schema version is never trusted.
    entry = json.loads((folder / "entry.json").read_text("utf-8"))
    entry["schema"] = 0
    (folder / "entry.json").write_text(json.dumps(entry), "utf-8")
    cached_products(tmp_path / "cache", ext, RD, registry, features)
    assert len(reads) == 3
    cached_products(tmp_path / "cache", ext, RD, registry, features)
    assert len(reads) == 3
    # Another working CRS or other categories: other products, in another entry.
    utm = CRS.from_epsg(32631)
    other = cached_products(
        tmp_path / "cache", ext, utm, registry, lambda: osm.load_features(ext, tag_filter, utm)
    )
    assert other.amenities.crs == utm
    toml = tmp_path / "cats.toml"
    toml.write_text('[nightlife]\nlabel = "Kroeg"\nmatch = [{ amenity = "pub" }]\n', "utf-8")
    fewer = cached_products(tmp_path / "cache", ext, RD, load_categories(toml), features)
    assert fewer.amenities["osm_id"].tolist() == ["node/2010"]
    assert len(list((tmp_path / "cache" / "osm-products").iterdir())) == 3


def test_buildings_are_cached_in_the_working_crs(tmp_path: Path) -> None:
    ext, _ = _cut(tmp_path)
    fresh = osm.load_buildings(ext, RD)
    first = cached_buildings(tmp_path / "cache", ext, RD)
    again = cached_buildings(tmp_path / "cache", ext, RD)
    assert again.crs == RD
    for frame in (first, again):
        # The house, and the construction site as an area without a building tag.
        assert frame["osm_id"].tolist() == ["way/9003", "way/9004"]
        assert frame["building"].fillna("-").tolist() == ["house", "-"]
        assert frame.geometry.to_wkb().tolist() == fresh.geometry.to_wkb().tolist()
    assert len(list((tmp_path / "cache" / "osm-buildings").iterdir())) == 1


def test_a_warm_load_equals_a_cold_one(tmp_path: Path) -> None:
    osm_path = _town(tmp_path / "town")
    plots = tmp_path / "plots.gpkg"
    plots_frame().to_file(plots, layer="plots")
    registry = load_categories()

    def run(cache: Path, plots_file: Path | None) -> object:
        cfg = RunConfig(osm_file=osm_path, plots_file=plots_file, cache_dir=cache, out_dir=tmp_path / "o")
        return load(cfg, registry)

    for plots_file in (plots, None):  # None: the candidate plots of the OSM data
        cold = run(tmp_path / f"cache-{plots_file is None}", plots_file)
        warm = run(tmp_path / f"cache-{plots_file is None}", plots_file)
        plain = run(tmp_path / f"plain-{plots_file is None}", plots_file)
        for a in (warm, plain):
            for name in ("plots", "amenities", "nuisance"):
                fa, fb = getattr(cold, name), getattr(a, name)
                pd.testing.assert_frame_equal(
                    pd.DataFrame(fa.drop(columns="geometry")), pd.DataFrame(fb.drop(columns="geometry"))
                )
                assert fa.geometry.to_wkb().tolist() == fb.geometry.to_wkb().tolist()
        assert cold.noise is not None and warm.noise is not None  # type: ignore[attr-defined]
        for other in (warm, plain):
            assert np.array_equal(cold.noise.lden, other.noise.lden, equal_nan=True)  # type: ignore[attr-defined]
