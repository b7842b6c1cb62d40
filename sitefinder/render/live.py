"""What the map needs to re-score plots in the browser: utilities, weights and constraint failures.

A score is ``100 · Σ wᵢ·uᵢ / Σ wᵢ`` (see :mod:`sitefinder.scoring.score`), so with the
utility ``uᵢ`` of every criterion per plot the page can recompute scores, ranks and
colours for any weights at once. Hard constraints travel as the list of plots that fail
each one, with the indicator and limit for a Dutch reason ("geluid p90 63 dB, grens
58 dB"); switching a constraint off in the page drops its failures.

The profile also travels as plain data (:func:`exportable_profile`) so that the page
can write the changed profile as a TOML file that ``sitefinder run --profile FILE``
scores exactly as the page did.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sitefinder.render.labels import ColumnLabel
from sitefinder.scoring.functions import Categories
from sitefinder.scoring.profiles import Constraint, Criterion, Profile
from sitefinder.scoring.score import ProfileResult, constraint_fails, criterion_values

#: Dutch words for a constraint's comparison (``grens: een van gemeente, provincie``).
OP_WORDS = {
    "<=": "hoogstens",
    "<": "minder dan",
    ">=": "minstens",
    ">": "meer dan",
    "==": "gelijk aan",
    "!=": "niet gelijk aan",
    "in": "een van",
    "not in": "geen van",
}
#: Short Dutch names for reasons; other columns use their label from :mod:`sitefinder.render.labels`.
SHORT_LABELS = {
    "noise_lden_p90_db": "geluid p90",
    "noise_lden_mean_db": "geluid gemiddeld",
    "noise_lnight_mean_db": "geluid 's nachts",
    "area_m2": "oppervlakte",
}
#: Decimals of the utilities in the page: 5 keeps a score within 0.001 point.
UTILITY_DECIMALS = 5


def criterion_utilities(c: Criterion, values: pd.Series) -> np.ndarray:
    """Utility in [0, 1] of criterion ``c`` for each value, as :func:`~sitefinder.scoring.score.evaluate` computes it."""
    if isinstance(c.function, Categories):
        v = c.function(values.to_numpy(dtype=object))
        return np.where(np.isnan(v), 0.0 if c.missing == "worst" else 1.0, v)
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return criterion_values(c, x)


def _limit_text(con: Constraint, label: ColumnLabel) -> str:
    """The limit of a constraint in Dutch: ``grens 58 dB`` or ``grens: een van gemeente, provincie``."""
    value = con.value
    if isinstance(value, tuple):
        text = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    elif isinstance(value, bool):
        text = "ja" if value else "nee"
    elif isinstance(value, float):
        text = f"{value * 100:g} %" if label.kind == "share" else f"{value:g}".replace(".", ",")
        if label.unit and label.kind != "share":
            text += f"\u00a0{label.unit}"
    else:
        text = str(value)
    if con.op in ("<=", ">="):
        return f"grens {text}"
    return f"grens: {OP_WORDS[con.op]} {text}"


def constraint_block(
    con: Constraint, table: pd.DataFrame, labels: dict[str, ColumnLabel], source: str
) -> dict[str, Any]:
    """One hard constraint for the page: Dutch texts and the positions of the plots that fail it.

    A constraint whose column is missing from ``table`` has ``fails`` None: the page
    says it could not be checked instead of counting it as passed.
    """
    label = labels.get(con.indicator)
    what = SHORT_LABELS.get(con.indicator) or (
        label.label[:1].lower() + label.label[1:] if label else con.indicator
    )
    block: dict[str, Any] = {
        "indicator": con.indicator,
        "reason": con.reason,
        "label": what,
        "limit": _limit_text(con, label) if label is not None else f"grens: {OP_WORDS[con.op]} {con.value}",
        "missing": con.missing,
        "fails": None,
    }
    if con.indicator in table.columns:
        failed = constraint_fails(table[con.indicator], con, source)
        block["fails"] = np.flatnonzero(failed).tolist()
    return block


def raw_weights(profile: Profile) -> dict[str, float]:
    """The weights the page's sliders start from: the profile's own, or ``[ahp]`` weights × 100."""
    if profile.ahp is not None:
        return {k: round(100.0 * v, 6) for k, v in profile.weights().items()}
    return {c.name: float(c.weight or 0.0) for c in profile.criteria}


def exportable_profile(profile: Profile) -> dict[str, Any]:
    """The profile as TOML-ready data with explicit weights (an ``[ahp]`` table becomes weights).

    Layer constraints keep only their layer form (``layer``, ``relation``, ``share``),
    as a profile file writes them.
    """
    raw = profile.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"source_file", "ahp"})
    weights = raw_weights(profile)
    for crit in raw["criterion"]:
        crit["weight"] = weights[crit["name"]]
    for con in raw.get("constraint", []):
        if con.get("layer") is not None:
            for key in ("indicator", "op", "value"):
                con.pop(key, None)
    return raw


def live_block(res: ProfileResult, table: pd.DataFrame, labels: dict[str, ColumnLabel]) -> dict[str, Any]:
    """Per profile: the criteria's raw weights and utilities, the constraints, and the exportable profile.

    Only criteria the run scored (a ``pts_<profile>_<name>`` column exists) carry
    utilities; the weights are those of the profile file (``[ahp]`` weights times 100),
    which the page's sliders start from.
    """
    p = res.profile
    weights = raw_weights(p)
    criteria = []
    for c in p.criteria:
        if f"pts_{p.name}_{c.name}" not in table.columns or c.indicator not in table.columns:
            continue
        u = np.round(criterion_utilities(c, table[c.indicator]), UTILITY_DECIMALS)
        criteria.append({"name": c.name, "weight": weights[c.name], "u": u.tolist()})
    constraints = [constraint_block(con, table, labels, p.source_file) for con in p.constraints]
    return {"criteria": criteria, "constraints": constraints, "profile": exportable_profile(p)}
