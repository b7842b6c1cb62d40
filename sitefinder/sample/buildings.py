"""Buildings of the sample town: perimeter blocks with courtyards, shops in the centre, sheds.

Housing blocks get four rows of terraced houses along their streets (a closed
perimeter around a courtyard), 2-3 storeys, some with an attic; centre blocks
get four-storey buildings with shops on the ground floor; business blocks a
shed or warehouse. Heights are tagged the way OSM does (``building:levels``,
``roof:levels``, sometimes ``height``), so the noise model reads them with
its ordinary rules. Deterministic per block; no random draws, so adding
buildings changes nothing else in the town.
"""

from __future__ import annotations

import numpy as np

from sitefinder.sample.cells import Lattice
from sitefinder.sample.osmxml import Feature

#: Set-back of a building row from the block edge (street centre line), m: half a
#: street, pavement and front garden.
SETBACK_M = {"residential": 9.0, "centre": 7.0}
#: Depth of a row of houses / a centre building, m.
DEPTH_M = {"residential": 9.0, "centre": 11.0}


def _frac(length: float, metres: float) -> float:
    return min(metres / max(length, 1e-6), 0.45)


def _perimeter(
    lat: Lattice, i: int, j: int, setback: float, depth: float, open_top: bool
) -> list[np.ndarray]:
    """Four building rows around a courtyard inside block ``(i, j)`` (rings in plan coordinates)."""
    p = lat.xy
    len_u = float(np.hypot(*(p[i + 1, j] - p[i, j])))
    len_v = float(np.hypot(*(p[i, j + 1] - p[i, j])))
    su, sv = _frac(len_u, setback), _frac(len_v, setback)
    du, dv = _frac(len_u, setback + depth), _frac(len_v, setback + depth)
    if du >= 0.45 or dv >= 0.45:  # block too small for a courtyard: one solid building
        return [lat.block_rect(i, j, su, sv, 1 - su, 1 - sv)]
    rows = [
        lat.block_rect(i, j, su, sv, 1 - su, dv),  # bottom row, full width
        lat.block_rect(i, j, su, dv, du, 1 - dv),  # left row
        lat.block_rect(i, j, 1 - du, dv, 1 - su, 1 - dv),  # right row
    ]
    if not open_top:  # a hofje street enters from the top side: leave that side open
        rows.append(lat.block_rect(i, j, su, 1 - dv, 1 - su, 1 - sv))
    return rows


def block_buildings(lattices: list[Lattice]) -> list[Feature]:
    """Building polygons with OSM height tags for the free blocks of every lattice.

    Parameters
    ----------
    lattices : list of Lattice
        The block lattices, after plots and facilities have reserved their blocks.

    Returns
    -------
    list of Feature
        Closed ways tagged ``building=*`` with ``building:levels`` (and
        ``roof:levels`` or ``height`` on some).
    """
    feats: list[Feature] = []
    for lat in lattices:
        kind = lat.cell.kind
        for i, j in lat.free_blocks():
            n = 7 * i + 13 * j  # deterministic variety per block
            if kind == "residential":
                open_top = bool(lat.block_draw[i, j, 2] < lat.style.hofje)
                levels = 2 + (n % 3 == 0)
                tags = {"building": "terrace", "building:levels": str(levels)}
                if n % 2 == 0:
                    tags["roof:levels"] = "1"
                for ring in _perimeter(lat, i, j, SETBACK_M[kind], DEPTH_M[kind], open_top):
                    feats.append(Feature("polygon", ring, tags))
            elif kind == "centre":
                tags = {"building": "retail", "building:levels": str(4 + (n % 2)), "building:use": "retail"}
                for ring in _perimeter(lat, i, j, SETBACK_M[kind], DEPTH_M[kind], False):
                    feats.append(Feature("polygon", ring, tags))
            elif kind == "business":
                tags = {"building": "warehouse" if n % 3 == 0 else "industrial", "height": str(7 + n % 5)}
                feats.append(Feature("polygon", lat.block_rect(i, j, 0.2, 0.2, 0.8, 0.8), tags))
    return feats
