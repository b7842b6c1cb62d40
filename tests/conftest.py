"""Shared fixtures: paths to the real data in ../shared/data, small plot files made here."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
AMSTERDAM = SHARED / "osm" / "amsterdam-centrum.osm.gz"
BARCELONA = SHARED / "noise" / "barcelona-lden-5db-classes-epsg3035.tif"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"real test data folder {SHARED} is absent (it sits beside the repo in CI); these tests need it",
)


@pytest.fixture(scope="session")
def amsterdam_plots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GeoPackage of 6 plots inside the Amsterdam centre extract (EPSG:28992)."""
    out = tmp_path_factory.mktemp("adam") / "plots.gpkg"
    lon = [4.8930, 4.8970, 4.9000, 4.8950, 4.9020, 4.8985]
    lat = [52.3670, 52.3690, 52.3710, 52.3720, 52.3665, 52.3700]
    pts = gpd.GeoSeries.from_xy(lon, lat, crs=4326).to_crs(28992)
    gpd.GeoDataFrame(
        {
            "plot_id": [f"A{i}" for i in range(1, 7)],
            "owner": ["gemeente", "gemeente", "corporatie", "gemeente", "particulier", "gemeente"],
        },
        geometry=pts.buffer(35, cap_style="square").to_numpy(),
        crs=28992,
    ).to_file(out, layer="plots")
    return out


@dataclass(frozen=True)
class CliResult:
    """What a command left: exit status and what it wrote (like ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> CliResult:
    """Run ``sitefinder.cli.main(argv)`` in this process with its stdout and stderr captured.

    ``env`` sets environment variables and ``cwd`` the working folder for the call only.
    Works at any fixture scope (it does not need ``capsys``).
    """
    from sitefinder.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd = Path.cwd()
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse errors and --help
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(old_cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return CliResult(code, out.getvalue(), err.getvalue())


def run_cli_subprocess(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``sitefinder`` entry point in a new interpreter (for the few end-to-end tests)."""
    return subprocess.run(
        [sys.executable, "-m", "sitefinder.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=900,
    )


def refresh_args(tmp_path: Path, *names: str, regions: Path | None = None) -> list[str | Path]:
    """``sitefinder refresh`` arguments that keep maps, cache and layers inside ``tmp_path``."""
    args: list[str | Path] = ["refresh", *names]
    if regions is not None:
        args += ["--regions-dir", regions]
    return [
        *args,
        "--maps-dir",
        tmp_path / "maps",
        "--cache",
        tmp_path / "cache",
        "--layers-dir",
        tmp_path / "layers",
    ]
