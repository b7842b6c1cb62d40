"""Built-in target-group profiles, the ``profiles`` command, and a user profile with a vector layer end to end."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from sitefinder.categories import load_categories
from sitefinder.pipeline import check_profile_categories
from sitefinder.scoring.profiles import builtin_names, load_profile
from tests.conftest import AMSTERDAM, REPO, needs_shared, run_cli

GROUPS = ("senioren", "prikkelarm", "uitstroom", "jongeren", "beperking", "levendig")
EXAMPLE = REPO / "docs" / "examples" / "almere-bwplus.toml"


def test_every_target_group_has_a_builtin_profile() -> None:
    assert set(GROUPS) <= set(builtin_names())


@pytest.mark.parametrize("name", GROUPS)
def test_builtin_profile_cites_a_source_for_every_default(name: str) -> None:
    prof = load_profile(name)
    assert prof.name == name
    for c in prof.criteria:
        assert len(c.source) > 20, f"{name}: criterion {c.name} has no source"
    for con in prof.constraints:
        assert len(con.source) > 20, f"{name}: constraint {con.describe()} has no source"
    assert sum(prof.weights().values()) == pytest.approx(1.0)
    # Every indicator is one that a run computes (amenity categories exist).
    check_profile_categories([prof], load_categories(None))


def test_group_specific_criteria() -> None:
    uit = {c.indicator for c in load_profile("uitstroom").criteria}
    assert {"dist_coffeeshop_m", "dist_nightlife_m", "dist_care_straight_m"} <= uit
    assert load_profile("uitstroom").ahp is not None
    assert "dist_school_m" in {c.indicator for c in load_profile("jongeren").criteria}
    # Seniors judge distance in minutes (at 3.6 km/h); and older residents nearby.
    assert {"time_gp_min", "time_pharmacy_min", "time_supermarket_min", "pop_65plus_1000m"} <= {
        c.indicator for c in load_profile("senioren").criteria
    }
    types = {c.function.type for n in GROUPS for c in load_profile(n).criteria}
    assert {"linear", "step", "logistic", "decay", "ideal"} <= types


def test_beperking_uses_the_wheelchair_network_and_says_its_limits() -> None:
    prof = load_profile("beperking")
    assert prof.mobility == "wheelchair" and load_profile("senioren").mobility == "walk"
    routed = [
        c.indicator for c in prof.criteria if c.indicator.startswith("dist_") and "green" not in c.indicator
    ]
    assert routed and all(i.endswith("_wheelchair_m") for i in routed)
    assert "voor zover in OSM" in prof.description
    text = (REPO / "sitefinder" / "profiles" / "beperking.toml").read_text()
    assert "LIMITATION: OSM tags kerbs, surfaces and" in text


def test_uitstroom_ahp_is_consistent() -> None:
    res = load_profile("uitstroom").ahp_result()
    assert res is not None
    assert res.cr < 0.1


def test_profiles_command_lists_and_shows() -> None:
    res = run_cli("profiles")
    assert res.returncode == 0, res.stderr
    for name in GROUPS:
        assert name in res.stdout
    show = run_cli("profiles", "show", "uitstroom")
    assert show.returncode == 0, show.stderr
    assert "CR 0.013" in show.stdout and "source:" in show.stdout and "Aanwijzing Opiumwet" in show.stdout
    bad = run_cli("profiles", "show", "stil")
    assert bad.returncode == 2 and "unknown profile 'stil'" in bad.stderr and "senioren" in bad.stderr


def test_almere_example_profile_loads() -> None:
    prof = load_profile(EXAMPLE)
    assert [lay.name for lay in prof.layers] == ["groenblauw", "bw"]
    assert prof.layers[0].path == EXAMPLE.parent / "groenblauw-netwerk.gpkg"
    assert any(c.layer == "groenblauw" and c.relation == "outside" for c in prof.constraints)


# --------------------------------------------------------------------------- end to end with a layer


USER_PROFILE = """
name = "bwplus"
title = "Test: afwegingskader met lagen"

[[layer]]
name = "groenblauw"
path = "groenblauw.gpkg"

[[layer]]
name = "bw"
path = "bw.gpkg"

[[constraint]]
layer = "groenblauw"
relation = "outside"
reason = "in het groenblauwe netwerk"

[[constraint]]
indicator = "owner"
op = "in"
value = ["gemeente", "corporatie"]
reason = "geen publieke grond"

[[criterion]]
name = "ov"
label = "OV"
indicator = "dist_pt_stop_m"
weight = 1
function = { type = "decay", half = 400 }

[[criterion]]
name = "spreiding"
label = "Spreiding"
indicator = "dist_bw_straight_m"
weight = 1
function = { type = "logistic", mid = 250, width = 300, better = "higher" }
missing = "best"

