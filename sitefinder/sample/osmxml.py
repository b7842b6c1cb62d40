"""A deterministic OSM XML 0.6 writer for the sample town.

Elements are collected in plan coordinates by :class:`OsmBuilder` (shared
network nodes, stand-alone points, lines, closed-way polygons), transformed all
at once, and written with fixed ids (nodes 1..n, ways 1..m in insertion order),
sorted tag keys, seven-decimal coordinates and no timestamps, so the same input
always gives the same bytes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

import numpy as np

from sitefinder import __version__
from sitefinder.sample.geometry import densify, densify_all
from sitefinder.sample.network import Network, Tags

logger = logging.getLogger(__name__)

_ATTR_ESCAPES = {'"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
_CHUNK = 20_000


@dataclass
class Feature:
    """A map feature that is not part of the street network.

    Attributes
    ----------
    kind : str
        ``"point"``, ``"line"`` or ``"polygon"`` (a closed way).
    xy : numpy.ndarray
        ``(1, 2)`` point, ``(n, 2)`` polyline, or closed ``(n, 2)`` ring, plan coordinates.
    tags : dict
        OSM tags.
    """

    kind: str
    xy: np.ndarray
    tags: Tags


def _open_ring(xy: np.ndarray) -> np.ndarray:
    """The distinct vertices of a ring: ``xy`` without its closing vertex (if it has one)."""
    (x0, y0), (x1, y1) = xy[0].tolist(), xy[-1].tolist()
    # np.allclose's test (rtol 1e-5, atol 1e-8), without its cost per feature.
    if abs(x0 - x1) > 1e-8 + 1e-5 * abs(x1) or abs(y0 - y1) > 1e-8 + 1e-5 * abs(y1):
        return xy
    return xy[:-1]


class OsmBuilder:
    """Collect nodes and ways; node ids are assigned in insertion order."""

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._count = 0
        self.node_tags: dict[int, Tags] = {}
        self.ways: list[tuple[np.ndarray, Tags]] = []

    @property
    def node_count(self) -> int:
        """Number of nodes added so far."""
        return self._count

    def add_nodes(self, xy: np.ndarray) -> np.ndarray:
        """Add untagged nodes.

        Parameters
        ----------
        xy : numpy.ndarray
            ``(n, 2)`` plan coordinates.

        Returns
        -------
        numpy.ndarray
            Their zero-based indices.
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        ids = np.arange(self._count, self._count + len(xy))
        self._chunks.append(xy)
        self._count += len(xy)
        return ids

    def add_network(self, net: Network) -> np.ndarray:
        """Add the nodes used by a network and all its ways.

        Parameters
        ----------
        net : Network
            The noded street (or railway) network.

        Returns
        -------
        numpy.ndarray
            The builder's node index of each row of ``net.xy`` (-1 for unused rows).
        """
        used = net.used_nodes()
        index = np.full(len(net.xy), -1, dtype=np.int64)
        index[used] = self.add_nodes(net.xy[used])
        for ids, tags in zip(net.ways, net.tags, strict=True):
            self.ways.append((index[ids], tags))
        return index

    def add(self, feature: Feature, max_segment: float = 25.0) -> None:
        """Add a feature as a tagged node or a way with its own nodes.

        Parameters
        ----------
        feature : Feature
            The feature.
        max_segment : float
            Lines and rings are densified to this segment length so they bend
            with the town's warp.
        """
        if feature.kind == "point":
            self._add_point(feature)
        else:
            self._add_way(feature, densify(np.asarray(feature.xy, dtype=float), max_segment))

    def add_all(self, features: list[Feature], max_segment: float = 25.0) -> None:
        """Add many features, as :meth:`add` one by one (the lines densified at once).

        Parameters
        ----------
        features : list of Feature
            The features, in the order their nodes and ways get their ids.
        max_segment : float
            As in :meth:`add`.
        """
        dense = iter(densify_all([f.xy for f in features if f.kind != "point"], max_segment))
        # The nodes each feature adds, as _add_point and _add_way would add them, then all
        # their ids at once.
        rows: list[np.ndarray] = []
        for feature in features:
            if feature.kind == "point":
                rows.append(np.asarray(feature.xy, dtype=float).reshape(-1, 2))
            elif feature.kind == "polygon":
                rows.append(_open_ring(next(dense)))
            else:
                rows.append(next(dense))
        if not rows:
            return
        counts = [len(r) for r in rows]
        ids = np.arange(self._count, self._count + sum(counts))
        self._chunks.append(np.concatenate(rows))
        self._count += len(ids)
        lo = 0
        for feature, n in zip(features, counts, strict=True):
            own = ids[lo : lo + n]
            lo += n
            if feature.kind == "point":
                self.node_tags[int(own[0])] = feature.tags
            elif feature.kind == "polygon":
                self.ways.append((np.concatenate((own, own[:1])), feature.tags))
            else:
                self.ways.append((own, feature.tags))

    def _add_point(self, feature: Feature) -> None:
        idx = int(self.add_nodes(feature.xy)[0])
        self.node_tags[idx] = feature.tags

    def _add_way(self, feature: Feature, xy: np.ndarray) -> None:
        if feature.kind == "polygon":
            ids = self.add_nodes(_open_ring(xy))
            self.ways.append((np.concatenate((ids, ids[:1])), feature.tags))
        else:
            self.ways.append((self.add_nodes(xy), feature.tags))

    def coordinates(self) -> np.ndarray:
        """Return all node coordinates, ``(n, 2)``, in id order."""
        return np.vstack(self._chunks) if self._chunks else np.zeros((0, 2))


