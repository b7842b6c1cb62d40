"""Normal runs print sitefinder's own lines only: no Python, numpy, pandas, shapely, pyogrio or GDAL warning text.

Each command runs in-process with warnings filtered as in a user's interpreter
(``tests.tinytown.main_as_user``) and stderr read at the file descriptor (``capfd``), so
messages GDAL writes itself would be seen too. The bad-input corpus is checked the same
way (tests/test_hardening_corpus.py), and so is every ``fails`` case of the hardening tests.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from tests.tinytown import Town, assert_clean_stderr, main_as_user, make_town, plots_frame, run_args


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Town:
    return make_town(tmp_path_factory.mktemp("town"))


def _clean(capfd: pytest.CaptureFixture[str], argv: list[str], status: int = 0) -> str:
    rc = main_as_user(argv)
    out, err = capfd.readouterr()
    assert rc == status, err
    assert_clean_stderr(err)
    return out + err


def test_the_checker_sees_warnings(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check itself: a warning raised during a command does reach stderr, and is caught."""
    import warnings

    import sitefinder.commands.profiles as cmd

    real = cmd.main

    def noisy(args: object) -> int:
        warnings.warn("invalid value encountered in divide", RuntimeWarning, stacklevel=1)
        np.log(np.zeros(1))  # numpy's own RuntimeWarning
        return real(args)  # type: ignore[arg-type]

    monkeypatch.setattr(cmd, "main", noisy)
    assert main_as_user(["profiles", "list"]) == 0
    err = capfd.readouterr().err
    assert "invalid value encountered in divide" in err and "divide by zero encountered in log" in err, err
    with pytest.raises(AssertionError, match="RuntimeWarning"):
        assert_clean_stderr(err)


def test_run_with_modelled_noise_explain_compare_select(
    town: Town, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    err = _clean(capfd, run_args(town, out, "--profile", "prikkelarm", "--profile", "senioren"))
    assert "Outputs in" in err
    _clean(capfd, ["explain", "--run", str(out), "--profile", "senioren", "--plot", "P2"])
    _clean(capfd, ["compare", "--run", str(out), "P1", "P3", "--out", str(tmp_path / "memo.html")])
    # No plot of the tiny town is eligible for senioren: select says so and exits 1.
    err = _clean(capfd, ["select", "--run", str(out), "--profile", "senioren", "--k", "2"], status=1)
    assert "geen enkele kavel voldoet" in err
    _clean(capfd, ["profiles", "show", "prikkelarm"])


@pytest.mark.slow
def test_run_with_noise_raster_and_other_plot_formats(
    town: Town, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    b = gpd.read_file(town.plots).total_bounds
    tif = tmp_path / "lden.tif"
    rows = np.linspace(48.0, 66.0, 100, dtype="float32")
    with rasterio.open(
        tif, "w", driver="GTiff", width=100, height=100, count=1, dtype="float32", crs="EPSG:28992",
        transform=Affine(10, 0, b[0] - 300, 0, -10, b[3] + 300), nodata=-99.0,
    ) as dst:  # fmt: skip
        dst.write(np.tile(rows[:, None], (1, 100)), 1)
    frame = plots_frame(naam=list("ABCD"))
    csv = tmp_path / "kavels.csv"
    pd.DataFrame({"id": frame["plot_id"], "wkt": frame.geometry.to_wkt()}).to_csv(csv, index=False, sep=";")
    pts = tmp_path / "punten.csv"
    c = frame.geometry.centroid.translate(12.0, 9.0)
    pd.DataFrame({"id": frame["plot_id"], "x": c.x.round(2), "y": c.y.round(2)}).to_csv(pts, index=False)
    gj = tmp_path / "kavels.geojson"
    frame.to_crs(4326).to_file(gj, driver="GeoJSON")
    shp = tmp_path / "kavels.shp"
    frame.to_file(shp)
    for k, (plots, extra) in enumerate(
        [(csv, ["--plots-crs", "EPSG:28992"]), (pts, ["--plots-crs", "EPSG:28992"]), (gj, []), (shp, [])]
    ):
        args = run_args(town, tmp_path / f"o{k}", "--noise", str(tif), *extra)
        args[args.index("--plots") + 1] = str(plots)
        _clean(capfd, args)
        assert (tmp_path / f"o{k}" / "scores.csv").is_file()


@pytest.mark.slow
def test_sample_town_run(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """``sitefinder sample`` and a run on it with every built-in profile (the README's first command)."""
    assert main_as_user(["sample", "--out", str(tmp_path / "s"), "--scale", "0.25", "--seed", "3"]) == 0
    got = capfd.readouterr()
    assert_clean_stderr(got.err)
    osm, plots = got.out.splitlines()[:2]
    _clean(
        capfd,
        ["run", "--osm", osm, "--plots", plots, "--out", str(tmp_path / "o"),
         "--cache", str(tmp_path / "c"), "--tiles", "none"],
    )  # fmt: skip


def test_gdal_notes_become_one_log_line_and_other_warnings_pass(caplog: pytest.LogCaptureFixture) -> None:
    import warnings

    from sitefinder.io.gdalnotes import gdal_notes_logged

    with pytest.warns(UserWarning, match="not a GDAL note"), gdal_notes_logged("plots file x.shp"):
        warnings.warn_explicit("Non closed ring detected.\nmore", RuntimeWarning, "/a/pyogrio/raw.py", 200)
        warnings.warn("not a GDAL note", UserWarning, stacklevel=1)
    assert [r.getMessage() for r in caplog.records] == ["plots file x.shp: GDAL: Non closed ring detected."]
    with pytest.raises(ValueError, match="broken"), gdal_notes_logged("plots file y.shp"):
        warnings.warn_explicit("Non closed ring detected", RuntimeWarning, "/a/pyogrio/raw.py", 200)
        raise ValueError("broken")
    assert len(caplog.records) == 1, "when the read fails, the error says it; the note is dropped"
