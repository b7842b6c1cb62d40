"""Draw the value-function figures of docs/scoring.md into docs/figures/*.png (``make figures``).

Each figure shows one value-function type with the parameters of a built-in profile,
and the band the sensitivity analysis moves it through (thresholds ±10 % of the
function's width, the default ``threshold_spread``). The PNGs are generated and
git-ignored; this script is the source.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sitefinder.scoring.functions import Categories, Decay, Ideal, Linear, Logistic, Step, _Base

log = logging.getLogger("make_figures")
OUT = Path(__file__).resolve().parent
SPREAD = 0.1

FIGURES: list[tuple[str, str, _Base, str, tuple[float, float]]] = [
    ("linear", "linear: prikkelarm 'stilte'", Linear(best=48, worst=53), "Lden (dB)", (40, 60)),
    (
        "step",
        "step: OV-halte (Rover 200/400 m, concessie 500 m)",
        Step(thresholds=[200, 400, 500], values=[1.0, 0.75, 0.4, 0.0]),
        "walking distance (m)",
        (0, 800),
    ),
    (
        "logistic",
        "logistic: senioren 'geluid' (WHO 53 dB)",
        Logistic(mid=53, width=10),
        "Lden (dB)",
        (40, 66),
    ),
    (
        "decay",
        "decay: supermarket, half distance 500 m (CROW)",
        Decay(half=500),
        "walking distance (m)",
        (0, 1500),
    ),
    (
        "ideal",
        "ideal: levendig 'horeca' (1-5 bars within 500 m)",
        Ideal(ideal=[1, 5], worst_below=0, worst_above=15),
        "bars, pubs, clubs within 500 m",
        (0, 20),
    ),
]


def draw(name: str, title: str, f: _Base, xlabel: str, xlim: tuple[float, float]) -> Path:
    """Draw one value function with its sensitivity band; return the PNG path."""
    x = np.linspace(*xlim, 801)
    fig, ax = plt.subplots(figsize=(5.2, 3.0), dpi=110)
    if f.width() > 0:
        lo = f(f.perturbed_input(x, -SPREAD))
        hi = f(f.perturbed_input(x, SPREAD))
        ax.fill_between(
            x,
            np.minimum(lo, hi),
            np.maximum(lo, hi),
            color="tab:blue",
            alpha=0.18,
            label=f"thresholds ±{100 * SPREAD:.0f} % (sensitivity)",
        )
    ax.plot(x, f(x), color="tab:blue", lw=2, label=f.describe())
    if isinstance(f, Decay):
        g = Decay(half=f.half, start=f.start, shape="gaussian")
        ax.plot(x, g(x), color="tab:orange", lw=1.5, ls="--", label=g.describe())
    ax.set(title=title, xlabel=xlabel, ylabel="value (0-1)", xlim=xlim, ylim=(-0.03, 1.05))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = OUT / f"value_{name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_categories() -> Path:
    """Bar chart of a categorical value function (zoning)."""
    f = Categories(values={"maatschappelijk": 1.0, "wonen": 0.7, "gemengd": 0.6}, other=0.0)
    labels = [*f.values, "(other)"]
    vals = [*f.values.values(), f.other]
    fig, ax = plt.subplots(figsize=(5.2, 3.0), dpi=110)
    ax.bar(labels, vals, color="tab:blue")
    ax.set(title="categories: zoning (Almere BW+ example)", ylabel="value (0-1)", ylim=(0, 1.05))
    fig.tight_layout()
    path = OUT / "value_categories.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> int:
    """Write every figure."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    paths = [draw(*spec) for spec in FIGURES] + [draw_categories()]
    for p in paths:
        log.info("Wrote %s", p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
