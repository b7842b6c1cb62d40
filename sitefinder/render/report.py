"""The comparison report: chosen plots side by side, as one printable HTML page and a CSV.

Reads a finished run folder (``scores.gpkg`` and ``manifest.json``) and nothing else:
score and rank per profile, the contribution of every criterion (inline SVG charts),
the constraints a plot fails, every indicator with its unit, the plot's attributes and
a small map of each plot and its surroundings. Meant for a council memo: it prints to
A4 with page breaks between sections, and needs no internet.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from pyproj import CRS
from rasterio.windows import from_bounds

from sitefinder import __version__
from sitefinder.categories import CategoryRegistry, load_categories
from sitefinder.errors import ConfigError, SitefinderError, UnknownNameError
from sitefinder.io.atomic import atomic_path
from sitefinder.io.manifest import Manifest, ProfileEntry
from sitefinder.io.paths import is_within
from sitefinder.io.runfolder import read_run
from sitefinder.render.escape import csv_safe, html_text
from sitefinder.render.labels import ColumnLabel, area_text, column_label, format_value
from sitefinder.render.raster import class_index, palette_png
from sitefinder.render.svg import PLOT_COLOURS, Bar, MapShape, contribution_chart, plot_map
from sitefinder.scoring import status
from sitefinder.scoring.points import max_points
from sitefinder.scoring.profiles import Profile, profile_from_source

log = logging.getLogger(__name__)

#: Colours of the noise classes (5 dB from 45 dB), as on the interactive map.
NOISE_BREAKS = [45, 50, 55, 60, 65, 70, 75]
NOISE_COLOURS = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]
OSM_ATTRIBUTION = "Kaartgegevens © OpenStreetMap-bijdragers (ODbL)"
_INDICATOR = re.compile(r"^(area_m2$|dist_|time_|n_|noise_|share_|pct_|pop_|households_|buurt_)")
_NAME_COLUMNS = ("naam", "name", "locatie", "location", "titel", "title", "omschrijving")


@dataclass(frozen=True)
class CriterionInfo:
    """A scored criterion as the report shows it."""

    name: str
    label: str
    indicator: str
    max_points: float


@dataclass(frozen=True)
class ProfileInfo:
    """A profile of the run: its title, criteria and extra per-plot columns."""

    name: str
    title: str
    criteria: list[CriterionInfo]
    extras: list[str]
    eligible: int


@dataclass(frozen=True)
class RunFolder:
    """The results of one ``sitefinder run``, read back for reporting.

    Attributes
    ----------
    path : Path
        The run folder.
    scores : geopandas.GeoDataFrame
        ``scores.gpkg`` indexed by plot id (str), working CRS.
    manifest : Manifest
        ``manifest.json``, validated.
    profiles : list of ProfileInfo
        The profiles scored, in run order.
    registry : CategoryRegistry or None
        The amenity categories (for Dutch labels), when they could be loaded.
    """

    path: Path
    scores: gpd.GeoDataFrame
    manifest: Manifest
    profiles: list[ProfileInfo]
    registry: CategoryRegistry | None = field(default=None)

    @property
    def name_column(self) -> str | None:
        """The attribute holding a plot's name, if the plots file had one."""
        cols = {c.lower(): c for c in self.scores.columns}
        return next((cols[n] for n in _NAME_COLUMNS if n in cols), None)

    def plot_label(self, plot_id: str) -> str:
        """``A1 – Nieuwmarkt`` (id and name) or the id alone."""
        col = self.name_column
        name = self.scores.loc[plot_id, col] if col else None
        return f"{plot_id} – {name}" if isinstance(name, str) and name else str(plot_id)

    def label(self, col: str) -> ColumnLabel:
        """Dutch label and unit of a column."""
        owner = next((p.name for p in self.profiles if col.endswith(f"_{p.name}")), None)
        owner = owner or next((p.name for p in self.profiles if col.startswith(f"pts_{p.name}_")), None)
        return column_label(col, self.registry, owner)

    def profile_columns(self) -> set[str]:
        """Every per-profile column (score, rank, exclusion, points and extras)."""
        out: set[str] = set()
        for p in self.profiles:
            out |= {f"score_{p.name}", f"rank_{p.name}", f"excluded_{p.name}", *p.extras}
            out |= {c for c in self.scores.columns if c.startswith(f"pts_{p.name}_")}
        return out

    def indicator_columns(self) -> list[str]:
        """Indicator columns (units in their names), in table order."""
        prof = self.profile_columns()
        return [
            c
            for c in self.scores.columns
            if c != "geometry" and c not in prof and (_INDICATOR.match(c) or self.label(c).unit)
        ]

    def attribute_columns(self) -> list[str]:
        """The plots file's own attributes."""
        skip = self.profile_columns() | set(self.indicator_columns()) | {"geometry"}
        return [c for c in self.scores.columns if c not in skip]


