"""Small static figures as inline SVG for the comparison report: bar charts and plot maps.

No chart library and no tiles: the figures are drawn from the scores table and the
plot geometries (working CRS, metres), so the report prints crisply and opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from sitefinder.render.escape import html_text

#: Okabe-Ito colours, safe for colour-blind readers; one per compared plot.
PLOT_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]


_esc = html_text


def _num(x: float, digits: int = 1) -> str:
    """A number in Dutch notation (decimal comma)."""
    return f"{x:,.{digits}f}".replace(",", "\x00").replace(".", ",").replace("\x00", ".")


@dataclass(frozen=True)
class Bar:
    """One criterion of a contribution chart: its label, maximum and each plot's points.

    ``notes`` (optional, one per plot) are shown after the points, e.g. the raw value.
    """

    label: str
    max_points: float
    points: Sequence[float]
    notes: Sequence[str] = ()


def contribution_chart(bars: Sequence[Bar], plot_labels: Sequence[str], title: str) -> str:
    """Grouped horizontal bars: per criterion one bar per plot, on a track of the maximum.

    Parameters
    ----------
    bars : sequence of Bar
        One per criterion.
    plot_labels : sequence of str
        Names of the plots, in the order of ``Bar.points``; bars are labelled with the
        part before `` – `` (the plot id).
    title : str
        Accessible title of the figure.

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    n = len(plot_labels)
    short = [lab.split(" – ")[0] for lab in plot_labels]
    id_w = min(110, 14 + 6.5 * max((len(s) for s in short), default=1))
    bar_w, value_w = 400, 150
    bar_h, gap, head = 10, 1, 14
    group_h = head + n * (bar_h + gap) + 8
    legend_h = 22
    width = id_w + bar_w + value_w
    height = legend_h + len(bars) * group_h + 16
    widest = max((b.max_points for b in bars), default=0.0) or 1.0
    out = [
        f'<svg class="sf-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height}" '
        f'width="100%" role="img" aria-label="{_esc(title)}"><title>{_esc(title)}</title>',
        '<g font-family="Helvetica, Arial, sans-serif" font-size="10">',
    ]
    x = 0.0
    for k, lab in enumerate(plot_labels):
        colour = PLOT_COLOURS[k % len(PLOT_COLOURS)]
        out.append(f'<rect x="{x:.0f}" y="4" width="12" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 16:.0f}" y="13">{_esc(lab)}</text>')
        x += 26 + 6.0 * len(lab)
    for i, b in enumerate(bars):
        y0 = legend_h + i * group_h
        out.append(f'<text x="0" y="{y0 + 11}" font-weight="bold">{_esc(b.label)}</text>')
        track = bar_w * b.max_points / widest
        for k, pts in enumerate(b.points):
            y = y0 + head + k * (bar_h + gap)
            colour = PLOT_COLOURS[k % len(PLOT_COLOURS)]
            v = 0.0 if pts is None or np.isnan(pts) else float(pts)
            w = bar_w * max(v, 0.0) / widest
            note = f" · {_esc(b.notes[k])}" if k < len(b.notes) and b.notes[k] else ""
            out.append(
                f'<text x="{id_w - 4:.0f}" y="{y + bar_h - 2}" text-anchor="end" fill="#444">'
                f"{_esc(short[k])}</text>"
                f'<rect x="{id_w:.0f}" y="{y}" width="{track:.1f}" height="{bar_h}" fill="#e6e6e6"/>'
                f'<rect x="{id_w:.0f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>'
                f'<text x="{id_w + track + 4:.1f}" y="{y + bar_h - 2}">{_num(v)} / '
                f"{_num(b.max_points)}{note}</text>"
            )
    out.append(
        f'<text x="{id_w:.0f}" y="{height - 4}" fill="#555">Bijdrage aan de score in punten '
        f"(grijs: het maximum van het criterium)</text>"
    )
    out.append("</g></svg>")
    return "".join(out)


def _path(geom: shapely.Geometry, minx: float, maxy: float, scale: float) -> str:
    """SVG path data of a (multi)polygon or line in a window starting at (minx, maxy)."""
    parts: list[str] = []
    polys = getattr(geom, "geoms", [geom])
    for g in polys:
        rings = [g.exterior, *g.interiors] if g.geom_type == "Polygon" else [g]
        for ring in rings:
            xy = np.asarray(ring.coords)
            if len(xy) < 2:
                continue
            px = (xy[:, 0] - minx) * scale
            py = (maxy - xy[:, 1]) * scale
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
            parts.append(f"M{pts}" + ("Z" if g.geom_type == "Polygon" else ""))
    return "".join(parts)


