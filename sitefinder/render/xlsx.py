"""A small Office Open XML (``.xlsx``) writer for the score workbook.

The workbook needs little: text, numbers and booleans, a bold header row, a frozen
pane, column widths and a number format per column. Writing that directly (one XML
string per sheet, zipped) takes milliseconds, where openpyxl's import and per-cell
objects took about a second for a town's scores. Text is written as inline strings;
characters that XML 1.0 cannot hold are left out.
"""

from __future__ import annotations

import math
import numbers
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from sitefinder import __version__

#: Number formats the sheets use -> their style index in ``styles.xml`` (0: general, 1: bold).
FORMATS = {"#,##0": 2, "0": 3, "0.0": 4}
BOLD = 1
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@dataclass
class Sheet:
    """One worksheet: rows of values, and how they look.

    Attributes
    ----------
    name : str
        The sheet's tab name.
    rows : list of list
        Values per row (str, int, float, bool; None, ``""`` and NaN give an empty cell).
    bold_rows : set of int
        Rows (0-based) in bold.
    widths : dict
        Column (0-based) -> width in characters.
    formats : dict
        Column (0-based) -> number format (a key of :data:`FORMATS`), for every row but the first.
    freeze : tuple of int, optional
        ``(rows, columns)`` kept in view when scrolling.
    """

    name: str
    rows: list[list[Any]] = field(default_factory=list)
    bold_rows: set[int] = field(default_factory=set)
    widths: dict[int, float] = field(default_factory=dict)
    formats: dict[int, str] = field(default_factory=dict)
    freeze: tuple[int, int] | None = None


def column_letter(k: int) -> str:
    """Spreadsheet letters of a 1-based column number.

    >>> [column_letter(k) for k in (1, 26, 27, 702, 703)]
    ['A', 'Z', 'AA', 'ZZ', 'AAA']
    """
    out = ""
    while k > 0:
        k, r = divmod(k - 1, 26)
        out = chr(65 + r) + out
    return out


def _cell(ref: str, value: Any, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if (
        value is None
        or (isinstance(value, str) and not value)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Integral):
        return f'<c r="{ref}"{s}><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return f'<c r="{ref}"{s}/>' if style else ""
        return f'<c r="{ref}"{s}><v>{v!r}</v></c>'
    text = escape(_ILLEGAL.sub("", str(value)))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _sheet_xml(sheet: Sheet) -> str:
    parts = [_HEAD, f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">']
    n_cols = max((len(r) for r in sheet.rows), default=0)
    if n_cols:  # the used range: readers (openpyxl's read-only mode) pad short rows to it
        parts.append(f'<dimension ref="A1:{column_letter(n_cols)}{len(sheet.rows)}"/>')
    if sheet.freeze is not None:
        rows, cols = sheet.freeze
        top_left = f"{column_letter(cols + 1)}{rows + 1}"
        pane = "bottomRight" if rows and cols else ("bottomLeft" if rows else "topRight")
        split = (f' xSplit="{cols}"' if cols else "") + (f' ySplit="{rows}"' if rows else "")
        parts.append(
            f'<sheetViews><sheetView workbookViewId="0"><pane{split} topLeftCell="{top_left}" '
            f'activePane="{pane}" state="frozen"/><selection pane="{pane}" activeCell="{top_left}" '
            f'sqref="{top_left}"/></sheetView></sheetViews>'
        )
    if sheet.widths:
        parts.append("<cols>")
        parts += [
            f'<col min="{k + 1}" max="{k + 1}" width="{w:g}" customWidth="1"/>'
            for k, w in sorted(sheet.widths.items())
        ]
        parts.append("</cols>")
    parts.append("<sheetData>")
    letters = [column_letter(k + 1) for k in range(n_cols)]
    fmt = {k: FORMATS[f] for k, f in sheet.formats.items()}
    for i, row in enumerate(sheet.rows):
        if not row:
            continue
        n = i + 1
        bold = i in sheet.bold_rows
        cells = "".join(
            _cell(f"{letters[k]}{n}", v, BOLD if bold else (fmt.get(k, 0) if i else 0))
            for k, v in enumerate(row)
        )
        parts.append(f'<row r="{n}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def _package(sheets: Sequence[Sheet], created: datetime) -> Iterable[tuple[str, str]]:
    n = len(sheets)
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{sheet_type}"/>'
        for k in range(1, n + 1)
    )
    yield (
        "[Content_Types].xml",
        (
            _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}"
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'
        ),
    )
    doc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    yield (
        "_rels/.rels",
        (
            _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{doc}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
            'metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{doc}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"
        ),
    )
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    yield (
        "docProps/core.xml",
        (
            _HEAD + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>sitefinder</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
        ),
    )
    yield (
        "docProps/app.xml",
        (
            _HEAD
            + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            f"<Application>sitefinder {escape(__version__)}</Application></Properties>"
        ),
    )
    tabs = "".join(
        f'<sheet name={quoteattr(s.name)} sheetId="{k}" r:id="rId{k}"/>'
        for k, s in enumerate(sheets, start=1)
    )
    yield (
        "xl/workbook.xml",
        (
            _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{tabs}</sheets></workbook>"
        ),
    )
    rels = "".join(
        f'<Relationship Id="rId{k}" Type="{doc}/worksheet" Target="worksheets/sheet{k}.xml"/>'
        for k in range(1, n + 1)
    )
    yield (
        "xl/_rels/workbook.xml.rels",
        (
            _HEAD + f'<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{n + 1}" Type="{doc}/styles" Target="styles.xml"/></Relationships>'
        ),
    )
    yield "xl/styles.xml", _STYLES
    for k, s in enumerate(sheets, start=1):
        yield f"xl/worksheets/sheet{k}.xml", _sheet_xml(s)


def write_workbook(sheets: Sequence[Sheet], path: Path, created: datetime | None = None) -> Path:
    """Write ``sheets`` as an ``.xlsx`` workbook at ``path`` (not atomically: give a temporary path).

    Parameters
    ----------
    sheets : sequence of Sheet
        The worksheets, in tab order.
    path : pathlib.Path
        The file to write.
    created : datetime, optional
        The workbook's creation time (default: now, UTC).
    """
    when = created or datetime.now(UTC)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, text in _package(sheets, when):
            z.writestr(name, text.encode("utf-8"))
    return Path(path)
