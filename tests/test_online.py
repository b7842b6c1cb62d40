"""Online sources against a loopback stand-in: Overpass, Nominatim, PDOK, Geofabrik; the almere region."""

from __future__ import annotations

import csv
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import osmium
import pandas as pd
import pytest

from tests.conftest import refresh_args, run_cli
from tests.standin import StandIn, serve


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small sample town made by sitefinder itself: the project's own fixture."""
    from sitefinder.sample import generate_sample

    out = tmp_path_factory.mktemp("town")
    res = generate_sample(out, seed=11, scale=0.1)
    pbf = out / "town.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for o in osmium.FileProcessor(str(res.osm_path)):
            w.add(o)
    boundary = gpd.read_file(res.boundary_path).to_crs(4326)
    boundary["gemeentecode"] = "GM0034"
    bpath = out / "gm0034.geojson"
    boundary[["gemeentecode", "geometry"]].to_file(bpath, driver="GeoJSON")
    # The town's CBS-shaped files as PDOK and CBS open data would serve them for GM0034.
    buurten = gpd.read_file(res.neighbourhoods_path)
    pdok = gpd.GeoDataFrame(
        {
            "buurtcode": buurten["BU_CODE"].str.replace("BU9999", "BU0034"),
            "buurtnaam": buurten["BU_NAAM"],
            "wijkcode": "WK003401",
            "gemeentecode": "GM0034",
        },
        geometry=buurten.geometry,
        crs=buurten.crs,
    )
    npath = out / "buurten-pdok.geojson"
    pdok.to_file(npath, driver="GeoJSON")
    with res.figures_path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    odata = [
        {k: (None if v.strip() in ("", ".") else v.replace("9999", "0034")) for k, v in r.items()}
        for r in rows
    ]
    return {"osm": res.osm_path, "plots": res.plots_path, "boundary": bpath, "pbf": pbf, "buurten": npath,
            "odata": odata}  # fmt: skip


@pytest.fixture
def standin(town: dict[str, Any]) -> Iterator[StandIn]:
    state = StandIn(
        town["osm"],
        json.loads(town["boundary"].read_text()),
        pbf=town["pbf"],
        collections={"buurten": json.loads(town["buurten"].read_text())},
        odata={"85984NED": town["odata"]},
    )
    with serve(state) as s:
        yield s


def _bbox(town: dict[str, Path]) -> list[str]:
    w, s, e, n = gpd.read_file(town["boundary"]).to_crs(4326).total_bounds
    return [f"{v:.6f}" for v in (w, s, e, n)]


def test_overpass_download_is_cached(standin: StandIn, town: dict[str, Path], tmp_path: Path) -> None:
    args = [
        "run",
        "--bbox",
        *_bbox(town),
        "--overpass-url",
        f"{standin.url}/api/interpreter",
        "--plots",
        town["plots"],
        "--cache",
        tmp_path / "cache",
        "--profile",
        "levendig",
        "--layers",
        tmp_path / "layers",
    ]
    res = run_cli(*args, "--out", tmp_path / "a")
    assert res.returncode == 0, res.stderr
    assert standin.requests == ["POST /api/interpreter"]
    assert "Requesting OSM data from Overpass" in res.stderr
    scores = gpd.read_file(tmp_path / "a" / "scores.gpkg", layer="scores")
    assert scores["dist_supermarket_m"].notna().all()
    res2 = run_cli(*args, "--out", tmp_path / "b")
    assert res2.returncode == 0, res2.stderr
    assert standin.requests == ["POST /api/interpreter"], "second run makes no request"
    assert "reused from cache" in res2.stderr
    a = gpd.read_file(tmp_path / "a" / "scores.gpkg", layer="scores")
    b = gpd.read_file(tmp_path / "b" / "scores.gpkg", layer="scores")
    assert (a["score_levendig"] == b["score_levendig"]).all()


