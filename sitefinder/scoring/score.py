"""Score plots for a profile: value functions, weights, constraints, rank. No geometry needed.

score = 100 · Σ wᵢ·eᵢ·vᵢ / Σ wᵢ·eᵢ, with vᵢ in [0, 1] the value of criterion i and
eᵢ = 1 when the data can judge criterion i for this plot (0 when it is **not
evaluable**: the data do not reach far enough, see :mod:`sitefinder.coverage`, or
there is no noise data for the plot). A not-evaluable criterion earns no points; its
weight is shared over the others, and its ``pts_`` cell is empty. The contribution
of criterion i, in points of the 100, is 100 · wᵢ·eᵢ·vᵢ / Σ w·e, so the
contributions of a plot add up to its score: every score is explainable from the
table alone. A plot whose not-evaluable criteria carry more than the profile's
``max_share_not_evaluable`` of the weight is not ranked ("onvoldoende gegevens").
A plot that fails a hard constraint keeps its score (so a council can see what it
would have scored) but gets no rank and is never counted among the eligible plots,
also not in the sensitivity analysis.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sitefinder.coverage import VALUE_TOLERANCE, Coverage, judged, reach_m, value_intervals
from sitefinder.errors import ConfigError
from sitefinder.scoring import noiserule, status
from sitefinder.scoring.functions import Categories, Ideal, Linear, Step
from sitefinder.scoring.points import max_points
from sitefinder.scoring.profiles import (
    _ORDERING,
    OPS,
    Constraint,
    Criterion,
    Profile,
    SensitivitySettings,
    profile_from_source,
)

if TYPE_CHECKING:
    from sitefinder.io.runfolder import RunFolder

log = logging.getLogger(__name__)

#: Indicator column prefixes that a run may legitimately lack (no noise layer given).
OPTIONAL_PREFIXES = ("noise_",)

#: Every prefix of a column a run may lack, with what the run is missing then.
ABSENT_REASONS = {
    "noise_": "no noise layer in this run",
    "pop_": "no CBS neighbourhoods in this run (--neighbourhoods)",
    "households_": "no CBS neighbourhoods in this run (--neighbourhoods)",
    "buurt_": "no CBS neighbourhoods in this run (--neighbourhoods)",
}


def _check_numeric(col: pd.Series, x: np.ndarray, name: str, indicator: str, source: str) -> None:
    """Refuse a numeric value function on a column that holds text (it would score every plot as missing)."""
    cand = np.isnan(x) & col.notna().to_numpy()
    if not cand.any():  # every value a number or missing (always so for numeric columns)
        return
    text = col[cand & (col.astype(str).str.strip() != "").to_numpy()]
    if len(text):
        msg = (
            f"profile file {source}: criterion {name!r} gives a numeric function column {indicator!r}, "
            f"which holds text (e.g. {str(text.iloc[0])[:40]!r} for plot {text.index[0]}); use "
            "type = 'categories' for text, or a column with numbers"
        )
        raise ConfigError(msg)


def _absolute_source(source: str) -> str:
    """A profile file's path made absolute (``explain``/``compare`` may run from another folder)."""
    if source.startswith("built-in") or not source:
        return source
    return str(Path(source).resolve())


@dataclass(frozen=True)
class ProfileResult:
    """Scores of one profile.

    Attributes
    ----------
    profile : Profile
        The profile as scored.
    table : pandas.DataFrame
        ``score_<p>`` (0-100), ``rank_<p>`` (1 = best, empty when excluded),
        ``excluded_<p>`` (empty, or the reasons), ``pts_<p>_<criterion>`` and, when
        the sensitivity analysis ran, ``rank_p5_<p>``, ``rank_p95_<p>`` and
        ``p_top<k>_<p>``.
    skipped : list of str
        Criteria and constraints skipped because their indicator was not computed
        in this run (for example noise criteria without a noise layer).
    weights : dict
        Weight of each scored criterion, normalised over the scored ones.
    inputs : pandas.DataFrame
        The indicator columns the criteria used, for explanations.
    sensitivity : SensitivitySettings or None
        The Monte Carlo settings used, or None when no analysis ran.
    """

    profile: Profile
    table: pd.DataFrame
    skipped: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    inputs: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: SensitivitySettings | None = None

    @property
    def name(self) -> str:
        """The profile's name (the column suffix)."""
        return self.profile.name

    @property
    def eligible(self) -> pd.Series:
        """True for plots that pass every constraint."""
        return self.table[f"excluded_{self.name}"] == ""

    def manifest_entry(self) -> dict[str, Any]:
        """What a manifest records about this profile: source, weights, AHP consistency, settings."""
        entry: dict[str, Any] = {
            "source": _absolute_source(self.profile.source_file),
            "skipped": self.skipped,
            "weights": {k: round(v, 4) for k, v in self.weights.items()},
            "eligible": int(self.eligible.sum()),
        }
        ahp = self.profile.ahp_result()
        if ahp is not None:
            entry["ahp"] = {"lambda_max": round(ahp.lambda_max, 4), "ci": round(ahp.ci, 4),
                            "cr": round(ahp.cr, 4)}  # fmt: skip
        if self.sensitivity is not None:
            entry["sensitivity"] = self.sensitivity.model_dump()
        if self.profile.layers:
            entry["layers"] = {lay.name: str(lay.path) for lay in self.profile.layers}
        return entry


