"""Monte Carlo sensitivity of the ranking to the weights and to the value functions' thresholds.

A council that changes a weight or a norm wants to know whether its favourite plot
stays on top. Each draw perturbs

* the weights: every weight times ``1 + U(-s, s)`` (``s`` = ``weight_spread``, 0.2 by
  default: ±20 %), or a Dirichlet draw centred on the profile's weights; then
  renormalised;
* the thresholds: every criterion's value function moved by
  ``U(-t, t)`` of its own width (``t`` = ``threshold_spread``; see
  :meth:`sitefinder.scoring.functions._Base.perturbed_input`),

and ranks the eligible plots again. Per plot the result is the 5th-95th percentile
of its rank and the share of draws in which it is among the top ``k``. Hard
constraints are not perturbed: an excluded plot stays excluded. The draws come from
``numpy.random.default_rng(seed)``, so the same seed gives the same numbers.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sitefinder.scoring.profiles import SensitivitySettings
from sitefinder.scoring.score import Evaluation, criterion_values

log = logging.getLogger(__name__)

#: Upper bound on draws × plots held in memory at once (values of one criterion).
_CHUNK_CELLS = 2_000_000


def min_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks along each row, 1 = smallest, ties sharing their lowest rank ("min" method).

    The ranks of ``scipy.stats.rankdata(values, axis=1, method="min")`` without
    importing ``scipy.stats`` (a second of start-up).

    Parameters
    ----------
    values : numpy.ndarray
        A 2-D array without NaN.

    Returns
    -------
    numpy.ndarray
        ``int64`` ranks of the shape of ``values``.

    Examples
    --------
    >>> min_ranks(np.array([[3.0, 1.0, 3.0, 2.0]])).tolist()
    [[3, 1, 3, 2]]
    """
    values = np.asarray(values)
    rows, n = values.shape
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    # Sorted position of the first value of each run of equal values, carried along the run.
    new = np.ones((rows, n), dtype=bool)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0), axis=1)
    ranks = np.empty((rows, n), dtype=np.int64)
    np.put_along_axis(ranks, order, first + 1, axis=1)
    return ranks


def draw_weights(
    base: np.ndarray, settings: SensitivitySettings, rng: np.random.Generator, m: int
) -> np.ndarray:
    """``(m, n_criteria)`` perturbed weights, each row summing to 1.

    Parameters
    ----------
    base : numpy.ndarray
        The profile's weights (summing to 1).
    settings : SensitivitySettings
        ``weights`` mode and spread.
    rng : numpy.random.Generator
        Random source.
    m : int
        Number of draws.
    """
    base = np.asarray(base, dtype=float)
    if settings.weights == "none" or len(base) == 1:
        return np.tile(base, (m, 1))
    if settings.weights == "uniform":
        s = settings.weight_spread
        w = base[None, :] * (1.0 + rng.uniform(-s, s, size=(m, len(base))))
    else:
        pos = base > 0
        w = np.zeros((m, len(base)))
        w[:, pos] = rng.dirichlet(base[pos] * settings.dirichlet_concentration, size=m)
    return w / w.sum(axis=1, keepdims=True)


def rank_sensitivity(ev: Evaluation, eligible: np.ndarray, settings: SensitivitySettings) -> pd.DataFrame:
    """Rank interval and top-k probability of every eligible row under perturbation.

    Parameters
    ----------
    ev : Evaluation
        The profile evaluated on the indicator table.
    eligible : numpy.ndarray
        Boolean mask of rows that pass every constraint.
    settings : SensitivitySettings
        Number of draws, seed, spreads and ``top_k``.

    Returns
    -------
    pandas.DataFrame
        Positionally aligned with the rows: ``rank_p5``, ``rank_p95`` (nullable
        integers) and ``p_top<k>`` (0-1, rounded to 3 decimals); empty (NA) for
        excluded rows.
    """
    k = settings.top_k
    n_rows = len(eligible)
    lo = pd.array([pd.NA] * n_rows, dtype="Int64")
    hi = pd.array([pd.NA] * n_rows, dtype="Int64")
    top = np.full(n_rows, np.nan)
    idx = np.flatnonzero(eligible)
    n = len(idx)
    if n == 0 or settings.draws == 0:
        return pd.DataFrame({"rank_p5": lo, "rank_p95": hi, f"p_top{k}": top})
    if k >= n:
        log.info("sensitivity: top_k = %d but only %d eligible plots; every plot is in the top %d", k, n, k)
    m = settings.draws
    rng = np.random.default_rng(settings.seed)
    weights = draw_weights(ev.weights, settings, rng, m)
    t = settings.threshold_spread
    deltas = rng.uniform(-t, t, size=(m, len(ev.criteria))) if t > 0 else np.zeros((m, len(ev.criteria)))
    x = ev.x[:, idx]
    # Criteria the data cannot judge for a plot stay out of its score in every draw;
    # censored but judged values keep their value (their thresholds are not perturbed).
    judged = ev.evaluable[:, idx] if ev.evaluable.size else np.ones((len(ev.criteria), n), dtype=bool)
    exact = ev.exact[:, idx] if ev.exact.size else judged
    ranks = np.empty((m, n), dtype=np.int32)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        scores = np.zeros((stop - start, n))
        total = np.zeros((stop - start, n))
        for j, c in enumerate(ev.criteria):
            base = ev.utilities[j, idx][None, :]
            if t > 0 and c.function.width() > 0:
                v = criterion_values(c, x[j][None, :], deltas[start:stop, j][:, None])
                v = np.where(exact[j][None, :], v, base)
            else:
                v = base
            wj = weights[start:stop, j][:, None] * judged[j][None, :]
            scores += wj * v
            total += wj
        scores = np.divide(scores, total, out=np.zeros_like(scores), where=total > 0)
        # Round like the published scores so that exact ties stay ties.
        ranks[start:stop] = min_ranks(-np.round(100.0 * scores, 6))
    p5 = np.quantile(ranks, 0.05, axis=0, method="inverted_cdf").astype(int)
    p95 = np.quantile(ranks, 0.95, axis=0, method="inverted_cdf").astype(int)
    ptop = (ranks <= k).mean(axis=0)
    lo[idx] = p5
    hi[idx] = p95
    top[idx] = np.round(ptop, 3)
    log.debug("sensitivity: %d draws over %d eligible plots (seed %d)", m, n, settings.seed)
    return pd.DataFrame({"rank_p5": lo, "rank_p95": hi, f"p_top{k}": top})
