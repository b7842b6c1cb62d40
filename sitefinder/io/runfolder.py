"""Read a finished run folder (``scores.gpkg`` + ``manifest.json``) for follow-up commands.

``sitefinder select`` and ``sitefinder explain`` work on the results of an earlier
``sitefinder run`` without recomputing anything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
from pydantic import ValidationError
from pyogrio.errors import DataLayerError, DataSourceError

from sitefinder import RESULT_FORMAT_VERSION, __version__
from sitefinder.datatypes import Routes
from sitefinder.errors import RunFolderError, UnknownNameError
from sitefinder.io.atomic import atomic_path
from sitefinder.io.manifest import MANIFEST_FILE, Manifest, ProfileEntry, RoutesEntry, first_problem

log = logging.getLogger(__name__)

#: The walking routes in a run folder (GeoParquet).
ROUTES_FILE = "routes.parquet"
#: Streets, water and green around the plots for the memo's maps (GeoPackage; :mod:`sitefinder.render.memo`).
BASEMAP_FILE = "basemap.gpkg"


@dataclass(frozen=True)
class RunFolder:
    """A run's results.

    Attributes
    ----------
    path : pathlib.Path
        The folder.
    scores : geopandas.GeoDataFrame
        ``scores.gpkg``, indexed by ``plot_id`` (str), working CRS.
    manifest : Manifest
        ``manifest.json``, validated.

    The scores of one profile as a :class:`~sitefinder.scoring.score.ProfileResult`:
    :func:`sitefinder.scoring.score.run_profile_result` (this module reads, it does not score).
    """

    path: Path
    scores: gpd.GeoDataFrame
    manifest: Manifest

    @property
    def profile_names(self) -> list[str]:
        """Profiles scored in the run."""
        return list(self.manifest.profiles)

    def routes(self) -> Routes | None:
        """The walking routes stored with the run (None for a run folder made without them)."""
        entry = self.manifest.routes
        return None if entry is None else read_routes(self.path, entry)

    def profile_entry(self, name: str) -> ProfileEntry:
        """What the manifest records about one profile.

        Raises
        ------
        UnknownNameError
            When the run has no such profile (the message lists the run's profiles).
        """
        entry = self.manifest.profiles.get(name)
        if entry is None:
            msg = f"run folder {self.path}: no profile {name!r}; profiles in this run: {', '.join(self.profile_names)}"
            raise UnknownNameError(msg)
        return entry


def write_routes(routes: Routes, path: Path) -> None:
    """Write the routes as GeoParquet (working CRS), atomically."""
    with atomic_path(path) as tmp:
        routes.table.to_parquet(tmp, index=False)


def read_routes(folder: Path, entry: RoutesEntry) -> Routes:
    """The routes a manifest lists, read back.

    Raises
    ------
    RunFolderError
        When the file is missing or unreadable.
    """
    path = folder / entry.path
    try:
        table = gpd.read_parquet(path)
    except (OSError, ValueError) as exc:
        msg = f"run folder {folder}: {entry.path} cannot be read ({str(exc).splitlines()[0]}); re-run 'sitefinder run'"
        raise RunFolderError(msg) from None
    return Routes(categories=tuple(entry.categories), table=table)


def read_manifest(folder: Path) -> Manifest:
    """Read and check ``manifest.json`` of a run folder (present, JSON, this format version, valid).

    Raises
    ------
    RunFolderError
        Naming the folder, what is wrong and how to fix it.
    """
    man = folder / MANIFEST_FILE
    if not man.is_file():
        msg = (
            f"run folder {folder}: no results (manifest.json is missing); make them first with "
            f"'sitefinder run ... --out {folder}'"
        )
        raise RunFolderError(msg)
    try:
        data = json.loads(man.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"run folder {folder}: manifest.json is not readable JSON ({exc}); re-run 'sitefinder run'"
        raise RunFolderError(msg) from None
    if not isinstance(data, dict):
        msg = f"run folder {folder}: manifest.json is not a sitefinder manifest; re-run 'sitefinder run'"
        raise RunFolderError(msg)
    version = data.get("format_version")
    if version != RESULT_FORMAT_VERSION:
        made = data.get("sitefinder_version", "an unknown version")
        msg = (
            f"run folder {folder}: results have format version {version} (made by sitefinder {made}), "
            f"this sitefinder {__version__} reads version {RESULT_FORMAT_VERSION}; re-run "
            f"'sitefinder run ... --out {folder}' to refresh them"
        )
        raise RunFolderError(msg)
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        msg = f"run folder {folder}: manifest.json is not a valid manifest ({first_problem(exc)}); re-run 'sitefinder run ... --out {folder}'"
        raise RunFolderError(msg) from None


def read_run(path: str | Path) -> RunFolder:
    """Read ``scores.gpkg`` and ``manifest.json`` of a run folder.

    Raises
    ------
    RunFolderError
        When the folder or a file is missing or unreadable, or the results are of
        another format version.
    """
    folder = Path(path)
    if not folder.is_dir():
        msg = f"run folder {folder}: no such folder; give the --out folder of a 'sitefinder run'"
        raise RunFolderError(msg)
    manifest = read_manifest(folder)
    gpkg = folder / "scores.gpkg"
    if not gpkg.is_file():
        msg = (
            f"run folder {folder}: no results (scores.gpkg is missing); make them first with "
            f"'sitefinder run ... --out {folder}'"
        )
        raise RunFolderError(msg)
    try:
        scores = gpd.read_file(gpkg, layer="scores", engine="pyogrio")
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        msg = f"run folder {folder}: scores.gpkg cannot be read ({str(exc).splitlines()[0]}); re-run 'sitefinder run'"
        raise RunFolderError(msg) from None
    if "plot_id" not in scores.columns:
        msg = f"run folder {folder}: scores.gpkg has no plot_id column; re-run 'sitefinder run'"
        raise RunFolderError(msg)
    scores["plot_id"] = scores["plot_id"].astype(str)
    return RunFolder(path=folder, scores=scores.set_index("plot_id"), manifest=manifest)
