"""Region definitions and the incremental refresh (offline: sample-town regions)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sitefinder.errors import ConfigError, UnknownNameError
from sitefinder.regions import load_region, region_names
from tests.conftest import REPO, refresh_args, run_cli, run_cli_subprocess


def test_shipped_regions_are_valid() -> None:
    assert {"almere", "sample"} <= set(region_names(REPO / "data" / "regions"))
    almere = load_region("almere", REPO / "data" / "regions")
    assert almere.boundary is not None and almere.boundary.pdok_gemeente == "GM0034"
    assert almere.osm.overpass_place == "Almere, Flevoland, Nederland"
    assert almere.working_crs == "EPSG:28992"


def test_unknown_region_lists_names() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown region 'utrecht'.*almere, sample"):
        load_region("utrecht", REPO / "data" / "regions")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('name = "x"\ntitle = "X"\nkleur = "rood"\n[osm]\nfile = "a.osm"\n', "unknown key 'kleur'"),
        ('name = "x"\n[osm]\nfile = "a.osm"\n', "missing required key 'title'"),
        (
            'name = "x"\ntitle = "X"\n[osm]\nfile = "a.osm"\noverpass_place = "X"\n',
            "exactly one of overpass_place",
        ),
        (
            'name = "x"\ntitle = "X"\n[boundary]\npdok_gemeente = "0034"\n[osm]\nfile = "a.osm"\n',
            "boundary.pdok_gemeente",
        ),
    ],
)
def test_bad_region_files(tmp_path: Path, body: str, fragment: str) -> None:
    (tmp_path / "x.toml").write_text(body)
    with pytest.raises(ConfigError, match=fragment):
        load_region("x", tmp_path)
    res = run_cli("refresh", "x", "--regions-dir", tmp_path, "--maps-dir", tmp_path / "maps")
    assert res.returncode == 2
    assert "x.toml" in res.stderr and fragment in res.stderr and "Traceback" not in res.stderr


def _region(folder: Path, name: str, seed: int) -> Path:
    p = folder / f"{name}.toml"
    p.write_text(
        f'name = "{name}"\ntitle = "{name}"\nprofiles = ["levendig"]\n[osm]\nsample = {{ seed = {seed}, scale = 0.1 }}\n'
    )
    return p


@pytest.mark.slow
def test_refresh_twice_does_nothing_and_an_edit_rebuilds_one(tmp_path: Path) -> None:
    regions = tmp_path / "regions"
    regions.mkdir()
    _region(regions, "oost", 1)
    west = _region(regions, "west", 2)
    args = refresh_args(tmp_path, regions=regions)
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["oost: rebuilt", "west: rebuilt"]
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "maps").rglob("*") if p.is_file()}
    second = run_cli(*args)
    assert second.stdout.splitlines() == ["oost: up to date", "west: up to date"]
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes, "nothing was rewritten"
    time.sleep(0.01)
    os.utime(west)
    touched = run_cli(*args)
    assert touched.stdout.splitlines() == ["oost: up to date", "west: up to date"], "keys are content"
    west.write_text(west.read_text().replace('title = "west"', 'title = "West (herzien)"'))
    third = run_cli(*args)
    assert third.stdout.splitlines() == ["oost: up to date", "west: rebuilt"]


@pytest.mark.slow
def test_refresh_rebuilds_after_a_schema_change_not_after_a_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sitefinder
    from sitefinder import products

    regions = tmp_path / "regions"
    regions.mkdir()
    _region(regions, "stad", 4)
    args = refresh_args(tmp_path, regions=regions)
    assert run_cli(*args).stdout.splitlines() == ["stad: rebuilt"]
    monkeypatch.setattr(sitefinder, "__version__", "99.0.0")
    assert run_cli(*args).stdout.splitlines() == ["stad: up to date"], "a new version alone changes nothing"
    sample_dir = next((tmp_path / "cache" / "sample").iterdir())
    made = {p: p.stat().st_mtime_ns for p in sample_dir.iterdir()}
    monkeypatch.setitem(products.SCHEMA_VERSIONS, "run", products.SCHEMA_VERSIONS["run"] + 1)
    res = run_cli(*args)
    assert res.stdout.splitlines() == ["stad: rebuilt"], res.stderr
    assert {p: p.stat().st_mtime_ns for p in sample_dir.iterdir()} == made, "the sample town is reused"
    monkeypatch.setitem(products.SCHEMA_VERSIONS, "sample", products.SCHEMA_VERSIONS["sample"] + 1)
    res = run_cli(*args)
    assert res.stdout.splitlines() == ["stad: rebuilt"] and "Generated the sample town" in res.stderr


@pytest.mark.slow
def test_failed_refresh_keeps_previous_outputs(tmp_path: Path) -> None:
    regions = tmp_path / "regions"
    regions.mkdir()
    reg = _region(regions, "stad", 3)
    args = refresh_args(tmp_path, regions=regions)
    assert run_cli(*args).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "maps" / "stad").iterdir()}
    reg.write_text(reg.read_text().replace('profiles = ["levendig"]', 'profiles = ["bestaatniet"]'))
    res = run_cli_subprocess(*args)  # end to end, as a user sees it
    assert res.returncode == 2 and "unknown profile 'bestaatniet'" in res.stderr
    assert "Traceback" not in res.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "maps" / "stad").iterdir()} == before
