"""Cache of the offline background, so that neither a cold nor a warm run reads the OSM file for it.

Two entries, each verified on read (:mod:`sitefinder.io.cacheentry`):

* ``osm-background/<key>``: the background the OSM cut's single pass collected
  (:class:`sitefinder.io.osmpass.Background`) in WGS84, keyed by the source's
  SHA-256, :data:`CUT_SCHEMA` and the code of :mod:`sitefinder.io.basemap` and
  :mod:`sitefinder.io.osmpass`; written by the cut (:func:`write_cut_background`);
* ``basemap/<key>``: a background read from the OSM file itself
  (:func:`sitefinder.io.basemap.read_basemap`, only when the cut's is missing, e.g.
  a cut made by an older version), keyed by the source's SHA-256, the working CRS,
  :data:`SCHEMA` and the code of :mod:`sitefinder.io.basemap`.

Both are two GeoParquet files, the lines and the areas.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pyproj import CRS

from sitefinder import __version__
from sitefinder.io.atomic import atomic_path
from sitefinder.io.basemap import Basemap, read_basemap
from sitefinder.io.cacheentry import read_entry, write_entry

if TYPE_CHECKING:
    from sitefinder.io.osmpass import Background

log = logging.getLogger(__name__)

#: Bump when the cached files change meaning or layout.
SCHEMA = 1
#: Bump when the cut's background files change meaning or layout.
CUT_SCHEMA = 1
_FILES = ("streets.parquet", "areas.parquet")


def _cut_folder(cache_dir: Path, osm_sha256: str) -> Path:
    code = b"".join(
        resources.files("sitefinder.io").joinpath(name).read_bytes() for name in ("basemap.py", "osmpass.py")
    )
    parts = [CUT_SCHEMA, __version__, osm_sha256, hashlib.sha256(code).hexdigest()]
    return Path(cache_dir) / "osm-background" / hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def write_cut_background(cache_dir: Path, osm_sha256: str, background: Background) -> None:
    """Keep the background the cut's pass collected (WGS84), for :func:`cached_basemap`.

    A folder that cannot be written is logged; the map then reads the OSM file.
    """
    import geopandas as gpd
    import shapely

    folder = _cut_folder(cache_dir, osm_sha256)
    streets = gpd.GeoDataFrame(
        {"kind": background.line_kinds}, geometry=np.array(background.lines, dtype=object), crs=4326
    )
    areas = gpd.GeoDataFrame(
        {"kind": background.area_kinds},
        geometry=shapely.from_wkb(background.areas_wkb) if background.areas_wkb else [],
        crs=4326,
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in zip(_FILES, (streets, areas), strict=True):
            with atomic_path(folder / name) as tmp:
                frame.to_parquet(tmp)
        write_entry(folder, "osm-background", CUT_SCHEMA, list(_FILES), {"osm_sha256": osm_sha256})
    except (OSError, ValueError, TypeError) as exc:
        log.warning("Background of the OSM cut not kept: cannot write %s (%s)", folder, exc)


def cut_basemap(cache_dir: Path, osm_sha256: str, crs: CRS) -> Basemap | None:
    """The background the cut of the OSM source collected, in ``crs``; None when it has none."""
    import geopandas as gpd

    folder = _cut_folder(cache_dir, osm_sha256)
    if read_entry(folder, "osm-background", CUT_SCHEMA) is None:
        return None
    t0 = time.perf_counter()
    try:
        streets, areas = (gpd.read_parquet(folder / name).to_crs(crs) for name in _FILES)
    except (OSError, ValueError) as exc:
        log.warning("Background of the OSM cut %s unreadable (%s)", folder, exc)
        return None
    log.info(
        "Background map from the OSM cut: %d street and waterway lines, %d areas (water, green, buildings) in %.1f s",
        len(streets), len(areas), time.perf_counter() - t0,
    )  # fmt: skip
    return Basemap(streets=streets, areas=areas)


def _key(osm_sha256: str, crs: CRS) -> str:
    code = resources.files("sitefinder.io").joinpath("basemap.py").read_bytes()
    parts = [SCHEMA, __version__, osm_sha256, crs.to_string(), hashlib.sha256(code).hexdigest()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def cached_basemap(cache_dir: Path, path: Path, osm_sha256: str, crs: CRS) -> Basemap:
    """The background of the OSM file ``path`` in ``crs``: from the cut or the cache, else read (then cached)."""
    import geopandas as gpd

    from_cut = cut_basemap(cache_dir, osm_sha256, crs)
    if from_cut is not None:
        return from_cut

    folder = Path(cache_dir) / "basemap" / _key(osm_sha256, crs)
    if read_entry(folder, "basemap", SCHEMA) is not None:
        try:
            streets, areas = (gpd.read_parquet(folder / name) for name in _FILES)
        except (OSError, ValueError) as exc:
            log.warning("Background cache %s unreadable (%s); reading the OSM file again", folder, exc)
        else:
            log.info(
                "Background map (%d lines, %d areas) reused from cache %s", len(streets), len(areas), folder
            )
            return Basemap(streets=streets, areas=areas)
    base = read_basemap(path, crs)
    try:
        for name, frame in zip(_FILES, (base.streets, base.areas), strict=True):
            with atomic_path(folder / name) as tmp:
                frame.to_parquet(tmp)
        write_entry(
            folder, "basemap", SCHEMA, list(_FILES), {"crs": crs.to_string(), "osm_sha256": osm_sha256}
        )
    except (OSError, ValueError, TypeError) as exc:
        log.warning("Background map not cached: cannot write %s (%s)", folder, exc)
    return base
