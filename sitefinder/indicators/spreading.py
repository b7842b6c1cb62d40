"""The spreading principle (spreidingsprincipe): distance to existing facilities of the same kind.

Almere's Beschermd Wonen Plus framework scores "no concentration of similar facilities
in one neighbourhood". From OSM this module gives, for the ``care`` category
(``amenity=social_facility``, nursing homes, group homes, assisted living):

* ``dist_care_straight_m``: straight-line distance from the plot's edge to the nearest
  care facility (the walking distance ``dist_care_m`` comes from the accessibility
  indicators);
* ``n_care_straight_<d>m``: the number of care facilities within ``d`` metres;
* ``n_nightlife_straight_<d>m``: the number of bars, pubs and nightclubs within ``d``
  metres (how busy the surroundings are, for low-stimulus groups).

OSM's ``care`` category lumps nursing homes, group homes and other social
facilities together, and OSM misses many small facilities. A municipality that knows
its own list of facilities of *the same kind* declares it as a ``[[layer]]`` in the
profile (``dist_<layer>_straight_m``, ``n_<layer>_straight_<d>m``; see
:mod:`sitefinder.indicators.overlay`).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from sitefinder.indicators.overlay import proximity

#: Amenity categories the spreading indicators are computed for.
SPREADING_CATEGORIES = ("care",)

#: Categories counted by straight-line radius only (``n_<cat>_straight_<d>m``): nightlife,
#: whose stimuli (noise, crowds) carry in a straight line; its distance is a nuisance
#: indicator already (``dist_nightlife_straight_m``).
COUNT_ONLY_CATEGORIES = ("nightlife",)


def facility_proximity(
    plots: gpd.GeoDataFrame | gpd.GeoSeries,
    amenities: gpd.GeoDataFrame,
    categories: Sequence[str] = SPREADING_CATEGORIES,
    count_within_m: Sequence[float] = (500.0, 1000.0),
    count_only: Sequence[str] = COUNT_ONLY_CATEGORIES,
) -> pd.DataFrame:
    """Straight-line distance to and counts of existing facilities, per category.

    Parameters
    ----------
    plots : geopandas.GeoDataFrame or GeoSeries
        Plots (or cell points) in the working CRS.
    amenities : geopandas.GeoDataFrame
        Classified amenities with a ``category`` column, same CRS.
    categories : sequence of str
        Categories to compute (default ``care``).
    count_within_m : sequence of float
        Radii of the counts.
    count_only : sequence of str
        Categories that get only the counts (default ``nightlife``).

    Returns
    -------
    pandas.DataFrame
        ``dist_<cat>_straight_m`` and ``n_<cat>_straight_<d>m`` indexed like ``plots``.
    """
    geoms = np.asarray(plots.geometry.to_numpy(), dtype=object)
    out = pd.DataFrame(index=plots.index)
    for cat in [*categories, *count_only]:
        feats = np.asarray(amenities.geometry[amenities["category"] == cat].to_numpy(), dtype=object)
        for col, arr in proximity(geoms, feats, cat, count_within_m, distance=cat in categories).items():
            out[col] = arr
    return out
