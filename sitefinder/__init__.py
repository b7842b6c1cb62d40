"""sitefinder: find and compare locations for housing-with-care (wonen en zorg) initiatives."""

from __future__ import annotations

import logging

# A library logs, it does not configure logging: without a handler of the application's
# (the CLI installs one), sitefinder's records are dropped instead of reaching stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

#: Version of the result files (scores.gpkg/csv, manifest.json). Bump when columns change meaning.
RESULT_FORMAT_VERSION = 1

__all__ = ["RESULT_FORMAT_VERSION", "__version__"]
