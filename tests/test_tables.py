"""The score tables: Dutch CSV for Excel, scores.xlsx with its explanation sheet, the GeoPackage's QGIS style."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from sitefinder.render.map import MapInputs
from sitefinder.render.tables import write_tables
from tests.test_map import synthetic_town


@pytest.fixture(scope="module")
def town() -> MapInputs:
    return synthetic_town(n_side=3, n_amenities=20, draws=0)


@pytest.fixture(scope="module")
def written(town: MapInputs, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, gpd.GeoDataFrame]:
    attributes = pd.DataFrame(town.plots.drop(columns="geometry"))
    scores = gpd.GeoDataFrame(
        pd.concat([attributes, town.indicators, *[r.table for r in town.profiles]], axis=1),
        geometry=town.plots.geometry,
        crs=town.plots.crs,
    )
    scores.index.name = "plot_id"
    out = tmp_path_factory.mktemp("tables")
    write_tables(scores, out, town.registry, [r.profile.name for r in town.profiles])
    return out, scores


def test_machine_csv_is_unchanged_in_form(written: tuple[Path, gpd.GeoDataFrame]) -> None:
    out, scores = written
    table = pd.read_csv(out / "scores.csv", index_col="plot_id")
    assert list(table.index) == list(scores.index)
    assert np.allclose(table["score_prikkelarm"], scores["score_prikkelarm"])
    assert {"x_m", "y_m"} <= set(table.columns)


def test_dutch_csv_opens_in_columns_in_dutch_excel(written: tuple[Path, gpd.GeoDataFrame]) -> None:
    out, scores = written
    raw = (out / "scores_nl.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so Excel reads the accents"
    text = raw.decode("utf-8-sig")
    head, first = text.splitlines()[:2]
    assert head.split(";")[0] == "Kavel (id)"
    assert "Kavel (id)" in head and "Loopafstand tot supermarkt (m)" in head
    assert not re.search(r"(^|;)[a-z]+_[a-z0-9_]+(;|$)", head), "no raw column names as headers"
    back = pd.read_csv(out / "scores_nl.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert len(back.columns) == len(scores.columns) + 2  # plot id and x/y, minus the geometry
    score_head = next(c for c in back.columns if c.startswith("Score") and "prikkelarm" in c)
    assert np.allclose(back[score_head], scores["score_prikkelarm"].to_numpy())
    assert re.search(r";\d+,\d", first), "decimal comma"


def test_xlsx_has_dutch_headers_and_an_explanation_sheet(written: tuple[Path, gpd.GeoDataFrame]) -> None:
    from openpyxl import load_workbook

    out, scores = written
    wb = load_workbook(out / "scores.xlsx", read_only=True)
    assert wb.sheetnames == ["Scores", "Toelichting"]
    rows = list(wb["Scores"].iter_rows(values_only=True))
    heads = list(rows[0])
    assert "Loopafstand tot supermarkt (m)" in heads
    assert len(rows) == len(scores) + 1
    k = heads.index(next(h for h in heads if str(h).startswith("Score") and "prikkelarm" in str(h)))
    assert [r[k] for r in rows[1:]] == pytest.approx(scores["score_prikkelarm"].tolist())
    info = list(wb["Toelichting"].iter_rows(values_only=True))
    explained = {r[1]: r for r in info[1:] if r and r[1]}
    for col in ("dist_supermarket_m", "score_prikkelarm", "noise_lden_p90_db", "plot_id"):
        assert col in explained, col
    assert explained["dist_supermarket_m"][2] == "m"
    assert "meter" in explained["dist_supermarket_m"][3]


def test_geopackage_opens_styled_in_qgis(written: tuple[Path, gpd.GeoDataFrame]) -> None:
    out, scores = written
    with sqlite3.connect(out / "scores.gpkg") as con:
        rows = con.execute(
            "SELECT f_table_name, f_geometry_column, useAsDefault, styleQML FROM layer_styles"
        ).fetchall()
        contents = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
        geom = con.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name='scores'"
        ).fetchone()[0]
    assert "layer_styles" in contents, "registered, so GDAL and QGIS see the table"
    assert len(rows) == 1
    name, geom_col, default, qml = rows[0]
    assert (name, geom_col, default) == ("scores", geom, 1)
    assert "RuleRenderer" in qml
    assert "&quot;score_prikkelarm&quot; &gt;= 80" in qml or '"score_prikkelarm" &gt;= 80' in qml
    assert "68,1,84,255" in qml, "viridis lowest class as on the map"
    assert 'alias field="dist_supermarket_m"' in qml and "Loopafstand tot supermarkt (m)" in qml
    # The GeoPackage still reads back as the scores layer.
    back = gpd.read_file(out / "scores.gpkg", layer="scores")
    assert len(back) == len(scores)


def test_xlsx_writer_cells_styles_and_panes_read_back_in_openpyxl(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from sitefinder.render.xlsx import Sheet, write_workbook

    rows = [
        ["Kavel", "Afstand (m)", "Aantal", "Geluid (dB)", "Geschikt"],
        ["P1", 1234.5, 3, 61.25, True],
        ["  ruimte  ", float("nan"), None, np.float64(48.0), False],
        ["'=1+1", np.int64(7), 0, "", "a\x01b\x1fc"],
    ]
    sheet = Sheet("Scores", rows=rows, bold_rows={0}, widths={0: 30, 1: 14},
                  formats={1: "#,##0", 2: "0", 3: "0.0"}, freeze=(1, 1))  # fmt: skip
    note = Sheet("Toelichting", rows=[["Kolom", "Betekenis"], [], ["Een zin met <, > & ü."]])
    write_workbook([sheet, note], tmp_path / "t.xlsx")
    wb = load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["Scores", "Toelichting"]
    ws = wb["Scores"]
    assert [[c.value for c in r] for r in ws.iter_rows()] == [
        ["Kavel", "Afstand (m)", "Aantal", "Geluid (dB)", "Geschikt"],
        ["P1", 1234.5, 3, 61.25, True],
        ["  ruimte  ", None, None, 48.0, False],
        ["'=1+1", 7, 0, None, "abc"],  # characters XML cannot hold are left out
    ]
    assert ws.freeze_panes == "B2"
    assert all(c.font.b for c in ws[1]) and not any(c.font.b for c in ws[2])
    assert [ws.cell(r, 2).number_format for r in (2, 3, 4)] == ["#,##0"] * 3
    assert [ws.cell(r, 3).number_format for r in (2, 3, 4)] == ["0"] * 3
    assert ws.cell(2, 4).number_format == "0.0" and ws.cell(1, 2).number_format == "General"
    assert ws.cell(2, 1).number_format == "General"
    # Excel stores a width of n characters as n plus the cell padding (under one character).
    assert 30 <= ws.column_dimensions["A"].width < 31 and 14 <= ws.column_dimensions["B"].width < 15
    info = wb["Toelichting"]
    assert [[c.value for c in r] for r in info.iter_rows()] == [
        ["Kolom", "Betekenis"], [None, None], ["Een zin met <, > & ü.", None],
    ]  # fmt: skip
    assert info.freeze_panes is None


def test_dutch_tables_translate_plot_attributes_and_censored_values(
    written: tuple[Path, gpd.GeoDataFrame], town: MapInputs, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    _, scores = written
    scores = scores.copy()
    scores.insert(0, "owner", "gemeente")
    scores.insert(0, "name", "Kavel Stadswerf")
    censored = "dist_supermarket_m > 7209.6; n_supermarket_500m >= 3"
    scores.insert(2, "censored_values", [censored] + [""] * (len(scores) - 1))
    write_tables(scores, tmp_path, town.registry, [r.profile.name for r in town.profiles])
    machine = pd.read_csv(tmp_path / "scores.csv", index_col="plot_id")
    assert machine["censored_values"].iloc[0] == censored, "the machine CSV keeps the raw form"
    back = pd.read_csv(tmp_path / "scores_nl.csv", sep=";", decimal=",", encoding="utf-8-sig", dtype=str)
    assert {"Naam", "Eigenaar"} <= set(back.columns)
    assert not {"name", "owner"} & set(back.columns)
    note = back[next(c for c in back.columns if c.startswith("Waarden die alleen"))].iloc[0]
    assert "dist_supermarket_m" not in note and "n_supermarket_500m" not in note
    assert "Loopafstand tot supermarkt: meer dan 7.210\u00a0m" in note
    assert "minstens 3" in note
    wb = load_workbook(tmp_path / "scores.xlsx", read_only=True)
    rows = list(wb["Scores"].iter_rows(values_only=True))
    wb.close()
    k = list(rows[0]).index(next(h for h in rows[0] if str(h).startswith("Waarden die alleen")))
    assert rows[1][k] == note
