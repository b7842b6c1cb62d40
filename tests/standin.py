"""A loopback HTTP server that answers like Overpass, Nominatim, PDOK (OGC API Features) and Geofabrik.

Its answers are built from fixtures the tests make (an OSM file, a boundary
GeoJSON), so the real client code in sitefinder.io runs unchanged against it:

* ``POST /api/interpreter`` (Overpass): evaluates the subset of Overpass QL that
  sitefinder sends (``way["k"](poly:"...")``, ``nwr["k"~"^(a|b)$"](poly:"...")``,
  ``(._;>;)``, ``out body``) against the fixture OSM file and answers OSM XML.
* ``GET /search`` (Nominatim): the boundary as a ``polygon_geojson`` result.
* ``GET /collections/<c>/items`` (PDOK OGC API Features): the boundary as GeoJSON,
  filtered by the code parameter, paged with a ``rel=next`` link.
* ``GET /<name>.osm.pbf`` and ``.md5`` (Geofabrik): the fixture as PBF.
* ``GET /collections/buurten/items`` (PDOK CBS wijken en buurten): the fixture
  neighbourhoods, filtered by ``gemeentecode``, paged like the boundary.
* ``GET /ODataApi/odata/<table>/TypedDataSet`` (CBS open data): the fixture key-figure
  records, filtered by ``$filter=startswith(WijkenEnBuurten,'BU....')``, in two pages
  joined by ``odata.nextLink``.

Failure modes for the bad-input tests: ``mode = "truncated"`` cuts every answer in
half, ``mode = "overpass-error"`` answers Overpass's out-of-memory remark,
``overpass_statuses = [429]`` answers those statuses first (then normally),
``mode = "504-storm"`` answers 504 to every Overpass query, ``mode = "slow"`` sends the
first kilobyte of an Overpass answer or a Geofabrik extract and then stalls for ``stall_s`` seconds, ``mode = "silent"`` takes every
request and says nothing at all for ``stall_s`` seconds (a stalled server); PDOK pages carry
``numberMatched``/``numberReturned``, ``mode = "pdok-lost-page"`` matches one feature more than
it serves and ``mode = "pdok-no-filter"`` adds a feature of another municipality. ``GET /api/status`` answers
``status_text``; ``user_agents`` records the User-Agent of every Overpass request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import osmium
import shapely


@dataclass
class OsmStore:
    """The fixture OSM data in memory."""

    nodes: dict[int, tuple[float, float, dict[str, str]]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict[str, str]]] = field(default_factory=dict)
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> OsmStore:
        store = cls()
        for o in osmium.FileProcessor(str(path)):
            tags = {t.k: t.v for t in o.tags}
            if isinstance(o, osmium.osm.Node):
                store.nodes[o.id] = (o.location.lon, o.location.lat, tags)
            elif isinstance(o, osmium.osm.Way):
                store.ways[o.id] = ([n.ref for n in o.nodes], tags)
            elif isinstance(o, osmium.osm.Relation):
                store.relations[o.id] = ([(m.type, m.ref, m.role) for m in o.members], tags)
        return store


_CLAUSE = re.compile(r'^\s*(way|nwr)((?:\[[^\]]*\])+)\(poly:"([^"]+)"\);\s*$')
_SEL = re.compile(r'\["([^"]+)"(?:~"\^\(([^"]*)\)\$")?\]')


def _matches(tags: dict[str, str], sels: list[tuple[str, str | None]]) -> bool:
    for key, alt in sels:
        if key not in tags:
            return False
        if alt is not None and tags[key] not in alt.split("|"):
            return False
    return True


def overpass_answer(store: OsmStore, query: str) -> str:
    """Evaluate sitefinder's Overpass query on the store; return OSM XML."""
    ids = np.fromiter(store.nodes, dtype=np.int64, count=len(store.nodes))
    xy = np.array([store.nodes[i][:2] for i in ids.tolist()]) if len(ids) else np.zeros((0, 2))
    sel_nodes: set[int] = set()
    sel_ways: set[int] = set()
    sel_rels: set[int] = set()
    inside_cache: dict[str, set[int]] = {}
    for line in query.splitlines():
        m = _CLAUSE.match(line)
        if not m:
            continue
        kind, sels_txt, poly_txt = m.groups()
        if poly_txt not in inside_cache:
            vals = [float(v) for v in poly_txt.split()]
            poly = shapely.Polygon(list(zip(vals[1::2], vals[0::2], strict=True)))
            mask = shapely.contains_xy(poly, xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, bool)
            inside_cache[poly_txt] = set(ids[mask].tolist())
        inside = inside_cache[poly_txt]
        sels = [(k, alt) for k, alt in _SEL.findall(sels_txt)]
        sels = [(k, alt or None) for k, alt in sels]
        if kind == "nwr":
            sel_nodes |= {i for i in inside if _matches(store.nodes[i][2], sels)}
        for wid, (nds, tags) in store.ways.items():
            if _matches(tags, sels) and any(n in inside for n in nds):
                sel_ways.add(wid)
        if kind == "nwr":
            for rid, (members, tags) in store.relations.items():
                if not _matches(tags, sels):
                    continue
                for mtype, ref, _ in members:
                    if (mtype == "n" and ref in inside) or (
                        mtype == "w" and ref in store.ways and any(n in inside for n in store.ways[ref][0])
                    ):
                        sel_rels.add(rid)
                        break
    # (._;>;): recurse down to members and nodes.
    for rid in sel_rels:
        for mtype, ref, _ in store.relations[rid][0]:
            if mtype == "w" and ref in store.ways:
                sel_ways.add(ref)
            elif mtype == "n" and ref in store.nodes:
                sel_nodes.add(ref)
    for wid in sel_ways:
        sel_nodes.update(n for n in store.ways[wid][0] if n in store.nodes)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="Overpass API stand-in (sitefinder tests)">',
        "<note>The data included in this document is from www.openstreetmap.org.</note>",
    ]
    for nid in sorted(sel_nodes):
        lon, lat, tags = store.nodes[nid]
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        out.append(f'<node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>')
    for wid in sorted(sel_ways):
        nds, tags = store.ways[wid]
        body = "".join(f'<nd ref="{n}"/>' for n in nds)
        body += "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        out.append(f'<way id="{wid}">{body}</way>')
    for rid in sorted(sel_rels):
        members, tags = store.relations[rid]
        tmap = {"n": "node", "w": "way", "r": "relation"}
        body = "".join(
            f'<member type="{tmap[t]}" ref="{r}" role={quoteattr(role)}/>' for t, r, role in members
        )
        body += "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        out.append(f'<relation id="{rid}">{body}</relation>')
    out.append("</osm>")
    return "\n".join(out) + "\n"


