"""``sitefinder categories``: list the amenity categories and their OSM tags."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser, fmt: type) -> None:
    """Register the ``categories`` command."""
    p = sub.add_parser(
        "categories",
        parents=[common],
        formatter_class=fmt,
        help="list amenity categories and the OSM tags that define them",
    )
    p.add_argument("--file", type=Path, help="a categories TOML file instead of the built-in one")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Print one line per category."""
    from sitefinder.categories import load_categories

    reg = load_categories(args.file)
    for cat in reg:
        rules = " | ".join(
            " & ".join(
                f"{k}={'|'.join(v) if isinstance(v, list) else ('*' if v is True else v)}"
                for k, v in rule.items()
            )
            for rule in cat.match
        )
        sys.stdout.write(f"{cat.name:14s} {cat.label:24s} {rules}\n")
    return 0
