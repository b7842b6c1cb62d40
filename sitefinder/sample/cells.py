"""The street plan inside one neighbourhood: a jittered, often rotated lattice of blocks.

Each cell of the main-road grid gets a tertiary ring road a little inside the
main roads, connected to them by a few access roads and many footpaths. Inside
the ring lies a lattice of housing blocks (about 50 m by 80 m, the size of two
back-to-back rows of terraced houses) whose orientation varies per
neighbourhood. Lattice edges become named residential streets; some are
interrupted for cars (a ``knip``: footway), some end as cul-de-sacs. Every
block gets the Dutch back alley (achterpad) along its long axis and sometimes a
brandgang or a hofje (short cul-de-sac). Blocks can be reserved as a whole
region (plot, school, pocket park, ...); the streets inside a reserved region
are not built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

from sitefinder.sample.layout import Cell
from sitefinder.sample.names import StreetNamer
from sitefinder.sample.network import Line, Tags, intersecting

logger = logging.getLogger(__name__)

_NONE, _STREET, _KNIP, _STUB, _DROP, _PEDESTRIAN = 0, 1, 2, 3, 4, 5

#: Streets within this distance of the central station form the car-free shopping core.
PEDESTRIAN_RADIUS = 230.0


@dataclass(frozen=True)
class Style:
    """Parameters of a neighbourhood's street plan.

    Attributes
    ----------
    su, sv : tuple of float
        Range of block spacing along the long (u) and short (v) lattice axes, metres.
    jitter : float
        Random displacement of lattice nodes, metres.
    rotate : bool
        Whether the lattice may be rotated against the main-road grid.
    street : dict
        Tags of lattice streets.
    named : bool
        Whether lattice streets get names.
    achterpad, brandgang, hofje : float
        Per-block probabilities of a back alley, a cross alley and a cul-de-sac.
    stub, knip, drop : float
        Per-edge probabilities of a cul-de-sac pair, a car-free footway link and removal.
    ring : dict
        Tags of the ring road.
    margin : float
        Distance of the ring road from the main roads' centre lines.
    """

    su: tuple[float, float]
    sv: tuple[float, float]
    jitter: float
    rotate: bool
    street: Tags
    named: bool
    achterpad: float
    brandgang: float
    hofje: float
    stub: float
    knip: float
    drop: float
    ring: Tags
    margin: float


STYLES: dict[str, Style] = {
    # terraced housing: blocks of two back-to-back rows, back alleys, hofjes, cul-de-sacs
    "residential": Style(
        su=(56.0, 84.0), sv=(40.0, 50.0), jitter=2.5, rotate=True,
        street={"highway": "residential"}, named=True,
        achterpad=0.85, brandgang=0.6, hofje=0.5, stub=0.07, knip=0.08, drop=0.0,
        ring={"highway": "tertiary"}, margin=45.0,
    ),
    # town centre: small blocks aligned with the railway, alleys (stegen), pedestrian core
    "centre": Style(
        su=(50.0, 66.0), sv=(40.0, 48.0), jitter=1.5, rotate=False,
        street={"highway": "residential"}, named=True,
        achterpad=0.0, brandgang=0.45, hofje=0.0, stub=0.03, knip=0.05, drop=0.0,
        ring={"highway": "tertiary"}, margin=45.0,
    ),
    # park: a loose, wobbly network of footpaths
    "park": Style(
        su=(110.0, 160.0), sv=(100.0, 140.0), jitter=14.0, rotate=True,
        street={"highway": "footway"}, named=False,
        achterpad=0.0, brandgang=0.0, hofje=0.0, stub=0.0, knip=0.0, drop=0.25,
        ring={"highway": "footway"}, margin=35.0,
    ),
    # business park: large plots on a coarse grid of access roads
    "business": Style(
        su=(170.0, 230.0), sv=(130.0, 180.0), jitter=3.0, rotate=False,
        street={"highway": "unclassified"}, named=True,
        achterpad=0.0, brandgang=0.0, hofje=0.0, stub=0.25, knip=0.0, drop=0.0,
        ring={"highway": "unclassified"}, margin=45.0,
    ),
}  # fmt: skip

#: Minimum distance of housing blocks from water and the railway corridor (metres).
BLOCK_CLEARANCE = 14.0


@dataclass
class Reservation:
    """A region of whole blocks taken out of the housing lattice.

    Attributes
    ----------
    kind : str
        What it is for (``"plot"``, ``"school"``, ``"park"``, ...).
    i0, j0, a, b : int
        First block and size in blocks along u and v.
    """

    kind: str
    i0: int
    j0: int
    a: int
    b: int


class Lattice:
    """The block lattice of one cell.

    Parameters
    ----------
    cell : Cell
        The neighbourhood.
    rng : numpy.random.Generator
        Random source.
    blockers : shapely geometry
        Water and railway; blocks too close to them are not used.
    focus : tuple of float, optional
        Centre of a pedestrian shopping core (the central station).
    """

    def __init__(
        self,
        cell: Cell,
        rng: np.random.Generator,
        blockers: shapely.Geometry,
        focus: tuple[float, float] | None = None,
    ) -> None:
        self.cell = cell
        self.style = style = STYLES["residential" if cell.kind == "residential" else cell.kind]
        self.rect = cell.inner(style.margin)
        x0, y0, x1, y1 = self.rect
        theta = 0.0
        if style.rotate and rng.random() < 0.7:
            theta = float(rng.uniform(-0.8, 0.8))
            if abs(theta) < 0.2:
                theta = 0.0
        if rng.random() < 0.5:
            theta += 0.5 * np.pi
        self.axis_aligned = theta in (0.0, 0.5 * np.pi)
        self.eu = np.array([np.cos(theta), np.sin(theta)])
        self.ev = np.array([-np.sin(theta), np.cos(theta)])
        self.origin = np.array(cell.centre)
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) - self.origin
        # neighbourhoods differ: some have larger blocks, some smaller
        f = float(rng.uniform(0.9, 1.15)) if cell.kind == "residential" else 1.0
        u_pos = self._positions(corners @ self.eu, (style.su[0] * f, style.su[1] * f), rng)
        v_pos = self._positions(corners @ self.ev, (style.sv[0] * f, style.sv[1] * f), rng)
        self.nu, self.nv = len(u_pos), len(v_pos)
        uu, vv = np.meshgrid(u_pos, v_pos, indexing="ij")
        xy = self.origin + uu[..., None] * self.eu + vv[..., None] * self.ev
        self.xy = xy + rng.uniform(-style.jitter, style.jitter, xy.shape)
        # inside/outside is decided on the planned (unjittered) positions, so that a lattice
        # line parallel to the ring road is either wholly inside or wholly outside
        shrink = 25.0 if self.axis_aligned else 10.0
        self.inside = (
            (xy[..., 0] > x0 + shrink)
            & (xy[..., 0] < x1 - shrink)
            & (xy[..., 1] > y0 + shrink)
            & (xy[..., 1] < y1 - shrink)
        )
        quads = self._quads()
        corners_in = self.inside[:-1, :-1] & self.inside[1:, :-1] & self.inside[1:, 1:] & self.inside[:-1, 1:]
        polys = shapely.polygons(quads.reshape(-1, 5, 2))
        if not blockers.is_empty:
            clear = blockers.buffer(BLOCK_CLEARANCE)
            shapely.prepare(clear)
            hit = np.zeros(len(polys), dtype=bool)
            hit[intersecting(polys, clear)] = True
            hit = hit.reshape(corners_in.shape)
        else:
            hit = np.zeros(corners_in.shape, dtype=bool)
        self.valid = corners_in & ~hit
        self.block_area = shapely.area(polys).reshape(corners_in.shape)
        self.res = np.full(self.valid.shape, -1, dtype=np.int64)
        self.reservations: list[Reservation] = []
        # random edge kinds (only between two usable blocks)
        self.eu_kind = self._edge_kinds(rng, self.nu - 1, self.nv)
        self.ev_kind = self._edge_kinds(rng, self.nu, self.nv - 1)
        self.block_draw = rng.random((self.nu - 1, self.nv - 1, 4))
        if focus is not None:
            mid_u = 0.5 * (self.xy[:-1, :] + self.xy[1:, :])
            mid_v = 0.5 * (self.xy[:, :-1] + self.xy[:, 1:])
            near_u = np.hypot(*(mid_u - np.asarray(focus)).transpose(2, 0, 1)) < PEDESTRIAN_RADIUS
            near_v = np.hypot(*(mid_v - np.asarray(focus)).transpose(2, 0, 1)) < PEDESTRIAN_RADIUS
            self.eu_kind[near_u] = _PEDESTRIAN
            self.ev_kind[near_v] = _PEDESTRIAN

    def _positions(
        self, proj: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator
    ) -> np.ndarray:
        """Lattice line positions covering ``proj``'s range plus one line beyond each side."""
        lo, hi = float(proj.min()), float(proj.max())
        # an axis-aligned lattice keeps its first street well clear of the ring road
        start = lo + (rng.uniform(30.0, 42.0) if self.axis_aligned else rng.uniform(0.0, spacing[1]))
        pos = [start - rng.uniform(*spacing)]
        while pos[-1] <= hi:
            pos.append(pos[-1] + rng.uniform(*spacing))
        return np.array(pos)

    def _quads(self) -> np.ndarray:
        p = self.xy
        return np.stack([p[:-1, :-1], p[1:, :-1], p[1:, 1:], p[:-1, 1:], p[:-1, :-1]], axis=2)

    def _edge_kinds(self, rng: np.random.Generator, n: int, m: int) -> np.ndarray:
        s = self.style
        draw = rng.random((n, m))
        kind = np.full((n, m), _STREET, dtype=np.int64)
        kind[draw < s.stub + s.knip + s.drop] = _DROP
        kind[draw < s.stub + s.knip] = _KNIP
        kind[draw < s.stub] = _STUB
        return kind

    # -- blocks ----------------------------------------------------------------------------

    def _blocks_beside(self, i: int, j: int, horizontal: bool) -> list[tuple[int, int]]:
        """Blocks on both sides of edge (i, j) that exist in the lattice."""
        cand = [(i, j - 1), (i, j)] if horizontal else [(i - 1, j), (i, j)]
        return [(a, b) for a, b in cand if 0 <= a < self.nu - 1 and 0 <= b < self.nv - 1]

    def free_blocks(self) -> list[tuple[int, int]]:
        """Return usable, unreserved blocks in a stable order.

        Returns
        -------
        list of tuple of int
            Block indices ``(i, j)``.
        """
        ii, jj = np.nonzero(self.valid & (self.res < 0))
        return list(zip(ii.tolist(), jj.tolist(), strict=True))

    def block_point(self, i: int, j: int, fu: float, fv: float) -> np.ndarray:
        """Return a point inside block ``(i, j)`` at fractional position ``(fu, fv)``.

        Parameters
        ----------
        i, j : int
            Block index.
        fu, fv : float
            Position within the block, 0..1 along u and v.

        Returns
        -------
        numpy.ndarray
            Plan coordinates.
        """
        # In plain floats (the same IEEE operations as the vector form, a tenth of the time).
        p = self.xy
        x00, y00 = p[i, j].tolist()
        x10, y10 = p[i + 1, j].tolist()
        x01, y01 = p[i, j + 1].tolist()
        x11, y11 = p[i + 1, j + 1].tolist()
        ax, ay = x00 + (x10 - x00) * fu, y00 + (y10 - y00) * fu
        bx, by = x01 + (x11 - x01) * fu, y01 + (y11 - y01) * fu
        return np.array([ax + (bx - ax) * fv, ay + (by - ay) * fv])

    def block_rect(self, i: int, j: int, fu0: float, fv0: float, fu1: float, fv1: float) -> np.ndarray:
        """Return a closed ring covering a fractional sub-rectangle of block ``(i, j)``.

        Parameters
        ----------
        i, j : int
            Block index.
        fu0, fv0, fu1, fv1 : float
            Fractional bounds along u and v.

        Returns
        -------
        numpy.ndarray
            ``(5, 2)`` ring.
        """
        # block_point's float operations, with the corners read once and one array built.
        p = self.xy
        x00, y00 = p[i, j].tolist()
        x10, y10 = p[i + 1, j].tolist()
        x01, y01 = p[i, j + 1].tolist()
        x11, y11 = p[i + 1, j + 1].tolist()
        pts = []
        for fu, fv in ((fu0, fv0), (fu1, fv0), (fu1, fv1), (fu0, fv1), (fu0, fv0)):
            ax, ay = x00 + (x10 - x00) * fu, y00 + (y10 - y00) * fu
            bx, by = x01 + (x11 - x01) * fu, y01 + (y11 - y01) * fu
            pts.append((ax + (bx - ax) * fv, ay + (by - ay) * fv))
        return np.array(pts)

    def residential_area(self) -> float:
        """Area (m²) of usable blocks not reserved as a development plot.

        Returns
        -------
        float
            Block area including half the surrounding streets.
        """
        plot_ids = [k for k, r in enumerate(self.reservations) if r.kind == "plot"]
        mask = self.valid & ~np.isin(self.res, plot_ids)
        return float(self.block_area[mask].sum())

    def find_ranges(self, a: int, b: int) -> np.ndarray:
        """Return the first blocks ``(i0, j0)`` of all free ``a`` by ``b`` block regions.

        Parameters
        ----------
        a, b : int
            Region size in blocks along u and v.

        Returns
        -------
        numpy.ndarray
            ``(k, 2)`` integer array.
        """
        free = (self.valid & (self.res < 0)).astype(np.int64)
        n, m = free.shape
        if a > n or b > m:
            return np.zeros((0, 2), dtype=np.int64)
        sat = np.zeros((n + 1, m + 1), dtype=np.int64)
        sat[1:, 1:] = free.cumsum(0).cumsum(1)
        tot = sat[a:, b:] - sat[:-a, b:] - sat[a:, :-b] + sat[:-a, :-b]
        return np.argwhere(tot == a * b)

    def region_centres(self, ranges: np.ndarray, a: int, b: int) -> np.ndarray:
        """Return the centres of block regions (mean of their corner nodes).

        Parameters
        ----------
        ranges : numpy.ndarray
            ``(k, 2)`` first blocks, as from :meth:`find_ranges`.
        a, b : int
            Region size in blocks.

        Returns
        -------
        numpy.ndarray
            ``(k, 2)`` plan coordinates.
        """
        p = self.xy
        i, j = ranges[:, 0], ranges[:, 1]
        return np.asarray((p[i, j] + p[i + a, j] + p[i + a, j + b] + p[i, j + b]) / 4.0)

    def region_ring(self, i0: int, j0: int, a: int, b: int, inset: float) -> np.ndarray:
        """Return the outline of a block region, ``inset`` metres inside its streets.

        Parameters
        ----------
        i0, j0, a, b : int
            Region.
        inset : float
            Distance from the street centre lines.

        Returns
        -------
        numpy.ndarray
            Closed ring.
        """
        p = self.xy
        i1, j1 = i0 + a, j0 + b
        ring = np.vstack([p[i0:i1, j0], p[i1, j0:j1], p[i1:i0:-1, j1], p[i0, j1:j0:-1], p[i0 : i0 + 1, j0]])
        poly = shapely.Polygon(ring).buffer(-inset, join_style="mitre")
        if poly.geom_type != "Polygon":
            poly = max(shapely.get_parts(poly), key=lambda g: g.area)
        return np.asarray(shapely.get_coordinates(shapely.get_exterior_ring(poly)))

    def reserve(self, kind: str, i0: int, j0: int, a: int, b: int) -> Reservation:
        """Take a free block region out of the housing lattice.

        Parameters
        ----------
        kind : str
            Purpose of the region.
        i0, j0, a, b : int
            Region.

        Returns
        -------
        Reservation
            The new reservation.
        """
        r = Reservation(kind, i0, j0, a, b)
        self.res[i0 : i0 + a, j0 : j0 + b] = len(self.reservations)
        self.reservations.append(r)
        return r

    # -- emission --------------------------------------------------------------------------

    def _clip(self, p: np.ndarray, q: np.ndarray) -> np.ndarray | None:
        """Point where the ray from inside point p through q meets the ring rectangle.

        None when that point lies more than 30 m beyond q (a ray almost parallel to the
        ring); the street then ends at p.
        """
        x0, y0, x1, y1 = self.rect
        d = q - p
        best, fix = np.inf, (0, float(p[0]))
        for axis, lo, hi in ((0, x0, x1), (1, y0, y1)):
            if abs(d[axis]) < 1e-9:
                continue
            bound = hi if d[axis] > 0 else lo
            t = (bound - p[axis]) / d[axis]
            if 0 < t < best:
                best, fix = t, (axis, bound)
        if (best - 1.0) * float(np.hypot(*d)) > 30.0:
            return None
        out = p + best * d
        out[fix[0]] = fix[1]
        return np.asarray(out)

    def _edge_skipped(self, i: int, j: int, horizontal: bool) -> bool:
        beside = self._blocks_beside(i, j, horizontal)
        if len(beside) != 2:
            return False
        (a1, b1), (a2, b2) = beside
        r1, r2 = self.res[a1, b1], self.res[a2, b2]
        return bool(r1 >= 0 and r1 == r2)

    def _interior(self, i: int, j: int, horizontal: bool) -> bool:
        beside = self._blocks_beside(i, j, horizontal)
        return len(beside) == 2 and all(self.valid[a, b] and self.res[a, b] < 0 for a, b in beside)

    def _line_pieces(
        self, nodes: list[tuple[int, int]], kinds: list[int], horizontals: list[tuple[int, int, bool]]
    ) -> list[tuple[np.ndarray, int]]:
        """Turn the edges of one lattice line into pieces ``(xy, kind)``."""
        pieces: list[tuple[np.ndarray, int]] = []
        for k, (edge_i, edge_j, horizontal) in enumerate(horizontals):
            a, b = nodes[k], nodes[k + 1]
            ina, inb = bool(self.inside[a]), bool(self.inside[b])
            if not (ina or inb) or self._edge_skipped(edge_i, edge_j, horizontal):
                continue
            pa, pb = self.xy[a], self.xy[b]
            clipped = self._clip(pb, pa) if not ina else self._clip(pa, pb) if not inb else pb
            if clipped is None:
                continue
            if not ina:
                pa = clipped
            elif not inb:
                pb = clipped
            if float(np.hypot(*(pb - pa))) < 8.0:
                continue
            kind = kinds[k]
            if kind != _PEDESTRIAN and not (ina and inb and self._interior(edge_i, edge_j, horizontal)):
                kind = _STREET
            if kind == _STUB:
                d = pb - pa
                pieces.append((np.array([pa, pa + 0.35 * d]), _STREET))
                pieces.append((np.array([pb - 0.35 * d, pb]), _STREET))
            elif kind != _DROP:
                pieces.append((np.array([pa, pb]), kind))
        return pieces

    def lines(self, namer: StreetNamer, rng: np.random.Generator) -> list[Line]:
        """Build the cell's streets and paths.

        Parameters
        ----------
        namer : StreetNamer
            Street names of the neighbourhood.
        rng : numpy.random.Generator
            Random source.

        Returns
        -------
        list of Line
            Ring road, connectors, lattice streets, alleys and park paths.
        """
        s = self.style
        out: list[Line] = []
        x0, y0, x1, y1 = self.rect
        ring_tags = dict(s.ring)
        if ring_tags["highway"] != "footway":
            ring_tags["name"] = namer.next()
        out.append(Line(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]), ring_tags))
        out += self._connectors(rng)
        # lattice lines: v-lines (constant j, edges along u) and u-lines (constant i)
        for j in range(self.nv):
            nodes = [(i, j) for i in range(self.nu)]
            kinds = [int(self.eu_kind[i, j]) for i in range(self.nu - 1)]
            edges = [(i, j, True) for i in range(self.nu - 1)]
            out += self._runs(self._line_pieces(nodes, kinds, edges), namer)
        for i in range(self.nu):
            nodes = [(i, j) for j in range(self.nv)]
            kinds = [int(self.ev_kind[i, j]) for j in range(self.nv - 1)]
            edges = [(i, j, False) for j in range(self.nv - 1)]
            out += self._runs(self._line_pieces(nodes, kinds, edges), namer)
        out += self._block_paths()
        out += self._reserved_paths()
        return out

    def _runs(self, pieces: list[tuple[np.ndarray, int]], namer: StreetNamer) -> list[Line]:
        """Merge consecutive touching pieces of the same kind into ways."""
        out: list[Line] = []
        name = namer.next() if self.style.named and pieces else None
        run: list[np.ndarray] = []
        kind = -1
        for xy, k in pieces:
            last = run[-1][-1] if run else None
            if last is not None and k == kind and last[0] == xy[0, 0] and last[1] == xy[0, 1]:
                run.append(xy[1:])
                continue
            if run:
                out.append(self._run_line(np.vstack(run), kind, name))
            run, kind = [xy], k
        if run:
            out.append(self._run_line(np.vstack(run), kind, name))
        return out

    def _run_line(self, xy: np.ndarray, kind: int, name: str | None) -> Line:
        if kind == _KNIP:
            return Line(xy, {"highway": "footway"})
        if kind == _PEDESTRIAN:
            return Line(xy, {"highway": "pedestrian", **({"name": name} if name else {})})
        tags = dict(self.style.street)
        if name is not None:
            tags["name"] = name
        return Line(xy, tags)

    def _connectors(self, rng: np.random.Generator) -> list[Line]:
        """Access roads and footpaths from the ring road out to the main roads."""
        c = self.cell
        x0, y0, x1, y1 = self.rect
        out: list[Line] = []
        road = dict(self.style.ring)
        if road["highway"] == "footway":
            road = {"highway": "cycleway", "foot": "yes"}
        road_sides = {int(k) for k in rng.choice(4, size=2, replace=False)}
        sides = (
            (x0, x1, lambda t: ((t, y0), (t, c.y0))),
            (x0, x1, lambda t: ((t, y1), (t, c.y1))),
            (y0, y1, lambda t: ((x0, t), (c.x0, t))),
            (y0, y1, lambda t: ((x1, t), (c.x1, t))),
        )
        for k, (lo, hi, seg) in enumerate(sides):
            n = max(1, int((hi - lo - 120.0) // 150.0))
            ts = np.linspace(lo + 60.0, hi - 60.0, n + 2)[1:-1] + rng.uniform(-25, 25, n)
            for m, t in enumerate(ts):
                tags = road if (m == n // 2 and k in road_sides) else {"highway": "footway"}
                out.append(Line(np.array(seg(float(t)), dtype=float), dict(tags)))
        return out

    def _bilinear(
        self, ii: np.ndarray, jj: np.ndarray, fu: np.ndarray | float, fv: np.ndarray | float
    ) -> np.ndarray:
        """Vectorised :meth:`block_point` for many blocks."""
        p = self.xy
        fu = np.broadcast_to(np.asarray(fu, dtype=float), ii.shape)[:, None]
        fv = np.broadcast_to(np.asarray(fv, dtype=float), ii.shape)[:, None]
        a = p[ii, jj] + (p[ii + 1, jj] - p[ii, jj]) * fu
        b = p[ii, jj + 1] + (p[ii + 1, jj + 1] - p[ii, jj + 1]) * fu
        return np.asarray(a + (b - a) * fv)

    def _block_paths(self) -> list[Line]:
        """Back alleys, cross alleys and hofjes inside free housing blocks."""
        s = self.style
        if s.achterpad == 0 and s.brandgang == 0 and s.hofje == 0:
            return []
        blocks = np.array(self.free_blocks(), dtype=np.int64).reshape(-1, 2)
        ii, jj = blocks[:, 0], blocks[:, 1]
        r = self.block_draw[ii, jj]
        mid = self._bilinear(ii, jj, 0.5, 0.5)
        left, right = self._bilinear(ii, jj, 0.0, 0.5), self._bilinear(ii, jj, 1.0, 0.5)
        bottom, top = self._bilinear(ii, jj, 0.5, 0.0), self._bilinear(ii, jj, 0.5, 1.0)
        fu = np.where(r[:, 3] < 0.5, 0.25, 0.75)
        hof_a, hof_b = self._bilinear(ii, jj, fu, 1.0), self._bilinear(ii, jj, fu, 0.68)
        out: list[Line] = []
        for k in range(len(blocks)):
            if r[k, 0] < s.achterpad:
                # along u, between the two short sides
                out.append(Line(np.array([left[k], mid[k], right[k]]), {"highway": "footway"}))
                if r[k, 1] < s.brandgang:
                    out.append(Line(np.array([mid[k], bottom[k]]), {"highway": "footway"}))
            elif r[k, 1] < s.brandgang:
                out.append(Line(np.array([bottom[k], top[k]]), {"highway": "footway"}))
            if r[k, 2] < s.hofje:
                out.append(Line(np.array([hof_a[k], hof_b[k]]), {"highway": "residential", "noexit": "yes"}))
        return out

    def _reserved_paths(self) -> list[Line]:
        """A diagonal footpath across each pocket park."""
        out = []
        for r in self.reservations:
            if r.kind == "park" and r.a * r.b > 1:
                a = self.xy[r.i0, r.j0]
                b = self.xy[r.i0 + r.a, r.j0 + r.b]
                if self.inside[r.i0, r.j0] and self.inside[r.i0 + r.a, r.j0 + r.b]:
                    out.append(Line(np.array([a, b]), {"highway": "footway"}))
        return out
