"""Lean start-up: ``--help``, ``--version`` and the parser import no heavy library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("geopandas", "osmnx", "networkx", "scipy", "shapely", "rasterio", "pandas", "pyproj",
         "osmium", "folium", "matplotlib", "sklearn", "pydantic", "tqdm")  # fmt: skip


def test_parser_and_version_import_no_heavy_library() -> None:
    # A fresh interpreter: the test process itself has imported everything already.
    code = (
        "import sys\n"
        "from sitefinder.cli import build_parser\n"
        "build_parser()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert res.stdout.strip() == ""
    # --version and --help exit from argparse, before any command module's work.
    ver = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sitefinder.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert ver.returncode == 0 and ver.stdout.startswith("sitefinder ")
    imported = {line.split("|")[-1].strip().split(".")[0] for line in ver.stderr.splitlines() if "|" in line}
    assert not imported & set(HEAVY)
