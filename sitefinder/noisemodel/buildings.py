"""Buildings as noise screens: heights from OSM tags and a height raster on the model grid.

Height rules, in order:

1. ``height`` (metres; ``"12"``, ``"12.5 m"``, ``"12,5"``, ``"40'"``/``"40 ft"``),
2. ``building:levels`` × 3 m (plus ``roof:levels`` × 3 m when tagged),
3. a default per ``building`` value (:data:`DEFAULT_HEIGHT_M`; any other value
   gets :data:`FALLBACK_HEIGHT_M`).

A tag that is present but cannot be read (``height=10m;12``, ``building:levels=abc``,
a negative or absurd value) falls through to the next rule; such buildings are
counted and the count is logged, never an error. Buildings lower than
:data:`MIN_SCREEN_HEIGHT_M` (carports, roofs over parking, ``building=roof``)
do not screen.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio.features import rasterize

from sitefinder.errors import DataValidationError

log = logging.getLogger(__name__)

#: Height of one storey (m): the issue's rule levels × 3 m.
LEVEL_HEIGHT_M = 3.0
#: Default heights per OSM ``building`` value (m, assumed typical Dutch stock:
#: storeys × 3 m plus a roof where houses usually have a pitched one).
DEFAULT_HEIGHT_M: dict[str, float] = {
    "house": 8.0,
    "detached": 8.0,
    "semidetached_house": 8.0,
    "terrace": 9.0,
    "bungalow": 4.0,
    "residential": 10.0,
    "apartments": 15.0,
    "dormitory": 12.0,
    "commercial": 10.0,
    "office": 15.0,
    "retail": 6.0,
    "supermarket": 6.0,
    "kiosk": 3.0,
    "industrial": 8.0,
    "warehouse": 10.0,
    "shed": 3.0,
    "garage": 3.0,
    "garages": 3.0,
    "hut": 3.0,
    "cabin": 3.0,
    "farm_auxiliary": 6.0,
    "barn": 8.0,
    "greenhouse": 4.0,
    "school": 10.0,
    "university": 15.0,
    "college": 12.0,
    "kindergarten": 4.0,
    "hospital": 20.0,
    "public": 10.0,
    "civic": 10.0,
    "government": 12.0,
    "church": 15.0,
    "cathedral": 25.0,
    "chapel": 8.0,
    "mosque": 10.0,
    "train_station": 10.0,
    "transportation": 6.0,
    "hotel": 15.0,
    "sports_hall": 8.0,
    "parking": 9.0,
    "service": 3.0,
    "carport": 2.5,
    "roof": 3.0,
}
#: Height of a building whose ``building`` value is ``yes`` or not in the table (m).
FALLBACK_HEIGHT_M = 9.0
#: Buildings lower than this (m) are left out as screens.
MIN_SCREEN_HEIGHT_M = 2.0
#: Values that are not real buildings (OSM lifecycle prefixes and negations).
NOT_A_BUILDING = frozenset({"no", "construction", "proposed", "demolished", "razed", "abandoned", "ruins"})

_LENGTH = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(m|meter|metre|meters|metres|ft|feet|'|)\s*$")


def parse_height_m(value: Any) -> float | None:
    """Read an OSM ``height`` value in metres; ``None`` when absent or unreadable.

    Examples
    --------
    >>> parse_height_m("12"), parse_height_m("12,5 m"), parse_height_m("40 ft")
    (12.0, 12.5, 12.2)
    >>> parse_height_m("10m;12") is None, parse_height_m(None) is None
    (True, True)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, int | float | np.number):
        h = float(value)
    else:
        match = _LENGTH.match(str(value))
        if match is None:
            return None
        h = float(match.group(1).replace(",", "."))
        if match.group(2) in ("ft", "feet", "'"):
            h = round(h * 0.3048, 1)
    return h if 0 < h <= 400 else None


