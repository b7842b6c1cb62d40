"""The pass over an OSM file: walkable ways, feature ids, buildings, coverage, stop areas.

Libosmium (through pyosmium) reads the file twice, and Python sees only what it needs:

1. the relations (:mod:`sitefinder.io.osmrelations`; for plain XML only the part of the
   file that holds them): the ``building=*`` multipolygons for the area assembler, the
   multipolygon features with their member ways, the stop areas;
2. the nodes and ways (:mod:`sitefinder.io.osmobjects`): libosmium stores the node
   locations, assembles the areas and hands them to Python one by one, and writes the
   nodes and ways that carry a wanted key as OPL text, read back in bulk
   (:mod:`sitefinder.io.osmopl`).

What the pass keeps is small and grows with what is kept, never with the range of
OSM ids (ids are collected in plain arrays, not bitmaps over the id range):

* every walkable way (:func:`sitefinder.io.osm.is_walkable`): its id, its node
  ids with their locations (consecutive duplicate nodes removed, as osmnx does),
  and the way tags a mobility filter needs (:data:`WAY_TAG_KEYS`);
* tagged nodes that may lie on the walking network (kerbs, crossings, barriers:
  :data:`NODE_TAG_KEYS`);
* the tagged objects that categories, nuisance sources, noise lines and candidate
  plots need, with their geometries built as osmnx builds them
  (:mod:`sitefinder.io.osmfeatures`);
* the areas libosmium assembles (closed ways and ``building=*`` multipolygon
  relations) with their height tags (:data:`BUILDING_TAG_KEYS`);
* the offline background (:mod:`sitefinder.io.basemap`): the lines of drawn
  streets and waterways, built from the same OPL node lists, and the drawn areas
  (water, green, buildings) as libosmium assembles them, so the map never reads
  the file again;
* the area the data covers: the file header's bounds when present, else the
  convex hull of all nodes.
"""

from __future__ import annotations

import logging
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from sitefinder.io import osmfeatures

log = logging.getLogger(__name__)

#: Way tags kept per walkable way (for mobility filters that re-weight or drop edges).
WAY_TAG_KEYS: tuple[str, ...] = (
    "highway", "footway", "sidewalk", "crossing", "wheelchair", "kerb", "incline", "surface",
    "smoothness", "width", "step_count", "handrail", "ramp", "tactile_paving", "lit", "foot",
    "access", "bicycle", "segregated", "tunnel", "bridge", "layer", "covered", "name",
)  # fmt: skip

#: Node tags kept for tagged nodes on walkable ways (kerbs, crossings, barriers).
NODE_TAG_KEYS: tuple[str, ...] = (
    "kerb", "crossing", "highway", "barrier", "wheelchair", "tactile_paving", "crossing:island",
    "traffic_signals:sound", "incline", "step_count",
)  # fmt: skip

#: Building tags kept (raw strings; height rules are applied where they are used).
BUILDING_TAG_KEYS: tuple[str, ...] = (
    "building", "height", "building:levels", "min_height", "building:min_level", "roof:height",
    "roof:levels", "roof:shape", "layer", "location", "name",
)  # fmt: skip

_HULL_CHUNK = 1 << 20  # coordinates buffered before the running hull is reduced


