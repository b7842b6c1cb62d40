"""Suitability surfaces, and the scoring of the generated sample town end to end.

The first part runs on a toy street grid built here. The second part generates the
sample town (``sitefinder.sample``) and runs the whole pipeline on it: the prikkelarm
and levendig top 5 differ, every top plot's explanation names the criteria that put
it there, and the prikkelarm surface is low along the motorway and in the centre.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS

from sitefinder.datatypes import NoiseGrid, StudyData
from sitefinder.network import WalkNetwork, node_distances, snap
from sitefinder.scoring.explain import explain
from sitefinder.scoring.profiles import parse_profile
from sitefinder.surfaces import (
    PROVENANCE_TAG,
    cell_grid,
    cell_indicators,
    sample_noise,
    score_cells,
    suitability_surfaces,
    write_surface,
)
from tests.conftest import SampleRun

RD = CRS.from_epsg(28992)
X0, Y0 = 150_000.0, 450_000.0


def test_cell_grid_is_aligned_and_masked() -> None:
    area = shapely.Polygon([(X0 + 10, Y0 + 10), (X0 + 990, Y0 + 10), (X0 + 10, Y0 + 490)])
    g = cell_grid(area, RD, 50.0)
    assert g.transform.c % 50 == 0 and g.transform.f % 50 == 0
    assert g.shape == (10, 20)
    x, y = g.centres()
    assert len(x) == int(g.inside.sum()) > 0
    assert shapely.contains_xy(area, x, y).all()
    assert not g.inside[0, -1]  # the triangle's empty corner


def test_sample_noise_reads_the_cell_under_a_point() -> None:
    lden = np.arange(12, dtype=np.float32).reshape(3, 4)
    lden[0, 0] = np.nan
    grid = NoiseGrid(lden=lden, transform=Affine(10, 0, X0, 0, -10, Y0 + 30), crs=RD)
    got = sample_noise(
        grid, np.array([X0 + 15, X0 + 39, X0 + 5, X0 + 50]), np.array([Y0 + 25, Y0 + 1, Y0 + 25, Y0])
    )
    assert got[:2].tolist() == [1.0, 11.0]
    assert np.isnan(got[2]) and np.isnan(got[3])


def _toy_town() -> tuple[StudyData, WalkNetwork, dict[str, np.ndarray], dict]:
    """A 1 km square street grid (100 m blocks), a supermarket in the south-west, a bar in the north-east."""
    xs = X0 + np.arange(0, 1001, 100.0)
    ids, xy = [], []
    for j, y in enumerate(Y0 + np.arange(0, 1001, 100.0)):
        for i, x in enumerate(xs):
            ids.append(j * 11 + i)
            xy.append((x, y))
    xy_a = np.array(xy)
    us, vs = [], []
    for j in range(11):
        for i in range(11):
            n = j * 11 + i
            if i < 10:
                us.append(n)
                vs.append(n + 1)
            if j < 10:
                us.append(n)
                vs.append(n + 11)
    u, v = np.array(us), np.array(vs)
    geoms = shapely.linestrings(np.stack([xy_a[u], xy_a[v]], axis=1))
    net = WalkNetwork(
        node_ids=np.array(ids),
        node_xy=xy_a,
        edge_u=u,
        edge_v=v,
        edge_len=np.full(len(u), 100.0),
        edge_geom=geoms,
    )
    amen = gpd.GeoDataFrame(
        {"category": ["supermarket", "nightlife"], "osm_id": ["n1", "n2"]},
        geometry=[shapely.Point(X0 + 50, Y0 + 5), shapely.Point(X0 + 950, Y0 + 995)],
        crs=RD,
    )
    snaps = {
        c: snap(net, amen.geometry[amen["category"] == c].to_numpy(), np.array([0]), 250.0)
        for c in ("supermarket", "nightlife")
    }
    nd = node_distances(net, [snaps["supermarket"], snaps["nightlife"]])
    node_dist = {"supermarket": nd[0], "nightlife": nd[1]}
    nuisance = gpd.GeoDataFrame(
        {"kind": ["nightlife"], "osm_id": ["n2"]}, geometry=[amen.geometry[1]], crs=RD
    )
    # Noise: loud (65 dB) along the southern edge, 45 dB elsewhere, no data in the far east
    # (100 m: a 50 m cell takes the mean over its own square, so the easternmost cells
    # have no level at all).
    lden = np.full((105, 105), 45.0, dtype=np.float32)
    lden[-10:, :] = 65.0
    lden[:, -10:] = np.nan
    noise = NoiseGrid(lden=lden, transform=Affine(10, 0, X0 - 25, 0, -10, Y0 + 1025), crs=RD)
    plots = gpd.GeoDataFrame({"plot_id": ["a"]}, geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10)], crs=RD)
    data = StudyData(
        crs=RD,
        plots=plots.set_index("plot_id"),
        amenities=amen,
        nuisance=nuisance,
        network=net,
        study_area=shapely.box(X0, Y0, X0 + 1000, Y0 + 1000),
        noise=noise,
        sources={"osm": {"sha256": "0" * 64}},
    )
    return data, net, node_dist, snaps


TOY_PROFILE = """
name = "toy"
title = "Toy"
[[constraint]]
indicator = "noise_lden_p90_db"
op = "<="
value = 58
reason = "te luid"
[[constraint]]
indicator = "area_m2"
op = ">="
value = 2000
reason = "te klein"
[[criterion]]
name = "winkel"
label = "winkel"
indicator = "dist_supermarket_m"
weight = 1
function = { type = "decay", half = 300 }
[[criterion]]
name = "stil"
label = "stil"
indicator = "noise_lden_mean_db"
weight = 1
function = { type = "linear", best = 45, worst = 65 }
[[criterion]]
name = "bar"
label = "bar"
indicator = "dist_nightlife_straight_m"
weight = 1
function = { type = "linear", best = 300, worst = 0 }
[[criterion]]
name = "tellen"
label = "tellen"
indicator = "n_supermarket_500m"
weight = 1
function = { type = "linear", best = 2, worst = 0 }
"""


def test_surface_scores_cells_like_plots() -> None:
    data, net, node_dist, snaps = _toy_town()
    prof = parse_profile(TOY_PROFILE, "toy.toml")
    grid = cell_grid(data.study_area, RD, 50.0)
    cells = cell_indicators(grid, data, net, node_dist, snaps)
    # Walking distance at a cell centre: to the edge, along it, through the nodes.
    x, y = grid.centres()
    k = int(np.flatnonzero((np.abs(x - (X0 + 25)) < 1) & (np.abs(y - (Y0 + 25)) < 1))[0])
    assert cells.loc[k, "dist_supermarket_m"] == pytest.approx(25 + 25 + 5, abs=0.2)
    assert cells.loc[k, "dist_nightlife_straight_m"] == pytest.approx(np.hypot(925, 970), abs=0.2)
    s = score_cells(grid, cells, prof, noise=True)
    # Plot-only columns are skipped for cells, not an error.
    assert s.skipped == ["criterion tellen (n_supermarket_500m)", "constraint area_m2 >= 2000"]
    assert s.score.shape == grid.shape and s.score.dtype == np.float32
    # Cells without noise data stay unscored; the loud south fails the noise constraint.
    assert np.isnan(s.score[:, -1]).all()
    assert not s.eligible[-1, :].any() and s.eligible[5, :-1].all()
    # Best near the supermarket and away from noise and the bar.
    sw = np.nanmean(s.score[-6:-2, :4])
    ne = np.nanmean(s.score[:4, -5:-1])
    assert sw > ne


def test_surfaces_and_geotiff_with_provenance(tmp_path: Path) -> None:
    data, net, node_dist, snaps = _toy_town()
    prof = parse_profile(TOY_PROFILE, "toy.toml")
    surfaces = suitability_surfaces([prof], data, net, node_dist, snaps, cell_m=100.0)
    s = surfaces["toy"]
    assert s.bounds == (X0, Y0, X0 + 1000, Y0 + 1000)
    path = write_surface(s, tmp_path / "layers" / "suitability_toy.tif")
    assert [p.name for p in path.parent.iterdir()] == ["suitability_toy.tif"]  # no temp files left
    with rasterio.open(path) as src:
        assert src.count == 3 and src.crs.to_epsg() == 28992 and src.transform == s.transform
        assert src.descriptions == ("suitability_toy", "score_toy", "eligible_toy")
        suit, band, elig = src.read(1), src.read(2), src.read(3)
        assert np.array_equal(np.isnan(band), np.isnan(s.score))
        assert np.allclose(band[~np.isnan(band)], s.score[~np.isnan(s.score)])
        ok = ~np.isnan(band)
        assert set(np.unique(elig[ok])) == {0.0, 1.0}
        assert np.allclose(suit[ok], np.where(elig[ok] == 1, band[ok], 0.0))
        prov = json.loads(src.tags()[PROVENANCE_TAG])
        assert prov["profile"] == "toy" and prov["cell_m"] == 100.0 and "sitefinder_version" in prov
        assert prov["skipped"] == ["criterion tellen (n_supermarket_500m)", "constraint area_m2 >= 2000"]


# --------------------------------------------------------------------------- the sample town


@pytest.fixture(scope="module")
def sample_scored(sample_run: SampleRun):  # type: ignore[no-untyped-def]
    """The session's sample-town run (every built-in profile), its plots and its layers folder."""
    return (
        sample_run.result,
        gpd.read_file(sample_run.town.plots_path).set_index("plot_id"),
        sample_run.layers,
    )


