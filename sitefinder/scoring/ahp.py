"""Weights from a pairwise-comparison table: Saaty's analytic hierarchy process (AHP).

A team compares criteria two at a time on Saaty's 1-9 scale ("how much more important
is A than B?"). The weights are the principal eigenvector of that reciprocal matrix,
normalised to sum to 1. How far the judgements contradict each other is the
consistency index ``CI = (λmax - n) / (n - 1)``; divided by Saaty's random index
(the mean CI of random reciprocal matrices of that size) it gives the consistency
ratio CR. Saaty's rule of thumb: revise the judgements when CR > 0.1.

Sources: T. L. Saaty (1980), *The Analytic Hierarchy Process*, McGraw-Hill (random
index table); T. L. Saaty (1990), "How to make a decision: the analytic hierarchy
process", *European Journal of Operational Research* 48, 9-26.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

#: Saaty's random consistency index by matrix size (Saaty 1980).
RANDOM_INDEX: dict[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41,
    9: 1.45, 10: 1.49, 11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59,
}  # fmt: skip

#: Relative tolerance for reciprocity: 0.33 for 1/3 or 0.14 for 1/7 is accepted.
RECIPROCAL_RTOL = 0.03


@dataclass(frozen=True)
class AHPResult:
    """Weights and consistency of a pairwise-comparison matrix.

    Attributes
    ----------
    weights : numpy.ndarray
        Principal eigenvector, normalised to sum to 1.
    lambda_max : float
        Principal eigenvalue.
    ci : float
        Consistency index ``(λmax - n) / (n - 1)`` (0 for n <= 2).
    cr : float
        Consistency ratio ``CI / RI(n)`` (0 for n <= 2, where every matrix is consistent).
    """

    weights: np.ndarray
    lambda_max: float
    ci: float
    cr: float


def parse_entry(value: object) -> float:
    """A matrix entry: a positive number, or a fraction written as text (``"1/3"``).

    Raises
    ------
    ValueError
        When the entry is neither.

    >>> parse_entry("1/3") == 1 / 3
    True
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            pass
    msg = f'entry {value!r} is not a number or a fraction such as "1/3"'
    raise ValueError(msg)


def check_matrix(matrix: Sequence[Sequence[float]], n: int) -> np.ndarray:
    """Check that ``matrix`` is an ``n × n`` positive reciprocal matrix with ones on the diagonal.

    Raises
    ------
    ValueError
        Naming the row and column (1-based) of the first offending entry.
    """
    if len(matrix) != n:
        msg = f"has {len(matrix)} rows, expected {n} (one per criterion in ahp.criteria)"
        raise ValueError(msg)
    for i, row in enumerate(matrix, start=1):
        if len(row) != n:
            msg = f"row {i} has {len(row)} entries, expected {n}; the table must be square"
            raise ValueError(msg)
    a = np.asarray(matrix, dtype=float)
    if not np.isfinite(a).all() or (a <= 0).any():
        i, j = np.argwhere(~np.isfinite(a) | (a <= 0))[0]
        msg = f"entry row {i + 1}, column {j + 1} is {a[i, j]:g}; every entry must be positive"
        raise ValueError(msg)
    diag = np.flatnonzero(np.abs(np.diag(a) - 1.0) > 1e-9)
    if len(diag):
        k = int(diag[0])
        msg = f"diagonal entry row {k + 1}, column {k + 1} is {a[k, k]:g}; it must be 1"
        raise ValueError(msg)
    prod = a * a.T
    bad = np.argwhere(np.abs(prod - 1.0) > RECIPROCAL_RTOL)
    if len(bad):
        i, j = bad[0]
        msg = (
            f"not reciprocal: row {i + 1}, column {j + 1} is {a[i, j]:g} but row {j + 1}, "
            f'column {i + 1} is {a[j, i]:g}; it must be {1 / a[i, j]:.4g} (write it as "1/{a[i, j]:g}")'
        )
        raise ValueError(msg)
    return a


def ahp_weights(matrix: Sequence[Sequence[float]] | np.ndarray) -> AHPResult:
    """Principal-eigenvector weights and consistency ratio of a pairwise-comparison matrix.

    Parameters
    ----------
    matrix : array-like
        ``n × n`` positive reciprocal matrix, ``matrix[i][j]`` = importance of
        criterion ``i`` over criterion ``j`` on Saaty's 1-9 scale.

    Returns
    -------
    AHPResult

    Raises
    ------
    ValueError
        When the matrix is not square, positive and reciprocal, or larger than the
        random-index table (15).

    Examples
    --------
    A perfectly consistent matrix gives CR = 0 and weights proportional to its rows:

    >>> r = ahp_weights([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]])
    >>> [round(float(w), 4) for w in r.weights], round(r.cr, 6)
    ([0.5714, 0.2857, 0.1429], 0.0)
    """
    a = check_matrix(np.asarray(matrix, dtype=float).tolist(), len(matrix))
    n = a.shape[0]
    if n not in RANDOM_INDEX:
        msg = f"has {n} criteria; Saaty's random index is tabulated up to 15, group criteria hierarchically"
        raise ValueError(msg)
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    lam = float(vals[k].real)
    w = np.abs(vecs[:, k].real)
    w = w / w.sum()
    ci = max((lam - n) / (n - 1), 0.0) if n > 2 else 0.0
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    return AHPResult(weights=w, lambda_max=lam, ci=ci, cr=cr)
