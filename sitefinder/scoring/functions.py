"""Value functions: turn an indicator value (metres, dB, m², a count) into a value from 0 (worst) to 1 (best).

Each function is a frozen pydantic model with a ``type`` tag, so a profile file names
it as ``function = { type = "linear", best = 48, worst = 58 }``. Parameters are
validated when the profile is loaded; an inconsistent set (``best`` equal to
``worst``, an ideal outside its worst points, ...) is refused with a message naming
the parameter.

Five numeric shapes and one for text columns:

* ``linear``: 1 at ``best``, 0 at ``worst``, straight in between.
* ``step``: a threshold table, for norms that are stated as cut-offs.
* ``logistic``: an S-curve around a midpoint (a soft threshold).
* ``decay``: distance decay, 1 up to ``start`` and 0.5 at ``half``, exponential or
  gaussian; CROW advises decay curves rather than hard cut-offs for walking distances.
* ``ideal``: best at a target value (or range), falling to 0 at a worst point on
  either side.
* ``categories``: a value per category of a text column (zoning, police advice).

Sensitivity analysis moves a function's thresholds with :meth:`perturbed_input`:
shift-type functions move all their break points together by ``delta × width``,
scale-type functions (``decay``, ``ideal``) stretch around their anchor by
``1 + delta``. Either way, ``f_delta(x) = f(perturbed_input(x, delta))``, which
broadcasts over many draws at once.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_LN2 = math.log(2.0)
_LN9 = math.log(9.0)


class _Base(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` (NaN stays NaN)."""
        raise NotImplementedError

    def describe(self) -> str:
        """One-line explanation for reports."""
        raise NotImplementedError

    def width(self) -> float:
        """Characteristic width of the transition from 1 to 0, in indicator units."""
        raise NotImplementedError

    def perturbed_input(self, x: np.ndarray, delta: np.ndarray | float) -> np.ndarray:
        """Map ``x`` so that ``f(mapped)`` equals ``f`` with its thresholds moved by ``delta``.

        The default moves every break point by ``delta × width()``: ``f(x - delta·width)``.

        Parameters
        ----------
        x : numpy.ndarray
            Indicator values.
        delta : float or numpy.ndarray
            Relative perturbation, typically in [-0.2, 0.2]; broadcasts against ``x``.
        """
        return np.asarray(x, dtype=float) - np.asarray(delta, dtype=float) * self.width()


class Linear(_Base):
    """1 at ``best``, 0 at ``worst``, linear in between and clamped outside.

    ``best`` may be smaller (less is better: distance, noise) or larger (more is
    better: area) than ``worst``.

    >>> import numpy as np
    >>> Linear(best=48, worst=58)(np.array([40.0, 53.0, 60.0])).tolist()
    [1.0, 0.5, 0.0]
    """

    type: Literal["linear"] = "linear"
    best: float
    worst: float

    @model_validator(mode="after")
    def _distinct(self) -> Linear:
        if self.best == self.worst:
            msg = f"best and worst are both {self.best:g}; they must differ"
            raise ValueError(msg)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x``."""
        x = np.asarray(x, dtype=float)
        return np.clip((x - self.worst) / (self.best - self.worst), 0.0, 1.0)

    def width(self) -> float:
        """``|best - worst|``."""
        return abs(self.best - self.worst)

    def describe(self) -> str:
        """Explain for reports."""
        return f"lineair: 1 bij {self.best:g}, 0 bij {self.worst:g}"


class Step(_Base):
    """Piecewise constant: ``values[i]`` for ``thresholds[i-1] <= x < thresholds[i]``.

    ``values`` has one more element than ``thresholds``; thresholds increase.

    >>> import numpy as np
    >>> Step(thresholds=[400, 800], values=[1.0, 0.5, 0.0])(np.array([100.0, 400.0, 900.0])).tolist()
    [1.0, 0.5, 0.0]
    """

    type: Literal["step"] = "step"
    thresholds: tuple[float, ...] = Field(min_length=1)
    values: tuple[float, ...]

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if len(self.values) != len(self.thresholds) + 1:
            msg = (
                f"values needs {len(self.thresholds) + 1} entries for {len(self.thresholds)} "
                f"thresholds (one per interval), got {len(self.values)}"
            )
            raise ValueError(msg)
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            msg = f"thresholds must increase, got {list(self.thresholds)}"
            raise ValueError(msg)
        if any(not 0.0 <= v <= 1.0 for v in self.values):
            msg = f"values must lie between 0 and 1, got {list(self.values)}"
            raise ValueError(msg)
        if len(set(self.values)) == 1:
            msg = f"all values are {self.values[0]:g}; a step function needs at least two different values"
            raise ValueError(msg)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x``."""
        x = np.asarray(x, dtype=float)
        idx = np.searchsorted(np.asarray(self.thresholds), x, side="right")
        out = np.asarray(self.values, dtype=float)[np.clip(idx, 0, len(self.values) - 1)]
        return np.where(np.isnan(x), np.nan, out)

    def width(self) -> float:
        """Span of the thresholds (or the single threshold's magnitude, at least 1)."""
        if len(self.thresholds) > 1:
            return self.thresholds[-1] - self.thresholds[0]
        return max(abs(self.thresholds[0]), 1.0)

    def describe(self) -> str:
        """Explain for reports."""
        edges = ", ".join(f"{t:g}" for t in self.thresholds)
        vals = ", ".join(f"{v:g}" for v in self.values)
        return f"stappen bij {edges}: waarden {vals}"


