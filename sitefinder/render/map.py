"""Render the interactive Folium map: one layer per profile, amenities, noise, legends.

This module (with the report module) is the only place that imports folium and the
only place that reprojects to WGS84.
"""

from __future__ import annotations

import html
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.plugins import MarkerCluster
from PIL import Image
from rasterio.warp import Resampling, calculate_default_transform, reproject

from sitefinder.categories import CategoryRegistry
from sitefinder.datatypes import NoiseGrid
from sitefinder.io.atomic import atomic_path
from sitefinder.scoring.score import ProfileResult

log = logging.getLogger(__name__)

OSM_ATTRIBUTION = (
    'Kaartgegevens &copy; <a href="https://www.openstreetmap.org/copyright">'
    "OpenStreetMap</a>-bijdragers (ODbL)"
)
#: Colour-blind-safe sequential scale (viridis, 5 classes) for scores 0-100.
SCORE_COLOURS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
EXCLUDED_COLOUR = "#9e9e9e"
#: Noise classes (dB Lden), 5 dB steps as on official Dutch maps; colours from ColorBrewer YlOrRd.
NOISE_BREAKS = [45, 50, 55, 60, 65, 70, 75]
NOISE_COLOURS = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]
CATEGORY_COLOURS = [
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
    "#666666", "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6",
]  # fmt: skip


@dataclass(frozen=True)
class MapInputs:
    """What the map shows; all frames in the working CRS."""

    plots: gpd.GeoDataFrame
    indicators: pd.DataFrame
    profiles: list[ProfileResult]
    amenities: gpd.GeoDataFrame
    registry: CategoryRegistry
    study_area: Any
    noise: NoiseGrid | None
    title: str


