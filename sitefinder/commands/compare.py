"""``sitefinder compare``: put chosen plots of a run side by side in a printable report."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EPILOG = """examples:
  sitefinder compare A1 A3 A6 --run maps/amsterdam-centrum
  sitefinder compare K-012 K-031 --run maps/almere --out memo/kavels.html

writes an HTML page (prints to A4; opens without internet) and a CSV with the same name.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``compare`` command."""
    p = sub.add_parser(
        "compare",
        parents=[common],
        formatter_class=fmt,
        epilog=EPILOG,
        help="compare plots side by side (HTML report and CSV)",
        description="Put the chosen plots of a run side by side: score and rank per profile, the "
        "contribution of each criterion, failed constraints, every indicator with its unit and a "
        "small map of each plot.",
    )
    p.add_argument("plot_ids", nargs="+", metavar="PLOT_ID", help="plots to compare (ids as in scores.csv)")
    p.add_argument(
        "--run", type=Path, required=True, metavar="DIR", help="folder with the results of 'sitefinder run'"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="HTML file to write; the CSV goes beside it (default: DIR/vergelijking_<ids>.html)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Read the run folder, check the plot ids and write the report."""
    from sitefinder.render.report import open_run, write_report

    run = open_run(args.run)
    html_path, csv_path = write_report(run, args.plot_ids, args.out)
    log.info("Report: %s", html_path)
    log.info("Table:  %s", csv_path)
    return 0
