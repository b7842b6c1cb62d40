"""sitefinder: find and compare locations for housing-with-care (wonen en zorg) initiatives."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sitefinder.api import Result, Study
    from sitefinder.scoring.profiles import Profile

# A library logs, it does not configure logging: without a handler of the application's
# (the CLI installs one), sitefinder's records are dropped instead of reaching stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

#: Version of the result files (scores.gpkg/csv, manifest.json). Bump when columns change meaning.
RESULT_FORMAT_VERSION = 1

__all__ = ["RESULT_FORMAT_VERSION", "Profile", "Result", "Study", "__version__"]

_LAZY = {"Study": "sitefinder.api", "Result": "sitefinder.api", "Profile": "sitefinder.scoring.profiles"}


def __getattr__(name: str) -> Any:
    """``sf.Study``, ``sf.Result``, ``sf.Profile``: imported on first use (``import sitefinder`` stays light)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    msg = f"module 'sitefinder' has no attribute {name!r}"
    raise AttributeError(msg)
