"""Class-coloured PNG images of grids, shared by the map and the comparison report."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image


def class_index(values: np.ndarray, breaks: Sequence[float], n_colours: int) -> np.ndarray:
    """Class per cell: 0 for no data or below ``breaks[0]``, else 1..n_colours.

    >>> class_index(np.array([np.nan, 40.0, 47.0, 99.0]), [45, 50], 2).tolist()
    [0, 0, 1, 2]
    """
    idx = np.zeros(values.shape, dtype=np.uint8)
    valid = ~np.isnan(values)
    idx[valid] = np.minimum(np.digitize(values[valid], breaks), n_colours)
    return idx


def palette_png(
    idx: np.ndarray,
    colours: Sequence[str],
    background: tuple[int, int, int] = (0, 0, 0),
    transparent_background: bool = True,
) -> bytes:
    """A palette PNG: class 0 is ``background`` (transparent by default), class i is ``colours[i-1]``."""
    palette = list(background)
    for colour in colours:
        palette += [int(colour[k : k + 2], 16) for k in (1, 3, 5)]
    img = Image.fromarray(idx, mode="P")
    img.putpalette(palette)
    buf = io.BytesIO()
    if transparent_background:
        img.save(buf, format="PNG", optimize=True, transparency=0)
    else:
        img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