@dataclass
class WalkWays:
    """The walkable ways of one OSM file as flat arrays (WGS84 lon/lat).

    Attributes
    ----------
    way_ids : numpy.ndarray
        OSM id of each walkable way (int64).
    way_ptr : numpy.ndarray
        ``way_ptr[i]:way_ptr[i+1]`` are the rows of way ``i`` in the ref arrays.
    ref_ids : numpy.ndarray
        Node id of each way node, in way order (int64).
    ref_lon, ref_lat : numpy.ndarray
        Location of each way node; NaN where the node is not in the file.
    way_tags : dict
        Tag key -> (n_ways,) str array (``""`` where the way has no such tag).
    node_tag_ids : numpy.ndarray
        Ids of tagged nodes (:data:`NODE_TAG_KEYS`) that lie on walkable ways.
    node_tags : dict
        Tag key -> str array over ``node_tag_ids``.
    """

    way_ids: np.ndarray
    way_ptr: np.ndarray
    ref_ids: np.ndarray
    ref_lon: np.ndarray
    ref_lat: np.ndarray
    way_tags: dict[str, np.ndarray]
    node_tag_ids: np.ndarray
    node_tags: dict[str, np.ndarray]

    @property
    def n_ways(self) -> int:
        """Number of walkable ways."""
        return len(self.way_ids)

    def save(self, path: Path) -> None:
        """Write to an open-format ``.npz`` (no pickles)."""
        arrays: dict[str, np.ndarray] = {
            "way_ids": self.way_ids,
            "way_ptr": self.way_ptr,
            "ref_ids": self.ref_ids,
            "ref_lon": self.ref_lon,
            "ref_lat": self.ref_lat,
            "node_tag_ids": self.node_tag_ids,
        }
        arrays.update({f"way_tag:{k}": v for k, v in self.way_tags.items()})
        arrays.update({f"node_tag:{k}": v for k, v in self.node_tags.items()})
        with Path(path).open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> WalkWays:
        """Read a file written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as z:
            return cls(
                way_ids=z["way_ids"],
                way_ptr=z["way_ptr"],
                ref_ids=z["ref_ids"],
                ref_lon=z["ref_lon"],
                ref_lat=z["ref_lat"],
                way_tags={k.split(":", 1)[1]: z[k] for k in z.files if k.startswith("way_tag:")},
                node_tag_ids=z["node_tag_ids"],
                node_tags={k.split(":", 1)[1]: z[k] for k in z.files if k.startswith("node_tag:")},
            )


@dataclass
class PassResult:
    """What one pass over an OSM file found."""

    walk: WalkWays
    feature_nodes: np.ndarray
    feature_ways: np.ndarray
    feature_relations: np.ndarray
    feature_rows: list[tuple[str, int, dict[str, str], Any]]
    buildings_wkb: list[bytes]
    buildings_ids: list[str]
    buildings_tags: dict[str, list[str | None]]
    header_bounds: tuple[float, float, float, float] | None
    coverage_wgs84: Any
    stop_areas: dict[str, str] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    background: Background | None = None


@dataclass
class Background:
    """The offline background's geometries in WGS84 (:mod:`sitefinder.io.basemap`'s classes).

    Attributes
    ----------
    lines, line_kinds : list
        Street and waterway lines (shapely, file order) and their class.
    areas_wkb, area_kinds : list
        Drawn areas as WKB (libosmium's order) and their class.
    """

    lines: list[Any] = field(default_factory=list)
    line_kinds: list[str] = field(default_factory=list)
    areas_wkb: list[bytes] = field(default_factory=list)
    area_kinds: list[str] = field(default_factory=list)


class _Areas:
    """Area handler: buildings (closed ways, ``building=*`` relations) and the background's areas.

    The relations' first pass also assembles water and green multipolygons for the
    background; :class:`~sitefinder.io.osmobjects.Buildings` sees only the areas it saw
    before (every closed way, the relations with a ``building`` tag).
    """

    def __init__(self, buildings: Any, background: Background) -> None:
        import osmium

        from sitefinder.io.basemap import area_kind

        self.buildings = buildings
        self.background = background
        self.area_kind = area_kind
        self.factory = osmium.geom.WKBFactory()

    def area(self, area: Any) -> None:
        """Hand one assembled area on (pyosmium callback)."""
        tags = area.tags
        if area.from_way() or "building" in tags:
            self.buildings.area(area)
        kind = self.area_kind(tags)
        if kind is None:
            return
        try:
            geom = bytes.fromhex(self.factory.create_multipolygon(area))
        except RuntimeError:
            return
        self.background.areas_wkb.append(geom)
        self.background.area_kinds.append(kind)


class _Hull:
    """Running convex hull of many points, in bounded memory."""

    def __init__(self) -> None:
        self.xs = array("d")
        self.ys = array("d")
        self.hull: Any = None
        self.count = 0

    def add(self, x: float, y: float) -> None:
        self.xs.append(x)
        self.ys.append(y)
        if len(self.xs) >= _HULL_CHUNK:
            self._reduce()

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        """Add many points (reduced at the same counts as one by one with :meth:`add`)."""
        i = 0
        while i < len(xs):
            take = min(len(xs) - i, _HULL_CHUNK - len(self.xs))
            self.xs.extend(xs[i : i + take].tolist())
            self.ys.extend(ys[i : i + take].tolist())
            i += take
            if len(self.xs) >= _HULL_CHUNK:
                self._reduce()

    def _reduce(self) -> None:
        if not len(self.xs):
            return
        pts = shapely.multipoints(np.column_stack([np.frombuffer(self.xs), np.frombuffer(self.ys)]))
        hull = shapely.convex_hull(pts)
        self.hull = hull if self.hull is None else shapely.convex_hull(shapely.union(self.hull, hull))
        self.count += len(self.xs)
        self.xs = array("d")
        self.ys = array("d")

    def result(self) -> Any:
        self._reduce()
        return self.hull


def scan(
    src: Path,
    is_walkable: Callable[[Any], str | None],
    feature_match: Callable[[Any], bool],
    feature_keys: Iterable[str] | None = None,
    work_dir: Path | None = None,
) -> PassResult:
    """Read ``src`` and collect what :class:`PassResult` describes.

    Parameters
    ----------
    src : pathlib.Path
        The OSM file.
    is_walkable : callable
        ``tags -> None`` when a ``highway=*`` way is walkable, else the reason it is not.
    feature_match : callable
        ``tags -> bool``: whether an object is a feature the run needs.
    feature_keys : iterable of str, optional
        Keys without one of which ``feature_match`` is never true: libosmium then
        hands on only the objects that have one (None: every tagged object).
    work_dir : pathlib.Path, optional
        Folder for the pass's temporary OPL file (default: the system's).

    Returns
    -------
    PassResult
    """
    import tempfile

    from sitefinder.io import osmobjects, osmopl
    from sitefinder.io.basemap import AREA_KEYS, LINE_KEYS
    from sitefinder.io.osmrelations import read_relations

    header_bounds = _header_bounds(src)
    rels = read_relations(src, feature_match, area_keys=AREA_KEYS)
    member_way_ids = np.array(rels.member_ids("w"), dtype=np.int64)
    keys = None if feature_keys is None else tuple(dict.fromkeys(feature_keys))
    wanted = osmobjects.Wanted(
        node_keys=None if keys is None else tuple(dict.fromkeys((*keys, *NODE_TAG_KEYS))),
        way_keys=None if keys is None else tuple(dict.fromkeys(("highway", *LINE_KEYS, *keys))),
        all_nodes=header_bounds is None,
    )
    buildings = osmobjects.Buildings(BUILDING_TAG_KEYS)
    members = osmobjects.MemberWays(member_way_ids.tolist()) if len(member_way_ids) else None
    background = Background()
    reader = _OplReader(is_walkable, feature_match, set(member_way_ids.tolist()), background)
    hull = _Hull() if header_bounds is None else None
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="osmpass-") as tmp:
        opl = osmobjects.read_objects(
            src, rels.area_manager, wanted, _Areas(buildings, background), members, Path(tmp) / "pass.opl"
        )
        with opl as path:
            for lines in osmopl.blocks(path):
                reader.block(lines, hull)
    walk = reader.walk_ways()
    f_rows = reader.rows
    way_geoms = {**(members.geoms if members else {}), **reader.member_geoms}
    for rid, rtags, rmembers in rels.features:
        f_rows.append(("relation", rid, rtags, osmfeatures.relation_geometry(rmembers, way_geoms)))
    f_ways = np.array(reader.feature_way_ids, dtype=np.int64)
    feature_ways = np.union1d(f_ways, member_way_ids)
    extra = np.setdiff1d(member_way_ids, f_ways)
    extra_refs = [members.refs[w] for w in extra.tolist() if w in members.refs] if members else []
    feature_nodes = sorted_unique(
        np.concatenate(
            [
                np.array(reader.feature_node_ids, dtype=np.int64),
                *reader.feature_way_refs,
                np.array(rels.member_ids("n"), dtype=np.int64),
                np.array([r for refs in extra_refs for r in refs], dtype=np.int64),
            ]
        )
    )
    stats: dict[str, Any] = {
        "walk_ways_kept": walk.n_ways,
        "walk_ways_dropped": dict(reader.dropped.most_common()),
        "feature_nodes": len(feature_nodes),
        "feature_ways": len(feature_ways),
        "feature_relations": len(rels.features),
        "buildings": len(buildings.wkb),
        "background_lines": len(background.lines),
        "background_areas": len(background.areas_wkb),
        "walk_refs_missing": int(np.isnan(walk.ref_lon).sum()),
        "bounds": list(header_bounds) if header_bounds else None,
        "coverage_from": "header bounds" if header_bounds else "hull of all nodes",
    }
    if buildings.invalid:
        stats["buildings_invalid"] = buildings.invalid
    return PassResult(
        walk=walk,
        feature_nodes=feature_nodes,
        feature_ways=feature_ways,
        feature_relations=np.array([r[0] for r in rels.features], dtype=np.int64),
        feature_rows=f_rows,
        buildings_wkb=buildings.wkb,
        buildings_ids=buildings.ids,
        buildings_tags=buildings.tags,
        header_bounds=header_bounds,
        coverage_wgs84=_coverage(header_bounds, hull),
        stop_areas=rels.stop_areas,
        stats=stats,
        background=background,
    )


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``numpy.unique`` of a 1-d array by one sort (numpy >= 2.3 takes a slower hashing path)."""
    out = np.sort(values)
    if len(out) > 1:
        out = out[np.concatenate([[True], out[1:] != out[:-1]])]
    return out


