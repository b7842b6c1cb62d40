"""``sitefinder compare``: a memo of at most three A4 pages that puts chosen plots side by side."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EPILOG = """examples:
  sitefinder compare A1 A3 A6 --run maps/amsterdam-centrum
  sitefinder compare K-012 K-031 --run maps/almere --out memo/kavels.html
  sitefinder compare NS-005 NS-015 NS-001 --run maps/sample --profile prikkelarm --profile senioren --pdf

writes a memo as an HTML page (at most 3 A4 pages for 3 plots and 2 profiles; opens without
internet), with --pdf also the PDF (headless Chromium), and the full table as a CSV with the
same name.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``compare`` command."""
    p = sub.add_parser(
        "compare",
        parents=[common],
        formatter_class=fmt,
        epilog=EPILOG,
        help="compare plots in a memo (HTML, optionally PDF) with the full table as CSV",
        description="Put the chosen plots of a run side by side in a council memo: a summary table over "
        "all the run's profiles, a plain-Dutch sentence per plot, the contribution chart per profile, at "
        "most 15 key indicators, locator maps on the run's streets, and the method and sources.",
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
    p.add_argument(
        "--profile",
        action="append",
        default=None,
        metavar="NAME",
        help="profile shown in detail (repeat; default: the run's first two); the summary covers all",
    )
    p.add_argument(
        "--pdf", action="store_true", help="also write the PDF (A4), printed with headless Chromium"
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Read the run folder, check the plot ids and write the report."""
    from sitefinder.render.memo import write_memo
    from sitefinder.render.report import open_run

    run = open_run(args.run)
    files = write_memo(run, args.plot_ids, args.out, args.profile, pdf=args.pdf)
    log.info("Memo:  %s", files["html"])
    if "pdf" in files:
        log.info("PDF:   %s", files["pdf"])
    log.info("Table: %s", files["csv"])
    return 0
