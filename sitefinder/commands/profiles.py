"""``sitefinder profiles``: list the built-in target-group profiles, or explain one."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from sitefinder.errors import UnknownNameError

if TYPE_CHECKING:
    from sitefinder.scoring.profiles import Profile


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``profiles`` command."""
    p = sub.add_parser("profiles", parents=[common], formatter_class=fmt,
                       help="list target-group profiles, or explain one",
                       description="List the built-in profiles; 'profiles show NAME|PATH' explains one: "
                       "constraints, criteria, value functions, weights (direct or AHP) and sources.")  # fmt: skip
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?", help="profile name or .toml path (with 'show')")
    p.set_defaults(func=main)


def _weights_block(prof: Profile) -> list[str]:
    res = prof.ahp_result()
    if res is None or prof.ahp is None:
        return ["Weights: given directly per criterion (shares below)."]
    verdict = "consistent enough" if res.cr <= prof.ahp.max_cr else "INCONSISTENT: revise the comparisons"
    lines = [
        "Weights: derived from the pairwise comparisons in [ahp] (principal eigenvector, Saaty):",
        f"  lambda_max {res.lambda_max:.3f}, CI {res.ci:.3f}, CR {res.cr:.3f} "
        f"(limit {prof.ahp.max_cr:g}: {verdict})",
    ]
    if prof.ahp.source:
        lines.append(f"  source: {prof.ahp.source}")
    return lines


def explain(name: str) -> str:
    """Plain-text explanation of a profile: constraints, layers, weights and criteria with their sources."""
    from sitefinder.scoring.points import max_points
    from sitefinder.scoring.profiles import load_profile

    prof = load_profile(name)
    weights = prof.weights()
    most = dict(zip(weights, max_points(list(weights.values())).tolist(), strict=True))
    lines = [f"{prof.name}: {prof.title}", f"  {prof.description}", f"  file: {prof.source_file}", ""]
    if prof.layers:
        lines.append("Layers (overlaid on the plots in the load stage):")
        for lay in prof.layers:
            lines.append(f"  - {lay.name}: {lay.label or ''} [{lay.path}] -> share_in_{lay.name}, in_{lay.name}, "
                         f"dist_{lay.name}_straight_m")  # fmt: skip
            if lay.source:
                lines.append(f"      source: {lay.source}")
        lines.append("")
    lines.append("Hard constraints (a plot that fails one is excluded):")
    if not prof.constraints:
        lines.append("  (none)")
    for con in prof.constraints:
        lines.append(f"  - {con.describe()}  -> '{con.reason}'")
        if con.source:
            lines.append(f"      source: {con.source}")
    lines += ["", *_weights_block(prof), "", "Criteria (weight share of the score, value function):"]
    for c in prof.criteria:
        w = f"weight {c.weight:g}, " if c.weight is not None else ""
        lines.append(f"  - {c.name}: {c.label} [{c.indicator}] {w}{most[c.name]:.0f} %, "
                     f"{c.function.describe()}" + (" (missing = best)" if c.missing == "best" else ""))  # fmt: skip
        if c.source:
            lines.append(f"      source: {c.source}")
    lines += ["", f"Coverage: a criterion the data cannot judge (they do not reach far enough around the plot) "
              f"does not count; a plot where such criteria carry more than {100 * prof.max_share_not_evaluable:.0f} % "
              "of the weight is not ranked (max_share_not_evaluable)"]  # fmt: skip
    s = prof.sensitivity
    lines += ["", f"Sensitivity: {s.draws} draws (seed {s.seed}), weights {s.weights}"
              + (f" ±{100 * s.weight_spread:.0f} %" if s.weights == "uniform" else "")
              + f", thresholds ±{100 * s.threshold_spread:.0f} % of their width; "
              f"columns rank_p5_{prof.name}, rank_p95_{prof.name}, p_top{s.top_k}_{prof.name}"]  # fmt: skip
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """List or show profiles on stdout."""
    from sitefinder.presets import builtin_names
    from sitefinder.scoring.profiles import load_profile

    if args.action == "show":
        if not args.name:
            msg = f"profiles show needs a NAME; built-in profiles: {', '.join(builtin_names())}"
            raise UnknownNameError(msg)
        sys.stdout.write(explain(args.name) + "\n")
        return 0
    for name in builtin_names():
        prof = load_profile(name)
        how = "AHP" if prof.ahp is not None else "direct"
        sys.stdout.write(f"{name:12s} {len(prof.criteria):2d} criteria, {how:6s} weights  {prof.title}\n")
    return 0
