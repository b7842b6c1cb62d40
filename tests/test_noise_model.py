"""The modelled road and rail noise map: emission, propagation, grid model, GeoTIFF writer."""

from __future__ import annotations

import gzip
import json
import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS

from sitefinder.datatypes import NoiseGrid
from sitefinder.errors import ConfigError, CRSError, DataValidationError
from sitefinder.noisemodel import (
    DEFAULT_ROAD_CLASSES,
    PROVENANCE_TAG,
    NoiseModelParams,
    RoadClassDefaults,
    model_lden,
    noise_sources_from_osm,
    parse_lanes,
    parse_speed_kmh,
    road_vehicle_power_db,
    write_noise_geotiff,
)
from sitefinder.noisemodel.cnossos_tables import EXACT_MIDBAND_HZ, OCTAVE_BANDS_HZ
from sitefinder.noisemodel.emission import road_reference_spectrum
from sitefinder.noisemodel.grid import sample_lines
from sitefinder.noisemodel.propagation import air_absorption_db_per_km, transfer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
AMSTERDAM = SHARED / "osm" / "amsterdam-centrum.osm.gz"
RD = 28992

#: Only divergence and the hard-ground reflection: the textbook line source.
BARE = NoiseModelParams(
    ground_factor=0.0,
    favourable_day=0.0,
    favourable_evening=0.0,
    favourable_night=0.0,
    air_absorption=False,
    floor_db=0.0,
)


def _lines(geoms: list[shapely.Geometry], **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=RD)


def _road(y: float = 5.0, x0: float = -20_000.0, x1: float = 20_000.0) -> shapely.LineString:
    """A straight east-west road along a row of cell centres (10 m cells on a 10 m lattice)."""
    return shapely.LineString([(x0, y), (x1, y)])


def _level_at(grid: NoiseGrid, x: float, y: float, band: str = "lden") -> float:
    col, row = ~grid.transform @ (x, y)
    values = grid.lden if band == "lden" else grid.lnight
    assert values is not None
    return float(values[int(row), int(col)])


def _line_level(lw: float, r: float, params: NoiseModelParams, half_length: float) -> float:
    """Analytic level of a straight line source of LW' per metre, length 2 x half_length, hard ground."""
    dz = params.receiver_height_m - params.road_source_height_m
    d = math.hypot(r, dz)
    reach = min(half_length, math.sqrt(params.max_distance_m**2 - r**2))
    # ∫ W' / (4π (x² + d²)) dx from -reach to reach, +3 dB for the hard-ground reflection
    return lw + 3.0 + 10 * math.log10(math.atan(reach / d) / (2 * math.pi * d))


# --- emission -----------------------------------------------------------------------------


def test_vehicle_power_rises_with_speed_and_weight() -> None:
    totals = 10 * np.log10((10 ** (road_vehicle_power_db([30.0, 50.0, 100.0]) / 10)).sum(axis=2))
    assert (np.diff(totals, axis=0) > 0).all()  # louder with speed, every category
    assert (totals[:, 2] > totals[:, 0] + 4).all()  # heavy vehicles are much louder


def test_emission_scales_with_flow_speed_lanes_and_oneway() -> None:
    geoms = [_road(y) for y in (0.0, 100.0, 200.0, 300.0, 400.0)]
    lines = _lines(
        geoms,
        highway=["primary", "primary", "primary", "primary", "primary"],
        maxspeed=[None, "30", None, None, "NL:urban"],
        lanes=[None, None, "4", None, np.nan],
        oneway=[None, None, None, "yes", "no"],
    )
    src = noise_sources_from_osm(lines, NoiseModelParams())
    assert list(src["kind"]) == ["road"] * 5
    base = src.loc[0, "lw_den"]
    assert src.loc[0, "flow_per_day"] == DEFAULT_ROAD_CLASSES["primary"].aadt
    assert src.loc[1, "speed_kmh"] == 30 and src.loc[1, "lw_den"] < base
    assert src.loc[2, "flow_per_day"] == pytest.approx(2 * src.loc[0, "flow_per_day"])
    assert src.loc[2, "lw_den"] - base == pytest.approx(10 * math.log10(2), abs=1e-9)
    assert src.loc[3, "flow_per_day"] == pytest.approx(0.5 * src.loc[0, "flow_per_day"])
    assert src.loc[4, "lw_den"] == pytest.approx(base)
    # Lden weights: night and evening penalties lift lw_den above the day level here.
    assert (src["lw_den"] > src["lw_day"]).all()
    assert (src["lw_night"] < src["lw_evening"]).all() and (src["lw_evening"] < src["lw_day"]).all()


