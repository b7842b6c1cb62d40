"""The suitability-surface cache: reused for the same inputs, rebuilt for changed ones or a broken entry."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sitefinder.scoring.profiles import parse_profile
from sitefinder.surfaces import suitability_surfaces
from tests.test_surfaces import TOY_PROFILE, _toy_town


def _same(a: dict, b: dict) -> None:  # type: ignore[type-arg]
    assert list(a) == list(b)
    for name, s in a.items():
        assert np.array_equal(s.score, b[name].score, equal_nan=True)
        assert np.array_equal(s.eligible, b[name].eligible)
        assert np.array_equal(s.judged, b[name].judged)
        assert s.transform == b[name].transform and s.skipped == b[name].skipped


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "surfaces").iterdir())


def test_surfaces_are_reused_and_equal_the_computed_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, net, node_dist, snaps = _toy_town()
    prof = parse_profile(TOY_PROFILE, "toy.toml")
    plain = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=100.0)
    with caplog.at_level(logging.INFO, logger="sitefinder"):
        first = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=100.0, cache_dir=tmp_path)
        assert "computed" in caplog.text and "from the cache" not in caplog.text
        caplog.clear()
        again = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=100.0, cache_dir=tmp_path)
        assert "from the cache" in caplog.text
    _same(plain, first)
    _same(plain, again)
    assert len(_entries(tmp_path)) == 1
    # The per-profile provenance comes back; the run's own part (inputs, time) is made again.
    assert again["toy"].provenance["weights"] == plain["toy"].provenance["weights"]
    assert again["toy"].provenance["inputs"] == data.sources


def test_changed_inputs_give_another_entry(tmp_path: Path) -> None:
    data, net, node_dist, snaps = _toy_town()
    prof = parse_profile(TOY_PROFILE, "toy.toml")
    base = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=100.0, cache_dir=tmp_path)
    # Another weight: another surface, never the cached one.
    heavier = parse_profile(
        TOY_PROFILE.replace(
            'weight = 1\nfunction = { type = "decay"', 'weight = 5\nfunction = { type = "decay"'
        ),
        "toy.toml",
    )
    other = suitability_surfaces([heavier], data, net, node_dist, snaps, cell_m=100.0, cache_dir=tmp_path)
    assert len(_entries(tmp_path)) == 2
    assert not np.array_equal(base["toy"].score, other["toy"].score, equal_nan=True)
    # Louder noise in one corner: another entry too.
    lden = data.noise.lden.copy()
    lden[:20, :20] = 70.0
    louder = replace(data, noise=replace(data.noise, lden=lden))
    suitability_surfaces([prof], louder, net, node_dist, snaps, cell_m=100.0, cache_dir=tmp_path)
    # And another cell size.
    suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=50.0, cache_dir=tmp_path)
    assert len(_entries(tmp_path)) == 4


def test_a_broken_or_other_schema_entry_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data, net, node_dist, snaps = _toy_town()
    prof = parse_profile(TOY_PROFILE, "toy.toml")
    plain = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=100.0, cache_dir=tmp_path)
    (entry,) = _entries(tmp_path)
    npz = entry / "surfaces.npz"
    npz.write_bytes(npz.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    with caplog.at_level(logging.WARNING, logger="sitefinder"):
        again = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=100.0, cache_dir=tmp_path)
    assert "does not match its recorded SHA-256" in caplog.text
    _same(plain, again)
    record = json.loads((entry / "entry.json").read_text())
    record["schema"] += 1
    (entry / "entry.json").write_text(json.dumps(record))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sitefinder"):
        third = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=100.0, cache_dir=tmp_path)
    assert "expected 'surfaces'" in caplog.text
    _same(plain, third)


def test_tiled_surfaces_equal_the_whole_grid() -> None:
    data, net, node_dist, snaps = _toy_town()
    prof = parse_profile(TOY_PROFILE, "toy.toml")
    whole = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=50.0)
    # A budget so small that every band is one row of cells (20 tiles).
    tiled = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=50.0, tile_budget_mb=1e-6)
    _same(whole, tiled)
    assert whole["toy"].provenance["weights"] == tiled["toy"].provenance["weights"]
    assert np.isfinite(tiled["toy"].score).sum() > 300 and tiled["toy"].eligible.any()
