"""On-disk cache of the indicator stage: the plot indicator table, the snapped access points and the routes.

A warm run (the same network, plots, amenities, nuisance sources, noise, neighbourhoods
and settings) reads what :func:`sitefinder.pipeline.indicator_stage` computed before
instead of snapping, searching and routing again. The key hashes, as content: the
walking network's cache key (itself a content key), the other mobilities, the plots,
amenities, nuisance sources, noise grid, data area, neighbourhoods and residential
land, every category definition, the parameters, the schema version of the
``indicators`` product (:mod:`sitefinder.products`) and the source code of the
modules that compute indicators and routes.

Kept: the indicator table (``table.parquet``), the routes (``routes.parquet``), the
snapped plot and amenity access points of every network and the edge factors of the
other mobilities' networks (``access.npz``), the accessibility table of every network
(``access_<network>.parquet``), and in ``entry.json`` the unreachable
amenities, what the run's sources record about the computation and the warnings it
logged (repeated on a hit, so a warm run warns as the cold one did). The node
distances stay in :mod:`sitefinder.netcache`. Verified on read
(:mod:`sitefinder.io.cacheentry`); an entry that fails, or whose schema differs, is
rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from sitefinder.datatypes import Routes, StudyData
from sitefinder.io.atomic import atomic_path
from sitefinder.io.cacheentry import read_entry, write_entry
from sitefinder.network import Snap
from sitefinder.products import schema_version
from sitefinder.surfacecache import KeyHash, code_hash

log = logging.getLogger(__name__)

KIND = "indicators"
_FILES = ("table.parquet", "routes.parquet", "access.npz")
_SNAP_FIELDS = ("owner", "edge", "along", "offset")

#: Modules and packages whose code shapes the indicators and routes (hashed into the key).
CODE = (
    ("sitefinder.indicators", None),
    ("sitefinder", "network.py"),
    ("sitefinder", "mobility.py"),
    ("sitefinder", "routes.py"),
    ("sitefinder", "coverage.py"),
    ("sitefinder", "categories.py"),
    ("sitefinder", "netcache.py"),
    ("sitefinder", "indicatorcache.py"),
)


def indicator_key(
    data: StudyData, registry: Any, mobilities: tuple[str, ...], params: Mapping[str, Any], code: str
) -> str | None:
    """The cache key of the indicator stage of ``data``; None without a network key (nothing to key on).

    Parameters
    ----------
    data : StudyData
        The loaded inputs.
    registry : CategoryRegistry
        The amenity categories.
    mobilities : tuple of str
        The networks besides walking.
    params : mapping
        The run's parameters that shape indicators (snapping, counts, noise threshold).
    code : str
        More code that shapes them (the pipeline's stage functions), as text.
    """
    if data.network_key is None:
        return None
    k = KeyHash().add("schema", schema_version(KIND)).add("code", code_hash(CODE)).add("stage", code)
    k.add("network", data.network_key).add("mobilities", list(mobilities)).add("params", dict(params))
    k.add("crs", data.crs.to_wkt()).add("categories", [c.model_dump(mode="json") for c in registry])
    k.frame("plots", data.plots).add("plot_index", [str(i) for i in data.plots.index])
    k.frame("amenities", data.amenities).frame("nuisance", data.nuisance)
    if data.noise is None:
        k.add("noise", None)
    else:
        k.add("noise.lden", np.asarray(data.noise.lden))
        k.add("noise.lnight", None if data.noise.lnight is None else np.asarray(data.noise.lnight))
        k.add("noise.transform", list(tuple(data.noise.transform)[:6])).add(
            "noise.crs", data.noise.crs.to_wkt()
        )
    k.add("data_area_known", data.data_area is not None)
    if data.data_area is not None:
        k.geometry("data_area", data.data_area)
    for name in ("neighbourhoods", "residential"):
        frame = getattr(data, name)
        k.add(f"{name}.known", frame is not None)
        if frame is not None:
            k.frame(name, frame).add(f"{name}.index", [str(i) for i in frame.index])
    return k.hexdigest()


@dataclass(frozen=True)
class CachedIndicators:
    """What the indicator stage keeps (see the module docstring).

    Attributes
    ----------
    table : pandas.DataFrame
        The plot indicator table.
    routes : Routes
        The walking routes.
    snaps : dict
        Network (``walk`` or a mobility) -> ``{"plots": Snap, "<category>": Snap, ...}``.
    access_tables : dict
        Network -> the accessibility table on it (:attr:`AccessResult.table`).
    unreachable : dict
        Network -> category -> ``osm_id`` of the amenities left out.
    factors : dict
        Mobility -> edge factor per walking-network edge.
    sources : dict
        What the computation recorded in the run's sources (``mobility``, ...).
    warnings : list
        ``[logger name, level, message]`` of every warning the computation logged.
    """

    table: pd.DataFrame
    routes: Routes
    snaps: dict[str, dict[str, Snap]]
    access_tables: dict[str, pd.DataFrame]
    unreachable: dict[str, dict[str, list[str]]]
    factors: dict[str, np.ndarray]
    sources: dict[str, Any]
    warnings: list[list[Any]]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[list[Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append([record.name, record.levelno, record.getMessage()])


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[list[Any]]]:
    """Collect the warnings sitefinder logs inside the block (they are logged as usual too)."""
    handler = _Collect()
    logger = logging.getLogger("sitefinder")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def replay(warnings: list[list[Any]]) -> None:
    """Log the warnings a cached computation logged, with their loggers and levels."""
    for name, level, message in warnings:
        logging.getLogger(str(name)).log(int(level), "%s", message)


def load(cache_dir: Path, key: str) -> CachedIndicators | None:
    """The cached indicator stage of ``key``, or None when there is none or it fails its checks."""
    folder = Path(cache_dir) / KIND / key
    meta = read_entry(folder, KIND, schema_version(KIND))
    if meta is None:
        return None
    try:
        table = pd.read_parquet(folder / "table.parquet")
        routes = Routes(
            tuple(meta["route_categories"]), _text_as_object(gpd.read_parquet(folder / "routes.parquet"))
        )
        snaps: dict[str, dict[str, Snap]] = {}
        factors: dict[str, np.ndarray] = {}
        with np.load(folder / "access.npz", allow_pickle=False) as z:
            for net, names in meta["snaps"].items():
                snaps[net] = {n: Snap(*(z[f"{net}|{n}|{f}"] for f in _SNAP_FIELDS)) for n in names}
            for mob in meta["factors"]:
                factors[mob] = z[f"factor|{mob}"]
        tables = {net: pd.read_parquet(folder / f"access_{net}.parquet") for net in meta["snaps"]}
        found = CachedIndicators(
            table, routes, snaps, tables, meta["unreachable"], factors, meta["sources"], meta["warnings"]
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Indicator cache %s unreadable (%s); computing the indicators again", folder, exc)
        return None
    log.info("Indicators of %d plots (and their routes) reused from cache %s", len(table), folder)
    return found


def _text_as_object(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Text columns as the route table has them (object, None where missing), not as pandas' string type."""
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.StringDtype):
            values = frame[col].astype(object)
            frame[col] = values.where(values.notna(), None)
    return frame


