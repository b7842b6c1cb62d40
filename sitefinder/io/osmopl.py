"""Read back the OPL text libosmium writes during the pass: tagged nodes and ways, in bulk.

The pass (:mod:`sitefinder.io.osmpass`) has libosmium write the nodes and ways it
needs as OPL (``locations_on_ways``, no metadata) instead of handing every object
to Python one by one; this module parses that text in blocks of lines, so memory
is bounded by the block size. The lines are (https://osmcode.org/opl-file-format/):

* ``n<id> T<tags> x<lon> y<lat>``, with ``x y`` empty when the node has no location;
* ``w<id> T<tags> N<list>``, the list ``n<ref>x<lon>y<lat>,...`` and ``n<ref>xy`` for a
  node that is not in the file;
* tags ``k=v,k=v``; characters outside OPL's safe set (space, ``,``, ``=``, ``@``,
  ``%``, controls, code points from U+0600) are written as ``%<hex code point>%``.

Coordinates are read as the decimal text libosmium writes from its fixed-point
integers, so each is the double that ``osmium.osm.Location.lon`` returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: Bytes of OPL read per block.
BLOCK_BYTES = 1 << 24

_ESCAPE = re.compile(r"%([0-9a-fA-F]+)%")
_SEPARATORS = bytes.maketrans(b"nxy,", b"    ")


def decode(text: str) -> str:
    """A key or value of an OPL tag list with its escapes resolved."""
    if "%" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def tag_pairs(field: bytes) -> list[tuple[str, str]]:
    """The ``(key, value)`` pairs of an OPL ``T`` field, in file order."""
    text = field[1:].decode("utf-8")
    if not text:
        return []
    items = [item.partition("=") for item in text.split(",")]
    if "%" not in text:
        return [(k, v) for k, _, v in items]
    return [(decode(k), decode(v)) for k, _, v in items]


def first_wins(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Tags as a dict where a repeated key keeps its first value (``TagList.get``)."""
    out = dict(pairs)
    return out if len(out) == len(pairs) else dict(reversed(pairs))


def blocks(path: Path, size: int = BLOCK_BYTES) -> Iterator[list[bytes]]:
    """The lines of an OPL file (without line ends), about ``size`` bytes at a time."""
    with Path(path).open("rb") as f:
        while True:
            lines = f.readlines(size)
            if not lines:
                return
            yield [line.rstrip(b"\n") for line in lines]


def coordinate(field: bytes) -> float:
    """The number of an ``x...`` or ``y...`` field (NaN when empty)."""
    return float(field[1:]) if len(field) > 1 else float("nan")


def node_lists(bodies: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node ids, lon, lat and node count of the ``N`` lists of many ways at once.

    Parameters
    ----------
    bodies : list of bytes
        The ``N`` fields without their ``N``.

    Returns
    -------
    ids, lon, lat, counts : numpy.ndarray
        Flat over all ways in order (int64, float64 with NaN where a node has no
        location, float64) and the number of nodes of each way (int64).
    """
    counts = np.fromiter((b.count(b",") + 1 if b else 0 for b in bodies), dtype=np.int64, count=len(bodies))
    text = b" ".join(b for b in bodies if b)
    if not text:
        empty = np.empty(0, dtype=np.float64)
        return np.empty(0, dtype=np.int64), empty, empty.copy(), counts
    text = text.replace(b"xy", b"x!y!").translate(_SEPARATORS).replace(b"!", b"nan")
    # Plain numbers separated by blanks: ref, lon, lat per node.
    values = np.fromstring(text, dtype=np.float64, sep=" ")
    if len(values) != 3 * int(counts.sum()):
        msg = "OPL node list could not be read back"
        raise ValueError(msg)
    triples = values.reshape(-1, 3)
    ids = triples[:, 0]
    if len(ids) and np.abs(ids).max() >= 2**53:  # beyond exact doubles: read the ids as integers
        tokens = text.split()
        ids_i = np.array([int(t) for t in tokens[0::3]], dtype=np.int64)
    else:
        ids_i = ids.astype(np.int64)
    return ids_i, triples[:, 1].copy(), triples[:, 2].copy(), counts


def valid_lonlat(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Where a location is valid by libosmium's rule (-180..180, -90..90, not missing)."""
    with np.errstate(invalid="ignore"):
        return (np.abs(lon) <= 180.0) & (np.abs(lat) <= 90.0)
