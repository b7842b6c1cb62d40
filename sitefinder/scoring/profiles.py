"""Target-group profiles: criteria, weights and hard constraints, read from TOML files.

Built-in profiles live in ``sitefinder/profiles/<name>.toml``. A user adds one by
writing a file of the same form and passing its path; no code needed. A profile
holds

* ``[[criterion]]`` tables: an indicator column, a value function and a weight;
* optionally an ``[ahp]`` table: a pairwise-comparison matrix from which the weights
  are derived instead (then criteria carry no ``weight``);
* ``[[constraint]]`` tables: hard conditions on any indicator or plot attribute, or
  on a declared vector layer (``layer = "groenblauw"``, ``relation = "outside"``);
* ``[[layer]]`` tables: vector files (a green-blue network, existing facilities) that
  the load stage overlays on the plots, giving columns ``share_in_<name>``,
  ``in_<name>``, ``dist_<name>_straight_m`` and ``n_<name>_straight_<d>m``;
* an optional ``[sensitivity]`` table: Monte Carlo settings;
* an optional top-level ``max_share_not_evaluable`` (default 0.3): a plot whose
  criteria that the data cannot judge carry more than this share of the weight is
  not ranked ("onvoldoende gegevens"; see :mod:`sitefinder.coverage`).
"""

from __future__ import annotations

import logging
import operator
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sitefinder.config import LayerSpec, snake_name
from sitefinder.errors import ConfigError, UnknownNameError
from sitefinder.io.paths import read_toml_text
from sitefinder.presets import builtin_names
from sitefinder.scoring.ahp import AHPResult, ahp_weights, check_matrix, parse_entry
from sitefinder.scoring.functions import FUNCTION_TYPES, ValueFunction

log = logging.getLogger(__name__)


def _isin(a: Any, b: Any) -> bool:
    return a in b


def _notin(a: Any, b: Any) -> bool:
    return a not in b


OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne, "in": _isin, "not in": _notin,
}  # fmt: skip
_ORDERING = (">=", ">", "<=", "<")

#: A plot is not ranked when its not-evaluable criteria (the data do not reach far
#: enough, or no noise data) carry more than this share of the profile's weight. With
#: more than 30 % of the weight unjudged a score says more about the edge of the data
#: than about the plot, and the other criteria would each weigh over 40 % more than the
#: profile intends. An assumption; a profile sets its own ``max_share_not_evaluable``.
DEFAULT_MAX_SHARE_NOT_EVALUABLE = 0.3


