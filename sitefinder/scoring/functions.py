"""Value functions: turn an indicator value (metres, dB, m²) into a value from 0 (worst) to 1 (best).

Each function is a frozen pydantic model with a ``type`` tag, so a profile file names
it as ``function = { type = "linear", best = 48, worst = 58 }``. Parameters are
validated when the profile is loaded.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Base(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` (NaN stays NaN)."""
        raise NotImplementedError

    def describe(self) -> str:
        """One-line explanation for reports."""
        raise NotImplementedError


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
            msg = f"best and worst are both {self.best}; they must differ"
            raise ValueError(msg)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x``."""
        x = np.asarray(x, dtype=float)
        return np.clip((x - self.worst) / (self.best - self.worst), 0.0, 1.0)

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
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x``."""
        x = np.asarray(x, dtype=float)
        idx = np.searchsorted(np.asarray(self.thresholds), x, side="right")
        out = np.asarray(self.values, dtype=float)[np.clip(idx, 0, len(self.values) - 1)]
        return np.where(np.isnan(x), np.nan, out)

    def describe(self) -> str:
        """Explain for reports."""
        edges = ", ".join(f"{t:g}" for t in self.thresholds)
        vals = ", ".join(f"{v:g}" for v in self.values)
        return f"stappen bij {edges}: waarden {vals}"


ValueFunction = Annotated[Linear | Step, Field(discriminator="type")]