@dataclass(frozen=True)
class Evaluation:
    """A profile evaluated on an indicator table, before ranking.

    Attributes
    ----------
    criteria : list of Criterion
        The criteria that could be scored.
    weights : numpy.ndarray
        Their weights, normalised to sum to 1.
    x : numpy.ndarray
        ``(n_criteria, n_rows)`` indicator values as numbers (NaN where missing or text).
    utilities : numpy.ndarray
        ``(n_criteria, n_rows)`` values in [0, 1], missing values filled per criterion.
    reasons : pandas.Series
        Exclusion reasons per row ("" when the row passes every constraint and
        enough of the weight could be judged).
    skipped : list of str
        Criteria and constraints that were skipped.
    evaluable : numpy.ndarray
        ``(n_criteria, n_rows)`` True where the data can judge the criterion.
    exact : numpy.ndarray
        ``(n_criteria, n_rows)`` True where the indicator value is exact (not censored);
        censored but evaluable values keep their utility under threshold perturbation.
    not_evaluable_share : numpy.ndarray
        Share (0-1) of the weight per row that could not be judged.
    insufficient : numpy.ndarray
        True for rows not ranked for lack of data ("onvoldoende gegevens": too much
        unjudged weight, outside the data, or a hard condition the data cannot decide).
    flagged : numpy.ndarray
        True for rows with a reason (``reasons != ""``); computed also when the texts
        are not (``evaluate(..., texts=False)``, for grid cells).
    """

    criteria: list[Criterion]
    weights: np.ndarray
    x: np.ndarray
    utilities: np.ndarray
    reasons: pd.Series
    skipped: list[str]
    evaluable: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=bool))
    exact: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=bool))
    not_evaluable_share: np.ndarray = field(default_factory=lambda: np.empty(0))
    insufficient: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    flagged: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))

    @property
    def max_points(self) -> np.ndarray:
        """``(n_criteria, n_rows)`` maximum points per row, the weight shared over the evaluable criteria."""
        return max_points(self.weights, self.evaluable)

    @property
    def points(self) -> np.ndarray:
        """``(n_criteria, n_rows)`` points per criterion and row: maximum points times value."""
        return self.max_points * self.utilities

    @property
    def scores(self) -> np.ndarray:
        """Score 0-100 per row (over the evaluable criteria): the sum of the points."""
        return self.points.sum(axis=0)


def criterion_values(c: Criterion, x: np.ndarray, delta: np.ndarray | float | None = None) -> np.ndarray:
    """Value of criterion ``c`` at ``x`` in [0, 1]; NaN (not computed) becomes worst or best.

    Parameters
    ----------
    c : Criterion
        The criterion.
    x : numpy.ndarray
        Indicator values.
    delta : float or numpy.ndarray, optional
        Threshold perturbation (sensitivity analysis); broadcasts against ``x``.
    """
    x = np.asarray(x, dtype=float)
    xin = x if delta is None else c.function.perturbed_input(x, delta)
    v = np.asarray(c.function(xin), dtype=float)
    fill = 0.0 if c.missing == "worst" else 1.0
    return np.where(np.isnan(np.broadcast_to(x, v.shape)), fill, v)


