"""Accessibility per mobility: the wheelchair network's distances and every network's minutes.

One search per category per distinct network: the walking network's distances come
from :func:`sitefinder.indicators.access.accessibility`; each other mobility of the
run's profiles gets its own network (:func:`sitefinder.mobility.apply_factors`) and one
more accessibility pass, whatever the number of profiles that use it.

Columns: ``time_<category>_min`` (walk, at the walk speed) and, for another network,
``dist_<category>_<mobility>_m`` and ``time_<category>_<mobility>_min``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from sitefinder.categories import CategoryRegistry
from sitefinder.indicators.access import AccessParams, AccessResult, accessibility
from sitefinder.mobility import Mobility, apply_factors, edge_factors, tag_coverage
from sitefinder.network import WalkNetwork

log = logging.getLogger(__name__)

#: Below this share of footway length with surface, kerb or incline tags, the run says the
#: wheelchair network is close to the walking network (an assumption: a quarter).
FEW_TAGS_SHARE = 0.25


@dataclass(frozen=True)
class MobilityNetwork:
    """A network for one mobility, with what its rules did.

    ``factor`` is the length factor of every edge of the walking network it was made
    from (``inf``: left out; :func:`sitefinder.mobility.apply_factors`), when known.
    """

    mobility: Mobility
    network: WalkNetwork
    info: dict[str, Any]
    factor: np.ndarray | None = None


def minutes(dist_m: np.ndarray | pd.Series, speed_kmh: float) -> np.ndarray:
    """Metres to minutes at ``speed_kmh`` (NaN stays NaN), one decimal.

    >>> minutes(np.array([600.0, np.nan]), 3.6).tolist()
    [10.0, nan]
    """
    return np.round(np.asarray(dist_m, dtype=float) / (speed_kmh * 1000.0 / 60.0), 1)


def time_columns(table: pd.DataFrame, names: list[str], mobility: Mobility) -> pd.DataFrame:
    """``time_<cat><suffix>_min`` from ``dist_<cat><suffix>_m`` for each category name."""
    sfx = mobility.suffix
    return pd.DataFrame(
        {
            f"time_{c}{sfx}_min": minutes(table[f"dist_{c}{sfx}_m"], mobility.speed_kmh)
            for c in names
            if f"dist_{c}{sfx}_m" in table.columns
        },
        index=table.index,
    )


def build_mobility_network(net: WalkNetwork, mobility: Mobility) -> MobilityNetwork:
    """The network of ``mobility`` from the walking network and the tags behind its edges; logs what changed."""
    if net.tags is None:
        log.warning(
            "The walking network carries no OSM tags: the %s network equals the walking network",
            mobility.name,
        )
    factor = edge_factors(mobility.name, net)
    excluded = ~np.isfinite(factor)
    penalised = np.isfinite(factor) & (factor > 1.0)
    cov = tag_coverage(net)
    info: dict[str, Any] = {
        "speed_kmh": mobility.speed_kmh,
        "edges": int(net.n_edges),
        "edges_excluded": int(excluded.sum()),
        "edges_penalised": int(penalised.sum()),
        "length_excluded_m": round(float(net.edge_len[excluded].sum()), 1),
        **cov,
    }
    shares = [cov.get(f"share_{k}", np.nan) for k in ("surface", "kerb", "incline")]
    few = not any(np.isfinite(s) and s >= FEW_TAGS_SHARE for s in shares)
    info["few_tags"] = bool(few)
    log.info(
        "%s network: %d of %d edges excluded (%.0f m), %d penalised; footways (%.0f m) tagged with "
        "surface %.0f %%, kerb %.0f %%, incline %.0f %%",
        mobility.name,
        info["edges_excluded"],
        info["edges"],
        info["length_excluded_m"],
        info["edges_penalised"],
        cov["footway_m"],
        *(100 * np.nan_to_num(s) for s in shares),
    )
    if few:
        log.warning(
            "Few accessibility tags in the OSM data (surface/kerb/incline on less than %.0f %% of the "
            "footways): the %s distances are close to the walking distances; check routes on site",
            100 * FEW_TAGS_SHARE,
            mobility.name,
        )
    return MobilityNetwork(mobility, apply_factors(net, factor), info, factor)


def mobility_indicators(
    mnet: MobilityNetwork,
    plots: gpd.GeoDataFrame,
    amenities: gpd.GeoDataFrame,
    registry: CategoryRegistry,
    params: AccessParams,
    node_dist: dict[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, AccessResult]:
    """``dist_<cat>_<mobility>_m`` and ``time_<cat>_<mobility>_min`` per plot (one search per category).

    ``node_dist``: node distances on the mobility's network made from the same amenities
    and parameters (e.g. cached); computed when absent.

    Returns
    -------
    table, result : pandas.DataFrame, AccessResult
        The columns, and the accessibility result on the mobility's network (node
        distances for the suitability surfaces).
    """
    res = accessibility(mnet.network, plots, amenities, registry, params, node_dist=node_dist)
    sfx = mnet.mobility.suffix
    dist = pd.DataFrame(
        {f"dist_{c}{sfx}_m": res.table[f"dist_{c}_m"] for c in registry.names}, index=plots.index
    )
    return pd.concat([dist, time_columns(dist, registry.names, mnet.mobility)], axis=1), res
