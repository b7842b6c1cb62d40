"""Property-based tests (Hypothesis): whatever a user writes in a profile, category, region or
value-function table, sitefinder either accepts it with sound results or refuses it with one
:class:`~sitefinder.errors.SitefinderError` line - never another exception.

The generated documents mix plausible values with the awkward ones reviewers found
(NaN, inf, negative and huge numbers, empty lists, booleans where text is expected,
names with ``../`` or spaces, non-UTF-8 bytes). Examples are kept modest so the suite
stays fast; a failure prints the smallest document that breaks the rule.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from sitefinder.categories import load_categories
from sitefinder.errors import SitefinderError
from sitefinder.io.paths import SAFE_COLUMN_NAME, SAFE_NAME
from sitefinder.regions import load_region
from sitefinder.scoring.functions import Categories, ValueFunction
from sitefinder.scoring.profiles import parse_profile

SETTINGS = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# --- a small TOML writer for the generated documents ----------------------------------------------


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else _scalar(k)


def to_toml(doc: dict[str, Any]) -> str:
    """TOML for a document of scalars, inline tables, tables and arrays of tables."""
    lines = [f"{_key(k)} = {_scalar(v)}" for k, v in doc.items() if not isinstance(v, dict | list) or
             (isinstance(v, list) and not (v and all(isinstance(x, dict) for x in v)))]  # fmt: skip
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{_key(k)}]")
            lines += [f"{_key(a)} = {_scalar(b)}" for a, b in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines.append(f"[[{_key(k)}]]")
                lines += [f"{_key(a)} = {_scalar(b)}" for a, b in item.items()]
    return "\n".join(lines) + "\n"


# --- strategies -------------------------------------------------------------------------------------

awkward_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e308, -1e308, 5e-324, 0.5, 100.0, 1500.0]),
)
numbers = st.one_of(awkward_floats, st.integers(-(10**20), 10**20))
names = st.one_of(
    st.sampled_from(
        ["supermarket", "gp", "stilte", "a", "x_1", "dist", "../../x", "Super Markt", "", "é", "a" * 70]
    ),
    st.text(min_size=0, max_size=12),
)
indicators = st.sampled_from(
    [
        "dist_supermarket_m",
        "dist_gp_m",
        "noise_lden_mean_db",
        "area_m2",
        "naam",
        "n_gp_500m",
        "dist_nope_m",
        "",
    ]
)


def functions() -> st.SearchStrategy[dict[str, Any]]:
    linear = st.fixed_dictionaries({"type": st.just("linear"), "best": numbers, "worst": numbers})
    step = st.fixed_dictionaries(
        {
            "type": st.just("step"),
            "thresholds": st.lists(numbers, max_size=4),
            "values": st.lists(numbers, max_size=5),
        }
    )
    logistic = st.fixed_dictionaries(
        {
            "type": st.just("logistic"),
            "mid": numbers,
            "width": numbers,
            "better": st.sampled_from(["lower", "higher", "x"]),
        }
    )
    decay = st.fixed_dictionaries(
        {"type": st.just("decay"), "half": numbers, "start": numbers,
         "shape": st.sampled_from(["exponential", "gaussian", "linear"])}
    )  # fmt: skip
    ideal = st.fixed_dictionaries(
        {"type": st.just("ideal"), "ideal": st.lists(numbers, min_size=0, max_size=3), "worst_below": numbers,
         "worst_above": numbers}
    )  # fmt: skip
    cats = st.fixed_dictionaries(
        {"type": st.just("categories"), "values": st.dictionaries(st.text(max_size=5), numbers, max_size=3),
         "other": numbers}
    )  # fmt: skip
    other = st.fixed_dictionaries({"type": st.sampled_from(["spline", "", "LINEAR"])})
    return st.one_of(linear, step, logistic, decay, ideal, cats, other)


def criteria() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"name": names, "label": st.text(max_size=10), "indicator": indicators, "function": functions()},
        optional={"weight": numbers, "missing": st.sampled_from(["worst", "best", "zero"])},
    )


def constraints() -> st.SearchStrategy[dict[str, Any]]:
    value = st.one_of(numbers, st.text(max_size=5), st.booleans(), st.lists(st.text(max_size=4), max_size=3))
    return st.fixed_dictionaries(
        {"indicator": indicators, "op": st.sampled_from([">=", "<", "==", "in", "not in", "=>", ""]),
         "value": value, "reason": st.text(max_size=10)},
    )  # fmt: skip


def plausible_profiles() -> st.SearchStrategy[dict[str, Any]]:
    """Profiles a user would write, with finite numbers: most of them are accepted."""
    finite = st.floats(-5000, 5000, allow_nan=False)
    fn = st.one_of(
        st.fixed_dictionaries({"type": st.just("linear"), "best": finite, "worst": finite}),
        st.fixed_dictionaries({"type": st.just("decay"), "half": st.floats(1, 5000), "start": st.floats(0, 500)}),
        st.fixed_dictionaries(
            {"type": st.just("logistic"), "mid": finite, "width": st.floats(0.1, 1000),
             "better": st.sampled_from(["lower", "higher"])}
        ),
    )  # fmt: skip
    crit = st.fixed_dictionaries(
        {"name": st.sampled_from(["super", "huisarts", "stilte", "groen", "ov"]), "label": st.text(max_size=10),
         "indicator": st.sampled_from(["dist_supermarket_m", "dist_gp_m", "noise_lden_mean_db", "area_m2"]),
         "weight": st.floats(0.01, 100), "function": fn}
    )  # fmt: skip
    return st.fixed_dictionaries(
        {"name": st.sampled_from(["p", "stil", "levendig_2"]), "title": st.text(min_size=1, max_size=10),
         "criterion": st.lists(crit, min_size=1, max_size=4, unique_by=lambda c: c["name"])},
        optional={"sensitivity": st.fixed_dictionaries({"seed": st.integers(0, 2**31)})},
    )  # fmt: skip


def spoiled(doc: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    """``doc`` with one criterion field (or the first criterion's function parameter) replaced."""
    crit = [dict(c) for c in doc["criterion"]]
    if where in ("weight", "indicator", "name"):
        crit[0][where] = value
    else:
        fn = dict(crit[0]["function"])
        key = next((k for k in fn if k != "type"), "type")
        fn[key] = value
        crit[0]["function"] = fn
    return {**doc, "criterion": crit}


def profiles() -> st.SearchStrategy[dict[str, Any]]:
    mutated = st.builds(
        spoiled, plausible_profiles(), st.sampled_from(["weight", "indicator", "name", "function"]),
        st.one_of(awkward_floats, names),
    )  # fmt: skip
    return st.one_of(plausible_profiles(), mutated, wild_profiles())


def wild_profiles() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "name": names,
            "title": st.text(max_size=10),
            "criterion": st.lists(criteria(), min_size=0, max_size=4),
        },
        optional={
            "constraint": st.lists(constraints(), min_size=1, max_size=2),
            "sensitivity": st.fixed_dictionaries(
                {}, optional={"seed": st.integers(-5, 2**70), "draws": numbers}
            ),
            "max_share_not_evaluable": numbers,
        },
    )


