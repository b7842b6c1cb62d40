"""The score workbook (``.xlsx``), written with XlsxWriter.

The workbook needs little: text, numbers and booleans, a bold header row, a frozen
pane, column widths and a number format per column. XlsxWriter writes that in
milliseconds without building per-cell objects (openpyxl's import and cell objects
took about a second for a town's scores). Text is always written as text, never as a
formula or a link (``'=1+1`` stays those characters); characters that XML 1.0 cannot
hold are left out.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sitefinder import __version__

#: Number formats the sheets use.
FORMATS = ("#,##0", "0", "0.0")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Excel's limit on the characters of one cell.
_MAX_TEXT = 32_767


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
        Column (0-based) -> number format (one of :data:`FORMATS`), for every row but the first.
    freeze : tuple of int, optional
        ``(rows, columns)`` kept in view when scrolling.
    """

    name: str
    rows: list[list[Any]] = field(default_factory=list)
    bold_rows: set[int] = field(default_factory=set)
    widths: dict[int, float] = field(default_factory=dict)
    formats: dict[int, str] = field(default_factory=dict)
    freeze: tuple[int, int] | None = None


def _is_empty(value: Any) -> bool:
    """Whether ``value`` gives an empty cell.

    >>> [_is_empty(v) for v in (None, "", float("nan"), 0, "0", False)]
    [True, True, True, False, False, False]
    """
    if value is None or (isinstance(value, str) and not value):
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isfinite(float(value))


def _write_sheet(book: Any, sheet: Sheet) -> None:
    ws = book.add_worksheet(sheet.name)
    bold = book.add_format({"bold": True})
    fmt = {k: book.add_format({"num_format": f}) for k, f in sheet.formats.items()}
    for k, w in sorted(sheet.widths.items()):
        ws.set_column(k, k, w)
    if sheet.freeze is not None:
        ws.freeze_panes(*sheet.freeze)
    for i, row in enumerate(sheet.rows):
        for k, value in enumerate(row):
            style = bold if i in sheet.bold_rows else (fmt.get(k) if i else None)
            if _is_empty(value):
                if style is not None:
                    ws.write_blank(i, k, None, style)
            elif isinstance(value, bool):
                ws.write_boolean(i, k, value, style)
            elif isinstance(value, numbers.Real):
                ws.write_number(
                    i, k, int(value) if isinstance(value, numbers.Integral) else float(value), style
                )
            else:
                ws.write_string(i, k, _ILLEGAL.sub("", str(value))[:_MAX_TEXT], style)


def write_workbook(sheets: list[Sheet], path: Path, created: datetime | None = None) -> Path:
    """Write ``sheets`` as an ``.xlsx`` workbook at ``path`` (not atomically: give a temporary path).

    Parameters
    ----------
    sheets : list of Sheet
        The worksheets, in tab order.
    path : pathlib.Path
        The file to write.
    created : datetime, optional
        The workbook's creation time (default: now, UTC).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> out = Path(tempfile.mkdtemp()) / "t.xlsx"
    >>> _ = write_workbook([Sheet("Scores", rows=[["Kavel", "Score"], ["=1+1", 61.5]])], out)
    >>> "<f>" in zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()  # no formula
    False
    """
    import xlsxwriter

    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    book = xlsxwriter.Workbook(str(path), options)
    book.set_properties({"author": "sitefinder", "comments": f"sitefinder {__version__}",
                         "created": (created or datetime.now(UTC)).replace(tzinfo=None)})  # fmt: skip
    for sheet in sheets:
        _write_sheet(book, sheet)
    book.close()
    return Path(path)
