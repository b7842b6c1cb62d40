"""Dutch labels and units for the columns of the scores table, shared by the map and the report.

Column names carry their unit (``_m``, ``_m2``, ``_db``, ``_share``); this module turns
them into what a planner reads: ``dist_gp_m`` -> "Loopafstand tot Huisarts" in "m".
Unknown columns keep their name, with the unit taken from the suffix, so new
indicators show up without code changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sitefinder.categories import CategoryRegistry

#: Dutch names of the straight-line nuisance kinds (``dist_<kind>_straight_m``).
NUISANCE_LABELS = {
    "nightlife": "uitgaansgelegenheid",
    "major_road": "snelweg of autoweg",
    "railway": "spoorlijn",
}

#: Per-profile columns that scoring writes besides score, rank, exclusion and points.
#: Anything else ending in ``_<profile>`` is shown as well, under its own name.
PROFILE_EXTRA_LABELS = {
    "rank_p5": ("Rang, 5e percentiel (gevoeligheid)", ""),
    "rank_p50": ("Rang, mediaan (gevoeligheid)", ""),
    "rank_p95": ("Rang, 95e percentiel (gevoeligheid)", ""),
    "score_p5": ("Score, 5e percentiel (gevoeligheid)", "punten"),
    "score_p95": ("Score, 95e percentiel (gevoeligheid)", "punten"),
}

_TOP_K = re.compile(r"^p_top(\d+)$")
_DIST = re.compile(r"^dist_(?P<cat>[a-z0-9_]+?)_m$")
_STRAIGHT = re.compile(r"^dist_(?P<kind>[a-z0-9_]+?)_straight_m$")
_COUNT = re.compile(r"^n_(?P<cat>[a-z0-9_]+?)_(?P<d>\d+)m$")
_COUNT_STRAIGHT = re.compile(r"^n_(?P<cat>[a-z0-9_]+?)_straight_(?P<d>\d+)m$")
_WHEEL_DIST = re.compile(r"^dist_(?P<cat>[a-z0-9_]+?)_wheelchair_m$")
_TIME = re.compile(r"^time_(?P<cat>[a-z0-9_]+?)(?P<net>_wheelchair)?_min$")
_CATCHMENT = re.compile(r"^(?P<what>pop_total|pop_65plus|households)_(?P<d>\d+)m$")
_CATCHMENT_LABELS = {
    "pop_total": "Inwoners binnen {d} m lopen (CBS, gespreid over woningen)",
    "pop_65plus": "Inwoners van 65+ binnen {d} m lopen (CBS, gespreid over woningen)",
    "households": "Huishoudens binnen {d} m lopen (CBS, gespreid over woningen)",
}
_SHARE_ABOVE = re.compile(r"^noise_(?P<p>lden|lnight)_share_above_(?P<t>[\d_]+)db$")

_FIXED = {
    "area_m2": ("Oppervlakte", "m²"),
    "area_ha": ("Oppervlakte", "ha"),
    # Plot attributes that plot files (and the sample town) commonly carry in English.
    "name": ("Naam", ""),
    "owner": ("Eigenaar", ""),
    "zoning": ("Bestemming", ""),
    "setting": ("Ligging", ""),
    "noise_lden_mean_db": ("Geluid Lden, gemiddeld over de kavel", "dB"),
    "noise_lden_p90_db": ("Geluid Lden, 90e percentiel over de kavel", "dB"),
    "noise_lnight_mean_db": ("Geluid Lnight, gemiddeld over de kavel", "dB"),
    "noise_coverage_share": ("Deel van de kavel met geluidsgegevens", "%"),
    "covered_radius_m": ("Dekking van de OSM-gegevens rond de kavel", "m"),
    "noise_modelled": ("Geluid uit het rekenmodel van sitefinder (ja/nee)", ""),
    "noise_source": ("Bron van de geluidsgegevens", ""),
    "censored_values": ("Waarden die alleen als ondergrens bekend zijn (gegevens reiken niet verder)", ""),
    "buurt_code": ("Buurt (CBS-code)", ""),
    "buurt_naam": ("Buurt", ""),
    "buurt_inwoners": ("Inwoners van de buurt (CBS)", "inwoners"),
    "buurt_65plus": ("Inwoners van 65+ in de buurt (CBS)", "inwoners"),
    "buurt_65plus_pct": ("Aandeel 65+ in de buurt (CBS)", "% van de inwoners"),
    "buurt_huishoudens": ("Huishoudens in de buurt (CBS)", "huishoudens"),
}
_FIXED_KIND = {
    "buurt_code": "text",
    "buurt_naam": "text",
    "buurt_65plus_pct": "number",
    "area_ha": "number",
    "name": "text",
    "owner": "text",
    "zoning": "text",
    "setting": "text",
}


@dataclass(frozen=True)
class ColumnLabel:
    """How a column is shown: a Dutch label, its unit, and how to format its values.

    Attributes
    ----------
    key : str
        The column name.
    label : str
        Dutch label without the unit.
    unit : str
        Unit as shown after a value (``m``, ``m²``, ``dB``, ``%``), or empty.
    kind : str
        ``m`` (whole metres), ``db`` (one decimal), ``share`` (0-1 shown as %),
        ``count``, ``rank``, ``points``, ``number`` or ``text``.
    """

    key: str
    label: str
    unit: str
    kind: str

    @property
    def heading(self) -> str:
        """Label with the unit in brackets, for table headings and CSV files."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


def _category_label(cat: str, registry: CategoryRegistry | None) -> str:
    if registry is not None and cat in registry:
        return registry.get(cat).label.lower()
    return cat.replace("_", " ")


