"""A QGIS style inside the GeoPackage: plots coloured by score, Dutch field aliases.

QGIS keeps styles in a GeoPackage's ``layer_styles`` table (registered in
``gpkg_contents`` as an attributes table, as QGIS itself does); the row with
``useAsDefault`` is applied when the layer is opened. The style is QML with a
rule-based renderer: excluded plots grey, the others in the map's five viridis score
classes, and an alias (Dutch label with unit) per field.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from sitefinder.render.labels import ColumnLabel

#: The map's score classes (viridis) and the excluded grey.
SCORE_COLOURS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
EXCLUDED_COLOUR = "#bdbdbd"
STYLE_NAME = "sitefinder score"


def _rgba(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i : i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _symbol(name: str, colour: str, dashed: bool = False) -> str:
    return (
        f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        '<layer class="SimpleFill" enabled="1" pass="0" locked="0"><Option type="Map">'
        f'<Option name="color" type="QString" value="{_rgba(colour)}"/>'
        '<Option name="outline_color" type="QString" value="35,35,35,255"/>'
        f'<Option name="outline_style" type="QString" value="{"dash" if dashed else "solid"}"/>'
        '<Option name="outline_width" type="QString" value="0.3"/>'
        '<Option name="style" type="QString" value="solid"/></Option></layer></symbol>'
    )


def style_qml(fields: Sequence[str], labels: dict[str, ColumnLabel], score_col: str | None) -> str:
    """The QML of the style: rule-based renderer on ``score_col`` and an alias per field."""
    rules, symbols = [], []
    if score_col is not None:
        profile = score_col.removeprefix("score_")
        excluded = f'"excluded_{profile}"' if f"excluded_{profile}" in fields else None
        ok = f"coalesce({excluded}, '') = ''" if excluded else "TRUE"
        if excluded:
            rules.append(
                f'<rule key="excluded" symbol="0" label="uitgesloten" filter={quoteattr(f"NOT ({ok})")}/>'
            )
            symbols.append(_symbol("0", EXCLUDED_COLOUR, dashed=True))
        k = len(SCORE_COLOURS)
        for i, colour in enumerate(SCORE_COLOURS):
            lo, hi = 100 * i / k, 100 * (i + 1) / k
            upper = f'"{score_col}" <= {hi:g}' if i == k - 1 else f'"{score_col}" < {hi:g}'
            expr = f'{ok} AND "{score_col}" >= {lo:g} AND {upper}'
            sym = str(len(symbols))
            rules.append(
                f'<rule key="s{i}" symbol="{sym}" label="score {lo:g}–{hi:g}" filter={quoteattr(expr)}/>'
            )
            symbols.append(_symbol(sym, colour))
    renderer = (
        '<renderer-v2 type="RuleRenderer" symbollevels="0" forceraster="0" enableorderby="0">'
        f'<rules key="root">{"".join(rules)}</rules><symbols>{"".join(symbols)}</symbols></renderer-v2>'
        if rules
        else ""
    )
    aliases = "".join(
        f'<alias field={quoteattr(f)} index="{i}" name={quoteattr(labels[f].heading if f in labels else f)}/>'
        for i, f in enumerate(fields)
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        '<qgis version="3.28.0" styleCategories="Symbology|Fields">'
        f"{renderer}<aliases>{aliases}</aliases></qgis>"
    )


def write_layer_style(
    gpkg: Path, layer: str, fields: Sequence[str], labels: dict[str, ColumnLabel], score_col: str | None
) -> None:
    """Add (or replace) the default QGIS style of ``layer`` in the GeoPackage ``gpkg``."""
    qml = style_qml(fields, labels, score_col)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with sqlite3.connect(gpkg) as con:
        geom = con.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
        ).fetchone()
        con.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"
        )
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change) "
            "VALUES ('layer_styles', 'attributes', 'layer_styles', ?)",
            (now,),
        )
        con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?", (layer, STYLE_NAME))
        con.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
            "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
            "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '', ?)",
            (layer, geom[0] if geom else "geom", STYLE_NAME, qml,
             escape("Kavels gekleurd naar score, Nederlandse veldnamen (sitefinder)"), now),
        )  # fmt: skip