def loaded_profile(name: str, entry: ProfileEntry | None) -> Profile | None:
    """The profile a run's manifest names, for labels and Dutch reasons; None when it cannot be loaded."""
    src = entry.source if entry is not None else ""
    if not src:
        return None
    try:
        return profile_from_source(src)
    except (SitefinderError, OSError) as exc:
        log.debug("profile %s: labels not available (%s)", name, exc)
        return None


def _profile_infos(scores: pd.DataFrame, manifest: Manifest) -> list[ProfileInfo]:
    entries = manifest.profiles
    names = [n for n in entries if f"score_{n}" in scores.columns]
    names += [c.removeprefix("score_") for c in scores.columns if c.startswith("score_")]
    names = [n for n in dict.fromkeys(names) if f"score_{n}" in scores.columns]
    out: list[ProfileInfo] = []
    for name in names:
        entry = entries.get(name)
        prof = loaded_profile(name, entry)
        pts = [c.removeprefix(f"pts_{name}_") for c in scores.columns if c.startswith(f"pts_{name}_")]
        weights: dict[str, float] = dict(entry.weights) if entry is not None else {}
        by_name = {c.name: c for c in prof.criteria} if prof is not None else {}
        if not weights and by_name:
            weights = {k: float(by_name[k].weight or 0.0) for k in pts if k in by_name}
        # The run's weights (normalised over the scored criteria), else the profile's own;
        # a criterion without either gets an equal share.
        maxima = max_points([float(weights.get(k, 1.0 / max(len(pts), 1))) for k in pts])
        criteria = [
            CriterionInfo(
                name=k,
                label=by_name[k].label if k in by_name else k.replace("_", " "),
                indicator=by_name[k].indicator if k in by_name else "",
                max_points=round(float(most), 2),
            )
            for k, most in zip(pts, maxima, strict=True)
        ]
        standard = {f"score_{name}", f"rank_{name}", f"excluded_{name}"}
        extras = [
            c
            for c in scores.columns
            if c.endswith(f"_{name}")
            and c not in standard
            and not c.startswith(f"pts_{name}_")
            and not _INDICATOR.match(c)
        ]
        excluded = scores[f"excluded_{name}"].fillna("").astype(str) != ""
        out.append(
            ProfileInfo(
                name=name,
                title=prof.title if prof is not None else name,
                criteria=criteria,
                extras=extras,
                eligible=entry.eligible if entry is not None else int((~excluded).sum()),
            )
        )
    return out


def open_run(path: Path) -> RunFolder:
    """Read a run folder's results, checking that they are there and of this format version.

    Raises
    ------
    RunFolderError
        When the folder does not exist, holds no results, or results of another
        format version.
    """
    base = read_run(path)
    path, scores, manifest = base.path, base.scores, base.manifest
    registry = None
    cats = manifest.config_value("categories_file")
    try:
        registry = load_categories(Path(cats) if cats else None)
    except SitefinderError as exc:
        log.debug("categories not available for labels (%s)", exc)
    return RunFolder(path, scores, manifest, _profile_infos(scores, manifest), registry)


def select_plots(run: RunFolder, plot_ids: Sequence[str]) -> list[str]:
    """The requested plot ids, checked, without repeats.

    Raises
    ------
    UnknownNameError
        For an id that is not in the run, with the nearest existing ids.
    """
    known = [str(i) for i in run.scores.index]
    known_set = set(known)
    out: list[str] = []
    for given in plot_ids:
        pid = str(given)
        if pid in known_set:
            if pid not in out:
                out.append(pid)
            continue
        folded = {k.casefold(): k for k in known}
        near = difflib.get_close_matches(pid, known, n=3, cutoff=0.5)
        if pid.casefold() in folded and folded[pid.casefold()] not in near:
            near.insert(0, folded[pid.casefold()])
        hint = (
            f"did you mean {', '.join(near)}?"
            if near
            else f"the run has {len(known)} plots, e.g. {', '.join(known[:5])}"
        )
        msg = f"unknown plot id {pid!r} in {run.path / 'scores.gpkg'}; {hint}"
        raise UnknownNameError(msg)
    if not out:
        msg = "no plot ids given; name one or more plots to compare"
        raise UnknownNameError(msg)
    return out


