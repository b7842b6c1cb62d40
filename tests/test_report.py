"""``sitefinder compare``: the side-by-side report (HTML) and table (CSV), and its bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import Affine

from sitefinder import RESULT_FORMAT_VERSION, __version__
from sitefinder.errors import RunFolderError, UnknownNameError
from sitefinder.io.manifest import Manifest, write_manifest
from sitefinder.render.map import MapInputs
from sitefinder.render.report import comparison_table, open_run, render_report, select_plots
from sitefinder.render.tables import write_tables
from tests.conftest import AMSTERDAM, needs_shared, run_cli
from tests.test_map import synthetic_town


def write_run_folder(inputs: MapInputs, out: Path, *, noise_layer: bool = True) -> Path:
    """A run folder as ``sitefinder run`` writes it (scores, manifest, noise layer), from map inputs."""
    import geopandas as gpd

    out.mkdir(parents=True, exist_ok=True)
    attributes = pd.DataFrame(inputs.plots.drop(columns="geometry"))
    scores = gpd.GeoDataFrame(
        pd.concat([attributes, inputs.indicators, *[r.table for r in inputs.profiles]], axis=1),
        geometry=inputs.plots.geometry,
        crs=inputs.plots.crs,
    )
    scores.index.name = "plot_id"
    write_tables(scores, out)
    noise: dict[str, object] | None = None
    if inputs.noise is not None:
        noise = {"modelled": inputs.noise.modelled}
        if noise_layer:
            tif = out.parent / f"{out.name}-noise.tif"
            grid = inputs.noise
            with rasterio.open(
                tif, "w", driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1,
                dtype="float32", crs=grid.crs.to_wkt(), transform=Affine(*grid.transform[:6]), nodata=np.nan,
            ) as dst:  # fmt: skip
                dst.write(grid.lden.astype("float32"), 1)
            noise["layer"] = str(tif)
    manifest = {
        "sitefinder_version": __version__,
        "format_version": RESULT_FORMAT_VERSION,
        "created": "2026-01-15T10:30:00+00:00",
        "working_crs": "EPSG:28992",
        "config": {"title": "Testgemeente", "categories_file": None},
        "sources": {"osm": {"path": "/data/test.osm", "sha256": "ab" * 32}},
        "counts": {"plots": len(inputs.plots), "amenities": {}, "network_nodes": 0},
        "profiles": {r.profile.name: r.manifest_entry() for r in inputs.profiles},
        "noise": noise,
    }
    # Through the model the writer uses, so that a manifest the reader refuses fails here.
    write_manifest(Manifest.model_validate(manifest), out)
    return out


@pytest.fixture(scope="module")
def town() -> MapInputs:
    return synthetic_town(n_side=4, n_amenities=40)


@pytest.fixture(scope="module")
def run_dir(town: MapInputs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run_folder(town, tmp_path_factory.mktemp("report") / "run")


def _excluded_and_eligible(town: MapInputs) -> tuple[str, str]:
    t = town.profiles[0].table
    p = town.profiles[0].profile.name
    excluded = t.index[t[f"excluded_{p}"] != ""]
    eligible = t.index[t[f"excluded_{p}"] == ""]
    assert len(excluded) and len(eligible), "the synthetic town has both kinds of plots"
    return str(excluded[0]), str(eligible[0])


def test_compare_writes_html_and_csv(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "memo" / "kavels.html"
    res = run_cli("compare", "K0001", "K0006", "K0011", "--run", run_dir, "--out", out)
    assert res.returncode == 0, res.stderr
    assert out.is_file()
    assert out.with_suffix(".csv").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["kavels.csv", "kavels.html"], "no temp files"


def test_default_output_goes_into_the_run_folder(run_dir: Path) -> None:
    res = run_cli("compare", "K0002", "K0003", "--run", run_dir)
    assert res.returncode == 0, res.stderr
    assert (run_dir / "vergelijking_K0002_K0003.html").is_file()
    assert (run_dir / "vergelijking_K0002_K0003.csv").is_file()


def test_csv_puts_plots_side_by_side(town: MapInputs, run_dir: Path) -> None:
    run = open_run(run_dir)
    ids = ["K0001", "K0007"]
    table = comparison_table(run, ids)
    assert list(table.columns) == ["onderdeel", "kenmerk", "eenheid", "kolom", *ids]
    cols = set(table["kolom"])
    for res in town.profiles:
        p = res.profile.name
        assert {f"score_{p}", f"rank_{p}", f"excluded_{p}"} <= cols
        assert {c for c in res.table.columns if c.startswith(f"pts_{p}_")} <= cols
        assert f"rank_p95_{p}" in cols, "sensitivity columns are compared when present"
    assert set(town.indicators.columns) <= cols, "every indicator"
    assert {"naam", "eigenaar"} <= cols, "the plots' own attributes"
    row = table.set_index("kolom").loc["dist_supermarket_m"]
    assert row["eenheid"] == "m"
    assert row["K0001"] == pytest.approx(town.indicators.loc["K0001", "dist_supermarket_m"])
    ranks = table.set_index("kolom").loc["rank_levendig", ids]
    assert all(v is None or isinstance(v, int) for v in ranks), "ranks are whole numbers"


def test_html_report_content(town: MapInputs, run_dir: Path) -> None:
    run = open_run(run_dir)
    bad, good = _excluded_and_eligible(town)
    ids = [bad, good]
    page = render_report(run, ids)
    for pid in ids:
        assert f"{pid} – {town.plots.loc[pid, 'naam']}" in page
    for res in town.profiles:
        assert f"Profiel: {res.profile.title}" in page
        for c in res.profile.criteria:
            if f"pts_{res.profile.name}_{c.name}" in res.table.columns:
                assert c.label in page, "criterion labels in the chart"
    assert page.count('class="sf-chart"') == len(town.profiles), "one chart per profile"
    assert page.count('class="sf-minimap"') == len(ids), "one small map per plot"
    assert "data:image/png;base64," in page, "noise layer as the map background"
    reason = town.profiles[0].table.loc[bad, f"excluded_{town.profiles[0].profile.name}"].split(";")[0]
    assert reason.split(" (")[0] in page, "the failing constraint is named"
    assert "voldoet aan alle harde eisen" in page
    assert "Loopafstand tot supermarkt <span class='unit'>(m)</span>" in page
    assert "Oppervlakte <span class='unit'>(m²)</span>" in page
    assert "gemodelleerd" in page
    assert "OpenStreetMap-bijdragers" in page


def test_html_report_is_self_contained_and_printable(run_dir: Path) -> None:
    page = render_report(open_run(run_dir), ["K0001", "K0002"])
    assert not re.search(r"""(?:src|href)\s*=\s*["']https?://""", page)
    assert "<script" not in page, "a static page"
    assert "@page { size: A4" in page
    assert "@media print" in page
    assert "break-before: page" in page


