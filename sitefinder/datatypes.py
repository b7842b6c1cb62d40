"""The in-memory types that the load stage produces and later stages consume.

Everything here is in one projected working CRS (metres). Nothing after the load
stage reads files or the network: indicators, scoring and rendering take these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
from affine import Affine
from pyproj import CRS

from sitefinder.network import WalkNetwork


@dataclass(frozen=True)
class NoiseGrid:
    """A noise level grid (dB) on a regular grid in the working CRS.

    Attributes
    ----------
    lden : numpy.ndarray
        2-D float32 array of Lden in dB(A); NaN where unknown (nodata).
    transform : affine.Affine
        Pixel-to-world transform (north-up).
    crs : pyproj.CRS
        CRS of the grid (the run's working CRS).
    lnight : numpy.ndarray or None
        Lnight on the same grid, when a source gave it.
    modelled : bool
        True when the levels come from sitefinder's own emission/propagation
        model rather than from official maps; maps and reports say "modelled".
    provenance : dict
        Where the levels came from: files with their SHA-256, class schemes,
        or the model parameters.
    """

    lden: np.ndarray
    transform: Affine
    crs: CRS
    lnight: np.ndarray | None = None
    modelled: bool = False
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the grid."""
        return (int(self.lden.shape[0]), int(self.lden.shape[1]))

    @property
    def resolution(self) -> float:
        """Cell size in CRS units (metres)."""
        return float(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the grid in the working CRS."""
        rows, cols = self.shape
        minx, maxy = self.transform @ (0, 0)
        maxx, miny = self.transform @ (cols, rows)
        return (float(minx), float(miny), float(maxx), float(maxy))


@dataclass(frozen=True)
class StudyData:
    """All loaded inputs of one run, validated and in the working CRS.

    Attributes
    ----------
    crs : pyproj.CRS
        The projected working CRS (EPSG:28992 by default).
    plots : geopandas.GeoDataFrame
        Plot polygons indexed by ``plot_id`` (str), with any user attributes.
    amenities : geopandas.GeoDataFrame
        One row per amenity object with columns ``category``, ``name``,
        ``osm_id`` and point-like ``geometry`` (representative points).
    nuisance : geopandas.GeoDataFrame
        Nuisance source geometries with a ``kind`` column
        (``nightlife``, ``major_road``, ``railway``).
    network : WalkNetwork
        The walking network (working CRS).
    study_area : shapely geometry
        Outline of the area the data covers, in the working CRS.
    noise : NoiseGrid or None
        Combined noise levels, when any noise source was given or modelled.
    sources : dict
        Provenance of each input (paths, hashes, query, cache hits).
    data_area : shapely geometry or None
        The area the OSM data covers (header bounds, else the hull of its nodes): the
        base of the coverage rules (:mod:`sitefinder.coverage`). None: unknown, every
        value is taken as exact.
    neighbourhoods : geopandas.GeoDataFrame or None
        CBS neighbourhoods with their figures (:mod:`sitefinder.io.cbs`), when given.
    residential : geopandas.GeoDataFrame or None
        OSM residential buildings and ``landuse=residential`` areas to spread the
        neighbourhood figures over (loaded only with neighbourhoods).
    network_key : str or None
        Cache key of the network (node distances are cached under it), None when
        the network was not built from an OSM file.
    buildings : geopandas.GeoDataFrame or None
        OSM ``building=*`` polygons with their raw height tags, when the run kept them
        (for the residential land, i.e. with neighbourhoods); None otherwise (the noise
        model's screening reads them and lets them go:
        :func:`sitefinder.io.osm.load_buildings` reads them again).
    """

    crs: CRS
    plots: gpd.GeoDataFrame
    amenities: gpd.GeoDataFrame
    nuisance: gpd.GeoDataFrame
    network: WalkNetwork
    study_area: Any
    noise: NoiseGrid | None = None
    sources: dict[str, Any] = field(default_factory=dict)
    data_area: Any = None
    neighbourhoods: gpd.GeoDataFrame | None = None
    residential: gpd.GeoDataFrame | None = None
    network_key: str | None = None
    buildings: gpd.GeoDataFrame | None = None


#: Columns of :attr:`Routes.table` besides the geometry.
ROUTE_COLUMNS = ("plot_id", "category", "distance_m", "amenity")


@dataclass(frozen=True)
class Routes:
    """The walking route from every plot to its nearest amenity of a few categories.

    Computed in the indicator stage (:func:`sitefinder.routes.route_table`) on the
    network the distances were computed on, stored in a run folder as
    ``routes.parquet`` (GeoParquet) and drawn by the map; nothing downstream routes
    again.

    Attributes
    ----------
    categories : tuple of str
        The categories routed to, in the map's order (a category may have no row when
        no plot reaches one of its amenities).
    table : geopandas.GeoDataFrame
        One row per plot and category reached: ``plot_id`` (str), ``category``,
        ``distance_m`` (equal to the plot's ``dist_<category>_m``), ``amenity`` (its
        name, may be empty) and the route as a LineString in the working CRS, from the
        plot's outline to the amenity.
    """

    categories: tuple[str, ...]
    table: gpd.GeoDataFrame