def comparison_table(run: RunFolder, plot_ids: Sequence[str]) -> pd.DataFrame:
    """The plots side by side: one row per quantity, one column per plot (raw values).

    Columns ``onderdeel`` (section), ``kenmerk`` (Dutch label), ``eenheid`` (unit) and
    ``kolom`` (column in scores.csv) come first.
    """
    rows: list[dict[str, Any]] = []
    sub = run.scores.loc[list(plot_ids)]

    def add(section: str, col: str, label: str | None = None, unit: str | None = None) -> None:
        lab = run.label(col)
        row: dict[str, Any] = {
            "onderdeel": section,
            "kenmerk": label or lab.label,
            "eenheid": lab.unit if unit is None else unit,
            "kolom": col,
        }
        if lab.kind == "share" and unit is None:
            row["eenheid"] = "aandeel (0-1)"
        for pid in plot_ids:
            v = sub.loc[pid, col]
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                v = None
            elif lab.kind in ("rank", "count") and isinstance(v, float) and v.is_integer():
                v = int(v)
            row[pid] = v
        rows.append(row)

    for p in run.profiles:
        section = f"Profiel: {p.title}"
        add(section, f"score_{p.name}")
        add(section, f"rank_{p.name}", f"Rang (van {p.eligible} geschikte kavels)")
        add(section, f"excluded_{p.name}")
        for c in p.extras:
            add(section, c)
        for crit in p.criteria:
            add(
                section,
                f"pts_{p.name}_{crit.name}",
                f"Bijdrage: {crit.label} (max. {crit.max_points:g})",
                "punten",
            )
    for col in run.indicator_columns():
        add("Indicatoren", col)
    for col in run.attribute_columns():
        add("Kenmerken van de kavel", col, col, "")
    return pd.DataFrame(rows)


# --- HTML -----------------------------------------------------------------------------

_CSS = """
body { font: 10.5pt/1.4 "Helvetica Neue", Arial, sans-serif; color: #222; margin: 24px auto;
  max-width: 190mm; padding: 0 8px; }
h1 { font-size: 18pt; margin: 0 0 4px; }
h2 { font-size: 13pt; margin: 18px 0 6px; border-bottom: 2px solid #0072B2; padding-bottom: 2px; }
h3 { font-size: 11pt; margin: 10px 0 4px; }
.sub { font-size: 12pt; margin: 0 0 8px; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 1px 12px; font-size: 9pt;
  color: #444; margin: 6px 0 10px; }
.meta dt { font-weight: bold; }
.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 4px 0 8px; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 5px; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #888; background: #f3f3f3; }
td.num, th.num { text-align: right; white-space: nowrap; }
tbody td:first-child, thead th:first-child { width: 38%; }
tr.excluded td { color: #8b0000; }
.unit { color: #666; font-weight: normal; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: baseline; }
.note { font-size: 8.5pt; color: #555; }
.fail { color: #8b0000; }
td ul { margin: 0; padding-left: 14px; }
.ok { color: #1b5e20; }
.maps { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; break-inside: avoid; }
figcaption { font-size: 8.5pt; color: #333; max-width: 340px; }
svg.sf-chart { max-width: 100%; height: auto; }
footer { margin-top: 18px; font-size: 8pt; color: #555; border-top: 1px solid #ccc; padding-top: 4px; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@page { size: A4 portrait; margin: 14mm 12mm 16mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 9.5pt; }
  section { break-inside: auto; }
  .keep, figure, svg, tr { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  thead { display: table-header-group; }
  .page-break { break-before: page; }
  a { color: inherit; text-decoration: none; }
}
"""


_esc = html_text


def _cell(run: RunFolder, col: str, value: Any) -> str:
    lab = run.label(col)
    text = format_value(value, lab.kind)
    cls = "" if lab.kind == "text" else " class='num'"
    return f"<td{cls}>{_esc(text)}</td>"