def _top(result, k: int = 5) -> list[str]:  # type: ignore[no-untyped-def]
    ranks = result.table[f"rank_{result.name}"].dropna().sort_values(kind="stable")
    return [str(i) for i in ranks.index[:k]]


@pytest.mark.slow
def test_sample_prikkelarm_and_levendig_top5_differ(sample_scored) -> None:  # type: ignore[no-untyped-def]
    result, plots, _ = sample_scored
    by = {r.name: r for r in result.profiles}
    prik, lev = _top(by["prikkelarm"]), _top(by["levendig"])
    assert len(prik) >= 3 and len(lev) == 5
    assert prik != lev and set(prik) != set(lev)
    # Levendig's best plot is central or by the station; prikkelarm's is not by the motorway.
    assert plots.loc[lev[0], "setting"] in ("centre", "railway")
    assert plots.loc[prik[0], "setting"] != "motorway"


@pytest.mark.slow
def test_sample_explanations_name_the_criteria(sample_scored) -> None:  # type: ignore[no-untyped-def]
    result, _, _ = sample_scored
    for res in result.profiles:
        crit = {c.name for c in res.profile.criteria}
        for pid in _top(res):
            ex = explain(res, pid)
            assert ex.drivers, (res.name, pid)
            assert set(ex.drivers) <= crit
            line = next(ln for ln in ex.text.splitlines() if ln.startswith("Put there by"))
            for name in ex.drivers:
                assert f"{name} +" in line
            parts = {p.name: p for p in ex.parts}
            assert all(parts[n].delta > 0 for n in ex.drivers)


