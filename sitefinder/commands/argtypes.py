"""Argument types for numbers that must be finite and not negative (argparse exits 2 with the option named)."""

from __future__ import annotations

import argparse
import math


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (a distance in metres, say).

    >>> non_negative_float("250")
    250.0
    """
    try:
        v = float(text)
    except ValueError:
        msg = f"{text!r} is not a number"
        raise argparse.ArgumentTypeError(msg) from None
    if not math.isfinite(v) or v < 0:
        msg = f"{text!r} must be a finite number of at least 0"
        raise argparse.ArgumentTypeError(msg)
    return v


def positive_float(text: str) -> float:
    """A finite number > 0."""
    v = non_negative_float(text)
    if v == 0:
        msg = f"{text!r} must be greater than 0"
        raise argparse.ArgumentTypeError(msg)
    return v


def non_negative_int(text: str) -> int:
    """A whole number >= 0 (a random seed, say).

    >>> non_negative_int("42")
    42
    """
    try:
        v = int(text)
    except ValueError:
        msg = f"{text!r} is not a whole number"
        raise argparse.ArgumentTypeError(msg) from None
    if v < 0:
        msg = f"{text!r} must be 0 or more"
        raise argparse.ArgumentTypeError(msg)
    return v