[[criterion]]
name = "zorg"
label = "Zorg in de buurt"
indicator = "n_care_straight_500m"
weight = 1
function = { type = "linear", best = 0, worst = 3 }

[sensitivity]
draws = 200
top_k = 2
"""


@pytest.fixture(scope="module")
def layer_run(amsterdam_plots: Path, amsterdam_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("layers")
    plots = gpd.read_file(amsterdam_plots).set_index("plot_id")
    a1 = plots.geometry["A1"]
    # The green-blue network covers half of plot A1; one existing facility sits beside A4.
    gpd.GeoDataFrame(
        geometry=[
            shapely.box(*a1.bounds).intersection(
                shapely.box(a1.bounds[0], a1.bounds[1], a1.centroid.x, a1.bounds[3])
            )
        ],
        crs=28992,
    ).to_file(folder / "groenblauw.gpkg")
    gpd.GeoDataFrame(geometry=[plots.geometry["A4"].centroid], crs=28992).to_file(folder / "bw.gpkg")
    (folder / "bwplus.toml").write_text(USER_PROFILE)
    out = folder / "out"
    res = run_cli(
        "run",
        "--osm",
        AMSTERDAM,
        "--plots",
        amsterdam_plots,
        "--profile",
        folder / "bwplus.toml",
        "--profile",
        "uitstroom",
        "--out",
        out,
        "--cache",
        amsterdam_cache,
        "--layers",
        folder / "l",
    )
    assert res.returncode == 0, res.stderr
    return out


@needs_shared
def test_layer_constraint_and_indicators_end_to_end(layer_run: Path) -> None:
    csv = pd.read_csv(layer_run / "scores.csv", dtype={"plot_id": str}).set_index("plot_id")
    assert csv.loc["A1", "share_in_groenblauw"] == pytest.approx(0.5, abs=0.01)
    assert bool(csv.loc["A1", "in_groenblauw"]) and not bool(csv.loc["A2", "in_groenblauw"])
    assert "in het groenblauwe netwerk (outside layer groenblauw" in csv.loc["A1", "excluded_bwplus"]
    assert "geen publieke grond" in csv.loc["A5", "excluded_bwplus"]  # particulier
    assert pd.isna(csv.loc["A1", "rank_bwplus"]) and pd.isna(csv.loc["A5", "rank_bwplus"])
    assert csv.loc["A4", "dist_bw_straight_m"] == 0.0
    for col in (
        "dist_care_straight_m",
        "n_care_straight_500m",
        "rank_p5_bwplus",
        "rank_p95_bwplus",
        "p_top2_bwplus",
        "p_top5_uitstroom",
    ):
        assert col in csv.columns, col
    man = json.loads((layer_run / "manifest.json").read_text())
    assert len(man["layers"]["groenblauw"]["sha256"]) == 64
    assert man["profiles"]["uitstroom"]["ahp"]["cr"] < 0.1
    assert set(man["surfaces"]) == {"bwplus", "uitstroom"}


@needs_shared
def test_select_and_explain_commands(layer_run: Path, tmp_path: Path) -> None:
    res = run_cli(
        "select",
        "--run",
        layer_run,
        "--profile",
        "bwplus",
        "--k",
        "2",
        "--min-distance",
        "100",
        "--csv",
        tmp_path / "sel.csv",
    )
    assert res.returncode == 0, res.stderr
    sel = pd.read_csv(tmp_path / "sel.csv", dtype={"plot_id": str})
    assert len(sel) <= 2 and not {"A1", "A5"} & set(sel["plot_id"])
    too_many = run_cli("select", "--run", layer_run, "--profile", "bwplus", "--k", "6")
    assert too_many.returncode == 2
    # A1 (green-blue network) and A5 (private land) fail hard constraints; A4 lies 156 m inside the
    # data edge and a third of bwplus's weight looks farther than that, so it is not ranked either.
    assert "k = 6, but only 3 of 6 plots are eligible for profile 'bwplus'" in too_many.stderr
    csv = pd.read_csv(layer_run / "scores.csv", dtype={"plot_id": str}).set_index("plot_id")
    assert csv.loc["A4", "excluded_bwplus"].startswith("onvoldoende gegevens")
    ex = run_cli("explain", "--run", layer_run, "--profile", "bwplus", "--plot", "A1", "--top", "1")
    assert ex.returncode == 0, ex.stderr
    assert "A1 — bwplus" in ex.stdout and "excluded" in ex.stdout
    top = run_cli("explain", "--run", layer_run, "--profile", "uitstroom", "--top", "2")
    assert top.returncode == 0 and top.stdout.count("— uitstroom: score") == 2
    missing = run_cli("explain", "--run", layer_run, "--profile", "senioren")
    assert missing.returncode == 2 and "profiles in this run: bwplus, uitstroom" in missing.stderr
