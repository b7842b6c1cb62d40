"""The map and the report in a real headless Chromium, offline.

Uses Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``.ci/run``) driven by
Playwright for Python; Playwright's own browser download is not needed. Every request
that is not ``file:`` or ``data:`` is blocked, so these tests prove that the pages work
without internet. Screenshots (and a PDF of the report) go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sitefinder.render.map import MapInputs, write_map
from sitefinder.render.report import open_run, write_report
from tests.conftest import REPO, SampleRun
from tests.test_map import large_town, synthetic_town
from tests.test_report import write_run_folder

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = [
    pytest.mark.slow,  # a browser start and page loads: make test runs these, make test-fast does not
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing; install Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver) to run the browser tests (CI does)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the dev extra) is not installed")


@dataclass
class Opened:
    """A page loaded offline, with what went wrong on the way."""

    page: Any
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


def open_offline(
    browser: Any,
    path: Path,
    ready: str | None = "body[data-sf-ready]",
    viewport: dict[str, int] | None = None,
) -> Opened:
    """Open ``path`` with every non-file request blocked; wait until the page script is ready."""
    page = browser.new_page(viewport=viewport or {"width": 1400, "height": 900}, accept_downloads=True)
    opened = Opened(page)

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            opened.errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: opened.errors.append(f"pageerror: {exc}"))

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:", "about:", "blob:")):
            r.continue_()
        else:
            opened.blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.resolve().as_uri())
    if ready:
        page.wait_for_selector(ready, state="attached", timeout=60_000)
    return opened


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


@pytest.fixture(scope="module")
def town() -> MapInputs:
    return synthetic_town(n_side=5, n_amenities=60)


@pytest.fixture(scope="module")
def town_map(town: MapInputs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_map(town, tmp_path_factory.mktemp("browser") / "map.html")


@pytest.fixture
def opened_map(browser: Any, town_map: Path) -> Iterator[Opened]:
    opened = open_offline(browser, town_map)
    yield opened
    opened.page.close()


def _click_plot(opened: Opened, i: int) -> None:
    """Click the middle of plot ``i`` on the active profile layer, as a user would."""
    xy = opened.page.evaluate(
        """(i) => { const s = sitefinder.state; const lyr = s.byPlot[s.active][i];
                    s.map.setView(lyr.getBounds().getCenter(), 17, {animate: false});
                    const p = s.map.latLngToContainerPoint(lyr.getBounds().getCenter());
                    const r = s.map.getContainer().getBoundingClientRect();
                    return [p.x + r.left, p.y + r.top]; }""",
        i,
    )
    opened.page.wait_for_timeout(200)
    opened.page.mouse.click(xy[0], xy[1])


def test_map_loads_offline_without_errors(opened_map: Opened) -> None:
    assert opened_map.errors == []
    assert opened_map.blocked == [], "a self-contained map asks for nothing outside the file"
    legend = opened_map.page.locator("#sf-legend")
    assert legend.is_visible()
    assert "Kavels: score voor het gekozen profiel (0–100 punten)" in legend.inner_text()
    assert "gemodelleerd" not in legend.inner_text(), "the noise legend shows only with the noise layer"
    page = opened_map.page
    assert page.locator(".leaflet-control-layers-expanded").count() == 0, "layer control starts collapsed"
    page.locator(".leaflet-control-layers").hover()
    page.locator("label", has_text="Geluid Lden").locator("input").check()
    assert "gemodelleerd" in legend.inner_text()
    assert page.locator("html").get_attribute("lang") == "nl"
    scale = page.locator(".leaflet-control-scale").inner_text()
    assert "ft" not in scale and "mi" not in scale and ("m" in scale or "km" in scale)
    assert opened_map.page.locator(".leaflet-control-attribution").inner_text().count("OpenStreetMap") >= 1
    opened_map.page.screenshot(path=_artifact("map.png"))


def _list_ids(page: Any) -> list[str]:
    """Plot ids of the panel's ranked list, top to bottom."""
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('#sf-list .sf-item'))"
        ".map(li => sf_data.plots.features[Number(li.dataset.i)].properties.id)"
    )


