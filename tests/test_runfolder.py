"""A run folder read back: the typed manifest, and the points every reader derives from its weights."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from sitefinder.cli import main
from sitefinder.errors import RunFolderError
from sitefinder.io.manifest import manifest_json
from sitefinder.io.runfolder import read_manifest, read_run
from tests.tinytown import Town, fails, make_town, run_args


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Town:
    return make_town(tmp_path_factory.mktemp("manifest") / "town")


@pytest.fixture(scope="module")
def done(town: Town) -> Path:
    out = town.root / "done"
    assert main(run_args(town, out, "--profile", "prikkelarm", "--profile", "senioren")) == 0
    return out


def test_the_written_manifest_reads_back_as_written(done: Path) -> None:
    text = (done / "manifest.json").read_text("utf-8")
    raw = json.loads(text)
    man = read_manifest(done)
    # Round trip: the model holds every key of the file, and writes the file again byte for byte.
    assert manifest_json(man) == text
    assert man.model_dump(mode="json", exclude_unset=True) == raw
    # The values the readers use, checked against the file itself.
    assert list(man.profiles) == ["prikkelarm", "senioren"] == list(raw["profiles"])
    assert man.profiles["senioren"].weights == raw["profiles"]["senioren"]["weights"]
    assert abs(sum(man.profiles["senioren"].weights.values()) - 1.0) < 1e-3
    assert man.profiles["prikkelarm"].source == "built-in profile prikkelarm"
    assert man.counts.plots == 4
    assert man.config_value("map_tiles") == "none"
    assert set(man.surfaces) == {"prikkelarm", "senioren"}
    for rel in man.surfaces.values():
        assert (done / rel).is_file()
    run = read_run(done)
    assert run.manifest == man
    assert run.profile_entry("senioren").eligible == int(
        (run.scores["excluded_senioren"].fillna("") == "").sum()
    )


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda m: m["profiles"]["senioren"].update(weights="veel"), "profiles.senioren.weights"),
        (lambda m: m["counts"].pop("plots"), "counts.plots"),
        (lambda m: m["profiles"]["senioren"].pop("source"), "profiles.senioren.source"),
        (lambda m: m.update(extra_key=1), "extra_key"),
        (lambda m: m["noise"].update(modelled="misschien"), "noise.modelled"),
    ],
)
def test_a_bad_manifest_is_one_line_naming_file_and_key(
    done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: object, key: str
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "scores.gpkg").write_bytes((done / "scores.gpkg").read_bytes())
    raw = json.loads((done / "manifest.json").read_text("utf-8"))
    change(raw)  # type: ignore[operator]
    (bad / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(RunFolderError) as exc:
        read_manifest(bad)
    assert str(exc.value).count("\n") == 0
    fails(capsys, ["explain", "--run", str(bad), "--profile", "senioren"], "manifest.json", repr(key))


def test_an_old_manifest_names_its_version(
    done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "scores.gpkg").write_bytes((done / "scores.gpkg").read_bytes())
    raw = json.loads((done / "manifest.json").read_text("utf-8"))
    raw["format_version"] = 0
    del raw["counts"]  # an old layout as well: the version is named, not the missing key
    (old / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    fails(
        capsys,
        ["select", "--run", str(old), "--profile", "senioren", "--k", "2"],
        "format version 0",
        "re-run",
    )


@pytest.mark.parametrize("profile", ["prikkelarm", "senioren"])
def test_every_reader_gives_a_criterion_the_same_maximum(done: Path, profile: str) -> None:
    from sitefinder.render.report import open_run
    from sitefinder.scoring.explain import explain
    from sitefinder.scoring.score import run_profile_result

    run = read_run(done)
    weights = run.manifest.profiles[profile].weights
    result = run_profile_result(run, profile)
    info = next(p for p in open_run(done).profiles if p.name == profile)
    report_max = {c.name: c.max_points for c in info.criteria}
    # The report's maximum: the criterion's share of the run's weights, in points of 100.
    total = sum(weights.values())
    assert report_max == {k: round(100.0 * w / total, 2) for k, w in weights.items()}
    assert abs(sum(report_max.values()) - 100.0) < 0.05
    checked = 0
    for pid in run.scores.index:
        row = run.scores.loc[pid]
        judged = {k: not pd.isna(row[f"pts_{profile}_{k}"]) for k in weights}
        if not any(judged.values()):
            continue
        # By hand: the weight of the criteria the data judge for this plot is shared over them.
        w_judged = sum(w for k, w in weights.items() if judged[k])
        expected = {k: (100.0 * w / w_judged if judged[k] else 0.0) for k, w in weights.items()}
        parts = {q.name: q for q in explain(result, pid).parts}
        for k in weights:
            assert parts[k].max_points == pytest.approx(expected[k], abs=0.01)
            # Points never exceed the maximum (the published points are rounded to 0.01).
            assert parts[k].points <= parts[k].max_points + 0.006
            if all(judged.values()):
                assert round(parts[k].max_points, 2) == pytest.approx(report_max[k], abs=0.011)
        checked += 1
        # The score is the sum of the points (both as published, rounded).
        pts = np.array([parts[k].points for k in weights])
        assert float(row[f"score_{profile}"]) == pytest.approx(pts.sum(), abs=0.05 + 0.005 * len(pts))
    assert checked > 0


def test_the_run_folder_keeps_the_routes_of_the_indicator_stage(done: Path) -> None:
    run = read_run(done)
    entry = run.manifest.routes
    assert entry is not None and entry.path == "routes.parquet"
    routes = run.routes()
    assert routes is not None
    assert routes.categories == ("supermarket", "gp", "pt_stop") == tuple(entry.categories)
    table = routes.table
    assert len(table) == entry.count > 0
    assert table.crs == run.scores.crs
    # Every route's length is the plot's walking distance in scores.gpkg; a plot without a
    # distance has no route.
    for cat in routes.categories:
        dist = run.scores[f"dist_{cat}_m"]
        mine = table[table["category"] == cat].set_index("plot_id")
        assert set(mine.index) == set(dist.dropna().index)
        assert np.allclose(mine["distance_m"], dist.loc[mine.index], atol=0.5)
        # A route starts at its plot: its first point lies on (or in) the plot.
        for pid, line in mine.geometry.items():
            assert run.scores.geometry[pid].distance(shapely.Point(line.coords[0])) < 0.01
    # The map of the run draws these routes: same distances, and the amenity names stored.
    block = _map_data((done / "map.html").read_text("utf-8"))["routes"]
    assert [c["name"] for c in block["categories"]] == list(routes.categories)
    drawn = {
        (pid, cat): (row[k][0], row[k][1])
        for pid, row in zip(run.scores.index, block["by_plot"], strict=True)
        if row is not None
        for k, cat in enumerate(routes.categories)
        if row[k] is not None
    }
    assert drawn == {(r.plot_id, r.category): (round(r.distance_m, 1), r.amenity) for r in table.itertuples()}


def test_the_map_draws_the_stored_routes_without_routing(
    town: Town, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sitefinder as sf
    import sitefinder.routes

    study = sf.Study.from_osm(town.osm, plots=town.plots, model_noise=False)
    result = study.score(["senioren"])
    assert result.scored.base.routes is not None and len(result.scored.base.routes.table) > 0

    def no_routing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the map must not route again")

    monkeypatch.setattr(sitefinder.routes, "nearest_routes", no_routing)
    page = result.to_map(tmp_path / "map.html", tiles="none").read_text("utf-8")
    block = _map_data(page)["routes"]
    assert block is not None and any(row is not None for row in block["by_plot"])


def _map_data(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="sf-data">(.*?)</script>', page, re.S)
    assert m, "the page carries its data block"
    data: dict[str, Any] = json.loads(m.group(1))
    return data
