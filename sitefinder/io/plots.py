"""Load development plots from any vector file pyogrio reads, and validate them."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from sitefinder.errors import CRSError, DataValidationError, InputFileError, NoOverlapError
from sitefinder.io.atomic import require_file

log = logging.getLogger(__name__)

ID_CANDIDATES = ("plot_id", "id", "kavel_id", "perceel_id", "fid")


def read_plots(
    path: Path, crs: CRS, layer: str | None = None, id_column: str | None = None, repair: bool = True
) -> gpd.GeoDataFrame:
    """Read a plots layer, validate it and project it to the working CRS.

    Parameters
    ----------
    path : pathlib.Path
        GeoPackage, GeoJSON, Shapefile, FlatGeobuf, ... (anything pyogrio reads).
    crs : pyproj.CRS
        The working CRS.
    layer : str, optional
        Layer name, for multi-layer files (GeoPackage).
    id_column : str, optional
        Column with the plot ids; default the first of ``plot_id``, ``id``,
        ``kavel_id``, ``perceel_id``, ``fid`` present.
    repair : bool
        Repair invalid geometries with ``make_valid`` (warning with the ids);
        when False, refuse them with the ids.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``plot_id`` (str), polygons only, in ``crs``.
    """
    path = require_file(path, "plots file")
    where = f"plots file {path}" + (f" layer {layer!r}" if layer else "")
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, OSError) as exc:
        msg = f"plots file {path}: cannot be read as a vector file ({str(exc).splitlines()[0]}); check that it is a GeoPackage, GeoJSON, Shapefile or FlatGeobuf and not corrupt"
        raise InputFileError(msg) from None
    if layer is not None and layer not in layers:
        msg = f"plots file {path}: no layer {layer!r}; layers in the file: {', '.join(layers)}"
        raise InputFileError(msg)
    if layer is None and len(layers) > 1:
        log.warning(
            "%s has %d layers; reading the first, %r (use --plots-layer to choose)",
            path,
            len(layers),
            layers[0],
        )
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        msg = f"{where}: cannot be read ({str(exc).splitlines()[0]}); the file may be corrupt"
        raise InputFileError(msg) from None
    return prepare_plots(gdf, where, crs, id_column, repair)


def validate_geometries(gdf: gpd.GeoDataFrame, where: str, crs: CRS, repair: bool = True) -> gpd.GeoDataFrame:
    """Check plot geometries: present, polygonal, valid (or repaired), projected to ``crs``."""
    missing = gdf.index[gdf.geometry.isna() | gdf.geometry.is_empty].tolist()
    if missing:
        msg = (
            f"{where}: plots without geometry: {', '.join(map(str, missing[:10]))}; remove them or draw them"
        )
        raise DataValidationError(msg)
    gdf = gdf.copy()
    gdf.geometry = shapely.force_2d(gdf.geometry.to_numpy())
    invalid = gdf.index[~gdf.geometry.is_valid].tolist()
    if invalid:
        if not repair:
            msg = f"{where}: invalid geometries (e.g. self-intersections) for plots {', '.join(map(str, invalid[:10]))}; repair them or allow repair"
            raise DataValidationError(msg)
        fixed = shapely.make_valid(gdf.geometry.to_numpy())
        fixed = [_polygonal_part(g) for g in fixed]
        gdf.geometry = fixed
        log.warning(
            "%s: repaired %d invalid geometries with make_valid: %s",
            where,
            len(invalid),
            ", ".join(map(str, invalid[:10])),
        )
    not_poly = gdf.index[~gdf.geom_type.isin(["Polygon", "MultiPolygon"])].tolist()
    if not_poly:
        msg = f"{where}: plots must be polygons; these are not: {', '.join(map(str, not_poly[:10]))}"
        raise DataValidationError(msg)
    if gdf.crs.is_geographic or not gdf.crs.equals(crs):
        gdf = gdf.to_crs(crs)
    return gdf


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(polys) if polys else geom
    return geom


def check_overlap(plots: gpd.GeoDataFrame, area: shapely.Geometry, what: str) -> None:
    """Raise when no plot overlaps ``area``; warn with ids for plots outside it."""
    inside = plots.geometry.intersects(area)
    if not inside.any():
        b = tuple(round(v) for v in plots.total_bounds)
        a = tuple(round(v) for v in area.bounds)
        msg = f"plots do not overlap the {what} (plots {b}, {what} {a} in {plots.crs.to_string()}); use plots and data of the same region"
        raise NoOverlapError(msg)
    outside = plots.index[~inside].tolist()
    if outside:
        log.warning("%d plots lie outside the %s: %s", len(outside), what, ", ".join(map(str, outside[:10])))


def read_area(path: Path, crs: CRS) -> shapely.Geometry:
    """Read a study-area outline (any vector file, any CRS, Z dropped) as one geometry in ``crs``."""
    path = require_file(path, "study area file")
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        msg = f"study area file {path}: cannot be read ({str(exc).splitlines()[0]}); the file may be corrupt"
        raise InputFileError(msg) from None
    if gdf.crs is None:
        msg = f"study area file {path}: has no CRS; set it and save again"
        raise CRSError(msg)
    polys = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        msg = f"study area file {path}: contains no polygon; give the outline of the area"
        raise DataValidationError(msg)
    geom = shapely.force_2d(polys.to_crs(crs).union_all())
    return shapely.make_valid(geom)


def prepare_plots(
    gdf: gpd.GeoDataFrame, where: str, crs: CRS, id_column: str | None = None, repair: bool = True
) -> gpd.GeoDataFrame:
    """Validate plots read from a file or given as a GeoDataFrame, and project them to ``crs``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The plots; the id may be a column or (when named ``plot_id``) the index.
    where : str
        Names the plots in messages (``plots file x.gpkg``, ``plots GeoDataFrame``).
    crs : pyproj.CRS
        The working CRS.
    id_column : str, optional
        Column with the plot ids; default the first of ``plot_id``, ``id``,
        ``kavel_id``, ``perceel_id``, ``fid`` present.
    repair : bool
        Repair invalid geometries (warning with the ids) or refuse them.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``plot_id`` (str), polygons only, in ``crs``.
    """
    if id_column is None and gdf.index.name in ID_CANDIDATES and gdf.index.name not in gdf.columns:
        gdf = gdf.reset_index()
    if gdf.crs is None:
        msg = f"{where}: has no CRS; set it in your GIS (e.g. EPSG:28992 for RD New) and save again - sitefinder never guesses a CRS"
        raise CRSError(msg)
    if len(gdf) == 0:
        msg = f"{where}: the layer is empty; it must contain at least one plot polygon"
        raise DataValidationError(msg)
    if id_column is None:
        id_column = next((c for c in ID_CANDIDATES if c in gdf.columns), None)
        if id_column is None:
            msg = f"{where}: no id column found (looked for {', '.join(ID_CANDIDATES)}); name it with --plots-id COLUMN"
            raise DataValidationError(msg)
    elif id_column not in gdf.columns:
        cols = [c for c in gdf.columns if c != "geometry"]
        msg = f"{where}: no column {id_column!r}; columns: {', '.join(cols)}"
        raise DataValidationError(msg)
    ids = gdf[id_column]
    if ids.isna().any():
        rows = [int(i) + 1 for i in gdf.index[ids.isna()][:10]]
        msg = f"{where}: column {id_column!r} is empty in rows {rows}; give every plot an id"
        raise DataValidationError(msg)
    ids = ids.astype(str).str.strip()
    dup = ids[ids.duplicated(keep=False)].unique().tolist()
    if dup:
        msg = f"{where}: duplicate plot ids in column {id_column!r}: {', '.join(dup[:10])}; make them unique"
        raise DataValidationError(msg)
    gdf = gdf.drop(columns=[id_column]).assign(plot_id=ids.to_numpy()).set_index("plot_id")
    if "plot_id" in gdf.columns:
        gdf = gdf.drop(columns="plot_id")
    return validate_geometries(gdf, where, crs, repair)


def frame_sha256(gdf: gpd.GeoDataFrame) -> str:
    """SHA-256 of a GeoDataFrame's content: CRS, index, attributes and geometry (WKB)."""
    h = hashlib.sha256()
    h.update((gdf.crs.to_wkt() if gdf.crs is not None else "").encode())
    h.update(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).to_csv().encode())
    for wkb in shapely.to_wkb(gdf.geometry.to_numpy()):
        h.update(wkb or b"")
    return h.hexdigest()
