"""When no plot passes a profile's hard conditions, every output says so plainly.

Runs on the small town of :mod:`tests.test_stops_tunnels` with a profile no plot can meet
(at least 1 km² of plot) beside levendig.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from sitefinder.cli import main
from tests.osmfile import OsmFile
from tests.test_stops_tunnels import P_BOX, Q_BOX, X0, Y0, _build

NONE_OK = """
name = "groot"
title = "Heel groot terrein"

[[constraint]]
indicator = "area_m2"
op = ">="
value = 1000000
reason = "terrein kleiner dan 1 km²"

[[criterion]]
name = "super"
label = "Supermarkt"
indicator = "dist_supermarket_m"
weight = 1
function = { type = "linear", best = 0, worst = 1000 }

[[criterion]]
name = "ov"
label = "OV-halte"
indicator = "dist_pt_stop_m"
weight = 1
function = { type = "linear", best = 0, worst = 1000 }
"""

MESSAGE = "geen enkele kavel voldoet aan de harde eisen van groot; meest voorkomende reden: terrein kleiner dan 1 km²"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("none")
    osm = OsmFile()
    _build(osm)
    osm.write(tmp / "proef.osm", bounds=(X0 - 200, Y0 - 200, X0 + 1200, Y0 + 1200))
    plots = [shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in (P_BOX, Q_BOX)]
    gpd.GeoDataFrame({"plot_id": ["P", "Q"]}, geometry=plots, crs=28992).to_file(tmp / "plots.gpkg")
    (tmp / "groot.toml").write_text(NONE_OK, encoding="utf-8")
    return tmp


@pytest.fixture(scope="module")
def out(run_dir: Path) -> Path:
    rc = main(["-q", "run", "--osm", str(run_dir / "proef.osm"), "--plots", str(run_dir / "plots.gpkg"),
               "--out", str(run_dir / "out"), "--cache", str(run_dir / "cache"), "--layers",
               str(run_dir / "layers"), "--tiles", "none", "--profile", str(run_dir / "groot.toml"),
               "--profile", "levendig"])  # fmt: skip
    assert rc == 0
    return run_dir / "out"


def test_run_summary_says_no_plot_is_eligible(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", "--osm", str(run_dir / "proef.osm"), "--plots", str(run_dir / "plots.gpkg"),
               "--out", str(run_dir / "out2"), "--cache", str(run_dir / "cache"), "--layers",
               str(run_dir / "layers2"), "--tiles", "none", "--profile", str(run_dir / "groot.toml")])  # fmt: skip
    assert rc == 0
    err = capsys.readouterr().err
    assert MESSAGE in err
    assert "groot top" not in err, "no top 3 of excluded plots"


def test_explain_top_says_so_and_fails(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["explain", "--run", str(out), "--profile", "groot"])
    text = capsys.readouterr().out
    assert rc == 1
    assert MESSAGE in text


def test_select_says_so_and_fails(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["select", "--run", str(out), "--profile", "groot", "--k", "2"])
    assert rc == 1
    assert MESSAGE in capsys.readouterr().out


def test_report_and_map_say_so(out: Path) -> None:
    rc = main(["compare", "P", "Q", "--run", str(out), "--out", str(out / "cmp.html")])
    assert rc == 0
    html = (out / "cmp.html").read_text(encoding="utf-8")
    assert "Geen enkele kavel voldoet aan de harde eisen van Heel groot terrein" in html
    assert "meest voorkomende reden: terrein kleiner dan 1 km²" in html
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "Geen enkele kavel voldoet aan de harde eisen van Heel groot terrein" in page
    # The not-evaluable status travels to the report's breakdown and the map's popup texts.
    assert "telt niet mee" in html
    assert "telt niet mee: de gegevens reiken niet ver genoeg" in page


def test_status_columns_in_the_tables(out: Path) -> None:
    csv = pd.read_csv(out / "scores.csv", dtype={"plot_id": str}).set_index("plot_id")
    gpkg = gpd.read_file(out / "scores.gpkg", layer="scores").set_index("plot_id")
    for table in (csv, gpkg):
        for col in (
            "covered_radius_m",
            "censored_values",
            "not_evaluable_groot",
            "share_not_evaluable_groot",
        ):
            assert col in table.columns, col
        assert "super" in table.loc["Q", "not_evaluable_groot"]
        assert "dist_supermarket_m > " in table.loc["Q", "censored_values"]
        assert str(table.loc["Q", "excluded_groot"]).count("onvoldoende gegevens") == 1


def test_explain_shows_not_evaluable_criteria(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The town has no supermarket at all, and its data reach only a few hundred metres:
    # "no supermarket within 1,000 m" cannot be told, so 'super' does not count.
    rc = main(["explain", "--run", str(out), "--profile", "groot", "--plot", "Q"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "telt niet mee: de gegevens reiken niet ver genoeg" in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("super"))
    assert "—" in line
    # 'ov' carries all the weight now: 100 points at most.
    ov = next(ln for ln in text.splitlines() if ln.strip().startswith("ov "))
    assert "/ 100.0" in ov
