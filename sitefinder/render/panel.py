"""The static HTML of the map's side panel and legend (Dutch); the page script fills in the data.

Only fixed Dutch text and escaped names are written here. Everything that comes from
the data (plot names, scores, reasons) is put in by ``static/sitefinder.js`` with
``textContent``, never as HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sitefinder.render.escape import html_text


@dataclass(frozen=True)
class LegendSection:
    """One layer's legend: shown while its layer is on (``layer`` "" = always)."""

    layer: str
    title: str
    colours: Sequence[str]
    ticks: Sequence[str]
    note: str = ""
    opacity: float = 1.0


def strip(colours: Sequence[str], ticks: Sequence[str], opacity: float = 1.0) -> str:
    """A horizontal class strip with tick labels at the class boundaries."""
    cells = "".join(f"<span style='background:{html_text(c)};opacity:{opacity:g}'></span>" for c in colours)
    labels = "".join(f"<span>{html_text(t)}</span>" for t in ticks)
    return f"<div class='sf-strip'>{cells}</div><div class='sf-ticks'>{labels}</div>"


def legend_html(sections: Sequence[LegendSection], routes: Sequence[tuple[str, str]], footer: str) -> str:
    """The legend: one section per layer with its own palette, hidden while its layer is off.

    Parameters
    ----------
    sections : sequence of LegendSection
        Per layer; ``layer`` is the key the page script uses to show or hide it.
    routes : sequence of (colour, text)
        Walking-route line keys.
    footer : str
        Units and sources line (plain text).
    """
    parts = ["<div id='sf-legend' class='sf-legend' style='display:none'><details open>"
             "<summary>Legenda</summary>"]  # fmt: skip
    for s in sections:
        parts.append(f"<div class='sf-leg' data-layer='{html_text(s.layer)}'>")
        parts.append(f"<h4>{html_text(s.title)}</h4>")
        parts.append(strip(s.colours, s.ticks, s.opacity))
        if s.layer == "":
            parts.append(
                "<div class='sf-row'><span class='sf-key sf-excluded-key'></span>uitgesloten door een "
                "harde eis</div><div class='sf-row'><span class='sf-rank-key'>1</span>rang in de "
                "ranglijst</div>"
            )
        if s.note:
            parts.append(f"<div class='sf-note'>{html_text(s.note)}</div>")
        parts.append("</div>")
    if routes:
        parts.append("<div class='sf-leg' data-layer='routes'><h4>Looproute vanaf de gekozen kavel</h4>")
        parts += [
            f"<div class='sf-row'><span class='sf-key sf-line' style='background:{html_text(c)}'>"
            f"</span>{html_text(t)}</div>"
            for c, t in routes
        ]
        parts.append("</div>")
    parts.append(f"<p class='sf-source'>{html_text(footer)}</p></details></div>")
    return "".join(parts)


def panel_html(title: str, subtitle: str, n_plots: int) -> str:
    """The side panel (a drawer on a phone): title, profile switch, search, criteria and ranked list."""
    return f"""<aside id="sf-panel" class="sf-panel" aria-label="Ranglijst en criteria">
<div class="sf-panel-head">
<button type="button" id="sf-drawer" class="sf-drawer" aria-expanded="false" aria-controls="sf-panel-body"
 title="Ranglijst tonen of verbergen"><span class="sf-drawer-open">Ranglijst ▲</span><span
 class="sf-drawer-close">Kaart ▼</span></button>
<h1 id="sf-title">{html_text(title)}</h1>
<p id="sf-subtitle" class="sf-subtitle">{html_text(subtitle)}</p>
</div>
<div id="sf-panel-body" class="sf-panel-body">
<label class="sf-field">Profiel (doelgroep)
<select id="sf-profile"></select></label>
<p id="sf-profile-summary" class="sf-note"></p>
<label class="sf-field">Zoek kavel
<input id="sf-search" type="search" placeholder="id of naam, Enter opent de kavel" autocomplete="off"></label>
<details id="sf-criteria" class="sf-criteria">
<summary>Criteria aanpassen (gewichten en harde eisen)</summary>
<p class="sf-note">Schuif een gewicht of zet een harde eis uit: scores, rangen, kleuren en lijst
veranderen meteen. Exporteer het aangepaste profiel als TOML-bestand en reken het na met
<code>sitefinder run --profile BESTAND</code>.</p>
<div id="sf-weights"></div>
<div id="sf-constraints"></div>
<p id="sf-changed" class="sf-changed" hidden>Aangepast: de scores wijken af van de run.</p>
<div class="sf-buttons"><button type="button" id="sf-reset">Herstel</button>
<button type="button" id="sf-export">Exporteer profiel (TOML)</button></div>
</details>
<h2 class="sf-list-head">Ranglijst <span id="sf-list-count" class="sf-note"></span></h2>
<p id="sf-none" class="sf-changed" hidden></p>
<ol id="sf-list" class="sf-list" aria-label="Kavels op volgorde van score"></ol>
<p id="sf-list-more" class="sf-note"></p>
<p class="sf-note">{n_plots} kavels in deze run. Klik op een kavel om erheen te gaan.</p>
</div>
</aside>"""


def describe_sources(sources: dict[str, Any]) -> tuple[str, ...]:
    """A run's sources (``manifest["sources"]``) in words for the map's title line and the memo.

    Examples
    --------
    >>> describe_sources({"osm": {"path": "/data/almere.osm.pbf"}, "plots": {"path": "/d/kavels.gpkg"}})
    ('OpenStreetMap-bijdragers (ODbL), almere.osm.pbf', 'kavels: kavels.gpkg')
    """
    out = []
    osm = sources.get("osm") or {}
    name = PurePath(str(osm.get("path", ""))).name
    out.append("OpenStreetMap-bijdragers (ODbL)" + (f", {name}" if name else ""))
    plots = sources.get("plots") or {}
    if plots.get("path"):
        out.append(f"kavels: {PurePath(str(plots['path'])).name}")
    elif plots.get("from"):
        out.append("kavels: bouwterreinen uit OpenStreetMap")
    noise = sources.get("noise")
    if isinstance(noise, dict):
        if noise.get("kind") != "official":
            out.append("geluid: gemodelleerd met sitefinder (indicatief, geen officiële kaart)")
        else:
            files = noise.get("files") or noise.get("paths") or []
            names = ", ".join(
                PurePath(str(f.get("path", f)) if isinstance(f, dict) else str(f)).name for f in files
            )
            out.append("geluid: officiële kaart" + (f" ({names})" if names else ""))
    nbh = sources.get("neighbourhoods")
    if isinstance(nbh, dict):
        year = nbh.get("year")
        out.append("buurtcijfers: CBS wijken en buurten" + (f" {year}" if year else "") + " (CC BY 4.0)")
    return tuple(out)
