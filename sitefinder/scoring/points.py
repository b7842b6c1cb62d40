"""Weights to points: the one place where a criterion's weight becomes its maximum points.

A criterion's contribution to a score of 100 is its maximum points times its value
(0-1). Its maximum is its share of the weight of the criteria that count for that
plot: 100 · wᵢ·eᵢ / Σⱼ wⱼ·eⱼ, with eᵢ = 1 when the data can judge criterion i for the
plot and 0 when not (its weight is shared over the others). Scoring, ``explain``, the
comparison report and the memo use this function; the live map's page
(``render/static/sitefinder.js``, ``maxes``) computes the same expression in the
browser, which the browser test compares with these points.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def max_points(weights: ArrayLike, evaluable: ArrayLike | None = None) -> np.ndarray:
    """Maximum points of each criterion out of 100: ``100 · wᵢ·eᵢ / Σⱼ wⱼ·eⱼ``.

    Parameters
    ----------
    weights : array_like
        ``(n_criteria,)`` non-negative weights, on any scale (normalised here).
    evaluable : array_like of bool, optional
        ``(n_criteria,)`` or ``(n_criteria, n_rows)``: whether the data can judge the
        criterion (for each row). Default: every criterion counts.

    Returns
    -------
    numpy.ndarray
        Shaped like ``evaluable`` (or ``weights``); 0 where nothing can be judged.

    Examples
    --------
    >>> max_points([3, 1]).tolist()
    [75.0, 25.0]
    >>> max_points([0.5, 0.3, 0.2], evaluable=[True, False, True]).round(2).tolist()
    [71.43, 0.0, 28.57]
    >>> max_points([1, 1], evaluable=[[True, False], [True, False]]).tolist()
    [[50.0, 0.0], [50.0, 0.0]]
    """
    w = np.asarray(weights, dtype=float)
    if evaluable is None:
        evaluable = np.ones(w.shape, dtype=bool)
    e = np.asarray(evaluable, dtype=bool)
    wr = (w[:, None] if e.ndim == 2 else w) * e
    total = wr.sum(axis=0, keepdims=True)
    share = np.divide(wr, total, out=np.zeros_like(wr), where=total > 0)
    return 100.0 * share
