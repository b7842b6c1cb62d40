"""The sample town's steps and CBS files: wheelchair distances never shorter, different at the steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import osmium
import pytest

from sitefinder.categories import load_categories
from sitefinder.config import RunConfig
from sitefinder.io.cbs import read_key_figures, read_neighbourhoods
from sitefinder.pipeline import compute_indicators, load, load_neighbourhoods


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from sitefinder.sample import generate_sample

    root = tmp_path_factory.mktemp("steps-town")
    res = generate_sample(root / "data", seed=42, scale=0.5)
    cfg = RunConfig(
        osm_file=res.osm_path,
        plots_file=res.plots_path,
        cache_dir=root / "cache",
        model_noise=False,
        neighbourhoods_file=res.neighbourhoods_path,
        neighbourhood_figures_file=res.figures_path,
    )
    registry = load_categories()
    nbh, info = load_neighbourhoods(cfg)
    data = load(cfg, registry, nbh)
    data.sources["neighbourhoods"] = info
    table, _, _ = compute_indicators(data, registry, cfg, ["wheelchair"])
    return {"res": res, "table": table, "data": data, "registry": registry}


def test_sample_has_stepped_bridges_and_station_lifts(town: dict[str, Any]) -> None:
    res = town["res"]
    steps = [
        w.id
        for w in osmium.FileProcessor(str(res.osm_path), osmium.osm.WAY)
        if w.tags.get("highway") == "steps"
    ]
    lifts = [
        n.id
        for n in osmium.FileProcessor(str(res.osm_path), osmium.osm.NODE)
        if n.tags.get("highway") == "elevator"
    ]
    assert len(steps) == res.amenities["bridges_with_steps"] + res.amenities["station_lifts"] >= 2
    assert len(lifts) == res.amenities["station_lifts"] >= 1
    assert town["data"].sources["mobility"]["wheelchair"]["edges_excluded"] >= len(steps) - 1


def test_beperking_distances_never_shorter_and_differ_at_steps(town: dict[str, Any]) -> None:
    table = town["table"]
    differ = 0
    for cat in town["registry"].names:
        walk = table[f"dist_{cat}_m"].to_numpy(dtype=float)
        wheel = table[f"dist_{cat}_wheelchair_m"].to_numpy(dtype=float)
        both = np.isfinite(walk) & np.isfinite(wheel)
        assert (wheel[both] >= walk[both] - 0.05).all(), cat  # rounding of the columns to 0.1 m
        assert not (np.isfinite(walk) & ~np.isfinite(wheel)).any() or cat == "coffeeshop"
        differ += int((wheel[both] > walk[both] + 1.0).sum())
        speed = {"": 3.6, "_wheelchair": 3.0}
        for sfx, kmh in speed.items():
            mins = table[f"time_{cat}{sfx}_min"].to_numpy(dtype=float)
            dist = table[f"dist_{cat}{sfx}_m"].to_numpy(dtype=float)
            ok = np.isfinite(dist)
            assert mins[ok] == pytest.approx(np.round(dist[ok] / (kmh * 1000 / 60), 1))
    assert differ > 0, "the stairs should lengthen some wheelchair routes"


def test_sample_cbs_files_have_the_cbs_layout(town: dict[str, Any]) -> None:
    res = town["res"]
    raw = res.figures_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.split(b"\n", 1)[0]
    header = raw[3:].split(b"\r\n", 1)[0].decode()
    for col in ("k_0Tot15Jaar_8", "k_65JaarOfOuder_12", "HuishoudensTotaal_29", "SoortRegio_2"):
        assert col in header
    nbh = read_neighbourhoods(Path(res.neighbourhoods_path), town["data"].crs)
    fig = read_key_figures(Path(res.figures_path))
    assert set(nbh.index) == set(fig.index) and nbh.index.str.match(r"^BU9999\d{4}$").all()
    assert fig["inwoners_65plus"].isna().sum() == 1  # the smallest buurt, suppressed as CBS does
    assert int(fig["inwoners"].sum()) == pytest.approx(res.inhabitants, rel=0.02)
    table = town["table"]
    assert (table["pop_total_1000m"].dropna() <= fig["inwoners"].sum()).all()
    assert table["buurt_code"].notna().all()


def test_wheelchair_node_distances_are_cached_and_equal(town: dict[str, Any], tmp_path: Path) -> None:
    data, registry = town["data"], town["registry"]
    cache = tmp_path / "cache"
    cfg = RunConfig(osm_file=town["res"].osm_path, cache_dir=cache, model_noise=False)
    first, _, _ = compute_indicators(data, registry, cfg, ["wheelchair"])
    folders = [p for p in (cache / "network").iterdir() if "-wheelchair-" in p.name]
    assert len(folders) == 1 and len(list((folders[0] / "dist").glob("*.npy"))) == len(registry.names)
    again, _, _ = compute_indicators(data, registry, cfg, ["wheelchair"])
    cols = [c for c in first.columns if c.endswith("_wheelchair_m")]
    assert cols and first[cols].equals(again[cols]) and first[cols].equals(town["table"][cols])