class Criterion(BaseModel):
    """A scored criterion: an indicator, a value function and a weight.

    ``weight`` is left out when the profile derives its weights from an ``[ahp]`` table.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str
    label: str
    indicator: str
    weight: float | None = Field(default=None, ge=0)
    function: ValueFunction
    missing: Literal["worst", "best"] = "worst"
    source: str = ""

    _check_name = field_validator("name")(snake_name)


class Constraint(BaseModel):
    """A hard condition; a plot that fails it is excluded with ``reason``.

    Either a comparison of a column with a value (``indicator``, ``op``, ``value``;
    ``op`` may be ``in``/``not in`` with a list) or a relation to a declared layer
    (``layer``, ``relation = "inside"|"outside"``, optional ``share``): outside means at
    most ``share`` (default 0) of the plot's area lies in the layer; inside means at
    least ``share`` (default 1).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    indicator: str
    op: Literal[">=", ">", "<=", "<", "==", "!=", "in", "not in"]
    value: bool | float | str | tuple[float | str, ...]
    reason: str
    source: str = ""
    missing: Literal["fail", "pass"] = "fail"
    layer: str | None = None
    relation: Literal["inside", "outside"] | None = None
    share: float | None = Field(default=None, ge=0, le=1)
    #: Noise limits only: on modelled noise a plot is excluded only beyond the limit by more
    #: than this (dB), the model's stated uncertainty (sitefinder.scoring.noiserule).
    modelled_margin_db: float = Field(default=3.0, ge=0, le=20)
    #: Noise limits only: true when the limit applies to official noise maps alone.
    official_only: bool = False

    @model_validator(mode="before")
    @classmethod
    def _layer_sugar(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("layer") is None:
            return data
        if "indicator" in data or "op" in data or "value" in data:
            msg = "give either layer/relation or indicator/op/value, not both"
            raise ValueError(msg)
        relation = data.get("relation")
        if relation not in ("inside", "outside"):
            msg = f"relation must be 'inside' or 'outside' for a layer constraint, got {relation!r}"
            raise ValueError(msg)
        share = data.get("share")
        default = 0.0 if relation == "outside" else 1.0
        return {
            **data,
            "indicator": f"share_in_{data['layer']}",
            "op": "<=" if relation == "outside" else ">=",
            "value": float(default if share is None else share),
        }

    @model_validator(mode="after")
    def _value_fits_op(self) -> Constraint:
        is_list = isinstance(self.value, tuple)
        if self.op in ("in", "not in") and not is_list:
            msg = f'op {self.op!r} needs a list value, e.g. value = ["gemeente", "provincie"]'
            raise ValueError(msg)
        if self.op not in ("in", "not in") and is_list:
            msg = f"a list value needs op 'in' or 'not in', got op {self.op!r}"
            raise ValueError(msg)
        if self.op in _ORDERING and (isinstance(self.value, bool) or not isinstance(self.value, float)):
            msg = f"op {self.op!r} compares numbers; value {self.value!r} is not a number"
            raise ValueError(msg)
        return self

    def describe(self) -> str:
        """The condition as text, e.g. ``area_m2 >= 10000`` or ``outside layer groenblauw``."""
        value: object = list(self.value) if isinstance(self.value, tuple) else self.value
        if isinstance(value, float) and not isinstance(value, bool):
            value = f"{value:g}"
        cond = f"{self.indicator} {self.op} {value}"
        if self.layer is not None:
            return f"{self.relation} layer {self.layer} ({cond})"
        return cond


class AHPTable(BaseModel):
    """A pairwise-comparison table: ``matrix[i][j]`` = importance of ``criteria[i]`` over ``criteria[j]``.

    Entries are numbers or fractions as text (``"1/3"``) on Saaty's 1-9 scale.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    criteria: tuple[str, ...] = Field(min_length=2)
    matrix: tuple[tuple[float, ...], ...]
    max_cr: float = Field(default=0.1, gt=0)
    source: str = ""

    @field_validator("matrix", mode="before")
    @classmethod
    def _entries(cls, v: Any) -> Any:
        if not isinstance(v, list | tuple) or not all(isinstance(r, list | tuple) for r in v):
            msg = 'must be a list of rows, e.g. [[1, 3], ["1/3", 1]]'
            raise ValueError(msg)
        out = []
        for i, row in enumerate(v, start=1):
            try:
                out.append(tuple(parse_entry(x) for x in row))
            except ValueError as exc:
                msg = f"row {i}: {exc}"
                raise ValueError(msg) from None
        return tuple(out)

    @field_validator("criteria")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        dup = {c for c in v if v.count(c) > 1}
        if dup:
            msg = f"repeated {', '.join(sorted(dup))}"
            raise ValueError(msg)
        return v

    @field_validator("matrix")
    @classmethod
    def _square(cls, v: tuple[tuple[float, ...], ...], info: ValidationInfo) -> tuple[tuple[float, ...], ...]:
        criteria = info.data.get("criteria")
        if criteria is not None:
            check_matrix(v, len(criteria))
        return v

    def result(self) -> AHPResult:
        """Weights (in ``criteria`` order) and consistency."""
        return ahp_weights(self.matrix)


class SensitivitySettings(BaseModel):
    """Monte Carlo settings for the rank intervals and top-k probabilities.

    Attributes
    ----------
    draws : int
        Number of draws (0 switches the analysis off).
    seed : int
        Seed of the random generator: the same seed gives the same intervals.
    weights : {"uniform", "dirichlet", "none"}
        ``uniform``: each weight times ``1 + U(-weight_spread, weight_spread)``;
        ``dirichlet``: weights drawn from a Dirichlet distribution centred on the
        profile's weights with ``dirichlet_concentration``; ``none``: fixed.
    weight_spread : float
        Relative half-range of the uniform weight perturbation (0.2 = ±20 %).
    dirichlet_concentration : float
        Sum of the Dirichlet parameters; larger is tighter (50: a weight of 0.2 has a
        standard deviation of about 0.056).
    threshold_spread : float
        Relative perturbation of the value functions' thresholds (see
        :meth:`~sitefinder.scoring.functions._Base.perturbed_input`); 0 keeps them fixed.
    top_k : int
        ``k`` of the ``p_top<k>_<profile>`` column.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    draws: int = Field(default=1000, ge=0, le=100_000)
    seed: int = Field(default=0, ge=0)
    weights: Literal["uniform", "dirichlet", "none"] = "uniform"
    weight_spread: float = Field(default=0.2, ge=0, lt=1)
    dirichlet_concentration: float = Field(default=50.0, gt=0)
    threshold_spread: float = Field(default=0.1, ge=0, lt=1)
    top_k: int = Field(default=5, ge=1)


