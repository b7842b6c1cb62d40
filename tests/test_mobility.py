"""Mobility networks: the wheelchair rules, and two routes to a supermarket of which one has steps."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from sitefinder.categories import load_categories
from sitefinder.config import RunConfig
from sitefinder.mobility import incline_pct, metres, node_blocks, wheelchair_factor
from sitefinder.pipeline import compute_indicators, load

X0, Y0 = 155_000.0, 463_000.0  # Amersfoort, RD New
TO_WGS = Transformer.from_crs(28992, 4326, always_xy=True)


@pytest.mark.parametrize(
    ("tags", "factor"),
    [
        ({"highway": "footway"}, 1.0),
        ({"highway": "steps"}, math.inf),
        ({"highway": "steps", "ramp": "yes"}, math.inf),  # a ramp for bicycles or prams is no wheelchair ramp
        ({"highway": "footway", "wheelchair": "no"}, math.inf),
        ({"highway": "footway", "wheelchair": "limited"}, 1.5),
        ({"highway": "footway", "footway": "crossing", "kerb": "raised"}, math.inf),
        ({"highway": "footway", "kerb": "lowered"}, 1.0),
        ({"highway": "footway", "incline": "8%"}, math.inf),
        ({"highway": "footway", "incline": "-5%"}, 1.0),
        ({"highway": "footway", "incline": "up"}, 1.0),
        ({"highway": "path", "surface": "sand"}, math.inf),
        ({"highway": "path", "surface": "cobblestone"}, 2.0),
        ({"highway": "path", "surface": ["asphalt", "sett"]}, 1.5),  # osmnx merged two ways
        ({"highway": "footway", "width": "0.8"}, math.inf),
        ({"highway": "footway", "width": "1.2 m"}, 1.0),
    ],
)
def test_wheelchair_rules(tags: dict[str, object], factor: float) -> None:
    assert wheelchair_factor(tags) == factor


def test_tag_parsing_and_node_kerbs() -> None:
    assert incline_pct("10°") == pytest.approx(17.63, abs=0.01)
    assert metres("80 cm") == pytest.approx(0.8) and metres("2,5") == pytest.approx(2.5)
    assert node_blocks("wheelchair", {"kerb": "raised"}) and not node_blocks("wheelchair", {"kerb": "flush"})
    assert not node_blocks("walk", {"kerb": "raised"})


def _osm(
    path: Path,
    nodes: dict[int, tuple[float, float, dict[str, str]]],
    ways: list[tuple[list[int], dict[str, str]]],
) -> Path:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (x, y, tags) in nodes.items():
        lon, lat = TO_WGS.transform(x, y)
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(f'<node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}">{body}</node>')
    for wid, (nds, tags) in enumerate(ways, start=1):
        body = "".join(f'<nd ref="{n}"/>' for n in nds) + "".join(
            f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()
        )
        out.append(f'<way id="{wid}" version="1">{body}</way>')
    out.append("</osm>")
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def test_walk_takes_the_steps_wheelchair_the_ramp(tmp_path: Path) -> None:
    # A footway west-east 200 m with a flight of steps in the middle (x = 90..110 m); a
    # ramp route around it: up 60 m, east 200 m, down 60 m (320 m). The supermarket sits
    # at the east end; the plot at the west end.
    nodes: dict[int, tuple[float, float, dict[str, str]]] = {}
    line = list(range(1, 12))  # x = 0, 20, ..., 200
    for i, nid in enumerate(line):
        nodes[nid] = (X0 + 20.0 * i, Y0, {})
    nodes[5] = (X0 + 90.0, Y0, {})  # steps from x = 90 to 110 (nodes 5 and 6)
    nodes[6] = (X0 + 110.0, Y0, {})
    ramp = [100 + j for j in range(1, 12)]
    for j, nid in enumerate(ramp):
        nodes[nid] = (X0 + 20.0 * j, Y0 + 60.0, {})
    nodes[11] = (X0 + 200.0, Y0, {"shop": "supermarket", "name": "Super"})
    # Short dead-end paths south (garden gates): they keep the network above the size of
    # the fragments the loader drops, and change no shortest route.
    spurs = [2, 3, 4, 8, 9, 10]
    for nid in spurs:
        nodes[200 + nid] = (nodes[nid][0], Y0 - 10.0, {})
    ways = [
        (line[:5], {"highway": "footway"}),
        ([5, 6], {"highway": "steps"}),
        (line[5:], {"highway": "footway"}),
        ([1, ramp[0]], {"highway": "footway", "incline": "4%"}),
        (ramp, {"highway": "footway", "surface": "asphalt"}),
        ([ramp[-1], 11], {"highway": "footway"}),
        *[([nid, 200 + nid], {"highway": "footway"}) for nid in spurs],
    ]
    osm_file = _osm(tmp_path / "two-routes.osm", nodes, ways)
    plots = tmp_path / "plots.geojson"
    gpd.GeoDataFrame(
        {"plot_id": ["west"]}, geometry=[shapely.Point(X0 + 10.0, Y0 + 2.0).buffer(1.0)], crs=28992
    ).to_file(plots, driver="GeoJSON")
    cfg = RunConfig(osm_file=osm_file, plots_file=plots, cache_dir=tmp_path / "cache", model_noise=False)
    registry = load_categories()
    data = load(cfg, registry)
    table, _, _ = compute_indicators(data, registry, cfg, ["wheelchair"])
    walk = float(table.loc["west", "dist_supermarket_m"])
    wheel = float(table.loc["west", "dist_supermarket_wheelchair_m"])
    # Independently: the plot (a 1 m circle 2 m north of the line at x = 10) is 1 m off
    # the line; walking goes 190 m east over the steps, the wheelchair 10 m back west,
    # then the ramp route of 60 + 200 + 60 m.
    assert walk == pytest.approx(1.0 + 190.0, abs=1.0)
    assert wheel == pytest.approx(1.0 + 10.0 + 60.0 + 200.0 + 60.0, abs=1.0)
    assert table.loc["west", "time_supermarket_min"] == pytest.approx(round(walk / (3600 / 60), 1))
    assert table.loc["west", "time_supermarket_wheelchair_min"] == pytest.approx(
        round(wheel / (3000 / 60), 1)
    )
    info = data.sources["mobility"]["wheelchair"]
    assert info["edges_excluded"] == 1 and info["share_surface"] == pytest.approx(
        200 / 580, abs=0.01
    )  # spurs: 6 x 10 m
    assert info["share_incline"] == pytest.approx(60 / 580, abs=0.01)
    assert np.isfinite(table.filter(like="_wheelchair_").to_numpy(dtype=float)).any()