def _column_ok(indicators: pd.DataFrame, col: str, profile: Profile, what: str, strict: bool) -> bool:
    if col in indicators.columns:
        return True
    if not strict:
        return False
    why = next((w for pre, w in ABSENT_REASONS.items() if col.startswith(pre)), None)
    if why is not None:
        log.warning("profile %s: %s on %r skipped: %s", profile.name, what, col, why)
        return False
    msg = (
        f"profile file {profile.source_file}: {what} uses column {col!r}, which does not exist; "
        f"columns: {', '.join(map(str, indicators.columns))}"
    )
    raise ConfigError(msg)


def _as_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return f"{v:g}"
    return str(v)


def constraint_fails(values: pd.Series, c: Constraint, source: str = "") -> np.ndarray:
    """Boolean array: True where ``values`` fail constraint ``c`` (missing values per ``c.missing``).

    Numbers are compared as numbers and text as text; a numeric constraint on a
    text column converts the column when every value is a number.

    Raises
    ------
    ConfigError
        When a numeric constraint meets a column holding text.
    """
    op = OPS[c.op]
    missing = values.isna().to_numpy()
    numeric_col = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    target = c.value
    numeric_target = isinstance(target, float) or (
        isinstance(target, tuple) and all(isinstance(t, float) for t in target)
    )
    if isinstance(target, bool):
        ok = np.array(
            [bool(op(bool(v), target)) if not m else False for v, m in zip(values, missing, strict=True)]
        )
    elif numeric_target:
        col = values
        if not numeric_col:
            col = pd.to_numeric(values, errors="coerce")
            if (col.isna() & ~values.isna()).any():
                bad = values[col.isna() & ~values.isna()].iloc[0]
                msg = (
                    f"profile file {source}: constraint {c.describe()} compares numbers, but column "
                    f"{c.indicator!r} holds text such as {bad!r}; compare with a text value in quotes"
                )
                raise ConfigError(msg)
        arr = col.to_numpy(dtype=float, na_value=np.nan)
        if isinstance(target, tuple):
            ok = np.isin(arr, np.asarray(target, dtype=float))
            ok = ok if c.op == "in" else ~ok
        else:
            with np.errstate(invalid="ignore"):
                ok = np.asarray(op(arr, float(target)), dtype=bool)
    else:
        tgt: Any = tuple(_as_text(t) for t in target) if isinstance(target, tuple) else _as_text(target)
        ok = np.array(
            [bool(op(_as_text(v), tgt)) if not m else False for v, m in zip(values, missing, strict=True)]
        )
    ok = np.where(missing, c.missing == "pass", ok)
    return ~ok.astype(bool)


