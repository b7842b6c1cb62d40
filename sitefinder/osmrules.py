"""OSM tagging rules shared by several stages (one rule, one place).

:func:`underground` decides which roads and railways run in a tunnel or under a
cover. Such ways are no straight-line nuisance source (a plot above a rail tunnel is
not "next to the railway") and emit no noise in the noise model: both use this rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_TRUE = frozenset({"yes", "true", "1"})

#: ``tunnel=*`` values that are open to the air: a building passage is a few metres of
#: roof over a street that is open at both ends (OSM wiki Key:tunnel), so it stays a source.
OPEN_TUNNEL_VALUES = frozenset({"no", "building_passage", ""})


def _values(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | np.ndarray):
        return list(value)
    return [value]


def _text(value: Any) -> list[str]:
    return [v.strip().lower() for v in _values(value) if isinstance(v, str)]


def _negative_layer(value: Any) -> bool:
    for v in _text(value):
        try:
            if float(v.split(";")[0]) < 0:
                return True
        except ValueError:
            continue
    return False


def underground(tunnel: Any = None, covered: Any = None, layer: Any = None, location: Any = None) -> bool:
    """True for a way in a tunnel or under a cover.

    The rule: ``tunnel=*`` other than ``no`` (and ``building_passage``, see
    :data:`OPEN_TUNNEL_VALUES`), ``covered=yes``, or a negative ``layer`` together
    with ``location=underground``. Values may be osmnx lists (merged ways).

    >>> underground(tunnel="yes"), underground(tunnel="no"), underground(covered="yes")
    (True, False, True)
    >>> underground(layer="-1"), underground(layer="-1", location="underground")
    (False, True)
    """
    if any(v not in OPEN_TUNNEL_VALUES for v in _text(tunnel)):
        return True
    if any(v in _TRUE for v in _text(covered)):
        return True
    return _negative_layer(layer) and "underground" in _text(location)


def underground_mask(frame: pd.DataFrame) -> np.ndarray:
    """:func:`underground` for every row of an OSM feature frame (missing tag columns are fine)."""
    n = len(frame)

    def col(name: str) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else [None] * n

    cache: dict[str, bool] = {}
    out = np.zeros(n, dtype=bool)
    for i, row in enumerate(zip(col("tunnel"), col("covered"), col("layer"), col("location"), strict=True)):
        key = repr(row)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = underground(*row)
        out[i] = hit
    return out
