"""Nothing is written where it should not be: safe names, confined writes, layers in the run folder.

Each bad case runs ``sitefinder.cli.main`` in-process against the tiny town and checks
the one-line message, exit status 2, and that the previous run's outputs are
byte-identical afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sitefinder.cli import build_parser, main
from sitefinder.commands.run import config_from_args
from sitefinder.io.paths import remove_stale_staging, slug
from tests.tinytown import Town, digest, fails, make_town, run_args


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Town:
    return make_town(tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="module")
def done(town: Town, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of the tiny town (its outputs must never change in the bad cases)."""
    out = tmp_path_factory.mktemp("runs") / "town"
    assert main(run_args(town, out, "-q")) == 0
    return out


def test_layers_belong_to_the_run(done: Path) -> None:
    man = json.loads((done / "manifest.json").read_text("utf-8"))
    assert man["noise"]["layer"] == "layers/noise_lden_modelled.tif"
    assert (done / man["noise"]["layer"]).is_file()
    for name, rel in man["surfaces"].items():
        assert rel == f"layers/suitability_{name}.tif"
        assert (done / rel).is_file()
    assert not list(done.glob(".staging-*")), "no staging folder is left"


def test_two_runs_with_the_same_name_keep_their_own_layers(
    town: Town, done: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = digest(done)
    other = tmp_path / "elders" / "town"
    assert main(run_args(town, other, "-q", "--no-noise-model")) == 0
    assert digest(done) == before, "the first run's layers were not touched"
    assert not (tmp_path / "layers").exists(), "nothing goes to ./layers"
    man = json.loads((other / "manifest.json").read_text("utf-8"))
    assert man["noise"] is None
    assert sorted(p.name for p in (other / "layers").iterdir()) == sorted(
        f"suitability_{n}.tif" for n in man["surfaces"]
    )


def test_manifest_profile_paths_are_absolute(
    town: Town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib
    from importlib import resources

    monkeypatch.chdir(tmp_path)
    text = resources.files("sitefinder").joinpath("profiles/prikkelarm.toml").read_text("utf-8")
    assert tomllib.loads(text)["name"] == "prikkelarm"
    (tmp_path / "mijn.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    assert main(run_args(town, out, "-q", "--no-noise-model", "--profile", "mijn.toml")) == 0
    man = json.loads((out / "manifest.json").read_text("utf-8"))
    assert man["profiles"]["prikkelarm"]["source"] == str(tmp_path / "mijn.toml")
    # explain from another folder still finds the profile
    monkeypatch.chdir(town.root)
    first = json.loads((out / "manifest.json").read_text("utf-8"))
    assert first["profiles"]
    assert main(["explain", "--run", str(out), "--profile", "prikkelarm", "--plot", "P1", "-q"]) == 0


def test_compare_refuses_to_overwrite_run_outputs(done: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = digest(done)
    for target in ("scores.html", "map.html", "scores", "layers/x.html"):
        fails(capsys, ["compare", "P1", "P2", "--run", str(done), "--out", str(done / target)], "overwrite")
    assert digest(done) == before


def test_compare_elsewhere_works(done: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "P1", "P2", "--run", str(done), "--out", "memo.html", "-q"]) == 0
    assert (tmp_path / "memo.html").is_file() and (tmp_path / "memo.csv").is_file()


def test_category_name_cannot_leave_the_cache(
    town: Town, done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "PWNED-keep.npy").write_bytes(b"mine")
    cats = tmp_path / "cats.toml"
    cats.write_text(
        f'["../../../../{victim.name}/PWNED"]\nlabel = "x"\nmatch = [{{ shop = "supermarket" }}]\n',
        encoding="utf-8",
    )
    before = digest(done)
    fails(capsys, [*run_args(town, done, "--categories", cats)], str(cats), "category name", "not allowed")
    assert (victim / "PWNED-keep.npy").read_bytes() == b"mine"
    assert digest(done) == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            '[supermarket]\nlabel = "Supermarkt"\nmatch = [{ shop = false }]\n',
            "shop = false cannot be matched",
        ),
        ('[supermarket]\nlabel = "Supermarkt"\nmatch = [{ shop = [] }]\n', "matches nothing"),
        ('["Super Markt"]\nlabel = "x"\nmatch = [{ shop = "x" }]\n', "category name 'Super Markt'"),
    ],
)
def test_bad_categories(
    town: Town, done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, fragment: str
) -> None:
    cats = tmp_path / "cats.toml"
    cats.write_text(body, encoding="utf-8")
    before = digest(done)
    fails(capsys, [*run_args(town, done, "--categories", cats)], fragment)
    assert digest(done) == before