@pytest.mark.slow
def test_sample_prikkelarm_surface_low_by_motorway_and_centre(sample_scored) -> None:  # type: ignore[no-untyped-def]
    result, plots, layers = sample_scored

    def mean_in(path: Path, band: int, settings: tuple[str, ...]) -> float:
        """Mean surface value at the plots (one point each) of the given settings."""
        with rasterio.open(path) as src:
            a = src.read(band)
            pts = shapely.point_on_surface(plots.geometry[plots["setting"].isin(settings)].to_numpy())
            return float(np.nanmean([a[src.index(x, y)] for x, y in shapely.get_coordinates(pts)]))

    prik = layers / "suitability_prikkelarm.tif"
    with rasterio.open(prik) as src:
        tags = json.loads(src.tags()[PROVENANCE_TAG])
    assert tags["profile"] == "prikkelarm" and tags["cell_m"] == 50.0
    assert result.manifest.surfaces["prikkelarm"].endswith("suitability_prikkelarm.tif")
    # Band 1, the suitability: beside the motorway nothing is suitable (too loud), the
    # centre is well below the parks. Since the noise model screens by buildings, the
    # centre's shop blocks keep its streets quieter than the open edges of town along the
    # arterial roads, so the centre is compared with the parks for the full margin and with
    # the edge plots only in order (an edge plot by a road may be excluded, value 0).
    quiet = mean_in(prik, 1, ("edge", "park"))
    assert mean_in(prik, 1, ("motorway",)) < 5 < quiet - 30
    assert mean_in(prik, 1, ("centre",)) < mean_in(prik, 1, ("park",)) - 10
    assert mean_in(prik, 1, ("centre",)) < quiet
    # Band 2, the score without constraints, is lower in the centre too (nightlife).
    assert mean_in(prik, 2, ("centre",)) < mean_in(prik, 2, ("edge", "park")) - 5
    # Levendig is the other way round.
    lev = layers / "suitability_levendig.tif"
    assert mean_in(lev, 1, ("centre",)) > mean_in(lev, 1, ("edge", "park")) + 20


