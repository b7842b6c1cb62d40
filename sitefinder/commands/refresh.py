"""``sitefinder refresh``: rebuild regions whose inputs changed (``data/regions/<name>.toml``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Same default as :data:`sitefinder.regions.REGIONS_DIR` (not imported: keeps ``--help`` fast).
REGIONS_DIR = Path("data/regions")


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``refresh`` and ``regions`` commands."""
    p = sub.add_parser(
        "refresh",
        parents=[common],
        formatter_class=fmt,
        help="rebuild the maps and tables of regions whose inputs changed",
        description="Rebuild maps/<region>/ for each named region (all when none are named), "
        "unless its outputs were made from the same inputs. Downloads are cached in --cache.",
    )
    p.add_argument("regions", nargs="*", metavar="REGION", help="region names (default: all)")
    p.add_argument("--force", action="store_true", help="rebuild even when up to date")
    p.add_argument("--regions-dir", type=Path, default=REGIONS_DIR, help="folder with <name>.toml files")
    p.add_argument("--maps-dir", type=Path, default=Path("maps"), help="outputs go to <maps-dir>/<region>/")
    p.add_argument("--cache", type=Path, default=Path("data/cache"), help="download cache")
    p.add_argument(
        "--layers-dir",
        type=Path,
        default=None,
        help="derived rasters go to <layers-dir>/<region>/ (default: inside each region's output folder)",
    )
    p.set_defaults(func=main)
    r = sub.add_parser("regions", parents=[common], formatter_class=fmt, help="list the region definitions")
    r.add_argument("--regions-dir", type=Path, default=REGIONS_DIR, help="folder with <name>.toml files")
    r.set_defaults(func=list_regions)


def main(args: argparse.Namespace) -> int:
    """Refresh each region in turn; an invalid region stops with its error (exit 2)."""
    from sitefinder.regions import load_region, refresh, region_names

    names = args.regions or region_names(args.regions_dir)
    for name in names:  # validate all definitions before doing any work
        load_region(name, args.regions_dir)
    for name in names:
        state = refresh(
            name,
            args.regions_dir,
            args.maps_dir,
            args.cache,
            force=args.force,
            layers_dir=args.layers_dir,
            progress=not (args.quiet or args.top_quiet),
        )
        sys.stdout.write(f"{name}: {state}\n")
    return 0


def list_regions(args: argparse.Namespace) -> int:
    """Print one line per region."""
    from sitefinder.regions import load_region, region_names

    for name in region_names(args.regions_dir):
        reg = load_region(name, args.regions_dir)
        src = reg.osm.model_dump(exclude_none=True)
        sys.stdout.write(f"{name:12s} {reg.title:34s} osm: {src}\n")
    return 0