@pytest.mark.slow
def test_place_name_geocoded_with_nominatim(standin: StandIn, town: dict[str, Path], tmp_path: Path) -> None:
    res = run_cli(
        "run",
        "--place",
        "Nieuwstad, Nederland",
        "--nominatim-url",
        f"{standin.url}/",
        "--overpass-url",
        f"{standin.url}/api/interpreter",
        "--plots",
        town["plots"],
        "--cache",
        tmp_path / "c",
        "--out",
        tmp_path / "o",
        "--profile",
        "levendig",
        "--layers",
        tmp_path / "l",
    )
    assert res.returncode == 0, res.stderr
    search = [r for r in standin.requests if r.startswith("GET /search")]
    assert len(search) == 1 and "q=Nieuwstad%2C+Nederland" in search[0]
    assert standin.requests[-1] == "POST /api/interpreter", "Overpass is asked after the geocoding"
    man = json.loads((tmp_path / "o" / "manifest.json").read_text("utf-8"))
    assert man["sources"]["overpass"]["place"] == "Nieuwstad, Nederland"
    scores = gpd.read_file(tmp_path / "o" / "scores.gpkg", layer="scores")
    assert len(scores) == len(gpd.read_file(town["plots"]))
    # The download covers the town: every plot reaches a supermarket over the network.
    assert scores["dist_supermarket_m"].notna().all()


@pytest.mark.parametrize(
    ("mode", "fragment"), [("truncated", "truncated"), ("overpass-error", "out of memory")]
)
def test_failed_overpass_download_is_not_cached(
    standin: StandIn, town: dict[str, Path], tmp_path: Path, mode: str, fragment: str
) -> None:
    standin.mode = mode
    res = run_cli(
        "run",
        "--bbox",
        *_bbox(town),
        "--overpass-url",
        f"{standin.url}/api/interpreter",
        "--plots",
        town["plots"],
        "--cache",
        tmp_path / "c",
        "--out",
        tmp_path / "o",
        "--layers",
        tmp_path / "l",
    )
    assert res.returncode == 2
    assert fragment in res.stderr and "--osm FILE" in res.stderr and "Traceback" not in res.stderr
    assert not list((tmp_path / "c").rglob("*.osm")), "a failed download is never cached"
    assert not (tmp_path / "o").exists()


def _env(standin: StandIn) -> dict[str, str]:
    return {
        "SITEFINDER_PDOK_URL": standin.url,
        "SITEFINDER_OVERPASS_URL": f"{standin.url}/api/interpreter",
        "SITEFINDER_CBS_ODATA_URL": f"{standin.url}/ODataApi/odata",
    }


@pytest.mark.slow
def test_almere_region_end_to_end(standin: StandIn, town: dict[str, Any], tmp_path: Path) -> None:
    args = refresh_args(tmp_path, "almere")
    res = run_cli(*args, env=_env(standin))
    assert res.returncode == 0, res.stderr
    assert "almere: rebuilt" in res.stdout
    assert "Fetched boundary GM0034 from PDOK" in res.stderr
    assert any("/collections/gemeenten/items" in r and "page=2" in r for r in standin.requests)
    out = tmp_path / "maps" / "almere"
    for name in ("scores.gpkg", "scores.csv", "map.html", "manifest.json"):
        assert (out / name).exists()
    man = json.loads((out / "manifest.json").read_text())
    assert man["sources"]["plots"]["from"].startswith("OSM landuse")
    # Who lives nearby, online: buurten from PDOK, key figures from CBS open data (two pages).
    assert any("/collections/buurten/items" in r and "gemeentecode=GM0034" in r for r in standin.requests)
    odata = [r for r in standin.requests if "/ODataApi/odata/85984NED/TypedDataSet" in r]
    assert len(odata) == 2 and "BU0034" in urllib.parse.unquote(odata[0])
    nbh = man["sources"]["neighbourhoods"]
    assert (
        nbh["neighbourhoods"] == len(town["odata"]) - 2
    )  # the rows of the municipality and district are no buurten
    assert nbh["unknown_inwoners_65plus"] == 1  # the town's suppressed '.' arrived as null: unknown
    scores = pd.read_csv(out / "scores.csv")
    assert "pop_65plus_1000m" in scores.columns and "buurt_naam" in scores.columns
    n_requests = len(standin.requests)
    res2 = run_cli(*args, env=_env(standin))
    assert res2.returncode == 0, res2.stderr
    assert "almere: up to date" in res2.stdout
    assert len(standin.requests) == n_requests, "an up-to-date refresh makes no request"