def _header_bounds(src: Path) -> tuple[float, float, float, float] | None:
    import osmium

    with osmium.io.Reader(str(src), osmium.osm.NOTHING) as reader:
        box = reader.header().box()
    if not box.valid():
        return None
    bl, tr = box.bottom_left, box.top_right
    return (bl.lon, bl.lat, tr.lon, tr.lat)


class _OplReader:
    """Turns the OPL lines of the pass into walkable ways, feature rows and hull points."""

    def __init__(
        self,
        is_walkable: Callable[[Any], str | None],
        feature_match: Callable[[Any], bool],
        member_ways: set[int],
        background: Background | None = None,
    ) -> None:
        from sitefinder.io.basemap import line_kind

        self.line_kind = line_kind
        self.background = background
        self.is_walkable = is_walkable
        self.feature_match = feature_match
        self.member_ways = member_ways
        self.dropped: Counter[str] = Counter()
        self.rows: list[tuple[str, int, dict[str, str], Any]] = []
        self.feature_node_ids: list[int] = []
        self.feature_way_ids: list[int] = []
        self.feature_way_refs: list[np.ndarray] = []
        self.member_geoms: dict[int, Any] = {}
        self.tagged_nodes: dict[int, tuple[str, ...]] = {}
        self.walk_ids: list[int] = []
        self.walk_tags: list[dict[str, str]] = []
        self.walk_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def block(self, lines: list[bytes], hull: _Hull | None) -> None:
        """Read one block of OPL lines."""
        from sitefinder.io import osmopl

        hull_x: list[float] = []
        hull_y: list[float] = []
        bodies: list[bytes] = []
        walk_rows: list[int] = []
        feature_rows: list[tuple[int, int, dict[str, str]]] = []
        line_rows: list[int] = []
        line_kinds: list[str] = []
        for line in lines:
            kind = line[:1]
            if kind == b"n":
                nid_f, tag_f, x_f, y_f = line.split(b" ")
                lon, lat = osmopl.coordinate(x_f), osmopl.coordinate(y_f)
                valid = abs(lon) <= 180.0 and abs(lat) <= 90.0
                if hull is not None and valid:
                    hull_x.append(lon)
                    hull_y.append(lat)
                if len(tag_f) > 1:
                    self._node(int(nid_f[1:]), osmopl.tag_pairs(tag_f), lon, lat, valid)
            elif kind == b"w":
                wid_f, tag_f, nodes_f = line.split(b" ")
                wid = int(wid_f[1:])
                pairs = osmopl.tag_pairs(tag_f)
                tags = osmopl.first_wins(pairs)
                walk = False
                if "highway" in tags:
                    reason = self.is_walkable(tags)
                    if reason is None:
                        walk = True
                    else:
                        self.dropped[reason] += 1
                feature = self.feature_match(tags)
                drawn = self.line_kind(tags) if self.background is not None else None
                if walk or feature or drawn:
                    row = len(bodies)
                    bodies.append(nodes_f[1:])
                    if drawn:
                        line_rows.append(row)
                        line_kinds.append(drawn)
                    if walk:
                        walk_rows.append(row)
                        self.walk_ids.append(wid)
                        self.walk_tags.append(tags)
                    if feature:
                        feature_rows.append((row, wid, dict(pairs)))
        if hull is not None:
            hull.extend(np.array(hull_x, dtype=np.float64), np.array(hull_y, dtype=np.float64))
        if bodies:
            self._ways(bodies, walk_rows, feature_rows, line_rows, line_kinds)

    def _node(self, nid: int, pairs: list[tuple[str, str]], lon: float, lat: float, valid: bool) -> None:
        import shapely

        from sitefinder.io import osmopl

        tags = osmopl.first_wins(pairs)
        if self.feature_match(tags):
            self.feature_node_ids.append(nid)
            self.rows.append(("node", nid, dict(pairs), shapely.Point(lon, lat) if valid else None))
        vals = tuple(tags.get(k, "") for k in NODE_TAG_KEYS)
        if any(vals):
            self.tagged_nodes[nid] = vals

    def _ways(
        self,
        bodies: list[bytes],
        walk_rows: list[int],
        feature_rows: list[tuple[int, int, dict[str, str]]],
        line_rows: list[int] | None = None,
        line_kinds: list[str] | None = None,
    ) -> None:
        from sitefinder.io import osmobjects, osmopl

        ids, lon, lat, counts = osmopl.node_lists(bodies)
        valid = osmopl.valid_lonlat(lon, lat)
        ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        if line_rows and line_kinds and self.background is not None:
            lines, kept = background_lines(lon, lat, valid, ptr, np.array(line_rows, dtype=np.int64))
            self.background.lines.extend(lines)
            self.background.line_kinds.extend(
                k for k, ok in zip(line_kinds, kept.tolist(), strict=True) if ok
            )
        if walk_rows:
            rows = np.array(walk_rows, dtype=np.int64)
            pos = osmobjects.gather(ptr, rows)
            way_of = np.repeat(np.arange(len(rows)), counts[rows])
            r_ids = ids[pos]
            # Consecutive duplicate nodes of a way are dropped (as osmnx does).
            keep = np.ones(len(pos), dtype=bool)
            keep[1:] = (r_ids[1:] != r_ids[:-1]) | (way_of[1:] != way_of[:-1])
            pos, way_of = pos[keep], way_of[keep]
            r_lon = np.where(valid[pos], lon[pos], np.nan)
            r_lat = np.where(valid[pos], lat[pos], np.nan)
            self.walk_parts.append((ids[pos], r_lon, r_lat, np.bincount(way_of, minlength=len(rows))))
        if feature_rows:
            rows = np.array([r[0] for r in feature_rows], dtype=np.int64)
            self.feature_way_refs.append(ids[osmobjects.gather(ptr, rows)])
            closed = np.zeros(len(rows), dtype=bool)
            has = counts[rows] > 0
            closed[has] = ids[ptr[rows[has]]] == ids[ptr[rows[has] + 1] - 1]
            polygon = [
                osmfeatures.way_is_polygon(bool(c), wtags)
                for c, (_, _, wtags) in zip(closed.tolist(), feature_rows, strict=True)
            ]
            xy = np.column_stack([lon, lat])
            geoms = osmfeatures.way_geometries(xy, valid, ptr, rows, np.array(polygon, dtype=bool))
            for (_, wid, wtags), geom in zip(feature_rows, geoms, strict=True):
                self.feature_way_ids.append(wid)
                self.rows.append(("way", wid, wtags, geom))
                if wid in self.member_ways:
                    self.member_geoms[wid] = geom

    def _walk_tag_columns(self) -> dict[str, list[str]]:
        # Each way's few tags are placed in their columns ("" where a way has no such tag).
        n = len(self.walk_tags)
        columns: dict[str, list[str]] = {k: [""] * n for k in WAY_TAG_KEYS}
        for i, tags in enumerate(self.walk_tags):
            for key, value in tags.items():
                column = columns.get(key)
                if column is not None:
                    column[i] = value
        return columns

    def walk_ways(self) -> WalkWays:
        """The walkable ways read so far, with the tagged nodes that lie on them."""
        parts = self.walk_parts
        ref_ids = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
        counts = np.concatenate([p[3] for p in parts]) if parts else np.empty(0, np.int64)
        way_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=way_ptr[1:])
        tn_ids = np.fromiter(self.tagged_nodes, dtype=np.int64, count=len(self.tagged_nodes))
        keep_tn = np.isin(tn_ids, ref_ids)
        tn_rows = [v for v, k in zip(self.tagged_nodes.values(), keep_tn, strict=True) if k]
        return WalkWays(
            way_ids=np.array(self.walk_ids, dtype=np.int64),
            way_ptr=way_ptr,
            ref_ids=ref_ids.astype(np.int64),
            ref_lon=np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.float64),
            ref_lat=np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.float64),
            way_tags={k: np.array(v, dtype=str) for k, v in self._walk_tag_columns().items()},
            node_tag_ids=tn_ids[keep_tn],
            node_tags={
                key: np.array([r[i] for r in tn_rows], dtype=str) for i, key in enumerate(NODE_TAG_KEYS)
            },
        )


