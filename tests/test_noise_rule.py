"""Hard noise limits on modelled noise: the model's margin, official-only limits, Dutch reasons."""

from __future__ import annotations

import pandas as pd
import pytest

from sitefinder.scoring.noiserule import MODELLED_NOISE_MARGIN_DB, is_failure_of
from sitefinder.scoring.profiles import parse_profile
from sitefinder.scoring.score import score_profile

HEAD = (
    'name = "t"\ntitle = "Test"\n'
    '[[criterion]]\nname = "stilte"\nlabel = "stilte"\nindicator = "noise_lden_mean_db"\nweight = 1\n'
    'function = { type = "linear", best = 48, worst = 53 }\n'
)
P90 = '[[constraint]]\nindicator = "noise_lden_p90_db"\nop = "<="\nvalue = 58\nreason = "te veel geluid"\n'
NIGHT = (
    '[[constraint]]\nindicator = "noise_lnight_mean_db"\nop = "<="\nvalue = 45\n'
    'reason = "te veel geluid in de nacht"\n'
)


def _table(p90: list[float], modelled: bool, night: list[float] | None = None) -> pd.DataFrame:
    n = len(p90)
    return pd.DataFrame(
        {
            "noise_lden_mean_db": [50.0] * n,
            "noise_lden_p90_db": p90,
            "noise_lnight_mean_db": night or [40.0] * n,
            "noise_modelled": [modelled] * n,
            "noise_source": ["weg- en railverkeer" if modelled else "geluidskaart lden.tif"] * n,
        },
        index=[f"K{i}" for i in range(n)],
    )


def test_modelled_noise_excludes_only_beyond_the_margin() -> None:
    assert MODELLED_NOISE_MARGIN_DB == 3.0
    prof = parse_profile(HEAD + P90, "p.toml")
    t = score_profile(_table([57.0, 60.0, 61.0, 63.2], True), prof).table
    reasons = t["excluded_t"].tolist()
    assert reasons[:3] == ["", "", ""]  # 60 and 61 dB: within the model's 3 dB
    assert reasons[3] == (
        "te veel geluid: 63 dB Lden gemodelleerd (weg- en railverkeer), grens 58 dB "
        "(+3 dB modelonzekerheid) (noise_lden_p90_db <= 58)"
    )
    assert is_failure_of(prof.constraints[0], reasons[3])


def test_official_map_limit_holds_as_it_is() -> None:
    prof = parse_profile(HEAD + P90, "p.toml")
    t = score_profile(_table([57.0, 58.4, 63.2], False), prof).table
    assert t["excluded_t"].tolist() == [
        "",
        "te veel geluid: 58 dB Lden volgens de geluidskaart (geluidskaart lden.tif), grens 58 dB "
        "(noise_lden_p90_db <= 58)",
        "te veel geluid: 63 dB Lden volgens de geluidskaart (geluidskaart lden.tif), grens 58 dB "
        "(noise_lden_p90_db <= 58)",
    ]


def test_margin_per_constraint_and_lnight() -> None:
    prof = parse_profile(
        HEAD + P90.replace("value = 58\n", "value = 58\nmodelled_margin_db = 0\n") + NIGHT, "p.toml"
    )
    t = score_profile(_table([59.0, 55.0], True, night=[44.0, 49.5]), prof).table
    assert t["excluded_t"].iloc[0].startswith("te veel geluid: 59 dB Lden gemodelleerd")
    assert t["excluded_t"].iloc[1].startswith("te veel geluid in de nacht: 50 dB Lnight gemodelleerd")
    assert "grens 45 dB (+3 dB modelonzekerheid)" in t["excluded_t"].iloc[1]


def test_official_only_limit_is_skipped_on_modelled_noise(caplog: pytest.LogCaptureFixture) -> None:
    prof = parse_profile(HEAD + P90.replace("value = 58\n", "value = 58\nofficial_only = true\n"), "p.toml")
    res = score_profile(_table([70.0], True), prof)
    assert res.table["excluded_t"].tolist() == [""]
    official = score_profile(_table([70.0], False), prof).table
    assert official["excluded_t"].iloc[0].startswith("te veel geluid: 70 dB Lden volgens de geluidskaart")


def test_missing_noise_without_coverage_follows_the_missing_rule() -> None:
    prof = parse_profile(HEAD + P90, "p.toml")
    t = score_profile(_table([float("nan"), 50.0], True), prof).table
    assert t["excluded_t"].tolist() == ["te veel geluid (noise_lden_p90_db <= 58)", ""]


@pytest.mark.parametrize(
    ("modelled", "tail", "fails"),
    [
        ([True, True], " (+3\u00a0dB modelonzekerheid)", [1]),
        ([True, False], " (+3\u00a0dB modelonzekerheid waar gemodelleerd)", [1]),
        ([False, False], "", [0, 1]),
    ],
)
def test_the_map_states_the_margin_that_excluded_plots_on_modelled_noise(
    modelled: list[bool], tail: str, fails: list[int]
) -> None:
    from sitefinder.render.labels import column_label
    from sitefinder.render.live import constraint_block, split_reasons

    prof = parse_profile(HEAD + P90, "p.toml")
    table = _table([60.0, 62.0], modelled=True).assign(noise_modelled=modelled)
    res = score_profile(table, prof)
    parts = [split_reasons(t) for t in res.table["excluded_t"].fillna("")]
    labels = {c: column_label(c) for c in table.columns}
    block = constraint_block(prof.constraints[0], table, labels, parts)
    assert block["limit"] == "grens 58\u00a0dB" + tail
    # 58 dB holds as it is on official noise; on modelled noise only above 61 dB excludes.
    assert block["fails"] == fails
