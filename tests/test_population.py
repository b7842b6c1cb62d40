"""CBS neighbourhoods: reading files, spreading figures over homes, catchments within walking distances."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from sitefinder.errors import DataValidationError
from sitefinder.indicators.population import (
    catchment_sums,
    plot_neighbourhood,
    population_indicators,
    residential_points,
)
from sitefinder.io.cbs import join_figures, read_key_figures, read_neighbourhoods
from sitefinder.network import WalkNetwork, snap
from tests.conftest import SHARED, needs_shared

RD = CRS.from_epsg(28992)
X0, Y0 = 150_000.0, 480_000.0
ALMERE = SHARED / "almere"


def grid_network(x0: float, y0: float, nx_: int, ny: int, step: float) -> WalkNetwork:
    """A square grid of streets, ``step`` metres apart."""
    xy = np.array([(x0 + i * step, y0 + j * step) for j in range(ny) for i in range(nx_)], dtype=float)
    u, v = [], []
    for j in range(ny):
        for i in range(nx_):
            k = j * nx_ + i
            if i + 1 < nx_:
                u.append(k)
                v.append(k + 1)
            if j + 1 < ny:
                u.append(k)
                v.append(k + nx_)
    eu, ev = np.array(u), np.array(v)
    geom = shapely.linestrings(np.stack([xy[eu], xy[ev]], axis=1))
    return WalkNetwork(np.arange(len(xy)), xy, eu, ev, np.full(len(eu), step), geom)


def two_neighbourhoods() -> gpd.GeoDataFrame:
    """A (0-200 m) and B (200-400 m) along a street; B's 65+ count is suppressed by CBS."""
    return gpd.GeoDataFrame(
        {
            "buurt": ["A", "B"],
            "inwoners": [100.0, 60.0],
            "inwoners_65plus": [40.0, np.nan],
            "huishoudens": [40.0, 30.0],
            "eenpersoonshuishoudens": [10.0, 5.0],
            "share_65plus": [0.4, np.nan],
        },
        geometry=[
            shapely.box(X0, Y0, X0 + 200, Y0 + 100),
            shapely.box(X0 + 200, Y0, X0 + 400, Y0 + 100),
        ],
        index=pd.Index(["BU00000001", "BU00000002"], name="bu_code"),
        crs=RD,
    )


def test_spreading_over_buildings_then_polygon_is_exact() -> None:
    nbh = two_neighbourhoods()
    # Two homes in A (footprints 300 and 100 m²), an office that is no home, nothing in B.
    feats = gpd.GeoDataFrame(
        {"building": ["house", "apartments", "office"], "landuse": [None, None, None]},
        geometry=[
            shapely.box(X0 + 30, Y0 + 55, X0 + 50, Y0 + 70),  # 300 m², centre x = 40
            shapely.box(X0 + 145, Y0 + 30, X0 + 155, Y0 + 40),  # 100 m², centre x = 150
            shapely.box(X0 + 100, Y0 + 10, X0 + 120, Y0 + 20),
        ],
        crs=RD,
    )
    res = residential_points(nbh, feats, cell_m=50.0)
    assert res.basis.to_dict() == {"BU00000001": "buildings", "BU00000002": "polygon"}
    pts = res.points
    a = pts[pts["bu_code"] == "BU00000001"].sort_values("inwoners")
    assert a["inwoners"].tolist() == pytest.approx([25.0, 75.0])  # 100 x 100/400, 100 x 300/400
    assert a["inwoners_65plus"].tolist() == pytest.approx([10.0, 30.0])
    b = pts[pts["bu_code"] == "BU00000002"]
    assert len(b) == 8  # a 50 m grid in 200 x 100 m: 4 x 2 cell centres
    assert b["inwoners"].tolist() == pytest.approx([7.5] * 8)
    assert b["inwoners_65plus"].isna().all()  # unknown stays unknown, never 0
    sums = pts.groupby("bu_code")[["inwoners", "huishoudens"]].sum()
    assert sums.loc["BU00000001"].tolist() == pytest.approx([100.0, 40.0])
    assert sums.loc["BU00000002"].tolist() == pytest.approx([60.0, 30.0])


