"""Render the interactive map: one layer per profile, amenities, noise, routes, legend.

This package is the only place that imports folium and reprojects to WGS84.

The page is self-contained by default: Leaflet and its plugins are inlined (see
:mod:`sitefinder.render.assets`), so it opens without internet; background tiles are
optional and the page says so when they cannot be reached. All plot data travels in
one JSON block that a small script (``static/sitefinder.js``) turns into the profile
layers, tooltips and popups, so plots are not repeated per profile.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import MarkerCluster
from folium.template import Template
from pyproj import CRS

from sitefinder import __version__
from sitefinder.categories import CategoryRegistry
from sitefinder.datatypes import NoiseGrid
from sitefinder.io.atomic import atomic_path
from sitefinder.presets import parse_tiles
from sitefinder.products import schema_version
from sitefinder.render import basemap as basemaps
from sitefinder.render import live, mapdata
from sitefinder.render.assets import inline_assets, own_asset
from sitefinder.render.escape import html_text, template_text
from sitefinder.render.labels import ColumnLabel, column_label
from sitefinder.render.page import MapInputs, Tiles  # noqa: F401  (both still importable from here)
from sitefinder.render.panel import LegendSection, legend_html, panel_html
from sitefinder.render.raster import class_index, palette_png
from sitefinder.scoring import status
from sitefinder.scoring.score import ProfileResult
from sitefinder.surfaces import Surface

log = logging.getLogger(__name__)

OSM_ATTRIBUTION = (
    'Kaartgegevens &copy; <a href="https://www.openstreetmap.org/copyright">'
    "OpenStreetMap</a>-bijdragers (ODbL)"
)
#: Colour-blind-safe sequential scale (viridis, 5 classes) for scores 0-100.
SCORE_COLOURS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
EXCLUDED_COLOUR = "#bdbdbd"
#: Noise classes (dB Lden), 5 dB steps as on official Dutch maps; colours ColorBrewer YlOrRd.
NOISE_BREAKS = [45, 50, 55, 60, 65, 70, 75]
NOISE_COLOURS = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]
NOISE_OPACITY = 0.5
#: Suitability surfaces: their own palette (ColorBrewer RdPu), not the plots' viridis.
SURFACE_COLOURS = ["#feebe2", "#fbb4b9", "#f768a1", "#c51b8a", "#7a0177"]
SURFACE_OPACITY = 0.6
#: Amenity colours (Okabe-Ito where possible); other categories take FALLBACK_COLOURS.
CATEGORY_COLOURS = {
    "supermarket": "#E69F00",
    "convenience": "#F0E442",
    "gp": "#D55E00",
    "pharmacy": "#CC79A7",
    "pt_stop": "#0072B2",
    "meeting_place": "#56B4E9",
    "green": "#009E73",
    "nightlife": "#000000",
    "coffeeshop": "#7f3b08",
    "school": "#8073ac",
    "care": "#b2182b",
}
FALLBACK_COLOURS = ["#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666"]
#: Amenity layers switched on when the map opens (the others are one click away)...
SHOWN_CATEGORIES = ("supermarket", "gp")
#: ... unless the run has more amenities than this: then all start off, so that the plots stay readable.
MAX_SHOWN_AMENITIES = 400
_NAME_COLUMNS = ("naam", "name", "locatie", "location", "titel", "title", "omschrijving")

#: The code that draws a grid as an image (hashed into the key of a cached image).
_IMAGE_CODE = (("sitefinder.render", "map.py"), ("sitefinder.render", "raster.py"))


class _JsLayer(Layer):
    """A map layer made by one JavaScript expression (shown in the layer control)."""

    _template = Template(
        "{% macro script(this, kwargs) %}var {{ this.get_name() }} = {{ this.js }};{% endmacro %}"
    )

    def __init__(self, js: str, name: str, overlay: bool, show: bool, control: bool = True):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "SitefinderLayer"
        self.js = js


class _ClusterLayer(JSCSSMixin, _JsLayer):
    """A :class:`_JsLayer` that needs Leaflet.markercluster."""

    default_js = MarkerCluster.default_js
    default_css = MarkerCluster.default_css


class _Raw(Element):
    """Literal HTML; unlike ``branca.element.Element(text)`` never parsed as a Jinja template."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _Setup(MacroElement):
    """Wires layers, legend, search and routes together once everything exists."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "sitefinder.setup({{ this._parent.get_name() }}, sf_data, {{ this.options }});"
        "{% endmacro %}"
    )

    def __init__(self, options: str) -> None:
        super().__init__()
        self._name = "SitefinderSetup"
        self.options = options


def _category_colours(registry: CategoryRegistry) -> dict[str, str]:
    out: dict[str, str] = {}
    k = 0
    for name in registry.names:
        if name in CATEGORY_COLOURS:
            out[name] = CATEGORY_COLOURS[name]
        else:
            out[name] = FALLBACK_COLOURS[k % len(FALLBACK_COLOURS)]
            k += 1
    return out


def classed_png(
    values: np.ndarray,
    transform: Any,
    crs: Any,
    breaks: Sequence[float],
    colours: Sequence[str],
    cache_dir: Path | None = None,
) -> tuple[bytes, list[list[float]]]:
    """Colour a grid in classes and warp it to WGS84 for an image overlay.

    Class ``i`` (colour ``colours[i]``) holds values from ``breaks[i]`` up to
    ``breaks[i + 1]``; values below ``breaks[0]`` and cells without data are transparent.
    With ``cache_dir``, an image of the same grid, classes and code is reused
    (:mod:`sitefinder.rendercache`, kind ``map-image``).

    Returns
    -------
    png : bytes
        A palette PNG.
    bounds : list
        ``[[south, west], [north, east]]`` in degrees.
    """
    if cache_dir is not None:
        from sitefinder.rendercache import cached_bytes
        from sitefinder.surfacecache import KeyHash, code_hash

        key = KeyHash().add("schema", schema_version("map-image")).add("code", code_hash(_IMAGE_CODE))
        key.add("values", np.asarray(values, dtype="float32")).add("transform", list(tuple(transform)[:6]))
        key.add("crs", CRS.from_user_input(crs).to_wkt()).add("classes", [list(breaks), list(colours)])
        return cached_bytes(
            cache_dir,
            "map-image",
            key.hexdigest(),
            lambda: classed_png(values, transform, crs, breaks, colours),
        )
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    dst_crs = "EPSG:4326"
    rows, cols = values.shape
    minx, maxy = transform @ (0, 0)
    maxx, miny = transform @ (cols, rows)
    dst_transform, width, height = calculate_default_transform(
        crs, dst_crs, cols, rows, minx, miny, maxx, maxy
    )
    out = np.full((int(height), int(width)), np.nan, dtype="float32")
    reproject(
        values.astype("float32"), out, src_transform=transform, src_crs=crs,
        src_nodata=np.nan, dst_transform=dst_transform, dst_crs=dst_crs, dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )  # fmt: skip
    png = palette_png(class_index(out, breaks, len(colours)), colours)
    west, north = dst_transform @ (0, 0)
    east, south = dst_transform @ (width, height)
    return png, [[south, west], [north, east]]


def noise_png(grid: NoiseGrid, cache_dir: Path | None = None) -> tuple[bytes, list[list[float]]]:
    """The noise grid in 5 dB classes (below 45 dB transparent) as a WGS84 image overlay."""
    return classed_png(grid.lden, grid.transform, grid.crs, NOISE_BREAKS, NOISE_COLOURS, cache_dir)


def surface_png(surface: Surface, cache_dir: Path | None = None) -> tuple[bytes, list[list[float]]]:
    """A suitability surface in five classes (0-20, ..., 80-100, own palette) as an image overlay.

    Cells that fail a hard condition have suitability 0 and fall in the lowest class.
    """
    breaks = [0.0, 20.0, 40.0, 60.0, 80.0]
    return classed_png(
        surface.suitability, surface.transform, surface.crs, breaks, SURFACE_COLOURS, cache_dir
    )


def _noise_label(grid: NoiseGrid) -> str:
    return "gemodelleerd (indicatief, geen officiële kaart)" if grid.modelled else "officiële kaart"


def _layer_name(text: str) -> str:
    """A layer-control name as HTML (Leaflet shows names as HTML).

    Braces become character references: folium compiles every element's script as a
    Jinja template once more, so ``{{`` or ``{%`` in a name would break the page.
    """
    return template_text(text)


def _swatch_name(colour: str, text: str) -> str:
    """A layer-control name with a colour dot."""
    return f"<span class='sf-dot' style='background:{colour}'></span>{_layer_name(text)}"


def _plot_labels(plots: gpd.GeoDataFrame) -> tuple[list[str], str | None]:
    cols = {c.lower(): c for c in plots.columns if c != "geometry"}
    name_col = next((cols[n] for n in _NAME_COLUMNS if n in cols), None)
    ids = [str(i) for i in plots.index]
    if name_col is None:
        return ids, None
    names = plots[name_col].fillna("").astype(str).tolist()
    return [f"{i} – {n}" if n else i for i, n in zip(ids, names, strict=True)], name_col


def _profile_meta(
    res: ProfileResult, table: pd.DataFrame, extra: pd.DataFrame | None, labels: dict[str, ColumnLabel]
) -> dict[str, Any]:
    """What the page script needs to know about one profile (criteria, constraints, extras).

    Extras are the profile's columns besides score, rank, exclusion and points (for
    example the sensitivity columns), and columns of ``extra`` ending in ``_<profile>``.
    ``live`` holds the utilities, raw weights and constraint failures the page re-scores from.
    """
    p = res.profile.name
    scored = [c for c in res.profile.criteria if f"pts_{p}_{c.name}" in table.columns]
    standard = {f"score_{p}", f"rank_{p}", f"excluded_{p}", f"not_evaluable_{p}", f"share_not_evaluable_{p}"}
    own = [c for c in res.table.columns if c not in standard and not c.startswith(f"pts_{p}_")]
    own += [c for c in (extra.columns if extra is not None else []) if c.endswith(f"_{p}")]
    extras = [c for c in dict.fromkeys(own) if c in table.columns]
    excluded = table[f"excluded_{p}"].fillna("").astype(str) != ""
    block = live.live_block(res, table, labels)
    by_name = {c["name"]: c for c in block["criteria"]}
    top_k = res.sensitivity.top_k if res.sensitivity is not None else None
    return {
        "name": p,
        "title": res.profile.title,
        "description": res.profile.description,
        "score": f"score_{p}",
        "rank": f"rank_{p}",
        "excluded": f"excluded_{p}",
        "n_ok": int((~excluded).sum()),
        "top_k": top_k,
        "criteria": [
            {
                "name": c.name,
                "col": f"pts_{p}_{c.name}",
                "label": c.label,
                "indicator": c.indicator,
                "weight": by_name[c.name]["weight"],
                "u": by_name[c.name]["u"],
                "ne": by_name[c.name]["ne"],
            }
            for c in scored
            if c.name in by_name
        ],
        "constraints": block["constraints"],
        "notes": block["notes"],
        "max_share_ne": block["max_share_not_evaluable"],
        "export": block["profile"],
        "skipped": [_skipped_text(s, labels) for s in res.skipped],
        "extras": extras,
    }


def _skipped_text(item: str, labels: dict[str, ColumnLabel]) -> str:
    """A skipped criterion or constraint in Dutch (``criterion stilte (noise_lden_mean_db)``)."""
    kind, _, rest = item.partition(" ")
    what = "criterium" if kind == "criterion" else "harde eis"
    name, _, col = rest.partition(" (")
    col = col.rstrip(")")
    label = labels[col].label if col in labels else "een indicator die deze run niet berekende"
    if kind != "criterion":
        return f"{what} op {label}"
    return f"{what} {name.replace('_', ' ')} ({label})"


def map_data(inputs: MapInputs) -> dict[str, Any]:
    """Everything the page script needs, as JSON-ready data."""
    t0 = time.perf_counter()
    plots = inputs.plots
    crs = plots.crs
    attributes = pd.DataFrame(plots.drop(columns="geometry"))
    parts = [attributes, inputs.indicators.drop(columns=list(attributes.columns), errors="ignore")]
    parts += [r.table for r in inputs.profiles]
    if inputs.extra is not None:
        parts.append(inputs.extra)
    table = pd.concat(parts, axis=1)
    table = table.loc[:, ~table.columns.duplicated()].reindex(plots.index)
    labels: dict[str, ColumnLabel] = {}
    for col in table.columns:
        owner = next((r.profile.name for r in inputs.profiles if col.endswith(f"_{r.profile.name}")), None)
        labels[col] = column_label(col, inputs.registry, owner)
    profiles = [_profile_meta(r, table, inputs.extra, labels) for r in inputs.profiles]
    if "censored_values" in table.columns:
        table["censored_values"] = table["censored_values"].map(lambda t: live.dutch_censored(t, labels))
    plot_labels, name_col = _plot_labels(plots)
    names = plots[name_col].fillna("").astype(str).tolist() if name_col else [""] * len(plots)
    geoms = mapdata.to_wgs84(mapdata.simplify_m(plots.geometry.to_numpy(), 0.5), crs)
    centres = mapdata.to_wgs84(shapely.point_on_surface(plots.geometry.to_numpy()), crs)
    xy = shapely.get_coordinates(centres)
    fc = mapdata.feature_collection(
        geoms,
        [{"i": i, "id": str(pid), "label": lab, "name": nm, "c": [float(y), float(x)]}
         for i, (pid, lab, nm, (x, y)) in enumerate(zip(plots.index, plot_labels, names, xy, strict=True))],
    )  # fmt: skip
    data: dict[str, Any] = {
        "title": inputs.title,
        "attribution": OSM_ATTRIBUTION,
        "style": {"score_colours": SCORE_COLOURS, "excluded_colour": EXCLUDED_COLOUR},
        "plots": fc,
        "cols": mapdata.encode_table(table, labels),
        "meta": {c: {"label": lab.label, "unit": lab.unit, "kind": lab.kind} for c, lab in labels.items()},
        "attributes": [c for c in attributes.columns if c in table.columns],
        "indicators": [c for c in inputs.indicators.columns if c not in attributes.columns],
        "profiles": profiles,
        "status": {
            "insufficient": status.INSUFFICIENT,
            "outside": status.OUTSIDE_DATA,
            "not_evaluable": status.NOT_EVALUABLE,
        },
        "amenities": [],
        "routes": None,
    }
    log.debug("Map data for %d plots in %.2f s", len(plots), time.perf_counter() - t0)
    return data


def _add_amenities(fmap: folium.Map, inputs: MapInputs, data: dict[str, Any]) -> dict[str, int]:
    pts = mapdata.amenity_points(inputs.amenities, inputs.plots.crs)
    colours = _category_colours(inputs.registry)
    counts: dict[str, int] = {}
    few = len(pts) <= MAX_SHOWN_AMENITIES
    for cat in inputs.registry:
        sel = pts[pts["category"] == cat.name]
        if not len(sel):
            continue
        counts[cat.name] = len(sel)
        k = len(data["amenities"])
        data["amenities"].append(
            {
                "name": cat.name,
                "label": cat.label,
                "colour": colours[cat.name],
                "points": [
                    [lat, lon, name] if name else [lat, lon]
                    for lat, lon, name in zip(
                        sel["lat"].tolist(), sel["lon"].tolist(), sel["name"].tolist(), strict=True
                    )
                ],
            }
        )
        _ClusterLayer(
            f"sitefinder.amenityCluster(sf_data, {k})",
            name=_group("Voorzieningen") + _swatch_name(colours[cat.name], f"{cat.label} ({len(sel)})"),
            overlay=True,
            show=few and cat.name in SHOWN_CATEGORIES,
        ).add_to(fmap)
    return counts


def _routes(inputs: MapInputs, data: dict[str, Any]) -> list[str]:
    """Add the stored walking routes (:attr:`MapInputs.routes`) to ``data``; return their categories."""
    if inputs.routes is None:
        return []
    cats = [c for c in inputs.routes.categories if c in inputs.registry]
    if not cats:
        return []
    routes = replace(inputs.routes, categories=tuple(cats))
    colours = _category_colours(inputs.registry)
    labels = {c: inputs.registry.get(c).label for c in cats}
    data["routes"] = mapdata.route_block(routes, inputs.plots.index, inputs.plots.crs, labels, colours)
    return cats


#: Classes of the neighbourhood layer: share of inhabitants aged 65+ (upper bounds, %).
AGE_BREAKS = [10, 15, 20, 25, 30]
AGE_COLOURS = ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"]
UNKNOWN_COLOUR = "#ffffff"
NO_RESIDENTS_COLOUR = "#d9d9d9"


def _fmt_int(v: float) -> str:
    return "onbekend (CBS: geheim)" if pd.isna(v) else f"{v:,.0f}".replace(",", ".")


def _add_neighbourhoods(fmap: folium.Map, nbh: gpd.GeoDataFrame) -> str:
    """The CBS neighbourhoods as a switchable layer, shaded by their share of 65+; returns its name."""
    share = 100.0 * nbh["share_65plus"].to_numpy(dtype=float)
    cls = np.searchsorted(AGE_BREAKS, share, side="right")
    props = []
    for i, code in enumerate(nbh.index):
        known = np.isfinite(share[i])
        empty = nbh["inwoners"].iloc[i] == 0
        pct = f"{share[i]:.1f} %".replace(".", ",") if known else ("geen inwoners" if empty else "onbekend")
        label = (
            f"<b>{html_text(str(nbh['buurt'].iloc[i] or code))}</b> ({html_text(str(code))})<br>"
            f"inwoners {_fmt_int(nbh['inwoners'].iloc[i])}, 65+ {_fmt_int(nbh['inwoners_65plus'].iloc[i])} "
            f"({pct}), huishoudens {_fmt_int(nbh['huishoudens'].iloc[i])}"
        )
        fill = AGE_COLOURS[cls[i]] if known else (NO_RESIDENTS_COLOUR if empty else UNKNOWN_COLOUR)
        props.append({"label": label, "fill": fill})
    geoms = mapdata.to_wgs84(mapdata.simplify_m(nbh.geometry.to_numpy(), 5.0), nbh.crs)
    year = nbh.attrs.get("year")
    layer = folium.GeoJson(
        mapdata.feature_collection(geoms, props),
        name=_group("Kaartlagen") + f"Buurten: aandeel 65+ (CBS{f' {year}' if year else ''})", show=False,
        style_function=lambda f: {"color": "#54278f", "weight": 1, "fillColor": f["properties"]["fill"],
                                  "fillOpacity": 0.45},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    )  # fmt: skip
    layer.add_to(fmap)
    return str(layer.get_name())


def _group(title: str) -> str:
    """A marker the page script turns into a group heading of the layer control."""
    return f"<span class='sf-group' data-group='{html_text(title)}'></span>"


def subtitle(inputs: MapInputs) -> str:
    """The line under the title: date of the run and the data sources."""
    parts = []
    if inputs.created:
        parts.append(f"Stand {inputs.created[:10]}")
    sources = list(inputs.sources) or ["OpenStreetMap-bijdragers (ODbL)"]
    if inputs.noise is not None and not any("geluid" in s.lower() for s in sources):
        sources.append("geluid " + _noise_label(inputs.noise))
    parts.append("Bronnen: " + "; ".join(sources))
    return " · ".join(parts)


def _legend(inputs: MapInputs, route_cats: Sequence[str]) -> str:
    k = len(SCORE_COLOURS)
    ticks = [str(round(i * 100 / k)) for i in range(k + 1)]
    sections = [
        LegendSection("", "Kavels: score voor het gekozen profiel (0–100 punten)", SCORE_COLOURS, ticks)
    ]
    if inputs.noise is not None:
        sections.append(
            LegendSection(
                "noise", f"Geluid Lden (dB) – {_noise_label(inputs.noise)}", NOISE_COLOURS,
                [*(str(b) for b in NOISE_BREAKS), "dB"], f"onder {NOISE_BREAKS[0]} dB: geen kleur", NOISE_OPACITY,
            )
        )  # fmt: skip
    if inputs.surfaces:
        sections.append(
            LegendSection(
                "surface", "Zoekgebied: geschiktheid per cel (0–100)", SURFACE_COLOURS, ticks,
                "eigen kleuren, los van de kavels; cellen die een harde eis niet halen vallen in de laagste klasse; "
                "cellen waar de OSM-gegevens niet ver genoeg reiken blijven leeg (onvoldoende gegevens)",
                SURFACE_OPACITY,
            )
        )  # fmt: skip
    if inputs.neighbourhoods is not None and len(inputs.neighbourhoods):
        sections.append(
            LegendSection(
                "neighbourhoods", "Buurten: aandeel inwoners van 65 jaar en ouder (CBS)", AGE_COLOURS,
                ["", *(f"{b} %" for b in AGE_BREAKS), ""],
                "wit: onbekend (CBS houdt kleine aantallen geheim); grijs: geen inwoners",
                0.45,
            )
        )  # fmt: skip
    colours = _category_colours(inputs.registry)
    routes = [(colours[c], f"naar {inputs.registry.get(c).label.lower()}") for c in route_cats]
    footer = (
        "Afstanden in meter (m): lopen over het stratennet, of hemelsbreed waar vermeld. Geluid in dB. "
        f"Voorzieningen: kleur en aantal per soort in de lagenlijst. Scores: sitefinder {__version__}."
    )
    for res in inputs.profiles:
        if not res.eligible.any():
            text = status.no_eligible(res.profile.title, res.table[f"excluded_{res.name}"].tolist())
            text = live.dutch_reason_text(
                text,
                res.profile.constraints,
                {
                    c: column_label(c, inputs.registry)
                    for c in {con.indicator for con in res.profile.constraints}
                },
            )
            footer += f" {text[:1].upper()}{text[1:]}."
    return legend_html(sections, routes, footer)


def build_map(inputs: MapInputs) -> folium.Map:
    """Build the Folium map (not yet rendered or written)."""
    plots = inputs.plots
    area = gpd.GeoSeries([inputs.study_area], crs=plots.crs)
    fmap = folium.Map(location=[52.1, 5.3], zoom_start=13, tiles=None, control_scale=False,
                      prefer_canvas=True)  # fmt: skip
    # Without a tile layer Leaflet needs the zoom range on the map itself.
    fmap.options.update(max_zoom=19, min_zoom=6)
    # Only Leaflet itself: folium's default bootstrap, jQuery and icon fonts are not used.
    fmap.default_js = [js for js in folium.Map.default_js if js[0] == "leaflet"]
    fmap.default_css = [css for css in folium.Map.default_css if css[0] == "leaflet_css"]
    root = fmap.get_root()
    assert isinstance(root, Figure)
    root.header.add_child(_Raw(f"<title>{html_text(inputs.title)}</title>"))
    root.header.add_child(_Raw('<meta name="viewport" content="width=device-width, initial-scale=1">'))
    root.header.add_child(_Raw(f"<style>{own_asset('sitefinder.css')}</style>"))
    root.header.add_child(_Raw(f"<script>{own_asset('sitefinder.js')}</script>"))
    west, south, east, north = mapdata.to_wgs84(
        np.asarray([shapely.box(*plots.total_bounds).buffer(100)], dtype=object), plots.crs
    )[0].bounds
    fmap.fit_bounds([[south, west], [north, east]])

    data = map_data(inputs)
    tiles: list[str] = []
    shown = False
    for name in parse_tiles(inputs.tiles):
        if name == "offline":
            margin = shapely.box(*plots.total_bounds).union(shapely.envelope(inputs.study_area)).buffer(500)
            block = basemaps.offline_block(inputs.basemap, plots.crs, margin.bounds, inputs.cache_dir)
            if block is None:
                continue
            data["basemap"] = block
            layer = _JsLayer("sitefinder.basemapLayer(sf_data)", name="Eigen kaart uit de OSM-gegevens (offline)",
                             overlay=False, show=not shown)  # fmt: skip
            layer.add_to(fmap)
        else:
            svc = basemaps.TILE_SERVICES[name]
            tile = folium.TileLayer(svc.url, attr=svc.attribution, name=svc.title, overlay=False, control=True,
                                    max_zoom=19, max_native_zoom=svc.max_native_zoom, show=not shown)  # fmt: skip
            tile.add_to(fmap)
            tiles.append(tile.get_name())
        shown = True
    _JsLayer("L.layerGroup()", name="Geen achtergrond", overlay=False, show=not shown).add_to(fmap)
    area_wgs = mapdata.to_wgs84(mapdata.simplify_m(area.to_numpy(), 5.0), plots.crs)
    folium.GeoJson(
        mapdata.feature_collection(area_wgs, [{}]), name=_group("Kaartlagen") + "Grens van het studiegebied",
        style_function=lambda _f: {"color": "#333333", "weight": 2, "fill": False, "dashArray": "6 4"},
        interactive=False,
    ).add_to(fmap)  # fmt: skip
    layer_keys: dict[str, str] = {}
    if inputs.noise is not None:
        png, bounds = noise_png(inputs.noise, inputs.cache_dir)
        label = "Geluid Lden (dB)" + (", gemodelleerd" if inputs.noise.modelled else "")
        noise_layer = folium.raster_layers.ImageOverlay(
            "data:image/png;base64," + base64.b64encode(png).decode(), bounds=bounds,
            opacity=NOISE_OPACITY, name=_group("Kaartlagen") + label, interactive=False, zindex=2, show=False,
        )  # fmt: skip
        noise_layer.add_to(fmap)
        layer_keys[noise_layer.get_name()] = "noise"
    for res in inputs.profiles:
        surface = inputs.surfaces.get(res.profile.name)
        if surface is None:
            continue
        png, bounds = surface_png(surface, inputs.cache_dir)
        cell = abs(surface.transform.a)
        surface_layer = folium.raster_layers.ImageOverlay(
            "data:image/png;base64," + base64.b64encode(png).decode(), bounds=bounds, opacity=SURFACE_OPACITY,
            name=_group("Zoekgebieden") + _layer_name(f"Zoekgebied {res.profile.title} (score per cel van {cell:g} m)"),
            interactive=False, zindex=3, show=False,
        )  # fmt: skip
        surface_layer.add_to(fmap)
        layer_keys[surface_layer.get_name()] = "surface"
    if inputs.neighbourhoods is not None and len(inputs.neighbourhoods):
        layer_keys[_add_neighbourhoods(fmap, inputs.neighbourhoods)] = "neighbourhoods"
    route_cats = _routes(inputs, data)
    routes_layer = None
    if route_cats:
        routes_layer = _JsLayer("L.layerGroup()", name=_group("Kaartlagen") + "Looproutes (klik op een kavel)",
                                overlay=True, show=True)  # fmt: skip
        routes_layer.add_to(fmap)
        layer_keys[routes_layer.get_name()] = "routes"
    _add_amenities(fmap, inputs, data)
    control = folium.LayerControl(collapsed=True, position="topright")
    control.add_to(fmap)
    keys = ", ".join(f"[{name}, {json_str(key)}]" for name, key in layer_keys.items())
    options = (
        f"{{routes: {routes_layer.get_name() if routes_layer else 'null'}, "
        f"tiles: [{', '.join(tiles)}], control: {control.get_name()}, layerKeys: [{keys}]}}"
    )
    _Setup(options).add_to(fmap)
    root.html.add_child(_Raw(panel_html(inputs.title, subtitle(inputs), len(plots))))
    root.html.add_child(_Raw(_legend(inputs, route_cats)))
    root.html.add_child(_Raw("<div id='sf-notice' class='sf-notice'></div>"))
    root.html.add_child(
        _Raw(f'<script type="application/json" id="sf-data">{mapdata.to_script_json(data)}</script>')
    )
    root.script.add_child(_Raw("var sf_data = sitefinder.load('sf-data');"), name="sf_data", index=0)
    return fmap


def json_str(text: str) -> str:
    """A JavaScript string literal for ``text`` (safe inside a ``<script>`` element)."""
    return mapdata.to_script_json(text)


def render_map(inputs: MapInputs) -> str:
    """The map as one HTML page (self-contained unless ``inputs.self_contained`` is False)."""
    t0 = time.perf_counter()
    page = build_map(inputs).get_root().render()
    page = page.replace("<html>", '<html lang="nl">', 1)
    if inputs.self_contained:
        page, _missing = inline_assets(page, inputs.cache_dir)
    log.info("Rendered map: %d plots, %.1f MB in %.1f s", len(inputs.plots), len(page.encode()) / 1e6,
             time.perf_counter() - t0)  # fmt: skip
    return page


def write_map(inputs: MapInputs, path: Path) -> Path:
    """Render and write ``map.html`` atomically."""
    page = render_map(inputs)
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.debug("Wrote %s", path)
    return Path(path)
