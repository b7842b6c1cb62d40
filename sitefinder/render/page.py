"""What the map shows (:class:`MapInputs`), and ``map.html`` written once per content.

The page is a function of its inputs: a warm run with the same inputs (and the same
day, which the page shows) gets the page written before, from the cache
(:mod:`sitefinder.rendercache`, kind ``map-page``), without importing folium or
drawing anything. The key hashes every field of :class:`MapInputs` by content, the
source code of :mod:`sitefinder.render` with its own script and style sheet, and the
versions of folium, branca and folium-offline. Nothing here imports folium;
:mod:`sitefinder.render.map` draws the page on a miss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from sitefinder.categories import CategoryRegistry
from sitefinder.datatypes import NoiseGrid, Routes
from sitefinder.io.atomic import atomic_path
from sitefinder.io.basemap import Basemap
from sitefinder.products import schema_version
from sitefinder.render import basemap as basemaps
from sitefinder.scoring.score import ProfileResult
from sitefinder.surfaces import Surface

log = logging.getLogger(__name__)

#: Backgrounds, comma-separated, the first shown (see :mod:`sitefinder.render.basemap`).
Tiles = str


@dataclass(frozen=True)
class MapInputs:
    """What the map shows; all frames in the working CRS.

    Attributes
    ----------
    plots : geopandas.GeoDataFrame
        Plots indexed by plot id, with their attributes.
    indicators : pandas.DataFrame
        Indicator table indexed like ``plots`` (units in the column names).
    profiles : list of ProfileResult
        Scores per profile; any extra per-profile column in their tables (for example
        ``rank_p95_<profile>``) is shown in the popup.
    amenities : geopandas.GeoDataFrame
        Classified amenities (``category``, ``name``).
    registry : CategoryRegistry
        Amenity category definitions (labels).
    study_area : shapely geometry
        Outline of the area the data covers.
    noise : NoiseGrid or None
        Noise levels, when the run had any.
    title : str
        Page title.
    routes : Routes, optional
        The walking routes of the indicator stage (:func:`sitefinder.routes.route_table`),
        drawn when a plot is clicked.
    tiles : str
        Backgrounds offered, comma-separated, the first shown when the map opens:
        ``offline`` (drawn from ``basemap``), ``brt-grijs``, ``brt``, ``luchtfoto``, ``osm``;
        ``none`` draws the map on a plain background.
    basemap : Basemap or LazyBasemap, optional
        Streets, water, buildings and green from the run's OSM file, for ``offline``.
    self_contained : bool
        Inline all JS and CSS (default) instead of linking them from CDNs.
    extra : pandas.DataFrame, optional
        More per-plot columns to show (indexed like ``plots``).
    surfaces : dict of Surface
        Suitability surfaces by profile name (switchable layers, off when the map opens).
    created : str
        Date (ISO) of the run, shown under the title.
    sources : tuple of str
        The data sources in words (``OpenStreetMap-extract ...``), shown under the title.
    neighbourhoods : geopandas.GeoDataFrame, optional
        CBS neighbourhoods (:mod:`sitefinder.io.cbs`), drawn shaded by their share of 65+.
    cache_dir : pathlib.Path, optional
        Where the images and the offline background drawn for the same inputs are kept
        and reused (:mod:`sitefinder.rendercache`); None: drawn every time.
    """

    plots: gpd.GeoDataFrame
    indicators: pd.DataFrame
    profiles: list[ProfileResult]
    amenities: gpd.GeoDataFrame
    registry: CategoryRegistry
    study_area: Any
    noise: NoiseGrid | None
    title: str
    routes: Routes | None = None
    tiles: Tiles = "osm"
    basemap: Basemap | basemaps.LazyBasemap | None = None
    self_contained: bool = True
    extra: pd.DataFrame | None = field(default=None)
    surfaces: dict[str, Surface] = field(default_factory=dict)
    created: str = ""
    sources: tuple[str, ...] = ()
    neighbourhoods: gpd.GeoDataFrame | None = None
    cache_dir: Path | None = None


def _frame_json(frame: pd.DataFrame) -> str:
    return frame.to_json(orient="split", double_precision=15, default_handler=str)


def _versions() -> list[str | None]:
    out: list[str | None] = []
    for dist in ("folium", "branca", "folium-offline"):
        try:
            out.append(version(dist))
        except PackageNotFoundError:
            out.append(None)
    return out


def page_key(inputs: MapInputs) -> str:
    """The content key of the page of ``inputs`` (see the module docstring)."""
    from sitefinder.surfacecache import KeyHash, code_hash

    static = resources.files("sitefinder.render").joinpath("static")
    own = sorted((p.name, p.read_text("utf-8")) for p in static.iterdir() if p.name.endswith((".js", ".css")))
    k = (
        KeyHash()
        .add("schema", schema_version("map-page"))
        .add("code", code_hash((("sitefinder.render", None),)))
    )
    k.add("static", own).add("versions", _versions())
    k.frame("plots", inputs.plots).add("plot_index", [str(i) for i in inputs.plots.index])
    k.add("plots.crs", inputs.plots.crs.to_wkt() if inputs.plots.crs is not None else None)
    k.add("indicators", _frame_json(inputs.indicators))
    for i, r in enumerate(inputs.profiles):
        k.add(f"profile.{i}", r.profile.model_dump(mode="json")).add(
            f"profile.{i}.table", _frame_json(r.table)
        )
        k.add(f"profile.{i}.inputs", _frame_json(r.inputs)).add(f"profile.{i}.skipped", list(r.skipped))
        k.add(f"profile.{i}.weights", dict(r.weights))
        k.add(
            f"profile.{i}.sensitivity",
            None if r.sensitivity is None else r.sensitivity.model_dump(mode="json"),
        )
    k.frame("amenities", inputs.amenities)
    k.add("registry", [c.model_dump(mode="json") for c in inputs.registry])
    k.geometry("study_area", inputs.study_area)
    if inputs.noise is None:
        k.add("noise", None)
    else:
        k.add("noise.lden", np.asarray(inputs.noise.lden)).add(
            "noise.transform", list(tuple(inputs.noise.transform)[:6])
        )
        k.add("noise.crs", inputs.noise.crs.to_wkt()).add("noise.modelled", bool(inputs.noise.modelled))
    k.add("title", inputs.title).add("tiles", inputs.tiles).add("self_contained", inputs.self_contained)
    if inputs.routes is None:
        k.add("routes", None)
    else:
        k.add("routes.categories", list(inputs.routes.categories)).frame("routes", inputs.routes.table)
    if isinstance(inputs.basemap, basemaps.LazyBasemap):
        k.add("basemap", inputs.basemap.key)
    elif inputs.basemap is None:
        k.add("basemap", None)
    else:
        k.frame("basemap.streets", inputs.basemap.streets).frame("basemap.areas", inputs.basemap.areas)
    k.add("extra", None if inputs.extra is None else _frame_json(inputs.extra))
    for name, s in inputs.surfaces.items():
        k.add(f"surface.{name}", [s.profile, list(s.skipped), list(tuple(s.transform)[:6]), s.crs.to_wkt()])
        k.add(f"surface.{name}.score", np.asarray(s.score)).add(
            f"surface.{name}.eligible", np.asarray(s.eligible)
        )
        k.add(f"surface.{name}.judged", None if s.judged is None else np.asarray(s.judged))
    # The page shows the day of the run, not its time.
    k.add("created_day", inputs.created[:10]).add("sources", list(inputs.sources))
    nbh = inputs.neighbourhoods
    if nbh is None:
        k.add("neighbourhoods", None)
    else:
        k.frame("neighbourhoods", nbh).add("neighbourhoods.index", [str(i) for i in nbh.index])
        k.add("neighbourhoods.attrs", nbh.attrs)
    return k.hexdigest()


def write_map(inputs: MapInputs, path: Path) -> Path:
    """Write ``map.html`` atomically: the page of the same inputs from ``inputs.cache_dir``, else drawn.

    Without a cache folder the page is drawn (:func:`sitefinder.render.map.render_map`).
    """

    def draw() -> tuple[bytes, Any]:
        from sitefinder.render.map import render_map

        return render_map(inputs).encode("utf-8"), None

    if inputs.cache_dir is None:
        page, _ = draw()
    else:
        from sitefinder.rendercache import cached_bytes

        key = page_key(inputs)
        page, _ = cached_bytes(inputs.cache_dir, "map-page", key, draw)
    with atomic_path(Path(path)) as tmp:
        tmp.write_bytes(page)
    log.debug("Wrote %s", path)
    return Path(path)
