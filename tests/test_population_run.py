"""Who lives nearby, end to end: CBS-shaped files on the Amsterdam extract through ``sitefinder run``."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from sitefinder.cli import main
from tests.conftest import AMSTERDAM, needs_shared

pytestmark = [needs_shared]

CODES = ["BU03630001", "BU03630002", "BU03630003", "BU03630004"]


def cbs_files(tmp_path: Path, plots: Path) -> tuple[Path, Path]:
    """Four neighbourhoods tiling the plots' surroundings, and a key-figures CSV (one suppressed 65+)."""
    x0, y0, x1, y1 = gpd.read_file(plots).total_bounds
    x0, y0, x1, y1 = x0 - 1500, y0 - 1500, x1 + 1500, y1 + 1500
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    tiles = [shapely.box(x0, y0, xm, ym), shapely.box(xm, y0, x1, ym),
             shapely.box(x0, ym, xm, y1), shapely.box(xm, ym, x1, y1)]  # fmt: skip
    buurten = tmp_path / "buurten.geojson"
    gpd.GeoDataFrame(
        {"BU_CODE": CODES, "BU_NAAM": ["Zuid-West", "Zuid-Oost", "Noord-West", "Noord-Oost <b>"],
         "WK_CODE": ["WK036300"] * 4, "GM_CODE": ["GM0363"] * 4},
        geometry=tiles, crs=28992,
    ).to_crs(4326).to_file(buurten, driver="GeoJSON")  # fmt: skip
    csv = tmp_path / "kerncijfers.csv"
    lines = [
        "ID;WijkenEnBuurten;SoortRegio_2;Codering_3;AantalInwoners_5;k_65JaarOfOuder_12;HuishoudensTotaal_29"
    ]
    figs = [(4000, 800, 2000), (3000, 300, 1500), (2000, "     .", 1000), (1000, 250, 600)]
    for i, (code, (inw, old, hh)) in enumerate(zip(CODES, figs, strict=True)):
        lines.append(f"{i};{code};Buurt     ;{code};{inw};{old};{hh}")
    csv.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode())
    return buurten, csv


def test_run_with_neighbourhoods(
    tmp_path: Path, amsterdam_plots: Path, amsterdam_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    buurten, csv = cbs_files(tmp_path, amsterdam_plots)
    out = tmp_path / "out"
    args = ["run", "--osm", str(AMSTERDAM), "--plots", str(amsterdam_plots), "--out", str(out),
            "--cache", str(amsterdam_cache), "--layers", str(tmp_path / "layers"), "--tiles", "none",
            "--profile", "senioren", "--profile", "beperking", "--no-noise-model",
            "--neighbourhoods", str(buurten), "--neighbourhood-figures", str(csv)]  # fmt: skip
    assert main(args) == 0
    scores = pd.read_csv(out / "scores.csv", dtype={"plot_id": str}).set_index("plot_id")
    for col in ("pop_total_500m", "pop_65plus_1000m", "households_1000m", "buurt_naam", "buurt_65plus_pct"):
        assert col in scores.columns, col
    total = 4000 + 3000 + 2000 + 1000
    assert (scores["pop_total_1000m"] <= total).all() and (scores["pop_total_1000m"] > 0).all()
    assert (scores["pop_total_500m"] <= scores["pop_total_1000m"]).all()
    assert (scores["households_1000m"] <= 2000 + 1500 + 1000 + 600).all()
    assert scores["buurt_code"].isin(CODES).all()
    assert "pts_senioren_ouderen_dichtbij" in scores.columns
    manifest = json.loads((out / "manifest.json").read_text())
    nbh = manifest["sources"]["neighbourhoods"]
    assert nbh["total_inwoners"] == total and nbh["unknown_inwoners_65plus"] == 1
    assert nbh["spread_over"].get("buildings", 0) >= 1
    html = (out / "map.html").read_text()
    assert "Buurten: aandeel 65+" in html
    # The neighbourhood tooltip is HTML: the name is escaped there (the JSON data block is
    # escaped by the map's script when shown).
    assert "Noord-Oost \\u0026lt;b\\u0026gt;" in html  # &lt;b&gt;, JSON-encoded by folium
    # The wheelchair network's tag coverage in the manifest, and the memo names the neighbourhood.
    wheel = manifest["sources"]["mobility"]["wheelchair"]
    assert wheel["edges_excluded"] > 0 and 0 <= wheel["share_surface"] <= 1
    assert main(["compare", "--run", str(out), "A1", "A2"]) == 0
    memo = next(out.glob("vergelijking_A1_A2*.html")).read_text()
    a1 = scores.loc["A1"]
    assert f"Ligt in buurt {a1['buurt_naam']} ({a1['buurt_code']})" in memo.replace("&lt;", "<").replace(
        "&gt;", ">"
    )
    assert "Rolstoelnetwerk" in memo and "voetpaden met kenmerk verharding" in memo
    # The beperking surface scores its cells on the wheelchair network too (nothing skipped for it).
    import rasterio

    with rasterio.open(tmp_path / "layers" / "suitability_beperking.tif") as src:
        prov = json.loads(src.tags()["SITEFINDER_PROVENANCE"])
    assert not [s for s in prov["skipped"] if "_wheelchair_" in s], prov["skipped"]