def evaluate(
    indicators: pd.DataFrame,
    profile: Profile,
    *,
    strict: bool = True,
    coverage: Coverage | None = None,
    texts: bool = True,
) -> Evaluation:
    """Evaluate a profile's criteria and constraints on an indicator table.

    Parameters
    ----------
    indicators : pandas.DataFrame
        One row per plot (or grid cell): indicator columns and plot attributes.
    profile : Profile
        The validated profile.
    strict : bool
        True (plots): a column that does not exist is an error, except noise columns,
        which are skipped with a warning. False (grid cells): criteria and constraints
        on columns that cells lack (plot area, owner, ...) are skipped quietly.
    coverage : Coverage, optional
        Covered radius per row and the censored columns. Without it every value is
        taken as exact (and missing values follow each criterion's ``missing`` rule).
    texts : bool
        False: no reason texts (``reasons`` is all empty); :attr:`Evaluation.flagged`
        still marks the rows that have one. For grid cells, where only the mask is used.

    Raises
    ------
    ConfigError
        When a criterion or constraint names a column that does not exist (strict),
        or when no weighted criterion can be scored.
    """
    skipped: list[str] = []
    criteria: list[Criterion] = []
    for c in profile.criteria:
        if _column_ok(indicators, c.indicator, profile, f"criterion {c.name!r}", strict):
            criteria.append(c)
        else:
            skipped.append(f"criterion {c.name} ({c.indicator})")
    all_w = profile.weights()
    w = np.array([all_w[c.name] for c in criteria], dtype=float)
    if w.sum() <= 0:
        msg = f"profile file {profile.source_file}: no criterion with a positive weight can be scored in this run"
        raise ConfigError(msg)
    w = w / w.sum()
    n = len(indicators)
    x = np.empty((len(criteria), n))
    utilities = np.empty((len(criteria), n))
    evaluable = np.ones((len(criteria), n), dtype=bool)
    exact = np.ones((len(criteria), n), dtype=bool)
    rules = coverage.rules if coverage is not None else {}
    for i, c in enumerate(criteria):
        col = indicators[c.indicator]
        x[i] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if not isinstance(c.function, Categories):
            _check_numeric(col, x[i], c.name, c.indicator, profile.source_file)
        if isinstance(c.function, Categories):
            v = c.function(col.to_numpy(dtype=object))
            utilities[i] = np.where(np.isnan(v), 0.0 if c.missing == "worst" else 1.0, v)
            continue
        utilities[i] = criterion_values(c, x[i])
        rule = rules.get(c.indicator)
        if rule is not None and coverage is not None:
            lo, hi = value_intervals(x[i], coverage.radius_m, rule)
            if coverage.off_network is not None and rule.walking:
                # No path within reach, and the data would show one: exact, as far as can be.
                off = coverage.off_network & (np.isnan(x[i]) | (rule.kind == "count"))
                far = np.inf if rule.kind == "distance" else np.where(np.isnan(x[i]), 0.0, x[i])
                lo, hi = np.where(off, far, lo), np.where(off, far, hi)
                utilities[i] = np.where(off & np.isnan(x[i]), judged(c.function, lo, hi)[1], utilities[i])
            exact[i] = lo == hi
            ok, value = judged(c.function, lo, hi)
            utilities[i] = np.where(exact[i], utilities[i], value)
            evaluable[i] = exact[i] | ok
        elif c.indicator.startswith(OPTIONAL_PREFIXES) and coverage is not None:
            # No noise data under the plot: the criterion cannot be judged.
            evaluable[i] = ~np.isnan(x[i])
            exact[i] = evaluable[i]
    utilities = np.where(evaluable, utilities, 0.0)
    share = (w[:, None] * ~evaluable).sum(axis=0) if criteria else np.zeros(n)
    notes: list[str] = [""] * n
    short = np.zeros(n, dtype=bool)
    flagged = np.zeros(n, dtype=bool)
    with_texts = texts

    def add(mask: np.ndarray, text: str | Callable[[int], str]) -> None:
        # ``text``: one text for every row, or the text of row j (made only for the rows in ``mask``).
        mask = np.asarray(mask, dtype=bool)
        flagged[mask] = True
        if not with_texts:
            return
        for j in np.flatnonzero(mask).tolist():
            t = text if isinstance(text, str) else text(j)
            notes[j] = f"{notes[j]}; {t}" if notes[j] else t

    modelled = noiserule.modelled_mask(indicators)
    for con in profile.constraints:
        if not _column_ok(indicators, con.indicator, profile, "constraint", strict):
            skipped.append(f"constraint {con.describe()}")
            continue
        if noiserule.is_noise_limit(con):
            if con.official_only and modelled.any():
                skipped.append(
                    f"constraint {con.describe()} (official noise maps only; this noise is modelled)"
                )
                continue
            _noise_constraint(indicators, con, modelled, add, coverage is not None)
            continue
        failed = constraint_fails(indicators[con.indicator], con, profile.source_file)
        rule = rules.get(con.indicator)
        if rule is not None and coverage is not None and con.op in _ORDERING:
            vals = pd.to_numeric(indicators[con.indicator], errors="coerce").to_numpy(dtype=float)
            lo, hi = value_intervals(vals, coverage.radius_m, rule)
            op = OPS[con.op]
            with np.errstate(invalid="ignore"):
                at_lo: np.ndarray = np.asarray(op(lo, float(con.value))).astype(bool)  # type: ignore[arg-type]
                at_hi: np.ndarray = np.asarray(op(hi, float(con.value))).astype(bool)  # type: ignore[arg-type]
            censored = lo != hi
            undecided = censored & (at_lo != at_hi)
            failed = np.where(censored, ~at_lo & ~at_hi, failed)
            add(undecided, _undecided_text(con.describe(), coverage.radius_m))
            short |= undecided
        elif con.indicator == "area_m2" and con.missing == "fail":
            # A point plot has no outline: its area is unknown, not too small.
            nodata = indicators[con.indicator].isna().to_numpy()
            add(nodata, f"{status.INSUFFICIENT}: {status.NO_AREA_CONSTRAINT} ({con.describe()})")
            short |= nodata
            failed = failed & ~nodata
        elif coverage is not None and con.indicator.startswith(OPTIONAL_PREFIXES):
            # No noise data under the plot is no finding about its noise.
            nodata = indicators[con.indicator].isna().to_numpy()
            add(nodata, f"{status.INSUFFICIENT}: {status.NO_NOISE_DATA_CONSTRAINT} ({con.describe()})")
            short |= nodata
            failed = failed & ~nodata
        add(failed, f"{con.reason} ({con.describe()})")
    if coverage is not None and criteria:
        reach = np.array(
            [
                rules[c.indicator].within_m
                if c.indicator in rules and rules[c.indicator].kind == "count"
                else _reach(c)
                for c in criteria
            ]
        )
        too_much = share > profile.max_share_not_evaluable + 1e-9
        radius = coverage.radius_m

        def insufficient_text(j: int) -> str:
            need = reach[~evaluable[:, j]]
            need = need[np.isfinite(need)]
            return status.insufficient_data(radius[j], need.max() if len(need) else 0.0, share[j])

        outside = coverage.outside if coverage.outside is not None else np.zeros(n, dtype=bool)
        add(outside, status.OUTSIDE_DATA)
        add(too_much & ~outside, insufficient_text)
        short |= outside | too_much
    reasons = pd.Series(notes, index=indicators.index, dtype=object)
    return Evaluation(
        criteria=criteria,
        weights=w,
        x=x,
        utilities=utilities,
        reasons=reasons,
        skipped=skipped,
        evaluable=evaluable,
        exact=exact,
        not_evaluable_share=share,
        insufficient=short,
        flagged=flagged,
    )


