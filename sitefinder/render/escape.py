"""Escaping for every string that leaves sitefinder for a browser or a spreadsheet.

One small module so that the map, the report and the tables escape the same way:

- :func:`html_text` for text and attribute values in HTML (``&<>"'``);
- :func:`template_text` for names that folium compiles as a Jinja template once more
  (layer-control names): HTML-escaped and braces as character references;
- :func:`script_json` for a JSON data block inside ``<script type="application/json">``:
  ``<``, ``>`` and ``&`` as JSON unicode escapes, so no text can end the element or open a
  comment (``<!--``) that changes how the HTML parser reads it;
- :func:`csv_cell` / :func:`csv_safe` for CSV files opened in a spreadsheet: a text
  cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return)
  would be read as a formula ("CSV injection"), so it gets a leading apostrophe.
  Numbers, and text that reads as a plain number (``-12.5``), are left as they are.

Text that the page script puts in the page goes through ``sitefinder.esc`` or
``textContent`` in ``static/sitefinder.js``; the search box's tips are built with
``textContent`` too (leaflet-search would use ``innerHTML``).
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import pandas as pd

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def html_text(value: object) -> str:
    """``value`` as text safe inside an HTML element or a quoted attribute.

    >>> html_text('"><img src=x onerror=alert(1)>')
    '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'
    """
    return html.escape(str(value), quote=True)


def template_text(value: object) -> str:
    """HTML-escaped text that also survives a Jinja pass (``{`` and ``}`` as references).

    >>> template_text("{{ x }} <b>")
    '&#123;&#123; x &#125;&#125; &lt;b&gt;'
    """
    return html_text(value).replace("{", "&#123;").replace("}", "&#125;")


def script_json(data: Any) -> str:
    r"""JSON for a ``<script type="application/json">`` block: no ``<``, ``>``, ``&``; no NaN.

    >>> script_json({"a": "</script><!--"})
    '{"a":"\\u003c/script\\u003e\\u003c!--"}'
    """
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _is_number_text(text: str) -> bool:
    try:
        return math.isfinite(float(text.replace(",", ".")))
    except ValueError:
        return False


def csv_cell(value: Any) -> Any:
    r"""One CSV cell with a formula start neutralised; non-text values unchanged.

    >>> csv_cell('=cmd|" /C calc"!A0')
    '\'=cmd|" /C calc"!A0'
    >>> csv_cell("-12.5"), csv_cell(-3), csv_cell("Blok 1")
    ('-12.5', -3, 'Blok 1')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number_text(value):
        return "'" + value
    return value


def _textual(dtype: Any) -> bool:
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index are safe for a spreadsheet."""
    out = frame.copy()
    for col in out.columns:
        if _textual(out[col].dtype):
            out[col] = out[col].map(csv_cell)
    out.columns = pd.Index([csv_cell(c) for c in out.columns])
    if _textual(out.index.dtype):
        out.index = pd.Index([csv_cell(v) for v in out.index], name=out.index.name)
    return out
