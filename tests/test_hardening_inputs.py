"""Every bad input is one clear line and exit 2 (before the long work), or is accepted as it should be.

In-process through ``sitefinder.cli.main`` against the tiny town; a finished run's
outputs are checked to stay byte-identical after each failing case.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from sitefinder.cli import main
from sitefinder.io.noise import NoiseSourceSpec
from tests.tinytown import (
    Town,
    assert_clean_stderr,
    digest,
    fails,
    main_as_user,
    make_town,
    osm_xml,
    plots_frame,
    run_args,
)  # fmt: skip


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Town:
    return make_town(tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="module")
def done(town: Town, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "town"
    assert main(run_args(town, out, "-q", "--no-noise-model")) == 0
    return out


def run_plots(town: Town, out: Path, plots: Path, *extra: str | Path) -> list[str]:
    args = run_args(town, out, "--no-noise-model", "-q", *extra)
    args[args.index("--plots") + 1] = str(plots)
    return args


# --- plots ------------------------------------------------------------------------------------------


def test_rd_coordinates_in_a_geojson_without_crs(
    town: Town, done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gj = tmp_path / "kavels.geojson"
    frame = plots_frame()
    feats = [
        {"type": "Feature", "properties": {"plot_id": pid}, "geometry": shapely.geometry.mapping(g)}
        for pid, g in zip(frame["plot_id"], frame.geometry, strict=True)
    ]
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    before = digest(done)
    fails(capsys, run_plots(town, done, gj), str(gj), "not degrees", "RD New", "--plots-crs EPSG:28992")
    assert digest(done) == before
    # ... and accepted when the user says what the coordinates are
    out = tmp_path / "ok"
    assert main(run_plots(town, out, gj, "--plots-crs", "EPSG:28992")) == 0
    assert pd.read_csv(out / "scores.csv")["plot_id"].tolist() == ["P1", "P2", "P3", "P4"]


def test_csv_plots_with_wkt(town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = plots_frame()
    csv = tmp_path / "kavels.csv"
    pd.DataFrame({"kavel_id": frame["plot_id"], "naam": list("ABCD"), "wkt": frame.geometry.to_wkt()}).to_csv(
        csv, index=False, sep=";"
    )
    fails(capsys, run_plots(town, tmp_path / "o1", csv), str(csv), "--plots-crs")
    out = tmp_path / "ok"
    assert main(run_plots(town, out, csv, "--plots-crs", "EPSG:28992")) == 0
    back = gpd.read_file(out / "scores.gpkg", layer="scores")
    assert back["plot_id"].tolist() == ["P1", "P2", "P3", "P4"]
    assert np.allclose(back["area_m2"], 1600.0, atol=0.5), "40 m squares"
    assert back["naam"].tolist() == list("ABCD")


def test_csv_plots_with_bad_wkt_or_crs(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # (x/y columns are accepted as point plots: tests/test_hardening_points.py)
    csv = tmp_path / "punten.csv"
    csv.write_text("id,x,y\nP1,150000,480000\n", encoding="utf-8")
    bad = tmp_path / "kapot.csv"
    bad.write_text('id,wkt\nP1,"POLYGON((1 2, 3"\n', encoding="utf-8")
    fails(capsys, run_plots(town, tmp_path / "o", bad, "--plots-crs", "EPSG:28992"), "not valid WKT", "[2]")
    fails(capsys, run_plots(town, tmp_path / "o", csv, "--plots-crs", "EPSG:99999999"), "not a CRS")


def test_colliding_attributes_are_kept_with_a_prefix(town: Town, tmp_path: Path) -> None:
    plots = tmp_path / "botsend.gpkg"
    plots_frame(area_m2=[1, 2, 3, 4], dist_gp_m=["a", "b", "c", "d"], score_prikkelarm=[9, 9, 9, 9],
                attr_area_m2=["x"] * 4).to_file(plots, layer="plots")  # fmt: skip
    out = tmp_path / "out"
    assert main(run_plots(town, out, plots)) == 0
    cols = pd.read_csv(out / "scores.csv").columns
    for c in ("attr_attr_area_m2", "attr_dist_gp_m", "attr_score_prikkelarm", "attr_area_m2"):
        assert c in cols, c
    t = pd.read_csv(out / "scores.csv")
    assert t["attr_area_m2"].tolist() == ["x"] * 4 or t["attr_attr_area_m2"].tolist() == ["x"] * 4
    assert np.allclose(t["area_m2"], 1600.0, atol=0.5), "the computed area wins the name"
    assert t["attr_dist_gp_m"].tolist() == list("abcd")


def test_previous_scores_as_plots(town: Town, done: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert main(run_plots(town, out, done / "scores.gpkg")) == 0
    cols = pd.read_csv(out / "scores.csv").columns
    assert "attr_score_prikkelarm" in cols and "score_prikkelarm" in cols


@pytest.mark.parametrize(
    ("ids", "extra", "fragment"),
    [
        (["P1", " ", "P3", "P4"], [], "empty in rows [2]"),
        (["P1", "", "P3", "P4"], [], "empty in rows [2]"),
        (["P1", "P2", "P3", "P4"], ["--plots-id", "geometry"], "is the geometry column"),
        (["P1", "P1", "P3", "P4"], [], "duplicate plot ids"),
    ],
)
def test_bad_plot_ids(
    town: Town, done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    ids: list[str], extra: list[str], fragment: str,
) -> None:  # fmt: skip
    plots = tmp_path / "p.gpkg"
    plots_frame(ids).to_file(plots, layer="plots")
    before = digest(done)
    fails(capsys, run_plots(town, done, plots, *extra), fragment)
    assert digest(done) == before


def test_no_overlap_names_the_file_and_the_crs(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plots = tmp_path / "ver.gpkg"
    far = plots_frame()
    far.geometry = far.geometry.translate(50_000, 50_000)
    far.to_file(plots, layer="plots")
    fails(capsys, run_plots(town, tmp_path / "o", plots), str(plots), "do not overlap", "CRS")


# --- noise ------------------------------------------------------------------------------------------


def _tif(path: Path, data: np.ndarray, x0: float, y0: float, crs: str = "EPSG:28992") -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype=data.dtype,
        crs=crs, transform=Affine(10, 0, x0, 0, -10, y0),
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    return path


def _town_origin(town: Town) -> tuple[float, float]:
    b = gpd.read_file(town.plots).total_bounds
    return b[0] - 500, b[3] + 500


def test_truncated_geotiff(
    town: Town, done: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x0, y0 = _town_origin(town)
    tif = _tif(tmp_path / "lden.tif", np.full((150, 150), 55.0, dtype="float32"), x0, y0)
    data = tif.read_bytes()
    (tmp_path / "kapot.tif").write_bytes(data[: len(data) // 2])
    before = digest(done)
    fails(capsys, [*run_args(town, done, "--noise", str(tmp_path / "kapot.tif"))], "kapot.tif", "corrupt")
    assert digest(done) == before


def test_windows_style_noise_path(town: Town, done: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # On the command line the whole Windows path is the file (not "C"), options after it still apply.
    arg = r"C:\data\geluid\lden.tif:label=Weg"
    fails(capsys, run_args(town, done, "--noise", arg), r"noise file C:\data\geluid\lden.tif: no such file")
    spec = NoiseSourceSpec.parse(r"C:\data\geluid\lden.tif:scheme=end-5db-label:label=Weg")
    assert str(spec.path) == r"C:\data\geluid\lden.tif"
    assert spec.scheme == "end-5db-label" and spec.label == "Weg"
    assert str(NoiseSourceSpec.parse(r"D:\lden.tif").path) == r"D:\lden.tif"
    assert str(NoiseSourceSpec.parse("/a/b:c/lden.tif:period=lnight").path) == "/a/b:c/lden.tif"


def test_many_unknown_class_values_one_short_line(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x0, y0 = _town_origin(town)
    tif = _tif(tmp_path / "klassen.tif", np.arange(150 * 150, dtype="int32").reshape(150, 150), x0, y0)
    line = fails(
        capsys, run_args(town, tmp_path / "o", "--noise", f"{tif}:scheme=end-5db-label"), "class values"
    )
    assert "more" in line


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.hits = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("kind", ["noise", "plots"])
def test_vrt_with_a_remote_source_is_refused_unread(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str], recorder: str, kind: str
) -> None:
    if kind == "noise":
        vrt = tmp_path / "lden.vrt"
        vrt.write_text(
            '<VRTDataset rasterXSize="10" rasterYSize="10"><SRS>EPSG:28992</SRS>'
            '<GeoTransform>150000,10,0,480000,0,-10</GeoTransform><VRTRasterBand dataType="Float32" band="1">'
            f"<SimpleSource><SourceFilename>/vsicurl/{recorder}/lden.tif</SourceFilename>"
            "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>",
            encoding="utf-8",
        )
        argv = run_args(town, tmp_path / "o", "--noise", str(vrt))
    else:
        vrt = tmp_path / "kavels.vrt"
        vrt.write_text(
            f'<OGRVRTDataSource><OGRVRTLayer name="k"><SrcDataSource>/vsicurl/{recorder}/k.geojson'
            "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>",
            encoding="utf-8",
        )
        argv = run_plots(town, tmp_path / "o", vrt)
    fails(capsys, argv, str(vrt), "remote or virtual source", "local")
    assert _Recorder.hits == [], "nothing was fetched"


# --- profiles, categories, options -----------------------------------------------------------------

_CRIT = """
name = "p"
title = "P"
[[criterion]]
name = "super"
label = "Supermarkt"
indicator = "dist_supermarket_m"
weight = {weight}
function = {{ type = "linear", best = {x0}, worst = 1500 }}
"""


@pytest.mark.parametrize(
    ("weight", "x0", "fragment"),
    [("1", "nan", "finite"), ("1", "inf", "finite"), ("inf", "0", "finite"), ("nan", "0", "finite")],
)
def test_nan_and_inf_in_profiles(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str], weight: str, x0: str, fragment: str
) -> None:
    prof = tmp_path / "p.toml"
    prof.write_text(_CRIT.format(weight=weight, x0=x0), encoding="utf-8")
    fails(capsys, run_args(town, tmp_path / "o", "--profile", prof), str(prof), fragment)


def test_nan_constraint_value(town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = tmp_path / "p.toml"
    prof.write_text(
        _CRIT.format(weight="1", x0="0")
        + '[[constraint]]\nindicator = "area_m2"\nop = ">="\nvalue = nan\nreason = "te klein"\n',
        encoding="utf-8",
    )
    fails(capsys, run_args(town, tmp_path / "o", "--profile", prof), str(prof), "constraint")


def test_negative_seed(town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = tmp_path / "p.toml"
    prof.write_text(_CRIT.format(weight="1", x0="0") + "[sensitivity]\nseed = -1\n", encoding="utf-8")
    fails(capsys, run_args(town, tmp_path / "o", "--profile", prof), "seed", ">= 0")
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--seed", "-3", "--out", str(tmp_path / "s")])
    assert exc.value.code == 2
    assert "--seed" in capsys.readouterr().err


def test_ahp_with_16_criteria(town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = 16
    crit = "".join(
        f'[[criterion]]\nname = "c{i}"\nlabel = "C{i}"\nindicator = "area_m2"\n'
        'function = { type = "linear", best = 1000, worst = 0 }\n'
        for i in range(n)
    )
    matrix = "[" + ", ".join("[" + ", ".join(["1"] * n) + "]" for _ in range(n)) + "]"
    names = ", ".join(f'"c{i}"' for i in range(n))
    prof = tmp_path / "ahp.toml"
    prof.write_text(
        f'name = "p"\ntitle = "P"\n{crit}[ahp]\ncriteria = [{names}]\nmatrix = {matrix}\n', "utf-8"
    )
    fails(capsys, run_args(town, tmp_path / "o", "--profile", prof), str(prof), "16 criteria", "up to 15")


def test_numeric_function_on_a_text_column(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prof = tmp_path / "p.toml"
    prof.write_text(
        'name = "p"\ntitle = "P"\n[[criterion]]\nname = "naam"\nlabel = "Naam"\nindicator = "naam"\n'
        'weight = 1\nfunction = { type = "linear", best = 0, worst = 10 }\n',
        encoding="utf-8",
    )
    fails(
        capsys, run_args(town, tmp_path / "o", "--profile", prof, "--no-noise-model"), "'naam'", "holds text"
    )


@pytest.mark.parametrize("value", ["-5", "nan", "inf"])
def test_bad_min_distance(done: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["select", "--run", str(done), "--profile", "prikkelarm", "--k", "2", "--min-distance", value])
    assert exc.value.code == 2
    assert "--min-distance" in capsys.readouterr().err


# --- OSM ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        ("<node id='9001' version='1' lat='1052.0' lon='5.2'/>", "1052"),
        ("<node id='9001' version='1' lon='5.2'/>", None),
        ("", None),  # a way referencing a node absent from the file (osmium extract -s simple)
        ("<node id='9001' version='1' lat='nan' lon='5.2'/>", "nan"),
    ],
)
def test_bad_osm_coordinates(
    town: Town,
    done: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    node: str,
    fragment: str | None,
) -> None:
    osm = tmp_path / "kapot.osm"
    text = osm_xml(extra_nodes=node)
    # the bad node is part of a street, so the walking network needs it
    text = text.replace("<nd ref='1'/>", "<nd ref='9001'/><nd ref='1'/>", 1)
    osm.write_text(text, encoding="utf-8")
    args = run_args(town, done, "--no-noise-model")
    args[args.index("--osm") + 1] = str(osm)
    args[args.index("--cache") + 1] = str(tmp_path / "cache")
    before = digest(done)
    if fragment is None:
        # A node without coordinates is like a node cut off by a clipped extract: the
        # ways touching it are dropped with a warning, the run goes on.
        args[args.index("--out") + 1] = str(tmp_path / "out")
        assert main_as_user(args) == 0
        err = capsys.readouterr().err
        assert "not in the file" in err
        assert_clean_stderr(err)
        assert len(pd.read_csv(tmp_path / "out" / "scores.csv")) == 4
        return
    fails(capsys, args, str(osm), "node", fragment)
    assert digest(done) == before


# --- interruption ------------------------------------------------------------------------------------


def test_sigint_while_the_commands_are_imported(tmp_path: Path) -> None:
    """Ctrl-C while ``main`` imports the command modules (geopandas, ...): one line, exit 130."""
    import signal
    import time

    code = (
        "import sys; from sitefinder.cli import main; sys.stderr.write('ready\\n'); sys.stderr.flush(); "
        f"sys.exit(main(['run', '--osm', '{tmp_path}/absent.osm', '--out', '{tmp_path}/out']))"
    )
    log = tmp_path / "stderr.txt"
    with log.open("w") as f:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=f)
        t0 = time.monotonic()
        while "ready" not in log.read_text() and time.monotonic() - t0 < 60:
            time.sleep(0.02)
        time.sleep(0.3)  # main is now importing the command modules (that takes seconds)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    err = log.read_text()
    assert "Traceback" not in err, err
    assert proc.returncode == 130, (proc.returncode, err)
    assert "interrupted" in err


# --- network timeouts and untouched input folders ---------------------------------------------------


class _Silent(BaseHTTPRequestHandler):
    """Accepts the request and then says nothing (a stalled server)."""

    def do_GET(self) -> None:
        import time

        time.sleep(5)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def silent() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_timeouts_are_10_and_60_seconds() -> None:
    from sitefinder.io import download

    assert download.timeouts() == (10.0, 60.0)


def test_a_stalled_server_fails_with_the_source_named(
    silent: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from sitefinder.errors import DownloadError
    from sitefinder.io import download

    monkeypatch.setattr(download, "READ_TIMEOUT_S", 0.5)  # the real 60 s, shortened for the test
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=r"Geofabrik .*no answer for 0.5 s"):
        download.geofabrik_extract(f"{silent}/europe/x-latest.osm.pbf", tmp_path / "cache")
    assert time.monotonic() - t0 < 5
    assert not list((tmp_path).rglob("*.pbf"))


def test_gml_plots_leave_their_folder_untouched(town: Town, tmp_path: Path) -> None:
    folder = tmp_path / "invoer"
    folder.mkdir()
    gml = folder / "kavels.gml"
    plots_frame(naam=list("ABCD")).to_file(gml, driver="GML")
    before = digest(folder)
    assert main(run_plots(town, tmp_path / "out", gml)) == 0
    assert digest(folder) == before, "no .gfs (or anything else) written next to the input"
