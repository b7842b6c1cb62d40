"""End to end on the real Amsterdam extract: files written, scores plausible, outputs atomic."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from sitefinder import RESULT_FORMAT_VERSION, __version__
from sitefinder.scoring.profiles import builtin_names
from tests.conftest import AMSTERDAM, needs_shared, run_cli, run_cli_subprocess

pytestmark = [needs_shared]


@pytest.fixture(scope="module")
def adam_run(amsterdam_plots: Path, amsterdam_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adam-run") / "out"
    cache = amsterdam_cache
    res = run_cli(
        "run",
        "--osm",
        AMSTERDAM,
        "--plots",
        amsterdam_plots,
        "--out",
        out,
        "--cache",
        cache,
        "--layers",
        out.parent / "layers",
    )
    assert res.returncode == 0, res.stderr
    return out


def test_run_writes_the_four_outputs(adam_run: Path) -> None:
    gpkg = gpd.read_file(adam_run / "scores.gpkg", layer="scores")
    csv = pd.read_csv(adam_run / "scores.csv", dtype={"plot_id": str})
    assert list(gpkg["plot_id"]) == list(csv["plot_id"]) == [f"A{i}" for i in range(1, 7)]
    html = (adam_run / "map.html").read_text("utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    man = json.loads((adam_run / "manifest.json").read_text("utf-8"))
    assert man["counts"]["plots"] == 6
    assert not list(adam_run.glob(".*")), "no temporary or staging files are left behind"


def test_scores_table_columns_and_units(adam_run: Path) -> None:
    csv = pd.read_csv(adam_run / "scores.csv", dtype={"plot_id": str})
    gpkg = gpd.read_file(adam_run / "scores.gpkg", layer="scores")
    assert list(csv["plot_id"]) == [f"A{i}" for i in range(1, 7)]
    assert gpkg.crs.to_epsg() == 28992
    assert len(gpkg) == 6
    for col in (
        "area_m2",
        "dist_supermarket_m",
        "dist_gp_m",
        "dist_pharmacy_m",
        "dist_pt_stop_m",
        "dist_meeting_place_m",
        "dist_green_m",
        "dist_school_m",
        "dist_care_m",
        "n_supermarket_500m",
        "dist_nightlife_straight_m",
        "dist_major_road_straight_m",
        "dist_railway_straight_m",
    ):
        assert col in csv.columns, col
    for p in ("prikkelarm", "levendig"):
        for col in (f"score_{p}", f"rank_{p}", f"excluded_{p}"):
            assert col in csv.columns
        pts = [c for c in csv.columns if c.startswith(f"pts_{p}_")]
        assert pts, "each criterion's contribution is in the table"
        # The contributions add up to the score: every score is explainable from the table.
        assert (csv[pts].sum(axis=1) - csv[f"score_{p}"]).abs().max() < 0.2
        assert csv[f"score_{p}"].between(0, 100).all()
    # 35 m half-width squares: 70 m x 70 m = 4,900 m2 (RD New is conformal, scale ~1).
    assert csv["area_m2"].between(4800, 5000).all()


def test_lively_centre_scores_higher_for_levendig(adam_run: Path) -> None:
    csv = pd.read_csv(adam_run / "scores.csv")
    assert csv["score_levendig"].mean() > csv["score_prikkelarm"].mean()
    # Nightlife is everywhere in the canal ring: within 150 m of every plot.
    assert (csv["dist_nightlife_straight_m"] < 150).all()
    assert (csv["n_nightlife_500m"] > 5).all()


def test_manifest_records_provenance(adam_run: Path) -> None:
    man = json.loads((adam_run / "manifest.json").read_text())
    assert man["format_version"] == RESULT_FORMAT_VERSION
    assert man["sitefinder_version"] == __version__
    assert man["working_crs"] == "EPSG:28992"
    assert len(man["sources"]["osm"]["sha256"]) == 64
    assert len(man["sources"]["plots"]["sha256"]) == 64
    assert man["counts"]["amenities"]["supermarket"] == 6


def test_map_has_profile_layers_legend_and_attribution(adam_run: Path) -> None:
    html = (adam_run / "map.html").read_text()
    assert "Prikkelarm wonen" in html and "Levendig en dichtbij voorzieningen" in html
    assert "OpenStreetMap" in html
    assert "Kavels: score voor het gekozen profiel (0–100 punten)" in html
    assert "Voorzieningen" in html
    # A suitability surface per profile ("where to look for new sites") is a switchable layer.
    for title in ("Prikkelarm wonen", "Levendig en dichtbij voorzieningen"):
        assert f"Zoekgebied {title}" in html
    man = json.loads((adam_run / "manifest.json").read_text())
    # A run without --profile scores every built-in target group.
    assert set(man["surfaces"]) == set(builtin_names()) == set(man["profiles"])
    assert {"senioren", "uitstroom", "jongeren", "beperking"} <= set(man["profiles"])
    assert all(Path(p).exists() for p in man["surfaces"].values())


def test_failed_run_keeps_previous_outputs(
    adam_run: Path,
    amsterdam_plots: Path,
    amsterdam_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The map fails after the tables were staged: the folder still holds the previous run, unchanged."""
    from sitefinder import pipeline

    before = {p.name: p.read_bytes() for p in adam_run.iterdir()}
    staged: list[Path] = []

    def failing_map(inputs: object, path: Path) -> None:
        staged.extend(sorted(path.parent.iterdir()))
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(pipeline, "write_map", failing_map)
    with pytest.raises(OSError, match="No space left on device"):
        run_cli(
            "run", "--osm", AMSTERDAM, "--plots", amsterdam_plots, "--out", adam_run,
            "--cache", amsterdam_cache, "--layers", tmp_path / "layers", "--profile", "levendig",
        )  # fmt: skip
    # The failure came inside the staging folder, after new tables were written there.
    assert {"scores.csv", "scores.gpkg"} <= {p.name for p in staged}
    assert "map.html" not in {p.name for p in staged}
    assert staged[0].parent.name.startswith(".staging-") and not staged[0].parent.exists()
    assert {p.name: p.read_bytes() for p in adam_run.iterdir()} == before
    assert not (tmp_path / "layers").exists(), "derived layers are written only after the map rendered"


@pytest.mark.slow
def test_candidate_plots_from_osm_landuse(tmp_path: Path) -> None:
    """End to end in a new interpreter, as a user runs it."""
    res = run_cli_subprocess(
        "run",
        "--osm",
        AMSTERDAM,
        "--out",
        tmp_path / "o",
        "--cache",
        tmp_path / "c",
        "--layers",
        tmp_path / "l",
    )
    assert res.returncode == 0, res.stderr
    csv = pd.read_csv(tmp_path / "o" / "scores.csv")
    # The extract holds exactly one landuse=construction|brownfield|greenfield polygon.
    assert len(csv) == 1
    assert csv["plot_id"].str.startswith("way-").all()