def background_lines(
    lon: np.ndarray, lat: np.ndarray, valid: np.ndarray, ptr: np.ndarray, rows: np.ndarray
) -> tuple[list[Any], np.ndarray]:
    """Lines of the ways ``rows`` as libosmium builds them for the background.

    As ``osmium.geom.WKBFactory.create_linestring``: consecutive repeated locations
    are dropped, and a way with a node that has no location, or with fewer than two
    distinct locations, gives no line.

    Returns
    -------
    lines : list of shapely.LineString
        The lines made, in row order.
    kept : numpy.ndarray
        Per row, whether it gave a line.
    """
    from sitefinder.io import osmobjects

    pos = osmobjects.gather(ptr, rows)
    n_of = ptr[rows + 1] - ptr[rows]
    way_of = np.repeat(np.arange(len(rows)), n_of)
    bad = np.zeros(len(rows), dtype=bool)
    bad[np.unique(way_of[~valid[pos]])] = True
    x, y = lon[pos], lat[pos]
    keep = np.ones(len(pos), dtype=bool)
    keep[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1]) | (way_of[1:] != way_of[:-1])
    distinct = np.bincount(way_of[keep], minlength=len(rows))
    kept = ~bad & (distinct >= 2)
    take = keep & kept[way_of]
    if not take.any():
        return [], kept
    _, index = np.unique(way_of[take], return_inverse=True)
    geoms = shapely.linestrings(np.column_stack([x[take], y[take]]), indices=index)
    return list(geoms), kept


def _coverage(header_bounds: tuple[float, float, float, float] | None, hull: _Hull | None) -> Any:
    if header_bounds is not None:
        return shapely.box(*header_bounds)
    return None if hull is None else hull.result()