def _suffix_unit(col: str) -> tuple[str, str]:
    if col.endswith("_m2"):
        return "m²", "m"
    if col.endswith("_m"):
        return "m", "m"
    if col.endswith("_db"):
        return "dB", "db"
    if col.endswith("_share"):
        return "%", "share"
    return "", "number"


def column_label(
    col: str, registry: CategoryRegistry | None = None, profile: str | None = None
) -> ColumnLabel:
    """The Dutch label, unit and format of a column of the scores table.

    Parameters
    ----------
    col : str
        Column name, e.g. ``dist_gp_m`` or ``rank_p95_prikkelarm``.
    registry : CategoryRegistry, optional
        For the Dutch names of amenity categories.
    profile : str, optional
        The profile name a per-profile column belongs to (its suffix is dropped).

    Examples
    --------
    >>> column_label("dist_pt_stop_m").heading
    'Loopafstand tot pt stop (m)'
    >>> column_label("n_gp_500m").heading
    'Gp: aantal binnen 500 m lopen'
    >>> column_label("p_top5_levendig", profile="levendig").heading
    'Kans op een plek in de top 5 (%)'
    """
    base = col
    if profile and col.startswith(f"pts_{profile}_"):
        crit = col[len(profile) + 5 :]
        return ColumnLabel(col, f"Bijdrage {crit.replace('_', ' ')}", "punten", "points")
    if profile and col.endswith(f"_{profile}"):
        base = col[: -len(profile) - 1]
    if base in _FIXED:
        label, unit = _FIXED[base]
        kind = _FIXED_KIND.get(base) or ("share" if unit == "%" else _suffix_unit(base)[1])
        return ColumnLabel(col, label, unit, kind)
    if m := _CATCHMENT.match(base):
        unit = "huishoudens" if m.group("what") == "households" else "inwoners"
        return ColumnLabel(col, _CATCHMENT_LABELS[m.group("what")].format(d=m.group("d")), unit, "count")
    if base == "score":
        return ColumnLabel(col, "Score", "punten van 100", "points")
    if base == "rank":
        return ColumnLabel(col, "Rang", "", "rank")
    if base == "excluded":
        return ColumnLabel(col, "Uitgesloten omdat", "", "text")
    if base == "not_evaluable":
        return ColumnLabel(col, "Criteria die niet meetellen (gegevens reiken niet ver genoeg)", "", "text")
    if base == "share_not_evaluable":
        return ColumnLabel(col, "Deel van het gewicht dat niet beoordeeld kon worden", "%", "share")
    if base in PROFILE_EXTRA_LABELS:
        label, unit = PROFILE_EXTRA_LABELS[base]
        return ColumnLabel(col, label, unit, "rank" if base.startswith("rank") else "points")
    if m := _TOP_K.match(base):
        return ColumnLabel(col, f"Kans op een plek in de top {m.group(1)}", "%", "share")
    if m := _STRAIGHT.match(base):
        kind = NUISANCE_LABELS.get(m.group("kind")) or _category_label(m.group("kind"), registry)
        return ColumnLabel(col, f"Afstand hemelsbreed tot {kind}", "m", "m")
    if m := _COUNT_STRAIGHT.match(base):
        cat = _category_label(m.group("cat"), registry)
        return ColumnLabel(
            col, f"{cat.capitalize()}: aantal binnen {m.group('d')} m hemelsbreed", "", "count"
        )
    if m := _WHEEL_DIST.match(base):
        cat = _category_label(m.group("cat"), registry)
        return ColumnLabel(col, f"Afstand tot {cat}, rolstoelnetwerk", "m", "m")
    if m := _TIME.match(base):
        cat = _category_label(m.group("cat"), registry)
        if m.group("net"):
            return ColumnLabel(col, f"Tijd tot {cat}, rolstoelnetwerk (3 km/u)", "min", "number")
        return ColumnLabel(col, f"Looptijd tot {cat} (3,6 km/u)", "min", "number")
    if m := _DIST.match(base):
        cat = _category_label(m.group("cat"), registry)
        return ColumnLabel(col, f"Loopafstand tot {cat}", "m", "m")
    if m := _COUNT.match(base):
        cat = _category_label(m.group("cat"), registry)
        return ColumnLabel(col, f"{cat.capitalize()}: aantal binnen {m.group('d')} m lopen", "", "count")
    if m := _SHARE_ABOVE.match(base):
        t = m.group("t").replace("_", ",")
        period = "Lden" if m.group("p") == "lden" else "Lnight"
        return ColumnLabel(col, f"Deel van de kavel boven {t} dB {period}", "%", "share")
    unit, kind = _suffix_unit(base)
    return ColumnLabel(col, base, unit, kind)


def area_text(area: Any) -> str:
    """A plot's area for a caption: ``1.600 m²``, or that a point plot has none.

    >>> area_text(1600.0), area_text(float("nan"))
    ('1.600 m²', 'oppervlakte onbekend (punt zonder omtrek)')
    """
    if area is None or bool(pd.isna(area)):
        return "oppervlakte onbekend (punt zonder omtrek)"
    return f"{format_value(area, 'm')} m²"


def format_value(value: Any, kind: str) -> str:
    """A value as text in Dutch notation (decimal comma, dot for thousands); ``–`` when missing.

    Examples
    --------
    >>> format_value(1234.56, "m")
    '1.235'
    >>> format_value(0.256, "share")
    '25,6'
    >>> format_value(float("nan"), "db")
    '–'
    """
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return "–"
    if kind == "text" or isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "ja" if value else "nee"
    x = float(value)
    if kind in ("m", "count", "rank"):
        text = f"{x:,.0f}"
    elif kind == "share":
        text = f"{100 * x:,.1f}"
    elif kind in ("db", "points"):
        text = f"{x:,.1f}"
    else:
        text = f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