def test_catchments_sum_spread_figures_within_walking_distance() -> None:
    nbh = two_neighbourhoods()
    feats = gpd.GeoDataFrame(
        {"building": ["house", "apartments"]},
        geometry=[
            shapely.box(X0 + 30, Y0 + 55, X0 + 50, Y0 + 70),
            shapely.box(X0 + 145, Y0 + 30, X0 + 155, Y0 + 40),
        ],
        crs=RD,
    )
    res = residential_points(nbh, feats, cell_m=50.0)
    # One street along y = 50 from x = 0 to 400, nodes every 50 m.
    net = grid_network(X0, Y0 + 50, 9, 1, 50.0)
    plot = gpd.GeoDataFrame(
        {"plot_id": ["p"]}, geometry=[shapely.Point(X0, Y0 + 50).buffer(1.0)], crs=RD
    ).set_index("plot_id")
    plot_snap = snap(net, np.array([shapely.Point(X0, Y0 + 50)]), np.array([0]), 50.0)
    pts = res.points
    psnap = snap(net, pts.geometry.to_numpy(), np.arange(len(pts)), 100.0)
    vals = pts[["inwoners", "inwoners_65plus", "huishoudens"]].to_numpy()
    # By hand: house at x=40 is 40 + 12.5 (offset) = 52.5 m away; the flats at x=150:
    # 150 + 15 = 165 m; B's grid points from x=225 (225 + 25 = 250 m) to x=375.
    out = catchment_sums(net, plot_snap, 1, psnap, vals, [60.0, 200.0, 1000.0])
    assert out[0, 0].tolist() == pytest.approx([75.0, 30.0, 30.0])
    assert out[1, 0].tolist() == pytest.approx([100.0, 40.0, 40.0])
    assert out[2, 0, 0] == pytest.approx(160.0)  # everyone: both neighbourhoods' totals
    assert np.isnan(out[2, 0, 1])  # B's suppressed 65+ is within reach: unknown, not 40
    assert out[2, 0, 2] == pytest.approx(70.0)
    table = population_indicators(net, plot_snap, plot, nbh, res, [200.0], 100.0)
    assert table.loc["p", "pop_65plus_200m"] == 40
    assert table.loc["p", "buurt_code"] == "BU00000001"
    assert table.loc["p", "buurt_65plus_pct"] == 40.0


def test_plot_neighbourhood_largest_overlap_and_outside() -> None:
    nbh = two_neighbourhoods()
    plots = gpd.GeoDataFrame(
        geometry=[
            shapely.box(X0 + 150, Y0, X0 + 260, Y0 + 10),  # 50 m in A, 60 m in B
            shapely.box(X0 + 900, Y0, X0 + 910, Y0 + 10),  # outside both
        ],
        index=pd.Index(["x", "y"], name="plot_id"),
        crs=RD,
    )
    t = plot_neighbourhood(plots, nbh)
    assert t.loc["x", "buurt_code"] == "BU00000002"
    assert np.isnan(t.loc["x", "buurt_65plus"])
    assert pd.isna(t.loc["y", "buurt_code"]) and np.isnan(t.loc["y", "buurt_inwoners"])


def _write(path: Path, text: str, bom: bool = True) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


CSV_HEAD = (
    "ID;Perioden;WijkenEnBuurten;SoortRegio_2;AantalInwoners_5;k_65JaarOfOuder_12;HuishoudensTotaal_29\n"
)


def test_key_figures_suppressed_values_are_unknown(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "k.csv",
        CSV_HEAD
        + "1;2024JJ00;GM0034    ;Gemeente  ;1000;100;400\n"
        + "2;2024JJ00;BU00340101;Buurt     ;800;.;300\n"
        + "3;2024JJ00;BU00340102;Buurt     ;20;;   \n",
    )
    f = read_key_figures(p)
    assert f.attrs["year"] == 2024
    assert f.index.tolist() == ["BU00340101", "BU00340102"]
    assert f.loc["BU00340101", "inwoners"] == 800
    assert np.isnan(f.loc["BU00340101", "inwoners_65plus"])
    assert np.isnan(f.loc["BU00340102", "inwoners_65plus"])
    assert np.isnan(f.loc["BU00340102", "huishoudens"])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (CSV_HEAD.replace(";", ","), "separated by commas"),
        (CSV_HEAD.replace(";k_65JaarOfOuder_12", ""), "missing column(s) k_65JaarOfOuder"),
        (CSV_HEAD + "1;2024JJ00;WK003401;Wijk;5;1;2\n", "no neighbourhood rows"),
    ],
)
def test_key_figures_bad_input(tmp_path: Path, text: str, needle: str) -> None:
    p = _write(tmp_path / "bad.csv", text)
    with pytest.raises(DataValidationError, match=needle.replace("(", r"\(").replace(")", r"\)")) as exc:
        read_key_figures(p)
    assert str(p) in str(exc.value) and "\n" not in str(exc.value)