def test_every_profile_can_be_switched_in_the_panel(town: MapInputs, opened_map: Opened) -> None:
    page = opened_map.page
    select = page.locator("#sf-profile")
    titles = [r.profile.title for r in town.profiles]
    assert select.locator("option").all_inner_texts() == titles
    fills = []
    for k, res in reversed(list(enumerate(town.profiles))):
        select.select_option(str(k))
        state = page.evaluate(
            """() => { const s = sitefinder.state;
                       return {active: s.active, shown: s.layers.map(l => s.map.hasLayer(l))}; }"""
        )
        assert state["active"] == k
        assert state["shown"] == [j == k for j in range(len(titles))], "exactly one profile shown"
        table = res.table
        ok = table[table[f"excluded_{res.name}"] == ""]
        want = ok.sort_values(f"rank_{res.name}", kind="stable").index.tolist()
        assert _list_ids(page)[: len(want)] == want, "the list is in the CLI's rank order"
        ranks = page.locator(".sf-rank").all_inner_texts()
        assert sorted(map(int, ranks)) == sorted(ok[f"rank_{res.name}"].astype(int).tolist())
        fills.append(page.evaluate("() => Object.values(sitefinder.state.byPlot[sitefinder.state.active])"
                                   ".map(l => l.options.fillColor).join()"))  # fmt: skip
    assert fills[0] != fills[1], "plots are coloured per profile"
    assert opened_map.errors == []
    page.screenshot(path=_artifact("map-second-profile.png"))


def test_plot_popup_shows_the_breakdown_and_routes(town: MapInputs, opened_map: Opened) -> None:
    page = opened_map.page
    _click_plot(opened_map, 0)
    popup = page.locator(".sf-popup")
    popup.wait_for(timeout=5000)
    assert popup.get_attribute("data-plot") == "K0001"
    text = popup.inner_text()
    assert "Kavel K0001" in text
    scored = [
        c for c in town.profiles[0].profile.criteria if f"pts_prikkelarm_{c.name}" in town.profiles[0].table
    ]
    assert page.locator(".sf-popup .sf-breakdown tbody tr").count() == len(scored)
    assert page.locator(".sf-popup .sf-bar").count() == len(scored)
    for c in scored:
        assert c.label in text
    # The page's maximum points per criterion (the bars' "X van Y punten") are those of
    # scoring.points.max_points, as explain gives them for this plot.
    from sitefinder.scoring.explain import explain

    titles = popup.locator(".sf-bar").evaluate_all("els => els.map(e => e.title)")
    page_max = [float(t.split(" van ")[1].removesuffix(" punten").replace(",", ".")) for t in titles]
    parts = {q.name: q for q in explain(town.profiles[0], "K0001").parts}
    assert page_max == pytest.approx([parts[c.name].max_points for c in scored], abs=0.051)
    assert "Looproute" in text and "\xa0m lopen" in text
    n_routes = page.evaluate("() => sitefinder.state.routes.getLayers().length")
    assert n_routes > 0, "the walking routes are drawn on click"
    page.locator(".sf-popup summary", has_text="Alle indicatoren").click()
    assert "Loopafstand tot supermarkt" in popup.inner_text()
    assert opened_map.errors == []
    page.screenshot(path=_artifact("map-popup.png"))


def test_search_by_plot_name_opens_its_popup(opened_map: Opened) -> None:
    page = opened_map.page
    box = page.locator("#sf-search")
    box.fill("Blok 2-3")
    assert page.locator("#sf-list .sf-item").count() == 1
    box.press("Enter")
    popup = page.locator(".sf-popup")
    popup.wait_for(timeout=5000)
    assert "Blok 2-3" in popup.inner_text()
    assert opened_map.errors == []