@pytest.mark.slow
def test_geofabrik_extract_verified_and_cached(standin: StandIn, tmp_path: Path) -> None:
    regions = tmp_path / "regions"
    regions.mkdir()
    (regions / "polder.toml").write_text(
        'name = "polder"\ntitle = "Polder"\n[osm]\n'
        f'geofabrik_url = "{standin.url}/europe/netherlands/polder-latest.osm.pbf"\n'
    )
    args = refresh_args(tmp_path, regions=regions)
    env = {"SITEFINDER_GEOFABRIK_URL": standin.url}  # the stand-in is a configured host
    standin.mode = "truncated"
    bad = run_cli(*args, env=env)
    assert bad.returncode == 2 and "truncated" in bad.stderr, bad.stderr
    assert not list((tmp_path / "cache").rglob("*.pbf"))
    standin.mode = "ok"
    res = run_cli(*args, env=env)
    assert res.returncode == 0, res.stderr
    assert "polder: rebuilt" in res.stdout
    assert "Downloaded" in res.stderr and len(list((tmp_path / "cache").rglob("*.pbf"))) == 1


# --- The Overpass client: retries, backoff, the status page, stalls (direct calls, no pipeline) ---


def _source(standin: StandIn, town: dict[str, Any], **kw: Any) -> Any:
    from sitefinder.config import OverpassSource

    w, s, e, n = (float(v) for v in _bbox(town))
    return OverpassSource(bbox=(w, s, e, n), overpass_url=f"{standin.url}/api/interpreter", **kw)


def _tag_filter() -> dict[str, bool | list[str]]:
    from sitefinder.categories import load_categories
    from sitefinder.io import osm

    return osm.feature_tag_filter(load_categories(None).osm_tags())


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's waits, recorded instead of slept."""
    from sitefinder.io import overpass

    seen: list[float] = []
    monkeypatch.setattr(overpass, "_sleep", seen.append)
    return seen


def test_overpass_429_then_200_waits_for_the_slot_the_status_page_names(
    standin: StandIn, town: dict[str, Any], tmp_path: Path, waits: list[float]
) -> None:
    from sitefinder import __version__
    from sitefinder.io.overpass import download

    standin.overpass_statuses = [429]
    standin.status_text = (
        "Connected as: 2130706433\nRate limit: 2\n"
        "Slot available after: 2026-12-01T22:00:07Z, in 7 seconds.\n"
        "Slot available after: 2026-12-01T22:00:19Z, in 19 seconds.\nCurrently running queries:\n"
    )
    path, info = download(_source(standin, town, backoff_s=1.0), _tag_filter(), tmp_path / "cache")
    assert standin.requests == ["POST /api/interpreter", "GET /api/status", "POST /api/interpreter"]
    assert waits == [7.0], "the first free slot, not the backoff"
    assert info["cache"] == "miss" and path.is_file() and path.read_text("utf-8").rstrip().endswith("</osm>")
    assert all(ua.startswith(f"sitefinder/{__version__} ") for ua in standin.user_agents)
    assert len(standin.user_agents) == 2


def test_overpass_504_storm_backs_off_exponentially_then_gives_up(
    standin: StandIn, town: dict[str, Any], tmp_path: Path, waits: list[float]
) -> None:
    from sitefinder.errors import DownloadError
    from sitefinder.io.overpass import download

    standin.mode = "504-storm"
    src = _source(standin, town, attempts=4, backoff_s=2.0, max_wait_s=5.0)
    with pytest.raises(DownloadError, match=r"HTTP 504.*4 attempts.*--osm FILE"):
        download(src, _tag_filter(), tmp_path / "cache")
    assert standin.requests == ["POST /api/interpreter"] * 4, "504 needs no status page"
    assert waits == [2.0, 4.0, 5.0], "doubling from backoff_s, capped at max_wait_s; no wait after the last"
    assert not list((tmp_path / "cache").rglob("*.osm")), "nothing cached"


