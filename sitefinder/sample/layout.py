"""The town plan: main-road grid, neighbourhood cells, railway, motorway, canals and lakes.

Everything is in the local plan frame (metres, origin at the south-west corner
of the built-up area). A scale-1 town is about 4.4 km by 3.7 km; both sides
grow with the square root of ``scale`` so the area grows linearly.

The structure follows Dutch new towns such as Almere and Lelystad: a grid of
main roads (wegen/dreven, about 1 km apart) bounds the neighbourhoods (wijken),
each with its own street plan and a tertiary ring road; a motorway runs along
the south side with diamond interchanges; a railway crosses the town north to
south with a station in the centre; canals (vaarten) cross whole rows of
neighbourhoods; the central park has a lake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import shapely

from sitefinder.sample.geometry import ellipse, rectangle
from sitefinder.sample.names import ARTERIAL_NAMES, TOWN_NAME, neighbourhood_names

logger = logging.getLogger(__name__)

#: Built-up size of a scale-1 town (metres); both grow with sqrt(scale).
BASE_WIDTH, BASE_HEIGHT = 4400.0, 3700.0
#: Target spacing of the main-road grid (metres): Almere's wijkontsluitingswegen
#: bound neighbourhoods of roughly 1 km by 1 km.
CELL_WIDTH, CELL_HEIGHT = 1050.0, 950.0
#: Distance of the motorway axis south of the southern ring road (metres).
MOTORWAY_OFFSET = 320.0
#: Half-width of the motorway corridor that paths may not cross (metres).
MOTORWAY_HALF_WIDTH = 24.0
#: Half-width of the railway corridor (double track plus ballast and fences).
RAIL_HALF_WIDTH = 12.0
#: Minimum spacing of railway stations along the line (metres).
STATION_SPACING = 1800.0

CANAL_NAMES = (
    "Nieuwstadsvaart",
    "Hoge Vaart",
    "Lage Tocht",
    "Middenwetering",
    "Polderkanaal",
    "Lorentzvaart",
    "Knarvaart",
    "Gooiseweteringen",
)


@dataclass(frozen=True)
class Cell:
    """One neighbourhood (wijk) between four main roads.

    Attributes
    ----------
    i, j : int
        Column and row in the main-road grid.
    x0, y0, x1, y1 : float
        Centre lines of the bounding main roads.
    kind : str
        ``"centre"``, ``"residential"``, ``"park"`` or ``"business"``.
    name : str
        Neighbourhood name.
    theme : tuple of str
        Words for its street names.
    """

    i: int
    j: int
    x0: float
    y0: float
    x1: float
    y1: float
    kind: str
    name: str
    theme: tuple[str, ...]

    @property
    def centre(self) -> tuple[float, float]:
        """Centre point of the cell."""
        return (0.5 * (self.x0 + self.x1), 0.5 * (self.y0 + self.y1))

    def inner(self, margin: float) -> tuple[float, float, float, float]:
        """Return the cell rectangle shrunk by ``margin`` on each side."""
        return (self.x0 + margin, self.y0 + margin, self.x1 - margin, self.y1 - margin)


@dataclass(frozen=True)
class Canal:
    """A straight canal (vaart) across the town.

    Attributes
    ----------
    horizontal : bool
        True for an east-west canal.
    pos : float
        y (horizontal) or x (vertical) of the centre line.
    lo, hi : float
        Extent along the canal.
    width : float
        Water width in metres.
    name : str
        Canal name.
    """

    horizontal: bool
    pos: float
    lo: float
    hi: float
    width: float
    name: str

    def ring(self) -> np.ndarray:
        """Return the water polygon ring."""
        h = 0.5 * self.width
        if self.horizontal:
            return rectangle(self.lo, self.pos - h, self.hi, self.pos + h)
        return rectangle(self.pos - h, self.lo, self.pos + h, self.hi)

    def axis(self) -> np.ndarray:
        """Return the centre line."""
        if self.horizontal:
            return np.array([[self.lo, self.pos], [self.hi, self.pos]])
        return np.array([[self.pos, self.lo], [self.pos, self.hi]])


@dataclass
class Plan:
    """The town plan in the local frame.

    Attributes
    ----------
    scale : float
        Scale factor the plan was made for.
    width, height : float
        Size of the built-up area (outer ring road centre lines).
    xs, ys : numpy.ndarray
        Positions of the north-south and east-west main roads.
    x_class, y_class : list of str
        OSM highway class of each main road.
    x_names, y_names : list of str
        Names of the main roads.
    cells : list of Cell
        The neighbourhoods.
    rail_x : float
        x of the railway axis.
    stations : list of tuple
        ``(x, y, name)`` of the railway stations.
    motorway_y : float
        y of the motorway axis.
    canals : list of Canal
        The canals.
    lakes : list of tuple
        ``(ring, name)`` of the lakes.
    """

    scale: float
    width: float
    height: float
    xs: np.ndarray
    ys: np.ndarray
    x_class: list[str]
    y_class: list[str]
    x_names: list[str]
    y_names: list[str]
    cells: list[Cell]
    rail_x: float
    stations: list[tuple[float, float, str]]
    motorway_y: float
    canals: list[Canal] = field(default_factory=list)
    lakes: list[tuple[np.ndarray, str]] = field(default_factory=list)

    @property
    def centre_cell(self) -> Cell:
        """The town-centre cell."""
        return next(c for c in self.cells if c.kind == "centre")

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """Outline of the municipality: built-up area plus a rural fringe and the motorway."""
        return (-450.0, self.motorway_y - 250.0, self.width + 450.0, self.height + 450.0)

    @property
    def rail_span(self) -> tuple[float, float]:
        """South and north end of the railway inside the extent."""
        _, y0, _, y1 = self.extent
        return (y0, y1)

    def interchanges(self) -> list[float]:
        """Return the x of every primary road that crosses the motorway."""
        return [float(x) for x, c in zip(self.xs, self.x_class, strict=True) if c == "primary"]

    def water(self) -> shapely.Geometry:
        """Union of all water polygons."""
        polys = [shapely.Polygon(c.ring()) for c in self.canals]
        polys += [shapely.Polygon(r) for r, _ in self.lakes]
        return shapely.union_all(polys) if polys else shapely.Polygon()

    def rail_corridor(self) -> shapely.Geometry:
        """The railway corridor (fenced track bed)."""
        y0, y1 = self.rail_span
        return shapely.box(self.rail_x - RAIL_HALF_WIDTH, y0 - 10, self.rail_x + RAIL_HALF_WIDTH, y1 + 10)

    def motorway_corridor(self) -> shapely.Geometry:
        """The motorway corridor (both carriageways and verges)."""
        x0, _, x1, _ = self.extent
        y = self.motorway_y
        return shapely.box(x0 - 10, y - MOTORWAY_HALF_WIDTH, x1 + 10, y + MOTORWAY_HALF_WIDTH)


def stem(name: str) -> str:
    """Return a neighbourhood name without its buurt/wijk/kwartier suffix.

    Parameters
    ----------
    name : str
        Neighbourhood name, e.g. ``"Bloemenbuurt Noord"``.

    Returns
    -------
    str
        The stem, e.g. ``"Bloemen"``.
    """
    word = name.split(maxsplit=1)[0]
    for suffix in ("buurt", "wijk", "kwartier"):
        if word.endswith(suffix):
            return word.removesuffix(suffix)
    return word


def _grid_lines(length: float, target: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of main roads from 0 to ``length``, about ``target`` apart, jittered."""
    n = max(2, round(length / target))
    pos = np.linspace(0.0, length, n + 1)
    step = length / n
    pos[1:-1] += rng.uniform(-0.08, 0.08, n - 1) * step
    return np.round(pos, 1)