def parse_levels(value: Any) -> float | None:
    """Read ``building:levels`` (a count of storeys, 0-150); ``None`` when absent or unreadable.

    Examples
    --------
    >>> parse_levels("4"), parse_levels("2.5"), parse_levels("abc")
    (4.0, 2.5, None)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        levels = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    return levels if 0 <= levels <= 150 and math.isfinite(levels) else None


def _present(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and str(value).strip() != ""
    )


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name in frame.columns:
        return list(frame[name])
    return [None] * len(frame)


def building_heights(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Screening buildings with a height, from OSM building polygons with tag columns.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Polygons with a ``building`` column and optionally ``height``,
        ``building:levels`` and ``roof:levels`` (OSM tag values as text; NaN
        where not tagged). Rows that are not polygons or whose ``building`` is
        missing, ``no`` or a lifecycle value (``construction``, ...) are dropped.

    Returns
    -------
    geopandas.GeoDataFrame
        ``building``, ``height_m`` and ``height_from`` (``"height"``,
        ``"levels"`` or ``"default"``), same CRS; buildings below
        :data:`MIN_SCREEN_HEIGHT_M` left out.

    Raises
    ------
    sitefinder.errors.DataValidationError
        When ``buildings`` is not a GeoDataFrame.
    """
    if not isinstance(buildings, gpd.GeoDataFrame):
        msg = f"buildings must be a GeoDataFrame, got {type(buildings).__name__}"
        raise DataValidationError(msg)
    if "building" not in buildings.columns or len(buildings) == 0:
        return gpd.GeoDataFrame(
            {"building": [], "height_m": [], "height_from": []}, geometry=[], crs=buildings.crs
        )
    kind = [str(v).strip().lower() if _present(v) else "" for v in buildings["building"]]
    keep = (
        np.array([k != "" and k not in NOT_A_BUILDING for k in kind], dtype=bool)
        & buildings.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    )
    heights, origin = [], []
    bad_height = bad_levels = 0
    for b, h_tag, lv_tag, roof_tag in zip(
        kind,
        _column(buildings, "height"),
        _column(buildings, "building:levels"),
        _column(buildings, "roof:levels"),
        strict=True,
    ):
        h = parse_height_m(h_tag)
        if h is None and _present(h_tag):
            bad_height += 1
        if h is not None:
            heights.append(h)
            origin.append("height")
            continue
        levels = parse_levels(lv_tag)
        if levels is None and _present(lv_tag):
            bad_levels += 1
        if levels is not None and levels > 0:
            roof = parse_levels(roof_tag) or 0.0
            heights.append((levels + roof) * LEVEL_HEIGHT_M)
            origin.append("levels")
            continue
        heights.append(DEFAULT_HEIGHT_M.get(b, FALLBACK_HEIGHT_M))
        origin.append("default")
    out = gpd.GeoDataFrame(
        {"building": kind, "height_m": np.asarray(heights, dtype=float), "height_from": origin},
        geometry=buildings.geometry.to_numpy(),
        crs=buildings.crs,
    )
    out = out.loc[keep & (out["height_m"].to_numpy() >= MIN_SCREEN_HEIGHT_M)].reset_index(drop=True)
    counts = out["height_from"].value_counts()
    log.info(
        "Buildings as noise screens: %d (height from height=* %d, building:levels %d, default per type %d); "
        "unreadable height=* on %d and building:levels on %d buildings (they got the next rule or the "
        "default)",
        len(out),
        int(counts.get("height", 0)),
        int(counts.get("levels", 0)),
        int(counts.get("default", 0)),
        bad_height,
        bad_levels,
    )
    return out


def height_raster(buildings: gpd.GeoDataFrame, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """Building height per cell (m; 0 outside buildings), the highest where buildings overlap.

    A cell belongs to a building when its centre lies inside the polygon.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        As returned by :func:`building_heights`, in the grid's CRS.
    transform : affine.Affine
        Grid transform.
    shape : tuple of int
        Rows and columns.

    Returns
    -------
    numpy.ndarray
        Float32 array of ``shape``.
    """
    return _rasterize_heights(
        buildings.geometry.to_numpy(), buildings["height_m"].to_numpy(), transform, shape
    )


def _rasterize_heights(
    geoms: np.ndarray, heights: np.ndarray, transform: Affine, shape: tuple[int, int]
) -> np.ndarray:
    if len(geoms) == 0:
        return np.zeros(shape, dtype=np.float32)
    order = np.argsort(heights)  # later shapes overwrite: highest wins
    shapes = zip(geoms[order], heights[order], strict=True)
    return rasterize(shapes, out_shape=shape, transform=transform, fill=0.0, dtype="float32")


@dataclass(frozen=True)
class Screens:
    """Screening buildings in a compact form: WKB, bounds and height per building.

    A town's buildings as shapely geometries take about ten times the memory of their
    coordinates (61,164 buildings of the scale-8 sample: about 85 MB with their frame, 12 MB
    as WKB). The model keeps them like this and makes geometries only for the buildings
    of one tile at a time; the raster is the same as :func:`height_raster` of the frame.

    Examples
    --------
    >>> import shapely
    >>> frame = gpd.GeoDataFrame(
    ...     {"height_m": [9.0, 12.0]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(5, 5, 20, 20)]
    ... )
    >>> screens = Screens.from_frame(frame)
    >>> len(screens)
    2
    >>> screens.raster(Affine(5.0, 0.0, 0.0, 0.0, -5.0, 20.0), (4, 4))[:, :2].tolist()
    [[0.0, 12.0], [0.0, 12.0], [9.0, 12.0], [9.0, 9.0]]
    """

    wkb: np.ndarray
    bounds: np.ndarray
    height_m: np.ndarray

    @classmethod
    def from_frame(cls, buildings: gpd.GeoDataFrame) -> Screens:
        """From a frame as :func:`building_heights` returns it (geometry and ``height_m``)."""
        geoms = buildings.geometry.to_numpy()
        return cls(
            wkb=shapely.to_wkb(geoms),
            bounds=shapely.bounds(geoms),
            height_m=buildings["height_m"].to_numpy(dtype=float),
        )

    def __len__(self) -> int:
        return len(self.wkb)

    def raster(self, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
        """Building height per cell (m; 0 outside) of the grid, as :func:`height_raster`.

        The buildings whose bounds touch the grid's box are made into geometries, in their
        order, and rasterised.
        """
        left, top = transform.c, transform.f
        right, bottom = left + shape[1] * transform.a, top + shape[0] * transform.e
        b = self.bounds
        hit = np.flatnonzero((b[:, 0] <= right) & (b[:, 2] >= left) & (b[:, 1] <= top) & (b[:, 3] >= bottom))
        return _rasterize_heights(shapely.from_wkb(self.wkb[hit]), self.height_m[hit], transform, shape)
