"""The council memo: summary over all profiles, a sentence per plot, at most 15 indicators, Dutch text only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sitefinder.errors import UnknownNameError
from sitefinder.render.map import MapInputs
from sitefinder.render.memo import MAX_INDICATORS, choose_profiles, key_indicators, render_memo, sentence
from sitefinder.render.report import open_run
from tests.test_map import synthetic_town
from tests.test_report import write_run_folder


@pytest.fixture(scope="module")
def town() -> MapInputs:
    return synthetic_town(n_side=4, n_amenities=40)


@pytest.fixture(scope="module")
def run_dir(town: MapInputs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run_folder(town, tmp_path_factory.mktemp("memo") / "run")


def _visible(page: str) -> str:
    body = re.sub(r"<(style|title|script)[^>]*>.*?</\1>", " ", page, flags=re.S)
    body = re.sub(r"<svg.*?</svg>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_memo_summarises_every_profile_and_details_two(town: MapInputs, run_dir: Path) -> None:
    run = open_run(run_dir)
    ids = ["K0001", "K0006", "K0011"]
    page = render_memo(run, ids)
    text = _visible(page)
    for res in town.profiles:
        assert res.profile.title in text, "every profile in the summary table"
    assert page.count('class="sf-chart"') == min(2, len(town.profiles))
    assert page.count('class="sf-minimap"') == 3
    assert "Methode en bronnen" in text and "OpenStreetMap" in text
    raw = sorted(set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", text)))
    assert raw == [], f"raw column names in the memo: {raw}"


def test_key_indicators_at_most_15(run_dir: Path) -> None:
    run = open_run(run_dir)
    cols = key_indicators(run, [p.name for p in run.profiles])
    assert 0 < len(cols) <= MAX_INDICATORS
    first = run.profiles[0].criteria[0].indicator
    assert cols[0] == first, "the profile's own criteria come first"
    page = render_memo(run, ["K0001", "K0002"])
    table = page.split("Kerncijfers")[1].split("</table>")[0]
    assert table.count("<tr>") - 1 <= MAX_INDICATORS  # minus the header row


def test_sentence_names_rank_and_strongest_and_weakest(town: MapInputs, run_dir: Path) -> None:
    run = open_run(run_dir)
    res = town.profiles[1]
    p = res.profile.name
    t = res.table
    pid = str(t.index[t[f"rank_{p}"] == 1][0])
    text = sentence(run, pid, p, res.profile)
    assert f"op plaats 1 van {int((t[f'excluded_{p}'] == '').sum())} geschikte kavels" in text
    pts = {c.name: t.loc[pid, f"pts_{p}_{c.name}"] for c in res.profile.criteria if f"pts_{p}_{c.name}" in t}
    best = max(pts, key=lambda k: pts[k])
    label = next(c.label for c in res.profile.criteria if c.name == best)
    assert f"de meeste punten haalt het op {label.lower()}" in text
    assert "voldoet aan alle harde eisen" in text
    bad = str(t.index[t[f"excluded_{p}"] != ""][0]) if (t[f"excluded_{p}"] != "").any() else None
    if bad is not None:
        assert "valt af voor" in sentence(run, bad, p, res.profile)


def test_top_k_chance_is_not_applicable_with_fewer_eligible_plots(town: MapInputs, run_dir: Path) -> None:
    run = open_run(run_dir)
    page = render_memo(run, ["K0001", "K0002"])
    for p in run.profiles:
        col = next(
            (c for c in run.scores.columns if c.startswith("p_top") and c.endswith(f"_{p.name}")), None
        )
        if col is None:
            continue
        k = int(col.removeprefix("p_top").removesuffix(f"_{p.name}"))
        if p.eligible < k:
            assert f"{p.title}: maar {p.eligible} geschikte kavels, dus geen top {k} (n.v.t.)" in page
        else:
            assert f"kans top {k}:" in page


def test_unknown_profile_is_named(run_dir: Path) -> None:
    run = open_run(run_dir)
    with pytest.raises(
        UnknownNameError, match="no scores for senioren; profiles in it: prikkelarm, levendig"
    ):
        choose_profiles(run, ["senioren"])
    assert choose_profiles(run, ["levendig"]) == ["levendig"]
