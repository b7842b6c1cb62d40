"""Read a finished run folder (``scores.gpkg`` + ``manifest.json``) for follow-up commands.

``sitefinder select`` and ``sitefinder explain`` work on the results of an earlier
``sitefinder run`` without recomputing anything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
from pyogrio.errors import DataLayerError, DataSourceError

from sitefinder import RESULT_FORMAT_VERSION, __version__
from sitefinder.errors import RunFolderError, UnknownNameError
from sitefinder.scoring.profiles import load_profile
from sitefinder.scoring.score import ProfileResult, result_from_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunFolder:
    """A run's results.

    Attributes
    ----------
    path : pathlib.Path
        The folder.
    scores : geopandas.GeoDataFrame
        ``scores.gpkg``, indexed by ``plot_id`` (str), working CRS.
    manifest : dict
        ``manifest.json``.
    """

    path: Path
    scores: gpd.GeoDataFrame
    manifest: dict[str, Any]

    @property
    def profile_names(self) -> list[str]:
        """Profiles scored in the run."""
        return list(self.manifest.get("profiles", {}))

    def profile_result(self, name: str) -> ProfileResult:
        """The scores of one profile, with the profile it was scored with.

        Raises
        ------
        UnknownNameError
            When the run has no such profile (the message lists the run's profiles).
        """
        entry = self.manifest.get("profiles", {}).get(name)
        if entry is None:
            msg = f"run folder {self.path}: no profile {name!r}; profiles in this run: {', '.join(self.profile_names)}"
            raise UnknownNameError(msg)
        source = str(entry.get("source", name))
        prof = load_profile(source.removeprefix("built-in profile ")) if source.startswith("built-in") else \
            load_profile(source)  # fmt: skip
        weights = entry.get("weights") or None
        return result_from_table(self.scores.drop(columns="geometry"), prof, weights)


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read and check ``manifest.json`` of a run folder (present, JSON, this format version).

    Raises
    ------
    RunFolderError
        Naming the folder, what is wrong and how to fix it.
    """
    man = folder / "manifest.json"
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
    return data


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