def make_plan(rng: np.random.Generator, scale: float) -> Plan:
    """Lay out the town: main-road grid, cell types, railway, stations, motorway, water.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    scale : float
        Size factor; 1 gives a town of about 30,000 inhabitants.

    Returns
    -------
    Plan
        The plan.
    """
    side = float(np.sqrt(scale))
    width, height = round(BASE_WIDTH * side), round(BASE_HEIGHT * side)
    xs = _grid_lines(width, CELL_WIDTH, rng)
    ys = _grid_lines(height, CELL_HEIGHT, rng)
    ncol, nrow = len(xs) - 1, len(ys) - 1
    ci, cj = ncol // 2, nrow // 2

    def primary(n: int, c: int) -> list[str]:
        return ["primary" if (k - c) % 3 == 0 and 0 < k < n else "secondary" for k in range(n + 1)]

    x_class = primary(ncol, ci)
    y_class = primary(nrow, cj)
    # the centre cell lies east of its primary road; the outer ring is secondary
    names = [ARTERIAL_NAMES[int(k)] for k in rng.permutation(len(ARTERIAL_NAMES))]
    names += [f"{n} Oost" for n in names]
    x_names = names[: ncol + 1]
    y_names = names[ncol + 1 : ncol + nrow + 2]

    # cell kinds: centre, a central park next to it, business parks along the motorway
    kinds = np.full((ncol, nrow), "residential", dtype=object)
    kinds[ci, cj] = "centre"
    park_i = ci + 1 if ci + 1 < ncol else ci - 1
    kinds[park_i, cj] = "park"
    n_cells = ncol * nrow
    extra_parks = max(0, round(n_cells * 0.07) - 1)
    # business parks (bedrijventerreinen) along the motorway, at most 60% of the southern row
    n_business = min(round(n_cells * 0.06), int(0.6 * ncol)) if n_cells >= 6 else 0
    south = [(i, 0) for i in np.argsort(np.abs(np.arange(ncol) - ci), kind="stable")]
    for i, j in south:
        if n_business == 0:
            break
        if kinds[i, j] == "residential":
            kinds[i, j] = "business"
            n_business -= 1
    free = [(i, j) for i in range(ncol) for j in range(nrow) if kinds[i, j] == "residential"]
    for k in rng.permutation(len(free))[:extra_parks]:
        i, j = free[int(k)]
        if abs(i - ci) + abs(j - cj) > 1:
            kinds[i, j] = "park"

    themes = neighbourhood_names(n_cells, rng)
    cells = []
    for j in range(nrow):
        for i in range(ncol):
            name, words = themes[j * ncol + i]
            kind = str(kinds[i, j])
            if kind == "centre":
                name = f"{TOWN_NAME} Centrum"
            elif kind == "park":
                name = "Stadspark" if (i, j) == (park_i, cj) else f"{stem(name)}park"
            elif kind == "business":
                name = f"Bedrijventerrein {stem(name)}"
            cells.append(
                Cell(i, j, float(xs[i]), float(ys[j]), float(xs[i + 1]), float(ys[j + 1]), kind, name, words)
            )

    centre = next(c for c in cells if c.kind == "centre")
    rail_x = round(centre.x0 + (centre.x1 - centre.x0) * rng.uniform(0.55, 0.65), 1)
    stations = [(rail_x, centre.centre[1], f"{TOWN_NAME} Centrum")]
    row_mid = [(0.5 * (ys[j] + ys[j + 1]), j) for j in range(nrow)]
    row_mid.sort(key=lambda t: abs(t[0] - centre.centre[1]))
    for y, j in row_mid:
        if all(abs(y - s[1]) >= STATION_SPACING for s in stations):
            cell = next(c for c in cells if c.j == j and c.x0 <= rail_x < c.x1)
            stations.append((rail_x, float(y), f"{TOWN_NAME} {cell.name.split()[0]}"))

    plan = Plan(
        scale,
        float(width),
        float(height),
        xs,
        ys,
        x_class,
        y_class,
        x_names,
        y_names,
        cells,
        float(rail_x),
        stations,
        -MOTORWAY_OFFSET,
    )
    _add_water(plan, rng, ci, cj, park_i)
    return plan


