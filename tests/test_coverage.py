"""Data coverage and censored values: covered radius, intervals, evaluability, weight sharing.

Expected numbers are worked out by hand (distances of squares in a square area, value
functions at known points) or by brute-force sampling, not by the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from sitefinder.coverage import (
    Censor,
    Coverage,
    censor_rules,
    censored_notes,
    covered_radius,
    function_range,
    judged,
    reach_m,
    value_intervals,
)
from sitefinder.scoring.explain import explain
from sitefinder.scoring.functions import Decay, Ideal, Linear, Logistic, Step
from sitefinder.scoring.profiles import parse_profile
from sitefinder.scoring.score import score_profile
from sitefinder.scoring.status import (
    INSUFFICIENT,
    NO_AREA_CONSTRAINT,
    insufficient_data,
    metres,
    most_common_reason,
    no_eligible,
)

AREA = shapely.box(0, 0, 1000, 1000)


def test_covered_radius_is_the_gap_to_the_nearest_edge() -> None:
    plots = np.array(
        [
            shapely.box(100, 400, 200, 500),  # 100 m from the west edge
            shapely.box(450, 450, 550, 550),  # 450 m from every edge
            shapely.box(950, 100, 1100, 200),  # crosses the east edge
            shapely.box(5000, 5000, 5100, 5100),  # far outside
            shapely.Point(300, 880),  # a cell centre: 120 m from the north edge
        ],
        dtype=object,
    )
    r = covered_radius(plots, AREA)
    assert r.tolist() == pytest.approx([100.0, 450.0, 0.0, 0.0, 120.0])


def test_censor_rules_only_for_osm_kinds() -> None:
    cols = ["dist_gp_m", "dist_railway_straight_m", "n_pt_stop_500m", "n_care_straight_1000m",
            "dist_groenblauw_straight_m", "area_m2", "noise_lden_mean_db"]  # fmt: skip
    rules = censor_rules(cols, ["gp", "pt_stop", "care", "railway"])
    assert rules == {
        "dist_gp_m": Censor("distance"),
        "dist_railway_straight_m": Censor("distance", walking=False),
        "n_pt_stop_500m": Censor("count", 500.0),
        "n_care_straight_1000m": Censor("count", 1000.0, walking=False),
    }


def test_value_intervals_distance_and_count() -> None:
    r = np.array([300.0, 300.0, 300.0])
    lo, hi = value_intervals(np.array([150.0, 700.0, np.nan]), r, Censor("distance"))
    assert lo.tolist() == [150.0, 300.0, 300.0]
    assert hi.tolist() == [150.0, 700.0, math.inf]
    lo, hi = value_intervals(np.array([2.0, 2.0]), np.array([500.0, 200.0]), Censor("count", 500.0))
    assert lo.tolist() == [2.0, 2.0]
    assert hi.tolist() == [2.0, math.inf]


@pytest.mark.parametrize(
    "f",
    [
        Linear(best=500, worst=100),
        Linear(best=300, worst=1000),
        Logistic(mid=250, width=300, better="higher"),
        Decay(half=500, shape="gaussian"),
        Step(thresholds=[200, 400, 500], values=[1.0, 0.75, 0.4, 0.0]),
        Step(thresholds=[100, 200], values=[0.0, 1.0, 0.2]),
        Ideal(ideal=[1, 5], worst_below=0, worst_above=15),
    ],
)
@pytest.mark.parametrize(("lo", "hi"), [(0.0, 50.0), (120.0, 450.0), (3.0, 7.0), (600.0, math.inf)])
def test_function_range_matches_brute_force(f: object, lo: float, hi: float) -> None:
    top = 1e6 if math.isinf(hi) else hi
    xs = np.concatenate([np.linspace(lo, min(top, lo + 5000), 200_001), [top]])
    v = np.asarray(f(xs))  # type: ignore[operator]
    vmin, vmax = function_range(f, np.array([lo]), np.array([hi]))
    assert vmin[0] == pytest.approx(v.min(), abs=1e-4)
    assert vmax[0] == pytest.approx(v.max(), abs=1e-4)


def test_judged_farther_is_better() -> None:
    f = Linear(best=500, worst=100)
    ok, value = judged(f, np.array([600.0, 120.0]), np.array([math.inf, math.inf]))
    assert ok.tolist() == [True, False]
    assert value[0] == 1.0  # nothing within 600 m, full points from 500 m: a finding


def test_reach_of_value_functions() -> None:
    # Linear "closer is better" with 0 from 1,500 m: nothing within r is 0 points only from 1,500 m on.
    assert reach_m(Linear(best=500, worst=1500), tol=0.0) == pytest.approx(1500, abs=1)
    # Logistic farther-is-better around 250 m (0.9 at 400 m): within 0.01 of 1 when
    # 1 / (1 + exp(-(x - 250) * 2 ln 9 / 300)) >= 0.99, i.e. x >= 250 + ln 99 * 300 / (2 ln 9).
    expect = 250 + math.log(99) * 300 / (2 * math.log(9))
    assert reach_m(Logistic(mid=250, width=300, better="higher")) == pytest.approx(expect, abs=1.5)


HEAD = 'name = "t"\ntitle = "Test"\nmax_share_not_evaluable = 0.3\n'


def _crit(name: str, indicator: str, function: str, weight: float) -> str:
    return (
        f'[[criterion]]\nname = "{name}"\nlabel = "{name}"\nindicator = "{indicator}"\n'
        f"weight = {weight}\nfunction = {function}\n"
    )


PROFILE = (
    HEAD
    + _crit("spoor", "dist_railway_straight_m", '{ type = "linear", best = 500, worst = 100 }', 2)
    + _crit("super", "dist_supermarket_m", '{ type = "linear", best = 0, worst = 1000 }', 6)
    + _crit("groot", "area_m2", '{ type = "linear", best = 10000, worst = 0 }', 2)
)


def _table() -> tuple[pd.DataFrame, Coverage]:
    ind = pd.DataFrame(
        {
            # P0: all exact. P1: no railway found, r = 200 (not evaluable, 20 % of the weight).
            # P2: supermarket found at 800 m beyond r = 300 (censored, not evaluable: 60 %).
            # P3: r = 600, nothing railway found (judged: full points).
            "dist_railway_straight_m": [300.0, np.nan, np.nan, np.nan],
            "dist_supermarket_m": [250.0, 100.0, 800.0, 400.0],
            "area_m2": [5000.0, 5000.0, 5000.0, 5000.0],
        },
        index=["P0", "P1", "P2", "P3"],
    )
    radius = np.array([1000.0, 200.0, 300.0, 600.0])
    rules = censor_rules(ind.columns, ["railway", "supermarket"])
    return ind, Coverage(radius_m=radius, rules=rules, outside=np.zeros(4, dtype=bool))


def test_not_evaluable_criterion_shares_its_weight() -> None:
    ind, cov = _table()
    res = score_profile(ind, parse_profile(PROFILE, "t.toml"), coverage=cov)
    t = res.table
    # P0: spoor 0.5 (300 m between 100 and 500), super 0.75, area 0.5 -> (2*.5 + 6*.75 + 2*.5) / 10.
    assert t.loc["P0", "score_t"] == pytest.approx(65.0)
    # P1: spoor drops out; super 0.9, area 0.5 over weights 6 and 2 -> (6*.9 + 2*.5) / 8 = 80.
    assert math.isnan(t.loc["P1", "pts_t_spoor"])
    assert t.loc["P1", "pts_t_super"] == pytest.approx(100 * 6 * 0.9 / 8)
    assert t.loc["P1", "score_t"] == pytest.approx(80.0)
    assert t.loc["P1", "not_evaluable_t"] == "spoor"
    assert t.loc["P1", "share_not_evaluable_t"] == pytest.approx(0.2)
    assert t.loc["P1", "rank_t"] is not pd.NA and t.loc["P1", "excluded_t"] == ""
    # P2: 80 % of the weight (spoor and super) cannot be judged: not ranked, and says why.
    assert pd.isna(t.loc["P2", "rank_t"])
    reason = t.loc["P2", "excluded_t"]
    assert reason.startswith("onvoldoende gegevens: de OSM-gegevens reiken 300 m voorbij de kavel")
    assert "het profiel kijkt 1.000 m ver" in reason and "80 %" in reason
    # P3: no railway within 600 m and full points from 500 m: judged, 100 % of spoor.
    assert t.loc["P3", "pts_t_spoor"] == pytest.approx(20.0)
    assert t.loc["P3", "share_not_evaluable_t"] == 0.0
    # Contributions still add up to the score.
    pts = t[["pts_t_spoor", "pts_t_super", "pts_t_groot"]].sum(axis=1)
    assert (pts - t["score_t"]).abs().max() < 0.1


def test_without_coverage_missing_rule_still_applies() -> None:
    ind, _ = _table()
    res = score_profile(ind, parse_profile(PROFILE, "t.toml"))
    assert res.table["share_not_evaluable_t"].eq(0).all()
    assert res.table["excluded_t"].eq("").all()


def test_share_setting_decides_ranking() -> None:
    ind, cov = _table()
    loose = parse_profile(PROFILE.replace("= 0.3", "= 0.9"), "t.toml")
    assert loose.max_share_not_evaluable == 0.9
    t = score_profile(ind, loose, coverage=cov).table
    assert t["excluded_t"].eq("").all()
    strict = parse_profile(PROFILE.replace("= 0.3", "= 0.1"), "t.toml")
    t = score_profile(ind, strict, coverage=cov).table
    assert t["excluded_t"].ne("").tolist() == [False, True, True, False]


def test_plot_outside_the_data_is_never_ranked() -> None:
    ind, cov = _table()
    loose = parse_profile(PROFILE.replace("= 0.3", "= 1.0"), "t.toml")
    cov = Coverage(cov.radius_m, cov.rules, outside=np.array([False, False, False, True]))
    t = score_profile(ind, loose, coverage=cov).table
    assert pd.isna(t.loc["P3", "rank_t"])
    assert "buiten het gebied van de OSM-gegevens" in t.loc["P3", "excluded_t"]


def test_constraint_on_censored_value_is_undecided_not_passed() -> None:
    ind, cov = _table()
    prof = parse_profile(
        PROFILE + '[[constraint]]\nindicator = "dist_railway_straight_m"\nop = ">="\nvalue = 250\n'
        'reason = "te dicht bij het spoor"\nmissing = "pass"\n',
        "t.toml",
    )
    t = score_profile(ind, prof, coverage=cov).table
    # P1: nothing within r = 200 m: the railway may be at 210 m. Undecided, so not ranked.
    assert "harde eis dist_railway_straight_m >= 250 niet te beoordelen" in t.loc["P1", "excluded_t"]
    # P3: nothing within 600 m: passes for certain.
    assert t.loc["P3", "excluded_t"] == ""


def test_censored_notes_list_lower_bounds() -> None:
    ind, cov = _table()
    notes = censored_notes(ind, cov.radius_m, cov.rules)
    assert notes[0] == ""
    assert notes[1] == "dist_railway_straight_m > 200"
    assert notes[2] == "dist_railway_straight_m > 300; dist_supermarket_m > 300"


def test_dutch_status_texts() -> None:
    assert metres(1500) == "1.500 m"
    reasons = ["te klein (area_m2 >= 2000)", "te klein (area_m2 >= 2000); te luid (noise <= 58)", ""]
    assert most_common_reason(reasons) == "te klein (area_m2 >= 2000)"
    # A tie goes to the reason met first, whatever the hash seed.
    tie = ["te klein (a); onvoldoende gegevens: x (10 %)", "te klein (a); onvoldoende gegevens: y (20 %)"]
    assert most_common_reason(tie) == "te klein (a)"
    assert most_common_reason(list(reversed(tie))) == "te klein (a)"
    assert no_eligible("prikkelarm", reasons) == (
        "geen enkele kavel voldoet aan de harde eisen van prikkelarm; "
        "meest voorkomende reden: te klein (area_m2 >= 2000)"
    )


def test_off_network_plot_with_covered_surroundings_is_a_finding() -> None:
    # P0 lies 300 m from every path, and the data cover 1,000 m around it: no supermarket
    # can be walked to, which is a finding (worst), not a gap. P1 lies off the network with
    # only 100 m of data around it: the path may lie outside the data, so it is not judged.
    ind = pd.DataFrame(
        {"dist_supermarket_m": [np.nan, np.nan], "area_m2": [5000.0, 5000.0]}, index=["P0", "P1"]
    )
    radius = np.array([1000.0, 100.0])
    cov = Coverage(radius_m=radius, rules=censor_rules(ind.columns, ["supermarket"]),
                   off_network=np.array([True, False]))  # fmt: skip
    prof = parse_profile(
        HEAD.replace("= 0.3", "= 1.0")
        + _crit("super", "dist_supermarket_m", '{ type = "linear", best = 0, worst = 1000 }', 1)
        + _crit("groot", "area_m2", '{ type = "linear", best = 10000, worst = 0 }', 1),
        "t.toml",
    )
    t = score_profile(ind, prof, coverage=cov).table
    assert t.loc["P0", "pts_t_super"] == 0.0
    assert t.loc["P0", "score_t"] == pytest.approx(25.0)  # (0 + 0.5) / 2
    assert math.isnan(t.loc["P1", "pts_t_super"])
    assert t.loc["P1", "score_t"] == pytest.approx(50.0)  # area alone


def test_explain_compares_shares_of_each_plots_own_maximum() -> None:
    """P1's 'spoor' cannot be judged, so its 'super' is worth 75 points (6 of 8), the
    others' 60 (6 of 10). Eligible plots P0, P1, P3 earn 0.75, 0.9 and 0.6 of 'super':
    average share 0.75, i.e. 56.25 of P1's 75 points; P1's 67.5 is 11.25 above it (raw
    points against 45, 67.5 and 36 would have said +18)."""
    ind, cov = _table()
    res = score_profile(ind, parse_profile(PROFILE, "t.toml"), coverage=cov)
    assert list(res.table.index[res.eligible]) == ["P0", "P1", "P3"]
    ex = explain(res, "P1")
    sup = next(q for q in ex.parts if q.name == "super")
    assert sup.max_points == pytest.approx(75.0) and sup.points == pytest.approx(67.5)
    assert sup.mean_points == pytest.approx(75.0 * (0.75 + 0.9 + 0.6) / 3)
    assert sup.delta == pytest.approx(11.25)
    # P0 (every criterion judged, 'super' worth 60): 45 against 60 * 0.75 = 45: no driver.
    p0 = next(q for q in explain(res, "P0").parts if q.name == "super")
    assert p0.mean_points == pytest.approx(45.0) and p0.delta == pytest.approx(0.0)


def test_most_common_reason_says_which_data_is_missing() -> None:
    """Data gaps are counted by kind: the reach text differs per plot, the point-plot area
    text is the same for all; the summary names the kind, not just 'onvoldoende gegevens'."""
    area = f"{INSUFFICIENT}: {NO_AREA_CONSTRAINT} (area_m2 >= 2000)"
    reasons = [
        f"{area}; {insufficient_data(127, 1500, 0.5)}",
        f"{area}; {insufficient_data(300, 1500, 0.4)}",
        area,
        insufficient_data(90, 800, 0.6),
    ]
    assert most_common_reason(reasons) == area
    reach = [insufficient_data(127, 1500, 0.5), insufficient_data(300, 800, 0.4), "te klein (a)"]
    assert (
        most_common_reason(reach)
        == f"{INSUFFICIENT}: de OSM-gegevens reiken niet ver genoeg voor het profiel"
    )
