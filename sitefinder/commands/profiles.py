"""``sitefinder profiles``: list the built-in target-group profiles, or explain one."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sitefinder.scoring.profiles import builtin_names, load_profile


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``profiles`` command."""
    p = sub.add_parser("profiles", parents=[common], formatter_class=fmt,
                       help="list target-group profiles, or explain one",
                       description="List the built-in profiles; 'profiles show NAME|PATH' explains one.")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?", help="profile name or .toml path (with 'show')")
    p.set_defaults(func=main)


def explain(name: str) -> str:
    """Plain-text explanation of a profile: constraints and criteria with their sources."""
    prof = load_profile(name)
    total = sum(c.weight for c in prof.criteria)
    lines = [f"{prof.name}: {prof.title}", f"  {prof.description}", f"  file: {prof.source_file}", "",
             "Hard constraints (a plot that fails one is excluded):"]
    for con in prof.constraints:
        lines.append(f"  - {con.describe()}  -> '{con.reason}'")
        if con.source:
            lines.append(f"      source: {con.source}")
    lines += ["", "Criteria (weight, share of the score, value function):"]
    for c in prof.criteria:
        lines.append(f"  - {c.name}: {c.label} [{c.indicator}] weight {c.weight:g} "
                     f"({100 * c.weight / total:.0f} %), {c.function.describe()}")
        if c.source:
            lines.append(f"      source: {c.source}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """List or show profiles on stdout."""
    if args.action == "show":
        if not args.name:
            from sitefinder.errors import UnknownNameError

            msg = f"profiles show needs a NAME; built-in profiles: {', '.join(builtin_names())}"
            raise UnknownNameError(msg)
        sys.stdout.write(explain(args.name) + "\n")
        return 0
    for name in builtin_names():
        prof = load_profile(name)
        sys.stdout.write(f"{name:14s} {prof.title}\n")
    return 0