def _add_water(plan: Plan, rng: np.random.Generator, ci: int, cj: int, park_i: int) -> None:
    """Add canals across rows/columns of cells and a lake in every park cell."""
    xs, ys = plan.xs, plan.ys
    nrow, ncol = len(ys) - 1, len(xs) - 1
    rows = [cj + 1 if cj + 1 < nrow else cj - 1]
    rows += [j for j in range(nrow) if abs(j - rows[0]) >= 3 and (j - rows[0]) % 3 == 0]
    names = iter(CANAL_NAMES * 4)
    for j in rows:
        y = ys[j] + (ys[j + 1] - ys[j]) * rng.uniform(0.4, 0.6)
        plan.canals.append(
            Canal(
                True, round(float(y), 1), -700.0, plan.width + 700.0, float(rng.uniform(22, 32)), next(names)
            )
        )
    cols = [i for i in range(ncol) if abs(i - ci) >= 3 and (i - ci) % 3 == 0]
    for i in cols:
        x = xs[i] + (xs[i + 1] - xs[i]) * rng.uniform(0.4, 0.6)
        if abs(x - plan.rail_x) < 300:
            continue
        plan.canals.append(
            Canal(
                False, round(float(x), 1), 150.0, plan.height + 700.0, float(rng.uniform(18, 26)), next(names)
            )
        )
    for cell in plan.cells:
        if cell.kind != "park":
            continue
        x0, y0, x1, y1 = cell.inner(60.0)
        big = (cell.i, cell.j) == (park_i, cj)
        f = rng.uniform(0.55, 0.7) if big else rng.uniform(0.3, 0.45)
        cx, cy = cell.centre
        rx, ry = 0.5 * (x1 - x0) * f, 0.5 * (y1 - y0) * f
        ring = ellipse(cx, cy, rx, ry, rng, wobble=0.25)
        # keep lakes clear of canals
        lake = shapely.Polygon(ring)
        canals = shapely.union_all([shapely.Polygon(c.ring()) for c in plan.canals])
        if lake.buffer(40).intersects(canals):
            continue
        plan.lakes.append((ring, "Stadsmeer" if big else f"{cell.name.removesuffix('park')}plas"))
