"""One exception hierarchy for sitefinder.

Every error a user can cause derives from :class:`SitefinderError`. Subclasses
also inherit the fitting builtin, so callers may catch either (the pattern of
rasterio's ``RasterioIOError(RasterioError, OSError)``). Messages are one line:
what is wrong, the value found, and how to fix it. The command line turns any
``SitefinderError`` into that line on stderr and exit status 2.
"""

from __future__ import annotations


class SitefinderError(Exception):
    """Root of all errors raised deliberately by sitefinder."""


class InputFileError(SitefinderError, OSError):
    """An input file is missing, unreadable or corrupt."""


class CRSError(SitefinderError, ValueError):
    """A dataset has no CRS, or an unusable one (for example geographic where metres are needed)."""


class DataValidationError(SitefinderError, ValueError):
    """Input data is readable but not valid (empty layer, duplicate ids, bad geometry, ...)."""


class NoOverlapError(SitefinderError, ValueError):
    """Two datasets that must overlap (plots and OSM area, plots and noise raster) do not."""


class ConfigError(SitefinderError, ValueError):
    """A configuration, profile or region file is invalid."""


class UnknownNameError(SitefinderError, KeyError):
    """A named preset (profile, category, class scheme, region) does not exist.

    ``KeyError`` quotes its message when printed; ``__str__`` is overridden so the
    one-line message reads as written.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DownloadError(SitefinderError, OSError):
    """An online source (Overpass, Nominatim, PDOK, Geofabrik) could not be reached or answered badly."""


class RunFolderError(SitefinderError, ValueError):
    """A run folder is missing results, or holds results of another format version."""
