"""Write the score tables for the tools users have, atomically.

* ``scores.gpkg`` (layer ``scores``, working CRS) with a QGIS style in its
  ``layer_styles`` table: the plots open coloured by the first profile's score
  (the map's five classes) and with Dutch field aliases (:mod:`sitefinder.render.qgis`).
* ``scores.csv``: the machine-readable table (``,`` separator, ``.`` decimals, UTF-8,
  column names as in the GeoPackage), which ``compare``, scripts and pandas read.
* ``scores_nl.csv``: the same for Dutch Excel (``;`` separator, decimal comma, UTF-8
  with BOM, Dutch headers with units), which opens in columns on a double click.
* ``scores.xlsx``: Dutch headers with units, frozen header row, and a sheet
  "Toelichting" explaining every column.

Both CSVs have no geometry but the plot's representative point in the working CRS
(``x_m``, ``y_m``). In the CSVs and the workbook, text cells that a spreadsheet would
read as a formula get a leading apostrophe (:func:`~sitefinder.render.escape.csv_safe`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from sitefinder.categories import CategoryRegistry
from sitefinder.io.atomic import atomic_path
from sitefinder.render.escape import csv_safe
from sitefinder.render.labels import ColumnLabel, column_label
from sitefinder.render.qgis import write_layer_style

log = logging.getLogger(__name__)

#: What the columns of each kind mean, for the explanation sheet.
_KIND_NOTES = {
    "m": "afstand in meter",
    "db": "geluidsniveau in dB (Lden of Lnight)",
    "share": "aandeel in procent (0-100)",
    "count": "aantal",
    "rank": "rang: 1 = beste; leeg = uitgesloten of niet gerangschikt",
    "points": "punten van de 100; de bijdragen van een kavel tellen op tot zijn score",
    "text": "tekst",
    "number": "getal",
}
_EXTRA = {
    "plot_id": ColumnLabel("plot_id", "Kavel (id)", "", "text"),
    "x_m": ColumnLabel("x_m", "X van een punt in de kavel (werk-CRS)", "m", "m"),
    "y_m": ColumnLabel("y_m", "Y van een punt in de kavel (werk-CRS)", "m", "m"),
}


def table_labels(
    columns: Sequence[str], registry: CategoryRegistry | None = None, profiles: Sequence[str] = ()
) -> dict[str, ColumnLabel]:
    """Dutch label, unit and kind of every column (per-profile columns named after their profile)."""
    out: dict[str, ColumnLabel] = {}
    for col in columns:
        if col in _EXTRA:
            out[col] = _EXTRA[col]
            continue
        owner = next((p for p in profiles if col.endswith(f"_{p}") or col.startswith(f"pts_{p}_")), None)
        lab = column_label(col, registry, owner)
        if owner is not None and lab.label != col:
            lab = ColumnLabel(col, f"{lab.label} [{owner}]", lab.unit, lab.kind)
        out[col] = lab
    return out


def _flat(result: gpd.GeoDataFrame) -> pd.DataFrame:
    pts = result.geometry.representative_point()
    table = pd.DataFrame(result.drop(columns="geometry")).assign(x_m=pts.x.round(1), y_m=pts.y.round(1))
    table.index.name = "plot_id"
    return table.reset_index()


def _dutch_headers(table: pd.DataFrame, labels: dict[str, ColumnLabel]) -> list[str]:
    heads = [labels[c].heading for c in table.columns]
    seen: dict[str, int] = {}
    out = []
    for h, c in zip(heads, table.columns, strict=True):
        seen[h] = seen.get(h, 0) + 1
        out.append(h if seen[h] == 1 else f"{h} ({c})")
    return out


def _for_people(table: pd.DataFrame, labels: dict[str, ColumnLabel]) -> pd.DataFrame:
    """Shares as percentages (as the headers say), booleans as ja/nee, censored values in Dutch."""
    from sitefinder.render.live import dutch_censored

    out = table.copy()
    if "censored_values" in out.columns:
        out["censored_values"] = out["censored_values"].map(lambda t: dutch_censored(t, labels))
    for c in out.columns:
        if labels[c].kind == "share" and pd.api.types.is_numeric_dtype(out[c]):
            out[c] = (100.0 * out[c]).round(1)
        elif pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].map({True: "ja", False: "nee"})
    return out


def write_xlsx(table: pd.DataFrame, labels: dict[str, ColumnLabel], path: Path) -> Path:
    """``scores.xlsx``: sheet "Scores" with Dutch headers, sheet "Toelichting" per column.

    Written by :mod:`sitefinder.render.xlsx`: bold header rows, the first column and
    the header frozen, widths per column kind and a number format per column.
    """
    from sitefinder.render.xlsx import Sheet, write_workbook

    people = csv_safe(_for_people(table, labels))
    columns = [people[c].astype(object).where(people[c].notna(), None).tolist() for c in people.columns]
    scores = Sheet("Scores", rows=[_dutch_headers(table, labels), *map(list, zip(*columns, strict=True))],
                   bold_rows={0}, freeze=(1, 1))  # fmt: skip
    for k, c in enumerate(table.columns):
        kind = labels[c].kind
        scores.widths[k] = 14 if kind != "text" else 30
        fmt = {"m": "#,##0", "count": "0", "rank": "0", "db": "0.0", "points": "0.0", "share": "0.0"}.get(
            kind
        )
        if fmt:
            scores.formats[k] = fmt
    info = Sheet("Toelichting", rows=[["Kolom (in Excel)", "Kolomnaam (GeoPackage, CSV)", "Eenheid", "Betekenis"]],
                 bold_rows={0}, widths=dict(enumerate((50, 34, 14, 90))))  # fmt: skip
    for head, c in zip(_dutch_headers(table, labels), table.columns, strict=True):
        lab = labels[c]
        info.rows.append([head, c, lab.unit or "–", f"{lab.label}; {_KIND_NOTES.get(lab.kind, 'getal')}"])
    info.rows.append([])
    info.rows.append(["Score = 100 · Σ gewicht × waarde / Σ gewicht over de criteria die te beoordelen zijn; "
                      "een kavel die een harde eis niet haalt houdt zijn score maar krijgt geen rang."])  # fmt: skip
    with atomic_path(path) as tmp:
        write_workbook([scores, info], tmp)
    return path


def write_tables(
    result: gpd.GeoDataFrame,
    out_dir: Path,
    registry: CategoryRegistry | None = None,
    profiles: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Write ``scores.gpkg`` (with its QGIS style), ``scores.csv``, ``scores_nl.csv`` and ``scores.xlsx``.

    Parameters
    ----------
    result : geopandas.GeoDataFrame
        The scores table indexed by plot id, working CRS.
    out_dir : Path
        Folder to write into.
    registry : CategoryRegistry, optional
        For the Dutch names of amenity categories in headers.
    profiles : sequence of str
        Profile names, in run order; the first colours the GeoPackage's style.

    Returns
    -------
    (Path, Path)
        The GeoPackage and ``scores.csv`` (the other files sit beside them).
    """
    out_dir = Path(out_dir)
    gpkg = out_dir / "scores.gpkg"
    csv = out_dir / "scores.csv"
    if not profiles:
        profiles = [c.removeprefix("score_") for c in result.columns if str(c).startswith("score_")]
    frame = result.reset_index()
    labels_gpkg = table_labels([c for c in frame.columns if c != "geometry"], registry, profiles)
    with atomic_path(gpkg) as tmp:
        frame.to_file(tmp, layer="scores", driver="GPKG", engine="pyogrio")
        write_layer_style(tmp, "scores", [c for c in frame.columns if c != "geometry"], labels_gpkg,
                          f"score_{profiles[0]}" if profiles else None)  # fmt: skip
    table = _flat(result)
    with atomic_path(csv) as tmp:
        csv_safe(table).to_csv(tmp, index=False, encoding="utf-8")
    labels = table_labels(list(table.columns), registry, profiles)
    people = _for_people(table, labels)
    people.columns = pd.Index(_dutch_headers(table, labels))
    people = csv_safe(people)
    with atomic_path(out_dir / "scores_nl.csv") as tmp:
        people.to_csv(tmp, index=False, sep=";", decimal=",", encoding="utf-8-sig")
    write_xlsx(table, labels, out_dir / "scores.xlsx")
    log.debug("Wrote %s, %s, scores_nl.csv and scores.xlsx (%d plots)", gpkg, csv, len(result))
    return gpkg, csv
