"""The built-in sample town with buildings: prikkelarm's noise limit on modelled, screened noise."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import CRS

from sitefinder.io import osm
from sitefinder.scoring.noiserule import is_failure_of
from tests.conftest import SampleRun

MAIN_ROADS = ["motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
              "secondary", "secondary_link"]  # fmt: skip
#: A plot is "next to a main road" when one runs within this distance of it (m).
NEXT_TO_M = 50.0


@pytest.mark.slow
def test_a_third_of_quiet_plots_pass_prikkelarm_noise_limit(sample_run: SampleRun) -> None:
    """On the session's sample-town run (every built-in profile, noise modelled, shared cache)."""
    from sitefinder.scoring.profiles import load_profile

    town = sample_run.town
    text = town.osm_path.read_text("utf-8")
    assert 'k="building:levels"' in text and 'v="retail"' in text and 'v="warehouse"' in text
    result = sample_run.result
    table = result.scores
    assert table["noise_modelled"].all()
    crs = CRS.from_epsg(28992)
    filt = osm.feature_tag_filter({})
    features = osm.load_features(osm.extract(town.osm_path, filt, sample_run.cache), filt, crs)
    main = features[features["highway"].isin(MAIN_ROADS)]
    tree = shapely.STRtree(main.geometry.to_numpy())
    import geopandas as gpd

    plots = gpd.read_file(town.plots_path).set_index("plot_id").to_crs(crs).loc[table.index]
    _, dist = tree.query_nearest(plots.geometry.to_numpy(), return_distance=True, all_matches=False)
    quiet_side = dist > NEXT_TO_M
    assert quiet_side.sum() >= 6
    profile = load_profile("prikkelarm")
    (noise_limit,) = [c for c in profile.constraints if c.indicator.startswith("noise_")]
    parts = [str(t).split("; ") for t in table["excluded_prikkelarm"]]
    fails = np.array([any(is_failure_of(noise_limit, p) for p in ps) for ps in parts])
    passing = (~fails & quiet_side).sum() / quiet_side.sum()
    assert passing >= 1 / 3, (passing, table.loc[quiet_side, "noise_lden_p90_db"].tolist())
    # Noise exclusions say the value was modelled and where it came from.
    assert all(
        "gemodelleerd (weg- en railverkeer)" in p for ps in parts for p in ps if is_failure_of(noise_limit, p)
    )
