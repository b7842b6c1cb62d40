"""Data coverage and censored indicator values: what the data can and cannot tell about a plot.

"No motorway within 5 km" is a finding only where the data covers 5 km around the
plot. This module is pure (arrays and geometries in, arrays out) and knows

* the **covered radius** ``r`` of a plot: the distance from the plot to the edge of
  the area the data covers (0 when the plot is not wholly inside it). Everything
  within ``r`` of the plot lies inside the data;
* which indicator columns depend on that coverage (:func:`censor_rules`): distances
  to and counts of OSM objects;
* the **interval** in which the true value lies (:func:`value_intervals`). A distance
  is exact when the nearest object found lies within ``r`` (a walking distance is
  never shorter than the straight line, so a walking distance ``<= r`` is exact too);
  otherwise the true nearest object may lie outside the data: the value is only known
  to be in ``(r, found]`` (``(r, inf)`` when nothing was found). A count within ``D``
  is exact when ``r >= D``, otherwise only a lower bound;
* whether a value function can still judge a censored value
  (:func:`function_range`): it can when it gives (nearly, within
  :data:`VALUE_TOLERANCE`) the same value everywhere in the interval. "Farther is
  better, full points from 500 m" on a plot with ``r >= 500`` and nothing found is
  judged; the same criterion with ``r = 120`` is **not evaluable**. A kind of object
  that is absent from the whole data set is simply "nothing found": judged only where
  ``r`` is large enough.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely

from sitefinder.nearest import nearest_distance
from sitefinder.scoring.functions import Categories, Ideal, Step

#: Largest spread of a criterion's value (0-1) over a censored interval for which the
#: criterion still counts as judged: 0.01 is one hundredth of the criterion's weight,
#: below the 0.1-point rounding of published contributions for any weight under 10 %.
VALUE_TOLERANCE = 0.01

#: Stand-in for "infinitely far" when evaluating a value function's limit.
FAR_M = 1.0e9

_DIST = re.compile(r"^dist_(?P<name>[a-z0-9_]+?)(?:_straight|_wheelchair)?_m$")
#: Walking times: distances in minutes at the network's speed (:mod:`sitefinder.mobility`).
_TIME = re.compile(r"^time_(?P<name>[a-z0-9_]+?)(?P<net>_wheelchair)?_min$")
_COUNT = re.compile(r"^n_(?P<name>[a-z0-9_]+?)(?:_straight)?_(?P<d>\d+)m$")
#: Residents, 65+ and households within a walking distance (CBS figures reached over OSM streets).
_CATCHMENT = re.compile(r"^(?:pop_total|pop_65plus|households)_(?P<d>\d+)m$")


@dataclass(frozen=True)
class Censor:
    """How an indicator column depends on data coverage.

    Attributes
    ----------
    kind : {"distance", "count"}
        Distance to the nearest object (exact when within the covered radius), or a
        count of objects within ``within_m`` (exact when the covered radius reaches it).
    within_m : float
        The count's radius (0 for distances).
    per_m : float
        Column units per metre: 1 for metres, minutes per metre for walking times.
    walking : bool
        True for values measured over the walking network (not straight lines).
    """

    kind: Literal["distance", "count"]
    within_m: float = 0.0
    per_m: float = 1.0
    walking: bool = True


@dataclass(frozen=True)
class Coverage:
    """Covered radius per row of an indicator table and the columns it censors.

    Attributes
    ----------
    radius_m : numpy.ndarray
        Covered radius per row (metres; 0 outside the data).
    rules : dict
        ``column -> Censor`` for the columns whose values depend on coverage.
    outside : numpy.ndarray, optional
        True for rows wholly outside the data (never ranked).
    off_network : numpy.ndarray, optional
        True for rows farther than the snapping distance from every path although the
        data cover that distance around them: "no path within reach" is then a finding,
        so their walking values are exact (infinitely far, counts 0), not censored.
    """

    radius_m: np.ndarray
    rules: dict[str, Censor]
    outside: np.ndarray | None = None
    off_network: np.ndarray | None = None


def censor_rules(columns: Iterable[str], names: Iterable[str]) -> dict[str, Censor]:
    """The columns among ``columns`` that measure OSM objects, with how coverage censors them.

    Parameters
    ----------
    columns : iterable of str
        Indicator column names.
    names : iterable of str
        Names of the OSM object kinds (amenity categories and nuisance kinds): only
        ``dist_<name>[_straight]_m`` and ``n_<name>[_straight]_<d>m`` columns of these are
        censored (a user's declared layer is not OSM data and is taken as complete).
    """
    known = set(names)
    out: dict[str, Censor] = {}
    for col in columns:
        m = _DIST.match(col)
        if m and m.group("name") in known:
            out[col] = Censor("distance", walking="_straight_" not in col)
            continue
        m = _TIME.match(col)
        if m and m.group("name") in known:
            from sitefinder.mobility import get_mobility

            speed = get_mobility("wheelchair" if m.group("net") else "walk").speed_kmh
            out[col] = Censor("distance", per_m=60.0 / (speed * 1000.0))
            continue
        m = _COUNT.match(col)
        if m and m.group("name") in known:
            out[col] = Censor("count", float(m.group("d")), walking="_straight_" not in col)
            continue
        # The homes come from CBS (complete), but they are reached over OSM streets: beyond
        # the data, residents are missed, so the sum is a lower bound, as a count is.
        m = _CATCHMENT.match(col)
        if m:
            out[col] = Censor("count", float(m.group("d")))
    return out


def covered_radius(geoms: np.ndarray, area: Any) -> np.ndarray:
    """Distance (m) from each geometry to the edge of ``area``; 0 unless it lies wholly inside.

    Parameters
    ----------
    geoms : numpy.ndarray
        Shapely geometries (plots or points) in the working CRS.
    area : shapely geometry
        The area the data covers, same CRS.
    """
    geoms = np.asarray(geoms, dtype=object)
    if area is None or shapely.is_empty(area):
        return np.zeros(len(geoms))
    shapely.prepare(area)
    inside = shapely.contains(area, geoms) if len(geoms) else np.zeros(0, dtype=bool)
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all():
        # Points (the cells of a surface): the nearest segment of the edge, the same value
        # as the distance to the whole edge (sitefinder.nearest), without measuring all of it.
        dist = nearest_distance(geoms, np.array([shapely.boundary(area)]), math.inf)
    else:
        dist = shapely.distance(geoms, shapely.boundary(area)) if len(geoms) else np.zeros(0)
    return np.where(inside, np.round(dist, 1), 0.0)


def value_intervals(x: np.ndarray, radius_m: np.ndarray, rule: Censor) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of the true value of a censored indicator (equal where exact).

    Parameters
    ----------
    x : numpy.ndarray
        The measured values (NaN: nothing found).
    radius_m : numpy.ndarray
        Covered radius per value.
    rule : Censor
        How the column is censored.

    Returns
    -------
    lo, hi : numpy.ndarray
        ``lo == hi == x`` where the value is exact; otherwise the interval in which
        the true value lies (``hi`` may be ``inf``).
    """
    x = np.asarray(x, dtype=float)
    r = np.asarray(radius_m, dtype=float) * rule.per_m
    if rule.kind == "distance":
        exact = np.isfinite(x) & (x <= r)
        lo = np.where(exact, x, r)
        hi = np.where(exact, x, np.where(np.isfinite(x), x, np.inf))
        return lo, hi
    exact = (r >= rule.within_m) & np.isfinite(x)
    lo = np.where(np.isfinite(x), x, 0.0)
    hi = np.where(exact, x, np.inf)
    return lo, hi


def _eval(f: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(f(np.where(np.isinf(x), FAR_M, x)), dtype=float)


def function_range(f: Any, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of a value function over ``[lo, hi]``, elementwise.

    Every numeric value function is monotone or (``ideal``) rises to a plateau and
    falls again, so the minimum lies at an end of the interval and the maximum at an
    end or at the point of the interval nearest to the ideal; ``step`` functions are
    taken over every step the interval touches.

    Parameters
    ----------
    f : ValueFunction
        A numeric value function (not ``categories``).
    lo, hi : numpy.ndarray
        Interval ends (``hi`` may be ``inf``).
    """
    if isinstance(f, Categories):
        msg = "a categories function has no numeric range"
        raise TypeError(msg)
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    a, b = _eval(f, lo), _eval(f, hi)
    vmin, vmax = np.minimum(a, b), np.maximum(a, b)
    if isinstance(f, Ideal):
        near = np.clip(f.centre, lo, hi)
        vmax = np.maximum(vmax, _eval(f, near))
    elif isinstance(f, Step):
        thr = np.asarray(f.thresholds)
        vals = np.asarray(f.values)
        i0 = np.searchsorted(thr, np.where(np.isinf(lo), FAR_M, lo), side="right")
        i1 = np.searchsorted(thr, np.where(np.isinf(hi), FAR_M, hi), side="right")
        for k in range(len(vals)):
            touched = (i0 <= k) & (k <= i1)
            vmin = np.where(touched, np.minimum(vmin, vals[k]), vmin)
            vmax = np.where(touched, np.maximum(vmax, vals[k]), vmax)
    return vmin, vmax


def judged(
    f: Any, lo: np.ndarray, hi: np.ndarray, tol: float = VALUE_TOLERANCE
) -> tuple[np.ndarray, np.ndarray]:
    """Whether ``f`` gives one value over each interval, and that value (the interval's minimum).

    The minimum is used so that a censored value never earns more than the data can
    show ("missing is never best").

    Returns
    -------
    ok, value : numpy.ndarray
        True where the spread of ``f`` over ``[lo, hi]`` is at most ``tol``; the
        smallest value of ``f`` on the interval.
    """
    vmin, vmax = function_range(f, lo, hi)
    return (vmax - vmin) <= tol + 1e-12, vmin


def reach_m(f: Any, tol: float = VALUE_TOLERANCE) -> float:
    """How far (m) the data must reach around a plot for ``f`` to judge "nothing found".

    The smallest covered radius ``r`` for which ``f`` varies by at most ``tol`` over
    ``(r, inf)``; ``inf`` when no radius is enough (a function that keeps changing).
    """
    if isinstance(f, Categories):
        return 0.0
    if judged(f, np.array([0.0]), np.array([np.inf]), tol)[0][0]:
        return 0.0
    hi = 1.0
    while not judged(f, np.array([hi]), np.array([np.inf]), tol)[0][0]:
        hi *= 2.0
        if hi > FAR_M:
            return math.inf
    lo = hi / 2.0
    for _ in range(40):
        mid = (lo + hi) / 2.0
        if judged(f, np.array([mid]), np.array([np.inf]), tol)[0][0]:
            hi = mid
        else:
            lo = mid
    return float(math.ceil(hi))


def censored_notes(table: Any, radius_m: np.ndarray, rules: dict[str, Censor]) -> list[str]:
    """Per row, the censored values as text (``dist_railway_straight_m > 312``), ``; ``-separated.

    Parameters
    ----------
    table : pandas.DataFrame
        Indicator table (rows aligned with ``radius_m``).
    radius_m : numpy.ndarray
        Covered radius per row.
    rules : dict
        Censored columns (see :func:`censor_rules`).
    """
    notes: list[list[str]] = [[] for _ in range(len(table))]
    for col, rule in rules.items():
        if col not in table.columns:
            continue
        x = np.asarray(table[col].to_numpy(dtype=float, na_value=np.nan), dtype=float)
        lo, hi = value_intervals(x, radius_m, rule)
        for j in np.flatnonzero(lo != hi):
            sign = ">" if rule.kind == "distance" else ">="
            notes[j].append(f"{col} {sign} {lo[j]:g}")
    return ["; ".join(n) for n in notes]