def _head(run: RunFolder, plot_ids: Sequence[str], first: str) -> str:
    cells = "".join(
        f"<th class='num'><span class='swatch' style='background:{PLOT_COLOURS[k % len(PLOT_COLOURS)]}'>"
        f"</span>{_esc(run.plot_label(pid))}</th>"
        for k, pid in enumerate(plot_ids)
    )
    return f"<thead><tr><th>{_esc(first)}</th>{cells}</tr></thead>"


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}."


def _summary(run: RunFolder, plot_ids: Sequence[str]) -> str:
    rows = []
    for p in run.profiles:
        cells = []
        for pid in plot_ids:
            score = run.scores.loc[pid, f"score_{p.name}"]
            rank = run.scores.loc[pid, f"rank_{p.name}"]
            excl = run.scores.loc[pid, f"excluded_{p.name}"]
            score_text = format_value(score, "points")
            if isinstance(excl, str) and excl:
                parts = status.split_reasons(excl)
                what = ("niet gerangschikt (onvoldoende gegevens)"
                        if all(x.startswith(status.INSUFFICIENT) for x in parts) else "uitgesloten")  # fmt: skip
                cells.append(
                    f"<td class='num fail'>{what}<br><span class='note'>score {score_text}</span></td>"
                )
            else:
                rank_text = format_value(rank, "rank")
                cells.append(
                    f"<td class='num'><b>{score_text}</b><br>"
                    f"<span class='note'>rang {rank_text} van {p.eligible}</span></td>"
                )
        rows.append(f"<tr><td>{_esc(p.title)}</td>{''.join(cells)}</tr>")
    none_ok = "".join(
        f"<p class='fail'>{_esc(_sentence(status.no_eligible(p.title, run.scores[f'excluded_{p.name}'].tolist())))}</p>"
        for p in run.profiles
        if p.eligible == 0
    )
    return (
        "<section class='keep'><h2>Samenvatting</h2>"
        "<p class='note'>Score van 0 tot 100 punten per doelgroep-profiel; rang onder de kavels "
        "die aan alle harde eisen voldoen en waarvan de gegevens genoeg kunnen beoordelen.</p>"
        f"{none_ok}"
        f"<table>{_head(run, plot_ids, 'Profiel')}<tbody>{''.join(rows)}</tbody></table></section>"
    )


def criterion_bars(
    run: RunFolder, p: ProfileInfo, plot_ids: Sequence[str], not_evaluable: str = status.NOT_EVALUABLE
) -> list[Bar]:
    """Per criterion of ``p`` a bar per plot: its points, of the maximum, and its raw value as a note.

    A criterion that the data cannot judge for a plot (empty ``pts_`` cell) draws as 0 points
    with ``not_evaluable`` in its note, so the chart never shows it as a finding.
    """
    sub = run.scores.loc[list(plot_ids)]
    bars = []
    for c in p.criteria:
        notes: list[str] = []
        if c.indicator and c.indicator in sub.columns:
            lab = run.label(c.indicator)
            for pid in plot_ids:
                text = format_value(sub.loc[pid, c.indicator], lab.kind)
                note = f"{text} {lab.unit}".strip() if text != "–" else "geen waarde"
                if pd.isna(sub.loc[pid, f"pts_{p.name}_{c.name}"]):
                    note = f"{note}; {not_evaluable}"
                notes.append(note)
        pts = [float(v) for v in sub[f"pts_{p.name}_{c.name}"].astype(float).fillna(0.0)]
        bars.append(Bar(c.label, c.max_points, pts, notes))
    return bars


