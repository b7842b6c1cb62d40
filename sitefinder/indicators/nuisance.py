"""Straight-line distance from each plot's edge to the nearest nuisance source."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from sitefinder.nearest import nearest_distance

NUISANCE_KINDS = ("nightlife", "major_road", "railway")


def nuisance_distances(
    plots: gpd.GeoDataFrame, sources: gpd.GeoDataFrame, search_m: float = 5000.0
) -> pd.DataFrame:
    """Distance in metres from each plot (0 when touching) to the nearest source of each kind.

    Parameters
    ----------
    plots : geopandas.GeoDataFrame
        Plots indexed by plot id, projected CRS.
    sources : geopandas.GeoDataFrame
        Nuisance geometries with a ``kind`` column (``nightlife``, ``major_road``,
        ``railway``), same CRS.
    search_m : float
        Sources farther than this are not looked for; the distance is then NaN,
        meaning "none within reach of the data" (scored as no nuisance).

    Returns
    -------
    pandas.DataFrame
        Columns ``dist_<kind>_straight_m`` indexed like ``plots``.
    """
    out = pd.DataFrame(index=plots.index)
    geoms = plots.geometry.to_numpy()
    for kind in NUISANCE_KINDS:
        sel = sources.geometry[sources["kind"] == kind].to_numpy()
        out[f"dist_{kind}_straight_m"] = np.round(nearest_distance(geoms, sel, search_m), 1)
    return out
