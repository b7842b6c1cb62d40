"""CBS-shaped neighbourhood files for the sample town: buurten polygons and a key-figures CSV.

Each neighbourhood (wijk) cell of the plan becomes one CBS buurt, with a code in the
CBS form ``BU<gemeente><wijk><buurt>`` under the fictional municipality code
:data:`GM_CODE`. A CBS wijk holds at most 99 buurten (two digits): the buurten fill
wijk 01, then 02 and so on (:data:`BUURTEN_PER_WIJK`; an Almere-sized sample has more than
99). The files have the shape of the real ones, so the sample exercises the
same readers as the Almere files:

* ``buurten.geojson``: polygons with ``BU_CODE``, ``BU_NAAM``, ``WK_CODE``, ``GM_CODE``,
  ``GM_NAAM`` (WGS84, as PDOK answers);
* ``kerncijfers.csv``: the StatLine layout (``;``-separated, UTF-8 with BOM, codes and
  region kinds padded with blanks, numeric suffixes on the column names), rows for the
  municipality, then each district (wijk) followed by its buurten, with inhabitants by age group
  (``k_0Tot15Jaar_8`` ... ``k_65JaarOfOuder_12``), households and single-person
  households, rounded to multiples of 5 as CBS does.

Inhabitants per buurt follow the generator's own count (residential block area times
:data:`sitefinder.sample.generate.RESIDENTS_PER_HA`); the age mix is drawn per buurt
(65+ between 8 % and 32 %: Dutch neighbourhoods range about so); 2.2 persons per
household (CBS average, approximately). The smallest buurt's age groups are written as
``.``, as CBS suppresses small numbers: the sample shows an unknown neighbourhood.
Synthetic numbers, not CBS data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from sitefinder.sample.cells import Lattice
from sitefinder.sample.geometry import densify, rd_to_wgs84, rectangle
from sitefinder.sample.layout import Plan
from sitefinder.sample.names import TOWN_NAME

#: Fictional CBS municipality code of the sample town (no real municipality has it).
GM_CODE = "GM9999"
#: Buurten per wijk: the buurt part of a CBS code has two digits.
BUURTEN_PER_WIJK = 99
PERSONS_PER_HOUSEHOLD = 2.2

CSV_COLUMNS = [
    "ID", "WijkenEnBuurten", "Gemeentenaam_1", "SoortRegio_2", "Codering_3",
    "IndelingswijzigingGemeenteWijkBuurt_4", "AantalInwoners_5", "k_0Tot15Jaar_8", "k_15Tot25Jaar_9",
    "k_25Tot45Jaar_10", "k_45Tot65Jaar_11", "k_65JaarOfOuder_12", "HuishoudensTotaal_29",
    "Eenpersoonshuishoudens_30",
]  # fmt: skip


def _round5(x: float) -> int:
    return int(5 * round(x / 5))


def _cell_polygons(plan: Plan) -> list[shapely.Polygon]:
    """Cell rectangles, the outer ones stretched to the town's extent (so that they tile it)."""
    ex0, ey0, ex1, ey1 = plan.extent
    xs0 = min(c.x0 for c in plan.cells)
    ys0 = min(c.y0 for c in plan.cells)
    xs1 = max(c.x1 for c in plan.cells)
    ys1 = max(c.y1 for c in plan.cells)
    out = []
    for c in plan.cells:
        x0 = ex0 if c.x0 == xs0 else c.x0
        y0 = ey0 if c.y0 == ys0 else c.y0
        x1 = ex1 if c.x1 == xs1 else c.x1
        y1 = ey1 if c.y1 == ys1 else c.y1
        out.append(shapely.Polygon(rectangle(x0, y0, x1, y1)))
    return out


def wijk_code(buurt_code: str) -> str:
    """The wijk of a CBS buurt code.

    >>> wijk_code("BU99990203")
    'WK999902'
    """
    return "WK" + buurt_code[2:8]


@dataclass
class Buurt:
    """Synthetic key figures of one buurt (None: suppressed, written as ``.``)."""

    code: str
    name: str
    inwoners: int
    ages: list[int | None]
    huishoudens: int
    eenpersoons: int


