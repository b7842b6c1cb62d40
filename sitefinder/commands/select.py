"""``sitefinder select``: the best k plots of a run for a profile, at least a minimum distance apart."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from sitefinder.commands.argtypes import non_negative_float, non_negative_int

log = logging.getLogger(__name__)

EPILOG = """examples:
  sitefinder select --run maps/sample --profile prikkelarm --k 5 --min-distance 1000
  sitefinder select --run maps/sample --profile uitstroom --k 3 --min-distance 800 --method optimal

greedy takes the best plot, then the best plot far enough from all taken; it is transparent but
not always optimal (it may block two good neighbours, or find fewer than k). optimal solves the
0-1 programme: first as many plots as possible (up to k), then the highest total score.
When no plot passes the profile's hard conditions, select says so and exits with status 1.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``select`` command."""
    p = sub.add_parser("select", parents=[common], formatter_class=fmt, epilog=EPILOG,
                       help="pick the best k plots for a profile, a minimum distance apart",
                       description="Pick k eligible plots of a finished run for one profile so that no two "
                       "are closer than --min-distance (the spreading principle).")  # fmt: skip
    p.add_argument("--run", type=Path, required=True, metavar="DIR", help="output folder of 'sitefinder run'")
    p.add_argument("--profile", required=True, metavar="NAME", help="profile scored in that run")
    p.add_argument("--k", type=non_negative_int, required=True, help="number of plots")
    p.add_argument("--min-distance", type=non_negative_float, default=0.0, metavar="M",
                   help="minimum distance between chosen plots, metres")  # fmt: skip
    p.add_argument("--method", choices=["greedy", "optimal"], default="greedy", help="selection method")
    p.add_argument("--measure", choices=["edge", "centre"], default="edge",
                   help="distance between plot outlines or between their centres")  # fmt: skip
    p.add_argument("--csv", type=Path, metavar="PATH", help="also write the selection to this CSV file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Select, print a table, and write it as CSV when asked."""
    from sitefinder.io.atomic import atomic_path
    from sitefinder.io.runfolder import read_run
    from sitefinder.render.escape import csv_safe
    from sitefinder.scoring import status
    from sitefinder.scoring.score import run_profile_result
    from sitefinder.selection import select_plots

    run = read_run(args.run)
    result = run_profile_result(run, args.profile)
    if not result.eligible.any():
        sys.stdout.write(
            status.no_eligible(result.name, result.table[f"excluded_{result.name}"].tolist()) + "\n"
        )
        return 1
    sel = select_plots(result, run.scores.geometry, args.k, args.min_distance, args.method, args.measure)
    table = sel.table()
    head = (f"{sel.profile}: {len(sel.plot_ids)} of {sel.k} plots at least {sel.min_distance_m:g} m apart "
            f"({sel.method}, {sel.measure} distance); total score {sel.total_score:.1f}")  # fmt: skip
    if sel.optimal is False:
        head += " (solver stopped before proving optimality)"
    sys.stdout.write(head + "\n")
    sys.stdout.write(table.to_string(index=False) + "\n")
    if args.csv is not None:
        with atomic_path(args.csv) as tmp:
            csv_safe(
                table.assign(profile=sel.profile, method=sel.method, min_distance_m=sel.min_distance_m)
            ).to_csv(tmp, index=False)
        log.info("Wrote %s", args.csv)
    return 0
