"""Public transport of the sample town: bus stops along the main roads and railway stations.

Bus stops come in pairs (one platform per direction, as mapped in Dutch OSM:
``highway=bus_stop`` + ``public_transport=platform``) about every 350 m along
every main road; stations are nodes beside the railway.
"""

from __future__ import annotations

import numpy as np
import shapely

from sitefinder.sample.layout import Plan
from sitefinder.sample.osmxml import Feature

#: Bus stops every ~350 m along main roads: the Dutch concession standard is a stop
#: within 500 m; observed catchment about 400 m (CROW / Rover; see DOMAIN.md).
BUS_STOP_SPACING = 350.0


def transport_features(
    plan: Plan, rng: np.random.Generator, avoid: shapely.Geometry
) -> tuple[list[Feature], dict[str, int]]:
    """Bus stops along the main roads and railway station nodes.

    Parameters
    ----------
    plan : Plan
        The town plan.
    rng : numpy.random.Generator
        Random source.
    avoid : shapely geometry
        Areas where no stop may be placed (water, railway corridor, plots).

    Returns
    -------
    tuple
        Features and counts (``bus_stop`` counts stop pairs' individual platforms).
    """
    feats: list[Feature] = []
    shapely.prepare(avoid)
    lines = [(True, float(x), nm) for x, nm in zip(plan.xs, plan.x_names, strict=True)]
    lines += [(False, float(y), nm) for y, nm in zip(plan.ys, plan.y_names, strict=True)]
    for vertical, pos, name in lines:
        length = plan.height if vertical else plan.width
        cross = plan.ys if vertical else plan.xs
        t = float(rng.uniform(80.0, 200.0))
        while t < length - 80.0:
            # not on a junction of two main roads
            if np.min(np.abs(cross - t)) > 40.0:
                for side in (-1.0, 1.0):
                    p = (pos + side * 9.0, t) if vertical else (t, pos + side * 9.0)
                    if not shapely.intersects(shapely.Point(p).buffer(15.0), avoid):
                        tags = {
                            "highway": "bus_stop",
                            "public_transport": "platform",
                            "bus": "yes",
                            "name": f"{name} {round(t / 100)}",
                            "shelter": "yes" if side > 0 else "no",
                        }
                        feats.append(Feature("point", np.array([p]), tags))
            t += BUS_STOP_SPACING + float(rng.uniform(-40.0, 40.0))
    n_stops = len(feats)
    for x, y, name in plan.stations:
        tags = {"railway": "station", "public_transport": "station", "train": "yes", "name": name}
        feats.append(Feature("point", np.array([[x + 22.0, y]]), tags))
    return feats, {"bus_stop": n_stops, "railway_station": len(plan.stations)}