def neighbourhood_figures(
    plan: Plan,
    lattices: Sequence[Lattice],
    rng: np.random.Generator,
    residents_per_ha: float,
    centre_factor: float,
) -> list[Buurt]:
    """Figures per buurt (one per plan cell), in plan order."""
    rows = []
    for k, lat in enumerate(lattices):
        cell = lat.cell
        factor = centre_factor if cell.kind == "centre" else 1.0
        housing = cell.kind in ("residential", "centre")
        inw = lat.residential_area() / 1e4 * residents_per_ha * factor if housing else 0.0
        share65 = float(rng.uniform(0.08, 0.32))
        young = float(rng.uniform(0.12, 0.22))
        rest = 1.0 - share65 - young
        groups = [young, 0.10 * rest / 0.75, 0.35 * rest / 0.75, 0.30 * rest / 0.75, share65]
        hh = inw / PERSONS_PER_HOUSEHOLD
        single = hh * float(rng.uniform(0.25, 0.5))
        code = f"BU{GM_CODE[2:]}{k // BUURTEN_PER_WIJK + 1:02d}{k % BUURTEN_PER_WIJK + 1:02d}"
        ages: list[int | None] = [_round5(inw * g) for g in groups]
        rows.append(Buurt(code, cell.name, _round5(inw), ages, _round5(hh), _round5(single)))
    # CBS suppresses small numbers: the smallest inhabited buurt gets '.' for its age groups.
    inhabited = [r for r in rows if r.inwoners > 0]
    if inhabited:
        min(inhabited, key=lambda r: r.inwoners).ages = [None] * 5
    return rows


def write_cbs_files(
    out_dir: Path,
    plan: Plan,
    lattices: Sequence[Lattice],
    rng: np.random.Generator,
    to_rd: Callable[[np.ndarray], np.ndarray],
    origin: np.ndarray,
    residents_per_ha: float,
    centre_factor: float,
    atomic: Callable[[Path], AbstractContextManager[Path]],
) -> tuple[Path, Path]:
    """Write ``buurten.geojson`` and ``kerncijfers.csv``; return their paths."""
    rows = neighbourhood_figures(plan, lattices, rng, residents_per_ha, centre_factor)
    polys = _cell_polygons(plan)
    feats = []
    for row, poly in zip(rows, polys, strict=True):
        ring = rd_to_wgs84(to_rd(densify(np.asarray(poly.exterior.coords), 50.0)) + origin)
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "BU_CODE": row.code,
                    "BU_NAAM": row.name,
                    "WK_CODE": wijk_code(row.code),
                    "GM_CODE": GM_CODE,
                    "GM_NAAM": TOWN_NAME,
                    "WATER": "NEE",
                },
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring.tolist()]],
                },
            }
        )
    buurten = Path(out_dir) / "buurten.geojson"
    with atomic(buurten) as tmp:
        doc = {"type": "FeatureCollection", "name": "buurten", "features": feats}
        tmp.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")

    def line(i: int, code: str, kind: str, inw: int, ages: Sequence[int | None], hh: int, single: int) -> str:
        vals = [str(i), f"{code:<10}", f"{TOWN_NAME:<40}", f"{kind:<10}", f"{code:<10}", "1", str(inw),
                *("     ." if a is None else str(a) for a in ages), str(hh), str(single)]  # fmt: skip
        return ";".join(vals)

    inw = sum(r.inwoners for r in rows)
    hh = sum(r.huishoudens for r in rows)
    single = sum(r.eenpersoons for r in rows)
    ages_total: list[int | None] = [sum(r.ages[g] or 0 for r in rows) for g in range(5)]
    lines = [";".join(CSV_COLUMNS)]
    lines.append(line(1, GM_CODE, "Gemeente", inw, ages_total, hh, single))
    wijken = sorted({wijk_code(r.code) for r in rows})
    for wk in wijken:
        part = [r for r in rows if wijk_code(r.code) == wk]
        w_ages: list[int | None] = [sum(r.ages[g] or 0 for r in part) for g in range(5)]
        w_sums = (
            sum(r.inwoners for r in part),
            sum(r.huishoudens for r in part),
            sum(r.eenpersoons for r in part),
        )
        lines.append(line(len(lines), wk, "Wijk", w_sums[0], w_ages, w_sums[1], w_sums[2]))
        for r in part:
            lines.append(line(len(lines), r.code, "Buurt", r.inwoners, r.ages, r.huishoudens, r.eenpersoons))
    figures = Path(out_dir) / "kerncijfers.csv"
    with atomic(figures) as tmp:
        tmp.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return buurten, figures
