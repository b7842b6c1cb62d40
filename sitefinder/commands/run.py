"""``sitefinder run``: score plots for target-group profiles and write tables and a map."""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sitefinder.commands.argtypes import positive_float
from sitefinder.errors import ConfigError
from sitefinder.presets import DEFAULT_TILES

if TYPE_CHECKING:
    from sitefinder.config import RunConfig


log = logging.getLogger(__name__)

EPILOG = """examples:
  sitefinder run --osm ../shared/data/osm/amsterdam-centrum.osm.gz --plots plots.gpkg --out maps/adam
  sitefinder run --place "Almere, Flevoland, Nederland" --plots kavels.gpkg --profile levendig
  sitefinder run --osm regio.osm.pbf --noise lden.tif:scheme=end-5db-label --noise rail.tif

noise files: PATH[:scheme=NAME][:period=lden|lnight][:label=TEXT]; a scheme decodes class-coded
maps (5 dB bands); without one the raster is read as continuous dB.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``run`` command."""
    p = sub.add_parser(
        "run",
        parents=[common],
        formatter_class=fmt,
        epilog=EPILOG,
        help="score plots and write scores.gpkg, scores.csv and map.html",
        description="Score every plot for each target-group profile and write "
        "scores.gpkg, scores.csv, map.html and manifest.json into --out.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--osm", type=Path, metavar="PATH", help="OSM file (.osm, .osm.gz, .osm.bz2, .osm.pbf)")
    src.add_argument(
        "--place", metavar="NAME", help="download OSM data from Overpass for this place (cached)"
    )
    src.add_argument(
        "--bbox",
        type=float,
        nargs=4,
        metavar=("W", "S", "E", "N"),
        help="download OSM data from Overpass for this WGS84 box (cached)",
    )
    p.add_argument(
        "--plots",
        type=Path,
        metavar="PATH",
        help="plots file (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, CSV with WKT or x/y); default: OSM "
        "landuse=construction|brownfield|greenfield",
    )
    p.add_argument("--plots-layer", metavar="NAME", help="layer in the plots file")
    p.add_argument("--plots-id", metavar="COLUMN", help="id column (default: plot_id, id, kavel_id, ...)")
    p.add_argument(
        "--plots-crs",
        metavar="CRS",
        help="CRS of the plots file's coordinates, e.g. EPSG:28992 (RD New) or EPSG:4326 (lon/lat); needed "
        "for a CSV (a WKT column, or x/y columns: points, whose area is unknown), and replaces a wrong "
        "CRS in the file",
    )
    p.add_argument(
        "--no-repair", action="store_true", help="refuse invalid plot geometries instead of repairing them"
    )
    p.add_argument(
        "--noise",
        action="append",
        default=[],
        metavar="SPEC",
        help="noise raster; repeat for several sources",
    )
    p.add_argument(
        "--profile",
        action="append",
        default=None,
        metavar="NAME|PATH",
        help="profile name or .toml file; repeat for several (default: every built-in profile)",
    )
    p.add_argument("--categories", type=Path, metavar="PATH", help="amenity category definitions (TOML)")
    p.add_argument("--crs", default="EPSG:28992", help="projected working CRS")
    p.add_argument(
        "--max-snap",
        type=positive_float,
        default=250.0,
        metavar="M",
        help="points farther than this from the walking network are unreachable",
    )
    p.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="output folder (default: maps/<name>)"
    )
    p.add_argument(
        "--cache", type=Path, default=Path("data/cache"), metavar="DIR", help="download and cut-file cache"
    )
    p.add_argument(
        "--layers",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for derived rasters such as the modelled noise map (default: <out>/layers)",
    )
    p.add_argument(
        "--neighbourhoods",
        type=Path,
        metavar="BUURTEN_FILE",
        help="CBS wijk- en buurtkaart, buurten with BU_CODE (GeoJSON, GeoPackage): residents, 65+ "
        "and households within walking distance of each plot",
    )
    p.add_argument(
        "--neighbourhood-figures",
        type=Path,
        metavar="CSV",
        help="CBS Kerncijfers wijken en buurten (StatLine CSV, ';'-separated); default: the "
        "figures in the buurten file itself",
    )
    p.add_argument(
        "--neighbourhood-year",
        type=int,
        metavar="YEAR",
        help="year of the key figures when the CSV holds several (default: the latest)",
    )
    p.add_argument(
        "--tiles",
        type=_tiles,
        default=DEFAULT_TILES,
        metavar="NAME[,NAME...]",
        help="backgrounds offered in map.html, the first shown: offline (drawn from the run's OSM data, "
        "works without internet), brt-grijs, brt, luchtfoto (PDOK), osm (these need internet), or none",
    )
    p.add_argument(
        "--no-noise-model",
        action="store_true",
        help="without --noise, run without a noise layer instead of modelling road and rail noise",
    )
    p.add_argument(
        "--overpass-max-area-km2",
        type=positive_float,
        default=2500.0,
        metavar="KM2",
        help="with --place/--bbox: split a larger area into squares of this size, one Overpass query "
        "each, merged (default 2500 km², as osmnx)",
    )
    p.add_argument(
        "--overpass-url", default="https://overpass-api.de/api/interpreter", help=argparse.SUPPRESS
    )
    p.add_argument("--nominatim-url", default="https://nominatim.openstreetmap.org/", help=argparse.SUPPRESS)
    p.set_defaults(func=main)


