"""On-disk cache of rendered pieces of a run folder, keyed by the content they are drawn from.

A warm run (the same inputs again) draws the same offline background, the same
noise and surface images and writes the same noise GeoTIFF and ``basemap.gpkg``;
these pieces are kept here instead of being drawn or written again. Each key is a
:class:`~sitefinder.surfacecache.KeyHash` of the product's schema version
(:mod:`sitefinder.products`), the source code that makes it and the content of its
inputs (array bytes, geometries, parameters), so a change of any of them misses.

Layout: ``render/<kind>/<key>/`` with the product's files and ``entry.json``
(:mod:`sitefinder.io.cacheentry`: sizes and SHA-256 verified on read; an entry
that fails, or whose schema differs, is rebuilt, never trusted).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sitefinder.io.atomic import atomic_path
from sitefinder.io.cacheentry import read_entry, write_entry
from sitefinder.products import schema_version

log = logging.getLogger(__name__)

_VALUE = "value.json"
_BYTES = "data.bin"


def _folder(cache_dir: Path, kind: str, key: str) -> Path:
    return Path(cache_dir) / "render" / kind / key


def _store(folder: Path, kind: str, write: Callable[[Path], bool], name: str, meta: dict[str, Any]) -> None:
    """Write one file with ``write(path)`` (False: nothing to keep) and seal the entry."""
    try:
        with atomic_path(folder / name) as tmp:
            kept = write(tmp)
            if not kept:
                tmp.write_bytes(b"")
        write_entry(folder, kind, schema_version(kind), [name], {**meta, "empty": not kept})
    except (OSError, TypeError, ValueError) as exc:
        log.warning("%s not cached: cannot write %s (%s)", kind, folder, exc)


def cached_value(cache_dir: Path | None, kind: str, key: str, compute: Callable[[], Any]) -> Any:
    """The JSON value of ``key`` from the cache, else ``compute()`` (then cached).

    Parameters
    ----------
    cache_dir : pathlib.Path or None
        The run's cache folder (None: computed, not cached).
    kind : str
        Product kind, a key of :data:`sitefinder.products.SCHEMA_VERSIONS`.
    key : str
        Content key of the value.
    compute : callable
        Makes the value (JSON-serialisable; lists come back as lists).
    """
    if cache_dir is None:
        return compute()
    folder = _folder(cache_dir, kind, key)
    if read_entry(folder, kind, schema_version(kind)) is not None:
        try:
            value = json.loads((folder / _VALUE).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Cache entry %s unreadable (%s); making it again", folder, exc)
        else:
            log.debug("%s reused from cache %s", kind, folder)
            return value
    value = compute()
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    _store(folder, kind, lambda p: p.write_text(text, "utf-8") >= 0, _VALUE, {})
    return value


def cached_bytes(
    cache_dir: Path | None, kind: str, key: str, compute: Callable[[], tuple[bytes, Any]]
) -> tuple[bytes, Any]:
    """``(data, meta)`` of ``key`` from the cache, else ``compute()`` (then cached).

    ``meta`` is any JSON value kept beside the bytes (an image's bounds, say).
    """
    if cache_dir is None:
        return compute()
    folder = _folder(cache_dir, kind, key)
    meta = read_entry(folder, kind, schema_version(kind))
    if meta is not None:
        try:
            data = (folder / _BYTES).read_bytes()
        except OSError as exc:
            log.warning("Cache entry %s unreadable (%s); making it again", folder, exc)
        else:
            log.debug("%s reused from cache %s", kind, folder)
            return data, meta.get("value")
    data, value = compute()
    _store(folder, kind, lambda p: p.write_bytes(data) >= 0, _BYTES, {"value": value})
    return data, value


def cached_file(
    cache_dir: Path | None, kind: str, key: str, target: Path, write: Callable[[Path], Path | None]
) -> Path | None:
    """Put the file of ``key`` at ``target``: a copy from the cache, else ``write(target)`` (then cached).

    ``write`` writes the file at the path it is given and returns it, or returns None
    when there is nothing to write (remembered too: a hit then writes nothing either).

    Returns
    -------
    pathlib.Path or None
        ``target``, or None when there was nothing to write.
    """
    target = Path(target)
    if cache_dir is None:
        return write(target)
    folder = _folder(cache_dir, kind, key)
    meta = read_entry(folder, kind, schema_version(kind))
    if meta is not None:
        if meta.get("empty"):
            return None
        try:
            with atomic_path(target) as tmp:
                shutil.copyfile(folder / _BYTES, tmp)
        except OSError as exc:
            log.warning("Cache entry %s unreadable (%s); writing the file again", folder, exc)
        else:
            log.debug("%s copied from cache %s", kind, folder)
            return target
    written = write(target)

    def keep(tmp: Path) -> bool:
        if written is None:
            return False
        shutil.copyfile(written, tmp)
        return True

    _store(folder, kind, keep, _BYTES, {})
    return written
