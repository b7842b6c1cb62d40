"""The indicator-stage cache: a hit gives what the computation gave, a broken or old entry is rebuilt, a change misses."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity

from sitefinder.categories import load_categories
from sitefinder.config import RunConfig
from sitefinder.pipeline import BaseIndicators, indicator_stage, load
from tests.test_featurecache import _town
from tests.tinytown import plots_frame


def _setup(tmp_path: Path, **cfg_options: object) -> tuple[object, RunConfig]:
    osm_path = _town(tmp_path / "town")
    plots = tmp_path / "plots.gpkg"
    if not plots.exists():
        # P9 lies far outside the town: it snaps to nothing, and the run warns about it.
        far = plots_frame(["P1", "P2", "P3", "P4", "P9"])
        far.loc[4, "geometry"] = shapely.affinity.translate(far.geometry.iloc[4], 5000.0, 5000.0)
        far.to_file(plots, layer="plots")
    cfg = RunConfig(osm_file=osm_path, plots_file=plots, cache_dir=tmp_path / "cache", out_dir=tmp_path / "o",
                    **cfg_options)  # type: ignore[arg-type]  # fmt: skip
    return load(cfg, load_categories()), cfg


def _entries(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "cache" / "indicators"
    return sorted(folder.iterdir()) if folder.exists() else []


def _same(a: BaseIndicators, b: BaseIndicators) -> None:
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.routes is not None and b.routes is not None
    assert a.routes.categories == b.routes.categories
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.routes.table.drop(columns="geometry")),
        pd.DataFrame(b.routes.table.drop(columns="geometry")),
    )
    assert a.routes.table.geometry.to_wkb().tolist() == b.routes.table.geometry.to_wkb().tolist()
    nets_a = {"walk": (a.network, a.access), **a.access.other_networks}
    nets_b = {"walk": (b.network, b.access), **b.access.other_networks}
    assert list(nets_a) == list(nets_b)
    for name, (na, ra) in nets_a.items():
        nb, rb = nets_b[name]
        for f in ("edge_u", "edge_v", "edge_len", "node_xy"):
            assert np.array_equal(getattr(na, f), getattr(nb, f)), (name, f)
        assert na.edge_geom.tolist() == nb.edge_geom.tolist()
        pd.testing.assert_frame_equal(ra.table, rb.table)
        assert ra.unreachable_amenities == rb.unreachable_amenities
        for s in ("plot_snap", *(f"amenity_snaps.{c}" for c in ra.amenity_snaps)):
            sa = ra.plot_snap if s == "plot_snap" else ra.amenity_snaps[s.split(".")[1]]
            sb = rb.plot_snap if s == "plot_snap" else rb.amenity_snaps[s.split(".")[1]]
            for f in ("owner", "edge", "along", "offset"):
                assert np.array_equal(getattr(sa, f), getattr(sb, f)), (name, s, f)
        assert sorted(ra.node_dist) == sorted(rb.node_dist)
        for c in ra.node_dist:
            assert np.array_equal(ra.node_dist[c], rb.node_dist[c]), (name, c)


def test_a_hit_gives_what_the_computation_gave(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    registry = load_categories()
    data, cfg = _setup(tmp_path)
    # Without a network key nothing is cached: computed from scratch.
    plain = indicator_stage(replace(data, network_key=None), registry, cfg, ["wheelchair"])
    assert not _entries(tmp_path)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sitefinder"):
        cold = indicator_stage(data, registry, cfg, ["wheelchair"])
    cold_warnings = [r.getMessage() for r in caplog.records]
    assert any("P9" in m for m in cold_warnings), "the far plot is reported"
    cold_sources = json.loads(json.dumps(data.sources, default=str))
    # A new load (as a warm run makes it), then the stage from the cache.
    data2, _ = _setup(tmp_path)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sitefinder"):
        warm = indicator_stage(data2, registry, cfg, ["wheelchair"])
    assert "Indicators of 5 plots (and their routes) reused from cache" in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == cold_warnings
    assert json.loads(json.dumps(data2.sources, default=str)) == cold_sources
    assert "wheelchair" in data2.sources["mobility"]
    _same(plain, cold)
    _same(plain, warm)
    # The far plot has no walking distance, from the cache too.
    assert np.isnan(warm.table.loc["P9", "dist_supermarket_m"])
    assert not warm.access.plot_snap.owners_reached(len(data2.plots))[4]
    assert len(_entries(tmp_path)) == 1


def test_broken_or_old_entry_is_rebuilt_and_changes_miss(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = load_categories()
    data, cfg = _setup(tmp_path)
    base = indicator_stage(data, registry, cfg)
    (folder,) = _entries(tmp_path)
    raw = bytearray((folder / "access.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (folder / "access.npz").write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="sitefinder"):
        again = indicator_stage(load(cfg, registry), registry, cfg)
    assert "not used" in caplog.text
    _same(base, again)
    entry = json.loads((folder / "entry.json").read_text("utf-8"))
    entry["schema"] = 0
    (folder / "entry.json").write_text(json.dumps(entry), "utf-8")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sitefinder"):
        indicator_stage(load(cfg, registry), registry, cfg)
    assert "schema 0" in caplog.text and "Indicators of 5 plots (and their routes) reused" not in caplog.text
    assert len(_entries(tmp_path)) == 1
    # Other parameters, another mobility or other amenities: computed again, in new entries.
    tight = cfg.model_copy(update={"max_snap_m": 30.0, "count_within_m": (200.0,)})
    small = indicator_stage(load(tight, registry), registry, tight)
    assert list(small.table.filter(like="n_supermarket_").columns) == ["n_supermarket_200m"]
    indicator_stage(load(cfg, registry), registry, cfg, ["wheelchair"])
    full = load(cfg, registry)
    fewer = replace(full, amenities=full.amenities.iloc[1:])
    indicator_stage(fewer, registry, cfg)
    assert len(_entries(tmp_path)) == 4
