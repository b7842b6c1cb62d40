"""Dutch texts for what a score can and cannot claim, in one place for tables, map, report and CLI.

Scoring writes these into ``excluded_<profile>`` and ``not_evaluable_<profile>``;
the map, the compare report and ``explain`` show them as they are.
"""

from __future__ import annotations

import math

#: Shown in a breakdown instead of points for a criterion that could not be judged.
NOT_EVALUABLE = "telt niet mee: de gegevens reiken niet ver genoeg"

#: Shown for a noise criterion on a plot without noise data.
NO_NOISE_DATA = "telt niet mee: geen geluidsgegevens voor deze kavel"

#: Exclusion text for a noise condition on a plot without noise data.
NO_NOISE_DATA_CONSTRAINT = "geen geluidsgegevens voor deze kavel, harde eis niet te beoordelen"

#: Exclusion text for an area condition on a point plot (no outline, so no area).
NO_AREA_CONSTRAINT = "oppervlakte onbekend (de kavel is een punt zonder omtrek), harde eis niet te beoordelen"

#: Prefix of the exclusion reason of a plot that is not ranked for lack of data.
INSUFFICIENT = "onvoldoende gegevens"

#: Exclusion reason of a plot wholly outside the data.
OUTSIDE_DATA = "onvoldoende gegevens: de kavel ligt buiten het gebied van de OSM-gegevens"

#: Legend/popup text for the share of the weight that could not be judged.
SHARE_NOT_EVALUABLE_LABEL = "Deel van het gewicht dat niet beoordeeld kon worden"

#: Heading of the censored-values column.
CENSORED_LABEL = "Waarden die alleen als ondergrens bekend zijn"

#: Label of the covered radius column.
COVERED_RADIUS_LABEL = "Dekking van de OSM-gegevens rond de kavel"


def metres(v: float) -> str:
    """Metres the Dutch way: ``1.500 m``; ``onbeperkt`` for infinity."""
    if not math.isfinite(v):
        return "onbeperkt"
    return f"{round(v):,} m".replace(",", ".")


def insufficient_data(radius_m: float, reach: float, share: float) -> str:
    """Why a plot is not ranked: the data reach and what the profile needs.

    Parameters
    ----------
    radius_m : float
        Covered radius of the plot.
    reach : float
        The farthest any of its not-evaluable criteria needs to look (m).
    share : float
        Share (0-1) of the weight that could not be judged.
    """
    pct = f"{100 * share:.0f} %"
    if math.isfinite(reach) and reach > 0:
        return (
            f"{INSUFFICIENT}: de OSM-gegevens reiken {metres(radius_m)} voorbij de kavel, het profiel "
            f"kijkt {metres(reach)} ver ({pct} van het gewicht telt niet mee)"
        )
    return f"{INSUFFICIENT}: {pct} van het gewicht kan niet beoordeeld worden"


def undecided_constraint(describe: str, radius_m: float) -> str:
    """Exclusion reason for a hard condition that the data cannot decide."""
    return (
        f"{INSUFFICIENT}: harde eis {describe} niet te beoordelen, de OSM-gegevens reiken "
        f"{metres(radius_m)} voorbij de kavel"
    )


def no_eligible(title: str, reasons: list[str]) -> str:
    """The plain message when no plot passes a profile's hard conditions.

    Parameters
    ----------
    title : str
        The profile's name or title.
    reasons : list of str
        The ``excluded_<profile>`` texts of all plots.
    """
    text = f"geen enkele kavel voldoet aan de harde eisen van {title}"
    common = most_common_reason(reasons)
    return f"{text}; meest voorkomende reden: {common}" if common else text


def most_common_reason(reasons: list[str]) -> str:
    """The reason that occurs for most plots (each plot's reasons are ``; ``-separated)."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for r in reasons:
        if not isinstance(r, str) or not r:
            continue
        parts = [p.strip() for p in _split(r)]
        counts.update(list(dict.fromkeys(reason_kind(p) for p in parts if p)))
    if not counts:
        return ""
    # Ties go to the reason met first (hard conditions are written before data notes).
    return counts.most_common(1)[0][0]


def reason_kind(part: str) -> str:
    """One exclusion reason as it is counted over plots.

    Data-gap texts whose figures differ per plot (reach of the OSM data, share of the
    weight) are counted by what is missing.

    >>> reason_kind("te klein (area_m2 >= 2000)")
    'te klein (area_m2 >= 2000)'
    >>> reason_kind(undecided_constraint("area_m2 >= 2000", 120))
    'onvoldoende gegevens: harde eis area_m2 >= 2000 niet te beoordelen (OSM-gegevens reiken niet ver genoeg)'
    >>> reason_kind(insufficient_data(112, 500, 0.33))
    'onvoldoende gegevens: de OSM-gegevens reiken niet ver genoeg voor het profiel'
    """
    if not part.startswith(INSUFFICIENT) or part == OUTSIDE_DATA:
        return part
    rest = part[len(INSUFFICIENT) + 2 :]
    if rest.startswith("harde eis ") and ", de OSM-gegevens reiken" in rest:
        return f"{INSUFFICIENT}: {rest.split(', de OSM-gegevens reiken')[0]} (OSM-gegevens reiken niet ver genoeg)"
    if rest.startswith("de OSM-gegevens reiken"):
        return f"{INSUFFICIENT}: de OSM-gegevens reiken niet ver genoeg voor het profiel"
    if rest.endswith("van het gewicht kan niet beoordeeld worden"):
        return f"{INSUFFICIENT}: te veel van het gewicht kan niet beoordeeld worden"
    return part


def split_reasons(reason: str) -> list[str]:
    """The parts of an ``excluded_<profile>`` text (``; ``-separated outside brackets)."""
    return [p.strip() for p in _split(reason) if p.strip()] if reason else []


def _split(reason: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in reason:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == ";" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out
