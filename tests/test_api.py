"""The Python API (sitefinder.Study / Result / Profile) on the real Amsterdam extract, against the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import sitefinder as sf
from sitefinder.errors import ConfigError, UnknownNameError
from tests.conftest import AMSTERDAM, needs_shared, run_cli

pytestmark = [needs_shared]

PROFILES = ["prikkelarm", "levendig"]


@pytest.fixture(scope="module")
def study_in_empty_folder(
    amsterdam_plots: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[sf.Study, sf.Result, Path]:
    """A study with plots given as a GeoDataFrame, scored in an empty working folder without cache_dir."""
    work = tmp_path_factory.mktemp("api-cwd")
    plots = gpd.read_file(amsterdam_plots)
    old = Path.cwd()
    os.chdir(work)
    try:
        study = sf.Study.from_osm(AMSTERDAM, plots=plots)
        result = study.score(PROFILES)
    finally:
        os.chdir(old)
    return study, result, work


def test_nothing_is_written_unless_asked(study_in_empty_folder: tuple[sf.Study, sf.Result, Path]) -> None:
    _, result, work = study_in_empty_folder
    assert list(work.iterdir()) == [], "no cache, layers or outputs in the working folder"
    assert len(result.scores) == 6


def test_scores_indexed_by_plot_id(study_in_empty_folder: tuple[sf.Study, sf.Result, Path]) -> None:
    _, result, _ = study_in_empty_folder
    scores = result.scores
    assert isinstance(scores, gpd.GeoDataFrame)
    assert scores.index.name == "plot_id"
    assert list(scores.index) == [f"A{i}" for i in range(1, 7)]
    assert scores.crs.to_epsg() == 28992
    for p in PROFILES:
        pts = [c for c in scores.columns if c.startswith(f"pts_{p}_")]
        assert (scores[pts].sum(axis=1) - scores[f"score_{p}"]).abs().max() < 0.2


@pytest.mark.slow
def test_cli_and_api_give_byte_identical_scores_csv(
    study_in_empty_folder: tuple[sf.Study, sf.Result, Path],
    amsterdam_plots: Path,
    amsterdam_cache: Path,
    tmp_path: Path,
) -> None:
    _, result, _ = study_in_empty_folder
    saved = result.save(tmp_path / "api", tmp_path / "api-layers")
    assert saved.files["scores.csv"] == tmp_path / "api" / "scores.csv"
    res = run_cli(
        "run", "--osm", AMSTERDAM, "--plots", amsterdam_plots, "--out", tmp_path / "cli",
        "--cache", amsterdam_cache, "--layers", tmp_path / "cli-layers",
        *[a for p in PROFILES for a in ("--profile", p)],
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "cli" / "scores.csv").read_bytes() == (tmp_path / "api" / "scores.csv").read_bytes()


def test_indicators_without_scoring(study_in_empty_folder: tuple[sf.Study, sf.Result, Path]) -> None:
    study, result, _ = study_in_empty_folder
    ind = study.indicators()
    assert not any(c.startswith(("score_", "rank_", "pts_")) for c in ind.columns)
    for col in ("dist_supermarket_m", "dist_gp_m", "n_supermarket_500m", "dist_railway_straight_m"):
        pd.testing.assert_series_equal(ind[col], result.scores[col], check_names=False)


def test_profile_with_weights_in_code(study_in_empty_folder: tuple[sf.Study, sf.Result, Path]) -> None:
    study, result, _ = study_in_empty_folder
    base = sf.Profile.load("levendig")
    names = [c.name for c in base.criteria]
    only = names[0]
    single = base.with_weights(dict.fromkeys(names[1:], 0.0))
    assert single.weights()[only] == 1.0
    res = study.score([single])
    scores = res.scores
    # All weight on the supermarket criterion (linear, best 300 m, worst 1000 m in levendig.toml):
    # the score is 100 x its utility, computed here from the walking distance.
    assert only == "supermarkt" and base.criteria[0].indicator == "dist_supermarket_m"
    d = scores["dist_supermarket_m"].to_numpy(dtype=float)
    expected = 100 * np.clip((1000 - d) / 700, 0, 1)
    ok = (scores["excluded_levendig"] == "").to_numpy()
    assert ok.sum() >= 3
    np.testing.assert_allclose(scores.loc[ok, "score_levendig"], expected[ok], atol=0.06)
    assert study.score([base]).scores["score_levendig"].equals(result.scores["score_levendig"])
    with pytest.raises(UnknownNameError, match=r"no criterion 'gewicht'"):
        base.with_weights(gewicht=2)
    with pytest.raises(ConfigError, match="weight"):
        base.with_weights({only: -1})


def test_explain_map_and_compare(
    study_in_empty_folder: tuple[sf.Study, sf.Result, Path], tmp_path: Path
) -> None:
    _, result, _ = study_in_empty_folder
    ex = result.explain("A1", "levendig")
    assert "A1" in str(ex)
    with pytest.raises(UnknownNameError, match="senioren"):
        result.explain("A1", "senioren")
    path = result.to_map(tmp_path / "kaart.html", tiles="none")
    html = path.read_text("utf-8")
    assert path == tmp_path / "kaart.html"
    assert all(f'"A{i}"' in html for i in range(1, 7))
    memo = result.compare(["A1", "A3"], tmp_path / "memo.html")
    text = memo.read_text("utf-8")
    assert memo == tmp_path / "memo.html" and "A1" in text and "A3" in text
    assert (tmp_path / "memo.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kaart.html", "memo.csv", "memo.html"]
