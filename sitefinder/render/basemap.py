"""Background maps: the online tile services offered and the offline drawing from the run's OSM data.

``--tiles`` names the backgrounds the map offers, the first shown when it opens:

* ``offline``: streets by class, water, buildings and green from the run's own OSM
  file, embedded in ``map.html`` (works without internet);
* ``brt`` / ``brt-grijs``: PDOK BRT-Achtergrondkaart (standaard, grijs), WMTS in
  Web Mercator, the basemap Dutch municipalities use;
* ``luchtfoto``: PDOK Luchtfoto RGB (actueel, hoge resolutie), WMTS;
* ``osm``: OpenStreetMap's standard tiles;
* ``none``: no background at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS

from sitefinder.io.basemap import Basemap
from sitefinder.products import schema_version
from sitefinder.render import mapdata

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TileService:
    """An online background (XYZ/WMTS tiles in Web Mercator)."""

    name: str
    title: str
    url: str
    attribution: str
    max_native_zoom: int = 19


OSM_ATTRIBUTION = 'Kaartgegevens &copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-bijdragers (ODbL)'
TILE_SERVICES: dict[str, TileService] = {
    "brt-grijs": TileService(
        "brt-grijs", "BRT-Achtergrondkaart grijs (PDOK, internet)",
        "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/grijs/EPSG:3857/{z}/{x}/{y}.png",
        'Achtergrond &copy; <a href="https://www.kadaster.nl">Kadaster</a> (BRT-Achtergrondkaart, PDOK)',
    ),
    "brt": TileService(
        "brt", "BRT-Achtergrondkaart standaard (PDOK, internet)",
        "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png",
        'Achtergrond &copy; <a href="https://www.kadaster.nl">Kadaster</a> (BRT-Achtergrondkaart, PDOK)',
    ),
    "luchtfoto": TileService(
        "luchtfoto", "Luchtfoto (PDOK, internet)",
        "https://service.pdok.nl/hwh/luchtfotorgb/wmts/v1_0/Actueel_orthoHR/EPSG:3857/{z}/{x}/{y}.jpeg",
        "Luchtfoto &copy; Beeldmateriaal Nederland (PDOK)",
    ),
    "osm": TileService(
        "osm", "OpenStreetMap (internet)", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", OSM_ATTRIBUTION
    ),
}  # fmt: skip

#: How the offline drawing looks (colours as in OSM's standard style, muted).
STYLE = {
    "water": {"color": "#9cc3d9", "fill": "#b5d0e0"},
    "green": {"color": "#c3d9ad", "fill": "#d6e6c3"},
    "building": {"color": "#c4b9ae", "fill": "#dcd4cc"},
    "major": {"color": "#e39a72", "weight": 4.5},
    "secondary": {"color": "#f2cf8c", "weight": 3.5},
    "local": {"color": "#ffffff", "weight": 2.5},
    "path": {"color": "#b9b0a6", "weight": 1.0},
    "waterline": {"color": "#9cc3d9", "weight": 2.0},
}
#: Buildings smaller than this (m²) are left out of the drawing (sheds, garages).
MIN_BUILDING_M2 = 30.0
#: Bytes of encoded geometry per kind at most, so that a town-sized map stays under 2 MB:
#: the largest buildings and the longest paths are kept first, the rest left out.
BUDGET_BYTES = {"building": 260_000, "path": 160_000, "local": 400_000}


def _encoded_length(e: str | list[str]) -> int:
    """Bytes an encoded line (str) or polygon (list of rings) takes in the page's JSON."""
    return (len(e) if isinstance(e, str) else sum(len(r) + 3 for r in e)) + 3


#: Geometries reprojected and encoded at a time while filling a budget.
_CHUNK = 2048


def _encode_within_budget(
    parts: np.ndarray,
    sizes: np.ndarray,
    crs: CRS,
    encode: Callable[[np.ndarray], list[Any]],
    budget: int | None,
) -> list[Any]:
    """The encoded ``parts`` (WKB, see :func:`_simplified`), in their order.

    With ``budget``, only the largest (by ``sizes``) that fit: largest first, until the
    next one would exceed ``budget`` bytes; the rest is never made into a geometry,
    reprojected or encoded (for a town, most buildings and paths). ``encode`` encodes an
    array of WGS84 geometries. :data:`_CHUNK` parts at a time.
    """
    order = np.arange(len(parts)) if budget is None else np.argsort(-sizes, kind="stable")
    kept: list[tuple[int, Any]] = []
    used = 0
    for start in range(0, len(order), _CHUNK):
        idx = order[start : start + _CHUNK]
        geoms = shapely.from_wkb(parts[idx])
        for i, e in zip(idx.tolist(), encode(mapdata.to_wgs84(geoms, crs)), strict=True):
            used += _encoded_length(e)
            if budget is not None and used > budget:
                return [e for _, e in sorted(kept, key=lambda t: t[0])]
            kept.append((i, e))
    return [e for _, e in sorted(kept, key=lambda t: t[0])]


