"""Pick the best ``k`` plots for a profile, at least a minimum distance apart (spreading).

Almere's spreading principle asks not to concentrate similar facilities in one
neighbourhood. When a municipality looks for several locations at once, the top
``k`` plots by score often sit side by side; this module picks ``k`` eligible plots
so that no two are closer than ``min_distance_m``.

Two methods:

* ``greedy`` (default): take the best plot, then repeatedly the best remaining plot
  that is far enough from every plot taken. Transparent ("the best plot is always
  in") and fast, but not optimal: taking the best plot may block two good
  neighbours whose sum is higher, and greedy can even find fewer than ``k`` plots
  where ``k`` would fit (each plot taken can exclude several plots that are
  compatible with each other). Compare with ``optimal`` when it matters.
* ``optimal``: maximise the number of plots (up to ``k``) and then the total score,
  as a 0-1 integer programme (maximum-weight independent set with a cardinality
  bound) with ``scipy.optimize.milp``. Exact up to the solver's tolerance and time
  limit; the problem is NP-hard in general, so large candidate sets can be slow.

Distance is measured between the plots' outlines (``edge``, 0 when they touch: any
two points of two chosen plots are at least that far apart) or between their
representative points (``centre``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, vstack

from sitefinder.errors import ConfigError
from sitefinder.scoring.score import ProfileResult

log = logging.getLogger(__name__)

Method = Literal["greedy", "optimal"]
Measure = Literal["edge", "centre"]


@dataclass(frozen=True)
class Selection:
    """The chosen plots.

    Attributes
    ----------
    profile : str
        Profile name.
    plot_ids : list of str
        Chosen plots, best score first.
    scores : list of float
        Their scores.
    k : int
        Number requested.
    min_distance_m : float
        Minimum distance between chosen plots.
    method, measure : str
        How they were chosen and how distance was measured.
    total_score : float
        Sum of the chosen plots' scores.
    optimal : bool or None
        For ``optimal``: whether the solver proved optimality (None for greedy).
    """

    profile: str
    plot_ids: list[str]
    scores: list[float]
    k: int
    min_distance_m: float
    method: str
    measure: str
    total_score: float
    optimal: bool | None = None

    @property
    def complete(self) -> bool:
        """True when ``k`` plots could be chosen."""
        return len(self.plot_ids) == self.k

    def table(self) -> pd.DataFrame:
        """One row per chosen plot: ``order``, ``plot_id``, ``score``."""
        return pd.DataFrame({"order": range(1, len(self.plot_ids) + 1), "plot_id": self.plot_ids,
                             "score": self.scores})  # fmt: skip


def conflict_pairs(geoms: np.ndarray, min_distance_m: float, measure: Measure = "edge") -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of geometries closer than ``min_distance_m``.

    Parameters
    ----------
    geoms : numpy.ndarray
        Shapely geometries (projected CRS, metres).
    min_distance_m : float
        The minimum distance.
    measure : {"edge", "centre"}
        Between outlines or between representative points.

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` int array.
    """
    g = np.asarray(geoms, dtype=object)
    if measure == "centre":
        g = shapely.point_on_surface(g)
    if len(g) < 2 or min_distance_m <= 0:
        return np.empty((0, 2), dtype=np.int64)
    tree = shapely.STRtree(g)
    i, j = tree.query(g, predicate="dwithin", distance=min_distance_m)
    keep = i < j
    i, j = i[keep], j[keep]
    close = shapely.distance(g[i], g[j]) < min_distance_m
    return np.column_stack([i[close], j[close]]).astype(np.int64)


def greedy_spread(scores: np.ndarray, conflicts: np.ndarray, k: int) -> list[int]:
    """Positions chosen greedily by score (ties by position), skipping conflicts."""
    neighbours: list[set[int]] = [set() for _ in range(len(scores))]
    for a, b in conflicts:
        neighbours[a].add(int(b))
        neighbours[b].add(int(a))
    chosen: list[int] = []
    blocked: set[int] = set()
    for pos in np.lexsort((np.arange(len(scores)), -np.asarray(scores))):
        if len(chosen) == k:
            break
        if int(pos) in blocked:
            continue
        chosen.append(int(pos))
        blocked |= neighbours[int(pos)]
    return chosen