def test_ranked_list_click_zooms_and_opens_the_popup(town: MapInputs, opened_map: Opened) -> None:
    page = opened_map.page
    items = page.locator("#sf-list .sf-item")
    assert items.count() == len(town.plots)
    third = _list_ids(page)[2]
    zoom0 = page.evaluate("() => sitefinder.state.map.getZoom()")
    items.nth(2).click()
    popup = page.locator(".sf-popup")
    popup.wait_for(timeout=5000)
    assert popup.get_attribute("data-plot") == third
    assert page.evaluate("() => sitefinder.state.map.getZoom()") > zoom0
    first = page.locator("#sf-list .sf-item").first.inner_text()
    assert "1" in first and "punten" in first
    out = page.locator("#sf-list .sf-item-out").first.inner_text()
    assert "Uitgesloten:" in out and "grens" in out


def test_no_raw_column_names_in_visible_text(opened_map: Opened) -> None:
    page = opened_map.page
    page.locator("#sf-criteria summary").click()
    page.locator("#sf-list .sf-item").first.click()
    page.locator(".sf-popup").wait_for(timeout=5000)
    for summary in page.locator(".sf-popup summary").all():
        summary.click()
    page.locator(".leaflet-control-layers").hover()
    text = page.evaluate("() => document.body.innerText")
    raw = sorted(set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text)))
    assert raw == [], f"raw column names in visible text: {raw}"
    assert "Geluid Lden" in text and "Loopafstand tot supermarkt" in text
    page.screenshot(path=_artifact("map-all-open.png"))


@pytest.mark.parametrize("drawer_open", [False, True])
def test_phone_width_keeps_half_the_screen_for_the_map(
    browser: Any, town_map: Path, drawer_open: bool
) -> None:
    opened = open_offline(browser, town_map, viewport={"width": 390, "height": 844})
    page = opened.page
    if drawer_open:
        page.locator("#sf-drawer").click()
        page.locator("#sf-list .sf-item").first.wait_for(state="visible", timeout=5000)
    box = page.evaluate(
        """() => { const m = sitefinder.state.map.getContainer().getBoundingClientRect();
                   const p = document.getElementById('sf-panel').getBoundingClientRect();
                   return {map_top: m.top, map_bottom: Math.min(m.bottom, p.top), width: m.width,
                           panel: p.height}; }"""
    )
    assert box["map_bottom"] - box["map_top"] >= 844 / 2, box
    assert box["width"] >= 389
    assert opened.errors == []
    if drawer_open:
        page.locator("#sf-list .sf-item").first.click()
        page.locator(".sf-popup").wait_for(timeout=5000)
        assert not page.locator("#sf-panel").evaluate("p => p.classList.contains('sf-open')"), (
            "the drawer closes"
        )
    page.screenshot(path=_artifact(f"map-phone{'-drawer' if drawer_open else ''}.png"))
    page.close()