@dataclass(frozen=True)
class MapShape:
    """A plot drawn on a small map."""

    geometry: shapely.Geometry
    fill: str
    stroke: str = "#333333"
    stroke_width: float = 0.8
    dashed: bool = False
    label: str = ""


def plot_map(
    focus: shapely.Geometry,
    shapes: Sequence[MapShape],
    title: str,
    half_size_m: float = 550.0,
    circle_m: float | None = 500.0,
    background: tuple[str, tuple[float, float, float, float]] | None = None,
    size_px: int = 340,
) -> str:
    """A small north-up map of the surroundings of ``focus``, with a scale bar.

    Parameters
    ----------
    focus : shapely geometry
        The plot in the middle (working CRS, metres).
    shapes : sequence of MapShape
        Plots to draw (those outside the window are clipped by the SVG).
    title : str
        Accessible title.
    half_size_m : float
        Half the width of the window, metres.
    circle_m : float, optional
        Radius of a dashed circle around the plot ("hemelsbreed", straight line).
    background : tuple, optional
        A PNG data URI and its (minx, miny, maxx, maxy) in the same CRS.
    size_px : int
        Width and height in pixels.

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    cx, cy = shapely.centroid(focus).coords[0]
    bx0, by0, bx1, by1 = focus.bounds
    half = max(half_size_m, 0.75 * max(bx1 - bx0, by1 - by0) + 50)
    minx, maxy = cx - half, cy + half
    scale = size_px / (2 * half)
    out = [
        f'<svg class="sf-minimap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size_px} {size_px}" '
        f'width="{size_px}" height="{size_px}" role="img" aria-label="{_esc(title)}">'
        f"<title>{_esc(title)}</title>",
        f'<rect width="{size_px}" height="{size_px}" fill="#f4f2ee"/>',
    ]
    if background is not None:
        uri, (x0, y0, x1, y1) = background
        out.append(
            f'<image href="{uri}" x="{(x0 - minx) * scale:.1f}" y="{(maxy - y1) * scale:.1f}" '
            f'width="{(x1 - x0) * scale:.1f}" height="{(y1 - y0) * scale:.1f}" opacity="0.55" '
            'preserveAspectRatio="none" style="image-rendering:pixelated"/>'
        )
    window = shapely.box(minx, cy - half, cx + half, maxy)
    for s in shapes:
        if not s.geometry.intersects(window):
            continue
        dash = ' stroke-dasharray="3 2"' if s.dashed else ""
        out.append(
            f'<path d="{_path(s.geometry, minx, maxy, scale)}" fill="{s.fill}" fill-opacity="0.8" '
            f'stroke="{s.stroke}" stroke-width="{s.stroke_width}" fill-rule="evenodd"{dash}/>'
        )
    px, py = (cx - minx) * scale, (maxy - cy) * scale
    if circle_m:
        r = circle_m * scale
        out.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{r:.1f}" fill="none" stroke="#444" '
            'stroke-dasharray="5 4" stroke-width="1"/>'
            f'<text x="{px + 4:.1f}" y="{py - r + 12:.1f}" font-size="10" fill="#444" '
            f'font-family="Helvetica, Arial, sans-serif">{_num(circle_m, 0)} m hemelsbreed</text>'
        )
    # Scale bar (a round length of about a quarter of the window) and north arrow.
    target = half / 2
    bar_m = float(10 ** np.floor(np.log10(target)))
    for mult in (5, 2):
        if bar_m * mult <= target:
            bar_m *= mult
            break
    bar_px = bar_m * scale
    y = size_px - 12
    out.append(
        f'<g font-family="Helvetica, Arial, sans-serif" font-size="10">'
        f'<rect x="8" y="{y - 14}" width="{bar_px + 44:.0f}" height="20" fill="white" opacity="0.8"/>'
        f'<path d="M10,{y - 4}V{y}H{10 + bar_px:.1f}V{y - 4}" fill="none" stroke="#000" '
        f'stroke-width="1.5"/><text x="{14 + bar_px:.1f}" y="{y}">{_num(bar_m, 0)} m</text>'
        f'<path d="M{size_px - 16},8 l6,16 l-6,-4 l-6,4 z" fill="#000"/>'
        f'<text x="{size_px - 19}" y="36">N</text></g>'
    )
    out.append("</svg>")
    return "".join(out)
