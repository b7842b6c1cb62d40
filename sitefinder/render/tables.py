"""Write the score tables: scores.gpkg (with geometry) and scores.csv, atomically."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd

from sitefinder.io.atomic import atomic_path
from sitefinder.render.escape import csv_safe

log = logging.getLogger(__name__)


def write_tables(result: gpd.GeoDataFrame, out_dir: Path) -> tuple[Path, Path]:
    """Write ``scores.gpkg`` (layer ``scores``, working CRS) and ``scores.csv``.

    The CSV has no geometry but the plot's representative point in the working CRS
    (``x_m``, ``y_m``) so that it opens in a spreadsheet; text cells that a spreadsheet
    would read as a formula get a leading apostrophe (:func:`~sitefinder.render.escape.csv_safe`).
    Both are written to a temporary file first and renamed into place.
    """
    out_dir = Path(out_dir)
    gpkg = out_dir / "scores.gpkg"
    csv = out_dir / "scores.csv"
    frame = result.reset_index()
    with atomic_path(gpkg) as tmp:
        frame.to_file(tmp, layer="scores", driver="GPKG", engine="pyogrio")
    pts = result.geometry.representative_point()
    table = result.drop(columns="geometry").assign(x_m=pts.x.round(1), y_m=pts.y.round(1))
    with atomic_path(csv) as tmp:
        csv_safe(table).to_csv(tmp, index=True, index_label="plot_id", encoding="utf-8")
    log.debug("Wrote %s and %s (%d plots)", gpkg, csv, len(result))
    return gpkg, csv