class Logistic(_Base):
    """An S-curve: 0.5 at ``mid``, 0.9 and 0.1 at ``mid ± width/2``.

    ``better = "lower"`` (default) makes small values good (distance, noise);
    ``"higher"`` makes large values good (distance to a nuisance).

    >>> import numpy as np
    >>> f = Logistic(mid=53, width=10)
    >>> [round(float(v), 3) for v in f(np.array([48.0, 53.0, 58.0]))]
    [0.9, 0.5, 0.1]
    """

    type: Literal["logistic"] = "logistic"
    mid: float
    width_: float = Field(alias="width", gt=0)
    better: Literal["lower", "higher"] = "lower"

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x``."""
        x = np.asarray(x, dtype=float)
        sign = 1.0 if self.better == "lower" else -1.0
        # A distance far beyond the mid (a finite mid near the float limit) overflows to +-inf
        # before the clip, which is exact there: the utility is 0 or 1. No warning for it.
        with np.errstate(over="ignore"):
            z = np.clip(sign * (x - self.mid) * (2.0 * _LN9 / self.width_), -700.0, 700.0)
        return 1.0 / (1.0 + np.exp(z))

    def width(self) -> float:
        """Distance between the 0.9 and 0.1 points."""
        return self.width_

    def describe(self) -> str:
        """Explain for reports."""
        lo, hi = self.mid - self.width_ / 2, self.mid + self.width_ / 2
        good, bad = (lo, hi) if self.better == "lower" else (hi, lo)
        return f"S-curve: 0,5 bij {self.mid:g}, 0,9 bij {good:g}, 0,1 bij {bad:g}"


class Decay(_Base):
    """Distance decay: 1 up to ``start``, 0.5 at ``half``, towards 0 beyond.

    ``shape = "exponential"``: ``0.5 ** ((x - start) / (half - start))``, a long tail;
    ``shape = "gaussian"``: ``0.5 ** (((x - start) / (half - start)) ** 2)``, flat near
    ``start`` and falling faster beyond ``half``.

    >>> import numpy as np
    >>> Decay(half=500)(np.array([0.0, 500.0, 1000.0])).tolist()
    [1.0, 0.5, 0.25]
    >>> Decay(half=500, shape="gaussian")(np.array([0.0, 500.0, 1000.0])).tolist()
    [1.0, 0.5, 0.0625]
    """

    type: Literal["decay"] = "decay"
    half: float
    start: float = 0.0
    shape: Literal["exponential", "gaussian"] = "exponential"

    @model_validator(mode="after")
    def _order(self) -> Decay:
        if self.half <= self.start:
            msg = f"half ({self.half:g}) must be larger than start ({self.start:g})"
            raise ValueError(msg)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x``."""
        x = np.asarray(x, dtype=float)
        u = np.maximum(x - self.start, 0.0) / (self.half - self.start)
        if self.shape == "gaussian":
            u = u * u
        return np.exp(-_LN2 * u)

    def width(self) -> float:
        """``half - start``."""
        return self.half - self.start

    def perturbed_input(self, x: np.ndarray, delta: np.ndarray | float) -> np.ndarray:
        """Stretch the distances beyond ``start`` by ``1 + delta`` (the half distance moves)."""
        x = np.asarray(x, dtype=float)
        return self.start + (x - self.start) / (1.0 + np.asarray(delta, dtype=float))

    def describe(self) -> str:
        """Explain for reports."""
        kind = "exponentieel" if self.shape == "exponential" else "gaussisch"
        head = f"1 tot {self.start:g}, " if self.start else ""
        return f"afstandsverval ({kind}): {head}0,5 bij {self.half:g}"