class Profile(BaseModel):
    """A target-group profile."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)

    name: str
    title: str
    description: str = ""
    criteria: tuple[Criterion, ...] = Field(min_length=1, alias="criterion")
    constraints: tuple[Constraint, ...] = Field(default=(), alias="constraint")
    layers: tuple[LayerSpec, ...] = Field(default=(), alias="layer")
    ahp: AHPTable | None = None
    sensitivity: SensitivitySettings = SensitivitySettings()
    max_share_not_evaluable: float = Field(default=DEFAULT_MAX_SHARE_NOT_EVALUABLE, ge=0, le=1)
    #: How the group moves (:mod:`sitefinder.mobility`): its network and speed.
    mobility: Literal["walk", "wheelchair"] = "walk"
    source_file: str = ""

    _check_name = field_validator("name")(snake_name)

    @model_validator(mode="after")
    def _weights(self) -> Profile:
        names = [c.name for c in self.criteria]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            msg = f"criterion names must be unique; repeated: {', '.join(sorted(dup))}"
            raise ValueError(msg)
        if self.ahp is not None:
            given = [c.name for c in self.criteria if c.weight is not None]
            if given:
                msg = (
                    f"ahp: the weights come from the [ahp] table, but criteria {', '.join(given)} "
                    "also give a weight; remove one of the two"
                )
                raise ValueError(msg)
            if set(self.ahp.criteria) != set(names):
                missing = sorted(set(names) - set(self.ahp.criteria))
                extra = sorted(set(self.ahp.criteria) - set(names))
                msg = (
                    f"ahp.criteria must name every criterion once; missing: {', '.join(missing) or '-'}; "
                    f"not a criterion: {', '.join(extra) or '-'}"
                )
                raise ValueError(msg)
        else:
            unweighted = [c.name for c in self.criteria if c.weight is None]
            if unweighted:
                msg = (
                    f"criteria {', '.join(unweighted)} have no weight; give each a weight "
                    "or derive all weights from an [ahp] table"
                )
                raise ValueError(msg)
            if sum(c.weight or 0.0 for c in self.criteria) <= 0:
                msg = "all criterion weights are zero; give at least one criterion a positive weight"
                raise ValueError(msg)
        declared = [lay.name for lay in self.layers]
        dup = {n for n in declared if declared.count(n) > 1}
        if dup:
            msg = f"layer names must be unique; repeated: {', '.join(sorted(dup))}"
            raise ValueError(msg)
        for i, con in enumerate(self.constraints, start=1):
            if con.layer is not None and con.layer not in declared:
                msg = (
                    f"constraint #{i} refers to layer {con.layer!r}, which is not declared; add a "
                    f"[[layer]] with name = {con.layer!r} and the path of its file"
                )
                raise ValueError(msg)
        return self

    def weights(self) -> dict[str, float]:
        """Weight of each criterion, normalised to sum to 1 (direct or from the AHP table)."""
        if self.ahp is not None:
            res = self.ahp.result()
            by_name = dict(zip(self.ahp.criteria, res.weights.tolist(), strict=True))
            return {c.name: by_name[c.name] for c in self.criteria}
        total = sum(c.weight or 0.0 for c in self.criteria)
        return {c.name: (c.weight or 0.0) / total for c in self.criteria}

    def ahp_result(self) -> AHPResult | None:
        """Weights and consistency of the AHP table, when the profile has one."""
        return self.ahp.result() if self.ahp is not None else None

    @classmethod
    def load(cls, name_or_path: str | Path) -> Profile:
        """A built-in profile by name (``"senioren"``) or a profile file by path (see :func:`load_profile`)."""
        return load_profile(name_or_path)

    def with_weights(self, weights: Mapping[str, float] | None = None, /, **by_name: float) -> Profile:
        """A copy with other criterion weights; criteria not named keep their weight.

        Weights are relative (they are normalised to sum to 1). A profile whose
        weights came from an ``[ahp]`` table gets direct weights: the table's for the
        criteria not named.

        Parameters
        ----------
        weights : mapping of str to float, optional
            Criterion name to weight.
        **by_name : float
            The same, as keyword arguments.

        Raises
        ------
        UnknownNameError
            When a name is not a criterion of the profile (the message lists them).
        ConfigError
            When the new weights are invalid (negative, or all zero).

        Examples
        --------
        >>> p = Profile.load("senioren")
        >>> name = p.criteria[0].name
        >>> q = p.with_weights({name: 0})
        >>> q.weights()[name], round(sum(q.weights().values()), 6)
        (0.0, 1.0)
        """
        new = {**(weights or {}), **by_name}
        names = [c.name for c in self.criteria]
        unknown = [n for n in new if n not in names]
        if unknown:
            msg = (
                f"profile {self.name}: no criterion {', '.join(map(repr, unknown))}; "
                f"criteria: {', '.join(names)}"
            )
            raise UnknownNameError(msg)
        current = self.weights() if self.ahp is not None else {c.name: c.weight or 0.0 for c in self.criteria}
        try:
            criteria = [
                type(c).model_validate(
                    {
                        **{k: getattr(c, k) for k in type(c).model_fields},
                        "weight": new.get(c.name, current[c.name]),
                    }
                )
                for c in self.criteria
            ]
            data = {
                **{k: getattr(self, k) for k in type(self).model_fields},
                "criteria": criteria,
                "ahp": None,
            }
            return type(self).model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            msg = f"profile {self.name}: weights {new}: {loc}: {err['msg'].removeprefix('Value error, ')}"
            raise ConfigError(msg) from None


_TABLE_ARRAYS = ("criterion", "constraint", "layer")


def _format_error(exc: ValidationError, raw: dict[str, Any]) -> str:
    err = exc.errors()[0]
    loc = list(err["loc"])
    parts: list[str] = []
    for i, p in enumerate(loc):
        if isinstance(p, int) and i > 0 and loc[i - 1] in _TABLE_ARRAYS:
            items = raw.get(str(loc[i - 1]), [])
            item = items[p] if p < len(items) and isinstance(items[p], dict) else {}
            nm = item.get("name") or item.get("indicator") or item.get("layer")
            parts[-1] = f"[[{loc[i - 1]}]] #{p + 1}" + (f" ({nm})" if nm else "")
        elif p in FUNCTION_TYPES or (isinstance(p, str) and p.startswith("function-")):
            continue
        elif isinstance(p, int) and i > 0 and loc[i - 1] == "matrix":
            parts.append(f"row {p + 1}")
        else:
            parts.append(str(p))
    where = ".".join(parts) if parts else "(top level)"
    m = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        m = f"unknown key {loc[-1]!r}; check the spelling (see 'sitefinder profiles show prikkelarm')"
    elif err["type"] == "greater_than_equal":
        m = f"must be >= {err.get('ctx', {}).get('ge', 0)}, got {err.get('input')}"
    elif err["type"] == "union_tag_invalid":
        m = f"unknown function type {err.get('input', {}).get('type')!r}; use one of {', '.join(FUNCTION_TYPES)}"
    return f"{where}: {m}"


def parse_profile(text: str, source: str, base_dir: Path | None = None) -> Profile:
    """Parse and validate a profile from TOML text; errors name ``source`` and the key.

    Parameters
    ----------
    text : str
        The TOML text.
    source : str
        Where it came from (a path, or ``built-in profile NAME``), for messages.
    base_dir : pathlib.Path, optional
        Folder that relative ``[[layer]]`` paths are resolved against (the profile
        file's folder); default the current folder.

    Raises
    ------
    ConfigError
        Naming ``source`` and the key, for any invalid content.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"profile file {source}: not valid TOML ({exc}); fix the syntax"
        raise ConfigError(msg) from None
    try:
        prof = Profile(**raw, source_file=source)
    except ValidationError as exc:
        msg = f"profile file {source}: {_format_error(exc, raw)}"
        raise ConfigError(msg) from None
    except TypeError as exc:
        msg = f"profile file {source}: {exc}"
        raise ConfigError(msg) from None
    if prof.layers and base_dir is not None:
        layers = tuple(
            lay if lay.path.is_absolute() else lay.model_copy(update={"path": base_dir / lay.path})
            for lay in prof.layers
        )
        prof = prof.model_copy(update={"layers": layers})
    try:
        res = prof.ahp_result()
    except ValueError as exc:
        msg = f"profile file {source}: [ahp] {exc}"
        raise ConfigError(msg) from None
    if res is not None and prof.ahp is not None and res.cr > prof.ahp.max_cr:
        log.warning(
            "profile file %s: the [ahp] judgements are inconsistent: consistency ratio %.3f > %.2f "
            "(Saaty); the weights are used, but revise the pairwise comparisons",
            source, res.cr, prof.ahp.max_cr,
        )  # fmt: skip
    return prof


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a built-in profile by name, or a profile file by path.

    Raises
    ------
    UnknownNameError
        When ``name_or_path`` is neither a built-in name nor an existing file;
        the message lists the built-in names.
    ConfigError
        When the file is invalid (unknown keys, negative weights, all weights zero,
        an AHP table that is not square, positive and reciprocal, ...).
    """
    text_arg = str(name_or_path)
    path = Path(text_arg)
    if text_arg.endswith(".toml") or path.exists():
        if not path.is_file():
            msg = f"profile file {path}: no such file; check the path"
            raise UnknownNameError(msg)
        text = read_toml_text(path, "profile file")
        return parse_profile(text, str(path), base_dir=path.resolve().parent)
    if text_arg not in builtin_names():
        msg = f"unknown profile {text_arg!r}; built-in profiles: {', '.join(builtin_names())} (or give the path of a .toml profile file)"
        raise UnknownNameError(msg)
    res = resources.files("sitefinder").joinpath(f"profiles/{text_arg}.toml")
    return parse_profile(res.read_text("utf-8"), f"built-in profile {text_arg}")


def declared_layers(profiles: list[Profile]) -> list[LayerSpec]:
    """The distinct layers the profiles declare.

    Raises
    ------
    ConfigError
        When two profiles declare the same layer name for different files.
    """
    seen: dict[str, tuple[LayerSpec, str]] = {}
    for prof in profiles:
        for spec in prof.layers:
            if spec.name in seen:
                other, where = seen[spec.name]
                if (Path(other.path).resolve(), other.layer) != (Path(spec.path).resolve(), spec.layer):
                    msg = (
                        f"profile file {prof.source_file}: layer {spec.name!r} is {spec.path}, but "
                        f"{where} declares it as {other.path}; give one of them another name"
                    )
                    raise ConfigError(msg)
                continue
            seen[spec.name] = (spec, f"profile file {prof.source_file}")
    return [s for s, _ in seen.values()]


#: How a manifest names a built-in profile's source (``built-in profile senioren``).
BUILTIN_SOURCE = "built-in profile "


def profile_from_source(source: str) -> Profile:
    """The profile a run's manifest names as its ``source``: a built-in name or a file path.

    >>> profile_from_source("built-in profile senioren").name
    'senioren'

    Raises
    ------
    ConfigError, UnknownNameError
        When the file is gone or invalid, or the built-in profile does not exist.
    """
    return load_profile(source.removeprefix(BUILTIN_SOURCE) if source.startswith("built-in") else source)