def test_overpass_stalled_stream_is_an_error_and_not_cached(
    standin: StandIn, town: dict[str, Any], tmp_path: Path, waits: list[float]
) -> None:
    from sitefinder.errors import DownloadError
    from sitefinder.io.overpass import download

    standin.mode = "slow"
    standin.stall_s = 4.0
    with pytest.raises(DownloadError, match=r"stalled, no data for 1.5 s after \d+ bytes; not cached"):
        download(_source(standin, town, stall_s=1.5, attempts=1), _tag_filter(), tmp_path / "cache")
    assert waits == []
    assert not list((tmp_path / "cache").rglob("*.osm*")), "no partial file is left"


def test_overpass_status_url_and_non_retryable_errors(
    standin: StandIn, town: dict[str, Any], tmp_path: Path, waits: list[float]
) -> None:
    from sitefinder.errors import DownloadError
    from sitefinder.io.overpass import download, status_url

    assert status_url("https://overpass-api.de/api/interpreter") == "https://overpass-api.de/api/status"
    standin.overpass_statuses = [400]
    with pytest.raises(DownloadError, match="HTTP 400"):
        download(_source(standin, town), _tag_filter(), tmp_path / "cache")
    assert standin.requests == ["POST /api/interpreter"] and waits == [], "a bad request is not repeated"


# --- A stalled server (accepts, never answers) fails within the stall limit, source named ---------


def _stalled_call(name: str, standin: StandIn, town: dict[str, Any], cache: Path) -> None:
    from sitefinder.io import cbs_online, download, overpass

    if name == "Overpass":
        overpass.download(_source(standin, town), _tag_filter(), cache)
    elif name == "Nominatim":
        from sitefinder.config import OverpassSource

        src = OverpassSource(place="Nieuwstad, Nederland", nominatim_url=f"{standin.url}/")
        overpass.area_polygon(src, cache)
    elif name == "Geofabrik":
        download.geofabrik_extract(f"{standin.url}/europe/netherlands/polder-latest.osm.pbf", cache)
    elif name == "PDOK":
        download.pdok_boundary("GM0034", cache, standin.url)
    else:
        cbs_online.cbs_key_figures("GM0034", 2024, cache, f"{standin.url}/ODataApi/odata")


@pytest.mark.parametrize("name", ["Overpass", "Nominatim", "Geofabrik", "PDOK", "CBS open data"])
def test_a_stalled_server_fails_within_the_stall_limit(
    standin: StandIn, town: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    import time

    from sitefinder.errors import DownloadError

    monkeypatch.setenv("SITEFINDER_STALL_S", "0.5")  # the real limit is 60 s
    standin.mode = "silent"
    standin.stall_s = 4.0
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=rf"^{name} http://127\.0\.0\.1:\d+.*no answer for 0\.5 s") as err:
        _stalled_call(name, standin, town, tmp_path / "cache")
    elapsed = time.monotonic() - t0
    assert elapsed < 3.0, f"gave up after {elapsed:.1f} s, not after the 0.5 s stall limit"
    assert len(standin.requests) == 1, "a stall is not asked again (that would multiply the wait)"
    assert "\n" not in str(err.value)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.suffix != ".json"], (
        "nothing cached"
    )


def test_a_stalled_overpass_run_is_one_line_and_exit_2(
    standin: StandIn, town: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from tests.tinytown import fails

    standin.mode = "silent"
    standin.stall_s = 4.0
    args = ["run", "--bbox", *_bbox(town), "--overpass-url", f"{standin.url}/api/interpreter",
            "--plots", str(town["plots"]), "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o")]  # fmt: skip
    monkeypatch.setenv("SITEFINDER_STALL_S", "0.5")
    fails(capsys, args, "Overpass", "no answer for 0.5 s", "--osm FILE")
    assert not (tmp_path / "o").exists()
    monkeypatch.setenv("SITEFINDER_STALL_S", "soon")
    fails(capsys, args, "SITEFINDER_STALL_S", "positive number")


# --- Subdivision of large areas (as osmnx): N squares, N queries, one merged answer -----------------


def _elements(path: Path) -> dict[tuple[str, int], tuple[Any, ...]]:
    """Every element of an OSM file by (type, id): its tags, node refs or members, location."""
    out: dict[tuple[str, int], tuple[Any, ...]] = {}
    for o in osmium.FileProcessor(str(path)):
        tags = tuple(sorted((t.k, t.v) for t in o.tags))
        if isinstance(o, osmium.osm.Node):
            out[("n", o.id)] = (tags, round(o.location.lon, 7), round(o.location.lat, 7))
        elif isinstance(o, osmium.osm.Way):
            out[("w", o.id)] = (tags, tuple(n.ref for n in o.nodes))
        else:
            out[("r", o.id)] = (tags, tuple((m.type, m.ref, m.role) for m in o.members))
    return out


def test_a_large_area_is_split_into_queries_and_merged(
    standin: StandIn, town: dict[str, Any], tmp_path: Path, waits: list[float]
) -> None:
    import math

    from pyproj import Transformer

    from sitefinder.io.overpass import download

    whole, info1 = download(_source(standin, town), _tag_filter(), tmp_path / "one")
    assert standin.requests == ["POST /api/interpreter"] and info1["queries"] == 1
    # The expected number of squares, from the box's size in its UTM zone (computed here).
    w, s, e, n = (float(v) for v in _bbox(town))
    zone = int((w + e) / 2 // 6) + 31
    to_utm = Transformer.from_crs(4326, 32600 + zone, always_xy=True)
    xs, ys = to_utm.transform([w, e, e, w], [s, s, n, n])
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    max_km2 = width * height / 1e6 / 5.0  # about five squares' worth of area
    side = math.sqrt(max_km2) * 1000
    expected = math.ceil(width / side) * math.ceil(height / side)
    assert expected >= 6
    standin.requests.clear()
    merged, info = download(
        _source(standin, town, max_query_area_km2=max_km2), _tag_filter(), tmp_path / "many"
    )
    assert standin.requests == ["POST /api/interpreter"] * expected
    assert info["queries"] == expected and info["cache"] == "miss"
    a, b = _elements(whole), _elements(merged)
    assert len(b) == len(a) and b == a, "the merged answers hold exactly the single query's elements"
    ids = [(kind, i) for kind, i in b]
    assert ids == sorted(ids, key=lambda k: ("nwr".index(k[0]), k[1])), "nodes, ways, relations, each by id"
    assert not list((tmp_path / "many").rglob(".parts-*")), "the parts are removed"
    standin.requests.clear()
    again, hit = download(
        _source(standin, town, max_query_area_km2=max_km2), _tag_filter(), tmp_path / "many"
    )
    assert hit["cache"] == "hit" and standin.requests == [] and again == merged


def test_a_failing_piece_caches_nothing(
    standin: StandIn, town: dict[str, Any], tmp_path: Path, waits: list[float]
) -> None:
    from sitefinder.errors import DownloadError
    from sitefinder.io.overpass import download

    standin.mode = "overpass-error"  # every piece answers Overpass's out-of-memory remark
    with pytest.raises(DownloadError, match=r"out of memory.*--overpass-max-area-km2"):
        download(_source(standin, town, max_query_area_km2=0.5), _tag_filter(), tmp_path / "c")
    assert not [p for p in (tmp_path / "c").rglob("*") if p.is_file()], "no piece and no merged file is left"


def test_a_geofabrik_stream_that_stalls_is_an_error_and_not_cached(
    standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from sitefinder.errors import DownloadError
    from sitefinder.io.download import geofabrik_extract

    monkeypatch.setenv("SITEFINDER_STALL_S", "0.5")
    standin.mode = "slow"
    standin.stall_s = 4.0
    t0 = time.monotonic()
    with pytest.raises(
        DownloadError, match=r"^Geofabrik http://127\.0\.0\.1:\d+/.*no answer for 0\.5 s.*not cached"
    ):
        geofabrik_extract(f"{standin.url}/europe/netherlands/polder-latest.osm.pbf", tmp_path / "cache")
    assert time.monotonic() - t0 < 3.0
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()], "no partial file is left"