def _simplified(
    geoms: np.ndarray,
    tolerance_m: float,
    keep: Callable[[np.ndarray], np.ndarray],
    size: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """The simplified geometries' parts that ``keep`` keeps, as WKB, and their sizes.

    Simplified :data:`_CHUNK` at a time and kept as WKB: a town's 60,000 simplified
    buildings as geometries take about 40 MB, as WKB a quarter of it, and only the few
    thousand that fit the budget are made into geometries again (the same ones:
    simplification is per geometry, WKB exact).
    """
    blobs, sizes = [np.empty(0, dtype=object)], [np.empty(0)]
    for start in range(0, len(geoms), _CHUNK):
        parts = shapely.get_parts(mapdata.simplify_m(geoms[start : start + _CHUNK], tolerance_m))
        parts = parts[keep(parts)]
        blobs.append(shapely.to_wkb(parts))
        sizes.append(size(parts))
    return np.concatenate(blobs), np.concatenate(sizes)


def _encode_line(lines: np.ndarray) -> list[str]:
    """Encoded polylines of WGS84 lines (or rings), one per geometry."""
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    pieces = np.split(xy, np.searchsorted(owner, np.arange(1, len(lines))))
    return mapdata.encode_polylines([p[:, ::-1] for p in pieces])


def _encode_polygon(polys: np.ndarray) -> list[list[str]]:
    """Encoded rings (exterior first, then the holes) of WGS84 polygons, one list per polygon."""
    rings, owner = shapely.get_rings(polys, return_index=True)
    out: list[list[str]] = [[] for _ in range(len(polys))]
    for o, e in zip(owner.tolist(), _encode_line(rings), strict=True):
        out[o].append(e)
    return out


def _encode_lines(geoms: np.ndarray, crs: CRS, tolerance_m: float, budget: int | None = None) -> list[str]:
    if not len(geoms):
        return []
    parts, sizes = _simplified(
        geoms, tolerance_m, lambda p: shapely.get_num_coordinates(p) >= 2, shapely.length
    )
    return _encode_within_budget(parts, sizes, crs, _encode_line, budget)


def _encode_polygons(
    geoms: np.ndarray, crs: CRS, tolerance_m: float, budget: int | None = None
) -> list[list[str]]:
    if not len(geoms):
        return []
    parts, sizes = _simplified(
        geoms,
        tolerance_m,
        lambda p: (shapely.get_type_id(p) == 3) & ~shapely.is_empty(p),
        shapely.area,
    )
    return _encode_within_budget(parts, sizes, crs, _encode_polygon, budget)


def basemap_block(basemap: Basemap, crs: CRS, bounds: tuple[float, float, float, float]) -> dict[str, Any]:
    """The offline background as compact data for the page: encoded polylines per kind.

    Only what lies within ``bounds`` (working CRS, the study area plus a margin) is kept;
    streets are simplified by 2 m, areas by 1.5 m, buildings under :data:`MIN_BUILDING_M2`
    dropped, and buildings, paths and local streets are capped at :data:`BUDGET_BYTES`
    (largest first), so that the page stays small for a whole town.
    """
    box = shapely.box(*bounds)
    streets = basemap.streets[basemap.streets.intersects(box)]
    areas = basemap.areas[basemap.areas.intersects(box)]
    areas = areas[(areas["kind"] != "building") | (areas.area >= MIN_BUILDING_M2)]
    lines = {}
    for kind in ("path", "local", "secondary", "major", "water"):
        geoms = streets.geometry[streets["kind"] == kind].to_numpy()
        key = "waterline" if kind == "water" else kind
        lines[key] = _encode_lines(geoms, crs, 2.0, BUDGET_BYTES.get(kind))
    polys = {kind: _encode_polygons(areas.geometry[areas["kind"] == kind].to_numpy(), crs, 1.5, BUDGET_BYTES.get(kind))
             for kind in ("green", "water", "building")}  # fmt: skip
    kept = {k: len(v) for k, v in (lines | polys).items()}
    log.info("Offline background: %s", ", ".join(f"{n} {k}" for k, n in kept.items()))
    return {"lines": lines, "areas": polys, "style": STYLE}


@dataclass
class LazyBasemap:
    """A background known by the content it is read from, read only when something needs it.

    Attributes
    ----------
    key : str
        Identifies the background's content (e.g. a hash of the OSM file's SHA-256, the
        working CRS and the code that reads it): the key of what is drawn from it.
    read : callable
        Reads the background (once, and again only after :meth:`release`).
    """

    key: str
    read: Callable[[], Basemap]
    _loaded: list[Basemap] = field(default_factory=list, repr=False)

    def get(self) -> Basemap:
        """The background, read on the first call."""
        if not self._loaded:
            self._loaded.append(self.read())
        return self._loaded[0]

    def release(self) -> None:
        """Let the read background go (a town's is about 90 MB of geometries); read again on next use."""
        self._loaded.clear()


#: The code that draws the offline background (hashed into the key of a cached drawing).
BLOCK_CODE = (("sitefinder.render", "basemap.py"), ("sitefinder.render", "mapdata.py"))


def offline_block(
    basemap: Basemap | LazyBasemap | None,
    crs: CRS,
    bounds: tuple[float, float, float, float],
    cache_dir: Path | None = None,
) -> dict[str, Any] | None:
    """:func:`basemap_block` of ``basemap``; None when there is none or it is empty.

    A :class:`LazyBasemap` with ``cache_dir`` is drawn once per content, CRS and
    bounds and then reused (:mod:`sitefinder.rendercache`, kind ``map-basemap``)
    without reading the background at all.
    """
    if basemap is None:
        return None
    if isinstance(basemap, Basemap):
        return basemap_block(basemap, crs, bounds) if len(basemap) else None

    def draw() -> dict[str, Any] | None:
        base = basemap.get()
        block = basemap_block(base, crs, bounds) if len(base) else None
        # The page needs only the block: the geometries go before the page is built.
        del base
        basemap.release()
        return block

    if cache_dir is None:
        return draw()
    from sitefinder.rendercache import cached_value
    from sitefinder.surfacecache import KeyHash, code_hash

    key = KeyHash().add("schema", schema_version("map-basemap")).add("code", code_hash(BLOCK_CODE))
    key.add("basemap", basemap.key).add("crs", CRS.from_user_input(crs).to_wkt())
    key.add("bounds", [float(b) for b in bounds])
    block: dict[str, Any] | None = cached_value(cache_dir, "map-basemap", key.hexdigest(), draw)
    return block
