"""Mobility profiles: which ways a person can use, at what cost, and at what speed.

A target-group profile names its mobility (``mobility = "wheelchair"``); the engine
builds one network per distinct mobility of the run's profiles, not one per profile.
``walk`` is the plain walking network. ``wheelchair`` (wheelchair and rollator users)
drops or penalises ways from their OSM tags (DOMAIN.md, "Mobility and neighbourhoods"):

================================  ==========  ===============================================
tag                               rule        source / status
================================  ==========  ===============================================
``highway=steps``                 excluded    steps cannot be taken (a ramp beside them is
                                              its own way when mapped)
``wheelchair=no``                 excluded    OSM wiki Key:wheelchair (mapped as unusable)
``wheelchair=limited``            × 1.5       assumption (usable with difficulty)
``kerb=raised`` (way or node)     excluded    raised kerbs (about 0.1 m and more) stop a
                                              wheelchair (OSM wiki Key:kerb; DOMAIN.md);
                                              a node excludes the edges through it
``incline`` steeper than 6 %      excluded    routers use about 6 % as the limit for long
                                              ramps (DOMAIN.md; openrouteservice default)
``surface`` sand, grass, mud,     excluded    hard or impossible going (DOMAIN.md)
gravel, pebblestone, woodchips
``surface`` cobblestone,          × 2.0       hard going, penalised (DOMAIN.md); the factor
unhewn_cobblestone                            is an assumption
``surface`` sett, fine_gravel,    × 1.5       assumption
compacted, unpaved, dirt, ground
``width`` below 0.9 m             excluded    a wheelchair needs at least 0.9 m (DOMAIN.md)
================================  ==========  ===============================================

A cost factor stands for slower going: a penalised way counts its length times the
factor, so ``dist_<category>_wheelchair_m`` is the route length in metres with
penalised stretches weighted, and minutes are those metres divided by the speed. A
tag that is absent or not understood (``incline=up``) changes nothing: OSM tags these
properties sparsely, so where the data has few of them the wheelchair network is close
to the walking network; :func:`tag_coverage` measures how close.

Speeds: walking 3.6 km/h (the r5r default walking speed, within the 3-3.6 km/h of
seniors; DOMAIN.md), wheelchair 3 km/h (DOMAIN.md: an assumption, manual chairs vary
widely). A profile may state its own ``speed_kmh``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from sitefinder.errors import UnknownNameError
from sitefinder.network import EdgeTags, WalkNetwork

#: Way tags the wheelchair rules read (all among :data:`sitefinder.io.osmpass.WAY_TAG_KEYS`).
WAY_TAGS = ("highway", "footway", "wheelchair", "incline", "surface", "width", "kerb")
#: Node tags the rules read (among :data:`sitefinder.io.osmpass.NODE_TAG_KEYS`).
NODE_TAGS = ("kerb", "wheelchair")

#: Ways that count as footways for :func:`tag_coverage`.
FOOTWAY_HIGHWAYS = frozenset({"footway", "path", "pedestrian", "steps", "crossing"})

MAX_INCLINE_PCT = 6.0
MIN_WIDTH_M = 0.9
EXCLUDED_SURFACES = frozenset({"sand", "grass", "mud", "gravel", "pebblestone", "woodchips", "grass_paver"})
SURFACE_FACTORS = {
    "cobblestone": 2.0, "unhewn_cobblestone": 2.0,
    "sett": 1.5, "fine_gravel": 1.5, "compacted": 1.5, "unpaved": 1.5, "dirt": 1.5, "earth": 1.5, "ground": 1.5,
}  # fmt: skip
LIMITED_FACTOR = 1.5


@dataclass(frozen=True)
class Mobility:
    """How one group moves: the name of its network and its default speed.

    Attributes
    ----------
    name : str
        ``walk`` or ``wheelchair``; names the network and the column suffix.
    speed_kmh : float
        Default speed, km/h.
    label : str
        Dutch description for reports.
    """

    name: str
    speed_kmh: float
    label: str

    @property
    def suffix(self) -> str:
        """Column suffix: empty for walk, ``_wheelchair`` for the wheelchair network."""
        return "" if self.name == "walk" else f"_{self.name}"


MOBILITIES = {
    "walk": Mobility("walk", 3.6, "lopen (3,6 km/u)"),
    "wheelchair": Mobility("wheelchair", 3.0, "rolstoel of rollator (3 km/u; geen trappen, hoge stoepranden, steile hellingen)"),
}  # fmt: skip


def get_mobility(name: str) -> Mobility:
    """The mobility called ``name``.

    Raises
    ------
    UnknownNameError
        Listing the valid names.
    """
    if name not in MOBILITIES:
        msg = f"unknown mobility {name!r}; choose one of: {', '.join(MOBILITIES)}"
        raise UnknownNameError(msg)
    return MOBILITIES[name]


def _values(v: Any) -> list[str]:
    """A tag value as a list of strings (osmnx merges differing tags into lists; ``a;b`` lists)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    items = v if isinstance(v, list | tuple) else [v]
    return [p.strip() for item in items for p in str(item).split(";") if p.strip()]


