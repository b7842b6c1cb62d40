"""One streaming pass over an OSM file: walkable ways, feature ids, buildings, coverage.

libosmium (through pyosmium) reads the file once with node locations and area
assembly switched on. What the pass keeps is small and grows with what is kept,
never with the range of OSM ids (ids are collected in plain arrays, not bitmaps
over the id range):

* every walkable way (:func:`sitefinder.io.osm.is_walkable`): its id, its node
  ids with their locations (consecutive duplicate nodes removed, as osmnx does),
  and the way tags a mobility filter needs (:data:`WAY_TAG_KEYS`);
* tagged nodes that may lie on the walking network (kerbs, crossings, barriers:
  :data:`NODE_TAG_KEYS`);
* the tagged objects that categories, nuisance sources, noise lines and candidate
  plots need, with their geometries built as osmnx builds them
  (:mod:`sitefinder.io.osmfeatures`; multipolygon members that are no feature
  themselves are read in a second pass, only when there are any);
* ``building=*`` polygons (closed ways and multipolygon relations) with their
  height tags (:data:`BUILDING_TAG_KEYS`);
* the area the data covers: the file header's bounds when present, else the
  convex hull of all nodes.
"""

from __future__ import annotations

import logging
from array import array
from collections import Counter
from collections.abc import Callable
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
    stats: dict[str, Any] = field(default_factory=dict)


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
) -> PassResult:
    """Read ``src`` once and collect what :class:`PassResult` describes.

    Parameters
    ----------
    src : pathlib.Path
        The OSM file.
    is_walkable : callable
        ``tags -> None`` when a ``highway=*`` way is walkable, else the reason it is not.
    feature_match : callable
        ``tags -> bool``: whether an object is a feature the run needs.

    Returns
    -------
    PassResult
    """
    import osmium
    import osmium.filter

    way_ids = array("q")
    way_ptr = array("q", [0])
    ref_ids = array("q")
    ref_lon = array("d")
    ref_lat = array("d")
    way_tags: dict[str, list[str]] = {k: [] for k in WAY_TAG_KEYS}
    tagged_nodes: dict[int, tuple[str, ...]] = {}
    f_nodes = array("q")
    f_ways = array("q")
    f_way_refs = array("q")
    f_rels = array("q")
    rel_member_ways = array("q")
    rel_member_nodes = array("q")
    f_rows: list[tuple[str, int, dict[str, str], Any]] = []
    f_way_geoms: dict[int, Any] = {}
    f_rel_rows: list[tuple[int, dict[str, str], list[tuple[str, int, str]]]] = []
    b_wkb: list[bytes] = []
    b_ids: list[str] = []
    b_tags: dict[str, list[str | None]] = {k: [] for k in BUILDING_TAG_KEYS}
    dropped: Counter[str] = Counter()
    n_ways = n_nodes = bad_buildings = 0
    nan = float("nan")
    wkb = osmium.geom.WKBFactory()
    fp = (
        osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION)
        .with_locations()
        .with_areas(osmium.filter.KeyFilter("building"))
    )
    header_box = fp.header.box()
    header_bounds = None
    if header_box.valid():
        bl, tr = header_box.bottom_left, header_box.top_right
        header_bounds = (bl.lon, bl.lat, tr.lon, tr.lat)
    hull = _Hull() if header_bounds is None else None
    for obj in fp:
        if isinstance(obj, osmium.osm.Node):
            n_nodes += 1
            tags = obj.tags
            if hull is not None and obj.location.valid():
                hull.add(obj.location.lon, obj.location.lat)
            if len(tags):
                if feature_match(tags):
                    f_nodes.append(obj.id)
                    loc = obj.location
                    f_rows.append(
                        (
                            "node",
                            obj.id,
                            {t.k: t.v for t in tags},
                            shapely.Point(loc.lon, loc.lat) if loc.valid() else None,
                        )
                    )
                vals = tuple(str(tags.get(k, "")) for k in NODE_TAG_KEYS)
                if any(vals):
                    tagged_nodes[obj.id] = vals
        elif isinstance(obj, osmium.osm.Way):
            n_ways += 1
            tags = obj.tags
            if "highway" in tags:
                reason = is_walkable(tags)
                if reason is None:
                    way_ids.append(obj.id)
                    last = None
                    for nd in obj.nodes:
                        if nd.ref == last:
                            continue
                        last = nd.ref
                        ref_ids.append(nd.ref)
                        loc = nd.location
                        if loc.valid():
                            ref_lon.append(loc.lon)
                            ref_lat.append(loc.lat)
                        else:
                            ref_lon.append(nan)
                            ref_lat.append(nan)
                    way_ptr.append(len(ref_ids))
                    for k in WAY_TAG_KEYS:
                        way_tags[k].append(str(tags.get(k, "")))
                else:
                    dropped[reason] += 1
            if feature_match(tags):
                f_ways.append(obj.id)
                f_way_refs.extend(nd.ref for nd in obj.nodes)
                wtags = {t.k: t.v for t in tags}
                refs = obj.nodes
                closed = len(refs) > 0 and refs[0].ref == refs[len(refs) - 1].ref
                coords = [(nd.location.lon, nd.location.lat) if nd.location.valid() else None for nd in refs]
                geom = osmfeatures.way_geometry(coords, osmfeatures.way_is_polygon(closed, wtags))
                f_way_geoms[obj.id] = geom
                f_rows.append(("way", obj.id, wtags, geom))
        elif isinstance(obj, osmium.osm.Relation):
            tags = obj.tags
            if tags.get("type") == "multipolygon" and feature_match(tags):
                f_rels.append(obj.id)
                members = [(m.type, m.ref, m.role) for m in obj.members]
                for mtype, ref, _ in members:
                    if mtype == "w":
                        rel_member_ways.append(ref)
                    elif mtype == "n":
                        rel_member_nodes.append(ref)
                f_rel_rows.append((obj.id, {t.k: t.v for t in tags}, members))
        elif isinstance(obj, osmium.osm.Area):
            tags = obj.tags
            try:
                geom = bytes.fromhex(wkb.create_multipolygon(obj))
            except RuntimeError:
                bad_buildings += 1
                continue
            b_wkb.append(geom)
            b_ids.append(("way/" if obj.from_way() else "relation/") + str(obj.orig_id()))
            for k in BUILDING_TAG_KEYS:
                b_tags[k].append(tags.get(k))

    walk_refs = np.frombuffer(ref_ids, dtype=np.int64) if len(ref_ids) else np.empty(0, np.int64)
    on_walk = np.unique(walk_refs)
    tn_ids = np.fromiter(tagged_nodes, dtype=np.int64, count=len(tagged_nodes))
    keep_tn = np.isin(tn_ids, on_walk)
    tn_rows = [v for v, k in zip(tagged_nodes.values(), keep_tn, strict=True) if k]
    node_tags = {key: np.array([r[i] for r in tn_rows], dtype=str) for i, key in enumerate(NODE_TAG_KEYS)}
    walk = WalkWays(
        way_ids=np.array(way_ids, dtype=np.int64),
        way_ptr=np.array(way_ptr, dtype=np.int64),
        ref_ids=np.array(ref_ids, dtype=np.int64),
        ref_lon=np.array(ref_lon, dtype=np.float64),
        ref_lat=np.array(ref_lat, dtype=np.float64),
        way_tags={k: np.array(v, dtype=str) for k, v in way_tags.items()},
        node_tag_ids=tn_ids[keep_tn],
        node_tags=node_tags,
    )
    del tagged_nodes
    feature_ways = np.union1d(np.array(f_ways, dtype=np.int64), np.array(rel_member_ways, dtype=np.int64))
    extra_refs, extra_geoms = _member_ways(src, np.setdiff1d(rel_member_ways, f_ways))
    way_geoms = {**extra_geoms, **f_way_geoms}
    for rid, rtags, members in f_rel_rows:
        f_rows.append(("relation", rid, rtags, osmfeatures.relation_geometry(members, way_geoms)))
    del way_geoms, f_way_geoms
    feature_nodes = np.unique(
        np.concatenate(
            [
                np.array(f_nodes, dtype=np.int64),
                np.array(f_way_refs, dtype=np.int64),
                np.array(rel_member_nodes, dtype=np.int64),
                extra_refs,
            ]
        )
    )
    coverage = _coverage(header_bounds, hull)
    stats: dict[str, Any] = {
        "nodes_read": n_nodes,
        "ways_read": n_ways,
        "walk_ways_kept": walk.n_ways,
        "walk_ways_dropped": dict(dropped.most_common()),
        "feature_nodes": len(feature_nodes),
        "feature_ways": len(feature_ways),
        "feature_relations": len(f_rels),
        "buildings": len(b_wkb),
        "walk_refs_missing": int(np.isnan(walk.ref_lon).sum()),
        "bounds": list(header_bounds) if header_bounds else None,
        "coverage_from": "header bounds" if header_bounds else "hull of all nodes",
    }
    if bad_buildings:
        stats["buildings_invalid"] = bad_buildings
    return PassResult(
        walk=walk,
        feature_nodes=feature_nodes,
        feature_ways=feature_ways,
        feature_relations=np.array(f_rels, dtype=np.int64),
        feature_rows=f_rows,
        buildings_wkb=b_wkb,
        buildings_ids=b_ids,
        buildings_tags=b_tags,
        header_bounds=header_bounds,
        coverage_wgs84=coverage,
        stats=stats,
    )


def _member_ways(src: Path, ways: np.ndarray) -> tuple[np.ndarray, dict[int, Any]]:
    """Node ids and geometries of the given ways, in a second pass (only when there are any).

    These are multipolygon members that are no feature themselves.
    """
    if len(ways) == 0:
        return np.empty(0, np.int64), {}
    import osmium

    refs = array("q")
    geoms: dict[int, Any] = {}
    wanted = set(ways.tolist())
    for way in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if isinstance(way, osmium.osm.Way) and way.id in wanted:
            nodes = way.nodes
            refs.extend(nd.ref for nd in nodes)
            closed = len(nodes) > 0 and nodes[0].ref == nodes[len(nodes) - 1].ref
            coords = [(nd.location.lon, nd.location.lat) if nd.location.valid() else None for nd in nodes]
            wtags = {t.k: t.v for t in way.tags}
            geoms[way.id] = osmfeatures.way_geometry(coords, osmfeatures.way_is_polygon(closed, wtags))
    return np.array(refs, dtype=np.int64), geoms


def _coverage(header_bounds: tuple[float, float, float, float] | None, hull: _Hull | None) -> Any:
    if header_bounds is not None:
        return shapely.box(*header_bounds)
    return None if hull is None else hull.result()
