"""The council memo: a few plots compared on at most three A4 pages (``sitefinder compare``).

Not a dump of the table (that goes to the CSV beside it): a summary table over every
profile of the run, one plain-Dutch sentence per plot and profile (rank, where it gains
and loses most, the hard conditions it fails), the contribution chart per profile, at
most :data:`MAX_INDICATORS` key indicators, locator maps drawn on the run's own streets
and water (``basemap.gpkg`` in the run folder), and a box with the method and sources.
``--pdf`` prints it with headless Chromium (:func:`write_pdf`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from sitefinder import __version__
from sitefinder.errors import ConfigError, UnknownNameError
from sitefinder.io.atomic import atomic_path
from sitefinder.io.runfolder import BASEMAP_FILE
from sitefinder.render import live
from sitefinder.render.escape import csv_safe, html_text
from sitefinder.render.labels import area_text, format_value
from sitefinder.render.panel import describe_sources
from sitefinder.render.report import (
    _CSS,
    RunFolder,
    _head,
    _mobility_lines,
    comparison_table,
    criterion_bars,
    loaded_profile,
    refuse_run_outputs,
    report_target,
    select_plots,
)
from sitefinder.render.svg import PLOT_COLOURS, MapShape, contribution_chart, plot_map
from sitefinder.scoring import status
from sitefinder.scoring.profiles import Constraint, Profile

log = logging.getLogger(__name__)

#: At most this many indicators in the memo (the CSV has them all).
MAX_INDICATORS = 15
#: Profiles shown in detail when none are named (the summary table shows every profile).
DEFAULT_DETAIL = 2
#: Indicators worth showing besides the chosen profiles' criteria, in this order.
PREFERRED = (
    "area_m2", "noise_lden_mean_db", "noise_lden_p90_db", "dist_supermarket_m", "dist_gp_m",
    "dist_pharmacy_m", "dist_pt_stop_m", "dist_green_m", "dist_nightlife_straight_m",
    "dist_major_road_straight_m", "dist_railway_straight_m", "n_nightlife_straight_500m",
)  # fmt: skip
CHROMIUM = Path(os.environ.get("SITEFINDER_CHROMIUM", "/usr/bin/chromium"))
_MEMO_CSS = """
.memo-box { border: 1px solid #0072B2; background: #f4f8fb; padding: 4px 10px; font-size: 8.5pt; margin-top: 8px; }
.memo-box h2 { border: none; margin: 4px 0; font-size: 10.5pt; }
.memo-box p { margin: 2px 0; }
.sentences p { margin: 3px 0; }
.maps { display: flex; gap: 6px; justify-content: space-between; }
.maps figure { width: 32%; }
.maps svg { width: 100%; height: auto; }
.maps figcaption { font-size: 7.5pt; max-width: none; }
h2 { margin-top: 10px; }
.chart svg { width: 74%; display: block; margin: 0 auto; }
.memo .summary td:first-child, .memo .summary th:first-child { width: 22%; }
.memo .indicators td:first-child, .memo .indicators th:first-child { width: 46%; }
.memo td.num, .memo th.num { white-space: normal; }
.memo .indicators table, .memo .summary table { table-layout: fixed; }
.memo .indicators td:first-child { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.memo td, .memo th { padding: 1px 4px; }
header .meta { margin: 2px 0 4px; }
@media print { body { font-size: 8.5pt; } .page-break { break-before: auto; } }
"""


def _profiles(run: RunFolder) -> dict[str, Profile]:
    """The run's profiles as loaded from their source (for Dutch reasons); those that cannot be loaded are left out."""
    out = {}
    for name, entry in run.manifest.profiles.items():
        prof = loaded_profile(name, entry)
        if prof is not None:
            out[name] = prof
    return out


def choose_profiles(run: RunFolder, names: Sequence[str] | None) -> list[str]:
    """The profiles shown in detail: those named (checked), or the run's first :data:`DEFAULT_DETAIL`.

    Raises
    ------
    UnknownNameError
        For a name the run did not score; the message lists the run's profiles.
    """
    have = [p.name for p in run.profiles]
    if not names:
        return have[:DEFAULT_DETAIL]
    bad = [n for n in names if n not in have]
    if bad:
        msg = f"--profile: the run in {run.path} has no scores for {', '.join(bad)}; profiles in it: {', '.join(have)}"
        raise UnknownNameError(msg)
    return list(dict.fromkeys(names))


def dutch_reason(part: str, constraints: Sequence[Constraint], row: pd.Series, run: RunFolder) -> str:
    """One exclusion reason in plain Dutch, with the plot's value and the limit instead of column names."""
    for con in constraints:
        lab = run.label(con.indicator)
        short = live.SHORT_LABELS.get(con.indicator) or (lab.label[:1].lower() + lab.label[1:])
        value = row.get(con.indicator)
        text = "geen gegevens" if value is None or (not isinstance(value, str) and pd.isna(value)) else (
            f"{format_value(value, lab.kind)}\u00a0{lab.unit}".strip()
        )  # fmt: skip
        limit = live._limit_text(con, lab)
        if part == live.run_text(con):
            return (
                f"{con.reason} ({short} {text}, {limit})"
                if con.indicator in row.index
                else f"{con.reason} ({short}, {limit})"
            )
        if con.describe() in part:
            return part.replace(f"({con.describe()})", f"({short}, {limit})").replace(
                con.describe(), f"{short} {limit}"
            )
    return part


def _reasons(run: RunFolder, prof: Profile | None, pid: str, name: str) -> list[str]:
    excl = run.scores.loc[pid, f"excluded_{name}"]
    if not isinstance(excl, str) or not excl:
        return []
    row = run.scores.loc[pid]
    cons = prof.constraints if prof is not None else ()
    return [dutch_reason(p, cons, row, run) for p in live.split_reasons(excl)]


def _top_k(run: RunFolder, name: str) -> tuple[str, int] | None:
    col = next((c for c in run.scores.columns if c.startswith("p_top") and c.endswith(f"_{name}")), None)
    if col is None:
        return None
    return col, int(col.removeprefix("p_top").removesuffix(f"_{name}"))


def sentence(run: RunFolder, pid: str, name: str, prof: Profile | None) -> str:
    """A plain-Dutch sentence: rank, where the plot gains and loses most, the hard conditions."""
    p = next(x for x in run.profiles if x.name == name)
    row = run.scores.loc[pid]
    score = format_value(row[f"score_{name}"], "points")
    reasons = _reasons(run, prof, pid, name)
    label = run.plot_label(pid)
    if reasons:
        head = f"{label} valt af voor {p.title}: {'; '.join(reasons)}. Zonder die uitsluiting: {score} punten"
    else:
        head = (f"{label} staat voor {p.title} op plaats {format_value(row[f'rank_{name}'], 'rank')} "
                f"van {p.eligible} geschikte kavels, met {score} van 100 punten")  # fmt: skip
    gains = []
    for c in p.criteria:
        pts = row.get(f"pts_{name}_{c.name}")
        if pts is None or pd.isna(pts) or c.max_points <= 0:
            continue
        gains.append((float(pts), c.max_points - float(pts), c))
    if gains:
        best = max(gains, key=lambda g: g[0])
        worst = max(gains, key=lambda g: g[1])
        head += (f"; de meeste punten haalt het op {best[2].label.lower()} ({format_value(best[0], 'points')} "
                 f"van {format_value(best[2].max_points, 'points')})")  # fmt: skip
        if worst[2] is not best[2] and worst[1] > 0.05:
            head += (f", de meeste verliest het op {worst[2].label.lower()} ({format_value(worst[0], 'points')} "
                     f"van {format_value(worst[2].max_points, 'points')})")  # fmt: skip
    if not reasons:
        head += "; het voldoet aan alle harde eisen"
    return head + "."


def _summary_table(run: RunFolder, ids: Sequence[str], loaded: dict[str, Profile]) -> str:
    rows = []
    for p in run.profiles:
        cells = []
        for pid in ids:
            row = run.scores.loc[pid]
            score = format_value(row[f"score_{p.name}"], "points")
            excl = row[f"excluded_{p.name}"]
            if isinstance(excl, str) and excl:
                parts = live.split_reasons(excl)
                what = ("niet gerangschikt (onvoldoende gegevens)"
                        if all(x.startswith(status.INSUFFICIENT) for x in parts) else "uitgesloten")  # fmt: skip
                cells.append(f"<td class='num fail'>{what}<br><span class='note'>score {score}</span></td>")
                continue
            extra = ""
            tk = _top_k(run, p.name)
            if tk is not None:
                col, k = tk
                chance = "n.v.t." if p.eligible < k else f"{format_value(row[col], 'share')} %"
                extra = f"; kans top {k}: {chance}"
            cells.append(
                f"<td class='num'><b>{score}</b><br><span class='note'>rang "
                f"{format_value(row[f'rank_{p.name}'], 'rank')} van {p.eligible}{html_text(extra)}</span></td>"
            )
        rows.append(f"<tr><td>{html_text(p.title)}</td>{''.join(cells)}</tr>")
    notes = []
    for p in run.profiles:
        tk = _top_k(run, p.name)
        if tk is not None and p.eligible < tk[1]:
            notes.append(f"{p.title}: maar {p.eligible} geschikte kavels, dus geen top {tk[1]} (n.v.t.)")
        if p.eligible == 0:
            prof = loaded.get(p.name)
            cons = prof.constraints if prof is not None else ()
            common = status.most_common_reason(run.scores[f"excluded_{p.name}"].tolist())
            text = f"geen enkele kavel voldoet aan de harde eisen van {p.title}"
            if common:
                text += (
                    f"; meest voorkomende reden: {dutch_reason(common, cons, pd.Series(dtype=object), run)}"
                )
            notes.append(text)
    note = "".join(f"<p class='note'>{html_text(n[:1].upper() + n[1:])}.</p>" for n in notes)
    return (
        "<section class='summary'><h2>Samenvatting over alle profielen</h2>"
        f"<table>{_head(run, ids, 'Profiel (score 0–100, rang onder de geschikte kavels)')}"
        f"<tbody>{''.join(rows)}</tbody></table>{note}</section>"
    )


def _chart(run: RunFolder, name: str, ids: Sequence[str]) -> str:
    """The contribution chart of one profile: per criterion a bar per plot on a track of its maximum."""
    p = next(x for x in run.profiles if x.name == name)
    bars = criterion_bars(run, p, ids, not_evaluable="telt niet mee")
    chart = contribution_chart(bars, [run.plot_label(pid) for pid in ids], f"Opbouw van de score, {p.title}")
    return (
        f"<section class='keep chart'><h2>Opbouw van de score: {html_text(p.title)}</h2>{chart}"
        "<p class='note'>Punten per criterium (grijze balk: het maximum); ze tellen op tot de score. "
        "Achter de punten: de waarde van de kavel.</p></section>"
    )


def key_indicators(run: RunFolder, detail: Sequence[str]) -> list[str]:
    """At most :data:`MAX_INDICATORS` columns: the detailed profiles' criteria first, then :data:`PREFERRED`."""
    cols: list[str] = []
    for name in detail:
        p = next(x for x in run.profiles if x.name == name)
        cols += [c.indicator for c in p.criteria if c.indicator]
    cols += list(PREFERRED)
    have = set(run.scores.columns)
    return [c for c in dict.fromkeys(cols) if c in have][:MAX_INDICATORS]


def _indicator_table(run: RunFolder, ids: Sequence[str], cols: Sequence[str]) -> str:
    rows = []
    for c in cols:
        lab = run.label(c)
        unit = f" <span class='unit'>({html_text(lab.unit)})</span>" if lab.unit else ""
        vals = "".join(
            f"<td class='num'>{html_text(format_value(run.scores.loc[pid, c], lab.kind))}</td>" for pid in ids
        )
        rows.append(f"<tr><td>{html_text(lab.label)}{unit}</td>{vals}</tr>")
    return (
        f"<section class='indicators'><h2>Kerncijfers ({len(cols)} van {len(run.indicator_columns())}; "
        f"alle in de CSV)</h2><table>{_head(run, ids, 'Kenmerk')}<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _basemap_shapes(run: RunFolder, window: tuple[float, float, float, float]) -> list[MapShape]:
    """Streets, water, buildings and green around ``window`` from the run's ``basemap.gpkg``."""
    path = run.path / BASEMAP_FILE
    if not path.is_file():
        return []
    out: list[MapShape] = []
    style = {
        "green": ("#d6e6c3", "#c3d9ad"),
        "water": ("#b5d0e0", "#9cc3d9"),
        "building": ("#dcd4cc", "#c4b9ae"),
    }
    widths = {"major": ("#e39a72", 3.0), "secondary": ("#f2cf8c", 2.2), "local": ("#ffffff", 1.6),
              "water": ("#9cc3d9", 1.4)}  # fmt: skip
    box = shapely.box(*window)
    for layer in ("areas", "streets"):
        try:
            frame = gpd.read_file(path, layer=layer, bbox=window, engine="pyogrio")
        except (OSError, ValueError) as exc:
            log.debug("%s: layer %s not read (%s)", path, layer, exc)
            continue
        for kind in style if layer == "areas" else widths:
            geoms = frame.geometry[frame["kind"] == kind].to_numpy()
            if not len(geoms):
                continue
            whole = (
                shapely.union_all(geoms)
                if layer == "areas"
                else shapely.MultiLineString(list(shapely.get_parts(geoms)))
            )
            merged = shapely.intersection(whole, box)
            if merged.is_empty:
                continue
            if layer == "areas":
                fill, stroke = style[kind]
                out.append(MapShape(merged, fill, stroke, 0.4))
            else:
                colour, w = widths[kind]
                out.append(MapShape(merged, "none", colour, w))
    return out


def _maps(run: RunFolder, ids: Sequence[str]) -> str:
    scores = run.scores
    colour_of = {pid: PLOT_COLOURS[k % len(PLOT_COLOURS)] for k, pid in enumerate(ids)}
    half = 550.0
    figures = []
    for pid in ids:
        geom = scores.geometry[pid]
        cx, cy = geom.centroid.x, geom.centroid.y
        window = (cx - half - 50, cy - half - 50, cx + half + 50, cy + half + 50)
        near = scores.cx[window[0] : window[2], window[1] : window[3]]
        shapes = _basemap_shapes(run, window)
        streets = bool(shapes)
        shapes += [MapShape(g, "#bdbdbd", "#616161", 0.6) for i, g in zip(near.index, near.geometry, strict=True)
                   if i not in colour_of]  # fmt: skip
        shapes += [MapShape(scores.geometry[o], colour_of[o], "#000000" if o == pid else "#333333",
                            2.2 if o == pid else 1.0) for o in ids]  # fmt: skip
        svg = plot_map(
            geom, shapes, f"Ligging van kavel {run.plot_label(pid)}", half_size_m=half, circle_m=500.0
        )
        area = scores.loc[pid, "area_m2"] if "area_m2" in scores.columns else geom.area
        bg = "straten en water uit de OSM-gegevens van de run; " if streets else ""
        figures.append(
            f"<figure>{svg}<figcaption><b>{html_text(run.plot_label(pid))}</b>: {area_text(area)}. "
            f"{bg}stippellijn 500 m hemelsbreed.</figcaption></figure>"
        )
    return f"<section class='keep'><h2>Ligging</h2><div class='maps'>{''.join(figures)}</div></section>"


def _count(v: Any) -> str:
    return f"{float(v):,.0f}".replace(",", ".")


def neighbourhood_sentence(run: RunFolder, pid: str) -> str:
    """The plot's CBS neighbourhood and its figures, and the older residents within a walk ("" without them)."""
    cols = run.scores.columns
    if "buurt_code" not in cols:
        return ""
    row = run.scores.loc[pid]
    code = row.get("buurt_code")
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return "Ligt in geen CBS-buurt van de buurtkaart."
    name = row.get("buurt_naam") or code
    year = (run.manifest.sources.get("neighbourhoods") or {}).get("year")
    parts = [f"Ligt in buurt {name} ({code}). ", f"CBS{f' {year}' if year else ''}: "]
    inw = row.get("buurt_inwoners")
    figures = []
    figures.append(f"{_count(inw)} inwoners" if pd.notna(inw) else "inwoners onbekend")
    pct = row.get("buurt_65plus_pct")
    if pd.notna(pct):
        figures.append(f"{str(round(float(pct), 1)).replace('.', ',')} % 65+")
    elif pd.notna(inw) and float(inw) > 0:
        figures.append("aandeel 65+ onbekend (CBS geheim)")
    hh = row.get("buurt_huishoudens")
    if pd.notna(hh):
        figures.append(f"{_count(hh)} huishoudens")
    text = "".join(parts) + ", ".join(figures) + "."
    near = row.get("pop_65plus_1000m") if "pop_65plus_1000m" in cols else None
    if near is not None:
        text += (
            f" Binnen 1.000 m lopen wonen ongeveer {_count(near)} mensen van 65+."
            if pd.notna(near)
            else " Hoeveel 65-plussers binnen 1.000 m lopen wonen is onbekend (CBS-cijfer geheim of buiten de gegevens)."
        )
    return text


def _method_box(run: RunFolder) -> str:
    man = run.manifest
    sources = "; ".join(describe_sources(man.sources))
    mobility = "".join(f" <b>{html_text(k)}</b>: {html_text(v)}." for k, v in _mobility_lines(man))
    created = man.created[:10]
    return (
        "<section class='memo-box keep'><h2>Methode en bronnen</h2>"
        "<p><b>Score</b> (0–100) = 100 × Σ gewicht × waarde / Σ gewicht, over de criteria die de gegevens "
        "kunnen beoordelen; de waarde (0–1) per criterium volgt uit een waardefunctie van de indicator. "
        "<b>Harde eisen</b> sluiten een kavel uit, los van de score. <b>Rang</b>: onder de kavels die aan alle "
        "eisen voldoen. <b>Afstanden</b>: lopen over het stratennet van OpenStreetMap, of hemelsbreed waar "
        "vermeld. <b>Kans op de top k</b>: Monte-Carlo met gespreide gewichten en drempels; n.v.t. als er "
        "minder geschikte kavels zijn dan k.</p>"
        f"{f'<p>{mobility.strip()}</p>' if mobility else ''}"
        f"<p><b>Bronnen</b>: {html_text(sources)}. <b>Analyse</b> van {html_text(created)}, sitefinder "
        f"{html_text(man.sitefinder_version)}; memo door sitefinder {html_text(__version__)} op "
        f"{datetime.now().astimezone().strftime('%d-%m-%Y')}. Alle cijfers per kavel: de CSV naast dit memo "
        "en scores.xlsx in de run-map.</p></section>"
    )


def render_memo(run: RunFolder, plot_ids: Sequence[str], profiles: Sequence[str] | None = None) -> str:
    """The memo as one self-contained HTML page (prints to at most 3 A4 pages for 3 plots and 2 profiles)."""
    ids = select_plots(run, plot_ids)
    detail = choose_profiles(run, profiles)
    loaded = _profiles(run)
    title = run.manifest.config_value("title", "") or "sitefinder"
    sentences = []
    for pid in ids:
        texts = " ".join(
            [*(sentence(run, pid, n, loaded.get(n)) for n in detail), neighbourhood_sentence(run, pid)]
        )
        sentences.append(f"<p>{html_text(texts.strip())}</p>")
    charts = [_chart(run, p.name, ids) for p in run.profiles if p.name in detail]
    others = [p.title for p in run.profiles if p.name not in detail]
    more = (f"<p class='note'>In detail: {html_text(', '.join(p.title for p in run.profiles if p.name in detail))}; "
            f"de andere profielen ({html_text(', '.join(others))}) alleen in de samenvatting "
            "(kies met --profile).</p>") if others else ""  # fmt: skip
    return "\n".join(
        [
            "<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html_text('Memo: ' + ', '.join(ids))}</title><style>{_CSS}{_MEMO_CSS}</style></head>"
            "<body class='memo'>",
            f"<header><h1>Vergelijking van kavels</h1><p class='sub'>{html_text(title)} · "
            f"{html_text(' · '.join(run.plot_label(p) for p in ids))}</p></header>",
            _summary_table(run, ids, loaded),
            f"<section class='sentences'><h2>Per kavel</h2>{''.join(sentences)}{more}</section>",
            *charts,
            _indicator_table(run, ids, key_indicators(run, detail)),
            _maps(run, ids),
            _method_box(run),
            "</body></html>",
        ]
    )


def write_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print ``html_path`` to an A4 PDF with headless Chromium (Playwright), offline.

    Raises
    ------
    ConfigError
        When Playwright or Chromium is not installed (says how to install them).
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        msg = "--pdf needs Playwright: pip install playwright (no browser download needed; it uses /usr/bin/chromium)"
        raise ConfigError(msg) from None
    if not CHROMIUM.exists():
        msg = f"--pdf needs Chromium at {CHROMIUM}; install it (apt-get install chromium) or set SITEFINDER_CHROMIUM"
        raise ConfigError(msg)

    def _print() -> bytes:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page()
                page.route(
                    "**/*",
                    lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
                )
                page.goto(Path(html_path).resolve().as_uri())
                return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()

    # Its own thread: Playwright's sync API refuses to run where an asyncio loop is running
    # (a notebook, or a caller that already drives a browser).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pdf = pool.submit(_print).result()
    with atomic_path(pdf_path) as tmp:
        tmp.write_bytes(pdf)
    return pdf_path


def write_memo(
    run: RunFolder,
    plot_ids: Sequence[str],
    out: Path | None = None,
    profiles: Sequence[str] | None = None,
    pdf: bool = False,
) -> dict[str, Path]:
    """Write the memo (HTML, and PDF with ``pdf``) and the full side-by-side table (CSV) beside it.

    Returns
    -------
    dict
        ``html``, ``csv`` and, with ``pdf``, ``pdf`` paths.
    """
    ids = select_plots(run, plot_ids)
    target = report_target(run, ids, out)
    files = {"html": target, "csv": target.with_suffix(".csv")}
    refuse_run_outputs(run, *files.values(), *([target.with_suffix(".pdf")] if pdf else []))
    page = render_memo(run, ids, profiles)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_path(files["csv"]) as tmp:
        csv_safe(comparison_table(run, ids)).to_csv(tmp, index=False, encoding="utf-8")
    if pdf:
        files["pdf"] = write_pdf(target, target.with_suffix(".pdf"))
    log.info("Wrote %s (%d plots)", ", ".join(str(p) for p in files.values()), len(ids))
    return files


def write_basemap(basemap: Any, bounds: tuple[float, float, float, float], path: Path) -> Path | None:
    """Write streets, waterways, water and green around ``bounds`` to ``basemap.gpkg`` for the memo's maps.

    Paths and buildings stay out: the locator maps do not need them, and a town's
    buildings would make the file tens of megabytes.
    """
    if basemap is None or not len(basemap):
        return None
    box = shapely.box(*bounds)
    streets = basemap.streets[basemap.streets.intersects(box) & (basemap.streets["kind"] != "path")]
    areas = basemap.areas[basemap.areas.intersects(box) & (basemap.areas["kind"] != "building")]
    with atomic_path(path) as tmp:
        streets.to_file(tmp, layer="streets", driver="GPKG", engine="pyogrio")
        areas.to_file(tmp, layer="areas", driver="GPKG", engine="pyogrio", append=True)
    return path