class StandIn:
    """State of a running stand-in server."""

    def __init__(
        self,
        osm: Path | None,
        boundary: dict[str, Any] | None,
        code_property: str = "gemeentecode",
        code: str = "GM0034",
        pbf: Path | None = None,
        collections: dict[str, dict[str, Any]] | None = None,
        odata: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.store = OsmStore.read(osm) if osm else OsmStore()
        self.boundary = boundary
        self.code_property = code_property
        self.code = code
        self.pbf = pbf
        self.collections = collections or {}
        self.odata = odata or {}
        self.mode = "ok"
        #: Overpass failure script: HTTP statuses answered to the next POSTs, in order
        #: (e.g. ``[429]`` for one 429 then normal answers); ``"504-storm"`` mode answers 504 always.
        self.overpass_statuses: list[int] = []
        #: Seconds a ``"slow"`` answer stalls after its first bytes (bounded; the client gives up first).
        self.stall_s = 3.0
        #: ``/api/status`` text (Overpass's rate-limit page).
        self.status_text = (
            "Connected as: 2130706433\nRate limit: 2\n2 slots available now.\nCurrently running queries:\n"
        )
        self.user_agents: list[str] = []
        self.requests: list[str] = []
        self.url = ""


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, body: bytes, ctype: str, status: int = 200, declared: int | None = None) -> None:
            if state.mode == "truncated":
                declared = len(body)
                body = body[: len(body) // 2]
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(declared if declared is not None else len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def _silent(self) -> bool:
            """``mode = "silent"``: the request is taken and then nothing is said for ``stall_s``."""
            if state.mode == "silent":
                time.sleep(state.stall_s)
                return True
            return False

        def do_POST(self) -> None:
            state.requests.append(f"POST {self.path}")
            if self._silent():
                return
            state.user_agents.append(self.headers.get("User-Agent", ""))
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            query = form.get("data", [""])[0]
            if not self.path.endswith("/interpreter"):
                self._send(b"not found", "text/plain", 404)
            elif state.overpass_statuses or state.mode == "504-storm":
                status = state.overpass_statuses.pop(0) if state.overpass_statuses else 504
                text = {429: "Too Many Requests", 504: "Gateway Timeout"}.get(status, "Error")
                self._send(f"<html><body>{status} {text}</body></html>".encode(), "text/html", status)
            elif state.mode == "slow":
                # Headers and the start of the document at once (no Content-Length: the
                # answer ends when the connection closes), then nothing for stall_s.
                self.send_response(200)
                self.send_header("Content-Type", "application/osm3s+xml")
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
                    self.wfile.flush()
                    time.sleep(state.stall_s)  # the rest never comes in time
            elif state.mode == "overpass-error":
                xml = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="Overpass API">\n'
                    "<remark> runtime error: Query run out of memory using about 2048 MB of RAM. </remark>\n</osm>\n"
                )
                self._send(xml.encode(), "application/osm3s+xml")
            else:
                self._send(overpass_answer(state.store, query).encode(), "application/osm3s+xml")

        def do_GET(self) -> None:
            state.requests.append(f"GET {self.path}")
            if self._silent():
                return
            if self.path.rstrip("/").endswith("/api/status"):
                self._send(state.status_text.encode(), "text/plain")
                return
            url = urllib.parse.urlparse(self.path)
            params = urllib.parse.parse_qs(url.query)
            if url.path.endswith("/search") and state.boundary is not None:
                geom = state.boundary["features"][0]["geometry"]
                shp = shapely.geometry.shape(geom)
                w, s, e, n = shp.bounds
                res = [
                    {
                        "place_id": 1,
                        "osm_type": "relation",
                        "osm_id": 1,
                        "lat": str((s + n) / 2),
                        "lon": str((w + e) / 2),
                        "boundingbox": [str(s), str(n), str(w), str(e)],
                        "class": "boundary",
                        "type": "administrative",
                        "importance": 0.7,
                        "display_name": params.get("q", [""])[0],
                        "geojson": geom,
                    }
                ]
                self._send(json.dumps(res).encode(), "application/json")
            elif "/ODataApi/odata/" in url.path and url.path.endswith("/TypedDataSet"):
                table = url.path.split("/")[-2]
                flt = params.get("$filter", [""])[0]
                m = re.match(r"^startswith\(WijkenEnBuurten,'([^']*)'\)$", flt)
                if table not in state.odata or not m:
                    self._send(
                        b'{"odata.error": {"message": {"value": "not found"}}}', "application/json", 404
                    )
                    return
                rows = [
                    r for r in state.odata[table] if str(r.get("WijkenEnBuurten", "")).startswith(m.group(1))
                ]
                half = len(rows) // 2
                if "$skip" not in params and half > 0:
                    doc = {
                        "value": rows[:half],
                        "odata.nextLink": f"{state.url}{url.path}?{url.query}&$skip={half}",
                    }
                else:
                    doc = {"value": rows[int(params.get("$skip", ["0"])[0]) :]}
                self._send(json.dumps(doc).encode(), "application/json")
            elif (
                "/collections/" in url.path
                and url.path.endswith("/items")
                and (state.boundary is not None or url.path.split("/")[-2] in state.collections)
            ):
                source = state.collections.get(url.path.split("/")[-2]) or state.boundary
                assert source is not None
                feats = [
                    f for f in source["features"] if params.get(state.code_property, [None])[0] == state.code
                ]
                if state.mode == "pdok-no-filter":  # a service that ignores the filter parameter
                    feats = [*feats, {**feats[0], "properties": {state.code_property: "GM0363"}}]
                page = params.get("page", ["1"])[0]
                matched = len(feats) + (1 if state.mode == "pdok-lost-page" else 0)
                doc: dict[str, Any] = {"type": "FeatureCollection", "links": [], "numberMatched": matched}
                if page == "1":
                    # First page empty with a next link: exercises OGC API paging.
                    doc["features"] = []
                    doc["links"].append({"rel": "next", "href": f"{state.url}{url.path}?{url.query}&page=2"})
                else:
                    doc["features"] = feats
                doc["numberReturned"] = len(doc["features"])
                self._send(json.dumps(doc).encode(), "application/geo+json")
            elif url.path.endswith(".osm.pbf.md5") and state.pbf is not None:
                digest = hashlib.md5(state.pbf.read_bytes(), usedforsecurity=False).hexdigest()
                self._send(f"{digest}  {state.pbf.name}\n".encode(), "text/plain")
            elif url.path.endswith(".osm.pbf") and state.pbf is not None and state.mode == "slow":
                data = state.pbf.read_bytes()  # the first kilobyte, then nothing for stall_s
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data[:1024])
                    self.wfile.flush()
                    time.sleep(state.stall_s)
            elif url.path.endswith(".osm.pbf") and state.pbf is not None:
                self._send(state.pbf.read_bytes(), "application/octet-stream")
            else:
                self._send(b"not found", "text/plain", 404)

    return Handler


@contextmanager
def serve(state: StandIn) -> Iterator[StandIn]:
    """Run the stand-in on a free loopback port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
