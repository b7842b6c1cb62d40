"""On-disk cache of what a run makes of the cut's features and buildings, in the working CRS.

From the tagged features of an OSM cut (``features.parquet``, WGS84) every run made
the same products: the classified amenities (with their count groups), the nuisance
sources, the road and rail lines the noise model starts from and the candidate
plots; and from ``buildings.parquet`` the buildings in the working CRS. A warm run
reads these products instead of reading, reprojecting and classifying every feature
again.

The key hashes, as content: the SHA-256 of the cut file the products are made from
(as the cut's verified entry records it), the stop-area memberships, the working CRS,
every category definition, the product's schema version (:mod:`sitefinder.products`)
and the source code that makes the products. Layout: ``osm-products/<key>/`` with one
GeoParquet file per product and ``entry.json`` (:mod:`sitefinder.io.cacheentry`:
verified on read; an entry that fails, or whose schema differs, is rebuilt, never
trusted). ``osm-buildings/<key>/buildings.parquet`` likewise, made only when a run
needs the buildings.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from sitefinder.categories import CategoryRegistry, classify, count_groups
from sitefinder.io import osm
from sitefinder.io.atomic import atomic_path
from sitefinder.io.cacheentry import read_entry, write_entry
from sitefinder.products import schema_version

log = logging.getLogger(__name__)

PRODUCTS = "osm-products"
BUILDINGS = "osm-buildings"
#: Product name -> file in the entry.
_FILES = {
    "amenities": "amenities.parquet",
    "nuisance": "nuisance.parquet",
    "noise_lines": "noise_lines.parquet",
    "candidates": "candidates.parquet",
}

#: Modules whose code shapes the products (hashed into the key).
CODE = (
    ("sitefinder", "featurecache.py"),
    ("sitefinder", "categories.py"),
    ("sitefinder", "osmrules.py"),
    ("sitefinder.io", "osm.py"),
)


@dataclass(frozen=True)
class OsmProducts:
    """What a run takes from the cut's features, in the working CRS.

    Attributes
    ----------
    amenities : geopandas.GeoDataFrame
        :func:`sitefinder.categories.classify` with a ``count_group`` column.
    nuisance : geopandas.GeoDataFrame
        Major roads and railways (:func:`sitefinder.io.osm.nuisance_sources`) and the
        nightlife amenities, with ``kind`` and ``osm_id``.
    noise_lines : geopandas.GeoDataFrame
        The features that are lines (roads, railways): what the noise model starts from.
    candidates : geopandas.GeoDataFrame
        Candidate plots (:func:`sitefinder.io.osm.candidate_plots`).
    n_features : int
        How many tagged features the cut has.
    """

    amenities: gpd.GeoDataFrame
    nuisance: gpd.GeoDataFrame
    noise_lines: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    n_features: int


def make_products(
    features: gpd.GeoDataFrame, registry: CategoryRegistry, stops: dict[str, str]
) -> OsmProducts:
    """The products of ``features`` (working CRS) for ``registry``; ``stops``: stop-area memberships."""
    crs = features.crs
    amenities = classify(features, registry)
    amenities["count_group"] = count_groups(amenities, registry, stops)
    nightlife = amenities[amenities["category"] == "nightlife"]
    nuisance = gpd.GeoDataFrame(
        pd.concat(
            [
                osm.nuisance_sources(features),
                gpd.GeoDataFrame(
                    {"kind": "nightlife", "osm_id": nightlife["osm_id"]},
                    geometry=nightlife.geometry.to_numpy(),
                    crs=crs,
                ),
            ],
            ignore_index=True,
        ),
        crs=crs,
    )
    lines = features[features.geom_type.isin(["LineString", "MultiLineString"])]
    candidates = (
        osm.candidate_plots(features)
        if len(features)
        else gpd.GeoDataFrame({"plot_id": []}, geometry=[], crs=crs)
    )
    return OsmProducts(
        amenities=_nulls_as_none(amenities),
        nuisance=_nulls_as_none(nuisance),
        noise_lines=_nulls_as_none(lines),
        candidates=_nulls_as_none(candidates),
        n_features=len(features),
    )


def _nulls_as_none(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Missing values of text (object) columns as None, as GeoParquet gives them back (not NaN)."""
    out = frame.copy()
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _code_hash() -> str:
    h = hashlib.sha256()
    for package, name in CODE:
        h.update(f"{package}/{name}".encode())
        h.update(resources.files(package).joinpath(name).read_bytes())
    return h.hexdigest()