def save(cache_dir: Path, key: str, found: CachedIndicators) -> None:
    """Keep ``found`` under ``key`` (a failure to write is logged, never raised)."""
    folder = Path(cache_dir) / KIND / key
    arrays: dict[str, np.ndarray] = {}
    for net, by_name in found.snaps.items():
        for n, snap in by_name.items():
            for field in _SNAP_FIELDS:
                arrays[f"{net}|{n}|{field}"] = np.asarray(getattr(snap, field))
    for mob, factor in found.factors.items():
        arrays[f"factor|{mob}"] = np.asarray(factor)
    meta = {
        "route_categories": list(found.routes.categories),
        "snaps": {net: list(by_name) for net, by_name in found.snaps.items()},
        "factors": list(found.factors),
        "unreachable": found.unreachable,
        "sources": found.sources,
        "warnings": found.warnings,
    }
    try:
        with atomic_path(folder / "table.parquet") as tmp:
            found.table.to_parquet(tmp)
        with atomic_path(folder / "routes.parquet") as tmp:
            found.routes.table.to_parquet(tmp)
        with atomic_path(folder / "access.npz") as tmp, tmp.open("wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        for net, frame in found.access_tables.items():
            with atomic_path(folder / f"access_{net}.parquet") as tmp:
                frame.to_parquet(tmp)
        files = [*_FILES, *(f"access_{net}.parquet" for net in found.access_tables)]
        write_entry(folder, KIND, schema_version(KIND), files, meta)
    except (OSError, TypeError, ValueError) as exc:
        log.warning("Indicators not cached: cannot write %s (%s)", folder, exc)
