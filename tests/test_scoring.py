"""Scoring: value functions, AHP weights, constraints, sensitivity, explanations, spread selection.

Everything here runs on small frames the tests build themselves (no geodata).
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from sitefinder.errors import ConfigError, UnknownNameError
from sitefinder.scoring.ahp import RANDOM_INDEX, ahp_weights
from sitefinder.scoring.explain import explain
from sitefinder.scoring.functions import Categories, Decay, Ideal, Linear, Logistic, Step
from sitefinder.scoring.profiles import SensitivitySettings, parse_profile
from sitefinder.scoring.score import score_profile
from sitefinder.scoring.sensitivity import min_ranks
from sitefinder.selection import conflict_pairs, greedy_spread, optimal_spread, select_plots

# --------------------------------------------------------------------------- value functions


def test_linear_at_known_points() -> None:
    f = Linear(best=48, worst=58)
    assert f(np.array([40.0, 48.0, 53.0, 58.0, 70.0])).tolist() == [1.0, 1.0, 0.5, 0.0, 0.0]
    more_is_better = Linear(best=10000, worst=2000)
    assert more_is_better(np.array([1000.0, 6000.0, 20000.0])).tolist() == [0.0, 0.5, 1.0]
    assert np.isnan(f(np.array([np.nan])))[0]


def test_step_at_known_points() -> None:
    f = Step(thresholds=[200, 400, 500], values=[1.0, 0.75, 0.4, 0.0])
    got = f(np.array([0.0, 199.9, 200.0, 399.0, 450.0, 500.0, 2000.0, np.nan]))
    assert got[:7].tolist() == [1.0, 1.0, 0.75, 0.75, 0.4, 0.0, 0.0]
    assert np.isnan(got[7])


def test_logistic_at_known_points() -> None:
    f = Logistic(mid=53, width=10)
    assert np.allclose(f(np.array([48.0, 53.0, 58.0])), [0.9, 0.5, 0.1])
    g = Logistic(mid=125, width=150, better="higher")
    assert np.allclose(g(np.array([50.0, 125.0, 200.0])), [0.1, 0.5, 0.9])
    assert g(np.array([1e9]))[0] == pytest.approx(1.0)  # no overflow far out


def test_decay_at_known_points() -> None:
    exp = Decay(half=500)
    assert np.allclose(exp(np.array([0.0, 250.0, 500.0, 1000.0])), [1.0, 2**-0.5, 0.5, 0.25])
    gauss = Decay(half=500, shape="gaussian")
    assert np.allclose(gauss(np.array([0.0, 500.0, 1000.0])), [1.0, 0.5, 0.0625])
    started = Decay(half=500, start=200)
    assert np.allclose(started(np.array([0.0, 200.0, 500.0, 800.0])), [1.0, 1.0, 0.5, 0.25])


def test_ideal_at_known_points() -> None:
    f = Ideal(ideal=53, worst_below=40, worst_above=63)
    assert np.allclose(f(np.array([30.0, 40.0, 46.5, 53.0, 58.0, 63.0, 70.0])), [0, 0, 0.5, 1, 0.5, 0, 0])
    r = Ideal(ideal=[1, 5], worst_below=0, worst_above=15)
    assert r(np.array([0.0, 0.5, 1.0, 3.0, 5.0, 10.0, 15.0])).tolist() == [0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0]


def test_categories() -> None:
    f = Categories(values={"maatschappelijk": 1.0, "wonen": 0.7, "3": 0.4}, other=0.1)
    got = f(np.array(["wonen", "industrie", 3.0, None], dtype=object))
    assert got[:3].tolist() == [0.7, 0.1, 0.4]
    assert np.isnan(got[3])


def test_perturbed_input_moves_thresholds() -> None:
    # Shift type: break points move by delta x width (width 100 here).
    lin = Linear(best=0, worst=100)
    assert lin(lin.perturbed_input(np.array([10.0]), 0.1))[0] == pytest.approx(1.0)
    assert lin(lin.perturbed_input(np.array([50.0]), -0.1))[0] == pytest.approx(0.4)
    # Scale type: the half distance stretches by 1 + delta.
    dec = Decay(half=500)
    assert dec(dec.perturbed_input(np.array([600.0]), 0.2))[0] == pytest.approx(0.5)
    ide = Ideal(ideal=50, worst_below=40, worst_above=60)
    assert ide(ide.perturbed_input(np.array([61.0]), 0.1))[0] == pytest.approx(0.0, abs=1e-12)
    # Broadcasting over draws: (m, 1) deltas against (1, n) values.
    out = lin(lin.perturbed_input(np.array([[50.0, 60.0]]), np.array([[0.0], [0.1]])))
    assert out.shape == (2, 2)


PROFILE_HEAD = 'name = "t"\ntitle = "Test"\n'


def _crit(name: str, indicator: str, function: str, weight: float | None = 1.0, extra: str = "") -> str:
    w = f"weight = {weight}\n" if weight is not None else ""
    return (
        f'[[criterion]]\nname = "{name}"\nlabel = "{name}"\nindicator = "{indicator}"\n{w}'
        f"function = {function}\n{extra}"
    )


@pytest.mark.parametrize(
    ("function", "fragments"),
    [
        (
            '{ type = "ideal", ideal = 40, worst_below = 40, worst_above = 63 }',
            ["worst_below (40) must be smaller than the ideal (40)"],
        ),
        (
            '{ type = "ideal", ideal = 53, worst_below = 40, worst_above = 53 }',
            ["worst_above (53) must be larger than the ideal (53)"],
        ),
        ('{ type = "linear", best = 300, worst = 300 }', ["best and worst are both 300"]),
        ('{ type = "decay", half = 100, start = 200 }', ["half (100) must be larger than start (200)"]),
        ('{ type = "logistic", mid = 53, width = 0 }', ["width"]),
        ('{ type = "step", thresholds = [400, 200], values = [1, 0.5, 0] }', ["thresholds must increase"]),
        ('{ type = "sigmoid", mid = 1 }', ["unknown function type 'sigmoid'", "logistic"]),
    ],
)
def test_inconsistent_function_parameters_name_file_and_key(function: str, fragments: list[str]) -> None:
    text = PROFILE_HEAD + _crit("stil", "noise_lden_mean_db", function)
    with pytest.raises(ConfigError) as exc:
        parse_profile(text, "mijn.toml")
    msg = str(exc.value)
    assert msg.startswith("profile file mijn.toml: [[criterion]] #1 (stil).function")
    for frag in fragments:
        assert frag in msg


# --------------------------------------------------------------------------- AHP

# Saaty (1990), "How to make a decision: the analytic hierarchy process", EJOR 48, 9-26:
# the house-buying example, eight criteria (size, transportation, neighbourhood, age,
# yard, modern facilities, general condition, financing).
SAATY_HOUSE = [
    [1, 5, 3, 7, 6, 6, 1 / 3, 1 / 4],
    [1 / 5, 1, 1 / 3, 5, 3, 3, 1 / 5, 1 / 7],
    [1 / 3, 3, 1, 6, 3, 4, 6, 1 / 5],
    [1 / 7, 1 / 5, 1 / 6, 1, 1 / 3, 1 / 4, 1 / 7, 1 / 8],
    [1 / 6, 1 / 3, 1 / 3, 3, 1, 1 / 2, 1 / 5, 1 / 6],
    [1 / 6, 1 / 3, 1 / 4, 4, 2, 1, 1 / 5, 1 / 6],
    [3, 5, 1 / 6, 7, 5, 5, 1, 1 / 2],
    [4, 7, 5, 8, 6, 6, 2, 1],
]
SAATY_HOUSE_WEIGHTS = [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333]


def test_ahp_matches_saaty_published_example() -> None:
    res = ahp_weights(SAATY_HOUSE)
    assert np.round(res.weights, 3).tolist() == SAATY_HOUSE_WEIGHTS
    assert res.lambda_max == pytest.approx(9.669, abs=5e-4)
    assert res.ci == pytest.approx(0.238, abs=5e-4)
    assert res.cr == pytest.approx(0.169, abs=5e-4)


def test_ahp_random_index_and_consistent_matrix() -> None:
    assert [RANDOM_INDEX[n] for n in range(3, 11)] == [0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49]
    res = ahp_weights([[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]])
    assert np.allclose(res.weights, [4 / 7, 2 / 7, 1 / 7])
    assert res.cr == pytest.approx(0.0, abs=1e-9)


def _ahp_profile(matrix: str, criteria: str = '["a", "b", "c"]', weights: bool = False) -> str:
    w = 1.0 if weights else None
    body = "".join(_crit(n, f"dist_{n}", '{ type = "linear", best = 0, worst = 100 }', w) for n in "abc")
    return PROFILE_HEAD + body + f"[ahp]\ncriteria = {criteria}\nmatrix = {matrix}\n"


def test_ahp_profile_weights_from_fractions() -> None:
    prof = parse_profile(_ahp_profile('[[1, 2, 4], ["1/2", 1, 2], ["1/4", "1/2", 1]]'), "p.toml")
    w = prof.weights()
    assert w["a"] == pytest.approx(4 / 7)
    assert sum(w.values()) == pytest.approx(1.0)


def test_ahp_order_of_criteria_follows_the_table() -> None:
    prof = parse_profile(
        _ahp_profile("[[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]]", '["c", "b", "a"]'), "p.toml"
    )
    assert prof.weights()["c"] == pytest.approx(4 / 7)


@pytest.mark.parametrize(
    ("matrix", "fragment"),
    [
        (
            "[[1, 2, 4], [0.5, 1], [0.25, 0.5, 1]]",
            "row 2 has 2 entries, expected 3; the table must be square",
        ),
        ("[[1, 2], [0.5, 1]]", "has 2 rows, expected 3"),
        (
            "[[1, 2, 4], [0.5, 1, 2], [0.25, 3, 1]]",
            "not reciprocal: row 2, column 3 is 2 but row 3, column 2 is 3",
        ),
        ("[[1, 2, -4], [0.5, 1, 2], [-0.25, 0.5, 1]]", "every entry must be positive"),
        ("[[2, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]]", "diagonal entry row 1, column 1 is 2"),
        ('[[1, "x", 4], [0.5, 1, 2], [0.25, 0.5, 1]]', "row 1: entry 'x' is not a number"),
    ],
)
def test_bad_ahp_table_names_file_and_key(matrix: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_profile(_ahp_profile(matrix), "team.toml")
    msg = str(exc.value)
    assert msg.startswith("profile file team.toml: ahp")
    assert "matrix" in msg
    assert fragment in msg


def test_ahp_with_weights_or_other_criteria_is_refused() -> None:
    with pytest.raises(ConfigError, match="also give a weight; remove one"):
        parse_profile(_ahp_profile("[[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]]", weights=True), "p.toml")
    with pytest.raises(ConfigError, match=r"missing: c; not a criterion: x"):
        parse_profile(_ahp_profile("[[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]]", '["a", "b", "x"]'), "p.toml")


def test_ahp_inconsistency_warns_above_0_1(caplog: pytest.LogCaptureFixture) -> None:
    # a > b, b > c, but c > a: circular judgements.
    with caplog.at_level(logging.WARNING, logger="sitefinder"):
        prof = parse_profile(_ahp_profile("[[1, 5, 0.2], [0.2, 1, 5], [5, 0.2, 1]]"), "cirkel.toml")
    res = prof.ahp_result()
    assert res is not None and res.cr > 0.1
    assert "cirkel.toml" in caplog.text and "consistency ratio" in caplog.text


# --------------------------------------------------------------------------- scoring and constraints


def _indicators(n: int = 8, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "dist_a": rng.uniform(0, 100, n),
            "dist_b": rng.uniform(0, 100, n),
            "area_m2": rng.uniform(1000, 20000, n),
            "owner": (
                ["gemeente", "particulier", "provincie", "gemeente", None, "corporatie", "gemeente", "rijk"]
                * 2
            )[:n],
            "share_in_groen": ([0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 1.0, 0.0] * 2)[:n],
        },
        index=[f"P{i}" for i in range(n)],
    )


TWO = _crit("a", "dist_a", '{ type = "linear", best = 0, worst = 100 }', 2) + _crit(
    "b", "dist_b", '{ type = "decay", half = 50 }', 1
)


def test_contributions_add_up_and_weights_normalise() -> None:
    prof = parse_profile(PROFILE_HEAD + TWO, "p.toml")
    res = score_profile(_indicators(), prof)
    t = res.table
    assert (t[["pts_t_a", "pts_t_b"]].sum(axis=1) - t["score_t"]).abs().max() < 0.1
    assert res.weights == pytest.approx({"a": 2 / 3, "b": 1 / 3})
    assert t["score_t"].between(0, 100).all()


def test_failing_plot_is_never_ranked_among_eligible() -> None:
    cons = (
        '[[constraint]]\nindicator = "owner"\nop = "in"\nvalue = ["gemeente", "provincie", "rijk"]\n'
        'reason = "geen publieke grond"\n'
        '[[constraint]]\nlayer = "groen"\nrelation = "outside"\nreason = "in het groenblauwe netwerk"\n'
        '[[layer]]\nname = "groen"\npath = "groen.gpkg"\n'
        '[[constraint]]\nindicator = "area_m2"\nop = ">="\nvalue = 5000\nreason = "te klein"\n'
    )
    prof = parse_profile(PROFILE_HEAD + TWO + cons, "p.toml")
    ind = _indicators()
    # Make the excluded plots the best-scoring ones, so a leak would show.
    ind.loc[["P1", "P4", "P6"], ["dist_a", "dist_b"]] = 0.0
    res = score_profile(ind, prof, SensitivitySettings(draws=300, seed=1, top_k=2))
    t = res.table
    excluded = t["excluded_t"] != ""
    assert {"P1", "P4", "P6"} <= set(t.index[excluded])
    assert "geen publieke grond" in t.loc["P1", "excluded_t"]
    assert "geen publieke grond" in t.loc["P4", "excluded_t"]  # missing owner fails by default
    assert "outside layer groen (share_in_groen <= 0)" in t.loc["P6", "excluded_t"]
    assert t.loc[excluded, "rank_t"].isna().all()
    assert t.loc[excluded, ["rank_p5_t", "rank_p95_t", "p_top2_t"]].isna().all().all()
    n_elig = int((~excluded).sum())
    assert sorted(t.loc[~excluded, "rank_t"].tolist()) == list(range(1, n_elig + 1))
    assert t.loc[~excluded, "rank_p95_t"].max() <= n_elig
    # The excluded plots keep their score so a council can see what they would have scored.
    assert t.loc["P1", "score_t"] == 100.0


def test_constraint_ops_and_missing_rule() -> None:
    cons = (
        '[[constraint]]\nindicator = "owner"\nop = "!="\nvalue = "particulier"\nmissing = "pass"\n'
        'reason = "particulier"\n'
    )
    prof = parse_profile(PROFILE_HEAD + TWO + cons, "p.toml")
    t = score_profile(_indicators(), prof, SensitivitySettings(draws=0)).table
    assert (t["excluded_t"] != "").tolist() == [False, True, False, False, False, False, False, False]
    assert "rank_p5_t" not in t.columns


def test_numeric_constraint_on_text_column_is_a_clear_error() -> None:
    cons = '[[constraint]]\nindicator = "owner"\nop = ">="\nvalue = 3\nreason = "x"\n'
    prof = parse_profile(PROFILE_HEAD + TWO + cons, "p.toml")
    with pytest.raises(ConfigError, match="compares numbers, but column 'owner' holds text"):
        score_profile(_indicators(), prof)


def test_constraint_on_unknown_column_lists_columns() -> None:
    cons = '[[constraint]]\nindicator = "bestemming"\nop = "=="\nvalue = "wonen"\nreason = "x"\n'
    prof = parse_profile(PROFILE_HEAD + TWO + cons, "p.toml")
    with pytest.raises(ConfigError) as exc:
        score_profile(_indicators(), prof)
    assert "profile file p.toml" in str(exc.value) and "'bestemming'" in str(exc.value)
    assert "columns: dist_a, dist_b, area_m2, owner" in str(exc.value)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            '[[constraint]]\nindicator = "owner"\nop = "in"\nvalue = "gemeente"\nreason = "x"\n',
            "needs a list value",
        ),
        ('[[constraint]]\nindicator = "owner"\nop = "<"\nvalue = "a"\nreason = "x"\n', "compares numbers"),
        (
            '[[constraint]]\nlayer = "gbn"\nrelation = "outside"\nreason = "x"\n',
            "layer 'gbn', which is not declared",
        ),
        (
            '[[constraint]]\nlayer = "gbn"\nrelation = "near"\nreason = "x"\n',
            "relation must be 'inside' or 'outside'",
        ),
    ],
)
def test_bad_constraints_name_file(body: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_profile(PROFILE_HEAD + TWO + body, "p.toml")
    assert str(exc.value).startswith("profile file p.toml:")
    assert fragment in str(exc.value)


def test_categorical_criterion() -> None:
    body = TWO + _crit(
        "bestemming", "zoning", '{ type = "categories", values = { wonen = 1.0 }, other = 0.2 }', 3
    )
    prof = parse_profile(PROFILE_HEAD + body, "p.toml")
    ind = _indicators(3).assign(zoning=["wonen", "industrie", None])
    t = score_profile(ind, prof, SensitivitySettings(draws=50)).table
    assert t["pts_t_bestemming"].tolist() == [50.0, 10.0, 0.0]


# --------------------------------------------------------------------------- sensitivity


def test_sensitivity_is_reproducible_with_a_seed() -> None:
    prof = parse_profile(PROFILE_HEAD + TWO, "p.toml")
    ind = _indicators(12, seed=5)
    s = SensitivitySettings(draws=400, seed=7, top_k=3)
    a = score_profile(ind, prof, s).table
    b = score_profile(ind, prof, s).table
    pd.testing.assert_frame_equal(a, b)
    c = score_profile(ind, prof, s.model_copy(update={"seed": 8})).table
    assert not a["p_top3_t"].equals(c["p_top3_t"])
    assert (a["rank_p5_t"] <= a["rank_p95_t"]).all()
    assert a["p_top3_t"].between(0, 1).all()
    # Each draw ranks the 12 plots, so the top-3 probabilities sum to 3 (up to ties and rounding).
    assert a["p_top3_t"].sum() == pytest.approx(3.0, abs=0.02)


def test_min_ranks_are_scipy_min_ranks_with_ties() -> None:
    from scipy.stats import rankdata

    rng = np.random.default_rng(3)
    values = np.round(rng.normal(size=(40, 25)), 1)  # many ties
    values[0] = 0.0  # a row of one value: every rank 1
    values[1, :3] = [-0.0, 0.0, -1.0]
    got = min_ranks(values)
    assert np.array_equal(got, rankdata(values, axis=1, method="min"))
    # And by definition: 1 + the number of smaller values in the row.
    assert np.array_equal(got, 1 + (values[:, None, :] < values[:, :, None]).sum(axis=2))
    assert got[0].tolist() == [1] * 25


def test_sensitivity_dominant_plot_and_modes() -> None:
    prof = parse_profile(PROFILE_HEAD + TWO, "p.toml")
    ind = _indicators(6)
    ind.loc["P2", ["dist_a", "dist_b"]] = 0.0  # best on every criterion: rank 1 in every draw
    for mode in ("uniform", "dirichlet", "none"):
        t = score_profile(ind, prof, SensitivitySettings(draws=200, weights=mode, top_k=1)).table
        assert t.loc["P2", "p_top1_t"] == 1.0
        assert (t.loc["P2", "rank_p5_t"], t.loc["P2", "rank_p95_t"]) == (1, 1)
    fixed = score_profile(ind, prof, SensitivitySettings(draws=50, weights="none", threshold_spread=0)).table
    assert (fixed["rank_p5_t"] == fixed["rank_t"]).all() and (fixed["rank_p95_t"] == fixed["rank_t"]).all()


def test_sensitivity_settings_from_profile() -> None:
    prof = parse_profile(PROFILE_HEAD + TWO + "[sensitivity]\ndraws = 100\nseed = 3\ntop_k = 2\n", "p.toml")
    res = score_profile(_indicators(), prof)
    assert "p_top2_t" in res.table.columns
    assert res.manifest_entry()["sensitivity"]["seed"] == 3
    with pytest.raises(ConfigError, match=r"sensitivity\.weight_spread"):
        parse_profile(PROFILE_HEAD + TWO + "[sensitivity]\nweight_spread = 1.5\n", "p.toml")


# --------------------------------------------------------------------------- explanations


def test_explain_names_the_criteria_that_put_a_plot_there() -> None:
    prof = parse_profile(
        PROFILE_HEAD + TWO + '[[constraint]]\nindicator = "area_m2"\nop = ">="\nvalue = 1\nreason = "r"\n',
        "p.toml",
    )
    ind = pd.DataFrame(
        {
            "dist_a": [0.0, 80.0, 90.0, 100.0],
            "dist_b": [300.0, 10.0, 200.0, 250.0],
            "area_m2": [5000.0, 5000.0, 5000.0, 0.0],
        },
        index=["top", "b", "c", "klein"],
    )
    res = score_profile(ind, prof, SensitivitySettings(draws=100))
    ex = explain(res, "top")
    assert ex.rank == 1 and ex.drivers == ["a"] and ex.drags == ["b"]
    assert "Put there by" in ex.text and "a +" in ex.text and "dist_a = 0" in ex.text
    assert ex.rank_interval is not None and ex.p_top is not None
    small = explain(res, "klein")
    assert small.rank is None and small.reasons == ["r (area_m2 >= 1)"]
    assert "excluded" in small.text
    with pytest.raises(UnknownNameError, match="plot 'nope' is not in the scores table"):
        explain(res, "nope")


# --------------------------------------------------------------------------- spread selection


def test_greedy_is_not_optimal_and_optimal_is() -> None:
    # Three plots in a row, 600 m apart; the middle one is best but conflicts with both ends.
    scores = np.array([9.0, 10.0, 9.0])
    geoms = np.array([shapely.Point(0, 0), shapely.Point(600, 0), shapely.Point(1200, 0)], dtype=object)
    conflicts = conflict_pairs(geoms, 1000.0)
    assert sorted(map(tuple, conflicts.tolist())) == [(0, 1), (1, 2)]
    assert greedy_spread(scores, conflicts, 2) == [1]
    best, proven = optimal_spread(scores, conflicts, 2)
    assert sorted(best) == [0, 2] and proven


def test_select_plots_respects_min_distance_and_k() -> None:
    prof = parse_profile(
        PROFILE_HEAD + TWO + '[[constraint]]\nindicator = "area_m2"\nop = ">="\nvalue = 5000\nreason = "r"\n',
        "p.toml",
    )
    n = 10
    ind = pd.DataFrame(
        {
            "dist_a": np.linspace(0, 90, n),
            "dist_b": np.linspace(0, 90, n),
            "area_m2": [9000.0] * (n - 2) + [100.0, 100.0],
        },
        index=[f"K{i}" for i in range(n)],
    )
    res = score_profile(ind, prof, SensitivitySettings(draws=0))
    geom = gpd.GeoSeries([shapely.box(300 * i, 0, 300 * i + 100, 100) for i in range(n)], index=ind.index)
    sel = select_plots(res, geom, 3, 450.0)
    assert sel.plot_ids == ["K0", "K2", "K4"] and sel.complete
    pos = [int(i[1:]) for i in sel.plot_ids]
    assert all(abs(a - b) >= 2 for a in pos for b in pos if a != b)
    opt = select_plots(res, geom, 3, 450.0, method="optimal")
    assert opt.total_score == pytest.approx(sel.total_score)
    with pytest.raises(ConfigError, match=r"k = 9, but only 8 of 10 plots are eligible for profile 't'"):
        select_plots(res, geom, 9, 0.0)
    few = select_plots(res, geom, 8, 1000.0)
    assert not few.complete and few.plot_ids == ["K0", "K4"]  # edge gaps 300 k - 100 m; K8 is excluded
    assert math.isclose(select_plots(res, geom, 2, 0.0).total_score, res.table["score_t"].nlargest(2).sum())


def test_explain_says_what_it_compares_with() -> None:
    """A lone eligible plot is not compared with itself (no '+0.0'); with no eligible plot
    the comparison is with the average of all plots, and the text says so."""
    prof = parse_profile(
        PROFILE_HEAD + TWO + '[[constraint]]\nindicator = "area_m2"\nop = ">="\nvalue = 1000\nreason = "r"\n',
        "p.toml",
    )
    ind = pd.DataFrame(
        {"dist_a": [0.0, 80.0], "dist_b": [300.0, 10.0], "area_m2": [5000.0, 10.0]},
        index=["groot", "klein"],
    )
    res = score_profile(ind, prof, SensitivitySettings(draws=20))
    lone = explain(res, "groot")
    assert lone.rank == 1 and lone.n_eligible == 1
    line = next(ln for ln in lone.text.splitlines() if ln.startswith("Most of its points from"))
    top = max(lone.parts, key=lambda p: p.points)
    assert "nothing to compare with" in line and f"{top.name} {top.points:.1f}" in line
    assert "+0.0" not in lone.text
    none = score_profile(ind.assign(area_m2=[10.0, 10.0]), prof, SensitivitySettings(draws=20))
    ex = explain(none, "groot")
    assert ex.rank is None and ex.n_eligible == 0
    assert ex.drivers == ["a"]  # dist_a 0 m against 80 m: above the average of the two plots
    assert "Put there by (points vs. the average plot (no plot is eligible)): a +" in ex.text
    assert "average eligible plot" not in ex.text