def test_codes_that_do_not_match_the_polygons(tmp_path: Path) -> None:
    p = _write(tmp_path / "k.csv", CSV_HEAD + "2;2024JJ00;BU00349999;Buurt;800;80;300\n")
    with pytest.raises(DataValidationError, match="only 0 of 2 neighbourhood codes match"):
        join_figures(two_neighbourhoods(), read_key_figures(p), str(p))


@needs_shared
def test_almere_cbs_files_load_and_catchments_match_totals() -> None:
    nbh = read_neighbourhoods(ALMERE / "buurten-cbs-2012.geojson", RD)
    assert len(nbh) == 63 and nbh.index.str.startswith("BU0034").all()
    fig = read_key_figures(ALMERE / "cbs-kerncijfers-wijken-buurten-2018-2025.csv", year=2021)
    assert fig.attrs["years"] == list(range(2018, 2026))
    joined = join_figures(nbh, fig, "kerncijfers")
    assert joined["inwoners"].notna().all()
    # The 2025 figures use a newer neighbourhood division: most codes do not match.
    latest = read_key_figures(ALMERE / "cbs-kerncijfers-wijken-buurten-2018-2025.csv")
    with pytest.raises(DataValidationError, match="--neighbourhood-year"):
        join_figures(nbh, latest, "kerncijfers")
    res = residential_points(joined, None, cell_m=200.0)
    total = joined[["inwoners", "huishoudens"]].sum()
    spread = res.points[["inwoners", "huishoudens"]].sum()
    assert spread.tolist() == pytest.approx(total.tolist(), rel=1e-12)
    # A 250 m street grid over the whole municipality; plots at four corners and the middle.
    x0, y0, x1, y1 = joined.total_bounds
    step = 250.0
    net = grid_network(x0, y0, int((x1 - x0) // step) + 2, int((y1 - y0) // step) + 2, step)
    centres = [(x0, y0), (x1, y0), (x0, y1), (x1, y1), ((x0 + x1) / 2, (y0 + y1) / 2)]
    pts = np.array([shapely.Point(x, y) for x, y in centres])
    plot_snap = snap(net, pts, np.arange(len(pts)), 250.0)
    psnap = snap(net, res.points.geometry.to_numpy(), np.arange(len(res.points)), 250.0)
    assert psnap.ok.all()
    vals = res.points[["inwoners", "huishoudens"]].to_numpy()
    out = catchment_sums(net, plot_snap, len(pts), psnap, vals, [1000.0, 3000.0, 1e6])
    # With an unbounded distance every plot's catchment holds the whole municipality.
    assert out[2, :, 0] == pytest.approx([total["inwoners"]] * len(pts), rel=1e-9)
    assert out[2, :, 1] == pytest.approx([total["huishoudens"]] * len(pts), rel=1e-9)
    assert (out[0] <= out[1] + 1e-9).all() and (out[1] <= out[2] + 1e-9).all()
    assert out[1, 4, 0] > 0  # the middle of the city has people within 3 km


def test_cli_bad_figures_file_fails_fast_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sitefinder.cli import main

    nbh = two_neighbourhoods().reset_index().rename(columns={"bu_code": "BU_CODE", "buurt": "BU_NAAM"})
    buurten = tmp_path / "buurten.gpkg"
    nbh[["BU_CODE", "BU_NAAM", "geometry"]].to_file(buurten)
    bad = _write(tmp_path / "k.csv", CSV_HEAD.replace(";", ","))
    # The OSM file does not exist: the figures are checked first, before any long work.
    code = main(["run", "--osm", str(tmp_path / "absent.osm"), "--out", str(tmp_path / "o"),
                 "--neighbourhoods", str(buurten), "--neighbourhood-figures", str(bad)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert err.startswith("sitefinder: error: neighbourhood figures file") and "Traceback" not in err
    assert str(bad) in err and "';'-separated" in err


def test_key_figures_without_a_period_column_take_the_stated_year(tmp_path: Path) -> None:
    # The CBS open-data table of one year has no Perioden column: the region's year is a label.
    head = "ID;WijkenEnBuurten;SoortRegio_2;AantalInwoners_5;k_65JaarOfOuder_12;HuishoudensTotaal_29\n"
    p = _write(tmp_path / "k.csv", head + "1;BU00340101;Buurt;800;80;300\n")
    f = read_key_figures(p, year=2024)
    assert f.attrs["year"] == 2024 and f.loc["BU00340101", "inwoners_65plus"] == 80
