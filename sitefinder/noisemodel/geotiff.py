"""Write a modelled noise grid to a compressed, tiled float32 GeoTIFF (atomically)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import rasterio
import rasterio.crs

from sitefinder.datatypes import NoiseGrid
from sitefinder.errors import DataValidationError
from sitefinder.io.atomic import atomic_path

log = logging.getLogger(__name__)

#: GeoTIFF dataset tag holding the grid's provenance as JSON.
PROVENANCE_TAG = "SITEFINDER_PROVENANCE"


def write_noise_geotiff(grid: NoiseGrid, path: str | os.PathLike[str]) -> None:
    """Write ``grid`` as a GeoTIFF: band 1 Lden, band 2 Lnight (when present).

    The file is written beside ``path`` under a temporary name and renamed over
    ``path`` only when complete. Bands are float32 with nodata NaN, DEFLATE
    compressed with the floating-point predictor, in 256 x 256 tiles; the
    dataset tags hold ``SITEFINDER_PROVENANCE`` (the provenance as JSON),
    ``MODELLED`` and ``UNITS``.

    Parameters
    ----------
    grid : NoiseGrid
        The levels to write.
    path : str or os.PathLike
        Target file; its folder is created when missing.

    Raises
    ------
    sitefinder.errors.DataValidationError
        When ``lnight`` does not have the shape of ``lden``.
    """
    target = Path(path)
    bands = [("Lden", grid.lden)]
    if grid.lnight is not None:
        if grid.lnight.shape != grid.lden.shape:
            msg = f"Lnight shape {grid.lnight.shape} differs from Lden shape {grid.lden.shape}"
            raise DataValidationError(msg)
        bands.append(("Lnight", grid.lnight))
    rows, cols = grid.shape
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": len(bands),
        "dtype": "float32",
        "crs": rasterio.crs.CRS.from_wkt(grid.crs.to_wkt()),
        "transform": grid.transform,
        "nodata": np.nan,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3,
        "BIGTIFF": "IF_SAFER",
    }
    with atomic_path(target) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        for band, (name, values) in enumerate(bands, start=1):
            dst.write(np.asarray(values, dtype=np.float32), band)
            dst.set_band_description(band, name)
            dst.update_tags(band, QUANTITY=name, UNITS="dB(A)")
        dst.update_tags(
            **{PROVENANCE_TAG: json.dumps(grid.provenance, sort_keys=True, default=str)},
            MODELLED=str(grid.modelled).lower(),
            UNITS="dB(A)",
        )
    log.info(
        "Wrote %s noise grid %d x %d to %s", "modelled" if grid.modelled else "official", rows, cols, target
    )