_NUMBER = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*(%|°|deg|m|cm|mm)?\s*$")


def incline_pct(value: str) -> float | None:
    """An OSM ``incline`` value as an absolute percentage; None for ``up``/``down``/unknown.

    >>> incline_pct("-8%"), incline_pct("5°") is not None, incline_pct("up")
    (8.0, True, None)
    """
    m = _NUMBER.match(value)
    if not m:
        return None
    x = abs(float(m.group(1).replace(",", ".")))
    unit = m.group(2)
    if unit in ("°", "deg"):
        return 100.0 * math.tan(math.radians(x))
    if unit in (None, "%"):
        return x
    return None


def metres(value: str) -> float | None:
    """An OSM length value (``0.8``, ``80 cm``, ``1,2 m``) in metres; None when unreadable."""
    m = _NUMBER.match(value)
    if not m or m.group(2) in ("%", "°", "deg"):
        return None
    x = float(m.group(1).replace(",", "."))
    return x / 100.0 if m.group(2) == "cm" else x / 1000.0 if m.group(2) == "mm" else x


def _kerb_blocks(tags: Mapping[str, Any]) -> bool:
    return "raised" in _values(tags.get("kerb"))


def wheelchair_factor(tags: Mapping[str, Any]) -> float:
    """Cost factor of a way for a wheelchair: 1 (no change), above 1 (penalised) or ``inf`` (excluded).

    >>> wheelchair_factor({"highway": "steps"})
    inf
    >>> wheelchair_factor({"highway": "footway", "surface": "sett"})
    1.5
    >>> wheelchair_factor({"highway": "footway", "incline": "up"})
    1.0
    """
    if "steps" in _values(tags.get("highway")):
        return math.inf
    wc = _values(tags.get("wheelchair"))
    if "no" in wc:
        return math.inf
    if _kerb_blocks(tags):
        return math.inf
    for v in _values(tags.get("incline")):
        pct = incline_pct(v)
        if pct is not None and pct > MAX_INCLINE_PCT:
            return math.inf
    for v in _values(tags.get("width")):
        w = metres(v)
        if w is not None and w < MIN_WIDTH_M:
            return math.inf
    factor = 1.0
    for s in _values(tags.get("surface")):
        if s in EXCLUDED_SURFACES:
            return math.inf
        factor = max(factor, SURFACE_FACTORS.get(s, 1.0))
    if "limited" in wc:
        factor = max(factor, LIMITED_FACTOR)
    return factor


def node_blocks(mobility: str, tags: Mapping[str, Any]) -> bool:
    """True when a node (a kerb, a barrier) cannot be passed with this mobility."""
    if mobility == "walk":
        return False
    return _kerb_blocks(tags) or "no" in _values(tags.get("wheelchair"))


def way_factor(mobility: str, tags: Mapping[str, Any]) -> float:
    """Cost factor of a way for ``mobility`` (see :func:`wheelchair_factor`; walk is always 1)."""
    return 1.0 if mobility == "walk" else wheelchair_factor(tags)


def _way_dicts(tags: EdgeTags, keys: Sequence[str]) -> list[dict[str, str]]:
    cols = {k: tags.way_tags[k] for k in keys if k in tags.way_tags}
    n = len(tags.way_ids)
    return [{k: str(v[w]) for k, v in cols.items() if v[w]} for w in range(n)]


