"""Verified cache entries: a folder of product files plus ``entry.json``.

``entry.json`` records the product kind, its schema version, the sitefinder
version, free metadata and the size and SHA-256 of every file. An entry is used
only when all of that checks out on read; otherwise it is reported and rebuilt,
never trusted. ``entry.json`` is written last (atomically), so an entry whose
writing broke off has none and counts as absent.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sitefinder import __version__
from sitefinder.io.atomic import sha256_file, write_text_atomic

log = logging.getLogger(__name__)

ENTRY_FILE = "entry.json"


def write_entry(folder: Path, kind: str, schema: int, files: list[str], meta: dict[str, Any]) -> None:
    """Seal the entry in ``folder``: record the files' sizes and hashes, then write ``entry.json``.

    Parameters
    ----------
    folder : pathlib.Path
        The entry's folder (the files are already written there, each atomically).
    kind : str
        Product kind (``"osm-cut"``, ``"network"``, ...).
    schema : int
        Schema version of the kind.
    files : list of str
        Names of the entry's files in ``folder``.
    meta : dict
        JSON-serialisable metadata returned by :func:`read_entry`.
    """
    folder = Path(folder)
    record = {
        "kind": kind,
        "schema": schema,
        "sitefinder_version": __version__,
        "files": {
            name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
            for name in files
        },
        "meta": meta,
    }
    write_text_atomic(folder / ENTRY_FILE, json.dumps(record, indent=1, default=str))


def read_entry(folder: Path, kind: str, schema: int) -> dict[str, Any] | None:
    """The entry's metadata when ``folder`` holds a sound entry of ``kind`` and ``schema``, else None.

    A missing entry returns None quietly; a broken one (unreadable ``entry.json``,
    other kind or schema, a file missing or with another size or hash) is logged
    with the reason and returns None, so the caller rebuilds it.
    """
    folder = Path(folder)
    path = folder / ENTRY_FILE
    if not path.exists():
        return None
    reason: str | None
    try:
        record = json.loads(path.read_text("utf-8"))
        if record.get("kind") != kind or record.get("schema") != schema:
            reason = (
                f"kind {record.get('kind')!r} schema {record.get('schema')!r}, expected {kind!r} {schema}"
            )
        else:
            reason = _check_files(folder, record["files"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = f"unreadable entry ({exc})"
    if reason:
        log.warning("Cache entry %s not used: %s; rebuilding it", folder, reason)
        return None
    meta: dict[str, Any] = record.get("meta", {})
    return meta


def _check_files(folder: Path, files: dict[str, Any]) -> str | None:
    for name, want in files.items():
        p = folder / name
        if not p.is_file():
            return f"{name} is missing"
        size = p.stat().st_size
        if size != want["bytes"]:
            return f"{name} has {size} bytes, expected {want['bytes']}"
        if sha256_file(p) != want["sha256"]:
            return f"{name} does not match its recorded SHA-256"
    return None


def entry_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of each file of the entry in ``folder`` as recorded in its ``entry.json`` ({} when unreadable).

    Call it after :func:`read_entry` accepted the entry (which checked the files against these).
    """
    try:
        record = json.loads((Path(folder) / ENTRY_FILE).read_text("utf-8"))
        return {str(name): str(f["sha256"]) for name, f in record["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
