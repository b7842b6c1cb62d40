"""``sitefinder explain``: why a plot scores and ranks as it does, from a run's score table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``explain`` command."""
    p = sub.add_parser("explain", parents=[common], formatter_class=fmt,
                       help="explain plot scores: which criteria put a plot where it is",
                       description="Explain the scores of a finished run for one profile: for each plot, "
                       "the criteria that lift it above or hold it below the average eligible plot.")  # fmt: skip
    p.add_argument("--run", type=Path, required=True, metavar="DIR", help="output folder of 'sitefinder run'")
    p.add_argument("--profile", required=True, metavar="NAME", help="profile scored in that run")
    p.add_argument("--plot", action="append", default=None, metavar="ID", help="plot id; repeat for several")
    p.add_argument("--top", type=int, default=5, metavar="N",
                   help="without --plot: the N best-ranked plots (exit 1 when no plot is eligible)")  # fmt: skip
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Print explanations on stdout."""
    from sitefinder.io.runfolder import read_run
    from sitefinder.scoring import status
    from sitefinder.scoring.explain import explain
    from sitefinder.scoring.score import run_profile_result

    result = run_profile_result(read_run(args.run), args.profile)
    ids = args.plot
    if not ids:
        ranks = result.table[f"rank_{result.name}"].dropna().sort_values(kind="stable")
        ids = list(ranks.index[: args.top])
        if not ids:
            reasons = result.table[f"excluded_{result.name}"].tolist()
            sys.stdout.write(status.no_eligible(result.name, reasons) + "\n")
            sys.stdout.write("(explain one plot anyway with --plot ID)\n")
            return 1
    texts = [explain(result, pid).text for pid in ids]
    sys.stdout.write("\n\n".join(texts) + "\n")
    return 0
