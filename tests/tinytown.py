"""A tiny town the hardening tests make themselves: a street grid as OSM XML and a plots file.

Small enough that a whole ``sitefinder run`` takes a few seconds in-process, so each bad
input can be tried against a real run (and a previous run's outputs can be checked to
stay byte-identical).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pytest
import shapely

#: South-west corner of the grid (WGS84), somewhere in Almere.
LON0, LAT0 = 5.2000, 52.3700
#: Grid step in degrees (about 100 m east and 110 m north).
DLON, DLAT = 0.00147, 0.001
N = 6


@dataclass(frozen=True)
class Town:
    """Paths of the tiny town's files."""

    osm: Path
    plots: Path
    root: Path


def osm_xml(n: int = N, names: dict[str, str] | None = None, extra_nodes: str = "") -> str:
    """An OSM XML document: an ``n`` x ``n`` grid of residential streets and a few amenities."""
    names = names or {}
    out = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='tinytown'>"]

    def nid(r: int, c: int) -> int:
        return 1 + r * n + c

    for r in range(n):
        for c in range(n):
            out.append(
                f"<node id='{nid(r, c)}' version='1' lat='{LAT0 + r * DLAT:.7f}' lon='{LON0 + c * DLON:.7f}'/>"
            )
    amenities = [
        ("shop", "supermarket", names.get("supermarket", "Super"), 1.5, 1.5),
        ("amenity", "doctors", names.get("gp", "Huisarts"), 3.5, 2.5),
        ("amenity", "pharmacy", names.get("pharmacy", "Apotheek"), 2.5, 3.5),
        ("highway", "bus_stop", names.get("pt_stop", "Halte"), 0.5, 4.5),
        ("amenity", "community_centre", names.get("meeting_place", "Buurthuis"), 4.5, 0.5),
    ]
    for k, (key, value, name, r, c) in enumerate(amenities):
        out.append(
            f"<node id='{1000 + k}' version='1' lat='{LAT0 + r * DLAT + 0.00004:.7f}' "
            f"lon='{LON0 + c * DLON:.7f}'><tag k='{key}' v='{value}'/><tag k='name' v={quoteattr(name)}/></node>"
        )
    out.append(extra_nodes)
    way = 5000
    for r in range(n):
        refs = "".join(f"<nd ref='{nid(r, c)}'/>" for c in range(n))
        out.append(f"<way id='{way}' version='1'>{refs}<tag k='highway' v='residential'/></way>")
        way += 1
    for c in range(n):
        refs = "".join(f"<nd ref='{nid(r, c)}'/>" for r in range(n))
        out.append(f"<way id='{way}' version='1'>{refs}<tag k='highway' v='residential'/></way>")
        way += 1
    out.append("</osm>")
    return "\n".join(out) + "\n"


def plots_frame(ids: list[str] | None = None, **columns: list[object]) -> gpd.GeoDataFrame:
    """Four square plots inside blocks of the grid (EPSG:28992), with extra attribute columns."""
    ids = ids or ["P1", "P2", "P3", "P4"]
    pts = gpd.GeoSeries.from_xy(
        [LON0 + (0.5 + k) * DLON for k in range(len(ids))],
        [LAT0 + (0.5 + (k % 3)) * DLAT for k in range(len(ids))],
        crs=4326,
    ).to_crs(28992)
    geoms = [shapely.box(p.x - 20, p.y - 20, p.x + 20, p.y + 20) for p in pts]
    return gpd.GeoDataFrame({"plot_id": ids, **columns}, geometry=geoms, crs=28992)


def make_town(root: Path) -> Town:
    """Write ``town.osm`` and ``plots.gpkg`` into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    osm = root / "town.osm"
    osm.write_text(osm_xml(), encoding="utf-8")
    plots = root / "plots.gpkg"
    plots_frame(naam=["Noord", "Oost", "Zuid", "West"]).to_file(plots, layer="plots")
    return Town(osm=osm, plots=plots, root=root)


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (relative path -> hash), to prove nothing changed."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_args(town: Town, out: Path, *extra: str | Path) -> list[str]:
    """``sitefinder run`` arguments for the tiny town, cache inside its folder, no tiles.

    One profile (prikkelarm) unless ``extra`` names others: a run takes a few seconds.
    """
    rest = [str(x) for x in extra]
    profiles = [] if "--profile" in rest else ["--profile", "prikkelarm"]
    return [
        "run", "--osm", str(town.osm), "--plots", str(town.plots), "--out", str(out),
        "--cache", str(town.root / "cache"), "--tiles", "none", *profiles, *rest,
    ]  # fmt: skip


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], *fragments: str) -> str:
    """Run ``argv``; assert exit 2, exactly one error line holding ``fragments``, no traceback, no warning text.

    Warnings are filtered as in a user's interpreter (:func:`main_as_user`); with
    ``capfd`` instead of ``capsys`` GDAL's own messages are seen too.
    """
    rc = main_as_user(argv)
    err = capsys.readouterr().err
    assert_clean_stderr(err)
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.startswith("sitefinder: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert len(lines[0]) < 600, f"one readable line, not {len(lines[0])} characters"
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


#: What must never reach a user's stderr: Python warning text (``RuntimeWarning: ...``),
#: the source line a warning prints, GDAL's own ``Warning 1:``/``ERROR 1:`` lines, tracebacks.
NOISE_ON_STDERR = re.compile(
    r"Traceback|\b[A-Z]\w*Warning\b|^(Warning|ERROR) \d+:|warnings\.warn|^\s+File \"|\.py:\d+: ", re.MULTILINE
)


def main_as_user(argv: Sequence[str]) -> int:
    """``sitefinder.cli.main(argv)`` with Python's warnings filtered as in a user's interpreter.

    The suite turns warnings into errors; a user's interpreter prints them (all but the
    deprecation, import and resource warnings Python hides by default). Here they are let
    through to the CLI (which logs them to stderr) every time, so a test can read stderr
    with ``capfd`` and see what a user would.
    """
    from sitefinder.cli import main

    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("always")
        for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=hidden)
        return main(list(argv))


def assert_clean_stderr(err: str) -> None:
    """No warning text, no GDAL message, no traceback on stderr (``err`` read with ``capfd``)."""
    bad = [m.group(0) for m in NOISE_ON_STDERR.finditer(err)]
    assert not bad, f"stderr holds {bad[:3]}:\n{err[-3000:]}"
