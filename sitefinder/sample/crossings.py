"""Crossing policies: where ways may bridge or tunnel through an obstacle and where they end.

:func:`sitefinder.sample.network.cut` offers every stretch of a way inside an
obstacle to one of these policies. Water blocks walking except at bridges:
main roads and cycleways always get a bridge, footpaths and streets only where
no other bridge is within :data:`MIN_BRIDGE_SPACING`. The railway can be
crossed by main roads, cycle tunnels and one footpath tunnel per station; the
motorway only by main roads (and cycle tunnels).
"""

from __future__ import annotations

import numpy as np

from sitefinder.sample.network import BRIDGE, CUT, KEEP, TUNNEL, Crossing, Policy

#: Footpath and street bridges over water are at least this far apart (metres);
#: main roads and cycleways always get one.
MIN_BRIDGE_SPACING = 400.0
#: A footpath may pass under the railway within this distance of a station.
STATION_TUNNEL_REACH = 150.0

ROAD_CLASSES = ("motorway", "motorway_link", "trunk", "primary", "secondary", "tertiary")


def _rank(tags: dict[str, str]) -> int:
    hw = tags.get("highway", "")
    return 0 if hw in ROAD_CLASSES or hw == "cycleway" else 1


def water_policy(crossings: list[Crossing]) -> list[str]:
    """Decide water crossings: main roads and cycleways bridge, other ways only if spaced.

    Parameters
    ----------
    crossings : list of Crossing
        Stretches of ways inside water (plus clearance).

    Returns
    -------
    list of str
        One decision per crossing.
    """
    out = [CUT] * len(crossings)
    bridges: list[tuple[float, float]] = []
    order = sorted(range(len(crossings)), key=lambda k: (_rank(crossings[k].tags), k))
    for k in order:
        c = crossings[k]
        if c.at_end:
            continue
        main_road = _rank(c.tags) == 0 and c.length < 220
        spaced = c.length < 70 and all(
            np.hypot(c.midpoint[0] - bx, c.midpoint[1] - by) >= MIN_BRIDGE_SPACING for bx, by in bridges
        )
        if main_road or spaced:
            out[k] = BRIDGE
        if out[k] == BRIDGE:
            bridges.append(c.midpoint)
    return out


def rail_policy(stations: list[tuple[float, float, str]]) -> Policy:
    """Return the railway crossing policy for a set of stations.

    Roads and cycleways cross on bridges/tunnels; one footpath tunnel is allowed
    near each station; everything else ends at the railway fence.

    Parameters
    ----------
    stations : list of tuple
        ``(x, y, name)`` of the stations.

    Returns
    -------
    Policy
        The policy.
    """

    def policy(crossings: list[Crossing]) -> list[str]:
        out = [CUT] * len(crossings)
        used: set[int] = set()
        for k, c in enumerate(crossings):
            hw = c.tags.get("highway", "")
            if c.at_end:
                continue
            if hw in ROAD_CLASSES or hw == "unclassified":
                out[k] = BRIDGE
            elif hw == "cycleway":
                out[k] = TUNNEL
        for sx, sy, _ in stations:
            best, best_d = -1, STATION_TUNNEL_REACH
            for k, c in enumerate(crossings):
                hw = c.tags.get("highway", "")
                if hw in ("footway", "pedestrian", "path") and not c.at_end:
                    d = float(np.hypot(c.midpoint[0] - sx, c.midpoint[1] - sy))
                    if d < best_d and k not in used:
                        best, best_d = k, d
            if best >= 0:
                out[best] = TUNNEL
                used.add(best)
        return out

    return policy


def motorway_policy(crossings: list[Crossing]) -> list[str]:
    """Decide motorway crossings: main roads bridge, cycleways tunnel, the rest is cut.

    Parameters
    ----------
    crossings : list of Crossing
        Stretches of ways inside the motorway corridor.

    Returns
    -------
    list of str
        One decision per crossing.
    """
    out = []
    for c in crossings:
        hw = c.tags.get("highway", "")
        if hw in ("motorway", "motorway_link"):
            out.append(KEEP)
        elif c.at_end:
            out.append(CUT)
        elif hw in ROAD_CLASSES:
            out.append(BRIDGE)
        elif hw == "cycleway":
            out.append(TUNNEL)
        else:
            out.append(CUT)
    return out


def plot_policy(crossings: list[Crossing]) -> list[str]:
    """Remove every path inside a development plot, except main roads (kept).

    Parameters
    ----------
    crossings : list of Crossing
        Stretches of ways inside plots.

    Returns
    -------
    list of str
        One decision per crossing.
    """
    return [KEEP if c.tags.get("highway", "") in ROAD_CLASSES else CUT for c in crossings]