class Ideal(_Base):
    """Best (1) at an ideal value or range, falling linearly to 0 at ``worst_below`` and ``worst_above``.

    ``ideal`` is a number or a ``[low, high]`` range.

    >>> import numpy as np
    >>> f = Ideal(ideal=[1, 5], worst_below=0, worst_above=15)
    >>> f(np.array([0.0, 3.0, 10.0, 20.0])).tolist()
    [0.0, 1.0, 0.5, 0.0]
    """

    type: Literal["ideal"] = "ideal"
    ideal: tuple[float, float]
    worst_below: float
    worst_above: float

    @field_validator("ideal", mode="before")
    @classmethod
    def _range(cls, v: object) -> object:
        if isinstance(v, int | float):
            return (v, v)
        return v

    @model_validator(mode="after")
    def _order(self) -> Ideal:
        lo, hi = self.ideal
        if lo > hi:
            msg = f"ideal range [{lo:g}, {hi:g}] must be given low first"
            raise ValueError(msg)
        if not self.worst_below < lo:
            msg = f"worst_below ({self.worst_below:g}) must be smaller than the ideal ({lo:g})"
            raise ValueError(msg)
        if not self.worst_above > hi:
            msg = f"worst_above ({self.worst_above:g}) must be larger than the ideal ({hi:g})"
            raise ValueError(msg)
        return self

    @property
    def centre(self) -> float:
        """Middle of the ideal range."""
        return (self.ideal[0] + self.ideal[1]) / 2.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x``."""
        x = np.asarray(x, dtype=float)
        lo, hi = self.ideal
        below = (x - self.worst_below) / (lo - self.worst_below)
        above = (self.worst_above - x) / (self.worst_above - hi)
        return np.clip(np.minimum(below, above), 0.0, 1.0)

    def width(self) -> float:
        """Half the distance between the two worst points."""
        return (self.worst_above - self.worst_below) / 2.0

    def perturbed_input(self, x: np.ndarray, delta: np.ndarray | float) -> np.ndarray:
        """Stretch around the ideal's centre by ``1 + delta`` (tolerances widen or narrow)."""
        x = np.asarray(x, dtype=float)
        return self.centre + (x - self.centre) / (1.0 + np.asarray(delta, dtype=float))

    def describe(self) -> str:
        """Explain for reports."""
        lo, hi = self.ideal
        best = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
        return f"ideaal: 1 bij {best}, 0 bij {self.worst_below:g} en bij {self.worst_above:g}"


class Categories(_Base):
    """A value per category of a text column (zoning, police advice, owner type).

    Categories not listed get ``other``; an empty cell counts as missing. Numbers in
    the column are matched by their text (``1.0`` as ``"1"``). Categorical criteria
    have no thresholds, so the sensitivity analysis perturbs only their weight.

    >>> import numpy as np
    >>> f = Categories(values={"maatschappelijk": 1.0, "wonen": 0.7}, other=0.2)
    >>> f(np.array(["wonen", "bedrijventerrein", None], dtype=object)).tolist()
    [0.7, 0.2, nan]
    """

    type: Literal["categories"] = "categories"
    values: dict[str, float] = Field(min_length=1)
    other: float = Field(default=0.0, ge=0, le=1)

    @field_validator("values")
    @classmethod
    def _unit(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not 0.0 <= x <= 1.0}
        if bad:
            msg = f"values must lie between 0 and 1, got {bad}"
            raise ValueError(msg)
        return v

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` (text or numbers; None/NaN stays NaN)."""
        out = np.empty(len(np.atleast_1d(x)))
        for i, v in enumerate(np.atleast_1d(np.asarray(x, dtype=object))):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                out[i] = np.nan
                continue
            key = f"{v:g}" if isinstance(v, float) else str(v)
            out[i] = self.values.get(key.strip(), self.other)
        return out

    def width(self) -> float:
        """No thresholds: 0."""
        return 0.0

    def perturbed_input(self, x: np.ndarray, delta: np.ndarray | float) -> np.ndarray:
        """Unchanged: categories have no thresholds."""
        return np.asarray(x)

    def describe(self) -> str:
        """Explain for reports."""
        vals = ", ".join(f"{k} {v:g}" for k, v in self.values.items())
        return f"categorieën: {vals}; anders {self.other:g}"


ValueFunction = Annotated[Linear | Step | Logistic | Decay | Ideal | Categories, Field(discriminator="type")]

#: Names of the function types, for error messages and docs.
FUNCTION_TYPES = ("linear", "step", "logistic", "decay", "ideal", "categories")