@pytest.mark.parametrize("kind", ["profile", "categories"])
def test_non_utf8_toml(
    town: Town, done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    f = tmp_path / f"{kind}.toml"
    f.write_bytes('name = "café"\n'.encode("latin-1"))
    opt = "--profile" if kind == "profile" else "--categories"
    fails(capsys, [*run_args(town, done, opt, f)], str(f), "not UTF-8", "line 1", "save the file as UTF-8")


def test_non_utf8_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    regions = tmp_path / "regions"
    regions.mkdir()
    (regions / "polder.toml").write_bytes('name = "polder"\ntitle = "Pölder"\n'.encode("utf-16"))
    fails(capsys, ["refresh", "polder", "--regions-dir", str(regions)], "polder.toml", "not UTF-8")


def test_region_name_cannot_leave_the_regions_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    regions = tmp_path / "regions"
    regions.mkdir()
    (tmp_path / "x.toml").write_text('name = "x"\ntitle = "X"\n[osm]\nfile = "a.osm"\n', encoding="utf-8")
    fails(capsys, ["refresh", "../x", "--regions-dir", str(regions)], "region name '../x' is not allowed")


def test_geofabrik_url_only_from_geofabrik(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    regions = tmp_path / "regions"
    regions.mkdir()
    (regions / "polder.toml").write_text(
        'name = "polder"\ntitle = "Polder"\n[osm]\ngeofabrik_url = "http://169.254.169.254/latest.osm.pbf"\n',
        encoding="utf-8",
    )
    fails(
        capsys,
        ["refresh", "polder", "--regions-dir", str(regions), "--cache", str(tmp_path / "c")],
        "polder.toml",
        "not a Geofabrik download address",
        "download.geofabrik.de",
    )
    assert not (tmp_path / "c").exists(), "nothing fetched, nothing cached"


def test_place_without_out_stays_in_maps() -> None:
    args = build_parser().parse_args(["run", "--place", "../../x, Flevoland"])
    assert config_from_args(args).out_dir == Path("maps") / "x"
    args = build_parser().parse_args(["run", "--place", "..", "--plots", "p.gpkg"])
    assert config_from_args(args).out_dir == Path("maps") / "place"
    args = build_parser().parse_args(["run", "--osm", "..osm"])
    assert config_from_args(args).out_dir == Path("maps") / "osm"
    assert slug("’s-Hertogenbosch, Noord-Brabant") == "s-hertogenbosch-noord-brabant"


@pytest.mark.parametrize(
    "bbox",
    [["5.25", "52.35", "5.18", "52.39"], ["5.18", "52.39", "5.25", "52.35"], ["5", "152", "6", "153"],
     ["nan", "52", "5.2", "52.4"]],
)  # fmt: skip
def test_inverted_or_impossible_bbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bbox: list[str]
) -> None:
    fails(
        capsys,
        ["run", "--bbox", *bbox, "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c")],
        "--bbox",
    )
    assert not (tmp_path / "c").exists()


def test_out_or_layers_that_is_a_file(
    town: Town, done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "a-file"
    f.write_text("keep", encoding="utf-8")
    fails(capsys, run_args(town, f), "output folder", "is an existing file", "--out")
    fails(capsys, [*run_args(town, tmp_path / "o"), "--layers", str(f)], "layers folder", "--layers")
    fails(capsys, run_args(town, f / "sub"), "is a file, not a folder")
    assert f.read_text("utf-8") == "keep"


def test_stale_staging_folders_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = out / ".staging-999999999-abc"
    old_style = out / ".staging-k2j3"
    alive = out / f".staging-{os.getppid()}-live"
    for d in (dead, old_style, alive):
        d.mkdir(parents=True)
        (d / "scores.gpkg").write_bytes(b"partial")
    removed = remove_stale_staging(out)
    assert sorted(removed) == sorted([dead, old_style])
    assert alive.is_dir(), "a running run's staging folder is left alone"


def test_a_run_removes_staging_left_by_a_killed_run(town: Town, tmp_path: Path) -> None:
    out = tmp_path / "run"
    stale = out / ".staging-999999999-x"
    (stale / "layers").mkdir(parents=True)
    (stale / "layers" / "noise_lden_modelled.tif").write_bytes(b"half")
    assert main(run_args(town, out, "-q", "--no-noise-model")) == 0
    assert not stale.exists()
    assert not list(out.glob(".staging-*"))


def test_compare_knows_every_run_output() -> None:
    from sitefinder.pipeline import OUT_FILES
    from sitefinder.render.memo import BASEMAP_FILE
    from sitefinder.render.report import RUN_OUTPUTS

    assert {*OUT_FILES, BASEMAP_FILE} <= set(RUN_OUTPUTS)
