"""Score plots for a profile: value functions, weights, constraints, rank. No geometry needed.

score = 100 · Σ wᵢ·vᵢ / Σ wᵢ, with vᵢ in [0, 1] the value of criterion i. The
contribution of criterion i, in points of the 100, is 100 · wᵢ·vᵢ / Σ w, so the
contributions of a plot add up to its score: every score is explainable from the
table alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sitefinder.errors import ConfigError
from sitefinder.scoring.profiles import OPS, Constraint, Profile

log = logging.getLogger(__name__)

#: Indicator column prefixes that a run may legitimately lack (no noise layer given).
OPTIONAL_PREFIXES = ("noise_",)


@dataclass(frozen=True)
class ProfileResult:
    """Scores of one profile.

    Attributes
    ----------
    profile : Profile
        The profile as scored.
    table : pandas.DataFrame
        ``score_<p>`` (0-100), ``rank_<p>`` (1 = best, empty when excluded),
        ``excluded_<p>`` (empty, or the reasons) and ``pts_<p>_<criterion>``.
    skipped : list of str
        Criteria and constraints skipped because their indicator was not computed
        in this run (for example noise criteria without a noise layer).
    """

    profile: Profile
    table: pd.DataFrame
    skipped: list[str] = field(default_factory=list)


def _check_column(indicators: pd.DataFrame, col: str, profile: Profile, what: str) -> bool:
    if col in indicators.columns:
        return True
    if col.startswith(OPTIONAL_PREFIXES):
        log.warning("profile %s: %s on %r skipped: no noise layer in this run", profile.name, what, col)
        return False
    msg = (
        f"profile file {profile.source_file}: {what} uses column {col!r}, which does not exist; "
        f"columns: {', '.join(indicators.columns)}"
    )
    raise ConfigError(msg)


def _fails(values: pd.Series, c: Constraint) -> pd.Series:
    op = OPS[c.op]
    if values.dtype == object or isinstance(c.value, str):
        res = values.astype("string").map(lambda v: bool(op(v, str(c.value))) if pd.notna(v) else False)
        ok = res.astype(bool)
    else:
        ok = pd.Series(op(values.to_numpy(dtype=float), float(c.value)), index=values.index)
    missing = values.isna()
    ok = ok.where(~missing, c.missing == "pass")
    return ~ok.astype(bool)


def score_profile(indicators: pd.DataFrame, profile: Profile) -> ProfileResult:
    """Score every plot for one profile.

    Parameters
    ----------
    indicators : pandas.DataFrame
        One row per plot (indexed by plot id): indicator columns and plot attributes.
    profile : Profile
        The validated profile.

    Returns
    -------
    ProfileResult
    """
    p = profile.name
    skipped: list[str] = []
    criteria = []
    for c in profile.criteria:
        if _check_column(indicators, c.indicator, profile, f"criterion {c.name!r}"):
            criteria.append(c)
        else:
            skipped.append(f"criterion {c.name} ({c.indicator})")
    total_w = sum(c.weight for c in criteria)
    if total_w <= 0:
        msg = f"profile file {profile.source_file}: no criterion with a positive weight can be scored in this run"
        raise ConfigError(msg)
    out = pd.DataFrame(index=indicators.index)
    score = np.zeros(len(indicators))
    for c in criteria:
        x = indicators[c.indicator].to_numpy(dtype=float)
        v = c.function(x)
        v = np.where(np.isnan(v), 0.0 if c.missing == "worst" else 1.0, v)
        pts = 100.0 * c.weight * v / total_w
        out[f"pts_{p}_{c.name}"] = np.round(pts, 2)
        score += pts
    reasons = pd.Series("", index=indicators.index, dtype=object)
    for con in profile.constraints:
        if not _check_column(indicators, con.indicator, profile, "constraint"):
            skipped.append(f"constraint {con.describe()}")
            continue
        failed = _fails(indicators[con.indicator], con)
        add = f"{con.reason} ({con.describe()})"
        reasons[failed] = reasons[failed].map(lambda r, a=add: f"{r}; {a}" if r else a)
    excluded = reasons != ""
    out.insert(0, f"score_{p}", np.round(score, 1))
    ranks = pd.Series(score, index=indicators.index).where(~excluded).rank(ascending=False, method="min")
    out.insert(1, f"rank_{p}", ranks.astype("Int64"))
    out.insert(2, f"excluded_{p}", reasons)
    log.info("Profile %s: %d plots scored, %d excluded by constraints", p, len(out), int(excluded.sum()))
    return ProfileResult(profile=profile, table=out, skipped=skipped)
