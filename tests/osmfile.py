"""A tiny OSM XML writer for tests: nodes placed in RD New metres, written as WGS84."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from pyproj import Transformer

_TO_WGS84 = Transformer.from_crs(28992, 4326, always_xy=True)


class OsmFile:
    """Collect nodes, ways and relations (coordinates in EPSG:28992) and write OSM XML 0.6."""

    def __init__(self) -> None:
        self.nodes: list[tuple[int, float, float, dict[str, str]]] = []
        self.ways: list[tuple[int, list[int], dict[str, str]]] = []
        self.relations: list[tuple[int, list[tuple[str, int, str]], dict[str, str]]] = []

    def node(self, x: float, y: float, tags: dict[str, str] | None = None) -> int:
        """Add a node at RD ``(x, y)``; return its id."""
        nid = len(self.nodes) + 1
        self.nodes.append((nid, x, y, dict(tags or {})))
        return nid

    def way(self, points: list[tuple[float, float] | int], tags: dict[str, str] | None = None) -> int:
        """Add a way through RD points (new nodes) or existing node ids; return its id."""
        refs = [p if isinstance(p, int) else self.node(*p) for p in points]
        wid = len(self.ways) + 1
        self.ways.append((wid, refs, dict(tags or {})))
        return wid

    def relation(self, members: list[tuple[str, int, str]], tags: dict[str, str]) -> int:
        """Add a relation with ``(type, ref, role)`` members; return its id."""
        rid = len(self.relations) + 1
        self.relations.append((rid, members, dict(tags)))
        return rid

    def write(self, path: Path, bounds: tuple[float, float, float, float] | None = None) -> Path:
        """Write the file; ``bounds`` (RD minx, miny, maxx, maxy) becomes the header box."""

        def tags(t: dict[str, str]) -> str:
            return "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in t.items())

        lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
        if bounds is not None:
            w, s = _TO_WGS84.transform(bounds[0], bounds[1])
            e, n = _TO_WGS84.transform(bounds[2], bounds[3])
            lines.append(f'<bounds minlat="{s:.7f}" minlon="{w:.7f}" maxlat="{n:.7f}" maxlon="{e:.7f}"/>')
        for nid, x, y, t in self.nodes:
            lon, lat = _TO_WGS84.transform(x, y)
            lines.append(f'<node id="{nid}" version="1" lat="{lat:.8f}" lon="{lon:.8f}">{tags(t)}</node>')
        for wid, refs, t in self.ways:
            nds = "".join(f'<nd ref="{r}"/>' for r in refs)
            lines.append(f'<way id="{wid}" version="1">{nds}{tags(t)}</way>')
        for rid, members, t in self.relations:
            ms = "".join(f'<member type="{ty}" ref="{ref}" role="{role}"/>' for ty, ref, role in members)
            lines.append(f'<relation id="{rid}" version="1">{ms}{tags(t)}</relation>')
        lines.append("</osm>")
        path.write_text("\n".join(lines), encoding="utf-8")
        return path
