"""How a hard noise condition treats modelled noise, and the Dutch text of a noise exclusion.

The rule (docs/scoring.md, "Modelled noise and hard limits"): a modelled noise map
carries the model's uncertainty (``docs/noise-model.md``: about ±3 dB next to roads
whose traffic matches the class table). A noise constraint therefore excludes a
plot on **modelled** noise only when the value is beyond the limit by more than the
constraint's ``modelled_margin_db`` (default :data:`MODELLED_NOISE_MARGIN_DB`); on an
official map the limit holds as it is. A constraint with ``official_only = true``
is not applied at all to modelled noise (the run lists it as skipped). The
exclusion text names the value, Lden or Lnight, the source and whether it was
modelled: ``te veel geluid: 63 dB Lden gemodelleerd (weg- en railverkeer), grens
58 dB (+3 dB modelonzekerheid) (noise_lden_p90_db <= 58)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sitefinder.scoring.profiles import Constraint

#: Uncertainty of sitefinder's own noise model (dB) that a hard noise limit allows for
#: before it excludes a plot on modelled values (docs/noise-model.md, measured error).
MODELLED_NOISE_MARGIN_DB = 3.0
#: Indicator columns that say where a run's noise came from (written by noise_stats).
MODELLED_COLUMN = "noise_modelled"
SOURCE_COLUMN = "noise_source"


def is_noise_limit(con: Constraint) -> bool:
    """True for a numeric limit on a noise level column (``noise_l..._db``)."""
    return (
        con.indicator.startswith("noise_l")
        and con.indicator.endswith("_db")
        and con.op in ("<=", "<", ">=", ">")
    )


def modelled_mask(indicators: pd.DataFrame) -> np.ndarray:
    """Per row: True where the noise values come from the model (False without the column)."""
    if MODELLED_COLUMN not in indicators.columns:
        return np.zeros(len(indicators), dtype=bool)
    return indicators[MODELLED_COLUMN].fillna(False).to_numpy(dtype=bool)


def noise_fails(values: np.ndarray, con: Constraint, modelled: np.ndarray) -> np.ndarray:
    """Rows failing the noise limit: modelled rows only beyond the limit plus the margin.

    Missing values do not fail here (the caller reports them as lack of data).
    """
    limit = float(con.value)  # type: ignore[arg-type]
    margin = np.where(modelled, con.modelled_margin_db, 0.0)
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        if con.op == "<=":
            fail = v > limit + margin
        elif con.op == "<":
            fail = v >= limit + margin
        elif con.op == ">=":
            fail = v < limit - margin
        else:
            fail = v <= limit - margin
    return np.asarray(fail & ~np.isnan(v))


def _kind(indicator: str) -> str:
    return "Lnight" if "lnight" in indicator else "Lden"


def failure_text(con: Constraint, value: float, modelled: bool, source: str | None) -> str:
    """The exclusion text of one plot failing a noise limit (Dutch)."""
    how = "gemodelleerd" if modelled else "volgens de geluidskaart"
    src = f" ({source})" if source else ""
    margin = (
        f" (+{con.modelled_margin_db:g} dB modelonzekerheid)" if modelled and con.modelled_margin_db else ""
    )
    shown = f"{value:.0f}" if math.isfinite(value) else "?"
    return f"{con.reason}: {shown} dB {_kind(con.indicator)} {how}{src}, grens {float(con.value):g} dB{margin} ({con.describe()})"  # type: ignore[arg-type]


def is_failure_of(con: Constraint, part: str) -> bool:
    """True when one part of an exclusion text is ``con`` failing (plain or noise form)."""
    tail = f"({con.describe()})"
    return part == f"{con.reason} {tail}" or (part.startswith(f"{con.reason}: ") and part.endswith(tail))
