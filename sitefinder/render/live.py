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

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sitefinder.render.labels import ColumnLabel, format_value
from sitefinder.scoring import status
from sitefinder.scoring.functions import Categories
from sitefinder.scoring.noiserule import is_failure_of, is_noise_limit, modelled_mask
from sitefinder.scoring.points import max_points
from sitefinder.scoring.profiles import Constraint, Criterion, Profile
from sitefinder.scoring.score import ProfileResult, criterion_values

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


def _margin_text(con: Constraint, table: pd.DataFrame) -> str:
    """`` (+3 dB modelonzekerheid)`` when a noise limit was applied to modelled noise with a margin.

    Scoring excludes a plot on modelled noise only beyond the limit plus the margin
    (:mod:`sitefinder.scoring.noiserule`); the page says so, as the run's exclusion texts do.
    """
    if not is_noise_limit(con) or not con.modelled_margin_db:
        return ""
    modelled = modelled_mask(table)
    if not modelled.any():
        return ""
    where = "" if modelled.all() else " waar gemodelleerd"
    return f" (+{con.modelled_margin_db:g}\u00a0dB modelonzekerheid{where})"


def split_reasons(text: str) -> list[str]:
    """The ``; ``-separated parts of an exclusion text (not splitting inside brackets)."""
    out, depth, cur = [], 0, ""
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and text.startswith("; ", i):
            out.append(cur)
            cur = ""
            continue
        if depth == 0 and ch == " " and text[i - 1 : i] == ";":
            continue
        cur += ch
    return [p for p in (*out, cur) if p]


def run_text(con: Constraint) -> str:
    """How scoring writes a failed constraint into ``excluded_<profile>``."""
    return f"{con.reason} ({con.describe()})"


def is_share_note(part: str) -> bool:
    """True for the "onvoldoende gegevens: ... van het gewicht ..." note, which the page recomputes."""
    return part.startswith(status.INSUFFICIENT) and "van het gewicht" in part


def constraint_block(
    con: Constraint, table: pd.DataFrame, labels: dict[str, ColumnLabel], parts: list[list[str]]
) -> dict[str, Any]:
    """One hard constraint for the page: Dutch texts and the positions of the plots that fail it.

    The failures are read from the run's exclusion texts (``parts``, per plot), so they
    are the CLI's own, also for values the data cannot decide. Other notes of the run
    that name this constraint (no noise data, undecided) go with it in ``notes``. A
    constraint whose column is missing from ``table`` has ``fails`` None: the page says
    it could not be checked instead of counting it as passed.
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
        "notes": {},
    }
    block["limit"] += _margin_text(con, table)
    if con.indicator in table.columns:
        mine = run_text(con)
        desc = f"({con.describe()})"
        block["fails"] = [i for i, ps in enumerate(parts) if any(is_failure_of(con, p) for p in ps)]
        block["notes"] = {
            str(i): p
            for i, ps in enumerate(parts)
            for p in ps
            if p != mine and desc in p and p.startswith(status.INSUFFICIENT)
        }
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
    """Per profile: the criteria's raw weights, utilities and evaluable masks, the constraints, the profile.

    Only criteria the run scored (a ``pts_<profile>_<name>`` column exists) are sent. A
    criterion the data cannot judge for a plot has an empty ``pts_`` cell; its
    position goes to ``ne`` and the page shares its weight over the others, as
    scoring does. The utility is computed from the indicator; where that disagrees
    with the run's points by more than their rounding (a censored value that scoring
    judged from its bounds), it is taken from the points instead.
    """
    p = res.profile
    weights = raw_weights(p)
    scored = [
        c for c in p.criteria if f"pts_{p.name}_{c.name}" in table.columns and c.indicator in table.columns
    ]
    w = np.array([weights[c.name] for c in scored], dtype=float)
    pts = np.array([pd.to_numeric(table[f"pts_{p.name}_{c.name}"], errors="coerce").to_numpy(dtype=float)
                    for c in scored]).reshape(len(scored), len(table))  # fmt: skip
    evaluable = ~np.isnan(pts)
    most = max_points(w, evaluable)
    criteria = []
    for k, c in enumerate(scored):
        u = criterion_utilities(c, table[c.indicator])
        if w[k] > 0:
            with np.errstate(invalid="ignore", divide="ignore"):
                # The value the run's points imply (points are rounded to 0.01).
                from_pts = pts[k] / most[k]
                tol = 0.006 / most[k] + 1e-6
            off = evaluable[k] & (np.abs(u - from_pts) > tol)
            u = np.where(off, np.clip(from_pts, 0.0, 1.0), u)
        u = np.where(evaluable[k], u, 0.0)
        criteria.append({"name": c.name, "weight": weights[c.name], "u": np.round(u, UTILITY_DECIMALS).tolist(),
                         "ne": np.flatnonzero(~evaluable[k]).tolist()})  # fmt: skip
    excluded = table[f"excluded_{p.name}"].fillna("").astype(str).tolist()
    parts = [split_reasons(t) for t in excluded]
    constraints = [constraint_block(con, table, labels, parts) for con in p.constraints]
    taken = {run_text(con) for con in p.constraints}
    taken |= {n for con in constraints for n in con["notes"].values()}

    def fixed(x: str) -> bool:
        return (
            x not in taken
            and not is_share_note(x)
            and not any(is_failure_of(con, x) for con in p.constraints)
        )

    notes = {
        str(i): [dutch_reason_text(x, p.constraints, labels) for x in ps if fixed(x)]
        for i, ps in enumerate(parts)
    }
    for con in constraints:
        con["notes"] = {i: dutch_reason_text(t, p.constraints, labels) for i, t in con["notes"].items()}
    return {
        "criteria": criteria,
        "constraints": constraints,
        "notes": {i: v for i, v in notes.items() if v},
        "max_share_not_evaluable": float(getattr(p, "max_share_not_evaluable", 1.0)),
        "profile": exportable_profile(p),
    }


_CENSORED = re.compile(r"(?P<col>[a-z][a-z0-9_]*) (?P<sign>>=|>) (?P<value>-?[0-9.]+(?:e[+-]?[0-9]+)?)")


def dutch_censored(text: str, labels: dict[str, ColumnLabel]) -> str:
    """``dist_gp_m > 1512.5; n_gp_500m >= 3`` in Dutch: ``Loopafstand tot huisarts: meer dan 1.513 m; ...``."""
    if not isinstance(text, str) or not text:
        return text

    def one(m: re.Match[str]) -> str:
        lab = labels.get(m.group("col"))
        if lab is None:
            return m.group(0)
        word = "meer dan" if m.group("sign") == ">" else "minstens"
        value = format_value(float(m.group("value")), lab.kind)
        return f"{lab.label}: {word} {value}{chr(160) + lab.unit if lab.unit else ''}"

    return _CENSORED.sub(one, text)


def dutch_reason_text(text: str, constraints: Sequence[Constraint], labels: dict[str, ColumnLabel]) -> str:
    """A reason as scoring writes it (``... (noise_lden_p90_db <= 58)``) with the condition in Dutch."""
    for con in constraints:
        label = labels.get(con.indicator)
        short = SHORT_LABELS.get(con.indicator) or (
            label.label[:1].lower() + label.label[1:] if label else con.indicator
        )
        limit = _limit_text(con, label) if label is not None else f"grens: {OP_WORDS[con.op]} {con.value}"
        text = text.replace(f"({con.describe()})", f"({short}, {limit})").replace(
            con.describe(), f"{short} {limit}"
        )
    return text