def _undecided_text(described: str, radius_m: np.ndarray) -> Callable[[int], str]:
    """The text of row j for a constraint the data cannot decide (made only for the rows that need it)."""
    return lambda j: status.undecided_constraint(described, radius_m[j])


def _noise_constraint(
    indicators: pd.DataFrame, con: Constraint, modelled: np.ndarray, add: Any, with_coverage: bool
) -> None:
    """A noise limit: modelled values allow for the model's margin; the text names value and source."""
    values = pd.to_numeric(indicators[con.indicator], errors="coerce").to_numpy(dtype=float)
    nodata = np.isnan(values)
    failed = noiserule.noise_fails(values, con, modelled)
    sources = (
        indicators[noiserule.SOURCE_COLUMN].to_numpy(dtype=object)
        if noiserule.SOURCE_COLUMN in indicators.columns
        else [None] * len(values)
    )

    def text(j: int) -> str:
        s = sources[j]
        return noiserule.failure_text(
            con, float(values[j]), bool(modelled[j]), s if isinstance(s, str) else None
        )

    add(failed, text)
    if nodata.any():
        if with_coverage:
            add(nodata, f"{status.INSUFFICIENT}: {status.NO_NOISE_DATA_CONSTRAINT} ({con.describe()})")
        elif con.missing == "fail":
            add(nodata, f"{con.reason} ({con.describe()})")


def _reach(c: Criterion) -> float:
    """How far the criterion looks, for messages: where it turns flat (exactly, for piecewise functions)."""
    if c.indicator.startswith(OPTIONAL_PREFIXES):
        return 0.0
    exact = isinstance(c.function, Linear | Step | Ideal)
    return reach_m(c.function, tol=0.0 if exact else VALUE_TOLERANCE)