def _fmt(value: Any, col: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if col.endswith("_m") or col.endswith("_m2"):
        return f"{value:,.0f}".replace(",", ".")
    if col.endswith("_db"):
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return html.escape(str(value))


UNIT_LABELS = {"_m2": "m²", "_m": "m", "_db": "dB", "_share": "aandeel 0-1"}


def _unit(col: str) -> str:
    for suffix, unit in UNIT_LABELS.items():
        if col.endswith(suffix) or f"{suffix}_" in col:
            return unit
    return ""


def popup_html(plot_id: str, res: ProfileResult, indicators: pd.Series, scores: pd.Series) -> str:
    """HTML of a plot's popup: score, rank, exclusion and the breakdown per criterion."""
    p = res.profile
    score = scores[f"score_{p.name}"]
    rank = scores[f"rank_{p.name}"]
    excl = scores[f"excluded_{p.name}"]
    rows = []
    for c in p.criteria:
        col = f"pts_{p.name}_{c.name}"
        if col not in scores.index:
            continue
        pts = float(scores[col])
        max_pts = 100.0 * c.weight / sum(
            cc.weight for cc in p.criteria if f"pts_{p.name}_{cc.name}" in scores.index
        )
        raw = indicators.get(c.indicator, np.nan)
        unit = _unit(c.indicator)
        width = 0 if max_pts == 0 else round(100 * pts / max_pts)
        rows.append(
            f"<tr><td>{html.escape(c.label)}</td>"
            f"<td style='text-align:right'>{_fmt(raw, c.indicator)} {unit}</td>"
            f"<td><div class='sf-bar'><div style='width:{width}%'></div></div></td>"
            f"<td style='text-align:right'>{pts:.1f} / {max_pts:.1f}</td></tr>"
        )
    status = (
        f"<p class='sf-excluded'>Uitgesloten: {html.escape(str(excl))}</p>"
        if excl
        else f"<p>Rang {rank} van de geschikte kavels</p>"
    )
    return (
        f"<div class='sf-popup'><h4>Kavel {html.escape(str(plot_id))}</h4>"
        f"<p><b>{html.escape(p.title)}</b>: score <b>{score:.1f}</b> / 100</p>{status}"
        "<table><tr><th>Criterium</th><th>Waarde</th><th></th><th>Punten</th></tr>"
        + "".join(rows)
        + "</table></div>"
    )


def _score_colour(score: float) -> str:
    idx = min(int(score // 20), len(SCORE_COLOURS) - 1)
    return SCORE_COLOURS[idx]


def _noise_png(grid: NoiseGrid) -> tuple[bytes, list[list[float]]]:
    """Colour the noise grid in 5 dB classes and warp it to WGS84 for an ImageOverlay."""
    dst_crs = "EPSG:4326"
    rows, cols = grid.shape
    minx, miny, maxx, maxy = grid.bounds
    transform, width, height = calculate_default_transform(
        grid.crs, dst_crs, cols, rows, minx, miny, maxx, maxy
    )
    out = np.full((int(height), int(width)), np.nan, dtype="float32")
    reproject(
        grid.lden, out, src_transform=grid.transform, src_crs=grid.crs, src_nodata=np.nan,
        dst_transform=transform, dst_crs=dst_crs, dst_nodata=np.nan, resampling=Resampling.nearest,
    )
    rgba = np.zeros((*out.shape, 4), dtype=np.uint8)
    idx = np.digitize(out, NOISE_BREAKS) - 1
    for i, colour in enumerate(NOISE_COLOURS):
        mask = (idx == i) & ~np.isnan(out)
        rgb = [int(colour[k : k + 2], 16) for k in (1, 3, 5)]
        rgba[mask] = [*rgb, 255]
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=True)
    west, north = transform @ (0, 0)
    east, south = transform @ (width, height)
    return buf.getvalue(), [[south, west], [north, east]]


def _legend_html(inputs: MapInputs) -> str:
    score_items = "".join(
        f"<div><span style='background:{c}'></span>{i * 20}–{(i + 1) * 20}</div>"
        for i, c in enumerate(SCORE_COLOURS)
    )
    noise = ""
    if inputs.noise is not None:
        kind = "gemodelleerd, indicatief" if inputs.noise.modelled else "officiële kaart"
        labels = [f"{a}–{b}" for a, b in zip(NOISE_BREAKS, NOISE_BREAKS[1:], strict=False)]
        labels.append(f"≥ {NOISE_BREAKS[-1]}")
        noise = (
            f"<h4>Geluid Lden (dB) – {kind}</h4>"
            + "".join(
                f"<div><span style='background:{c}'></span>{lab}</div>"
                for c, lab in zip(NOISE_COLOURS, labels, strict=True)
            )
        )
    return f"""
<div id="sf-legend" class="sf-legend">
<h4>Geschiktheid (score 0–100)</h4>{score_items}
<div><span style='background:{EXCLUDED_COLOUR};opacity:.5'></span>uitgesloten</div>
{noise}
<p class="sf-attr">{OSM_ATTRIBUTION}</p>
</div>
<style>
.sf-legend {{position:fixed; bottom:24px; left:10px; z-index:9999; background:white;
  padding:8px 10px; font:12px/1.4 sans-serif; border-radius:4px; box-shadow:0 1px 4px rgba(0,0,0,.4);}}
.sf-legend h4 {{margin:4px 0; font-size:12px;}}
.sf-legend span {{display:inline-block; width:14px; height:10px; margin-right:6px;}}
.sf-attr {{margin:6px 0 0; font-size:10px; color:#555;}}
.sf-popup table {{border-collapse:collapse; font-size:11px;}}
.sf-popup td, .sf-popup th {{padding:1px 4px;}}
.sf-bar {{width:60px; height:8px; background:#eee;}}
.sf-bar div {{height:8px; background:#21918c;}}
.sf-excluded {{color:#b10026;}}
</style>"""


def build_map(inputs: MapInputs) -> folium.Map:
    """Build the Folium map (not yet written)."""
    plots_wgs = inputs.plots.to_crs(4326)
    area_wgs = gpd.GeoSeries([inputs.study_area], crs=inputs.plots.crs).to_crs(4326)
    minx, miny, maxx, maxy = area_wgs.total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="Achtergrond (OpenStreetMap)", attr=OSM_ATTRIBUTION).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    folium.GeoJson(
        area_wgs.__geo_interface__, name="Studiegebied",
        style_function=lambda _f: {"color": "#333", "weight": 2, "fill": False, "dashArray": "6 4"},
    ).add_to(fmap)
    if inputs.noise is not None:
        png, bounds = _noise_png(inputs.noise)
        import base64

        label = "Geluid Lden" + (" (gemodelleerd)" if inputs.noise.modelled else "")
        folium.raster_layers.ImageOverlay(
            "data:image/png;base64," + base64.b64encode(png).decode(), bounds=bounds,
            opacity=0.55, name=label, interactive=False, zindex=1,
        ).add_to(fmap)
    scores_all = pd.concat([r.table for r in inputs.profiles], axis=1)
    for i, res in enumerate(inputs.profiles):
        p = res.profile.name
        fg = folium.FeatureGroup(name=f"Score: {res.profile.title}", show=(i == 0))
        gdf = plots_wgs[["geometry"]].copy()
        gdf["plot_id"] = gdf.index.astype(str)
        gdf["score"] = scores_all[f"score_{p}"]
        gdf["excluded"] = scores_all[f"excluded_{p}"]
        gdf["popup"] = [
            popup_html(pid, res, inputs.indicators.loc[pid], scores_all.loc[pid]) for pid in gdf.index
        ]
        gdf["tooltip"] = [
            f"{pid}: {s:.0f}" + (f" – uitgesloten: {e}" if e else "")
            for pid, s, e in zip(gdf.index, gdf["score"], gdf["excluded"], strict=True)
        ]
        gdf["fill"] = [EXCLUDED_COLOUR if e else _score_colour(s) for s, e in zip(gdf["score"], gdf["excluded"], strict=True)]
        gdf["dash"] = ["4 4" if e else "" for e in gdf["excluded"]]
        folium.GeoJson(
            gdf.reset_index(drop=True).__geo_interface__,
            name=f"score_{p}",
            style_function=lambda f: {
                "fillColor": f["properties"]["fill"], "color": "#222", "weight": 1,
                "fillOpacity": 0.75, "dashArray": f["properties"]["dash"],
            },
            tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=420),
        ).add_to(fg)
        fg.add_to(fmap)
    am = inputs.amenities.copy()
    if len(am):
        am_wgs = gpd.GeoDataFrame(am.drop(columns="geometry"), geometry=am.geometry.representative_point(), crs=am.crs).to_crs(4326)
        colour = {c: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, c in enumerate(inputs.registry.names)}
        fg = folium.FeatureGroup(name="Voorzieningen", show=True)
        cluster = MarkerCluster(disableClusteringAtZoom=16).add_to(fg)
        for row in am_wgs.itertuples():
            cat = inputs.registry.get(row.category)
            name = row.name if isinstance(row.name, str) else ""
            folium.CircleMarker(
                [row.geometry.y, row.geometry.x], radius=5, color=colour[row.category],
                fill=True, fill_opacity=0.9, weight=1,
                tooltip=html.escape(f"{cat.label}{': ' + name if name else ''}"),
            ).add_to(cluster)
        fg.add_to(fmap)
    fmap.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(_legend_html(inputs)))
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element(f"<title>{html.escape(inputs.title)}</title>"))
    return fmap


def write_map(inputs: MapInputs, path: Path) -> Path:
    """Render and write ``map.html`` atomically."""
    fmap = build_map(inputs)
    with atomic_path(Path(path)) as tmp:
        fmap.save(str(tmp))
    log.debug("Wrote %s", path)
    return Path(path)