def products_key(cut_file_sha256: str, crs: CRS, registry: CategoryRegistry, stops: dict[str, str]) -> str:
    """The cache key of the products of one cut file for a CRS, categories and stop areas."""
    parts: list[Any] = [
        PRODUCTS, schema_version(PRODUCTS), _code_hash(), cut_file_sha256, CRS.from_user_input(crs).to_wkt(),
        [c.model_dump(mode="json") for c in registry], sorted(stops.items()),
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cached_products(
    cache_dir: Path | None,
    ext: osm.OsmExtract,
    crs: CRS,
    registry: CategoryRegistry,
    load_features: Callable[[], gpd.GeoDataFrame],
) -> OsmProducts:
    """The products of the cut ``ext`` from ``cache_dir``, else made from ``load_features()`` (then cached).

    Without ``cache_dir``, or for a cut whose entry records no file hashes, they are
    made and not cached.
    """
    stops = osm.stop_areas(ext)
    sha = ext.file_sha256.get("features.parquet")
    if cache_dir is None or not sha:
        return make_products(load_features(), registry, stops)
    folder = Path(cache_dir) / PRODUCTS / products_key(sha, crs, registry, stops)
    meta = read_entry(folder, PRODUCTS, schema_version(PRODUCTS))
    if meta is not None:
        try:
            frames = {name: gpd.read_parquet(folder / f) for name, f in _FILES.items()}
            found = OsmProducts(**frames, n_features=int(meta["features"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("OSM products cache %s unreadable (%s); making them again", folder, exc)
        else:
            log.info(
                "Amenities (%d), nuisance sources (%d) and noise lines (%d) of %s reused from cache %s",
                len(found.amenities), len(found.nuisance), len(found.noise_lines), ext.source.name, folder,
            )  # fmt: skip
            return found
    made = make_products(load_features(), registry, stops)
    try:
        for name, f in _FILES.items():
            with atomic_path(folder / f) as tmp:
                getattr(made, name).to_parquet(tmp)
        write_entry(folder, PRODUCTS, schema_version(PRODUCTS), list(_FILES.values()),
                    {"features": made.n_features, "source": str(ext.source)})  # fmt: skip
    except (OSError, ValueError, TypeError) as exc:
        log.warning("OSM products not cached: cannot write %s (%s)", folder, exc)
    return made


def cached_buildings(cache_dir: Path | None, ext: osm.OsmExtract, crs: CRS) -> gpd.GeoDataFrame:
    """The cut's buildings in ``crs`` (:func:`sitefinder.io.osm.load_buildings`), cached once reprojected."""
    sha = ext.file_sha256.get("buildings.parquet")
    if cache_dir is None or not sha:
        return osm.load_buildings(ext, crs)
    parts = [BUILDINGS, schema_version(BUILDINGS), sha, CRS.from_user_input(crs).to_wkt()]
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]
    folder = Path(cache_dir) / BUILDINGS / key
    if read_entry(folder, BUILDINGS, schema_version(BUILDINGS)) is not None:
        try:
            found = gpd.read_parquet(folder / "buildings.parquet")
        except (OSError, ValueError) as exc:
            log.warning("Buildings cache %s unreadable (%s); reading the cut again", folder, exc)
        else:
            log.info("Buildings (%d) of %s reused from cache %s", len(found), ext.source.name, folder)
            return found
    made = osm.load_buildings(ext, crs)
    try:
        with atomic_path(folder / "buildings.parquet") as tmp:
            made.to_parquet(tmp)
        write_entry(folder, BUILDINGS, schema_version(BUILDINGS), ["buildings.parquet"], {})
    except (OSError, ValueError, TypeError) as exc:
        log.warning("Buildings not cached: cannot write %s (%s)", folder, exc)
    return made