def _profile_section(run: RunFolder, p: ProfileInfo, plot_ids: Sequence[str]) -> str:
    sub = run.scores.loc[list(plot_ids)]
    labels = [run.plot_label(pid) for pid in plot_ids]
    bars = criterion_bars(run, p, plot_ids)
    chart = contribution_chart(bars, labels, f"Bijdrage per criterium, profiel {p.title}")
    rows = [
        "<tr><td>Score <span class='unit'>(punten van 100)</span></td>"
        + "".join(_cell(run, f"score_{p.name}", sub.loc[pid, f"score_{p.name}"]) for pid in plot_ids)
        + "</tr>",
        f"<tr><td>Rang <span class='unit'>(van {p.eligible} geschikte kavels)</span></td>"
        + "".join(_cell(run, f"rank_{p.name}", sub.loc[pid, f"rank_{p.name}"]) for pid in plot_ids)
        + "</tr>",
    ]
    for col in p.extras:
        lab = run.label(col)
        unit = f" <span class='unit'>({_esc(lab.unit)})</span>" if lab.unit else ""
        rows.append(
            f"<tr><td>{_esc(lab.label)}{unit}</td>"
            + "".join(_cell(run, col, sub.loc[pid, col]) for pid in plot_ids)
            + "</tr>"
        )
    fails = []
    for pid in plot_ids:
        excl = sub.loc[pid, f"excluded_{p.name}"]
        if isinstance(excl, str) and excl:
            items = "".join(f"<li>{_esc(r.strip())}</li>" for r in excl.split(";") if r.strip())
            fails.append(f"<td class='fail'><ul>{items}</ul></td>")
        else:
            fails.append("<td class='ok'>voldoet aan alle harde eisen</td>")
    rows.append(f"<tr><td>Harde eisen</td>{''.join(fails)}</tr>")
    return (
        f"<section class='profile'><h2>Profiel: {_esc(p.title)}</h2>"
        f"<table>{_head(run, plot_ids, '')}<tbody>{''.join(rows)}</tbody></table>"
        "<h3>Opbouw van de score</h3><div class='keep'>"
        f"{chart}</div><p class='note'>De bijdragen tellen op tot de score. Een criterium weegt "
        "zwaarder naarmate het maximum (grijze balk) groter is. Achter de punten: de waarde van de "
        "kavel.</p></section>"
    )


