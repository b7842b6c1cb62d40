"""Load development plots from any vector file pyogrio reads, and validate them."""

from __future__ import annotations

import csv
import hashlib
import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from sitefinder.errors import CRSError, DataValidationError, InputFileError, NoOverlapError
from sitefinder.io.atomic import require_file
from sitefinder.io.gdalnotes import gdal_notes_logged
from sitefinder.io.localonly import check_local_only

log = logging.getLogger(__name__)

ID_CANDIDATES = ("plot_id", "id", "kavel_id", "perceel_id", "fid")


def read_plots(
    path: Path,
    crs: CRS,
    layer: str | None = None,
    id_column: str | None = None,
    repair: bool = True,
    file_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a plots layer, validate it and project it to the working CRS.

    Parameters
    ----------
    path : pathlib.Path
        GeoPackage, GeoJSON, Shapefile, FlatGeobuf, ... (anything pyogrio reads), or a
        CSV file with a WKT geometry column (``wkt``, ``geometry``, ``geom``).
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
    file_crs : str, optional
        The CRS of the file's coordinates (``--plots-crs``): needed for a CSV, and
        overrides a wrong one in the file (a GeoJSON holding RD New metres, say).

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``plot_id`` (str), polygons or points, in ``crs``.
    """
    path = require_file(path, "plots file")
    check_local_only(path, "plots file")
    where = f"plots file {path}" + (f" layer {layer!r}" if layer else "")
    if path.suffix.lower() in CSV_SUFFIXES:
        gdf = read_csv_plots(path, file_crs)
    else:
        gdf = _read_vector(path, layer, where)
        if file_crs is not None:
            given = parse_crs(file_crs, "--plots-crs")
            if gdf.crs is not None and not gdf.crs.equals(given):
                log.warning(
                    "%s: CRS %s in the file replaced by --plots-crs %s", where, gdf.crs.to_string(), file_crs
                )
            gdf = gdf.set_crs(given, allow_override=True)
    return prepare_plots(gdf, where, crs, id_column, repair)


#: What GDAL, pyogrio and shapely raise on a file that opens but cannot be read whole.
READ_ERRORS = (
    DataSourceError,
    DataLayerError,
    OSError,
    ValueError,
    RuntimeError,
    shapely.errors.GEOSException,
)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (at most 200 characters), or its type."""
    lines = str(exc).splitlines()
    return lines[0][:200] if lines else type(exc).__name__


CSV_SUFFIXES = (".csv", ".tsv", ".txt")
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "geometrie")
XY_COLUMNS = (("x", "y"), ("x_m", "y_m"), ("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"))


def _read_vector(path: Path, layer: str | None, where: str) -> gpd.GeoDataFrame:
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, OSError) as exc:
        msg = f"plots file {path}: cannot be read as a vector file ({str(exc).splitlines()[0][:200]}); check that it is a GeoPackage, GeoJSON, Shapefile, FlatGeobuf or CSV and not corrupt"
        raise InputFileError(msg) from None
    if layer is not None and layer not in layers:
        msg = f"plots file {path}: no layer {layer!r}; layers in the file: {', '.join(layers[:20])}"
        raise InputFileError(msg)
    if not layers:
        msg = f"plots file {path}: holds no layers; check that it is the right file"
        raise InputFileError(msg)
    if layer is None and len(layers) > 1:
        log.warning(
            "%s has %d layers; reading the first, %r (use --plots-layer to choose)",
            path,
            len(layers),
            layers[0],
        )
    try:
        with gdal_notes_logged(where):
            return gpd.read_file(path, layer=layer or layers[0], engine="pyogrio", **gml_options(path))
    except READ_ERRORS as exc:
        msg = f"{where}: cannot be read ({first_line(exc)}); the file may be corrupt"
        raise InputFileError(msg) from None


