"""Read official noise rasters: any CRS, continuous dB or class-coded; combine energetically.

Each file is decoded to dB (class maps through a declared class -> dB mapping,
by preset name or given per file), resampled with nearest neighbour onto one grid in
the working CRS (so 5 dB classes keep their structure), and all sources of a period
are summed energetically: L = 10·log10 Σ 10^(Li/10).
"""

from __future__ import annotations

import logging
import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pydantic import BaseModel, ConfigDict, Field
from pyproj import CRS
from rasterio.errors import RasterioIOError
from rasterio.warp import Resampling, reproject, transform_bounds
from rasterio.windows import from_bounds

from sitefinder.config import NoiseSourceSpec
from sitefinder.datatypes import NoiseGrid
from sitefinder.errors import CRSError, DataValidationError, InputFileError, NoOverlapError, UnknownNameError
from sitefinder.io.atomic import require_file, sha256_file
from sitefinder.io.localonly import check_local_only

log = logging.getLogger(__name__)


class ClassScheme(BaseModel):
    """A preset class -> dB mapping."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    source: str
    classes: dict[int, float] = Field(min_length=1)


def load_schemes() -> dict[str, ClassScheme]:
    """The built-in class scheme presets."""
    text = resources.files("sitefinder").joinpath("data/noise_schemes.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    return {
        name: ClassScheme(
            description=body["description"],
            source=body["source"],
            classes={int(k): float(v) for k, v in body["classes"].items()},
        )
        for name, body in raw.items()
    }


def resolve_classes(spec: NoiseSourceSpec) -> dict[int, float] | None:
    """The class mapping of a source, or None for continuous dB."""
    if spec.classes is not None:
        return dict(spec.classes)
    if spec.scheme is None:
        return None
    schemes = load_schemes()
    if spec.scheme not in schemes:
        msg = (
            f"noise file {spec.path}: unknown class scheme {spec.scheme!r}; "
            f"valid schemes: {', '.join(schemes)} (or declare classes per file)"
        )
        raise UnknownNameError(msg)
    return dict(schemes[spec.scheme].classes)


def decode(
    values: np.ndarray, nodata: float | None, classes: dict[int, float] | None, where: str
) -> np.ndarray:
    """Turn raw raster values into dB (float32, NaN for nodata).

    Raises
    ------
    DataValidationError
        Listing class values that the mapping does not declare.
    """
    raw = values.astype("float64")
    invalid = ~np.isfinite(raw)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        invalid |= raw == nodata
    if classes is None:
        out = raw.astype("float32")
        out[invalid] = np.nan
        return out
    present = np.unique(raw[~invalid])
    missing = [v for v in present.tolist() if v != int(v) or int(v) not in classes]
    if missing:
        # One readable line however many values there are (a continuous dB raster read with
        # a scheme by mistake has thousands).
        shown = "[" + ", ".join(f"{v:g}" for v in missing[:10]) + "]"
        more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
        declared = sorted(classes)
        listed = ", ".join(map(str, declared[:20])) + (" ..." if len(declared) > 20 else "")
        msg = (
            f"noise file {where}: class values {shown}{more} are not in the declared mapping "
            f"(declared: [{listed}]); add them to classes, pick another scheme, or leave out scheme= "
            "if the raster holds dB values"
        )
        raise DataValidationError(msg)
    lut_keys = np.array(sorted(classes), dtype="float64")
    lut_vals = np.array([classes[int(k)] for k in lut_keys], dtype="float32")
    out = np.full(raw.shape, np.nan, dtype="float32")
    idx = np.searchsorted(lut_keys, raw[~invalid])
    out[~invalid] = lut_vals[idx]
    return out


def energetic_sum(levels: list[np.ndarray]) -> np.ndarray:
    """Energetic sum of levels in dB, cell by cell; NaN where every source is NaN.

    >>> import numpy as np
    >>> round(float(energetic_sum([np.array([50.0]), np.array([50.0])])[0]), 2)
    53.01
    """
    stack = np.stack([np.asarray(x, dtype="float64") for x in levels])
    all_nan = np.isnan(stack).all(axis=0)
    energy = np.nansum(np.power(10.0, stack / 10.0), axis=0)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(energy)
    out[all_nan] = np.nan
    return out.astype("float32")


def working_grid(bounds: tuple[float, float, float, float], resolution: float) -> tuple[Affine, int, int]:
    """A north-up grid covering ``bounds`` with cell edges on multiples of ``resolution``."""
    minx = math.floor(bounds[0] / resolution) * resolution
    miny = math.floor(bounds[1] / resolution) * resolution
    maxx = math.ceil(bounds[2] / resolution) * resolution
    maxy = math.ceil(bounds[3] / resolution) * resolution
    cols = max(1, round((maxx - minx) / resolution))
    rows = max(1, round((maxy - miny) / resolution))
    return Affine(resolution, 0, minx, 0, -resolution, maxy), rows, cols


def _read_one(
    spec: NoiseSourceSpec,
    crs: CRS,
    transform: Affine,
    shape: tuple[int, int],
    area_bounds: tuple[float, float, float, float],
) -> tuple[np.ndarray, dict[str, Any]]:
    path = require_file(spec.path, "noise file")
    check_local_only(path, "noise file")
    classes = resolve_classes(spec)
    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        msg = f"noise file {path}: not a raster GDAL can read ({str(exc)[:200]}); check the file or export it as GeoTIFF"
        raise InputFileError(msg) from None
    try:
        return _read_open(ds, path, spec, classes, crs, transform, shape, area_bounds)
    except (RasterioIOError, rasterio.errors.RasterioError) as exc:
        # Opened, but the pixels cannot be read: truncated or corrupt.
        msg = (
            f"noise file {path}: the raster opens but its pixels cannot be read ({str(exc).splitlines()[0][:200]}); "
            "the file is truncated or corrupt - copy or export it again"
        )
        raise InputFileError(msg) from None


def _read_open(
    ds: Any,
    path: Path,
    spec: NoiseSourceSpec,
    classes: dict[int, float] | None,
    crs: CRS,
    transform: Affine,
    shape: tuple[int, int],
    area_bounds: tuple[float, float, float, float],
) -> tuple[np.ndarray, dict[str, Any]]:
    with ds:
        if ds.crs is None:
            msg = (
                f"noise file {path}: has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:28992 "
                f"{path.name}) - sitefinder never guesses a CRS"
            )
            raise CRSError(msg)
        src_bounds = transform_bounds(crs, ds.crs, *area_bounds, densify_pts=21)
        b = ds.bounds
        if (
            src_bounds[0] >= b.right
            or src_bounds[2] <= b.left
            or src_bounds[1] >= b.top
            or src_bounds[3] <= b.bottom
        ):
            msg = (
                f"noise file {path}: does not overlap the study area (raster bounds "
                f"{tuple(round(v) for v in b)} in {ds.crs.to_string()}); use the noise map of this region"
            )
            raise NoOverlapError(msg)
        pad = 2 * max(abs(ds.res[0]), abs(ds.res[1]))
        win = from_bounds(
            src_bounds[0] - pad, src_bounds[1] - pad, src_bounds[2] + pad, src_bounds[3] + pad, ds.transform
        )
        win = win.intersection(rasterio.windows.Window(0, 0, ds.width, ds.height))
        win = win.round_offsets().round_lengths()
        raw = ds.read(1, window=win)
        db = decode(raw, ds.nodata, classes, str(path))
        src_transform = ds.window_transform(win)
        src_crs = ds.crs
        res = ds.res
    out = np.full(shape, np.nan, dtype="float32")
    reproject(
        db,
        out,
        src_transform=src_transform,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs=crs,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    if np.isnan(out).all():
        msg = (
            f"noise file {path}: nodata covers the whole study area; the map has no values here, "
            "use a map that covers it"
        )
        raise DataValidationError(msg)
    info = {
        "path": str(path),
        "sha256": sha256_file(path),
        "period": spec.period,
        "label": spec.label or path.stem,
        "crs": src_crs.to_string(),
        "resolution": list(res),
        "classes": {str(k): v for k, v in classes.items()} if classes else None,
        "scheme": spec.scheme,
    }
    log.info(
        "Noise %s (%s, %s): %s -> %s",
        spec.label or path.name,
        spec.period,
        "classes " + (spec.scheme or "declared") if classes else "continuous dB",
        src_crs.to_string(),
        crs.to_string(),
    )
    return out, info


def load_noise(
    specs: list[NoiseSourceSpec],
    crs: CRS,
    area_bounds: tuple[float, float, float, float],
    resolution: float = 10.0,
) -> NoiseGrid | None:
    """Read, decode and combine noise rasters onto one grid in the working CRS.

    Parameters
    ----------
    specs : list of NoiseSourceSpec
        The rasters; may be empty (returns None).
    crs : pyproj.CRS
        The working CRS.
    area_bounds : tuple
        Study area bounds in the working CRS; the grid covers them.
    resolution : float
        Grid cell size in metres.
    """
    if not specs:
        return None
    transform, rows, cols = working_grid(area_bounds, resolution)
    by_period: dict[str, list[np.ndarray]] = {"lden": [], "lnight": []}
    infos = []
    for spec in specs:
        arr, info = _read_one(spec, crs, transform, (rows, cols), area_bounds)
        by_period[spec.period].append(arr)
        infos.append(info)
    if not by_period["lden"]:
        msg = "noise: only Lnight files were given; give at least one Lden file (period=lden)"
        raise DataValidationError(msg)
    lden = energetic_sum(by_period["lden"])
    lnight = energetic_sum(by_period["lnight"]) if by_period["lnight"] else None
    return NoiseGrid(
        lden=lden,
        transform=transform,
        crs=crs,
        lnight=lnight,
        modelled=False,
        provenance={"kind": "official", "files": infos, "resolution_m": resolution},
    )
