"""The first read of the pass: relations only (area candidates, feature multipolygons, stop areas).

Libosmium needs the multipolygon relations before the ways to assemble areas, so
the pass reads the relations first (:func:`read_relations`), which also gives the
multipolygon features with their member ways (so the second read knows which
ways it needs) and the members of ``public_transport=stop_area`` relations.

In a plain OSM XML file the relations come after all nodes and ways, and the XML
parser cannot skip what it does not need; for such a file only its opening
``<osm>`` element and the part from the first ``<relation`` on are parsed
(:func:`relations_source`), which for a file without relations is nothing at all.
"""

from __future__ import annotations

import logging
import mmap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_KINDS = {"n": "node", "w": "way", "r": "relation"}


@dataclass
class Relations:
    """What the relations of an OSM file hold for the pass.

    Attributes
    ----------
    features : list
        ``(id, tags, members)`` of each ``type=multipolygon`` relation that is a
        feature, ``members`` as ``(type, ref, role)`` in member order.
    stop_areas : dict
        ``"node/1" -> "relation/9"``: members of ``public_transport=stop_area``
        relations (the first relation in the file for a member of several).
    area_manager : osmium.area.AreaManager
        Libosmium's area assembler after its first pass (the multipolygons with an area key).
    """

    features: list[tuple[int, dict[str, str], list[tuple[str, int, str]]]] = field(default_factory=list)
    stop_areas: dict[str, str] = field(default_factory=dict)
    area_manager: Any = None

    def member_ids(self, kind: str) -> list[int]:
        """Ids of the members of type ``kind`` (``"w"``, ``"n"``) of the feature relations."""
        return [ref for _, _, members in self.features for mtype, ref, _ in members if mtype == kind]


class _Collector:
    """Pyosmium handler that keeps the feature multipolygons and the stop areas."""

    def __init__(self, feature_match: Callable[[Any], bool], out: Relations) -> None:
        self.feature_match = feature_match
        self.out = out

    def relation(self, rel: Any) -> None:
        tags = rel.tags
        if tags.get("type") == "multipolygon" and self.feature_match(tags):
            members = [(m.type, m.ref, m.role) for m in rel.members]
            self.out.features.append((rel.id, {t.k: t.v for t in tags}, members))
        if tags.get("public_transport") == "stop_area":
            for m in rel.members:
                self.out.stop_areas.setdefault(f"{_KINDS.get(m.type, m.type)}/{m.ref}", f"relation/{rel.id}")


def relations_source(src: Path) -> Any:
    """What to read the relations of ``src`` from: the file, or for plain XML only its relations.

    Returns
    -------
    str or osmium.io.FileBuffer
        The path, or the XML's opening up to its first element plus everything from
        the first ``<relation`` on (only the opening when there is none).
    """
    import osmium

    if not src.name.lower().endswith((".osm", ".xml")):
        return str(src)
    try:
        with src.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            start = mm.find(b"<osm")
            # '<' never stands unescaped in an attribute value: the next one ends <osm ...>.
            first = mm.find(b"<", start + 1) if start >= 0 else -1
            if first < 0 or mm[:first].rstrip().endswith(b"/>"):
                return str(src)
            pos = mm.find(b"<relation", first)
            head = mm[:first]
            tail = b"</osm>\n" if pos < 0 else mm[pos:]
    except (OSError, ValueError):  # empty or unmappable: let libosmium report it
        return str(src)
    return osmium.io.FileBuffer(head + tail, "osm")


def read_relations(
    src: Path, feature_match: Callable[[Any], bool], area_keys: tuple[str, ...] = ("building",)
) -> Relations:
    """Read the relations of ``src`` once: areas' first pass, feature multipolygons, stop areas.

    Parameters
    ----------
    src : pathlib.Path
        The OSM file.
    feature_match : callable
        ``tags -> bool``: whether an object is a feature the run needs.
    area_keys : tuple of str
        The multipolygons with one of these keys are assembled as areas.

    Returns
    -------
    Relations
    """
    source = relations_source(src)
    try:
        return _read(source, feature_match, area_keys)
    except RuntimeError:
        if isinstance(source, str):
            raise
        log.debug("OSM file %s: the relations alone could not be read; reading the whole file", src)
        return _read(str(src), feature_match, area_keys)


def _read(
    source: Any, feature_match: Callable[[Any], bool], area_keys: tuple[str, ...] = ("building",)
) -> Relations:
    import osmium
    import osmium.filter

    out = Relations(area_manager=osmium.area.AreaManager())
    with osmium.io.Reader(source, osmium.osm.RELATION) as reader:
        osmium.apply(
            reader,
            _Collector(feature_match, out),
            osmium.filter.KeyFilter(*area_keys),
            out.area_manager.first_pass_handler(),
        )
    return out