def test_report_without_noise_layer(town: MapInputs, tmp_path: Path) -> None:
    run = open_run(write_run_folder(town, tmp_path / "run", noise_layer=False))
    page = render_report(run, ["K0001"])
    assert page.count('class="sf-minimap"') == 1
    assert "data:image/png" not in page


def test_unknown_plot_id_suggests_near_ids(run_dir: Path) -> None:
    res = run_cli("compare", "K0001", "K00002", "--run", run_dir)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "unknown plot id 'K00002'" in lines[0]
    assert "did you mean" in lines[0] and "K0002" in lines[0]
    assert "Traceback" not in res.stderr


def test_unknown_plot_id_in_library(run_dir: Path) -> None:
    run = open_run(run_dir)
    with pytest.raises(UnknownNameError, match="k0001"):
        select_plots(run, ["k0001"])  # case differs: suggested, not guessed
    assert select_plots(run, ["K0003", "K0001", "K0003"]) == ["K0003", "K0001"]


def test_run_folder_without_results(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_cli("compare", "A1", "--run", empty)
    assert res.returncode == 2
    assert "no results" in res.stderr and "sitefinder run" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_cli("compare", "A1", "--run", tmp_path / "missing")
    assert res.returncode == 2
    assert "no such folder" in res.stderr


def test_run_folder_missing_scores(run_dir: Path, tmp_path: Path) -> None:
    half = tmp_path / "half"
    half.mkdir()
    (half / "manifest.json").write_text((run_dir / "manifest.json").read_text("utf-8"), encoding="utf-8")
    with pytest.raises(RunFolderError, match=r"scores\.gpkg is missing"):
        open_run(half)


def test_results_of_an_older_format_version(run_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    for name in ("scores.gpkg", "scores.csv"):
        (old / name).write_bytes((run_dir / name).read_bytes())
    manifest = json.loads((run_dir / "manifest.json").read_text("utf-8"))
    manifest["format_version"] = RESULT_FORMAT_VERSION - 1
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    res = run_cli("compare", "K0001", "--run", old)
    assert res.returncode == 2
    assert f"format version {RESULT_FORMAT_VERSION - 1}" in res.stderr
    assert "re-run" in res.stderr
    assert "Traceback" not in res.stderr


def test_corrupt_manifest(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RunFolderError, match="not readable JSON"):
        open_run(bad)


@pytest.mark.shared
@needs_shared
def test_compare_on_a_real_run(amsterdam_plots: Path, amsterdam_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = run_cli("run", "--osm", AMSTERDAM, "--plots", amsterdam_plots, "--out", out,
                  "--cache", amsterdam_cache, "--layers", tmp_path / "layers", "--tiles", "none")  # fmt: skip
    assert res.returncode == 0, res.stderr
    res = run_cli("compare", "A1", "A3", "--run", out)
    assert res.returncode == 0, res.stderr
    page = (out / "vergelijking_A1_A3.html").read_text("utf-8")
    assert "Prikkelarm" in page and "Levendig" in page
    csv = pd.read_csv(out / "vergelijking_A1_A3.csv")
    assert list(csv.columns[-2:]) == ["A1", "A3"]