def _table_section(
    run: RunFolder, plot_ids: Sequence[str], cols: Sequence[str], title: str, page_break: bool
) -> str:
    if not cols:
        return ""
    sub = run.scores.loc[list(plot_ids)]
    rows = []
    for c in cols:
        lab = run.label(c)
        unit = f" <span class='unit'>({_esc(lab.unit)})</span>" if lab.unit else ""
        rows.append(
            f"<tr><td>{_esc(lab.label)}{unit}</td>"
            + "".join(_cell(run, c, sub.loc[pid, c]) for pid in plot_ids)
            + "</tr>"
        )
    cls = " class='page-break'" if page_break else ""
    return (
        f"<section{cls}><h2>{_esc(title)}</h2><table>{_head(run, plot_ids, 'Kenmerk')}"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _noise_background(
    run: RunFolder, bounds: tuple[float, float, float, float]
) -> tuple[str, tuple[float, float, float, float]] | None:
    """The run's noise layer around ``bounds`` as a palette PNG data URI, if the layer is there."""
    recorded = run.manifest.noise.layer if run.manifest.noise is not None else None
    if not recorded:
        return None
    layer = run.path / recorded  # relative paths are relative to the run folder
    if not layer.is_file():
        log.warning(
            "run folder %s: noise layer %s is missing; the report's small maps have no noise background",
            run.path, layer,
        )  # fmt: skip
        return None
    try:
        with rasterio.open(layer) as src:
            if src.crs is None or CRS.from_user_input(src.crs) != CRS.from_user_input(run.scores.crs):
                return None
            win = from_bounds(*bounds, transform=src.transform).round_offsets().round_lengths()
            arr = src.read(1, window=win, boundless=True, fill_value=np.nan, masked=False).astype(float)
            if src.nodata is not None:
                arr[arr == src.nodata] = np.nan
            t = src.window_transform(win)
    except (rasterio.errors.RasterioError, OSError, ValueError) as exc:
        log.debug("noise layer %s not used in the report: %s", layer, exc)
        return None
    if arr.size == 0 or np.isnan(arr).all():
        return None
    png = palette_png(class_index(arr, NOISE_BREAKS, len(NOISE_COLOURS)), NOISE_COLOURS, (244, 242, 238))
    x0, y1 = t @ (0, 0)
    x1, y0 = t @ (arr.shape[1], arr.shape[0])
    return "data:image/png;base64," + base64.b64encode(png).decode(), (x0, y0, x1, y1)


def _maps_section(run: RunFolder, plot_ids: Sequence[str]) -> str:
    scores = run.scores
    colour_of = {pid: PLOT_COLOURS[k % len(PLOT_COLOURS)] for k, pid in enumerate(plot_ids)}
    half = 550.0
    figures = []
    noise_kind = None
    if run.manifest.noise is not None:
        noise_kind = "gemodelleerd, indicatief" if run.manifest.noise.modelled else "officiële kaart"
    for pid in plot_ids:
        geom = scores.geometry[pid]
        cx, cy = geom.centroid.x, geom.centroid.y
        window = (cx - half - 50, cy - half - 50, cx + half + 50, cy + half + 50)
        near = scores.cx[window[0] : window[2], window[1] : window[3]]
        shapes = [
            MapShape(g, "#bdbdbd", "#616161", 0.6)
            for i, g in zip(near.index, near.geometry, strict=True)
            if i not in colour_of
        ]
        shapes += [
            MapShape(scores.geometry[o], colour_of[o], "#000000" if o == pid else "#333333",
                     2.2 if o == pid else 1.0)
            for o in plot_ids
        ]  # fmt: skip
        bg = _noise_background(run, window)
        title = f"Ligging van kavel {run.plot_label(pid)}"
        svg = plot_map(geom, shapes, title, half_size_m=half, circle_m=500.0, background=bg)
        area = scores.loc[pid, "area_m2"] if "area_m2" in scores.columns else geom.area
        bg_note = f" Achtergrond: geluid Lden ({noise_kind})." if bg is not None and noise_kind else ""
        figures.append(
            f"<figure>{svg}<figcaption><b>{_esc(run.plot_label(pid))}</b>: "
            f"{area_text(area)}, RD ({format_value(cx, 'm')}, {format_value(cy, 'm')}). "
            f"Gekleurd: de vergeleken kavels; grijs: andere kavels van de analyse; stippellijn: "
            f"500 m hemelsbreed.{_esc(bg_note)}</figcaption></figure>"
        )
    return f"<section class='page-break'><h2>Ligging</h2><div class='maps'>{''.join(figures)}</div></section>"


def _mobility_lines(man: Manifest) -> list[tuple[str, str]]:
    """What the wheelchair network is based on: the share of footways with accessibility tags."""
    out = []
    for name, info in (man.sources.get("mobility") or {}).items():
        if name == "walk" or not isinstance(info, dict):
            continue

        def pct(k: str, info: dict[str, Any] = info) -> str:
            v = info.get(f"share_{k}")
            return "?" if v is None or math.isnan(v) else f"{100 * v:.0f} %"

        text = (
            f"{info.get('edges_excluded', 0)} van {info.get('edges', 0)} wegvakken uitgesloten "
            f"(trappen, hoge stoepranden, steile hellingen, ...), {info.get('edges_penalised', 0)} zwaarder "
            f"geteld; voetpaden met kenmerk verharding {pct('surface')}, stoeprand {pct('kerb')}, "
            f"helling {pct('incline')}"
        )
        if info.get("few_tags"):
            text += ": weinig kenmerken in OSM, de afstanden liggen daardoor dicht bij die van lopen"
        label = "Rolstoelnetwerk" if name == "wheelchair" else f"Netwerk {name}"
        out.append((label, text))
    return out


def _meta(run: RunFolder) -> str:
    man = run.manifest
    created = man.created
    with contextlib.suppress(ValueError):
        created = datetime.fromisoformat(created).strftime("%d-%m-%Y %H:%M")
    osm = man.sources.get("osm") or {}
    src = []
    if osm:
        src.append(
            f"OpenStreetMap: {Path(str(osm.get('path', ''))).name} (sha256 {str(osm.get('sha256', ''))[:12]})"
        )
    noise = man.noise
    if noise is not None:
        src.append(
            "geluid: gemodelleerd (indicatief, geen officiële kaart)"
            if noise.modelled
            else "geluid: officiële kaart"
        )
    else:
        src.append("geluid: geen gegevens in deze analyse")
    nbh = man.sources.get("neighbourhoods") or {}
    if nbh:
        year = nbh.get("year")
        src.append(
            f"buurtcijfers: CBS wijken en buurten{f' {year}' if year else ''} ({nbh.get('neighbourhoods')} buurten)"
        )
    items = [
        ("Analyse", man.config_value("title", "")),
        ("Gemaakt", created),
        ("Resultaten", f"{run.path} (sitefinder {man.sitefinder_version}, formaat {man.format_version})"),
        ("Bronnen", "; ".join(src)),
        *_mobility_lines(man),
        ("Rapport", f"sitefinder {__version__}, {datetime.now().astimezone().strftime('%d-%m-%Y %H:%M')}"),
    ]  # fmt: skip
    return "<dl class='meta'>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items) + "</dl>"


def render_report(run: RunFolder, plot_ids: Sequence[str]) -> str:
    """The comparison report as one self-contained HTML page.

    Parameters
    ----------
    run : RunFolder
        The run's results (see :func:`open_run`).
    plot_ids : sequence of str
        Plots to compare, already checked with :func:`select_plots`.
    """
    labels = " · ".join(run.plot_label(pid) for pid in plot_ids)
    title = f"Vergelijking van kavels: {', '.join(plot_ids)}"
    parts = [
        "<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>Vergelijking van kavels</h1><p class='sub'>{_esc(labels)}</p>{_meta(run)}</header>",
        _summary(run, plot_ids),
        *(_profile_section(run, p, plot_ids) for p in run.profiles),
        _table_section(run, plot_ids, run.indicator_columns(), "Indicatoren (met eenheden)", True),
        _table_section(run, plot_ids, run.attribute_columns(), "Kenmerken van de kavels", False),
        _maps_section(run, plot_ids),
        f"<footer>{_esc(OSM_ATTRIBUTION)}. Afstanden: lopen over het stratennet, of hemelsbreed "
        "waar vermeld. Elke score is uit te leggen uit de tabel: de bijdragen per criterium tellen "
        "op tot de score; harde eisen sluiten een kavel uit, los van de score.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts)


def default_report_path(run: RunFolder, plot_ids: Sequence[str]) -> Path:
    """``<run>/vergelijking_<ids>.html`` (ids made file-name safe, shortened)."""
    stem = "_".join(re.sub(r"[^A-Za-z0-9-]+", "-", p).strip("-") or "kavel" for p in plot_ids)
    return run.path / f"vergelijking_{stem[:80]}.html"


def report_target(run: RunFolder, plot_ids: Sequence[str], out: str | Path | None) -> Path:
    """The HTML file a comparison report or memo goes to.

    ``out`` as given (a folder gets the default name inside it; a name without ``.html``
    gets it appended), else :func:`default_report_path` in the run folder.
    """
    target = default_report_path(run, plot_ids) if out is None else Path(out)
    if target.is_dir():
        target = target / default_report_path(run, plot_ids).name
    if target.suffix.lower() not in (".html", ".htm"):
        target = target.with_name(target.name + ".html")
    return target


#: Files that ``sitefinder run`` writes into a run folder; a report never replaces them.
RUN_OUTPUTS = (
    "scores.gpkg", "scores.csv", "scores_nl.csv", "scores.xlsx", "map.html", "manifest.json", "basemap.gpkg",
    "routes.parquet",
)  # fmt: skip


def refuse_run_outputs(run: RunFolder, *targets: Path) -> None:
    """Raise when a report file would replace one of the run's own outputs or layers.

    Raises
    ------
    ConfigError
        Naming the file and how to choose another.
    """
    own = {(run.path / name).resolve() for name in RUN_OUTPUTS}
    for t in targets:
        r = t.resolve()
        inside_layers = is_within(r, run.path / "layers")
        if r in own or inside_layers or any(part.startswith(".staging-") for part in r.parts):
            msg = (
                f"compare --out {t}: would overwrite the run's own output {r.name} in {run.path}; "
                "give another file name, e.g. --out vergelijking.html"
            )
            raise ConfigError(msg)


def write_report(run: RunFolder, plot_ids: Sequence[str], out: Path | None = None) -> tuple[Path, Path]:
    """Write the report (HTML) and the side-by-side table (CSV beside it), atomically.

    Parameters
    ----------
    run : RunFolder
        The run's results.
    plot_ids : sequence of str
        Plot ids as the user gave them; checked here.
    out : Path, optional
        The HTML file (or a folder for it); default :func:`default_report_path`.

    Returns
    -------
    html_path, csv_path : Path
    """
    ids = select_plots(run, plot_ids)
    target = report_target(run, ids, out)
    csv_path = target.with_suffix(".csv")
    refuse_run_outputs(run, target, csv_path)
    page = render_report(run, ids)
    table = comparison_table(run, ids)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_path(csv_path) as tmp:
        csv_safe(table).to_csv(tmp, index=False, encoding="utf-8")
    log.info("Wrote %s and %s (%d plots)", target, csv_path, len(ids))
    return target, csv_path
