"""``sitefinder sample``: generate the built-in sample town (OSM XML + plots), deterministic from its seed."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from sitefinder.commands.argtypes import non_negative_int, positive_float

log = logging.getLogger(__name__)


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``sample`` command."""
    p = sub.add_parser(
        "sample",
        parents=[common],
        formatter_class=fmt,
        help="generate the sample town (sample.osm, plots.gpkg, boundary)",
        description="Generate a fictional Dutch new town as OSM XML plus a plots GeoPackage. "
        "The same seed and scale give byte-identical files. Scale 1 is about 30,000 "
        "inhabitants; scale 8 is Almere-sized.",
    )
    p.add_argument("--seed", type=non_negative_int, default=42, help="random seed")
    p.add_argument("--scale", type=positive_float, default=1.0, help="size: 1 = about 30,000 inhabitants")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Generate and report what was written."""
    from sitefinder.errors import ConfigError
    from sitefinder.sample import generate_sample

    if not 0.1 <= args.scale <= 64:
        msg = f"--scale {args.scale}: must be between 0.1 and 64"
        raise ConfigError(msg)
    res = generate_sample(args.out, seed=args.seed, scale=args.scale)
    sys.stdout.write(f"{res.osm_path}\n{res.plots_path}\n{res.boundary_path}\n")
    return 0
