"""No script injection: user text (plot names, OSM names, titles) is shown as text, never run.

Anyone can edit OSM, and plots files come from outside, so every such string is a
possible stored-XSS payload. The browser test types each payload into every input of
the map and of the compare report and opens the popups and tips it produces; a payload
that ran would call ``pwn()`` (or open a dialog). The offline tests check the escaping
helpers and the CSV formula neutralisation.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sitefinder.render.escape import csv_cell, csv_safe, html_text, script_json, template_text
from sitefinder.render.map import MapInputs, render_map, write_map
from sitefinder.render.report import open_run, write_report
from sitefinder.render.tables import write_tables
from tests.test_map import synthetic_town
from tests.test_report import write_run_folder

#: Payloads; each one that executes calls pwn(n).
PAYLOADS = [
    '"><img src=x onerror=pwn(1)>',
    "<script>pwn(2)</script>",
    "'><svg onload=pwn(3)>",
    "</script><script>pwn(4)</script>",
    "<!--<script>pwn(5)//",
    "{{ 7*7 }}<b onmouseover=pwn(6)>x</b>",
    '<iframe srcdoc="<script>parent.pwn(7)</script>"></iframe>',
]
FORMULA = '=cmd|" /C calc"!A0'


def _xss_town() -> MapInputs:
    town = synthetic_town(n_side=3, n_amenities=30, draws=0, name_of=dict(enumerate(PAYLOADS)))
    amen = town.amenities.copy()
    amen["name"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(amen))]
    return replace(town, amenities=amen, title=PAYLOADS[0])


@pytest.fixture(scope="module")
def xss_town() -> MapInputs:
    return _xss_town()


# --- offline: what the page carries ---------------------------------------------------------------


def test_data_block_cannot_end_its_script_element(xss_town: MapInputs) -> None:
    page = render_map(xss_town)
    m = re.search(r'<script type="application/json" id="sf-data">(.*?)</script>', page, re.S)
    assert m
    block = m.group(1)
    assert "<" not in block and ">" not in block, "no markup characters inside the JSON block"
    labels = [f["properties"]["label"] for f in json.loads(block)["plots"]["features"]]
    assert labels[0] == f"K0001 – {PAYLOADS[0]}", "the text itself is kept, only encoded"
    # Nowhere in the page does a payload appear as markup.
    for p in PAYLOADS:
        assert p not in page


def test_escape_helpers() -> None:
    assert html_text("<a href='x'>&</a>") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;/a&gt;"
    assert template_text("{%raw%}") == "&#123;%raw%&#125;"
    assert json.loads(script_json({"a": "</script><!--&"})) == {"a": "</script><!--&"}
    with pytest.raises(ValueError, match="Out of range float"):
        script_json({"a": float("nan")})


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        ('=cmd|" /C calc"!A0', '\'=cmd|" /C calc"!A0'),
        ("+31 6 1234", "'+31 6 1234"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("Blok 1", "Blok 1"),
        ("", ""),
        (-4.0, -4.0),
    ],
)
def test_csv_cell(cell: Any, want: Any) -> None:
    assert csv_cell(cell) == want


def test_scores_csv_neutralises_formulas_and_keeps_numbers(xss_town: MapInputs, tmp_path: Path) -> None:
    import geopandas as gpd

    plots = xss_town.plots.rename(index={"K0002": FORMULA}).assign(naam=["@A1", *["x"] * 8])
    plots["score_m"] = [-1.5, *range(8)]
    write_tables(gpd.GeoDataFrame(plots, geometry="geometry", crs=plots.crs), tmp_path)
    with (tmp_path / "scores.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[1]["plot_id"] == "'" + FORMULA
    assert rows[0]["naam"] == "'@A1"
    assert rows[0]["score_m"] == "-1.5", "numbers are untouched"
    # The GeoPackage keeps the text as it was (it is read back by compare/select/explain).
    back = gpd.read_file(tmp_path / "scores.gpkg", layer="scores")
    assert back["plot_id"].iloc[1] == FORMULA


def test_csv_safe_leaves_the_input_frame_alone() -> None:
    df = pd.DataFrame({"a": ["=1+1", "ok"], "=b": [1, 2]})
    out = csv_safe(df)
    assert df["a"].tolist() == ["=1+1", "ok"]
    assert out["a"].tolist() == ["'=1+1", "ok"]
    assert list(out.columns) == ["a", "'=b"]


def test_report_csv_neutralises_formulas(tmp_path: Path) -> None:
    town = synthetic_town(n_side=2, n_amenities=8, draws=0, name_of={0: FORMULA})
    run = open_run(write_run_folder(town, tmp_path / "run"))
    _html, csv_path = write_report(run, ["K0001", "K0002"], tmp_path / "memo.html")
    text = csv_path.read_text("utf-8")
    assert "'" + FORMULA.replace('"', '""') in text
    assert "\n=" not in text and ",=" not in text


# --- in a real browser --------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium to run the browser tests")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright (the dev extra) is not installed"
    )
    from tests.test_browser import LAUNCH_ARGS

    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


def _open(browser: Any, path: Path, ready: str | None) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    hits: list[str] = []
    page.add_init_script("window.__pwned = []; window.pwn = function (n) { window.__pwned.push(n); };")
    page.on("dialog", lambda d: (hits.append(f"dialog: {d.message}"), d.dismiss()))
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "about:")) else r.abort(),
    )
    page.goto(path.resolve().as_uri())
    if ready:
        page.wait_for_selector(ready, state="attached", timeout=60_000)
    return page, hits


def _type_everywhere(page: Any, texts: list[str]) -> int:
    """Type every text into every text input of the page; return how many inputs there were."""
    inputs = page.locator(
        "input:not([type=range]):not([type=checkbox]):not([type=radio]):not([type=number])"
        ":not([type=button]):not([type=submit]), textarea"
    )
    n = inputs.count()
    for k in range(n):
        box = inputs.nth(k)
        if not box.is_visible():
            continue
        for text in texts:
            box.fill("")
            box.click()
            box.press_sequentially(text)
            page.wait_for_timeout(100)
            for item in page.locator(".sf-item").all()[:3]:
                item.hover()
    return n


def _pwned(page: Any) -> list[int]:
    return page.evaluate("() => window.__pwned")


@pytest.mark.slow
def test_map_inputs_and_popups_run_no_payload(browser: Any, xss_town: MapInputs, tmp_path: Path) -> None:
    path = write_map(xss_town, tmp_path / "map.html")
    page, hits = _open(browser, path, "body[data-sf-ready]")
    typed = [*PAYLOADS, *(p[:4] for p in PAYLOADS), "K00"]
    assert _type_everywhere(page, typed) >= 1, "the map has a search box"
    assert _pwned(page) == [] and hits == [], "typing in the search box ran a payload"
    # The ranked list filtered by the search shows the payloads as text; clicking one opens its popup.
    box = page.locator("#sf-search")
    box.fill("")
    box.press_sequentially("K00")
    page.locator(".sf-item").first.wait_for(timeout=5000)
    names = [t.inner_text() for t in page.locator(".sf-item-name").all()]
    assert f"K0001 – {PAYLOADS[0]}" in names
    page.locator(".sf-item", has_text=PAYLOADS[0]).first.click()
    popup = page.locator(".sf-popup")
    popup.wait_for(timeout=5000)
    assert PAYLOADS[0] in popup.inner_text()
    # Every plot popup and tooltip, and the amenity tooltips.
    for i in range(len(xss_town.plots)):
        page.evaluate("(i) => sitefinder.focusPlot(i)", i)
        page.wait_for_timeout(50)
    page.evaluate(
        """() => { const s = sitefinder.state;
                   Object.values(s.byPlot[s.active]).forEach(l => { l.openTooltip(); l.closeTooltip(); }); }"""
    )
    page.wait_for_timeout(300)
    assert page.title() == PAYLOADS[0]
    assert _pwned(page) == [] and hits == []
    page.close()


@pytest.mark.slow
def test_report_runs_no_payload(browser: Any, xss_town: MapInputs, tmp_path: Path) -> None:
    run = open_run(write_run_folder(xss_town, tmp_path / "run"))
    html_path, _csv = write_report(run, ["K0001", "K0002", "K0003", "K0004"], tmp_path / "memo.html")
    page, hits = _open(browser, html_path, None)
    _type_everywhere(page, PAYLOADS)
    page.wait_for_timeout(300)
    text = page.locator("body").inner_text()
    assert PAYLOADS[1] in text, "the plot names are shown as text"
    assert _pwned(page) == [] and hits == []
    page.close()
