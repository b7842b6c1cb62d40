"""Shared fixtures: paths to the real data in ../shared/data, small plot files made here."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
AMSTERDAM = SHARED / "osm" / "amsterdam-centrum.osm.gz"
BARCELONA = SHARED / "noise" / "barcelona-lden-5db-classes-epsg3035.tif"

# --cpu-durations=N: CPU seconds per test (fair on a loaded machine; see tests/cputime.py).
from tests.cputime import (  # noqa: E402, F401
    pytest_addoption,
    pytest_runtest_call,
    pytest_runtest_logreport,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_runtest_teardown,
    pytest_terminal_summary,
)

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"real test data folder {SHARED} is absent (it sits beside the repo in CI); these tests need it",
)


#: Doctest files that take more than about 5 s on an idle 2-core machine (marked ``slow``):
#: docs/api.md scores the Amsterdam extract without a cache (about 9 CPU-seconds).
SLOW_DOCTESTS = {"api.md"}


#: Session fixtures that are expensive to build: under pytest-xdist (``-n 2 --dist loadgroup``)
#: every file that uses one runs on the same worker, so each is built once. The Amsterdam
#: cache is not among them: a worker builds its own (``tmp_path_factory`` is per worker, so
#: no two processes write one cache folder), which costs a few CPU-seconds once per worker
#: but lets the Amsterdam files run on both workers instead of in one long chain.
SHARED_GROUPS = {"sample_town": "sample-town"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow doctest files ``slow`` (a doctest cannot carry a marker itself), and give
    each file one ``xdist_group``: the group of a shared session fixture one of its tests uses,
    otherwise its own (so module fixtures are built once too)."""
    group_of: dict[Path, str] = {}
    for item in items:
        if item.path.name in SLOW_DOCTESTS and item.path.suffix == ".md":
            item.add_marker(pytest.mark.slow)
        for fixture, group in SHARED_GROUPS.items():
            if fixture in getattr(item, "fixturenames", ()):
                group_of.setdefault(item.path, group)
    for item in items:
        group = group_of.get(item.path) or item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
        if getattr(config.option, "loadgroup", False):
            _append_group_to_nodeid(item, group)


def _append_group_to_nodeid(item: pytest.Item, group: str) -> None:
    """Give a pytest-xdist worker's item the ``nodeid@group`` id that ``--dist loadgroup`` schedules by.

    pytest-xdist's own hook does this by setting ``item._nodeid``, which pytest >= 9.2 no
    longer reads (the id is ``item._id``, a ``NodeId``): its groups were silently ignored and
    every file was spread over both workers, building each module fixture twice. Done here
    for both layouts; xdist appending the group once more (``x@g@g``) still schedules by ``g``.
    """
    nodeid = f"{item.nodeid}@{group}"
    if hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(nodeid)
    else:
        item._nodeid = nodeid


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


@pytest.fixture(scope="session")
def amsterdam_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder shared by the runs on the Amsterdam extract where the cache is not the point.

    Its products (cut files, network, modelled noise, background) are keyed by content, so each
    is made once per session and read by the later runs. Tests of the cache use their own folder.
    """
    return tmp_path_factory.mktemp("amsterdam-cache")


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


# --- The sample town (seed 42, scale 1), made once per test session ---------------------------------


@dataclass(frozen=True)
class SampleRun:
    """One ``sitefinder run`` of the sample town, shared by the tests that only read its outputs.

    ``args`` are the run's CLI arguments without ``--out`` and ``--layers`` (a test that runs
    again gives its own); ``result`` is what :func:`sitefinder.api.run` returned.
    """

    town: Any
    cache: Path
    out: Path
    layers: Path
    args: list[str]
    result: Any


@pytest.fixture(scope="session")
def sample_town(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The sample town at seed 42, scale 1 (``sitefinder sample``), generated once; never modify it."""
    from sitefinder.sample import generate_sample

    return generate_sample(tmp_path_factory.mktemp("sample-town") / "data", seed=42, scale=1.0)


@pytest.fixture(scope="session")
def sample_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder shared by runs on the sample town (its products are keyed by content).

    Tests of the cache itself use their own folder.
    """
    return tmp_path_factory.mktemp("sample-cache")


@pytest.fixture(scope="session")
def sample_run(sample_town: Any, sample_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """The sample town through ``sitefinder run`` with every built-in profile and the offline
    background first, exactly as the CLI configures it (in-process)."""
    from sitefinder.api import run
    from sitefinder.cli import build_parser
    from sitefinder.commands.run import config_from_args

    base = tmp_path_factory.mktemp("sample-run")
    args = ["--osm", str(sample_town.osm_path), "--plots", str(sample_town.plots_path),
            "--cache", str(sample_cache), "--tiles", "offline,brt-grijs,osm", "-q"]  # fmt: skip
    cfg = config_from_args(
        build_parser().parse_args(
            ["run", *args, "--out", str(base / "run"), "--layers", str(base / "layers")]
        )
    )
    result = run(cfg, progress=False)
    return SampleRun(sample_town, sample_cache, base / "run", base / "layers", args, result)
