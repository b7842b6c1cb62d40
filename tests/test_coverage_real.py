"""Coverage on the real Amsterdam extract (about 0.9 x 0.9 km): edges, a plot far outside, absent kinds.

Covered radii are computed here by hand from the file's header bounds with pyproj and
shapely, independently of sitefinder's own coverage code.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from sitefinder.cli import main
from tests.conftest import AMSTERDAM, needs_shared

pytestmark = [needs_shared]

#: Plot centres (lon, lat): the centre, one about 300 m from the west edge, one about
#: 150 m west of a supermarket (Ekoplaza, node 1310911731), one 20 km east of the data.
CENTRES = {
    "C": (4.8972, 52.3697),
    "W": (4.8950, 52.3697),
    "S": (4.9001, 52.36855),
    "FAR": (4.8972 + 0.294, 52.3697),
}
HALF = 25.0

FAR_PROFILE = """
name = "ver"
title = "Ver kijken"
max_share_not_evaluable = 0.3

[[criterion]]
name = "spoor_ver"
label = "Spoorlijn ver weg"
indicator = "dist_railway_straight_m"
weight = 1
function = { type = "linear", best = 1500, worst = 100 }

[[criterion]]
name = "uitgaan"
label = "Uitgaan dichtbij"
indicator = "dist_nightlife_straight_m"
weight = 3
function = { type = "linear", best = 0, worst = 1000 }
"""


def _header_box_rd() -> shapely.Polygon:
    with gzip.open(AMSTERDAM, "rt", encoding="utf-8") as fh:
        head = fh.read(4000)
    m = re.search(r'<bounds minlat="([\d.]+)" minlon="([\d.]+)" maxlat="([\d.]+)" maxlon="([\d.]+)"', head)
    assert m, "the extract has header bounds"
    s, w, n, e = map(float, m.groups())
    t = Transformer.from_crs(4326, 28992, always_xy=True)
    ring = [t.transform(x, y) for x, y in shapely.segmentize(shapely.box(w, s, e, n), 0.0005).exterior.coords]
    return shapely.Polygon(ring)


@pytest.fixture(scope="module")
def cov_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("cov")
    t = Transformer.from_crs(4326, 28992, always_xy=True)
    geoms = [shapely.box(x - HALF, y - HALF, x + HALF, y + HALF)
             for x, y in (t.transform(*c) for c in CENTRES.values())]  # fmt: skip
    gpd.GeoDataFrame({"plot_id": list(CENTRES)}, geometry=geoms, crs=28992).to_file(tmp / "plots.gpkg")
    (tmp / "ver.toml").write_text(FAR_PROFILE, encoding="utf-8")
    handler_records: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handler_records.append(record.getMessage())

    grab = Grab(level=logging.INFO)
    logging.getLogger("sitefinder").addHandler(grab)
    try:
        rc = main(["-q", "run", "--osm", str(AMSTERDAM), "--plots", str(tmp / "plots.gpkg"), "--out",
                   str(tmp / "out"), "--cache", str(tmp / "cache"), "--layers", str(tmp / "layers"),
                   "--tiles", "none", "--profile", "prikkelarm", "--profile", "levendig",
                   "--profile", str(tmp / "ver.toml")])  # fmt: skip
    finally:
        logging.getLogger("sitefinder").removeHandler(grab)
    assert rc == 0
    return tmp / "out", "\n".join(handler_records)


def _scores(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "scores.csv", dtype={"plot_id": str}).set_index("plot_id")


def test_covered_radius_matches_hand_computation(cov_run: tuple[Path, str]) -> None:
    out, _ = cov_run
    df = _scores(out)
    area = _header_box_rd()
    gpkg = gpd.read_file(out / "scores.gpkg", layer="scores").set_index("plot_id")
    for pid in ("C", "W", "S"):
        plot = gpkg.geometry[pid]
        expect = area.exterior.distance(plot)
        assert df.loc[pid, "covered_radius_m"] == pytest.approx(expect, abs=2.0), pid
        assert gpkg.loc[pid, "covered_radius_m"] == pytest.approx(expect, abs=2.0)
    assert df.loc["FAR", "covered_radius_m"] == 0.0
    assert 250 < df.loc["W", "covered_radius_m"] < 320


def test_plot_far_outside_is_not_ranked_and_says_why(cov_run: tuple[Path, str]) -> None:
    df = _scores(cov_run[0])
    for p in ("prikkelarm", "levendig", "ver"):
        assert pd.isna(df.loc["FAR", f"rank_{p}"]), p
        assert "buiten het gebied van de OSM-gegevens" in df.loc["FAR", f"excluded_{p}"]
        assert df.loc["FAR", f"share_not_evaluable_{p}"] == 1.0
    assert df["rank_levendig"].notna().any()


def test_supermarket_within_coverage_keeps_an_exact_distance(cov_run: tuple[Path, str]) -> None:
    df = _scores(cov_run[0])
    d, r = df.loc["S", "dist_supermarket_m"], df.loc["S", "covered_radius_m"]
    # The walking distance is at least the straight line to the shop (about 150 m minus half the plot).
    t = Transformer.from_crs(4326, 28992, always_xy=True)
    shop = shapely.Point(t.transform(4.9023015, 52.3685515))
    plot = gpd.read_file(cov_run[0] / "scores.gpkg", layer="scores").set_index("plot_id").geometry["S"]
    assert d >= plot.distance(shop) - 1.0
    assert 100 < d < r, (d, r)
    assert "dist_supermarket_m" not in str(df.loc["S", "censored_values"])
    assert not math.isnan(df.loc["S", "pts_levendig_supermarkt"])


def test_criterion_needing_1500_m_is_not_evaluable_on_300_m(cov_run: tuple[Path, str]) -> None:
    df = _scores(cov_run[0])
    # No railway in the extract, and the data reach about 300 m west of W: "no railway
    # within 1,500 m" cannot be told from "not in the file".
    assert math.isnan(df.loc["W", "dist_railway_straight_m"])
    assert math.isnan(df.loc["W", "pts_ver_spoor_ver"])
    assert df.loc["W", "not_evaluable_ver"] == "spoor_ver"
    assert df.loc["W", "share_not_evaluable_ver"] == pytest.approx(0.25)
    # Its weight goes to the nightlife criterion: the score is that criterion's value alone.
    v = max(0.0, 1 - df.loc["W", "dist_nightlife_straight_m"] / 1000)
    assert df.loc["W", "score_ver"] == pytest.approx(100 * v, abs=0.15)
    assert "dist_railway_straight_m > " in df.loc["W", "censored_values"]


def test_absent_kind_is_reported_and_does_not_score(cov_run: tuple[Path, str]) -> None:
    out, log_text = cov_run
    man = json.loads((out / "manifest.json").read_text())
    assert "railway" in man["absent_from_data"] and "major_road" in man["absent_from_data"]
    assert "supermarket" not in man["absent_from_data"]
    assert re.search(r"Not in the data at all.*major_road, railway", log_text)
    df = _scores(out)
    # prikkelarm's motorway criterion gives full points only from 500 m: no plot here is
    # covered that far, so it never scores (it used to give full points to every plot).
    assert df["pts_prikkelarm_drukke_weg"].isna().all()


def test_central_plots_stay_comparable(cov_run: tuple[Path, str]) -> None:
    df = _scores(cov_run[0])
    central = df.loc[["C", "S"]]
    assert (central["score_levendig"] > central["score_prikkelarm"]).all()
    assert pd.notna(df.loc["C", "rank_levendig"]) and pd.notna(df.loc["C", "rank_prikkelarm"])
