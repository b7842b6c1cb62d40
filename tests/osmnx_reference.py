"""The walking graph as sitefinder built it before issue 11: osmnx from a cut OSM XML file.

Kept only as a test reference: the walkable ways (the same ``is_walkable`` rule)
with their nodes are cut to an XML file with pyosmium, osmnx builds the graph
(``graph_from_xml(bidirectional=True, simplify=True, retain_all=True)``), weakly
connected parts with fewer than ``min_component_nodes`` nodes are dropped and the
graph is projected. ``WalkNetwork.from_osmnx`` of that graph is the old engine's
network. :func:`osmnx_features` reads the tagged features with
``osmnx.features_from_xml`` from an XML cut of the same objects, as before.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import networkx as nx
import osmium
import osmnx as ox
from pyproj import CRS

from sitefinder.io.osm import is_walkable


def cut_walk_xml(src: Path, out: Path) -> int:
    """Write the walkable ways of ``src`` and their nodes to ``out``; return the number of ways."""
    ways: set[int] = set()
    nodes: set[int] = set()
    for way in osmium.FileProcessor(str(src), osmium.osm.WAY):
        if "highway" in way.tags and is_walkable(way.tags) is None:
            ways.add(way.id)
            nodes.update(n.ref for n in way.nodes)
    with osmium.SimpleWriter(str(out)) as writer:
        for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
            if obj.id in (nodes if obj.type_str() == "n" else ways):
                writer.add(obj)
    return len(ways)


def osmnx_walk_graph(src: Path, folder: Path, crs: CRS, min_component_nodes: int = 10) -> nx.MultiDiGraph:
    """The projected osmnx walking graph of ``src`` (the pre-issue-11 ``load_walk_graph``)."""
    xml = Path(folder) / "walk-reference.osm"
    if not xml.exists():
        cut_walk_xml(src, xml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        graph = ox.graph_from_xml(xml, bidirectional=True, simplify=True, retain_all=True)
    small = [c for c in nx.weakly_connected_components(graph) if len(c) < min_component_nodes]
    for comp in small:
        graph.remove_nodes_from(comp)
    return ox.project_graph(graph, to_crs=crs)


def osmnx_features(src: Path, folder: Path, tag_filter: dict[str, bool | list[str]], crs: CRS) -> Any:
    """The tagged features as the pre-issue-11 ``load_features`` read them (osmnx from a cut XML)."""
    from sitefinder.io.osm import _feature_keys, _matches
    from sitefinder.io.osmpass import scan

    keys = _feature_keys(tag_filter)
    res = scan(src, is_walkable, lambda tags: _matches(tags, keys))
    xml = Path(folder) / "features-reference.osm"
    xml.unlink(missing_ok=True)
    wanted = {
        "n": set(res.feature_nodes.tolist()),
        "w": set(res.feature_ways.tolist()),
        "r": set(res.feature_relations.tolist()),
    }
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            if obj.id in wanted[obj.type_str()]:
                writer.add(obj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        feats = ox.features_from_xml(xml, tags=dict(tag_filter))
    feats = feats.reset_index()
    feats["osm_id"] = feats["element"].astype(str) + "/" + feats["id"].astype(str)
    feats = feats.drop(columns=["element", "id"]).to_crs(crs)
    feats = feats[~feats.geometry.is_empty & feats.geometry.notna()]
    return feats.reset_index(drop=True)
