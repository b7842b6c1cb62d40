"""Facilities of the sample town at realistic densities per inhabitant.

The number of facilities of each kind follows national averages for the
Netherlands (inhabitants per facility below). Where no national count exists
the figure is an assumption and says so. All figures are approximate and
rounded; check the named source's current edition before quoting them.

Facilities cluster as in a Dutch new town: most shops, bars and restaurants in
the town centre around the station; every neighbourhood has a small centre
(wijkcentrum) with a supermarket, often a health centre (GP, pharmacy,
physiotherapy) and a community centre; schools, day care, care homes and
group homes are spread over the neighbourhoods.

OSM tagging deliberately mixes the schemes found in real Dutch data: GPs as
``amenity=doctors``, ``healthcare=doctor`` or both, some as building polygons,
and at least one mapped both as a building polygon and as a node inside it
(a loader must count it once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from sitefinder.sample.cells import Lattice
from sitefinder.sample.layout import Plan, stem
from sitefinder.sample.names import SCHOOL_NAMES, SUPERMARKET_BRANDS, SURNAMES, TOWN_NAME
from sitefinder.sample.network import Tags
from sitefinder.sample.osmxml import Feature

logger = logging.getLogger(__name__)

#: Inhabitants per facility (national averages, the Netherlands, about 17.9 million people).
INHABITANTS_PER: dict[str, float] = {
    # NIVEL, "Cijfers uit de registratie van huisartsen" (peiling 2022): approximately
    # 5,000 GP practices. (The LHV norm practice of ~2,100-2,300 patients is per
    # full-time GP, not per practice.)
    "gp": 3_500.0,
    # SFK, "Data en feiten" 2023 / KNMP: approximately 2,000 public pharmacies,
    # one per ~9,000 inhabitants.
    "pharmacy": 9_000.0,
    # Distrifood / CBS: approximately 4,400-4,500 supermarkets; CBS Nabijheidsstatistiek
    # gives an average distance to the nearest large supermarket of about 1 km.
    "supermarket": 4_000.0,
    # Assumption (no national count of avondwinkels, toko's and small grocers in OSM).
    "convenience": 7_500.0,
    # Assumption: about one buurthuis/wijkcentrum per neighbourhood of ~6,000; there is
    # no national count; compare with municipal welfare (welzijn) lists.
    "meeting_place": 6_000.0,
    # DUO, "Onderwijs in cijfers": approximately 6,100 primary school locations.
    "primary_school": 2_900.0,
    # DUO, "Onderwijs in cijfers": approximately 1,400 secondary school locations.
    "secondary_school": 12_500.0,
    # Landelijk Register Kinderopvang: approximately 8,500 day-care centres
    # (kinderdagverblijven), not counting childminders and after-school care.
    "daycare": 2_100.0,
    # Vektis / ActiZ: approximately 2,300-2,500 nursing-home locations.
    "nursing_home": 7_500.0,
    # Assumption: small group homes of disability care (VGN members), GGZ and
    # sheltered housing (beschermd wonen); no single national count.
    "group_home": 4_000.0,
    # Assumption: serviceflats and clustered assisted-living buildings.
    "assisted_living": 10_000.0,
    # CBS / Koninklijke Horeca Nederland: approximately 11,500 drinking establishments.
    "bar_pub": 1_500.0,
    # KHN: approximately 500 discotheques and clubs; assumption beyond that.
    "nightclub": 35_000.0,
    # CBS: approximately 35,000 restaurants, cafés (food) and fast-food outlets.
    "food_drink": 500.0,
    # KNGF: approximately 5,000-6,000 physiotherapy practices.
    "physiotherapy": 3_500.0,
    # Locatus: approximately 80,000 physical shops (non-food and other food shops).
    "shop": 220.0,
}

#: Minimum number of each facility, so even a small sample has every category.
MINIMUM: dict[str, int] = {
    "gp": 1, "pharmacy": 1, "supermarket": 1, "convenience": 1, "meeting_place": 1,
    "primary_school": 1, "secondary_school": 1, "daycare": 1, "nursing_home": 1, "group_home": 1,
    "assisted_living": 1, "bar_pub": 2, "nightclub": 1, "food_drink": 3, "physiotherapy": 1, "shop": 10,
}  # fmt: skip


#: Shop types of the town centre and the wijkcentra (besides supermarkets).
_SHOPS = ("bakery", "butcher", "greengrocer", "clothes", "shoes", "hairdresser", "chemist",
          "optician", "florist", "books", "electronics", "mobile_phone", "gift", "jewelry", "bicycle",
          "pet", "toys", "furniture", "hardware", "beauty", "sports", "variety_store")  # fmt: skip
_FOOD = (("restaurant", 0.4), ("cafe", 0.25), ("fast_food", 0.35))
#: Positions (fractions along u and v) of facilities within a block: middle, then around it.
_SLOTS = ((0.5, 0.5), (0.15, 0.2), (0.5, 0.2), (0.85, 0.2), (0.85, 0.5), (0.85, 0.8), (0.5, 0.8),
          (0.15, 0.8), (0.15, 0.5))  # fmt: skip


def _pharmacy_tags(k: int, name: str) -> Tags:
    """Pharmacy tags, cycling through the schemes found in Dutch OSM data."""
    if k % 2 == 0:
        return {"amenity": "pharmacy", "healthcare": "pharmacy", "dispensing": "yes", "name": name}
    if k % 3 == 0:
        return {"amenity": "pharmacy", "name": name}
    return {"healthcare": "pharmacy", "name": name}


def facility_counts(inhabitants: float) -> dict[str, int]:
    """Return the number of facilities of each kind for a town of ``inhabitants``.

    Parameters
    ----------
    inhabitants : float
        Number of inhabitants.

    Returns
    -------
    dict
        Facility kind to count, from :data:`INHABITANTS_PER` and :data:`MINIMUM`.
    """
    return {k: max(MINIMUM[k], round(inhabitants / per)) for k, per in INHABITANTS_PER.items()}


Site = tuple[int, int, int]  # (lattice index, block i, block j)


class Placer:
    """Hand out facility locations in the blocks of the town's lattices.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    plan : Plan
        The town plan.
    lattices : list of Lattice
        One lattice per cell, in plan order.
    """

    def __init__(self, rng: np.random.Generator, plan: Plan, lattices: list[Lattice]) -> None:
        self.rng = rng
        self.plan = plan
        self.lattices = lattices
        self.features: list[Feature] = []
        self.counts: dict[str, int] = {}
        self._slot: dict[Site, int] = {}
        self._buildings: set[Site] = set()
        self.residential = [k for k, lat in enumerate(lattices) if lat.cell.kind == "residential"]
        self._areas = np.array([lat.residential_area() for lat in lattices])
        self.wijk: dict[int, Site] = {}
        centre = next(k for k, lat in enumerate(lattices) if lat.cell.kind == "centre")
        self.centre = centre
        sx, sy, _ = plan.stations[0]
        lat = lattices[centre]
        blocks = lat.free_blocks()
        dist = [float(np.hypot(*(lat.block_point(i, j, 0.5, 0.5) - (sx, sy)))) for i, j in blocks]
        order = np.argsort(dist, kind="stable")
        # blocks of the centre, nearest to the station first
        self.core: list[Site] = [(centre, *blocks[int(k)]) for k in order]

    # -- sites ----------------------------------------------------------------------------

    def _point(self, site: Site) -> np.ndarray | None:
        n = self._slot.get(site, 0)
        if n >= len(_SLOTS):
            return None
        self._slot[site] = n + 1
        fu, fv = _SLOTS[n]
        fu += float(self.rng.uniform(-0.05, 0.05))
        fv += float(self.rng.uniform(-0.05, 0.05))
        return self.lattices[site[0]].block_point(site[1], site[2], fu, fv)

    def _sites(self, pool: list[Site]) -> Iterator[Site]:
        """Yield sites of a pool in order, each until its slots are used up."""
        for site in pool:
            while self._slot.get(site, 0) < len(_SLOTS):
                yield site

    def _scatter_site(self, kinds: tuple[str, ...] = ("residential",)) -> Site:
        """A random free block of a cell of the given kinds, weighted by housing area."""
        cand = [k for k, lat in enumerate(self.lattices) if lat.cell.kind in kinds]
        weights = self._areas[cand] + 1.0
        k = cand[int(self.rng.choice(len(cand), p=weights / weights.sum()))]
        blocks = self.lattices[k].free_blocks()
        if not blocks:
            return self.core[0]
        i, j = blocks[int(self.rng.integers(len(blocks)))]
        return (k, i, j)

    def _nearest_open(self, site: Site) -> Site:
        """The site itself if it has a free slot, else the nearest block with one."""
        if self._slot.get(site, 0) < len(_SLOTS):
            return site
        k, i0, j0 = site
        blocks = self.lattices[k].free_blocks() or [(i0, j0)]
        blocks.sort(key=lambda ij: (abs(ij[0] - i0) + abs(ij[1] - j0), ij))
        for i, j in blocks:
            if self._slot.get((k, i, j), 0) < len(_SLOTS):
                return (k, i, j)
        return self._scatter_site(("residential", "centre"))

    def add_point(self, site: Site, tags: Tags) -> None:
        """Add a tagged node in a site (or the nearest block with room)."""
        p = self._point(self._nearest_open(site))
        if p is None:  # pragma: no cover - only when every block of the town is full
            raise RuntimeError("no room left for facilities in the sample town")
        self.features.append(Feature("point", p[None, :], tags))

    def add_building(self, site: Site, tags: Tags, size: float = 0.4) -> Site:
        """Add a building polygon in the middle of a block (reserving it); return the site.

        A block holds one building; when ``site`` has one already, the nearest free
        block of the same lattice is used instead.
        """
        k, i, j = site
        lat = self.lattices[k]
        if site in self._buildings:
            other = self._reserve_near(k, 1, 1, "facility", lat.block_point(i, j, 0.5, 0.5))
            if other is None:
                self.add_point(site, tags)
                return site
            site = other
            k, i, j = site
        elif lat.res[i, j] < 0:
            lat.reserve("facility", i, j, 1, 1)
        self._buildings.add(site)
        self._slot[site] = max(self._slot.get(site, 0), 1)
        lo, hi = 0.5 - size / 2, 0.5 + size / 2
        ring = lat.block_rect(i, j, lo, lo, hi, hi)
        self.features.append(Feature("polygon", ring, {"building": "yes", **tags}))
        return site

    def _inside(self, site: Site) -> np.ndarray:
        """A point inside the building in the middle of a block."""
        return self.lattices[site[0]].block_point(site[1], site[2], 0.45, 0.55)[None, :]

    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    # -- layout of hubs -------------------------------------------------------------------

    def reserve_neighbourhood_sites(self) -> None:
        """Reserve a wijkcentrum block, a pocket park and sometimes a sports park per neighbourhood."""
        for k in self.residential:
            lat = self.lattices[k]
            c = np.array(lat.cell.centre)
            for kind, (a, b), prob in (
                ("wijkcentrum", (1, 1), 1.0),
                ("park", (2, 2), 1.0),
                ("park", (2, 2), 0.5),
                ("sports", (3, 3), 0.35),
            ):
                if prob < 1.0 and self.rng.random() >= prob:
                    continue
                ranges = lat.find_ranges(a, b)
                if not len(ranges):
                    continue
                centres = lat.region_centres(ranges, a, b)
                d = np.hypot(*(centres - c).T)
                if kind == "wijkcentrum":
                    pick = int(np.argmin(d))
                else:
                    far = np.flatnonzero(d > np.quantile(d, 0.3)) if len(d) > 3 else np.arange(len(d))
                    pick = int(far[int(self.rng.integers(len(far)))])
                i0, j0 = (int(v) for v in ranges[pick])
                lat.reserve(kind, i0, j0, a, b)
                if kind == "wijkcentrum":
                    self.wijk[k] = (k, i0, j0)
                elif kind == "park":
                    name = f"{stem(lat.cell.name)}plantsoen" if b > 1 else None
                    tags = {"leisure": "park"} | ({"name": name} if name else {})
                    self.features.append(Feature("polygon", lat.region_ring(i0, j0, a, b, 6.0), tags))
                    self._count("park")
                    self.add_point((k, i0, j0), {"leisure": "playground"})
                else:
                    self.features.append(
                        Feature(
                            "polygon",
                            lat.region_ring(i0, j0, a, b, 6.0),
                            {"landuse": "recreation_ground", "name": f"Sportpark {stem(lat.cell.name)}"},
                        )
                    )
                    for fu0, fu1 in ((-0.85, 0.42), (0.58, 1.85)):
                        ring = lat.block_rect(i0 + 1, j0 + 1, fu0, -0.5, fu1, 1.5)
                        self.features.append(
                            Feature("polygon", ring, {"leisure": "pitch", "sport": "soccer"})
                        )

    def _wijk_sites(self) -> list[Site]:
        """Wijkcentra, largest neighbourhood first."""
        order = sorted(self.wijk, key=lambda k: -self._areas[k])
        return [self.wijk[k] for k in order]

    def _distribute(self, n: int, centre_share: float) -> tuple[int, list[Site], int]:
        """Split ``n`` facilities: (in the centre, at wijkcentra, scattered)."""
        wijk = self._wijk_sites()
        in_centre = min(n, max(1, round(n * centre_share))) if centre_share > 0 else 0
        rest = n - in_centre
        at_wijk = wijk[: min(rest, len(wijk))]
        return in_centre, at_wijk, rest - len(at_wijk)

    # -- facilities -----------------------------------------------------------------------

    def place_all(self, counts: dict[str, int]) -> None:
        """Place every facility kind.

        Parameters
        ----------
        counts : dict
            From :func:`facility_counts`.
        """
        self.place_supermarkets(counts["supermarket"])
        self.place_health(counts["gp"], counts["pharmacy"], counts["physiotherapy"])
        self.place_meeting(counts["meeting_place"])
        self.place_schools(counts["primary_school"], counts["secondary_school"], counts["daycare"])
        self.place_care(counts["nursing_home"], counts["assisted_living"], counts["group_home"])
        self.place_retail(counts)

    def place_supermarkets(self, n: int) -> None:
        """Supermarkets: about a fifth in the centre, one per wijkcentrum, rest scattered."""
        in_centre, at_wijk, scattered = self._distribute(n, 0.2)
        sites = self.core[:in_centre] + at_wijk
        sites += [self._scatter_site() for _ in range(scattered)]
        for s, site in enumerate(sites):
            brand = SUPERMARKET_BRANDS[int(self.rng.integers(len(SUPERMARKET_BRANDS)))]
            tags = {"shop": "supermarket", "name": brand, "brand": brand}
            if s % 3 == 2:
                self.add_point(site, tags)
            else:
                self.add_building(site, {**tags, "building": "retail"})
            self._count("supermarket")

    def _gp_tags(self, k: int, name: str) -> Tags:
        scheme = k % 3
        if scheme == 0:
            return {"amenity": "doctors", "name": name}
        if scheme == 1:
            return {"healthcare": "doctor", "healthcare:speciality": "general", "name": name}
        return {"amenity": "doctors", "healthcare": "doctor", "name": name}

    def place_health(self, n_gp: int, n_pharmacy: int, n_physio: int) -> None:
        """GPs (mixed tagging, one double-mapped), pharmacies and physiotherapists."""
        self._place_gps(n_gp)
        in_centre, at_wijk, scattered = self._distribute(n_pharmacy, 0.1)
        sites = self.core[1 : 1 + in_centre] + at_wijk
        sites += [self._scatter_site() for _ in range(scattered)]
        for k, site in enumerate(sites):
            name = f"Apotheek {stem(self.lattices[site[0]].cell.name)}"
            self.add_point(site, _pharmacy_tags(k, name))
            self._count("pharmacy")
        in_centre, at_wijk, scattered = self._distribute(n_physio, 0.2)
        sites = self.core[2 : 2 + in_centre] + at_wijk
        sites += [self._scatter_site() for _ in range(scattered)]
        for site in sites:
            surname = SURNAMES[int(self.rng.integers(len(SURNAMES)))]
            self.add_point(site, {"healthcare": "physiotherapist", "name": f"Fysiotherapie {surname}"})
            self._count("physiotherapy")

    def _place_gps(self, n: int) -> None:
        in_centre, at_wijk, scattered = self._distribute(n, 0.15)
        sites = self.core[1 : 1 + in_centre] + at_wijk
        sites += [self._scatter_site() for _ in range(scattered)]
        for k, site in enumerate(sites):
            surname = SURNAMES[int(self.rng.integers(len(SURNAMES)))]
            wijk = stem(self.lattices[site[0]].cell.name)
            name = f"Gezondheidscentrum {wijk}" if site in at_wijk else f"Huisartsenpraktijk {surname}"
            tags = self._gp_tags(k, name)
            if k == 0:
                # mapped twice: a building polygon with the tags and a node inside it
                both = {"amenity": "doctors", "healthcare": "doctor", "name": name}
                self.features.append(
                    Feature("point", self._inside(self.add_building(site, both, 0.3)), dict(both))
                )
            elif k % 4 == 3:
                self.add_building(site, tags, size=0.25)
            else:
                self.add_point(site, tags)
            self._count("gp")

    def place_meeting(self, n: int) -> None:
        """Community and social centres: at wijkcentra first."""
        _, at_wijk, scattered = self._distribute(n, 0.0)
        sites = at_wijk + [self._scatter_site() for _ in range(scattered)]
        for k, site in enumerate(sites):
            wijk = stem(self.lattices[site[0]].cell.name)
            if k % 4 == 3:
                tags = {"amenity": "social_centre", "name": f"Ontmoetingscentrum {wijk}"}
            else:
                tags = {
                    "amenity": "community_centre",
                    "community_centre": "community_centre",
                    "name": f"Buurthuis {wijk}",
                }
            self.add_point(site, tags)
            self._count("meeting_place")

    def _reserve_near(self, k: int, a: int, b: int, kind: str, near: np.ndarray | None = None) -> Site | None:
        lat = self.lattices[k]
        ranges = lat.find_ranges(a, b)
        if not len(ranges):
            return None
        if near is None:
            pick = int(self.rng.integers(len(ranges)))
        else:
            centres = lat.region_centres(ranges, a, b)
            pick = int(np.argmin(np.hypot(*(centres - near).T)))
        i0, j0 = (int(v) for v in ranges[pick])
        lat.reserve(kind, i0, j0, a, b)
        return (k, i0, j0)

    def _weighted_cells(self, n: int) -> list[int]:
        areas = self._areas[self.residential] + 1.0
        picks = self.rng.choice(len(self.residential), size=n, p=areas / areas.sum())
        return [self.residential[int(p)] for p in picks]

    def place_schools(self, n_primary: int, n_secondary: int, n_daycare: int) -> None:
        """Primary and secondary schools (grounds polygons) and day care (nodes)."""
        names = [SCHOOL_NAMES[int(k)] for k in self.rng.permutation(len(SCHOOL_NAMES))]
        schools: list[Site] = []
        for m, k in enumerate(self._weighted_cells(n_primary + n_secondary)):
            primary = m < n_primary
            a, b = (2, 1) if primary else (2, 2)
            site = self._reserve_near(k, a, b, "school")
            if site is None:
                a, b = 1, 1
                site = self._reserve_near(k, a, b, "school")
            if site is None:
                continue
            lat = self.lattices[k]
            ring = lat.region_ring(site[1], site[2], a, b, 7.0)
            if primary:
                label = names[m % len(names)] + ("" if m < len(names) else f" {m // len(names) + 1}")
                tags = {"amenity": "school", "isced:level": "1", "name": f"Basisschool {label}"}
                self._count("primary_school")
            else:
                tags = {
                    "amenity": "school",
                    "isced:level": "2;3",
                    "name": f"{TOWN_NAME} College {stem(lat.cell.name)}",
                }
                self._count("secondary_school")
            self.features.append(Feature("polygon", ring, tags))
            schools.append(site)
        for m in range(n_daycare):
            site = self._scatter_site()
            names_dc = ("Kinderdagverblijf", "Kinderopvang", "Kindcentrum")
            tag = {"amenity": "kindergarten"} if m % 2 == 0 else {"amenity": "childcare"}
            label = names_dc[m % 3] + " " + SCHOOL_NAMES[(m * 7) % len(SCHOOL_NAMES)].split()[-1]
            self.add_point(site, {**tag, "name": label})
            self._count("daycare")

    def place_care(self, n_nursing: int, n_assisted: int, n_group: int) -> None:
        """Nursing homes and assisted living (buildings), group homes (nodes)."""
        cells = self._weighted_cells(n_nursing + n_assisted)
        for m, k in enumerate(cells):
            nursing = m < n_nursing
            near = self.lattices[k].block_point(*self.wijk[k][1:], 0.5, 0.5) if k in self.wijk else None
            site = self._reserve_near(k, 1, 1, "care", near)
            if site is None:
                continue
            wijk = stem(self.lattices[k].cell.name)
            kind = "nursing_home" if nursing else "assisted_living"
            tags = {
                "amenity": "social_facility",
                "social_facility": kind,
                "social_facility:for": "senior",
                "name": f"Zorgcentrum {wijk}" if nursing else f"Woonzorgcomplex {wijk}hof",
            }
            self.add_building(site, tags, size=0.55)
            self._count(kind)
        target = ("mental_health", "disabled", "juvenile", "homeless")
        for m in range(n_group):
            site = self._scatter_site()
            self.add_point(
                site,
                {
                    "amenity": "social_facility",
                    "social_facility": "group_home",
                    "social_facility:for": target[m % len(target)],
                    "name": f"Woongroep {SURNAMES[(m * 11) % len(SURNAMES)]}",
                },
            )
            self._count("group_home")

    def place_retail(self, counts: dict[str, int]) -> None:
        """Convenience stores, other shops, food and drink, nightlife."""
        core = self._sites(self.core)
        wijk = self._wijk_sites()

        def site_for(share_centre: float) -> Site:
            if not wijk or self.rng.random() < share_centre:
                return next(core, None) or self._scatter_site(("residential", "centre"))
            return wijk[int(self.rng.integers(len(wijk)))]

        # (category, share placed in the town centre, tags); placed in shuffled order so the
        # centre's blocks get a mix of shops, cafés and bars rather than rings of each
        items: list[tuple[str, float, Tags]] = []
        for m in range(counts["convenience"]):
            tags = {"shop": "convenience", "name": f"Buurtsuper {SURNAMES[m % len(SURNAMES)]}"}
            items.append(("convenience", 0.3 if m else 1.0, tags))
        for m in range(counts["shop"]):
            shop = _SHOPS[int(self.rng.integers(len(_SHOPS)))]
            items.append(("shop", 0.8, {"shop": shop, "name": f"{SURNAMES[m % len(SURNAMES)]} {shop}"}))
        items.append(("shop", 1.0, {"shop": "department_store", "name": "HEMA"}))
        kinds = [k for k, _ in _FOOD]
        p = np.array([w for _, w in _FOOD])
        for m in range(counts["food_drink"]):
            kind = kinds[int(self.rng.choice(len(kinds), p=p))]
            items.append(("food_drink", 0.6, {"amenity": kind, "name": f"{kind.title()} {m + 1}"}))
        for m in range(counts["bar_pub"]):
            tags = {"amenity": "pub" if m % 3 == 0 else "bar", "name": f"Café {SURNAMES[(m * 7) % 30]}"}
            items.append(("nightlife", 0.75, tags))
        for m in range(counts["nightclub"]):
            tags = {"amenity": "nightclub", "name": f"Club {m + 1}", "opening_hours": "Th-Sa 23:00-05:00"}
            items.append(("nightlife", 1.0, tags))
        for k in self.rng.permutation(len(items)):
            key, share, tags = items[int(k)]
            self.add_point(site_for(share), tags)
            self._count(key)