def test_sources_skip_tunnels_paths_points_and_split_tram_streets() -> None:
    lines = _lines(
        [
            _road(0.0),
            _road(50.0),
            _road(100.0),
            _road(150.0),
            shapely.Point(0, 0),
            shapely.box(0, 0, 10, 10),
            _road(200.0),
        ],
        highway=[
            "tertiary",
            "tertiary",
            "footway",
            ["residential", "service"],
            "bus_stop",
            "pedestrian",
            "tertiary",
        ],
        railway=[None, None, None, None, None, None, "tram"],
        tunnel=[None, "yes", None, None, None, None, "building_passage"],
    )
    src = noise_sources_from_osm(lines)
    assert sorted(zip(src["kind"], src["source_class"], strict=True)) == [
        ("rail", "tram"),
        ("road", "residential"),
        ("road", "tertiary"),
        ("road", "tertiary"),
    ]
    assert src.crs == lines.crs
    assert set(src["osm_ref"]) == {"0", "3", "6"}


def test_sources_from_nothing_is_an_empty_frame() -> None:
    lines = _lines([_road()], highway=["cycleway"])
    src = noise_sources_from_osm(lines)
    assert len(src) == 0 and {"kind", "lw_den", "lw_night"} <= set(src.columns)
    grid = model_lden(src, (0, 0, 100, 100), RD)
    assert np.all(grid.lden == NoiseModelParams().floor_db)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        (30, 30.0),
        ("NL:urban", 50.0),
        ("NL:rural", 80.0),
        ("NL:zone30", 30.0),
        ("20 mph", 32.2),
        ("30;50", 50.0),
        (["30", "50"], 50.0),
        ("walk", 7.0),
        ("none", None),
        ("signals", None),
        (None, None),
        (float("nan"), None),
        ("0", None),
    ],
)
def test_parse_speed(value: object, expected: float | None) -> None:
    assert parse_speed_kmh(value) == expected


def test_parse_lanes() -> None:
    assert [parse_lanes(v) for v in ("2", "1;2", ["2", "3"], "x", None, "0")] == [
        2.0,
        2.0,
        3.0,
        None,
        None,
        None,
    ]


def test_sources_need_a_projected_crs() -> None:
    lines = _lines([_road()], highway=["primary"]).to_crs(4326)
    with pytest.raises(CRSError, match="geographic"):
        noise_sources_from_osm(lines)
    with pytest.raises(CRSError, match="no CRS"):
        noise_sources_from_osm(lines.set_crs(None, allow_override=True))


# --- parameters ---------------------------------------------------------------------------


