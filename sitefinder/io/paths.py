"""Names that become paths, and where a run may write.

Category, profile, region and layer names end up in file names (cache files, layers,
region files), and a place name becomes the default output folder. A name such as
``../../victim/x`` must never leave the folder it is meant for, so names are checked
against one safe pattern and defaults derived from free text are slugged.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import unicodedata
from pathlib import Path

from sitefinder.errors import ConfigError

log = logging.getLogger(__name__)

#: Names that become file or column names: lower case letter first, then letters,
#: digits, ``_`` or ``-``; at most 64 characters.
SAFE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
#: Amenity categories also become column names (``dist_<name>_m``): no ``-``.
SAFE_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def check_name(name: str, what: str, where: str, pattern: re.Pattern[str] = SAFE_NAME) -> str:
    """Return ``name`` when it matches ``pattern``; else raise a one-line :class:`ConfigError`.

    >>> check_name("prikkelarm", "profile", "x.toml")
    'prikkelarm'
    """
    if not isinstance(name, str) or not pattern.fullmatch(name):
        allowed = "lower case letters, digits and _" + ("" if pattern is SAFE_COLUMN_NAME else " or -")
        msg = (
            f"{where}: {what} name {str(name)[:80]!r} is not allowed; use {allowed}, starting with a "
            f"letter (it becomes a file name)"
        )
        raise ConfigError(msg)
    return name


def slug(text: str, fallback: str = "run") -> str:
    """A folder name made from free text (a place name): ``"Den Bosch, NB"`` -> ``"den-bosch-nb"``.

    >>> slug("../../x, Flevoland"), slug("’s-Hertogenbosch"), slug("..")
    ('x-flevoland', 's-hertogenbosch', 'run')
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64].strip("-")
    return s or fallback


def check_output_folder(path: Path, what: str, option: str) -> Path:
    """Refuse an output folder that is an existing file (before any work is done)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        msg = f"{what} {p}: is an existing file, not a folder; give a folder with {option}"
        raise ConfigError(msg)
    for parent in p.parents:
        if parent.exists() and not parent.is_dir():
            msg = f"{what} {p}: {parent} is a file, not a folder; give another folder with {option}"
            raise ConfigError(msg)
    return p


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies inside ``folder`` (both resolved; ``..`` and links followed)."""
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def staging_prefix() -> str:
    """Prefix of this process's staging folders: ``.staging-<pid>-``."""
    return f".staging-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(folder: Path, max_age_s: float = 24 * 3600) -> list[Path]:
    """Remove ``.staging-*`` folders a killed run left in ``folder``; return what was removed.

    A staging folder is stale when the process named in it (``.staging-<pid>-...``) is
    gone, or it has no process id (older versions), or it is older than ``max_age_s``.
    Folders of a run that is still going are left alone.
    """
    removed: list[Path] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    now = time.time()
    for p in folder.glob(".staging-*"):
        if not p.is_dir() or p.is_symlink():
            continue
        m = re.match(r"^\.staging-(\d+)-", p.name)
        try:
            old = now - p.stat().st_mtime > max_age_s
        except OSError:
            continue
        if m is None or old or not _alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    if removed:
        log.info("Removed %d staging folder(s) left by an interrupted run in %s", len(removed), folder)
    return removed


def read_toml_text(path: Path, what: str) -> str:
    """The text of a TOML file, or a one-line :class:`ConfigError` (unreadable, not UTF-8).

    TOML files are UTF-8 by definition; a file saved as Latin-1 or UTF-16 by an editor
    gets a message saying where the first bad byte is and how to fix it.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        msg = f"{what} {p}: cannot read it ({exc.strerror or exc}); check the path"
        raise ConfigError(msg) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = (
            f"{what} {p}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save the file as UTF-8"
        )
        raise ConfigError(msg) from None