# --- properties -------------------------------------------------------------------------------------


@SETTINGS
@given(doc=profiles())
def test_any_profile_is_accepted_soundly_or_refused_in_one_line(doc: dict[str, Any]) -> None:
    text = to_toml(doc)
    assert isinstance(tomllib.loads(text), dict)  # the writer makes valid TOML
    try:
        prof = parse_profile(text, "fuzz.toml")
    except SitefinderError as exc:
        msg = str(exc)
        assert msg.startswith("profile file fuzz.toml") and "\n" not in msg and len(msg) < 600, msg
        return
    weights = prof.weights()
    assert all(math.isfinite(w) and w >= 0 for w in weights.values()), weights
    assert abs(sum(weights.values()) - 1.0) < 1e-9
    x = np.array([-1e6, -1.0, 0.0, 10.0, 250.0, 1000.0, 1e6])
    for c in prof.criteria:
        assert SAFE_COLUMN_NAME.fullmatch(c.name) or c.name.replace("_", "").isalnum()
        if not isinstance(c.function, Categories):
            u = np.asarray(c.function(x), dtype=float)
            assert np.all((u >= 0) & (u <= 1)), (c.function, u)
    for k in prof.constraints:
        if isinstance(k.value, float):
            assert math.isfinite(k.value)


@SETTINGS
@given(fn=functions(), xs=st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=20))
# Found by this test: a finite mid near the float limit overflowed (a RuntimeWarning) before the clip.
@example(fn={"type": "logistic", "mid": 4.090827021973623e307, "width": 1.0, "better": "lower"}, xs=[0.0])
def test_value_functions_map_finite_inputs_into_0_1(fn: dict[str, Any], xs: list[float]) -> None:
    try:
        f = TypeAdapter(ValueFunction).validate_python(fn)
    except (ValidationError, ValueError):
        return
    u = np.asarray(
        f(np.array(["a", "", "x"], dtype=object)) if isinstance(f, Categories) else f(np.array(xs))
    )
    u = u.astype(float)
    assert np.all(np.isfinite(u)) and np.all((u >= 0) & (u <= 1)), (f, xs, u)


