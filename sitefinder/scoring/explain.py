"""Explain one plot's score: which criteria put it where it is, from the score table alone.

A criterion *drives* a plot's position when the plot earns a larger share of the
criterion's maximum than the average eligible plot does (in this plot's points); it
*holds the plot back* when it earns a smaller share. The
points are the ``pts_<profile>_<criterion>`` columns, which add up to the score, so
the explanation is exact, not a model of the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sitefinder.errors import UnknownNameError
from sitefinder.scoring import status
from sitefinder.scoring.points import max_points
from sitefinder.scoring.score import ProfileResult

#: A criterion must differ from the eligible average by at least this many points
#: to be named as a driver or a drag.
MIN_POINTS = 0.5


@dataclass(frozen=True)
class CriterionPart:
    """One criterion's share in a plot's score.

    Attributes
    ----------
    name, label, indicator : str
        The criterion.
    value : float or str
        The plot's indicator value (NaN when not computed; text for categories).
    points : float
        Points earned (of ``max_points``).
    max_points : float
        Weight share × 100: the most this criterion can give.
    mean_points : float
        The points this plot would earn with the eligible plots' average share of their
        maximum on this criterion (the plots' maxima differ where weights are shared).
    evaluable : bool
        False when the data cannot judge this criterion for this plot: it earns no
        points and its weight is shared over the others.
    """

    name: str
    label: str
    indicator: str
    value: float | str
    points: float
    max_points: float
    mean_points: float
    evaluable: bool = True

    @property
    def delta(self) -> float:
        """Points above (+) or below (-) the eligible average."""
        return self.points - self.mean_points


@dataclass(frozen=True)
class Explanation:
    """Why a plot scores and ranks as it does for one profile.

    Attributes
    ----------
    plot_id : str
        The plot.
    profile : str
        The profile name.
    score : float
        Score 0-100.
    rank : int or None
        Rank among eligible plots (None when excluded).
    n_eligible : int
        Number of eligible plots.
    reasons : list of str
        Why it is excluded (empty when eligible).
    parts : list of CriterionPart
        Every criterion, in profile order.
    drivers : list of str
        Criteria that put it there (above the eligible average), strongest first.
    drags : list of str
        Criteria that hold it back (below the average), weakest first.
    rank_interval : tuple of int, optional
        5th-95th percentile rank from the sensitivity analysis.
    p_top : tuple of (int, float), optional
        ``(k, probability of being in the top k)``.
    not_evaluable : list of str
        Criteria the data cannot judge for this plot.
    """

    plot_id: str
    profile: str
    score: float
    rank: int | None
    n_eligible: int
    reasons: list[str]
    parts: list[CriterionPart]
    drivers: list[str]
    drags: list[str]
    rank_interval: tuple[int, int] | None = None
    p_top: tuple[int, float] | None = None
    not_evaluable: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Plain-text explanation (several lines)."""
        parts = {p.name: p for p in self.parts}
        head = f"{self.plot_id} — {self.profile}: score {self.score:.1f}"
        if self.rank is None:
            lines = [f"{head}, excluded: {'; '.join(self.reasons)}"]
        else:
            head += f", rank {self.rank} of {self.n_eligible} eligible plots"
            if self.rank_interval is not None:
                head += f" (90 % interval {self.rank_interval[0]}–{self.rank_interval[1]}"
                if self.p_top is not None:
                    head += f"; in the top {self.p_top[0]} in {100 * self.p_top[1]:.0f} % of draws"
                head += ")"
            lines = [head]

        def _fmt(name: str) -> str:
            p = parts[name]
            v = "not computed" if _isnan(p.value) else f"{p.indicator} = {_with_unit(p.value, p.indicator)}"
            return f"{p.name} {p.delta:+.1f} ({v})"

        alone = self.rank is not None and self.n_eligible == 1
        if self.drivers and alone:
            lines.append("Most of its points from (the only eligible plot: nothing to compare with): "
                         + ", ".join(f"{n} {parts[n].points:.1f}" for n in self.drivers))  # fmt: skip
        elif self.drivers:
            basis = (
                "the average eligible plot" if self.n_eligible else "the average plot (no plot is eligible)"
            )
            lines.append(f"Put there by (points vs. {basis}): " + ", ".join(_fmt(n) for n in self.drivers))
        if self.drags:
            lines.append("Held back by: " + ", ".join(_fmt(n) for n in self.drags))
        if self.not_evaluable:
            lines.append(f"Not judged ({status.NOT_EVALUABLE}): " + ", ".join(self.not_evaluable))
        lines.append("Points per criterion (of the maximum):")
        for p in self.parts:
            v = "—" if _isnan(p.value) else _with_unit(p.value, p.indicator)
            if not p.evaluable:
                lines.append(f"  {p.name:14s}     — / —      {p.label}: {v} ({status.NOT_EVALUABLE})")
                continue
            lines.append(f"  {p.name:14s} {p.points:5.1f} / {p.max_points:4.1f}   {p.label}: {v}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text


def explain(result: ProfileResult, plot_id: object, n_drivers: int = 3) -> Explanation:
    """Explain one plot's score and rank for a profile.

    Parameters
    ----------
    result : ProfileResult
        The profile's scores (``table``, and ``inputs`` for the indicator values).
    plot_id : object
        The plot's id (the table index).
    n_drivers : int
        At most this many drivers and drags are named.

    Returns
    -------
    Explanation

    Raises
    ------
    UnknownNameError
        When ``plot_id`` is not in the table.
    """
    p = result.name
    t = result.table
    key = _find(t.index, plot_id)
    eligible = result.eligible
    row = t.loc[key]
    crit = [c for c in result.profile.criteria if f"pts_{p}_{c.name}" in t.columns]
    judged_row = [not pd.isna(row[f"pts_{p}_{c.name}"]) for c in crit]
    weights = [result.weights.get(c.name, 0.0) for c in crit]
    maxima = max_points(weights, judged_row)
    # Every plot's own maxima (weights of criteria the data cannot judge are shared over the
    # others, so they differ per plot): a plot is compared on the share of the maximum it earns.
    pts_all = t[[f"pts_{p}_{c.name}" for c in crit]].to_numpy(dtype=float).T
    most_all = max_points(weights, ~np.isnan(pts_all))
    share_all = np.divide(pts_all, most_all, out=np.full_like(pts_all, np.nan), where=most_all > 0)
    among = np.asarray(eligible, dtype=bool) if eligible.any() else np.ones(len(t), dtype=bool)
    parts = []
    for i, (c, most) in enumerate(zip(crit, maxima, strict=True)):
        col = f"pts_{p}_{c.name}"
        shares = share_all[i][among]
        mean = float(most * np.nanmean(shares)) if np.isfinite(shares).any() else 0.0
        value: float | str = np.nan
        if c.indicator in result.inputs.columns:
            raw = result.inputs[c.indicator].loc[key]
            num = pd.to_numeric(result.inputs[c.indicator], errors="coerce").loc[key]
            value = float(num) if not pd.isna(num) else (str(raw) if not pd.isna(raw) else np.nan)
        judged = not pd.isna(row[col])
        parts.append(CriterionPart(
            name=c.name, label=c.label, indicator=c.indicator, value=value,
            points=float(row[col]) if judged else 0.0,
            max_points=float(most), mean_points=mean,
            evaluable=judged,
        ))  # fmt: skip
    up = sorted((q for q in parts if q.evaluable and q.delta >= MIN_POINTS), key=lambda q: -q.delta)
    down = sorted((q for q in parts if q.evaluable and q.delta <= -MIN_POINTS), key=lambda q: q.delta)
    drivers = [q.name for q in up[:n_drivers]]
    if not drivers and parts:
        # A lone eligible plot (or all equal): name what gives it most of its points.
        drivers = [q.name for q in sorted(parts, key=lambda q: -q.points)[:n_drivers] if q.points > 0]
    not_judged = [q.name for q in parts if not q.evaluable]
    rank = row[f"rank_{p}"]
    interval = None
    ptop = None
    if f"rank_p5_{p}" in t.columns and not pd.isna(row[f"rank_p5_{p}"]):
        interval = (int(row[f"rank_p5_{p}"]), int(row[f"rank_p95_{p}"]))
        pcol = next((c for c in t.columns if c.startswith("p_top") and c.endswith(f"_{p}")), None)
        if pcol is not None:
            ptop = (int(pcol.removeprefix("p_top").removesuffix(f"_{p}")), float(row[pcol]))
    reasons = [r for r in str(row[f"excluded_{p}"]).split("; ") if r]
    return Explanation(
        plot_id=str(key), profile=p, score=float(row[f"score_{p}"]),
        rank=None if pd.isna(rank) else int(rank), n_eligible=int(eligible.sum()), reasons=reasons,
        parts=parts, drivers=drivers, drags=[q.name for q in down[:n_drivers]],
        rank_interval=interval, p_top=ptop, not_evaluable=not_judged,
    )  # fmt: skip


def _find(index: pd.Index, plot_id: object) -> Any:
    if plot_id in index:
        return plot_id
    as_text = {str(i): i for i in index}
    if str(plot_id) in as_text:
        return as_text[str(plot_id)]
    sample = ", ".join(map(str, list(index[:10])))
    msg = f"plot {plot_id!r} is not in the scores table; plot ids include {sample}"
    raise UnknownNameError(msg)


def _isnan(v: float | str) -> bool:
    return isinstance(v, float) and np.isnan(v)


def _fmt_value(v: float | str) -> str:
    return v if isinstance(v, str) else f"{v:,.4g}"


#: Units of the indicator suffixes, shown after a value.
_SUFFIX_UNITS = (("_m2", "m²"), ("_min", "min"), ("_db", "dB"), ("_m", "m"))


def _with_unit(v: float | str, indicator: str) -> str:
    """A value with the unit its indicator's name ends in.

    Examples
    --------
    >>> _with_unit(184.8, "dist_pt_stop_m")
    '184.8 m'
    >>> _with_unit(1.94, "time_gp_min")
    '1.94 min'
    >>> _with_unit(2.0, "n_gp_500m")
    '2'
    >>> _with_unit("wonen", "zoning")
    'wonen'
    """
    text = _fmt_value(v)
    if isinstance(v, str):
        return text
    unit = next((u for suffix, u in _SUFFIX_UNITS if indicator.endswith(suffix)), "")
    return f"{text} {unit}" if unit else text
