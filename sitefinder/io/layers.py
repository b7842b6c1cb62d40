"""Load the vector layers that profiles declare (``[[layer]]``): read, check the CRS, project.

A green-blue network, a nature reserve, the existing facilities of a kind: any file
pyogrio reads. Loading belongs to the load stage; the overlay itself
(:mod:`sitefinder.indicators.overlay`) is a pure function of frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from pyogrio.errors import DataSourceError
from pyproj import CRS

from sitefinder.config import LayerSpec
from sitefinder.errors import CRSError, DataValidationError, InputFileError
from sitefinder.io.atomic import require_file, sha256_file
from sitefinder.io.gdalnotes import gdal_notes_logged
from sitefinder.io.localonly import check_local_only
from sitefinder.io.plots import READ_ERRORS, first_line, gml_options

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layer:
    """A declared layer, loaded.

    Attributes
    ----------
    spec : LayerSpec
        The declaration (name, path, label, source).
    geometry : geopandas.GeoSeries
        Valid, non-empty 2-D geometries in the working CRS.
    provenance : dict
        Path, SHA-256 and feature count.
    """

    spec: LayerSpec
    geometry: gpd.GeoSeries
    provenance: dict[str, Any]

    @property
    def name(self) -> str:
        """The layer's name (column stem)."""
        return self.spec.name


def read_layer(spec: LayerSpec, crs: CRS) -> Layer:
    """Read one declared layer into the working CRS.

    Raises
    ------
    InputFileError
        When the file is missing, unreadable, or lacks the named layer.
    CRSError
        When the file has no CRS (sitefinder never guesses one).
    DataValidationError
        When the layer holds no geometries.
    """
    path = require_file(spec.path, f"layer {spec.name!r} file")
    where = f"layer {spec.name!r} file {path}" + (f" layer {spec.layer!r}" if spec.layer else "")
    check_local_only(path, where)
    try:
        names = [n for n, _ in pyogrio.list_layers(path)]
    except (DataSourceError, OSError) as exc:
        msg = f"{where}: cannot be read as a vector file ({str(exc).splitlines()[0]})"
        raise InputFileError(msg) from None
    if spec.layer is not None and spec.layer not in names:
        msg = f"{where}: no such layer; layers in the file: {', '.join(names)}"
        raise InputFileError(msg)
    try:
        with gdal_notes_logged(where):
            gdf = gpd.read_file(
                path, layer=spec.layer or (names[0] if names else None), engine="pyogrio", **gml_options(path)
            )
    except READ_ERRORS as exc:
        msg = f"{where}: cannot be read ({first_line(exc)}); the file may be corrupt"
        raise InputFileError(msg) from None
    if gdf.crs is None:
        msg = f"{where}: has no CRS; set it in your GIS (e.g. EPSG:28992) and save again - sitefinder never guesses a CRS"
        raise CRSError(msg)
    geoms = gdf.geometry.to_crs(crs).to_numpy()
    geoms = shapely.force_2d(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        log.warning("%s: repaired %d invalid geometries with make_valid", where, int(bad.sum()))
        geoms[bad] = shapely.make_valid(geoms[bad])
    if len(geoms) == 0:
        msg = f"{where}: the layer has no geometries"
        raise DataValidationError(msg)
    log.info("Layer %s: %d features from %s", spec.name, len(geoms), path)
    prov = {"path": str(path), "layer": spec.layer, "sha256": sha256_file(path), "features": len(geoms)}
    return Layer(spec=spec, geometry=gpd.GeoSeries(geoms, crs=crs), provenance=prov)


def load_layers(specs: list[LayerSpec], crs: CRS) -> list[Layer]:
    """Read the declared layers (:func:`sitefinder.scoring.profiles.declared_layers`)."""
    return [read_layer(spec, crs) for spec in specs]