def optimal_spread(
    scores: np.ndarray, conflicts: np.ndarray, k: int, time_limit_s: float = 60.0
) -> tuple[list[int], bool]:
    """Positions maximising first the count (up to ``k``) and then the total score.

    Returns
    -------
    positions, proven : list of int, bool
        The chosen positions (best score first) and whether the solver proved optimality.
    """
    s = np.asarray(scores, dtype=float)
    n = len(s)
    big = 1.0 + float(np.abs(s).sum())
    rows = [coo_matrix(np.ones((1, n)))]
    if len(conflicts):
        m = len(conflicts)
        r = np.repeat(np.arange(m), 2)
        rows.append(coo_matrix((np.ones(2 * m), (r, conflicts.ravel())), shape=(m, n)))
    a = vstack(rows).tocsr()
    ub = np.r_[float(k), np.ones(a.shape[0] - 1)]
    res = milp(c=-(s + big), constraints=LinearConstraint(a, -np.inf, ub), integrality=np.ones(n),
               bounds=Bounds(0, 1), options={"time_limit": time_limit_s})  # fmt: skip
    if res.x is None:
        msg = f"the optimal selection found no solution ({res.message}); use --method greedy"
        raise ConfigError(msg)
    pos = np.flatnonzero(res.x > 0.5)
    pos = pos[np.lexsort((pos, -s[pos]))]
    return [int(p) for p in pos], bool(res.status == 0)


def select_plots(
    result: ProfileResult,
    geometry: gpd.GeoSeries,
    k: int,
    min_distance_m: float,
    method: Method = "greedy",
    measure: Measure = "edge",
) -> Selection:
    """Choose ``k`` eligible plots for a profile, pairwise at least ``min_distance_m`` apart.

    Parameters
    ----------
    result : ProfileResult
        The profile's scores.
    geometry : geopandas.GeoSeries
        Plot geometries indexed by plot id (projected CRS, metres).
    k : int
        Number of plots wanted.
    min_distance_m : float
        Minimum distance between any two chosen plots (0: plain top ``k``).
    method : {"greedy", "optimal"}
        See the module notes on optimality.
    measure : {"edge", "centre"}
        Distance between outlines or between representative points.

    Returns
    -------
    Selection

    Raises
    ------
    ConfigError
        When ``k`` is not positive or larger than the number of eligible plots.
    """
    p = result.name
    eligible = result.eligible
    n_elig = int(eligible.sum())
    if k < 1:
        msg = f"k must be at least 1, got {k}"
        raise ConfigError(msg)
    if k > n_elig:
        excl = len(eligible) - n_elig
        msg = (
            f"k = {k}, but only {n_elig} of {len(eligible)} plots are eligible for profile {p!r} "
            f"({excl} excluded by the constraints of {result.profile.source_file}); choose k <= {n_elig}"
        )
        raise ConfigError(msg)
    ids = eligible.index[eligible.to_numpy()]
    missing = ids.difference(geometry.index)
    if len(missing):
        msg = f"no geometry for plots {', '.join(map(str, missing[:10]))}"
        raise ConfigError(msg)
    scores = result.table.loc[ids, f"score_{p}"].to_numpy(dtype=float)
    conflicts = conflict_pairs(geometry.loc[ids].to_numpy(), min_distance_m, measure)
    proven: bool | None = None
    if method == "greedy":
        pos = greedy_spread(scores, conflicts, k)
    else:
        pos, proven = optimal_spread(scores, conflicts, k)
    chosen = [str(ids[i]) for i in pos]
    picked = [float(scores[i]) for i in pos]
    sel = Selection(profile=p, plot_ids=chosen, scores=picked, k=k, min_distance_m=min_distance_m,
                    method=method, measure=measure, total_score=float(sum(picked)), optimal=proven)  # fmt: skip
    if not sel.complete:
        log.warning("Only %d of %d plots for %s can be chosen at least %g m apart", len(chosen), k, p,
                    min_distance_m)  # fmt: skip
    return sel
