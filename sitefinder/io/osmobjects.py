"""The second read of the pass: nodes and ways through libosmium's filters, areas as they are built.

Python sees only what it needs. In one read of the file, libosmium (C++):

* stores every node location and adds them to the ways;
* assembles the areas (closed ways, and the ``building=*`` multipolygons the first
  read found) and hands each to :class:`Buildings`;
* hands the member ways of feature multipolygons to :class:`MemberWays` (only when
  there are feature multipolygons);
* drops the nodes and ways that have none of the wanted keys (:class:`Wanted`) and
  writes the rest as OPL text, which :mod:`sitefinder.io.osmopl` reads back in bulk.

When the file has no bounds in its header, every node is written (the area the data
covers is then the convex hull of all nodes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sitefinder.io import osmfeatures

#: OPL options: node locations on the ways, no metadata (versions, users, times).
OPL_FORMAT = "opl,locations_on_ways=true,add_metadata=false"


@dataclass(frozen=True)
class Wanted:
    """Which nodes and ways libosmium hands on (by key; None: every tagged one).

    Attributes
    ----------
    node_keys, way_keys : tuple of str or None
        An object passes when it has one of these keys (None: any tag).
    all_nodes : bool
        Hand on every node, tagged or not (for the hull of all nodes).
    """

    node_keys: tuple[str, ...] | None
    way_keys: tuple[str, ...] | None
    all_nodes: bool


class Buildings:
    """Area handler: each assembled area as WKB with its id and :attr:`keys` tags.

    Parameters
    ----------
    keys : iterable of str
        The tags kept per area (None where absent).
    """

    def __init__(self, keys: Iterable[str]) -> None:
        import osmium

        self.factory = osmium.geom.WKBFactory()
        self.wkb: list[bytes] = []
        self.ids: list[str] = []
        self.tags: dict[str, list[str | None]] = {k: [] for k in keys}
        self.invalid = 0

    def area(self, area: Any) -> None:
        """Keep one area (pyosmium callback); areas libosmium cannot make WKB of are counted."""
        try:
            geom = bytes.fromhex(self.factory.create_multipolygon(area))
        except RuntimeError:
            self.invalid += 1
            return
        self.wkb.append(geom)
        self.ids.append(("way/" if area.from_way() else "relation/") + str(area.orig_id()))
        tags = area.tags
        for key, column in self.tags.items():
            column.append(tags.get(key))


class MemberWays:
    """Way handler: node ids and geometries of the given ways (feature multipolygon members).

    Parameters
    ----------
    ids : iterable of int
        The ways to keep.
    """

    def __init__(self, ids: Iterable[int]) -> None:
        self.wanted = set(ids)
        self.refs: dict[int, list[int]] = {}
        self.geoms: dict[int, Any] = {}

    def way(self, way: Any) -> None:
        """Keep one way when it is wanted (pyosmium callback)."""
        if way.id not in self.wanted:
            return
        nodes = way.nodes
        self.refs[way.id] = [nd.ref for nd in nodes]
        closed = len(nodes) > 0 and nodes[0].ref == nodes[len(nodes) - 1].ref
        coords = [(nd.location.lon, nd.location.lat) if nd.location.valid() else None for nd in nodes]
        wtags = {t.k: t.v for t in way.tags}
        self.geoms[way.id] = osmfeatures.way_geometry(coords, osmfeatures.way_is_polygon(closed, wtags))


def _key_filter(keys: tuple[str, ...] | None, entity: Any) -> Any:
    import osmium.filter

    filt = osmium.filter.KeyFilter(*keys) if keys else osmium.filter.EmptyTagFilter()
    filt.enable_for(entity)
    return filt


@contextmanager
def read_objects(
    src: Path,
    area_manager: Any,
    wanted: Wanted,
    buildings: Any,
    members: MemberWays | None,
    opl_path: Path,
) -> Iterator[Path]:
    """Read ``src`` once (nodes and ways), filling ``buildings`` and ``members``; yield the OPL.

    ``buildings`` is the area handler (a :class:`Buildings`, or one that hands areas on to it).

    The OPL file is removed when the context ends.
    """
    import osmium

    locations = osmium.NodeLocationsForWays(osmium.index.create_map("flex_mem"))
    locations.ignore_errors()
    chain: list[Any] = [locations, area_manager.second_pass_handler(buildings)]
    if members is not None:
        chain.append(members)
    if not wanted.all_nodes:
        chain.append(_key_filter(wanted.node_keys, osmium.osm.NODE))
    chain.append(_key_filter(wanted.way_keys, osmium.osm.WAY))
    try:
        with (
            osmium.SimpleWriter(osmium.io.File(str(opl_path), OPL_FORMAT), overwrite=True) as writer,
            osmium.io.Reader(str(src), osmium.osm.NODE | osmium.osm.WAY) as reader,
        ):
            osmium.apply(reader, *chain, writer)
        yield opl_path
    finally:
        opl_path.unlink(missing_ok=True)


def gather(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Flat positions of the slices ``ptr[r]:ptr[r+1]`` of the given rows, in row order."""
    start = ptr[rows]
    lengths = ptr[rows + 1] - start
    if len(rows) == 0 or int(lengths.sum()) == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.repeat(start - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets
