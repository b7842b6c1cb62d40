"""Every bad-input case: one line naming the file/layer/key, what is wrong and the fix; exit 2; no traceback."""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine

from tests.conftest import AMSTERDAM, BARCELONA, needs_shared, run_cli

pytestmark = [needs_shared]

ADAM_XY = (121500.0, 486900.0)  # RD New, inside the Amsterdam extract


def _plots(
    path: Path,
    ids: list[object],
    geoms: list[shapely.Geometry] | None = None,
    crs: object = 28992,
    **kw: object,
) -> Path:
    if geoms is None:
        geoms = [
            shapely.box(ADAM_XY[0] + 100 * i, ADAM_XY[1], ADAM_XY[0] + 100 * i + 50, ADAM_XY[1] + 50)
            for i in range(len(ids))
        ]
    gpd.GeoDataFrame({"plot_id": ids}, geometry=geoms, crs=crs).to_file(path, **kw)
    return path


def _expect_error(res: object, *fragments: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stderr)  # type: ignore[attr-defined]
    err = res.stderr  # type: ignore[attr-defined]
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("sitefinder: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def cache(amsterdam_cache: Path) -> Path:
    """The session's Amsterdam cache: the extract is cut and its network built once."""
    return amsterdam_cache


@pytest.fixture
def run(tmp_path: Path, cache: Path):  # type: ignore[no-untyped-def]
    def _run(*args: object, plots: Path | None = None, osm: Path = AMSTERDAM):  # type: ignore[no-untyped-def]
        extra = ["--plots", plots] if plots is not None else []
        return run_cli(
            "run",
            "--osm",
            osm,
            *extra,
            "--out",
            tmp_path / "out",
            "--cache",
            cache,
            "--layers",
            tmp_path / "layers",
            *args,
        )

    return _run


def test_missing_plots_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _expect_error(run(plots=tmp_path / "nope.gpkg"), "plots file", "nope.gpkg", "no such file")
    assert not (tmp_path / "out").exists()


def test_missing_osm_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _expect_error(run(osm=tmp_path / "nope.osm.pbf"), "OSM file", "nope.osm.pbf", "no such file")


def test_corrupt_plots_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"this is not a geopackage" * 50)
    _expect_error(run(plots=bad), "plots file", "broken.gpkg", "corrupt")


def test_truncated_osm_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = gzip.decompress(AMSTERDAM.read_bytes())
    bad = tmp_path / "cut.osm.gz"
    bad.write_bytes(gzip.compress(data[: len(data) // 3]))
    _expect_error(run(osm=bad), "OSM file", "cut.osm.gz", "corrupt or truncated")


def test_plots_without_crs(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        shp = _plots(tmp_path / "nocrs.shp", ["a", "b"], crs=None)
    _expect_error(run(plots=shp), "nocrs.shp", "has no CRS")


def test_noise_raster_without_crs(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tif = tmp_path / "lden.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=1,
        dtype="float32",
        transform=Affine(10, 0, ADAM_XY[0], 0, -10, ADAM_XY[1] + 100),
    ) as ds:
        ds.write(np.full((10, 10), 55, "float32"), 1)
    plots = _plots(tmp_path / "p.gpkg", ["a"])
    _expect_error(run("--noise", tif, plots=plots), "noise file", "lden.tif", "has no CRS")


def test_plots_outside_osm_area(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    far = [shapely.box(150000, 480000, 150100, 480100)]
    _expect_error(run(plots=_plots(tmp_path / "far.gpkg", ["x"], far)), "do not overlap the OSM data area")


def test_plots_outside_noise_raster(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plots = _plots(tmp_path / "p.gpkg", ["a", "b"])
    _expect_error(
        run("--noise", f"{BARCELONA}:scheme=end-5db-label", plots=plots),
        "noise file",
        "barcelona",
        "does not overlap the study area",
    )


def test_empty_plots_layer(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"plot_id": []}, geometry=[], crs=28992).to_file(empty, layer="kavels")
    _expect_error(run(plots=empty), "empty.gpkg", "layer is empty")


def test_duplicate_plot_ids(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _expect_error(
        run(plots=_plots(tmp_path / "dup.gpkg", ["a", "b", "a"])), "dup.gpkg", "duplicate plot ids", "a"
    )


def test_missing_plot_ids(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _expect_error(
        run(plots=_plots(tmp_path / "miss.gpkg", ["a", None, "c"])),
        "miss.gpkg",
        "'plot_id' is empty in rows [2]",
    )


def test_unknown_id_column_lists_columns(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _expect_error(
        run("--plots-id", "kavelnr", plots=_plots(tmp_path / "p.gpkg", ["a"])),
        "no column 'kavelnr'",
        "plot_id",
    )


def test_unknown_layer_lists_layers(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _plots(tmp_path / "p.gpkg", ["a"], layer="kavels")
    _expect_error(run("--plots-layer", "percelen", plots=p), "no layer 'percelen'", "kavels")


BOWTIE = shapely.Polygon(
    [
        (ADAM_XY[0], ADAM_XY[1]),
        (ADAM_XY[0] + 60, ADAM_XY[1] + 60),
        (ADAM_XY[0] + 60, ADAM_XY[1]),
        (ADAM_XY[0], ADAM_XY[1] + 60),
    ]
)


def test_invalid_geometry_refused_with_no_repair(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _plots(
        tmp_path / "bow.gpkg",
        ["ok", "vlinder"],
        [shapely.box(*ADAM_XY, ADAM_XY[0] + 50, ADAM_XY[1] + 50), BOWTIE],
    )
    _expect_error(run("--no-repair", plots=p), "invalid geometries", "vlinder")


@pytest.mark.slow
def test_invalid_geometry_repaired_with_warning(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _plots(
        tmp_path / "bow.gpkg",
        ["ok", "vlinder"],
        [shapely.box(*ADAM_XY, ADAM_XY[0] + 50, ADAM_XY[1] + 50), BOWTIE],
    )
    res = run(plots=p)
    assert res.returncode == 0, res.stderr
    assert "repaired 1 invalid geometries" in res.stderr and "vlinder" in res.stderr


def test_unknown_profile_lists_valid(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _expect_error(
        run("--profile", "stil", plots=_plots(tmp_path / "p.gpkg", ["a"])),
        "unknown profile 'stil'",
        "prikkelarm",
        "levendig",
    )


def _profile(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "mijnprofiel.toml"
    p.write_text('name = "mijn"\ntitle = "Mijn profiel"\n' + body)
    return p


CRIT = '[[criterion]]\nname = "{n}"\nlabel = "x"\nindicator = "{i}"\nweight = {w}\nfunction = {{ type = "linear", best = 300, worst = 1000 }}\n'


def test_unknown_category_in_profile(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prof = _profile(tmp_path, CRIT.format(n="bakker", i="dist_bakery_m", w=1))
    _expect_error(
        run("--profile", prof, plots=_plots(tmp_path / "p.gpkg", ["a"])),
        "mijnprofiel.toml",
        "no amenity category 'bakery'",
        "supermarket",
    )


def test_profile_unknown_key(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prof = _profile(tmp_path, CRIT.format(n="winkel", i="dist_supermarket_m", w=1) + "gewicht = 3\n")
    _expect_error(
        run("--profile", prof, plots=_plots(tmp_path / "p.gpkg", ["a"])),
        "mijnprofiel.toml",
        "gewicht",
        "unknown key",
    )


def test_profile_negative_weight(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prof = _profile(tmp_path, CRIT.format(n="winkel", i="dist_supermarket_m", w=-2))
    _expect_error(
        run("--profile", prof, plots=_plots(tmp_path / "p.gpkg", ["a"])),
        "mijnprofiel.toml",
        "(winkel).weight",
        "must be >= 0",
    )


def test_profile_all_weights_zero(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prof = _profile(
        tmp_path,
        CRIT.format(n="winkel", i="dist_supermarket_m", w=0) + CRIT.format(n="arts", i="dist_gp_m", w=0),
    )
    _expect_error(
        run("--profile", prof, plots=_plots(tmp_path / "p.gpkg", ["a"])),
        "mijnprofiel.toml",
        "all criterion weights are zero",
    )


def test_overpass_unreachable_points_to_osm_file(tmp_path: Path) -> None:
    res = run_cli(
        "run",
        "--bbox",
        "4.89",
        "52.36",
        "4.90",
        "52.37",
        "--overpass-url",
        "http://127.0.0.1:9/api/interpreter",
        "--out",
        tmp_path / "o",
        "--cache",
        tmp_path / "c",
    )
    _expect_error(res, "Overpass", "unreachable", "--osm FILE")


def test_nominatim_unreachable_points_to_osm_file(tmp_path: Path) -> None:
    res = run_cli(
        "run",
        "--place",
        "Almere, Flevoland, Nederland",
        "--nominatim-url",
        "http://127.0.0.1:9/",
        "--out",
        tmp_path / "o",
        "--cache",
        tmp_path / "c",
    )
    _expect_error(res, "unreachable", "Almere", "--osm FILE")


def test_verbose_shows_traceback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = run("-v", plots=tmp_path / "nope.gpkg")
    assert res.returncode == 2
    assert "Traceback" in res.stderr


def test_verbosity_flags_work_before_the_command(tmp_path: Path) -> None:
    res = run_cli("-v", "run", "--osm", AMSTERDAM, "--plots", tmp_path / "nope.gpkg", "--out", tmp_path / "o")
    assert res.returncode == 2 and "Traceback" in res.stderr
    res = run_cli("-q", "run", "--osm", AMSTERDAM, "--plots", tmp_path / "nope.gpkg", "--out", tmp_path / "o")
    _expect_error(res, "plots file", "no such file")