category_bodies = st.dictionaries(
    names,
    st.one_of(
        st.fixed_dictionaries(
            {"label": st.one_of(st.text(max_size=8), numbers),
             "match": st.lists(st.dictionaries(st.sampled_from(["shop", "amenity", "x y", ""]),
                                               st.one_of(st.booleans(), st.text(max_size=6),
                                                         st.lists(st.text(max_size=4), max_size=2)), max_size=2),
                               max_size=2)},
            optional={"min_area_m2": numbers, "merge_within_m": numbers},
        ),
        numbers,
    ),
    max_size=3,
)  # fmt: skip


@SETTINGS
@given(doc=category_bodies)
def test_any_categories_file_is_accepted_soundly_or_refused(doc: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "cats.toml"
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    path.write_text(to_toml({**scalars, **tables}), encoding="utf-8")
    try:
        reg = load_categories(path)
    except SitefinderError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc), str(exc)
        return
    for name in reg.names:
        assert SAFE_COLUMN_NAME.fullmatch(name), name
    tags = reg.osm_tags()
    assert all(v is True or (isinstance(v, list) and v) for v in tags.values()), tags


region_docs = st.fixed_dictionaries(
    {"name": names, "title": st.one_of(st.text(max_size=8), numbers)},
    optional={
        "osm": st.fixed_dictionaries(
            {},
            optional={
                "file": st.text(max_size=8),
                "geofabrik_url": st.sampled_from(
                    ["https://download.geofabrik.de/europe/x-latest.osm.pbf", "http://evil.example/x.osm.pbf",
                     "file:///etc/passwd", ""]
                ),
                "sample": st.fixed_dictionaries({}, optional={"seed": st.integers(-10, 10), "scale": numbers}),
            },
        ),
        "profiles": st.lists(st.text(max_size=6), max_size=2),
        "working_crs": st.sampled_from(["EPSG:28992", "EPSG:4326", "nonsense", ""]),
    },
)  # fmt: skip


@SETTINGS
@given(doc=region_docs, file_name=st.sampled_from(["polder", "../polder", "Polder", "po lder"]))
def test_any_region_file_is_accepted_soundly_or_refused(
    doc: dict[str, Any], file_name: str, tmp_path: Path
) -> None:
    regions = tmp_path / "regions"
    regions.mkdir(exist_ok=True)
    if SAFE_NAME.fullmatch(file_name):
        (regions / f"{file_name}.toml").write_text(to_toml(doc), encoding="utf-8")
    try:
        region = load_region(file_name, regions)
    except SitefinderError as exc:
        assert "\n" not in str(exc), str(exc)
        return
    assert SAFE_NAME.fullmatch(region.name)
    assert region.osm.sample is None or region.osm.sample.seed >= 0
    url = region.osm.geofabrik_url
    assert url is None or url.startswith("https://download.geofabrik.de/")


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200), kind=st.sampled_from(["profile", "categories", "region"]))
def test_any_bytes_as_a_toml_file(data: bytes, kind: str, tmp_path: Path) -> None:
    from sitefinder.scoring.profiles import load_profile

    folder = tmp_path / "b"
    folder.mkdir(exist_ok=True)
    path = folder / "polder.toml"
    path.write_bytes(data)
    try:
        if kind == "profile":
            load_profile(path)
        elif kind == "categories":
            load_categories(path)
        else:
            load_region("polder", folder)
    except SitefinderError as exc:
        assert "\n" not in str(exc), str(exc)


def test_the_toml_writer() -> None:
    doc = {"name": "p", "w": float("nan"), "t": {"a": [1, 2]}, "c": [{"x": "y"}]}
    back = tomllib.loads(to_toml(doc))
    assert (
        back["name"] == "p"
        and math.isnan(back["w"])
        and back["t"] == {"a": [1, 2]}
        and back["c"] == [{"x": "y"}]
    )


@pytest.mark.parametrize("bad", ['name = "p"\n[[criterion]]\nweight = nan\n'])
def test_a_known_bad_profile_is_refused(bad: str) -> None:
    with pytest.raises(SitefinderError):
        parse_profile(bad, "x.toml")