def check_bbox(bbox: list[float]) -> None:
    """Refuse a ``--bbox`` that is not W S E N in degrees with W < E and S < N."""
    from sitefinder.errors import ConfigError

    w, s, e, n = bbox
    if not all(math.isfinite(v) for v in bbox):
        msg = f"--bbox {w} {s} {e} {n}: every value must be a number; give W S E N in degrees"
        raise ConfigError(msg)
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        msg = (
            f"--bbox {w:g} {s:g} {e:g} {n:g}: not a box W S E N in WGS84 degrees with W < E and S < N "
            "(e.g. --bbox 5.18 52.35 5.25 52.39)"
        )
        raise ConfigError(msg)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Build the validated run configuration from parsed arguments."""
    from sitefinder.config import OverpassSource, RunConfig
    from sitefinder.io.noise import NoiseSourceSpec
    from sitefinder.io.paths import slug
    from sitefinder.presets import builtin_names

    if args.bbox:
        check_bbox(args.bbox)
    overpass = None
    if args.place or args.bbox:
        overpass = OverpassSource(
            place=args.place,
            bbox=tuple(args.bbox) if args.bbox else None,
            overpass_url=args.overpass_url,
            nominatim_url=args.nominatim_url,
            max_query_area_km2=args.overpass_max_area_km2,
        )
    # A default folder name is made from free text: slugged, so it cannot leave maps/.
    if args.out is not None:
        out = args.out
    elif args.osm is not None:
        out = Path("maps") / slug(args.osm.name.split(".")[0], "osm")
    elif args.place:
        out = Path("maps") / slug(args.place.split(",")[0], "place")
    else:
        out = Path("maps") / "bbox"
    title = f"sitefinder – {args.place or (args.osm.name if args.osm else 'bbox')}"
    return RunConfig(
        osm_file=args.osm,
        overpass=overpass,
        plots_file=args.plots,
        plots_layer=args.plots_layer,
        plots_id=args.plots_id,
        plots_crs=args.plots_crs,
        repair_geometries=not args.no_repair,
        noise=tuple(NoiseSourceSpec.parse(s) for s in args.noise),
        categories_file=args.categories,
        profiles=tuple(args.profile or builtin_names()),
        working_crs=args.crs,
        out_dir=out,
        cache_dir=args.cache,
        layers_dir=args.layers,
        model_noise=not args.no_noise_model,
        map_tiles=args.tiles,
        max_snap_m=args.max_snap,
        neighbourhoods_file=args.neighbourhoods,
        neighbourhood_figures_file=args.neighbourhood_figures,
        neighbourhood_year=args.neighbourhood_year,
        title=title,
    )


def _tiles(text: str) -> str:
    from sitefinder.presets import parse_tiles

    try:
        return ",".join(parse_tiles(text)) or "none"
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--tiles: ")) from None


def main(args: argparse.Namespace) -> int:
    """Score through the Python API (:func:`sitefinder.api.run`) and report where the outputs went."""
    from sitefinder.api import run as run_study
    from sitefinder.scoring import status

    cfg = config_from_args(args)
    result = run_study(cfg, progress=not (args.quiet or args.top_quiet))
    for r in result.profiles:
        p = r.profile.name
        ranked = r.table[r.table[f"rank_{p}"].notna()].sort_values(f"rank_{p}").head(3)
        if ranked.empty:
            log.warning("%s: %s", p, status.no_eligible(p, r.table[f"excluded_{p}"].tolist()))
            continue
        log.info("%s top %d: %s", p, len(ranked),
                 ", ".join(f"{pid} ({s:.0f})" for pid, s in ranked[f"score_{p}"].items()))  # fmt: skip
    log.info("Outputs in %s: %s", result.out_dir, ", ".join(result.files))
    return 0
