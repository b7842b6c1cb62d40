"""Stops and tunnels on an OSM file the test writes: distances to real stop objects, counts per stop.

The town: a 1 km street grid (RD New offset by X0, Y0), a plot P with a railway tunnel
under it and open track 400 m to the east, and a plot Q whose north edge is a footway
with a station platform 5 m beyond it. The station (platforms, stop positions on an
underground track, a bus platform) spreads over 150 m and is one stop_area relation.
Expected numbers follow from the coordinates (shapely by hand), not from sitefinder.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from sitefinder.cli import main
from sitefinder.osmrules import underground, underground_mask
from tests.osmfile import OsmFile

X0, Y0 = 150_000.0, 450_000.0
P_BOX = (420.0, 420.0, 480.0, 480.0)
Q_BOX = (105.0, 715.0, 155.0, 765.0)
OPEN_TRACK_X = 880.0
STATION = "Station Proef"


def _build(osm: OsmFile) -> dict[str, object]:
    ids: dict[tuple[float, float], int] = {}

    def nd(x: float, y: float) -> int:
        key = (x, y)
        if key not in ids:
            ids[key] = osm.node(X0 + x, Y0 + y)
        return ids[key]

    steps = [float(v) for v in range(0, 1001, 100)]
    for x in steps:  # north-south streets, with a node where the footway at y = 765 crosses
        ys = sorted([*steps, 765.0]) if x <= 300 else steps
        osm.way([nd(x, y) for y in ys], {"highway": "residential", "name": f"Laan {int(x)}"})
    for y in steps:
        osm.way([nd(x, y) for x in steps], {"highway": "residential", "name": f"Straat {int(y)}"})
    # The footway along Q's north edge, sharing nodes with the streets it crosses.
    foot = sorted({0.0, 100.0, 105.0, 130.0, 155.0, 200.0, 300.0})
    osm.way([nd(x, 765.0) for x in foot], {"highway": "footway"})
    # Railway: in a tunnel under P, open 400 m east of P's east edge.
    osm.way([(X0 + 450, Y0 - 50), (X0 + 450, Y0 + 1050)], {"railway": "rail", "tunnel": "yes", "layer": "-1"})
    osm.way([(X0 + OPEN_TRACK_X, Y0 - 50), (X0 + OPEN_TRACK_X, Y0 + 1050)], {"railway": "rail"})
    # The station: an underground track with two stop positions, two platforms, a bus platform.
    track = osm.way(
        [(X0 + 50, Y0 + 820), (X0 + 300, Y0 + 820)],
        {"railway": "rail", "tunnel": "yes", "layer": "-2", "location": "underground"},
    )
    members = [
        osm.node(
            X0 + 130, Y0 + 770, {"public_transport": "platform", "railway": "platform", "name": STATION}
        ),
        osm.node(X0 + 130, Y0 + 820, {"public_transport": "stop_position", "train": "yes", "name": STATION}),
        osm.node(X0 + 230, Y0 + 820, {"public_transport": "stop_position", "train": "yes", "name": STATION}),
        osm.node(
            X0 + 230, Y0 + 840, {"public_transport": "platform", "railway": "platform", "name": STATION}
        ),
        osm.node(
            X0 + 250, Y0 + 810, {"highway": "bus_stop", "public_transport": "platform", "name": "Proef Bus"}
        ),
    ]
    osm.relation(
        [*(("node", m, "platform") for m in members), ("way", track, "")],
        {"type": "public_transport", "public_transport": "stop_area", "name": STATION},
    )
    # A bus stop on both sides of a street, same name, no stop_area relation: one stop.
    osm.node(X0 + 395, Y0 + 700, {"highway": "bus_stop", "name": "Kerk"})
    osm.node(X0 + 405, Y0 + 725, {"highway": "bus_stop", "name": "Kerk"})
    # And a lone stop north of Q.
    osm.node(X0 + 130, Y0 + 1000, {"highway": "bus_stop", "name": "Dorpsplein"})
    return {"members": members}


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("stops")
    osm = OsmFile()
    _build(osm)
    src = osm.write(tmp / "proef.osm", bounds=(X0 - 200, Y0 - 200, X0 + 1200, Y0 + 1200))
    plots = [shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in (P_BOX, Q_BOX)]
    gpd.GeoDataFrame({"plot_id": ["P", "Q"]}, geometry=plots, crs=28992).to_file(tmp / "plots.gpkg")
    rc = main(["-q", "run", "--osm", str(src), "--plots", str(tmp / "plots.gpkg"), "--out", str(tmp / "out"),
               "--cache", str(tmp / "cache"), "--layers", str(tmp / "layers"), "--tiles", "none",
               "--profile", "levendig"])  # fmt: skip
    assert rc == 0
    return tmp / "out"


def _scores(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "scores.csv", dtype={"plot_id": str}).set_index("plot_id")


def test_rail_tunnel_is_no_nuisance(town: Path) -> None:
    df = _scores(town)
    plot = shapely.box(X0 + P_BOX[0], Y0 + P_BOX[1], X0 + P_BOX[2], Y0 + P_BOX[3])
    track = shapely.LineString([(X0 + OPEN_TRACK_X, Y0 - 50), (X0 + OPEN_TRACK_X, Y0 + 1050)])
    expect = plot.distance(track)
    assert expect == pytest.approx(400.0)
    # Through WGS84 and back the coordinates move by millimetres; the tunnel under P is ignored.
    assert df.loc["P", "dist_railway_straight_m"] == pytest.approx(expect, abs=1.0)


def test_distance_goes_to_the_platform_beside_the_plot(town: Path) -> None:
    df = _scores(town)
    # The platform node lies 5 m north of the footway that is Q's north edge, right at an
    # access point of the plot (x = 130): the walk is those 5 m.
    plot = shapely.box(X0 + Q_BOX[0], Y0 + Q_BOX[1], X0 + Q_BOX[2], Y0 + Q_BOX[3])
    expect = plot.distance(shapely.Point(X0 + 130, Y0 + 770))
    assert expect == pytest.approx(5.0)
    assert df.loc["Q", "dist_pt_stop_m"] == pytest.approx(expect, abs=1.0)


def test_station_counts_once(town: Path) -> None:
    df = _scores(town)
    # Within 500 m walking of Q: the station (five objects over 150 m, one stop_area), the
    # "Kerk" stop (two objects of one name) and "Dorpsplein": three stops.
    assert df.loc["Q", "n_pt_stop_500m"] == 3


def test_underground_rule() -> None:
    assert underground(tunnel="yes") and underground(tunnel="culvert")
    assert not underground(tunnel="no") and not underground(tunnel="building_passage")
    assert underground(covered="yes") and not underground(covered="no")
    assert underground(layer="-2", location="underground")
    assert not underground(layer="-1") and not underground(layer="1", location="underground")
    assert underground(tunnel=["no", "yes"])  # osmnx merges ways into lists
    frame = pd.DataFrame({"tunnel": [None, "yes", np.nan], "layer": ["-1", None, "-1"],
                          "location": ["underground", None, None]})  # fmt: skip
    assert underground_mask(frame).tolist() == [True, True, False]
    assert underground_mask(pd.DataFrame(index=range(2))).tolist() == [False, False]