def score_profile(
    indicators: pd.DataFrame,
    profile: Profile,
    sensitivity: SensitivitySettings | None = None,
    coverage: Coverage | None = None,
) -> ProfileResult:
    """Score every plot for one profile, with the Monte Carlo sensitivity analysis.

    Parameters
    ----------
    indicators : pandas.DataFrame
        One row per plot (indexed by plot id): indicator columns and plot attributes.
    profile : Profile
        The validated profile.
    sensitivity : SensitivitySettings, optional
        Overrides the profile's ``[sensitivity]`` settings (``draws = 0`` switches
        the analysis off).
    coverage : Coverage, optional
        Covered radius per plot and the censored columns (see :func:`evaluate`).

    Returns
    -------
    ProfileResult
    """
    from sitefinder.scoring.sensitivity import rank_sensitivity

    p = profile.name
    ev = evaluate(indicators, profile, coverage=coverage)
    out = pd.DataFrame(index=indicators.index)
    pts = ev.points
    for i, c in enumerate(ev.criteria):
        out[f"pts_{p}_{c.name}"] = np.where(ev.evaluable[i], np.round(pts[i], 2), np.nan)
    score = pts.sum(axis=0)
    excluded = (ev.reasons != "").to_numpy()
    out.insert(0, f"score_{p}", np.round(score, 1))
    ranks = pd.Series(score, index=indicators.index).where(~excluded).rank(ascending=False, method="min")
    out.insert(1, f"rank_{p}", ranks.astype("Int64"))
    out.insert(2, f"excluded_{p}", ev.reasons)
    labels = np.array([c.name for c in ev.criteria], dtype=object)
    out.insert(3, f"not_evaluable_{p}", [", ".join(labels[~ev.evaluable[:, j]]) for j in range(len(out))])
    out.insert(4, f"share_not_evaluable_{p}", np.round(ev.not_evaluable_share, 3))
    settings = sensitivity if sensitivity is not None else profile.sensitivity
    used: SensitivitySettings | None = None
    if settings.draws > 0:
        sens = rank_sensitivity(ev, ~excluded, settings)
        sens.index = indicators.index
        for col in sens.columns:
            out.insert(len(out.columns) - len(ev.criteria), f"{col}_{p}", sens[col])
        used = settings
    log.info("Profile %s: %d plots scored, %d excluded by constraints or lack of data", p, len(out),
             int(excluded.sum()))  # fmt: skip
    inputs = indicators[[c.indicator for c in ev.criteria]].copy() if ev.criteria else pd.DataFrame()
    return ProfileResult(
        profile=profile,
        table=out,
        skipped=ev.skipped,
        weights={c.name: float(w) for c, w in zip(ev.criteria, ev.weights, strict=True)},
        inputs=inputs.loc[:, ~inputs.columns.duplicated()],
        sensitivity=used,
    )


def result_from_table(
    table: pd.DataFrame, profile: Profile, weights: dict[str, float] | None = None
) -> ProfileResult:
    """Rebuild a profile's result from a scores table (a run folder's ``scores.gpkg``/``scores.csv``).

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by plot id, with the profile's ``score_``, ``rank_``, ``excluded_``,
        ``pts_`` (and sensitivity) columns and the indicator columns.
    profile : Profile
        The profile the table was scored with.
    weights : dict, optional
        The weights used in the run (from the manifest); default the profile's.

    Raises
    ------
    ConfigError
        When the table has no scores for the profile.
    """
    p = profile.name
    if f"score_{p}" not in table.columns:
        have = sorted(c.removeprefix("score_") for c in table.columns if str(c).startswith("score_"))
        msg = f"the scores table has no scores for profile {p!r}; profiles in it: {', '.join(have) or 'none'}"
        raise ConfigError(msg)
    own = [c for c in table.columns if c in (f"score_{p}", f"rank_{p}", f"excluded_{p}", f"rank_p5_{p}",
                                                 f"rank_p95_{p}", f"not_evaluable_{p}",
                                                 f"share_not_evaluable_{p}") or
           (str(c).startswith(f"pts_{p}_")) or (str(c).startswith("p_top") and str(c).endswith(f"_{p}"))]  # fmt: skip
    out = table[own].copy()
    out[f"excluded_{p}"] = out[f"excluded_{p}"].fillna("").astype(str).astype(object)
    if f"not_evaluable_{p}" in out.columns:
        out[f"not_evaluable_{p}"] = out[f"not_evaluable_{p}"].fillna("").astype(str).astype(object)
    for col in (f"rank_{p}", f"rank_p5_{p}", f"rank_p95_{p}"):
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    scored = [c for c in profile.criteria if f"pts_{p}_{c.name}" in out.columns]
    if weights is None:
        allw = profile.weights()
        total = sum(allw[c.name] for c in scored) or 1.0
        weights = {c.name: allw[c.name] / total for c in scored}
    cols = [c.indicator for c in scored if c.indicator in table.columns]
    inputs = table[list(dict.fromkeys(cols))].copy()
    return ProfileResult(profile=profile, table=out, weights=dict(weights), inputs=inputs)


def run_profile_result(run: RunFolder, name: str) -> ProfileResult:
    """The scores of profile ``name`` in a run folder, with the profile and weights it was scored with.

    Raises
    ------
    UnknownNameError
        When the run has no such profile (the message lists the run's profiles).
    """
    entry = run.profile_entry(name)
    prof = profile_from_source(entry.source)
    return result_from_table(run.scores.drop(columns="geometry"), prof, dict(entry.weights) or None)
