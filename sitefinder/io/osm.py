"""Read OpenStreetMap files: the walking network and the features sitefinder needs.

Any file libosmium reads works: ``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``.
pyosmium first cuts two small XML files from the source (in C++, fast even for a
Geofabrik province): the walkable ways with their nodes, and the tagged objects
that categories, nuisance sources and candidate plots need, with the members and
nodes they reference. osmnx then builds the graph and the feature frame from
those, exactly as it would from any OSM XML. The cut files are cached by the
source's content hash, so a second run reads only them.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import osmium
import osmnx as ox
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import box

from sitefinder.errors import DataValidationError, InputFileError
from sitefinder.io.atomic import atomic_path, require_file, sha256_file, write_text_atomic

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf", ".xml")

#: Highway values nobody walks on (osmnx's "walk" filter, adapted: Dutch pedestrians may
#: use a cycle path where there is no footway, RVV 1990 art. 4, so cycleways stay).
NOT_WALKABLE = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "abandoned", "bus_guideway",
        "construction", "no", "planned", "platform", "proposed", "raceway", "razed",
        "busway", "escape", "corridor", "elevator", "emergency_bay", "services",
        "rest_area",
    }
)  # fmt: skip

#: Nuisance sources by kind: OSM tag rules (straight-line distance indicators).
NUISANCE_TAGS: dict[str, dict[str, list[str]]] = {
    "major_road": {"highway": ["motorway", "motorway_link", "trunk", "trunk_link"]},
    "railway": {"railway": ["rail", "light_rail"]},
}

#: Road and rail lines used by the noise model (issue: modelled noise when no raster).
NOISE_LINE_TAGS: dict[str, list[str] | bool] = {
    "highway": [
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
        "residential", "living_street", "service", "busway",
    ],
    "railway": ["rail", "light_rail", "tram"],
}  # fmt: skip

#: Candidate development sites when no plots file is given.
CANDIDATE_LANDUSE = ["construction", "brownfield", "greenfield"]


@dataclass(frozen=True)
class OsmExtract:
    """The two cut files made from one OSM source, with what was kept."""

    source: Path
    sha256: str
    walk_path: Path
    features_path: Path
    bounds: tuple[float, float, float, float] | None
    stats: dict[str, Any]


def _is_walkable(tags: Any) -> str | None:
    """Return None when a way is walkable, else the reason it is not."""
    highway = tags.get("highway")
    if highway is None:
        return "no highway tag"
    if highway in NOT_WALKABLE and tags.get("foot") not in ("yes", "designated"):
        return f"highway={highway}"
    if tags.get("area") == "yes":
        return "area=yes"
    closed = tags.get("foot") in ("no", "private") or tags.get("access") in ("private", "no")
    if closed and tags.get("foot") not in ("yes", "designated", "permissive"):
        return "foot/access private or no"
    if tags.get("service") == "private":
        return "service=private"
    return None


def _feature_keys(tag_filter: dict[str, bool | list[str]]) -> dict[str, set[str] | None]:
    keys: dict[str, set[str] | None] = {}
    for key, val in tag_filter.items():
        if val is True:
            keys[key] = None
        else:
            prev = keys.get(key, set())
            keys[key] = None if prev is None else prev | set(val)  # type: ignore[arg-type]
    return keys


def _matches(tags: Any, keys: dict[str, set[str] | None]) -> bool:
    for key, vals in keys.items():
        v = tags.get(key)
        if v is None:
            continue
        if vals is None or any(part.strip() in vals for part in v.split(";")):
            return True
    return False


def feature_tag_filter(category_tags: dict[str, bool | list[str]]) -> dict[str, bool | list[str]]:
    """All tags the run needs from OSM features: categories, nuisance, noise lines, landuse."""
    merged: dict[str, bool | list[str]] = dict(category_tags)
    extra: list[dict[str, Any]] = [
        *NUISANCE_TAGS.values(),
        NOISE_LINE_TAGS,
        {"landuse": CANDIDATE_LANDUSE},
    ]
    for rules in extra:
        for key, vals in rules.items():
            cur = merged.get(key)
            if cur is True or vals is True:
                merged[key] = True
            else:
                old = cur if isinstance(cur, list) else []
                merged[key] = sorted(set(old) | set(vals))
    return merged


def extract(src: Path, tag_filter: dict[str, bool | list[str]], cache_dir: Path) -> OsmExtract:
    """Cut the walking network and the needed features out of an OSM file.

    Parameters
    ----------
    src : pathlib.Path
        An OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf``).
    tag_filter : dict
        Keys (and values) of the features to keep, osmnx ``tags=`` form.
    cache_dir : pathlib.Path
        Where the cut files are cached, by content hash of the source and filter.

    Returns
    -------
    OsmExtract
        Paths of the cut files and counts of what was kept.

    Raises
    ------
    InputFileError
        When the file is missing, has an unknown suffix, or libosmium cannot read it.
    """
    src = require_file(src, "OSM file")
    name = src.name.lower()
    if not name.endswith(OSM_SUFFIXES):
        msg = (
            f"OSM file {src}: unknown file type; use .osm, .osm.gz, .osm.bz2 or .osm.pbf "
            "(export from openstreetmap.org, Overpass or a Geofabrik extract)"
        )
        raise InputFileError(msg)
    digest = sha256_file(src)
    key = digest[:16] + "-" + _short_hash(json.dumps(tag_filter, sort_keys=True))
    out_dir = Path(cache_dir) / "osm" / key
    walk_path = out_dir / "walk.osm"
    feat_path = out_dir / "features.osm"
    stats_path = out_dir / "stats.json"
    if walk_path.exists() and feat_path.exists() and stats_path.exists():
        stats = json.loads(stats_path.read_text("utf-8"))
        log.info("OSM cut files for %s reused from cache %s", src.name, out_dir)
        return OsmExtract(src, digest, walk_path, feat_path, _bounds(stats), stats)

    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        stats = _cut(src, tag_filter, walk_path, feat_path)
    except (RuntimeError, ValueError) as exc:
        msg = (
            f"OSM file {src}: libosmium cannot read it ({str(exc).splitlines()[0]}); "
            "the file is corrupt or truncated, download or export it again"
        )
        raise InputFileError(msg) from None
    write_text_atomic(stats_path, json.dumps(stats, indent=1))
    return OsmExtract(src, digest, walk_path, feat_path, _bounds(stats), stats)


def _bounds(stats: dict[str, Any]) -> tuple[float, float, float, float] | None:
    b = stats.get("bounds")
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3])) if b else None


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _cut(
    src: Path, tag_filter: dict[str, bool | list[str]], walk_path: Path, feat_path: Path
) -> dict[str, Any]:
    keys = _feature_keys(tag_filter)
    walk = osmium.IdTracker()
    feats = osmium.IdTracker()
    dropped: Counter[str] = Counter()
    n_ways = 0
    fp = osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION)
    header_box = fp.header.box()
    for obj in fp:
        if isinstance(obj, osmium.osm.Changeset | osmium.osm.Area):
            continue
        tags = obj.tags
        if isinstance(obj, osmium.osm.Node):
            if len(tags) and _matches(tags, keys):
                feats.add_node(obj.id)
        elif isinstance(obj, osmium.osm.Way):
            n_ways += 1
            if "highway" in tags:
                reason = _is_walkable(tags)
                if reason is None:
                    walk.add_way(obj.id)
                else:
                    dropped[reason] += 1
            if _matches(tags, keys):
                feats.add_way(obj.id)
        elif _matches(tags, keys) and tags.get("type") == "multipolygon":
            feats.add_relation(obj.id)
    walk.complete_backward_references(str(src), relation_depth=0)
    feats.complete_backward_references(str(src), relation_depth=1)
    for tracker, path in ((walk, walk_path), (feats, feat_path)):
        with atomic_path(path) as tmp, osmium.SimpleWriter(str(tmp)) as writer:
            for obj in osmium.FileProcessor(str(src)).with_filter(tracker.id_filter()):
                writer.add(obj)
    bounds = None
    if header_box.valid():
        bl, tr = header_box.bottom_left, header_box.top_right
        bounds = [bl.lon, bl.lat, tr.lon, tr.lat]
    stats: dict[str, Any] = {
        "ways_read": n_ways,
        "walk_ways_kept": len(walk.way_ids()),
        "walk_ways_dropped": dict(dropped.most_common()),
        "feature_nodes": len(feats.node_ids()),
        "feature_ways": len(feats.way_ids()),
        "feature_relations": len(feats.relation_ids()),
        "bounds": bounds,
    }
    log.info(
        "Cut %s: %d walkable ways kept of %d highway ways (dropped: %s)",
        src.name,
        stats["walk_ways_kept"],
        stats["walk_ways_kept"] + sum(dropped.values()),
        ", ".join(f"{k} {v}" for k, v in dropped.most_common(6)) or "none",
    )
    return stats


def load_walk_graph(ext: OsmExtract, crs: CRS, min_component_nodes: int = 10) -> nx.MultiDiGraph:
    """Build the projected walking graph with osmnx from the cut file.

    Small disconnected fragments (fewer than ``min_component_nodes`` nodes, usually
    mapping errors or paths cut at the extract edge) are dropped so that plots and
    amenities are not snapped onto them; larger components are kept, so that an
    amenity across water without a bridge is unreachable rather than silently near.
    """
    if ext.stats.get("walk_ways_kept", 0) == 0:
        msg = (
            f"OSM file {ext.source}: contains no walkable ways (highway=*); "
            "use an extract that includes the street network"
        )
        raise DataValidationError(msg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        graph = ox.graph_from_xml(ext.walk_path, bidirectional=True, simplify=True, retain_all=True)
    n0, e0 = graph.number_of_nodes(), graph.number_of_edges()
    small = [c for c in nx.weakly_connected_components(graph) if len(c) < min_component_nodes]
    for comp in small:
        graph.remove_nodes_from(comp)
    graph = ox.project_graph(graph, to_crs=crs)
    log.info(
        "Walking network: %d nodes, %d edges (dropped %d fragments with %d nodes; "
        "%d nodes, %d edges read), CRS %s",
        graph.number_of_nodes(),
        graph.number_of_edges(),
        len(small),
        sum(len(c) for c in small),
        n0,
        e0,
        crs.to_string(),
    )
    return graph


def load_features(ext: OsmExtract, tag_filter: dict[str, bool | list[str]], crs: CRS) -> gpd.GeoDataFrame:
    """Read the cut features with osmnx, projected, with an ``osm_id`` column (``node/123``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            feats = ox.features_from_xml(ext.features_path, tags=dict(tag_filter))
    except ox._errors.InsufficientResponseError:
        log.warning("OSM file %s: no tagged features found", ext.source)
        return gpd.GeoDataFrame({"osm_id": []}, geometry=[], crs=crs)
    feats = feats.reset_index()
    feats["osm_id"] = feats["element"].astype(str) + "/" + feats["id"].astype(str)
    feats = feats.drop(columns=["element", "id"]).to_crs(crs)
    feats = feats[~feats.geometry.is_empty & feats.geometry.notna()]
    log.info("Read %d tagged OSM features from %s", len(feats), ext.source.name)
    return feats.reset_index(drop=True)


def nuisance_sources(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Major roads and railways as lines with a ``kind`` column (nightlife comes from amenities)."""
    parts = []
    for kind, rules in NUISANCE_TAGS.items():
        for key, vals in rules.items():
            if key in features.columns:
                sel = features[features[key].isin(vals)]
                sel = sel[sel.geom_type.isin(["LineString", "MultiLineString"])]
                parts.append(
                    gpd.GeoDataFrame(
                        {"kind": kind, "osm_id": sel["osm_id"]},
                        geometry=sel.geometry.values,
                        crs=features.crs,
                    )
                )
    if not parts:
        return gpd.GeoDataFrame({"kind": [], "osm_id": []}, geometry=[], crs=features.crs)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=features.crs)


def candidate_plots(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidate plots from OSM ``landuse=construction|brownfield|greenfield`` polygons."""
    if "landuse" not in features.columns:
        return gpd.GeoDataFrame({"plot_id": []}, geometry=[], crs=features.crs)
    sel = features[
        features["landuse"].isin(CANDIDATE_LANDUSE) & features.geom_type.isin(["Polygon", "MultiPolygon"])
    ]
    out = gpd.GeoDataFrame(
        {
            "plot_id": sel["osm_id"].str.replace("/", "-", regex=False).to_numpy(),
            "name": sel["name"].to_numpy() if "name" in sel.columns else None,
            "landuse": sel["landuse"].to_numpy(),
        },
        geometry=sel.geometry.to_numpy(),
        crs=features.crs,
    )
    log.info("Candidate plots from OSM landuse: %d", len(out))
    return out


def study_area(ext: OsmExtract, graph: nx.MultiDiGraph, crs: CRS) -> Any:
    """The area the OSM data covers: the file's bounds, else the hull of the walking network."""
    if ext.bounds is not None:
        area = gpd.GeoSeries([box(*ext.bounds)], crs="EPSG:4326").to_crs(crs).iloc[0]
        return shapely.segmentize(area, 50.0)
    xs = [d["x"] for _, d in graph.nodes(data=True)]
    ys = [d["y"] for _, d in graph.nodes(data=True)]
    if not xs:
        msg = f"OSM file {ext.source}: walking network is empty"
        raise InputFileError(msg)
    return shapely.convex_hull(shapely.multipoints(list(zip(xs, ys, strict=True))))


def covered_area(ext: OsmExtract, graph: nx.MultiDiGraph, features: gpd.GeoDataFrame, crs: CRS) -> Any:
    """The area the OSM data really covers, for the coverage rules (:mod:`sitefinder.coverage`).

    The file's header bounds when it has them; otherwise the convex hull of the
    walking network's nodes and of every feature read (not only the network: a file
    may hold shops beyond its last street).
    """
    if ext.bounds is not None:
        return study_area(ext, graph, crs)
    xs = [d["x"] for _, d in graph.nodes(data=True)]
    ys = [d["y"] for _, d in graph.nodes(data=True)]
    pts = [shapely.multipoints(list(zip(xs, ys, strict=True)))] if xs else []
    if len(features):
        pts.append(shapely.union_all(shapely.extract_unique_points(features.geometry.to_numpy())))
    if not pts:
        msg = f"OSM file {ext.source}: holds no nodes"
        raise InputFileError(msg)
    return shapely.convex_hull(shapely.union_all(pts))