def edge_factors(mobility: str, net: WalkNetwork) -> np.ndarray:
    """Cost factor per edge of ``net`` from the OSM tags behind it (:attr:`WalkNetwork.tags`).

    An edge may run over several ways: its factor is the length-weighted mean of their
    factors, and ``inf`` (excluded) when any of them is excluded. A tagged node that
    cannot be passed excludes the edges through it (a network node: every edge at it;
    a node inside an edge: that edge).

    Returns
    -------
    numpy.ndarray
        Float factors, ``inf`` for excluded edges; all 1 for walking or without tags.
    """
    get_mobility(mobility)
    out = np.ones(net.n_edges)
    tags = net.tags
    if mobility == "walk" or tags is None or len(tags.part_edge) == 0:
        return out
    way_f = np.fromiter((way_factor(mobility, t) for t in _way_dicts(tags, WAY_TAGS)), dtype=float)
    pf = way_f[tags.part_way]
    cost = np.zeros(net.n_edges)
    length = np.zeros(net.n_edges)
    finite = np.isfinite(pf)
    np.add.at(cost, tags.part_edge[finite], pf[finite] * tags.part_len_m[finite])
    np.add.at(length, tags.part_edge, tags.part_len_m)
    has = length > 0
    out[has] = cost[has] / length[has]
    out[np.unique(tags.part_edge[~finite])] = np.inf
    cols = {k: tags.node_tags[k] for k in NODE_TAGS if k in tags.node_tags}
    blocked = np.fromiter(
        (
            node_blocks(mobility, {k: str(v[i]) for k, v in cols.items() if v[i]})
            for i in range(len(tags.node_osm_ids))
        ),
        dtype=bool,
        count=len(tags.node_osm_ids),
    )
    if blocked.any():
        inside = tags.node_edge[blocked]
        out[inside[inside >= 0]] = np.inf
        at = tags.node_index[blocked]
        at = at[at >= 0]
        out[np.isin(net.edge_u, at) | np.isin(net.edge_v, at)] = np.inf
    return out


class FactoredArrays(TypedDict):
    """The arrays of a network with some edges excluded (see :func:`factored_arrays`)."""

    node_ids: np.ndarray
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len: np.ndarray


def factored_arrays(net: WalkNetwork, factor: np.ndarray) -> tuple[np.ndarray, FactoredArrays]:
    """The kept edges (finite ``factor``) and the network's arrays without the excluded ones.

    Returns the mask of kept edges and ``node_ids``, ``node_xy``, ``edge_u``, ``edge_v`` and
    ``edge_len`` (the kept lengths times their factor); the edge geometries are left to the
    caller, who may take them at once or on first use.
    """
    keep = np.isfinite(factor)
    return keep, {
        "node_ids": net.node_ids,
        "node_xy": net.node_xy,
        "edge_u": net.edge_u[keep],
        "edge_v": net.edge_v[keep],
        "edge_len": net.edge_len[keep] * factor[keep],
    }


def apply_factors(net: WalkNetwork, factor: np.ndarray) -> WalkNetwork:
    """The network with excluded edges removed and the others' lengths times their factor.

    Nodes stay (same indices), so snapping, node distances and routes work unchanged.
    The result carries no tags (its edges are a subset).
    """
    keep, arrays = factored_arrays(net, factor)
    return WalkNetwork(**arrays, edge_geom=net.edge_geom[keep])


def tag_coverage(net: WalkNetwork) -> dict[str, float]:
    """Share of the footway length (footway, path, pedestrian, steps, crossings) with each accessibility tag.

    Returns
    -------
    dict
        ``footway_m`` (total length) and ``share_surface``, ``share_kerb``,
        ``share_incline``, ``share_wheelchair``, ``share_width`` (0-1; NaN without
        footways or without tags on the network).
    """
    keys = ("surface", "kerb", "incline", "wheelchair", "width")
    tags = net.tags
    if tags is None or len(tags.part_edge) == 0:
        return {"footway_m": 0.0, **{f"share_{k}": math.nan for k in keys}}
    hw = tags.way_tags.get("highway", np.full(len(tags.way_ids), "", dtype=object))
    fw = tags.way_tags.get("footway", np.full(len(tags.way_ids), "", dtype=object))
    is_foot = np.isin(hw, list(FOOTWAY_HIGHWAYS)) | np.isin(fw, ["crossing", "sidewalk"])
    part_foot = is_foot[tags.part_way]
    total = float(tags.part_len_m[part_foot].sum())
    out: dict[str, float] = {"footway_m": round(total, 1)}
    for k in keys:
        col = tags.way_tags.get(k)
        if col is None or total <= 0:
            out[f"share_{k}"] = math.nan if total <= 0 else 0.0
            continue
        tagged = (col != "")[tags.part_way] & part_foot
        out[f"share_{k}"] = round(float(tags.part_len_m[tagged].sum()) / total, 4)
    return out