@functools.lru_cache(maxsize=65536)
def _tag_line(key: str, value: str) -> str:
    """One ``<tag>`` line (the same few thousand key/value pairs recur across a town)."""
    return f'    <tag k="{escape(key, _ATTR_ESCAPES)}" v="{escape(value, _ATTR_ESCAPES)}"/>\n'


def _tag_lines(tags: Tags) -> list[str]:
    return [_tag_line(k, str(tags[k])) for k in sorted(tags)]


def write_osm(
    path: Path,
    builder: OsmBuilder,
    lonlat: np.ndarray,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Write the collected elements as OSM XML 0.6.

    Parameters
    ----------
    path : pathlib.Path
        Output file (written directly; callers make it atomic).
    builder : OsmBuilder
        The elements.
    lonlat : numpy.ndarray
        ``(n, 2)`` WGS84 longitude/latitude of every node, in id order.
    progress : callable, optional
        Receives a short message after each part.
    """
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        _write(fh, builder, lonlat)
    if progress is not None:
        progress(f"wrote {path.name}")


#: The fictional town lies in an empty polder, and the generated world includes that polder:
#: farmland without paths, shops, care, roads or railways for this far around the outermost
#: node. The file's ``<bounds>`` declare it, so that data coverage (``covered_radius_m``)
#: tells the truth about this world: a plot at the edge of town is judged, not "onvoldoende
#: gegevens". Real extracts carry the bounds of what was really cut.
WORLD_MARGIN_M = 1500.0


def world_bounds(lonlat: np.ndarray, margin_m: float = WORLD_MARGIN_M) -> tuple[float, float, float, float]:
    """(minlon, minlat, maxlon, maxlat) of the generated world: the nodes plus ``margin_m`` of polder.

    Examples
    --------
    >>> b = world_bounds(np.array([[5.6, 52.45], [5.65, 52.49]]), margin_m=0.0)
    >>> [round(v, 2) for v in b]
    [5.6, 52.45, 5.65, 52.49]
    >>> b = world_bounds(np.array([[5.6, 52.45]]), margin_m=1000.0)
    >>> round((b[3] - b[1]) * 111_320 / 2)  # about 1 km each way, north-south
    1000
    """
    lat0 = float(np.mean(lonlat[:, 1]))
    dlat = margin_m / 111_320.0
    dlon = margin_m / (111_320.0 * np.cos(np.radians(lat0)))
    return (
        float(lonlat[:, 0].min() - dlon),
        float(lonlat[:, 1].min() - dlat),
        float(lonlat[:, 0].max() + dlon),
        float(lonlat[:, 1].max() + dlat),
    )


def _write(fh: IO[str], builder: OsmBuilder, lonlat: np.ndarray) -> None:
    fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    fh.write(
        f'<osm version="0.6" generator="sitefinder {__version__} synthetic sample" '
        'copyright="synthetic data, no OpenStreetMap content" '
        'note="Fictional town generated by sitefinder.sample; not real geography.">\n'
    )
    minlon, minlat, maxlon, maxlat = world_bounds(lonlat)
    fh.write(
        f'  <bounds minlat="{minlat:.7f}" minlon="{minlon:.7f}" maxlat="{maxlat:.7f}" maxlon="{maxlon:.7f}"/>\n'
    )
    tagged = builder.node_tags
    for lo in range(0, len(lonlat), _CHUNK):
        part = lonlat[lo : lo + _CHUNK]
        numbers = range(lo + 1, lo + len(part) + 1)
        lines = [
            f'  <node id="{k}" version="1" visible="true" lat="{lat:.7f}" lon="{lon:.7f}"/>\n'
            for k, lon, lat in zip(numbers, part[:, 0].tolist(), part[:, 1].tolist(), strict=True)
        ]
        for k, tags in tagged.items():
            if tags and lo <= k < lo + len(part):
                lines[k - lo] = lines[k - lo][:-3] + ">\n" + "".join(_tag_lines(tags)) + "  </node>\n"
        fh.write("".join(lines))
    buf: list[str] = []
    for w, (ids, tags) in enumerate(builder.ways):
        buf.append(f'  <way id="{w + 1}" version="1" visible="true">\n')
        refs = (np.asarray(ids, dtype=np.int64) + 1).tolist()
        if refs:
            buf.append('    <nd ref="' + '"/>\n    <nd ref="'.join(map(str, refs)) + '"/>\n')
        buf.extend(_tag_lines(tags))
        buf.append("  </way>\n")
        if len(buf) >= _CHUNK:
            fh.write("".join(buf))
            buf.clear()
    buf.append("</osm>\n")
    fh.write("".join(buf))
    logger.debug("OSM XML: %d nodes, %d ways", len(lonlat), len(builder.ways))
