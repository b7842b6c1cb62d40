"""CBS open data (OData) and PDOK buurten against the loopback stand-in: paging, cache, bad answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from pyproj import CRS

from sitefinder.errors import DownloadError
from sitefinder.io.cbs import join_figures, read_key_figures, read_neighbourhoods
from sitefinder.io.cbs_online import cbs_key_figures, pdok_neighbourhoods
from tests.standin import StandIn, serve

ROWS = [
    {"ID": 1, "WijkenEnBuurten": "GM0034    ", "SoortRegio_2": "Gemeente  ", "Codering_3": "GM0034    ",
     "AantalInwoners_5": 1000, "k_65JaarOfOuder_12": 150, "HuishoudensTotaal_29": 450},
    {"ID": 2, "WijkenEnBuurten": "BU00340101", "SoortRegio_2": "Buurt     ", "Codering_3": "BU00340101",
     "AantalInwoners_5": 600, "k_65JaarOfOuder_12": 150, "HuishoudensTotaal_29": 250},
    {"ID": 3, "WijkenEnBuurten": "BU00340102", "SoortRegio_2": "Buurt     ", "Codering_3": "BU00340102",
     "AantalInwoners_5": 400, "k_65JaarOfOuder_12": None, "HuishoudensTotaal_29": 200},
    {"ID": 4, "WijkenEnBuurten": "BU03630001", "SoortRegio_2": "Buurt     ", "Codering_3": "BU03630001",
     "AantalInwoners_5": 9, "k_65JaarOfOuder_12": 1, "HuishoudensTotaal_29": 5},
]  # fmt: skip


def _buurten() -> dict[str, object]:
    feats = []
    for i, code in enumerate(["BU00340101", "BU00340102"]):
        geom = shapely.box(5.20 + 0.01 * i, 52.37, 5.21 + 0.01 * i, 52.38)
        feats.append({"type": "Feature", "properties": {"buurtcode": code, "buurtnaam": f"Buurt {i}",
                      "gemeentecode": "GM0034"}, "geometry": shapely.geometry.mapping(geom)})  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


@pytest.fixture
def cbs() -> Iterator[StandIn]:
    state = StandIn(None, None, collections={"buurten": _buurten()}, odata={"85984NED": ROWS})
    with serve(state) as s:
        yield s


def test_key_figures_and_buurten_online_cached(cbs: StandIn, tmp_path: Path) -> None:
    odata = f"{cbs.url}/ODataApi/odata"
    path, info = cbs_key_figures("GM0034", 2024, tmp_path, odata)
    assert info["cache"] == "miss" and info["rows"] == 2  # only the buurten of GM0034, over two pages
    assert sum("TypedDataSet" in r for r in cbs.requests) == 2
    fig = read_key_figures(path, year=2024)
    assert fig.index.tolist() == ["BU00340101", "BU00340102"]
    assert fig.loc["BU00340102", "inwoners_65plus"] != fig.loc["BU00340102", "inwoners_65plus"]  # null: NaN
    polys, _ = pdok_neighbourhoods("GM0034", tmp_path, cbs.url)
    nbh = join_figures(read_neighbourhoods(polys, CRS.from_epsg(28992)), fig, str(path))
    assert nbh["inwoners"].tolist() == [600, 400]
    n = len(cbs.requests)
    again, info2 = cbs_key_figures("GM0034", 2024, tmp_path, odata)
    assert again == path and info2["cache"] == "hit" and len(cbs.requests) == n


def test_bad_online_answers(cbs: StandIn, tmp_path: Path) -> None:
    odata = f"{cbs.url}/ODataApi/odata"
    with pytest.raises(DownloadError, match="no known key-figures table for 2019"):
        cbs_key_figures("GM0034", 2019, tmp_path, odata)
    with pytest.raises(DownloadError, match="answered HTTP 404"):
        cbs_key_figures("GM0034", 2024, tmp_path, odata, table="99999NED")
    with pytest.raises(DownloadError, match="no neighbourhoods for GM0001"):
        cbs_key_figures("GM0001", 2024, tmp_path, odata)
    cbs.mode = "truncated"
    with pytest.raises(DownloadError, match=r"truncated|not JSON"):
        cbs_key_figures("GM0034", 2024, tmp_path, odata)
    assert not list((tmp_path / "cbs").glob("*.csv")), "nothing cached from a bad answer"


def test_pdok_download_verified_and_cache_checked_on_read(cbs: StandIn, tmp_path: Path) -> None:
    import json

    path, info = pdok_neighbourhoods("GM0034", tmp_path, cbs.url)
    assert info["cache"] == "miss" and info["features"] == 2 and info["pages"] == 2
    assert info["number_matched"] == 2 and info["bytes"] == path.stat().st_size
    assert [f["properties"]["buurtcode"] for f in json.loads(path.read_text())["features"]] == [
        "BU00340101", "BU00340102",
    ]  # fmt: skip
    entry = json.loads((path.parent / "entry.json").read_text())
    assert entry["files"]["features.geojson"]["bytes"] == path.stat().st_size
    n = len(cbs.requests)
    assert pdok_neighbourhoods("GM0034", tmp_path, cbs.url)[1]["cache"] == "hit" and len(cbs.requests) == n
    # A damaged cached file (same size, other bytes) is noticed on read and fetched again.
    data = path.read_bytes()
    damaged = data.replace(b"Buurt 0", b"Buurt X", 1)
    assert len(damaged) == len(data) and damaged != data
    path.write_bytes(damaged)
    again, info3 = pdok_neighbourhoods("GM0034", tmp_path, cbs.url)
    assert info3["cache"] == "miss" and len(cbs.requests) == n + 2
    assert again.read_bytes() == data


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [("pdok-lost-page", "1 features arrived of the 2|2 features arrived of the 3"),
     ("pdok-no-filter", "ignored the filter"), ("truncated", "truncated|not JSON")],
)  # fmt: skip
def test_pdok_bad_answers_cache_nothing(cbs: StandIn, tmp_path: Path, mode: str, fragment: str) -> None:
    cbs.mode = mode
    with pytest.raises(DownloadError, match=fragment):
        pdok_neighbourhoods("GM0034", tmp_path, cbs.url)
    assert not [p for p in (tmp_path / "pdok").rglob("*") if p.is_file()], "nothing cached from a bad answer"
