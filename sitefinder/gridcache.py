"""On-disk cache of modelled noise grids, keyed by everything that shapes them.

The key hashes :data:`SCHEMA`, the sitefinder version, the SHA-256 of the OSM
source, the noise source lines (geometry and sound power), the grid bounds, CRS,
model parameters and the source code of :mod:`sitefinder.noisemodel` (so a change
of the model, such as screening by buildings, never returns a stale grid). An
entry is verified on read (:mod:`sitefinder.io.cacheentry`) and rebuilt when it
fails.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from sitefinder import __version__
from sitefinder.datatypes import NoiseGrid
from sitefinder.io.atomic import atomic_path
from sitefinder.io.cacheentry import read_entry, write_entry

log = logging.getLogger(__name__)

#: Bump when the cached arrays change meaning or layout.
SCHEMA = 1
_FILE = "grid.npz"


def _code_hash(package: str) -> str:
    h = hashlib.sha256()
    for item in sorted(resources.files(package).iterdir(), key=lambda p: p.name):
        if item.name.endswith(".py"):
            h.update(item.name.encode())
            h.update(item.read_bytes())
    return h.hexdigest()


def grid_key(*parts: Any) -> str:
    """Hash of the key parts (bytes as they are, everything else as sorted JSON)."""
    h = hashlib.sha256()
    for p in (SCHEMA, __version__, _code_hash("sitefinder.noisemodel"), *parts):
        h.update(
            bytes(p)
            if isinstance(p, bytes | bytearray)
            else json.dumps(p, sort_keys=True, default=str).encode()
        )
        h.update(b"\x00")
    return h.hexdigest()[:20]


def _alias_path(cache_dir: Path, alias: str) -> Path:
    return Path(cache_dir) / "noise" / "by-input" / f"{alias}.json"


def read_alias(cache_dir: Path, alias: str) -> str | None:
    """The grid key recorded for the input key ``alias`` (see :func:`write_alias`), or None."""
    try:
        key = json.loads(_alias_path(cache_dir, alias).read_text("utf-8"))["grid_key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return key if isinstance(key, str) and key.isalnum() else None


def write_alias(cache_dir: Path, alias: str, key: str) -> None:
    """Record that the inputs of key ``alias`` give the grid of ``key``.

    ``alias`` hashes what the noise sources and screens are made from (the cut's
    feature and building files, by content), so a warm run finds the grid without
    computing the sources' sound power and the buildings' heights again; ``key`` hashes
    those sources and screens themselves, so other inputs that give the same sources
    share one grid.
    """
    try:
        with atomic_path(_alias_path(cache_dir, alias)) as tmp:
            tmp.write_text(json.dumps({"grid_key": key}), "utf-8")
    except OSError as exc:
        log.warning("Noise grid key not recorded: cannot write %s (%s)", _alias_path(cache_dir, alias), exc)


def load_grid(cache_dir: Path, key: str) -> NoiseGrid | None:
    """The cached grid of ``key``, or None when there is none or it fails its checks."""
    folder = Path(cache_dir) / "noise" / key
    meta = read_entry(folder, "noise-grid", SCHEMA)
    if meta is None:
        return None
    try:
        with np.load(folder / _FILE, allow_pickle=False) as z:
            grid = NoiseGrid(
                lden=z["lden"],
                transform=Affine(*z["transform"].tolist()),
                crs=CRS.from_user_input(meta["crs"]),
                lnight=z["lnight"] if "lnight" in z.files else None,
                modelled=bool(meta["modelled"]),
                provenance=meta["provenance"],
            )
    except (OSError, ValueError, KeyError) as exc:
        log.warning("Noise grid cache %s unreadable (%s); modelling again", folder, exc)
        return None
    log.info("Modelled noise grid (%d x %d cells) reused from cache %s", *grid.shape, folder)
    return grid


def cached_grid(cache_dir: Path, key: str, compute: Callable[[], NoiseGrid]) -> tuple[NoiseGrid, bool]:
    """The grid of ``key`` from ``cache_dir/noise/<key>``, else ``compute()`` (then cached).

    Returns
    -------
    grid, hit : NoiseGrid, bool
        The grid and whether it came from the cache.
    """
    cached = load_grid(cache_dir, key)
    if cached is not None:
        return cached, True
    folder = Path(cache_dir) / "noise" / key
    grid = compute()
    arrays: dict[str, np.ndarray] = {"lden": grid.lden, "transform": np.array(tuple(grid.transform)[:6])}
    if grid.lnight is not None:
        arrays["lnight"] = grid.lnight
    meta = {
        "crs": grid.crs.to_string(),
        "modelled": grid.modelled,
        "provenance": grid.provenance,
        "shape": list(grid.shape),
    }
    try:
        with atomic_path(folder / _FILE) as tmp, tmp.open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        write_entry(folder, "noise-grid", SCHEMA, [_FILE], meta)
    except (OSError, TypeError, ValueError) as exc:
        log.warning("Noise grid not cached: cannot write %s (%s)", folder, exc)
    return grid, False
