"""The typed ``manifest.json`` of a run folder: what the writer writes and every reader reads.

:func:`sitefinder.pipeline.build_manifest` makes a :class:`Manifest`;
:func:`write_manifest` writes it; :func:`sitefinder.io.runfolder.read_manifest`
validates a file back into one, so a bad or old manifest fails on read with one line
that names the file and the key. Free-form parts (the run's configuration and the
provenance of its sources, which differ per source kind) stay plain JSON objects.

>>> m = Manifest.model_validate(EXAMPLE)
>>> m.profiles["senioren"].weights["huisarts"]
0.6
>>> Manifest.model_validate_json(manifest_json(m)) == m
True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sitefinder.io.atomic import write_text_atomic

#: The file name inside a run folder.
MANIFEST_FILE = "manifest.json"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AHPEntry(_Strict):
    """Consistency of a profile's AHP table."""

    lambda_max: float
    ci: float
    cr: float


class ProfileEntry(_Strict):
    """What a run records about one profile (:meth:`~sitefinder.scoring.score.ProfileResult.manifest_entry`).

    Attributes
    ----------
    source : str
        ``built-in profile <name>`` or the profile file's absolute path.
    skipped : list of str
        Criteria and constraints the run could not score.
    weights : dict
        Weight of each scored criterion, normalised over the scored ones.
    eligible : int
        Plots passing every constraint.
    ahp, sensitivity, layers
        Present when the profile has an AHP table, ran the Monte Carlo analysis or
        declares layers (name -> file).
    """

    source: str
    skipped: list[str] = []
    weights: dict[str, float]
    eligible: int
    ahp: AHPEntry | None = None
    sensitivity: dict[str, Any] | None = None
    layers: dict[str, str] | None = None


class Counts(_Strict):
    """Sizes of the run's inputs."""

    plots: int
    amenities: dict[str, int]
    network_nodes: int


class NoiseEntry(_Strict):
    """The run's noise grid: modelled or official, and the modelled grid's GeoTIFF."""

    modelled: bool
    layer: str | None = None


class RoutesEntry(_Strict):
    """The run's walking routes (:class:`~sitefinder.datatypes.Routes`) as stored."""

    path: str
    categories: list[str]
    count: int


class Manifest(_Strict):
    """A run folder's ``manifest.json``.

    Layer paths (``noise.layer``, ``surfaces``) are relative to the run folder when the
    layers are inside it, else absolute; ``routes.path`` is relative to the run folder.
    """

    sitefinder_version: str
    format_version: int
    created: str
    working_crs: str
    config: dict[str, Any]
    sources: dict[str, Any]
    counts: Counts
    absent_from_data: list[str] = []
    profiles: dict[str, ProfileEntry]
    layers: dict[str, dict[str, Any]] = {}
    noise: NoiseEntry | None = None
    surfaces: dict[str, str] = {}
    routes: RoutesEntry | None = None

    def config_value(self, key: str, default: Any = None) -> Any:
        """A key of the run's configuration (``RunConfig`` as JSON), or ``default``."""
        return self.config.get(key, default)


def manifest_json(manifest: Manifest) -> str:
    """The file's text: the keys the writer set (an absent optional key stays absent), indent 1."""
    return json.dumps(manifest.model_dump(mode="json", exclude_unset=True), indent=1)


def write_manifest(manifest: Manifest, folder: Path) -> Path:
    """Write ``folder/manifest.json`` atomically; return its path."""
    path = Path(folder) / MANIFEST_FILE
    write_text_atomic(path, manifest_json(manifest))
    return path


def first_problem(exc: ValidationError) -> str:
    """``key 'profiles.senioren.weights': Input should be a valid dictionary`` (the first error)."""
    err = exc.errors()[0]
    key = ".".join(str(x) for x in err["loc"]) or "(top level)"
    return f"key {key!r}: {err['msg']}"


#: A small valid manifest (for the doctests).
EXAMPLE: dict[str, Any] = {
    "sitefinder_version": "0.1.0",
    "format_version": 1,
    "created": "2026-01-15T10:30:00+00:00",
    "working_crs": "EPSG:28992",
    "config": {"title": "Testgemeente"},
    "sources": {"osm": {"path": "/data/test.osm", "sha256": "ab" * 32}},
    "counts": {"plots": 2, "amenities": {"gp": 1}, "network_nodes": 10},
    "profiles": {
        "senioren": {
            "source": "built-in profile senioren",
            "weights": {"huisarts": 0.6, "ov": 0.4},
            "eligible": 2,
        }
    },
    "noise": None,
}