def test_snap_via_a_subset_network_equals_snapping_to_it() -> None:
    from sitefinder.indicators.access import AccessParams, site_distances, site_snap
    from sitefinder.surfaces import snap_via

    data, net, _, _ = _toy_town()
    # A wheelchair-like network: the same edges without every third one.
    keep = np.arange(net.n_edges) % 3 != 0
    sub = WalkNetwork(node_ids=net.node_ids, node_xy=net.node_xy, edge_u=net.edge_u[keep], edge_v=net.edge_v[keep],
                      edge_len=net.edge_len[keep], edge_geom=net.edge_geom[keep])  # fmt: skip
    rng = np.random.default_rng(0)
    pts = shapely.points(X0 - 300 + rng.random(400) * 1600, Y0 - 300 + rng.random(400) * 1600)
    params = AccessParams(max_snap_m=120.0)
    at = site_snap(net, pts, params)
    got, ref = snap_via(net, at, sub, pts, params), site_snap(sub, pts, params)
    assert np.array_equal(got.offset, ref.offset)  # the same distance to the nearest kept edge
    assert np.array_equal(got.ok, ref.ok) and (~got.ok).any()
    assert (~keep[at.edge[at.ok]]).any()  # some points' nearest walking edge is not in the subset
    sub_snaps = {c: snap(sub, data.amenities.geometry[data.amenities["category"] == c].to_numpy(), np.array([0]), 250.0)
                 for c in ("supermarket", "nightlife")}  # fmt: skip
    nd = node_distances(sub, [sub_snaps["supermarket"], sub_snaps["nightlife"]])
    sub_dist = {"supermarket": nd[0], "nightlife": nd[1]}
    a = site_distances(sub, got, len(pts), sub_dist, sub_snaps, list(sub_dist))
    b = site_distances(sub, ref, len(pts), sub_dist, sub_snaps, list(sub_dist))
    for col in a:
        assert np.array_equal(a[col], b[col], equal_nan=True)
    # A network with an edge the walking network has not: snapped on its own.
    extra = replace(
        sub,
        edge_geom=np.concatenate([sub.edge_geom[:-1], [shapely.LineString([(X0, Y0), (X0 + 7, Y0 + 3)])]]),
    )
    other = snap_via(net, at, extra, pts, params)
    assert np.array_equal(other.offset, site_snap(extra, pts, params).offset)


def test_snap_via_tells_parallel_edges_apart() -> None:
    from sitefinder.indicators.access import AccessParams, site_snap
    from sitefinder.surfaces import snap_via

    _, net, _, _ = _toy_town()
    # A second, curved edge between nodes 0 and 1 (50 m south of the straight one); the
    # subset keeps the curved one only, so cells south of the straight street snap to it.
    bend = shapely.LineString([(X0, Y0), (X0 + 50, Y0 - 50), (X0 + 100, Y0)])
    both = replace(net, edge_u=np.append(net.edge_u, 0), edge_v=np.append(net.edge_v, 1),
                   edge_len=np.append(net.edge_len, bend.length), edge_geom=np.append(net.edge_geom, bend))  # fmt: skip
    keep = np.ones(both.n_edges, dtype=bool)
    keep[0] = False  # the straight edge 0-1
    sub = replace(both, edge_u=both.edge_u[keep], edge_v=both.edge_v[keep], edge_len=both.edge_len[keep],
                  edge_geom=both.edge_geom[keep])  # fmt: skip
    pts = shapely.points(X0 + np.array([20.0, 50.0, 80.0, 50.0]), Y0 - np.array([5.0, 10.0, 5.0, 60.0]))
    params = AccessParams(max_snap_m=120.0)
    got = snap_via(both, site_snap(both, pts, params), sub, pts, params)
    ref = site_snap(sub, pts, params)
    assert np.array_equal(got.offset, ref.offset) and np.array_equal(got.edge, ref.edge)
    assert got.edge[3] == sub.n_edges - 1 and got.offset[3] == 10.0  # 10 m below the bend (50, -50)
