"""Planned lines of the town plan: main roads, cycleways, motorway, canal paths, railway.

These are the lines laid down by the plan itself (as opposed to the streets
inside each neighbourhood, see :mod:`sitefinder.sample.cells`): a grid of main
roads (primary through the centre and to the motorway, secondary elsewhere),
each with a separate two-way cycleway beside it; a motorway with two one-way
carriageways and diamond interchanges; footpaths along both canal banks; and
the railway axis.
"""

from __future__ import annotations

import numpy as np

from sitefinder.sample.geometry import densify
from sitefinder.sample.layout import Plan
from sitefinder.sample.names import TOWN_NAME
from sitefinder.sample.network import Line

#: Offset of the separate cycleway (fietspad) beside each main road.
CYCLEWAY_OFFSET = 18.0


def arterial_lines(plan: Plan) -> list[Line]:
    """Main roads, their cycleways, the motorway and its interchanges.

    Parameters
    ----------
    plan : Plan
        The town plan.

    Returns
    -------
    list of Line
        Lines to be noded with the rest of the network.
    """
    lines: list[Line] = []
    w, h = plan.width, plan.height
    my = plan.motorway_y
    x_lo, y_lo, x_hi, _ = plan.extent
    for k, (x, cls, name) in enumerate(zip(plan.xs, plan.x_class, plan.x_names, strict=True)):
        tags = {"highway": cls, "name": name, "maxspeed": "70" if cls == "primary" else "50"}
        y0 = y_lo if cls == "primary" else 0.0
        lines.append(Line(np.array([[x, y0], [x, h]]), tags))
        side = 1.0 if k == 0 else -1.0 if k == len(plan.xs) - 1 else (1.0 if k % 2 else -1.0)
        cx = x + side * CYCLEWAY_OFFSET
        lines.append(
            Line(
                np.array([[cx, CYCLEWAY_OFFSET], [cx, h - CYCLEWAY_OFFSET]]),
                {"highway": "cycleway", "segregated": "no", "foot": "yes"},
            )
        )
    for k, (y, cls, name) in enumerate(zip(plan.ys, plan.y_class, plan.y_names, strict=True)):
        tags = {"highway": cls, "name": name, "maxspeed": "70" if cls == "primary" else "50"}
        lines.append(Line(np.array([[0.0, y], [w, y]]), tags))
        side = 1.0 if k == 0 else -1.0 if k == len(plan.ys) - 1 else (1.0 if k % 2 else -1.0)
        cy = y + side * CYCLEWAY_OFFSET
        lines.append(
            Line(
                np.array([[CYCLEWAY_OFFSET, cy], [w - CYCLEWAY_OFFSET, cy]]),
                {"highway": "cycleway", "segregated": "no", "foot": "yes"},
            )
        )

    # motorway: two one-way carriageways with diamond interchanges at the primary roads
    north, south = my + 9.0, my - 9.0
    mw = {"highway": "motorway", "ref": "A27", "oneway": "yes", "maxspeed": "100", "lanes": "3"}
    link = {"highway": "motorway_link", "oneway": "yes"}
    xn = [x_lo - 300.0, x_hi + 300.0]
    xsouth = list(xn)
    for x in plan.interchanges():
        a, b = my + 140.0, my - 140.0
        # westbound (north carriageway): off east of the road, on west of it
        lines.append(
            Line(np.array([[x + 420, north], [x + 200, north + 40], [x + 30, a - 25], [x, a]]), link)
        )
        lines.append(
            Line(np.array([[x, a], [x - 30, a - 25], [x - 200, north + 40], [x - 420, north]]), link)
        )
        # eastbound (south carriageway): off west of the road, on east of it
        lines.append(
            Line(np.array([[x - 420, south], [x - 200, south - 40], [x - 30, b + 25], [x, b]]), link)
        )
        lines.append(
            Line(np.array([[x, b], [x + 30, b + 25], [x + 200, south - 40], [x + 420, south]]), link)
        )
        xn += [x - 420, x + 420]
        xsouth += [x - 420, x + 420]
    xn_arr = np.sort(np.array(xn))[::-1]
    lines.append(Line(np.column_stack([xn_arr, np.full(len(xn_arr), north)]), mw))
    xs_arr = np.sort(np.array(xsouth))
    lines.append(Line(np.column_stack([xs_arr, np.full(len(xs_arr), south)]), mw))
    return lines


def canal_bank_paths(plan: Plan) -> list[Line]:
    """Footpaths (jaagpaden) along both banks of every canal, inside the built-up area.

    Parameters
    ----------
    plan : Plan
        The town plan.

    Returns
    -------
    list of Line
        The bank paths.
    """
    out = []
    for c in plan.canals:
        off = 0.5 * c.width + 9.0
        lo, hi = (0.0, plan.width) if c.horizontal else (max(c.lo, 0.0), plan.height)
        for s in (-1.0, 1.0):
            p = c.pos + s * off
            xy = np.array([[lo, p], [hi, p]]) if c.horizontal else np.array([[p, lo], [p, hi]])
            out.append(Line(xy, {"highway": "footway", "name": f"{c.name}pad"}))
    return out


def rail_lines(plan: Plan) -> list[Line]:
    """The railway line (to be split at bridges by the caller).

    Parameters
    ----------
    plan : Plan
        The town plan.

    Returns
    -------
    list of Line
        The track axis.
    """
    y0, y1 = plan.rail_span
    xy = densify(np.array([[plan.rail_x, y0], [plan.rail_x, y1]]), 200.0)
    tags = {
        "railway": "rail",
        "usage": "main",
        "electrified": "contact_line",
        "voltage": "1500",
        "gauge": "1435",
        "tracks": "2",
        "name": f"Spoorlijn {TOWN_NAME}",
    }
    return [Line(xy, tags)]
