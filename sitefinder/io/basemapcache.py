"""Cache of the offline background (:func:`sitefinder.io.basemap.read_basemap`), so a warm run reads no OSM.

Keyed by the OSM source's SHA-256, the working CRS, :data:`SCHEMA` and the source
code of :mod:`sitefinder.io.basemap` (a change of what is drawn gives a new key);
stored as two GeoParquet files in a verified entry (:mod:`sitefinder.io.cacheentry`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import resources
from pathlib import Path

from pyproj import CRS

from sitefinder import __version__
from sitefinder.io.atomic import atomic_path
from sitefinder.io.basemap import Basemap, read_basemap
from sitefinder.io.cacheentry import read_entry, write_entry

log = logging.getLogger(__name__)

#: Bump when the cached files change meaning or layout.
SCHEMA = 1
_FILES = ("streets.parquet", "areas.parquet")


def _key(osm_sha256: str, crs: CRS) -> str:
    code = resources.files("sitefinder.io").joinpath("basemap.py").read_bytes()
    parts = [SCHEMA, __version__, osm_sha256, crs.to_string(), hashlib.sha256(code).hexdigest()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def cached_basemap(cache_dir: Path, path: Path, osm_sha256: str, crs: CRS) -> Basemap:
    """The background of the OSM file ``path`` in ``crs``: from the cache, else read (then cached)."""
    import geopandas as gpd

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
