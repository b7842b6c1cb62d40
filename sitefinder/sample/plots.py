"""Development plots (kavels) of the sample town, in deliberately varied settings.

Plots are what a municipality's area-development team would hand to
sitefinder: vacant sites of 0.2 to 5 ha in the centre, at the edge of town,
beside the motorway, beside a park and beside the railway, with owner and
zoning attributes. Plots inside neighbourhoods are whole regions of housing
blocks (their inner streets are never built); plots at the edge and along the
motorway lie in the open land outside the ring road. Three out of four plots
are also mapped in the OSM file as ``landuse=construction|brownfield|greenfield``
so the sample works without a plot file too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from sitefinder.sample.cells import Lattice
from sitefinder.sample.geometry import rectangle
from sitefinder.sample.layout import Plan

logger = logging.getLogger(__name__)

SETTINGS = ("centre", "edge", "motorway", "park", "railway")
_SHARE = {"centre": 0.15, "edge": 0.25, "motorway": 0.2, "park": 0.2, "railway": 0.2}
#: Plot size range per setting (hectares); sizes are drawn log-uniformly.
AREA_HA = {
    "centre": (0.2, 1.2),
    "edge": (1.0, 5.0),
    "motorway": (0.5, 4.0),
    "park": (0.3, 2.5),
    "railway": (0.3, 2.5),
}
#: Bounds on every plot's area (hectares).
MIN_HA, MAX_HA = 0.2, 5.0
_OWNERS = ("gemeente", "corporatie", "particulier")
_OWNER_P = {
    "centre": (0.5, 0.2, 0.3),
    "edge": (0.6, 0.1, 0.3),
    "motorway": (0.5, 0.1, 0.4),
    "park": (0.7, 0.2, 0.1),
    "railway": (0.5, 0.2, 0.3),
}
_ZONING = {
    "centre": ("gemengd", "centrum", "wonen"),
    "edge": ("wonen", "agrarisch", "wonen"),
    "motorway": ("bedrijventerrein", "gemengd", "bedrijventerrein"),
    "park": ("maatschappelijk", "wonen", "groen"),
    "railway": ("gemengd", "wonen", "maatschappelijk"),
}
_LANDUSE = {
    "centre": "construction",
    "edge": "greenfield",
    "motorway": "brownfield",
    "park": "greenfield",
    "railway": "brownfield",
}
_WORDS = {
    "centre": ("Stationsplein", "Marktkwartier", "Stadhuisplein", "Havenkwartier", "Centrumhof", "Stadswerf"),
    "edge": ("Polderrand", "Buitenveld", "Dijkzicht", "Akkerrand", "Weidezoom", "Kavelweg"),
    "motorway": ("Snelwegzone", "Rijksweg", "Geluidswal", "Afritveld", "Viaductzone"),
    "park": ("Parkzoom", "Parkrand", "Parkhof", "Weidezicht", "Vijverhof"),
    "railway": ("Spoorzone", "Spoorhof", "Emplacement", "Seinhuis", "Stationsweide"),
}
_ROMAN = ("", " II", " III", " IV", " V", " VI", " VII", " VIII")


@dataclass(frozen=True)
class Plot:
    """One development plot.

    Attributes
    ----------
    plot_id : str
        Identifier such as ``"NS-001"``.
    name : str
        Dutch name, e.g. ``"Kavel Spoorzone"``.
    owner : str
        ``"gemeente"``, ``"corporatie"`` or ``"particulier"``.
    zoning : str
        Zoning (bestemming), e.g. ``"wonen"``, ``"gemengd"``, ``"maatschappelijk"``.
    setting : str
        One of :data:`SETTINGS`.
    ring : numpy.ndarray
        Outline in plan coordinates (closed).
    landuse : str or None
        OSM landuse value it is mapped with, or None when it is not in the OSM file.
    """

    plot_id: str
    name: str
    owner: str
    zoning: str
    setting: str
    ring: np.ndarray
    landuse: str | None


def plot_count(scale: float) -> int:
    """Return the number of plots for a scale: 20 at small scales up to 50.

    Parameters
    ----------
    scale : float
        Town scale.

    Returns
    -------
    int
        Number of plots.
    """
    return int(np.clip(round(18 + 4 * scale), 20, 50))


def _split(n: int) -> dict[str, int]:
    raw = {s: n * _SHARE[s] for s in SETTINGS}
    out = {s: int(v) for s, v in raw.items()}
    rest = sorted(SETTINGS, key=lambda s: -(raw[s] - out[s]))
    for s in rest[: n - sum(out.values())]:
        out[s] += 1
    return out


class _Chooser:
    def __init__(
        self,
        rng: np.random.Generator,
        plan: Plan,
        lattices: list[Lattice],
        blockers: shapely.Geometry,
        measure: Callable[[np.ndarray], float],
    ) -> None:
        self.rng = rng
        self.measure = measure
        self.plan = plan
        self.lattices = lattices
        self.blockers = blockers
        self.taken: list[shapely.Polygon] = []

    def _lattice_pool(self, setting: str) -> list[int]:
        plan = self.plan
        parks = [c for c in plan.cells if c.kind == "park"]
        out = []
        for k, lat in enumerate(self.lattices):
            c = lat.cell
            if setting == "centre":
                ok = c.kind == "centre"
            elif setting == "railway":
                ok = c.kind in ("residential", "centre", "business") and c.x0 - 100 < plan.rail_x < c.x1 + 100
            else:
                beside = any(abs(c.i - p.i) + abs(c.j - p.j) == 1 for p in parks)
                ok = c.kind == "park" or (c.kind == "residential" and beside)
            if ok:
                out.append(k)
        return out

    def _near(self, setting: str, xy: np.ndarray) -> np.ndarray:
        """Whether region centres satisfy the setting's proximity rule."""
        plan = self.plan
        if setting == "railway":
            return np.asarray(np.abs(xy[:, 0] - plan.rail_x) < 200.0)
        if setting == "centre":
            sx, sy, _ = plan.stations[0]
            return np.asarray(np.hypot(xy[:, 0] - sx, xy[:, 1] - sy) < 450.0)
        parks = shapely.union_all([shapely.box(*c.inner(35.0)) for c in plan.cells if c.kind == "park"])
        return np.asarray(shapely.distance(shapely.points(xy), parks) < 220.0)

    def _ok(self, ring: np.ndarray) -> bool:
        """Whether a plot's final area (after the town's deformation) is within bounds."""
        return MIN_HA * 1e4 <= self.measure(ring) <= MAX_HA * 1e4

    def in_lattice(self, setting: str, area_ha: float) -> np.ndarray | None:
        pool = self._lattice_pool(setting)
        if not pool:
            return None
        block = float(np.median(np.concatenate([self.lattices[k].block_area.ravel() for k in pool])))
        # a region loses a 6 m margin to its streets: about 0.7 of a block's area remains
        n = max(1.0, area_ha * 1e4 / (0.7 * block))
        sizes = sorted(
            ((a, b) for a in range(1, 7) for b in range(1, 7) if abs(a - b) <= 1),
            key=lambda ab: (abs(ab[0] * ab[1] - n), ab),
        )
        for a, b in sizes[:6]:
            cands: list[tuple[int, int, int]] = []
            for k in pool:
                lat = self.lattices[k]
                ranges = lat.find_ranges(a, b)
                if not len(ranges):
                    continue
                ok = self._near(setting, lat.region_centres(ranges, a, b))
                cands += [(k, int(i), int(j)) for (i, j) in ranges[ok]]
            for m in self.rng.permutation(len(cands))[:20]:
                k, i, j = cands[int(m)]
                lat = self.lattices[k]
                ring = lat.region_ring(i, j, a, b, 6.0)
                if self._ok(ring):
                    lat.reserve("plot", i, j, a, b)
                    return ring
        return None

    def in_open_land(self, setting: str, area_ha: float) -> np.ndarray | None:
        plan = self.plan
        w, h = plan.width, plan.height
        x_lo, y_lo, x_hi, y_hi = plan.extent
        avoid = shapely.union_all([self.blockers.buffer(40.0), *[t.buffer(40.0) for t in self.taken]])
        shapely.prepare(avoid)
        for attempt in range(400):
            area = area_ha * 1e4 * (0.8 ** (attempt // 100))
            if setting == "motorway":
                depth = min(
                    plan.motorway_y * -1 - 24.0 - 30.0 - 35.0, np.sqrt(area) * self.rng.uniform(0.6, 1.2)
                )
                width = area / depth
                x0 = self.rng.uniform(60.0, w - 60.0 - width)
                if any(abs(x0 + width / 2 - xi) < width / 2 + 480.0 for xi in plan.interchanges()):
                    continue
                ring = rectangle(x0, -35.0 - depth, x0 + width, -35.0)
            else:
                depth = min(380.0, np.sqrt(area) * self.rng.uniform(0.6, 1.3))
                width = area / depth
                side = int(self.rng.integers(3))
                if side == 0:  # west
                    y0 = self.rng.uniform(80.0, h - 80.0 - width)
                    ring = rectangle(-35.0 - depth, y0, -35.0, y0 + width)
                elif side == 1:  # east
                    y0 = self.rng.uniform(80.0, h - 80.0 - width)
                    ring = rectangle(w + 35.0, y0, w + 35.0 + depth, y0 + width)
                else:  # north
                    x0 = self.rng.uniform(80.0, w - 80.0 - width)
                    ring = rectangle(x0, h + 35.0, x0 + width, h + 35.0 + depth)
            poly = shapely.Polygon(ring)
            inside = shapely.box(x_lo + 20, y_lo + 20, x_hi - 20, y_hi - 20).contains(poly)
            if inside and not avoid.intersects(poly) and self._ok(ring):
                return ring
        return None


def choose_plots(
    rng: np.random.Generator,
    plan: Plan,
    lattices: list[Lattice],
    blockers: shapely.Geometry,
    measure: Callable[[np.ndarray], float],
) -> list[Plot]:
    """Choose and reserve the development plots.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    plan : Plan
        The town plan.
    lattices : list of Lattice
        Cell lattices; plot regions are reserved in them.
    blockers : shapely geometry
        Water, railway and motorway corridors (open-land plots keep clear of them).
    measure : callable
        Area (m²) of a plan ring as it will be written (after the town's deformation);
        every plot's area stays within :data:`MIN_HA`..:data:`MAX_HA`.

    Returns
    -------
    list of Plot
        Plots with ids ``NS-001`` onwards.
    """
    chooser = _Chooser(rng, plan, lattices, blockers, measure)
    counts = _split(plot_count(plan.scale))
    plots: list[Plot] = []
    used_names: dict[str, int] = {}
    for setting in SETTINGS:
        lo, hi = AREA_HA[setting]
        for _ in range(counts[setting]):
            area = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            if setting in ("edge", "motorway"):
                ring = chooser.in_open_land(setting, area)
            else:
                ring = chooser.in_lattice(setting, area)
            if ring is None:
                # a small town has little room in its centre or along its park:
                # put the plot in the open land at the edge instead
                logger.debug("no room for a %s plot of %.1f ha; trying the edge", setting, area)
                setting_used = "edge"
                ring = chooser.in_open_land("edge", area)
                if ring is None:
                    continue
            else:
                setting_used = setting
            chooser.taken.append(shapely.Polygon(ring))
            word = _WORDS[setting_used][int(rng.integers(len(_WORDS[setting_used])))]
            k = used_names.get(word, 0)
            used_names[word] = k + 1
            name = f"Kavel {word}{_ROMAN[k] if k < len(_ROMAN) else f' {k + 1}'}"
            n = len(plots)
            plots.append(
                Plot(
                    plot_id=f"NS-{n + 1:03d}",
                    name=name,
                    owner=_OWNERS[int(rng.choice(3, p=_OWNER_P[setting_used]))],
                    zoning=_ZONING[setting_used][int(rng.integers(3))],
                    setting=setting_used,
                    ring=ring,
                    landuse=None if n % 4 == 3 else _LANDUSE[setting_used],
                )
            )
    logger.debug("%d plots chosen", len(plots))
    return plots