def test_params_overlay_partial_class_tables() -> None:
    p = NoiseModelParams.from_mapping(
        {"road_classes": {"primary": {"aadt": 9000}, "track": {"aadt": 20, "speed_kmh": 30}}}
    )
    assert p.road_classes["primary"] == RoadClassDefaults(
        **{**vars(DEFAULT_ROAD_CLASSES["primary"]), "aadt": 9000}
    )
    assert p.road_classes["track"].aadt == 20
    assert p.road_classes["motorway"] == DEFAULT_ROAD_CLASSES["motorway"]
    assert json.loads(json.dumps(p.model_dump(mode="json")))["road_classes"]["primary"]["aadt"] == 9000


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"resolution": 5}, "resolution"),
        ({"ground_factor": 2}, "ground_factor"),
        ({"road_classes": {"primary": {"volume": 1}}}, "unknown field"),
        ({"road_classes": {"primary": {"day_share": 0.9}}}, "sum to 1"),
        ({"road_classes": {"track": {"aadt": 20}}}, "all required fields"),
        ({"resolution_m": 10, "max_distance_m": 15}, "two cells"),
    ],
)
def test_params_errors_name_the_key(data: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        NoiseModelParams.from_mapping(data, where="region.toml [noise]")


# --- propagation --------------------------------------------------------------------------


def test_air_absorption_matches_iso_9613_table() -> None:
    # ISO 9613-2 Table 2, 10 °C and 70 % relative humidity, dB/km.
    table = np.array([0.1, 0.4, 1.0, 1.9, 3.7, 9.7, 32.8, 117.0])
    got = air_absorption_db_per_km(OCTAVE_BANDS_HZ, 10.0, 70.0)
    np.testing.assert_allclose(got, table, rtol=0.03, atol=0.05)


def test_line_source_falls_3db_per_doubling_of_distance() -> None:
    src = noise_sources_from_osm(_lines([_road()], highway=["primary"]), BARE)
    grid = model_lden(src, (-1000, -500, 1000, 500), RD, BARE)
    levels = {r: _level_at(grid, 5.0, 5.0 + r) for r in (20, 40, 80, 160)}
    for near, far in ((20, 40), (40, 80), (80, 160)):
        assert levels[near] - levels[far] == pytest.approx(3.0, abs=0.5)
        assert _level_at(grid, 5.0, 5.0 - far) == pytest.approx(levels[far], abs=1e-3)
    for r, level in levels.items():  # and the absolute level is the textbook one
        assert level == pytest.approx(_line_level(src.loc[0, "lw_den"], r, BARE, 20_000), abs=0.3)


def test_ground_and_air_make_levels_fall_faster() -> None:
    params = NoiseModelParams(floor_db=0.0, ground_factor=1.0)
    src = noise_sources_from_osm(_lines([_road()], highway=["primary"]), params)
    grid = model_lden(src, (-1000, -1000, 1000, 1000), RD, params)
    bare = model_lden(src, (-1000, -1000, 1000, 1000), RD, BARE)
    drop = _level_at(grid, 5, 45) - _level_at(grid, 5, 645)
    bare_drop = _level_at(bare, 5, 45) - _level_at(bare, 5, 645)
    assert drop > bare_drop + 2


def test_two_equal_sources_add_3db() -> None:
    one = noise_sources_from_osm(_lines([_road()], highway=["secondary"]), BARE)
    two = noise_sources_from_osm(_lines([_road(), _road()], highway=["secondary"] * 2), BARE)
    bounds = (-500, -300, 500, 300)
    g1, g2 = model_lden(one, bounds, RD, BARE), model_lden(two, bounds, RD, BARE)
    np.testing.assert_allclose(g2.lden - g1.lden, 10 * math.log10(2), atol=0.01)
    # Two parallel roads 100 m either side of a receiver: +3 dB over one of them.
    pair = noise_sources_from_osm(_lines([_road(105.0), _road(-95.0)], highway=["secondary"] * 2), BARE)
    single = noise_sources_from_osm(_lines([_road(105.0)], highway=["secondary"]), BARE)
    gp, gs = model_lden(pair, bounds, RD, BARE), model_lden(single, bounds, RD, BARE)
    assert _level_at(gp, 5, 5) - _level_at(gs, 5, 5) == pytest.approx(3.0, abs=0.2)


def test_sources_outside_the_bounds_still_count() -> None:
    src = noise_sources_from_osm(_lines([_road(305.0)], highway=["primary"]), BARE)
    grid = model_lden(src, (-200, -200, 200, 200), RD, BARE.model_copy(update={"floor_db": 35}))
    assert grid.lden.min() > 50  # the road is 100-500 m north of the whole grid
    assert grid.lden[0].mean() > grid.lden[-1].mean()


def test_fft_model_matches_direct_summation() -> None:
    rng = np.random.default_rng(7)
    pts = rng.uniform(-400, 400, size=(12, 2, 2))
    lines = _lines(
        [shapely.LineString(p) for p in pts],
        highway=rng.choice(["primary", "residential", "tertiary"], size=12).tolist(),
    )
    params = NoiseModelParams(floor_db=0.0)
    src = noise_sources_from_osm(lines, params)
    grid = model_lden(src, (-300, -300, 300, 300), RD, params)

    # Direct summation of the same point sources (no rasterising) at a few receivers.
    xy, length, idx = sample_lines(src.geometry.to_numpy(), 1.0)
    # Lden with the default per-period favourable probabilities 0.5 / 0.75 / 1.0.
    power = 10 ** (src[["lw_day", "lw_evening", "lw_night"]].to_numpy() / 10)
    weights = np.array([0.5, 4 / 24 * 10**0.5, 8 / 24 * 10])
    p_fav = np.array([0.5, 0.75, 1.0])
    e_f, e_h = power @ (weights * p_fav), power @ (weights * (1 - p_fav))
    spectrum = road_reference_spectrum()
    alpha = (
        air_absorption_db_per_km(EXACT_MIDBAND_HZ, params.air_temperature_c, params.relative_humidity_pct)
        / 1000
    )
    rows, cols = np.meshgrid(np.arange(3, 60, 7), np.arange(3, 60, 7), indexing="ij")
    cx, cy = grid.transform @ (cols.ravel() + 0.5, rows.ravel() + 0.5)
    tree = shapely.STRtree(src.geometry.to_numpy())
    _, dist = tree.query_nearest(shapely.points(cx, cy), return_distance=True)
    diffs = []
    for x, y, d in zip(cx, cy, dist, strict=True):
        if d < 20:  # next to a road the cell average and the point value differ by design
            continue
        r = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
        kw = {"z_s": 0.05, "z_r": 4.0, "ground_factor": 0.5, "alpha_db_per_m": alpha}
        t = {fav: transfer(r, spectrum, favourable=fav, **kw) for fav in (False, True)}
        energy = ((e_f[idx] * t[True] + e_h[idx] * t[False]) * length)[r <= 2000].sum()
        diffs.append(_level_at(grid, x, y) - 10 * math.log10(energy))
    assert len(diffs) > 40
    assert np.abs(diffs).max() < 0.6
    assert abs(float(np.mean(diffs))) < 0.2


# --- the grid -----------------------------------------------------------------------------


def test_model_lden_grid_and_provenance() -> None:
    src = noise_sources_from_osm(
        _lines([_road(), _road(-200.0)], highway=["primary", None], railway=[None, "rail"])
    )
    grid = model_lden(src, (-101, -203, 99.5, 204), "EPSG:28992")
    assert grid.modelled is True
    assert grid.crs == CRS.from_epsg(RD)
    assert grid.resolution == 10.0
    assert grid.bounds == (-110.0, -210.0, 100.0, 210.0)  # snapped outward to whole cells
    assert grid.lden.dtype == np.float32 and grid.lnight is not None
    assert grid.lnight.shape == grid.lden.shape
    assert (grid.lnight < grid.lden).all()
    assert np.isfinite(grid.lden).all() and grid.lden.min() >= NoiseModelParams().floor_db
    prov = grid.provenance
    assert prov["n_sources"] == 2 and prov["n_rail_sources"] == 1
    assert "CNOSSOS-EU" in prov["method"]
    assert prov["params"] == NoiseModelParams().model_dump(mode="json")
    json.dumps(prov)


def test_model_lden_rejects_bad_input() -> None:
    src = noise_sources_from_osm(_lines([_road()], highway=["primary"]))
    with pytest.raises(CRSError, match="geographic"):
        model_lden(src, (0, 0, 100, 100), 4326)
    with pytest.raises(CRSError, match="reproject"):
        model_lden(src.to_crs(3035), (0, 0, 100, 100), RD)
    with pytest.raises(DataValidationError, match="lw_night"):
        model_lden(src.drop(columns="lw_night"), (0, 0, 100, 100), RD)
    with pytest.raises(DataValidationError, match="bounds"):
        model_lden(src, (100, 0, 0, 100), RD)
    with pytest.raises(DataValidationError, match="lines"):
        model_lden(src.set_geometry(src.buffer(3)), (0, 0, 100, 100), RD)


# --- GeoTIFF ------------------------------------------------------------------------------


def test_geotiff_round_trip(tmp_path: Path) -> None:
    src = noise_sources_from_osm(_lines([_road()], highway=["tertiary"]))
    grid = model_lden(src, (-150, -120, 250, 130), RD)
    target = tmp_path / "out" / "lden.tif"
    target.parent.mkdir()
    target.write_bytes(b"an older result")
    write_noise_geotiff(grid, target)
    assert [p.name for p in target.parent.iterdir()] == ["lden.tif"]  # no temp files left
    with rasterio.open(target) as ds:
        assert ds.count == 2 and ds.descriptions == ("Lden", "Lnight")
        assert ds.dtypes == ("float32", "float32")
        assert math.isnan(ds.nodata)
        assert CRS.from_user_input(ds.crs.to_wkt()) == grid.crs
        assert ds.transform == grid.transform
        assert ds.profile["tiled"] and ds.profile["compress"] == "deflate"
        np.testing.assert_array_equal(ds.read(1), grid.lden)
        np.testing.assert_array_equal(ds.read(2), grid.lnight)
        tags = ds.tags()
    assert json.loads(tags[PROVENANCE_TAG]) == grid.provenance
    assert tags["MODELLED"] == "true"


# --- real data ----------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.skipif(
    not AMSTERDAM.is_file(),
    reason=f"real OSM extract {AMSTERDAM} is absent (it sits beside the repo in CI)",
)
def test_amsterdam_courtyards_are_20db_quieter_than_the_busy_streets(tmp_path: Path) -> None:
    import osmnx as ox

    from sitefinder.noisemodel.buildings import building_heights

    osm = tmp_path / "amsterdam-centrum.osm"
    with gzip.open(AMSTERDAM, "rb") as fin, osm.open("wb") as fout:
        shutil.copyfileobj(fin, fout)
    features = ox.features_from_xml(
        osm, tags={"highway": True, "railway": ["rail", "light_rail", "tram"], "building": True}
    ).to_crs(RD)
    lines = features[features.geom_type.isin(["LineString", "MultiLineString"])]
    src = noise_sources_from_osm(lines)
    assert {"primary", "tertiary", "busway", "tram"} <= set(src["source_class"])
    polys = features[features["building"].notna() & features.geom_type.isin(["Polygon", "MultiPolygon"])]
    buildings = building_heights(polys)
    assert len(buildings) > 2000
    grid = model_lden(src, tuple(features.total_bounds), RD, buildings=buildings)

    # Points on main streets (RD New, on the mapped carriageway) ...
    main = {
        "Rokin (tertiary, near the Binnengasthuis)": (121315.9, 486818.6),
        "Rokin (tertiary, north part)": (121329.6, 487120.1),
        "Damrak (tertiary)": (121418.8, 487435.5),
    }
    # ... and the closed courtyard of the Binnengasthuis block (University of Amsterdam),
    # between Oude Turfmarkt, Binnengasthuisstraat, Grimburgwal and Nieuwe Doelenstraat:
    # about 40 m from the nearest footpath and 90 m from Rokin, buildings all round.
    # Its cells within 25 m of that point that are not inside a building:
    col, row = ~grid.transform * (121403.6, 486853.8)
    r, c = int(row), int(col)
    window = grid.lden[r - 2 : r + 3, c - 2 : c + 3]
    assert np.isfinite(window).sum() >= 5
    courtyard = float(np.nanmedian(window))
    levels = {name: _level_at(grid, x, y) for name, (x, y) in main.items()}
    for name, level in levels.items():
        assert 65 <= level <= 72, name
        assert level >= courtyard + 20, (name, level, courtyard)
    assert _level_at(grid, 122065.5, 486807.8) > 68  # Meester Visserplein (primary)
    # Every enclosed courtyard of the extract (a hole of 400-20,000 m² in the union of the
    # buildings) is at least 20 dB quieter than the quietest of those busy streets.
    from sitefinder.indicators.noise import noise_stats

    built = shapely.union_all(shapely.buffer(buildings.geometry.to_numpy(), 0.5))
    holes = [
        shapely.Polygon(ring)
        for part in getattr(built, "geoms", [built])
        for ring in part.interiors
        if 400 <= shapely.Polygon(ring).area <= 20_000
    ]
    assert len(holes) >= 5
    yards = noise_stats(gpd.GeoDataFrame(geometry=holes, crs=RD), grid)["noise_lden_mean_db"].to_numpy()
    assert np.isfinite(yards).all()
    assert yards.max() <= min(levels.values()) - 20, (yards.round(1).tolist(), levels)