def _weights_state(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => { const s = sitefinder.state, p = s.active;
                   return {score: s.res[p].score, rank: s.res[p].rank, order: s.res[p].order,
                           fills: Object.keys(s.byPlot[p]).map(i => s.byPlot[p][i].options.fillColor)}; }"""
    )


def test_slider_change_rescores_and_reranks(town: MapInputs, opened_map: Opened) -> None:
    page = opened_map.page
    res = town.profiles[0]
    page.locator("#sf-criteria summary").click()
    before = _weights_state(page)
    want0 = res.table[f"score_{res.name}"].to_numpy(dtype=float)
    assert np.allclose(before["score"], want0, atol=0.051), "the page starts from the run's scores"
    # The criterion with the largest weight drops to 0: an independent recomputation from the table.
    top = max(res.weights, key=lambda k: res.weights[k])
    slider = page.locator(f"#sf-weights input[data-criterion='{top}']")
    slider.fill("0")
    after = _weights_state(page)
    w = {k: (0.0 if k == top else v) for k, v in res.weights.items()}
    pts = sum(res.table[f"pts_{res.name}_{k}"].to_numpy(dtype=float) / res.weights[k] * w[k] for k in w)
    want = 100 * pts / (100 * sum(w.values()))
    assert np.allclose(after["score"], want, atol=0.05)
    assert after["order"] != before["order"] or after["score"] != before["score"]
    assert page.locator("#sf-changed").is_visible()
    page.locator("#sf-reset").click()
    assert _weights_state(page)["score"] == before["score"]
    # Switching a hard constraint off lets its plots back into the ranking.
    n_ok = page.evaluate("() => sitefinder.state.res[0].nOk")
    page.locator("#sf-constraints input[type=checkbox]").first.uncheck()
    assert page.evaluate("() => sitefinder.state.res[0].nOk") >= n_ok
    assert opened_map.errors == []


def test_unreachable_tiles_degrade_gracefully(browser: Any, town: MapInputs, tmp_path: Path) -> None:
    path = write_map(replace(town, tiles="osm"), tmp_path / "map-osm.html")
    opened = open_offline(browser, path)
    page = opened.page
    notice = page.locator("#sf-notice")
    notice.wait_for(state="visible", timeout=10_000)
    assert "Achtergrondkaart niet bereikbaar" in notice.inner_text()
    assert opened.blocked and all("tile.openstreetmap.org" in u for u in opened.blocked)
    # Only the blocked tiles fail; the page itself keeps working.
    assert [e for e in opened.errors if "Failed to load resource" not in e] == []
    _click_plot(opened, 1)
    page.locator(".sf-popup").wait_for(timeout=5000)
    page.screenshot(path=_artifact("map-no-tiles.png"))
    page.close()


def test_report_opens_offline_and_prints(browser: Any, town: MapInputs, tmp_path: Path) -> None:
    run = open_run(write_run_folder(town, tmp_path / "run"))
    html_path, _csv = write_report(run, ["K0001", "K0008", "K0013"], tmp_path / "vergelijking.html")
    opened = open_offline(browser, html_path, ready=None)
    page = opened.page
    assert opened.errors == []
    assert opened.blocked == []
    assert page.locator("svg.sf-chart").count() == len(town.profiles)
    assert page.locator("svg.sf-minimap").count() == 3
    assert page.locator("svg.sf-chart").first.bounding_box()["width"] > 300
    page.screenshot(path=_artifact("report.png"), full_page=True)
    pdf = page.pdf(path=str(_artifact("report.pdf")), format="A4", print_background=True)
    assert pdf[:4] == b"%PDF"
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 2 <= pages <= 12, f"{pages} A4 pages"
    page.close()


@pytest.mark.slow
def test_large_map_opens_and_a_plot_popup_works(browser: Any, tmp_path: Path) -> None:
    """5,041 plots and 10,000 amenities: the page opens offline without errors, every plot is on
    it and a click on plot 2,500 opens its popup. (Its size and load time are measured by
    ``bench/bench_map.py``, not here.)"""
    town = large_town()
    path = write_map(town, tmp_path / "large.html")
    opened = open_offline(browser, path)
    assert opened.errors == []
    assert opened.blocked == []
    assert opened.page.evaluate("() => sf_data.plots.features.length") == len(town.plots) == 71 * 71
    _click_plot(opened, 2500)
    popup = opened.page.locator(".sf-popup")
    popup.wait_for(timeout=10_000)
    assert town.plots["naam"].iloc[2500] in popup.inner_text()
    opened.page.screenshot(path=_artifact("map-large.png"))
    opened.page.close()


@pytest.mark.slow
def test_exported_toml_reproduces_the_browser_scores_through_the_cli(
    browser: Any, sample_run: SampleRun, tmp_path: Path
) -> None:
    """Change weights and switch a constraint off in the map; the exported TOML through the CLI gives the same scores."""
    import pandas as pd

    from sitefinder.cli import main

    base = tmp_path
    opened = open_offline(browser, sample_run.out / "map.html")
    page = opened.page
    page.locator("#sf-criteria summary").click()
    sliders = page.locator("#sf-weights input[type=range]")
    assert sliders.count() >= 3
    sliders.nth(0).fill("0.5")
    sliders.nth(1).fill("7")
    sliders.nth(2).fill("2.5")
    page.locator("#sf-constraints input[type=checkbox]").first.uncheck()
    state = page.evaluate(
        """() => { const s = sitefinder.state, p = s.active;
                   return {score: s.res[p].score, rank: s.res[p].rank,
                           ids: sf_data.plots.features.map(f => f.properties.id)}; }"""
    )
    with page.expect_download() as dl:
        page.locator("#sf-export").click()
    toml_path = base / "export.toml"
    dl.value.save_as(toml_path)
    text = toml_path.read_text("utf-8")
    assert text == page.evaluate("() => sitefinder.exportToml().text"), "the download is the exported profile"
    page.screenshot(path=_artifact("map-live-weights.png"))
    assert opened.errors == []
    page.close()
    out = base / "run-export"
    args = sample_run.args
    assert (
        main(
            ["run", *args, "--out", str(out), "--layers", str(base / "layers2"), "--profile", str(toml_path)]
        )
        == 0
    )
    table = pd.read_csv(out / "scores.csv", index_col="plot_id")
    name = next(c.removeprefix("score_") for c in table.columns if c.startswith("score_"))
    assert name.endswith("_aangepast")
    cli = table[f"score_{name}"].reindex(state["ids"]).to_numpy(dtype=float)
    assert np.allclose(np.asarray(state["score"], dtype=float), cli, atol=0.1), (
        "browser and CLI agree to 0.1 point"
    )
    cli_rank = table[f"rank_{name}"].reindex(state["ids"])
    browser_rank = pd.Series(state["rank"], index=state["ids"], dtype="Float64")
    assert (cli_rank.isna() == browser_rank.isna()).all(), "the same plots are excluded"
    assert (cli_rank.dropna().astype(int) == browser_rank.dropna().astype(int)).all()


@pytest.mark.slow
def test_offline_background_is_drawn_without_internet(browser: Any, sample_run: SampleRun) -> None:
    """The background drawn from the run's own OSM data shows streets with every request blocked."""
    opened = open_offline(browser, sample_run.out / "map.html")
    page = opened.page
    page.wait_for_selector("body[data-sf-basemap]", state="attached", timeout=10_000)
    assert opened.blocked == [], "the offline background asks for nothing"
    assert opened.errors == []
    # Count drawn (non-transparent) pixels on the background canvas.
    drawn = page.evaluate(
        """() => { const c = document.querySelector('.leaflet-sf-base-pane canvas');
                   const x = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < x.length; i += 4) if (x[i] > 0) n++;
                   return n / (c.width * c.height); }"""
    )
    assert drawn > 0.05, f"only {drawn:.0%} of the background canvas is drawn"
    page.locator(".leaflet-control-layers").hover()
    bases = page.locator(".leaflet-control-layers-base label").all_inner_texts()
    assert [b.strip() for b in bases[:3]] == [
        "Eigen kaart uit de OSM-gegevens (offline)",
        "BRT-Achtergrondkaart grijs (PDOK, internet)",
        "OpenStreetMap (internet)",
    ]
    page.screenshot(path=_artifact("map-offline-background.png"))
    page.close()


def _pdf_pages(path: Path) -> int:
    """Page count with pdfinfo (poppler-utils, installed by .ci/run)."""
    import shutil
    import subprocess

    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo is missing; apt-get install poppler-utils (CI does)")
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))  # type: ignore[union-attr]


@pytest.mark.slow
def test_memo_for_three_plots_is_at_most_three_pages(sample_run: SampleRun, tmp_path: Path) -> None:
    """``sitefinder compare`` of three sample plots with ``--pdf``: a PDF of at most 3 A4 pages."""
    import pandas as pd

    from sitefinder.cli import main

    run = sample_run.out
    table = pd.read_csv(run / "scores.csv", index_col="plot_id")
    ids = [str(i) for i in table.index[:3]]
    out = tmp_path / "memo" / "memo.html"
    out.parent.mkdir(exist_ok=True)
    assert main(["compare", *ids, "--run", str(run), "--out", str(out), "--pdf", "-q"]) == 0
    pdf = out.with_suffix(".pdf")
    assert pdf.read_bytes()[:4] == b"%PDF"
    pages = _pdf_pages(pdf)
    assert 1 <= pages <= 3, f"the memo is {pages} A4 pages"
    assert out.with_suffix(".csv").is_file(), "the full table beside it"
    import shutil

    shutil.copy(pdf, _artifact("memo.pdf"))