def read_csv_plots(path: Path, file_crs: str | None) -> gpd.GeoDataFrame:
    """Plots from a CSV, in the CRS given with ``--plots-crs``.

    Either a WKT geometry column (``wkt``, ``geometry``, ...: plot outlines) or a pair
    of coordinate columns (``x``/``y``, ``lon``/``lat``, ...: one point per plot, see
    :func:`validate_geometries` for what a point plot can and cannot tell).
    """
    where = f"plots file {path}"
    try:
        frame = pd.read_csv(
            path, sep=None, engine="python", dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        msg = f"{where}: cannot be read as CSV ({str(exc).splitlines()[0][:200]}); save it as UTF-8 CSV with a header row"
        raise InputFileError(msg) from None
    lower = {c.strip().lower(): c for c in frame.columns}
    wkt_col = next((lower[c] for c in WKT_COLUMNS if c in lower), None)
    xy = next(((lower[x], lower[y]) for x, y in XY_COLUMNS if x in lower and y in lower), None)
    if wkt_col is None and xy is None:
        msg = (
            f"{where}: no geometry column; add a column named wkt (or geometry) with each plot's "
            f"outline as WKT, e.g. POLYGON((x1 y1, x2 y2, ...)), or columns x and y with a point per plot; "
            f"columns: {', '.join(map(str, frame.columns[:20]))}"
        )
        raise DataValidationError(msg)
    if file_crs is None:
        example = (
            "EPSG:4326 for WGS84 degrees"
            if xy is not None and xy[0].strip().lower() in ("lon", "longitude", "lng")
            else "EPSG:28992 for RD New"
        )
        msg = f"{where}: a CSV has no CRS; say which one its coordinates are in with --plots-crs (e.g. --plots-crs {example})"
        raise CRSError(msg)
    given = parse_crs(file_crs, "--plots-crs")
    if wkt_col is None:
        assert xy is not None
        points = _xy_points(frame, xy, given, where)
        check_coordinates(points, where, "--plots-crs", claim=f"--plots-crs {file_crs} says")
        return points
    texts = frame[wkt_col].astype(str).str.strip()
    geoms = []
    bad: list[int] = []
    for k, t in enumerate(texts):
        try:
            geoms.append(shapely.from_wkt(t) if t else None)
        except shapely.errors.GEOSException:
            geoms.append(None)
            bad.append(k + 2)
    if bad:
        msg = f"{where}: column {wkt_col!r} is not valid WKT on lines {bad[:10]}; write outlines as POLYGON((x1 y1, x2 y2, ...))"
        raise DataValidationError(msg)
    return gpd.GeoDataFrame(frame.drop(columns=[wkt_col]), geometry=geoms, crs=given)


def _xy_points(frame: pd.DataFrame, xy: tuple[str, str], crs: CRS, where: str) -> gpd.GeoDataFrame:
    """Points from two coordinate columns (a decimal comma is read as a point); bad cells named by line."""
    coords = []
    for col in xy:
        text = frame[col].astype(str).str.strip().str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        bad = np.flatnonzero((values.isna() | ~np.isfinite(values.to_numpy(dtype=float))).to_numpy())
        if len(bad):
            lines = [int(k) + 2 for k in bad[:10]]
            msg = f"{where}: column {col!r} is not a number on lines {lines}; give every plot its coordinates"
            raise DataValidationError(msg)
        coords.append(values.to_numpy(dtype=float))
    points = gpd.points_from_xy(coords[0], coords[1])
    return gpd.GeoDataFrame(frame.drop(columns=list(xy)), geometry=points, crs=crs)


def parse_crs(text: str, option: str) -> CRS:
    """A CRS a user named, or a one-line :class:`CRSError`."""
    try:
        return CRS.from_user_input(text)
    except PyprojCRSError:
        msg = (
            f"{option} {text!r} is not a CRS pyproj knows; use e.g. EPSG:28992 (RD New) or EPSG:4326 (WGS84)"
        )
        raise CRSError(msg) from None


#: RD New (EPSG:28992) extent of the Netherlands, in metres (with a margin).
RD_BOUNDS = (-10_000.0, 280_000.0, 310_000.0, 640_000.0)


def check_coordinates(gdf: gpd.GeoDataFrame, where: str, option: str, claim: str = "the file says") -> None:
    """Refuse coordinates that cannot be in the file's CRS: metres in a file that says degrees.

    GeoJSON without ``crs`` is WGS84 by definition, so a GeoJSON written with RD New
    coordinates "claims" degrees; so does a file labelled EPSG:4326 by mistake.
    """
    b = gdf.total_bounds
    if not np.all(np.isfinite(b)):
        msg = f"{where}: coordinates are not finite numbers (NaN or infinite); fix the geometries"
        raise DataValidationError(msg)
    if not gdf.crs.is_geographic:
        return
    if b[0] >= -180.0 and b[2] <= 180.0 and b[1] >= -90.0 and b[3] <= 90.0:
        return
    box = ", ".join(f"{v:.0f}" for v in b)
    rd = RD_BOUNDS[0] <= b[0] and b[2] <= RD_BOUNDS[2] and RD_BOUNDS[1] <= b[1] and b[3] <= RD_BOUNDS[3]
    hint = "they look like RD New (EPSG:28992) metres" if rd else "they look like metres of a projected CRS"
    msg = (
        f"{where}: {claim} its CRS is {gdf.crs.name} (degrees), but the coordinates ({box}) are "
        f"not degrees - {hint}; set the right CRS in the file or give {option} "
        f"{'EPSG:28992' if rd else 'EPSG:<code>'}"
    )
    raise CRSError(msg)


def gml_options(path: Path) -> dict[str, str]:
    """Open options that stop GDAL writing a ``.gfs`` file next to an input GML (inputs stay untouched)."""
    return {"WRITE_GFS": "NO"} if path.suffix.lower() in (".gml", ".xml") else {}


def validate_geometries(gdf: gpd.GeoDataFrame, where: str, crs: CRS, repair: bool = True) -> gpd.GeoDataFrame:
    """Check plot geometries: present, polygons or points, valid (or repaired), projected to ``crs``.

    A point is a plot whose outline is not known (a CSV with x/y columns, an address
    list): it is kept as a point, so that nothing pretends to know its area.
    ``area_m2`` is empty for it (an area condition says "onvoldoende gegevens", it
    never passes), noise is the level of the cell under the point, and distances
    are measured from the point.
    """
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
    not_poly = gdf.index[~gdf.geom_type.isin(["Polygon", "MultiPolygon", "Point"])].tolist()
    if not_poly:
        kinds = ", ".join(sorted(set(gdf.loc[not_poly].geom_type)))
        msg = f"{where}: plots must be polygons (outlines) or points; these are {kinds}: {', '.join(map(str, not_poly[:10]))}"
        raise DataValidationError(msg)
    points = gdf.geom_type == "Point"
    if points.any():
        log.warning(
            "%s: %d of %d plots are points, not outlines: their area is unknown (area_m2 empty, an "
            "area condition cannot be judged), noise is the value at the point, distances are from the point",
            where,
            int(points.sum()),
            len(gdf),
        )
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


def check_overlap(plots: gpd.GeoDataFrame, area: shapely.Geometry, what: str, where: str = "") -> None:
    """Raise when no plot overlaps ``area``; warn with ids for plots outside it."""
    inside = plots.geometry.intersects(area)
    if not inside.any():
        b = tuple(round(v) if math.isfinite(v) else v for v in plots.total_bounds)
        a = tuple(round(v) if math.isfinite(v) else v for v in area.bounds)
        msg = (
            f"{where + ': ' if where else ''}plots do not overlap the {what} (plots {b}, {what} {a} in "
            f"{plots.crs.to_string()}); "
            "use plots and data of the same region, and check the plots file's CRS (--plots-crs sets it)"
        )
        raise NoOverlapError(msg)
    outside = plots.index[~inside].tolist()
    if outside:
        log.warning("%d plots lie outside the %s: %s", len(outside), what, ", ".join(map(str, outside[:10])))


def read_area(path: Path, crs: CRS) -> shapely.Geometry:
    """Read a study-area outline (any vector file, any CRS, Z dropped) as one geometry in ``crs``."""
    path = require_file(path, "study area file")
    check_local_only(path, "study area file")
    try:
        with gdal_notes_logged(f"study area file {path}"):
            gdf = gpd.read_file(path, engine="pyogrio", **gml_options(path))
    except READ_ERRORS as exc:
        msg = f"study area file {path}: cannot be read ({first_line(exc)}); the file may be corrupt"
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
        Indexed by ``plot_id`` (str), polygons or points, in ``crs``.
    """
    if id_column is None and gdf.index.name in ID_CANDIDATES and gdf.index.name not in gdf.columns:
        gdf = gdf.reset_index()
    if gdf.crs is None:
        msg = f"{where}: has no CRS; set it in your GIS (e.g. EPSG:28992 for RD New) and save again, or give --plots-crs - sitefinder never guesses a CRS"
        raise CRSError(msg)
    if len(gdf) == 0:
        msg = f"{where}: the layer is empty; it must contain at least one plot polygon"
        raise DataValidationError(msg)
    check_coordinates(gdf, where, "--plots-crs")
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    if id_column is None:
        id_column = next((c for c in ID_CANDIDATES if c in cols), None)
        if id_column is None:
            msg = f"{where}: no id column found (looked for {', '.join(ID_CANDIDATES)}); name it with --plots-id COLUMN"
            raise DataValidationError(msg)
    elif id_column == gdf.geometry.name:
        msg = f"{where}: --plots-id {id_column!r} is the geometry column; name the column with the plot ids (columns: {', '.join(cols[:20])})"
        raise DataValidationError(msg)
    elif id_column not in cols:
        msg = f"{where}: no column {id_column!r}; columns: {', '.join(cols[:40])}"
        raise DataValidationError(msg)
    raw_ids = gdf[id_column]
    ids = raw_ids.astype("string").str.strip()
    blank = ids.isna() | (ids == "")
    if blank.any():
        rows = [int(i) + 1 for i in np.flatnonzero(blank.to_numpy())[:10]]
        msg = f"{where}: column {id_column!r} is empty in rows {rows}; give every plot an id"
        raise DataValidationError(msg)
    ids = ids.astype(str)
    dup = ids[ids.duplicated(keep=False)].unique().tolist()
    if dup:
        msg = f"{where}: duplicate plot ids in column {id_column!r}: {', '.join(dup[:10])}; make them unique"
        raise DataValidationError(msg)
    gdf = gdf.drop(columns=[id_column]).assign(plot_id=ids.to_numpy()).set_index("plot_id")
    if "plot_id" in gdf.columns:
        gdf = gdf.drop(columns="plot_id")
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return validate_geometries(gdf, where, crs, repair)


def frame_sha256(gdf: gpd.GeoDataFrame) -> str:
    """SHA-256 of a GeoDataFrame's content: CRS, index, attributes and geometry (WKB)."""
    h = hashlib.sha256()
    h.update((gdf.crs.to_wkt() if gdf.crs is not None else "").encode())
    h.update(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).to_csv().encode())
    for wkb in shapely.to_wkb(gdf.geometry.to_numpy()):
        h.update(wkb or b"")
    return h.hexdigest()
