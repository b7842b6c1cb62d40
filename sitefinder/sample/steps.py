"""Steps in the sample town: footbridges with stairs, and station stairs with a lift beside them.

Run after the street network is noded and cut (:func:`sitefinder.sample.generate`):

* every second foot or cycle bridge (``bridge=yes`` on a footway, path, pedestrian way
  or cycleway, in a fixed order) becomes a stepped bridge (``highway=steps`` with a
  bicycle gutter, ``ramp:bicycle=yes``, the Dutch "trap met fietsgoot"): walkers cross
  there, wheelchair users go round by another bridge;
* the footpath tunnel under the railway at each station gets stairs at both ends (its
  first and last segment become ``highway=steps``) and, beside each flight, a short
  path through a lift (a node ``highway=elevator``): step-free, a few metres longer.

So the wheelchair network (:mod:`sitefinder.mobility`) differs from the walking network
exactly there, and ``make map`` shows both.
"""

from __future__ import annotations

import numpy as np

from sitefinder.sample.network import Network, Tags

FOOT = frozenset({"footway", "path", "pedestrian"})
#: Sideways offset of the lift path from the stairs, metres.
LIFT_OFFSET_M = 6.0


def _midpoint_order(net: Network, idx: list[int]) -> list[int]:
    mids = [net.xy[net.ways[k]].mean(axis=0) for k in idx]
    return [k for _, k in sorted(zip([(round(m[0], 3), round(m[1], 3)) for m in mids], idx, strict=True))]


def add_steps(net: Network) -> tuple[Network, dict[int, Tags], dict[str, int]]:
    """Turn footbridges and station tunnels into stairs (with lifts at the stations).

    Returns
    -------
    net, node_tags, counts : Network, dict, dict
        The new network, tags for new network nodes (the lifts: index into ``net.xy``)
        and counts of what was added.
    """
    xy = [net.xy]
    n_xy = len(net.xy)
    ways = list(net.ways)
    tags = [dict(t) for t in net.tags]
    node_tags: dict[int, Tags] = {}
    bridges = [
        k for k, t in enumerate(tags) if t.get("bridge") == "yes" and t.get("highway") in FOOT | {"cycleway"}
    ]
    n_bridges = 0
    for rank, k in enumerate(_midpoint_order(net, bridges)):
        if rank % 2 == 0:
            tags[k] = {
                **tags[k],
                "highway": "steps",
                "step_count": "24",
                "handrail": "yes",
                "ramp:bicycle": "yes",
            }
            n_bridges += 1
    tunnels = [k for k, t in enumerate(tags) if t.get("tunnel") == "yes" and t.get("highway") in FOOT]
    n_lifts = 0
    for k in tunnels:
        ids = np.asarray(ways[k])
        if len(ids) < 2:
            continue
        if len(ids) == 2:  # a middle node so that the tunnel keeps a stretch between its stairs
            mid = net.xy[ids].mean(axis=0)
            xy.append(mid[None, :])
            ids = np.array([ids[0], n_xy, ids[1]])
            n_xy += 1
        base = {kk: v for kk, v in tags[k].items() if kk not in ("tunnel", "layer")}
        stairs = {**base, "highway": "steps", "step_count": "16", "handrail": "yes"}
        tunnel_part = ids[1:-1] if len(ids) > 3 else ids[1:]
        ways[k] = tunnel_part if len(tunnel_part) >= 2 else ids
        new_ways = [np.array([ids[0], ids[1]])]
        if len(ids) > 3:
            new_ways.append(np.array([ids[-2], ids[-1]]))
        for w in new_ways:
            ways.append(w)
            tags.append(dict(stairs))
            coords = np.vstack(xy)
            a, b = coords[w[0]], coords[w[1]]
            d = b - a
            normal = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)
            lift = 0.5 * (a + b) + LIFT_OFFSET_M * normal
            xy.append(lift[None, :])
            node_tags[n_xy] = {"highway": "elevator", "wheelchair": "yes", "name": "Lift station"}
            ways.append(np.array([w[0], n_xy, w[1]]))
            tags.append({"highway": "footway", "wheelchair": "yes", "name": "Liftpad station"})
            n_xy += 1
            n_lifts += 1
    out = Network(np.vstack(xy), ways, tags)
    return out, node_tags, {"bridges_with_steps": n_bridges, "station_lifts": n_lifts}
