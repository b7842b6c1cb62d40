"""GDAL's notes on a file (pyogrio passes them on as ``RuntimeWarning``) become one log line naming the file.

A user then reads "plots file x.shp: GDAL: Non closed ring detected ..." among
sitefinder's own lines, not a Python warning with a source path and line number.
Every other warning raised while reading is passed on unchanged (it is not hidden).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

log = logging.getLogger(__name__)


def _is_gdal_note(w: warnings.WarningMessage) -> bool:
    return issubclass(w.category, RuntimeWarning) and "pyogrio" in w.filename.replace("\\", "/")


@contextlib.contextmanager
def gdal_notes_logged(where: str) -> Iterator[None]:
    """Log GDAL's warnings while reading ``where`` (e.g. ``plots file x.gpkg``) as one line each.

    When the block raises, the notes are dropped: the error that follows says what is wrong.

    >>> import warnings
    >>> with gdal_notes_logged("plots file x.shp"):
    ...     warnings.warn_explicit("Non closed ring detected", RuntimeWarning, "pyogrio/raw.py", 200)
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if _is_gdal_note(w):
            text = str(w.message).splitlines()[0][:300] if str(w.message) else w.category.__name__
            log.warning("%s: GDAL: %s", where, text)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
