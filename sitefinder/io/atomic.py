"""Atomic writes and input checks: outputs appear whole or not at all; inputs are never touched."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sitefinder.errors import InputFileError


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it over ``target`` only on success.

    The temporary file lives in the same folder, so the final ``os.replace`` is an
    atomic rename on the same file system. On any exception the temporary file is
    removed and ``target`` (a previous output, say) stays as it was.

    Parameters
    ----------
    target : pathlib.Path
        Final location of the file.

    Yields
    ------
    pathlib.Path
        A fresh path with the same suffix as ``target`` to write to.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # Some writers (GDAL) refuse to write over an existing empty file.
    tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` resolved, or raise a one-line error when it is not a readable file.

    Parameters
    ----------
    path : pathlib.Path
        The file a user named.
    what : str
        What the file is for (``"plots file"``, ``"OSM file"``), used in the message.
    """
    p = Path(path).expanduser()
    if not p.exists():
        msg = f"{what} {p}: no such file; check the path (relative paths are from {Path.cwd()})"
        raise InputFileError(msg)
    if p.is_dir():
        msg = f"{what} {p}: is a folder, not a file; name the file itself"
        raise InputFileError(msg)
    if not os.access(p, os.R_OK):
        msg = f"{what} {p}: not readable (permissions); fix the permissions or copy the file"
        raise InputFileError(msg)
    return p.resolve()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, as hex, for provenance and cache keys."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def staged_outputs(out_dir: Path) -> Iterator[Path]:
    """Yield a hidden staging folder inside ``out_dir``; move its files into ``out_dir`` on success.

    Everything a run writes goes to the staging folder first; only when all files
    are complete are they renamed into place, one ``os.replace`` each (files in a
    sub-folder such as ``layers/`` go into the same sub-folder of ``out_dir``). On
    failure the staging folder is removed and the previous outputs stay as they were.
    Staging folders that a killed run left behind are removed first.
    """
    from sitefinder.io.paths import remove_stale_staging, staging_prefix

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_dir)
    stage = Path(tempfile.mkdtemp(prefix=staging_prefix(), dir=out_dir))
    try:
        yield stage
        _move_tree(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _move_tree(src: Path, dst: Path) -> None:
    for f in sorted(src.iterdir()):
        if f.is_dir() and not f.is_symlink():
            target = dst / f.name
            target.mkdir(exist_ok=True)
            _move_tree(f, target)
        else:
            os.replace(f, dst / f.name)
