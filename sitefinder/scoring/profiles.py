"""Target-group profiles: criteria, weights and hard constraints, read from TOML files.

Built-in profiles live in ``sitefinder/profiles/<name>.toml``. A user adds one by
writing a file of the same form and passing its path; no code needed.
"""

from __future__ import annotations

import logging
import operator
import re
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sitefinder.errors import ConfigError, UnknownNameError
from sitefinder.scoring.functions import ValueFunction

log = logging.getLogger(__name__)

OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Criterion(BaseModel):
    """A scored criterion: an indicator, a value function and a weight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    label: str
    indicator: str
    weight: float = Field(ge=0)
    function: ValueFunction
    missing: Literal["worst", "best"] = "worst"
    source: str = ""

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not _NAME.match(v):
            msg = f"name {v!r} must be lower case letters, digits and _ (it becomes a column name)"
            raise ValueError(msg)
        return v


class Constraint(BaseModel):
    """A hard condition; a plot that fails it is excluded with ``reason``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator: str
    op: Literal[">=", ">", "<=", "<", "==", "!="]
    value: float | str | bool
    reason: str
    source: str = ""
    missing: Literal["fail", "pass"] = "fail"

    def describe(self) -> str:
        """The condition as text, e.g. ``area_m2 >= 10000``."""
        return f"{self.indicator} {self.op} {self.value}"


class Profile(BaseModel):
    """A target-group profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    title: str
    description: str = ""
    criteria: tuple[Criterion, ...] = Field(min_length=1, alias="criterion")
    constraints: tuple[Constraint, ...] = Field(default=(), alias="constraint")
    source_file: str = ""

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not _NAME.match(v):
            msg = f"name {v!r} must be lower case letters, digits and _ (it becomes a column name)"
            raise ValueError(msg)
        return v

    @model_validator(mode="after")
    def _weights(self) -> Profile:
        if sum(c.weight for c in self.criteria) <= 0:
            msg = "all criterion weights are zero; give at least one criterion a positive weight"
            raise ValueError(msg)
        names = [c.name for c in self.criteria]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            msg = f"criterion names must be unique; repeated: {', '.join(sorted(dup))}"
            raise ValueError(msg)
        return self


def builtin_names() -> list[str]:
    """Names of the built-in profiles."""
    folder = resources.files("sitefinder").joinpath("profiles")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def _format_error(exc: ValidationError, raw: dict[str, Any]) -> str:
    err = exc.errors()[0]
    loc = list(err["loc"])
    parts: list[str] = []
    for i, p in enumerate(loc):
        if isinstance(p, int) and i > 0 and loc[i - 1] in ("criterion", "constraint"):
            items = raw.get(str(loc[i - 1]), [])
            nm = items[p].get("name") or items[p].get("indicator") if p < len(items) else None
            parts[-1] = f"[[{loc[i - 1]}]] #{p + 1}" + (f" ({nm})" if nm else "")
        elif p in ("linear", "step"):
            continue
        else:
            parts.append(str(p))
    where = ".".join(parts) if parts else "(top level)"
    m = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        m = f"unknown key {loc[-1]!r}; check the spelling (see 'sitefinder profiles show prikkelarm')"
    elif err["type"] == "greater_than_equal":
        m = f"must be >= 0, got {err.get('input')}"
    return f"{where}: {m}"


def parse_profile(text: str, source: str) -> Profile:
    """Parse and validate a profile from TOML text; errors name ``source`` and the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"profile file {source}: not valid TOML ({exc}); fix the syntax"
        raise ConfigError(msg) from None
    try:
        return Profile(**raw, source_file=source)
    except ValidationError as exc:
        msg = f"profile file {source}: {_format_error(exc, raw)}"
        raise ConfigError(msg) from None
    except TypeError as exc:
        msg = f"profile file {source}: {exc}"
        raise ConfigError(msg) from None


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a built-in profile by name, or a profile file by path.

    Raises
    ------
    UnknownNameError
        When ``name_or_path`` is neither a built-in name nor an existing file;
        the message lists the built-in names.
    ConfigError
        When the file is invalid (unknown keys, negative weights, all weights zero, ...).
    """
    text_arg = str(name_or_path)
    path = Path(text_arg)
    if text_arg.endswith(".toml") or path.exists():
        if not path.is_file():
            msg = f"profile file {path}: no such file; check the path"
            raise UnknownNameError(msg)
        return parse_profile(path.read_text("utf-8"), str(path))
    if text_arg not in builtin_names():
        msg = f"unknown profile {text_arg!r}; built-in profiles: {', '.join(builtin_names())} (or give the path of a .toml profile file)"
        raise UnknownNameError(msg)
    res = resources.files("sitefinder").joinpath(f"profiles/{text_arg}.toml")
    return parse_profile(res.read_text("utf-8"), f"built-in profile {text_arg}")
