"""A corpus of corrupt files of every input kind, made here from good ones.

Each corrupt file goes through ``sitefinder.cli.main`` in-process: the run ends with exit
status 0 or 2 (never a traceback or another status), stderr holds no warning text of
Python, numpy, pandas, shapely, pyogrio or GDAL (read at the file descriptor, with every
warning let through as a user's interpreter would), the corrupt input is not modified,
and when the run fails, the previous outputs in the output folder are byte-identical.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from sitefinder.cli import main
from tests.tinytown import Town, assert_clean_stderr, digest, main_as_user, make_town, run_args


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def zeroed_middle(data: bytes) -> bytes:
    k = len(data) // 3
    return data[:k] + b"\0" * (len(data) - 2 * k) + data[-k:]


def garbage(data: bytes) -> bytes:
    return (
        np.random.default_rng(len(data)).integers(0, 256, max(64, len(data) // 4), dtype=np.uint8).tobytes()
    )


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "truncated": truncated, "zeroed": zeroed_middle, "garbage": garbage,
}  # fmt: skip


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Town:
    return make_town(tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="module")
def done(town: Town, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "town"
    assert main(run_args(town, out, "-q", "--no-noise-model")) == 0
    return out


@pytest.fixture(scope="module")
def good(town: Town, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One good file of every input kind."""
    import geopandas as gpd

    d = tmp_path_factory.mktemp("good")
    plots = gpd.read_file(town.plots)
    files = {"osm": town.osm, "plots.gpkg": town.plots}
    (d / "town.osm.gz").write_bytes(gzip.compress(town.osm.read_bytes()))
    files["osm.gz"] = d / "town.osm.gz"
    plots.to_file(d / "plots.geojson", driver="GeoJSON")
    files["plots.geojson"] = d / "plots.geojson"
    plots.to_file(d / "plots.shp")
    files["plots.shp"] = d / "plots.shp"
    plots.to_file(d / "plots.fgb", driver="FlatGeobuf")
    files["plots.fgb"] = d / "plots.fgb"
    csv = d / "plots.csv"
    csv.write_text(
        "plot_id,wkt\n"
        + "".join(f'{i},"{g.wkt}"\n' for i, g in zip(plots["plot_id"], plots.geometry, strict=True))
    )
    files["plots.csv"] = csv
    b = plots.total_bounds
    tif = d / "lden.tif"
    with rasterio.open(
        tif, "w", driver="GTiff", width=120, height=120, count=1, dtype="float32", crs="EPSG:28992",
        transform=Affine(10, 0, b[0] - 400, 0, -10, b[3] + 400),
    ) as dst:  # fmt: skip
        dst.write(np.full((120, 120), 52.0, dtype="float32"), 1)
    files["noise"] = tif
    from importlib import resources

    prof = d / "profile.toml"
    prof.write_text(resources.files("sitefinder").joinpath("profiles/prikkelarm.toml").read_text("utf-8"))
    files["profile"] = prof
    cats = d / "categories.toml"
    cats.write_text(resources.files("sitefinder").joinpath("data/categories.toml").read_text("utf-8"))
    files["categories"] = cats
    return files


def _argv(kind: str, path: Path, town: Town, out: Path) -> list[str]:
    args = run_args(town, out, "-q", "--no-noise-model")
    if kind.startswith("osm"):
        args[args.index("--osm") + 1] = str(path)
    elif kind.startswith("plots"):
        args[args.index("--plots") + 1] = str(path)
        if kind == "plots.csv":
            args += ["--plots-crs", "EPSG:28992"]
    elif kind == "noise":
        args += ["--noise", str(path)]
    elif kind == "profile":
        args += ["--profile", str(path)]
    elif kind == "categories":
        args += ["--categories", str(path)]
    return args


KINDS = ["osm", "osm.gz", "plots.gpkg", "plots.geojson", "plots.shp", "plots.fgb", "plots.csv", "noise",
         "profile", "categories"]  # fmt: skip


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_input(
    kind: str, corruption: str, town: Town, done: Path, good: dict[str, Path], tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    src = good[kind]
    bad = tmp_path / src.name
    for sidecar in src.parent.glob(src.stem + ".*"):  # a shapefile's .shx, .dbf, .prj stay good
        if sidecar != src and kind == "plots.shp":
            shutil.copy(sidecar, tmp_path / sidecar.name)
    bad.write_bytes(CORRUPTIONS[corruption](src.read_bytes()))
    bad_bytes = bad.read_bytes()
    out = tmp_path / "run"
    shutil.copytree(done, out)
    before = digest(out)
    listing = sorted(p.name for p in bad.parent.iterdir() if p.name != "run")
    rc = main_as_user(_argv(kind, bad, town, out))
    err = capfd.readouterr().err
    assert rc in (0, 2), err
    assert_clean_stderr(err)
    if rc == 2:
        lines = [x for x in err.splitlines() if x.startswith("sitefinder: error:")]
        assert len(lines) == 1 and len(lines[0]) < 600, err
        assert digest(out) == before, "a failed run leaves the previous outputs byte-identical"
    assert bad.read_bytes() == bad_bytes, "the input is not modified"
    assert sorted(p.name for p in bad.parent.iterdir() if p.name != "run") == listing, (
        "nothing written beside it"
    )
    assert not list(bad.parent.glob("*.gfs"))


def test_corrupt_run_folder(done: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    for name, corrupt in (
        ("manifest.json", truncated),
        ("scores.gpkg", zeroed_middle),
        ("manifest.json", garbage),
    ):
        run = tmp_path / f"run-{name}-{corrupt.__name__}"
        shutil.copytree(done, run)
        f = run / name
        f.write_bytes(corrupt(f.read_bytes()))
        before = digest(run)
        for argv in (
            ["compare", "P1", "P2", "--run", str(run), "--out", str(tmp_path / "memo.html")],
            ["explain", "--run", str(run), "--profile", "prikkelarm", "--plot", "P1"],
            ["select", "--run", str(run), "--profile", "prikkelarm", "--k", "1"],
        ):
            rc = main_as_user(argv)
            err = capfd.readouterr().err
            assert rc in (0, 2), (argv, err)
            assert_clean_stderr(err)
        assert digest(run) == before
