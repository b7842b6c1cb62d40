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
from pyogrio.errors import DataSourceError

from sitefinder import RESULT_FORMAT_VERSION
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


def read_run(path: str | Path) -> RunFolder:
    """Read ``scores.gpkg`` and ``manifest.json`` of a run folder.

    Raises
    ------
    RunFolderError
        When the folder, a file, or the expected format version is missing.
    """
    folder = Path(path)
    man_path = folder / "manifest.json"
    gpkg = folder / "scores.gpkg"
    for f in (man_path, gpkg):
        if not f.is_file():
            msg = f"run folder {folder}: no {f.name}; give the --out folder of a finished 'sitefinder run'"
            raise RunFolderError(msg)
    try:
        manifest = json.loads(man_path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f"run folder {folder}: manifest.json is not valid JSON ({exc}); run 'sitefinder run' again"
        raise RunFolderError(msg) from None
    version = manifest.get("format_version")
    if version != RESULT_FORMAT_VERSION:
        msg = (f"run folder {folder}: results of format version {version}, this sitefinder reads "
               f"version {RESULT_FORMAT_VERSION}; run 'sitefinder run' again")  # fmt: skip
        raise RunFolderError(msg)
    try:
        scores = gpd.read_file(gpkg, layer="scores", engine="pyogrio")
    except (DataSourceError, OSError, ValueError) as exc:
        msg = f"run folder {folder}: scores.gpkg cannot be read ({str(exc).splitlines()[0]})"
        raise RunFolderError(msg) from None
    scores["plot_id"] = scores["plot_id"].astype(str)
    return RunFolder(path=folder, scores=scores.set_index("plot_id"), manifest=manifest)
