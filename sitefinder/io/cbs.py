"""CBS neighbourhoods (wijken en buurten): polygons and key figures from files.

Two inputs, joined on the neighbourhood code (``BU_CODE``, e.g. ``BU00340101``):

* **polygons**: the CBS wijk- en buurtkaart (GeoJSON, GeoPackage, Shapefile) or PDOK's
  CBS wijken-en-buurten service (:mod:`sitefinder.io.cbs_online`). Both naming schemes
  are read: the map files' ``BU_CODE``/``BU_NAAM``/``WK_CODE``/``GM_CODE`` and PDOK's
  ``buurtcode``/``buurtnaam``/``wijkcode``/``gemeentecode``.
* **key figures**: the StatLine table "Kerncijfers wijken en buurten" as CSV
  (``;``-separated, UTF-8 with BOM, as CBS exports it) or from CBS open data (OData).
  Column names carry a numeric suffix that differs per year (``HuishoudensTotaal_28``
  in 2022, ``_29`` in 2023); it is ignored. A file with several years (``Peildatum`` or
  ``Perioden``) is cut to one year.

Without a key-figures table, the figures come from the polygons' own attributes
(older map files: ``AANT_INW``, ``P_65_EO_JR`` in whole percent, ``AANTAL_HH``; PDOK:
``aantal_inwoners``, ``percentage_personen_65_jaar_en_ouder``, ``aantal_huishoudens``);
65+ is then inhabitants times the rounded percentage, an approximation.

CBS suppresses small numbers: a value written as ``.``, left blank, or (map files) a
negative code such as ``-99999997`` is **unknown** (NaN), never 0.

The result is one GeoDataFrame indexed by ``bu_code`` with ``buurt``, ``wk_code``,
``gm_code``, ``inwoners``, ``inwoners_65plus``, ``huishoudens``,
``eenpersoonshuishoudens`` and ``share_65plus`` (0-1), in the working CRS.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from sitefinder.errors import CRSError, DataValidationError, InputFileError
from sitefinder.io.atomic import require_file
from sitefinder.io.gdalnotes import gdal_notes_logged

log = logging.getLogger(__name__)

#: Figures every neighbourhood table carries (NaN = unknown).
FIGURES = ("inwoners", "inwoners_65plus", "huishoudens", "eenpersoonshuishoudens")

#: StatLine key-figure columns (without their numeric suffix) -> our names.
KEY_FIGURE_COLUMNS = {
    "AantalInwoners": "inwoners",
    "k_65JaarOfOuder": "inwoners_65plus",
    "HuishoudensTotaal": "huishoudens",
    "Eenpersoonshuishoudens": "eenpersoonshuishoudens",
}
#: Age groups kept when present (CBS layout).
AGE_COLUMNS = {
    "k_0Tot15Jaar": "inwoners_0_15",
    "k_15Tot25Jaar": "inwoners_15_25",
    "k_25Tot45Jaar": "inwoners_25_45",
    "k_45Tot65Jaar": "inwoners_45_65",
}
_REQUIRED_CSV = ("AantalInwoners", "k_65JaarOfOuder", "HuishoudensTotaal")

#: Polygon attribute names of the two schemes -> ours.
_POLY_NAMES = {
    "bu_code": ("BU_CODE", "buurtcode"),
    "buurt": ("BU_NAAM", "buurtnaam"),
    "wk_code": ("WK_CODE", "wijkcode"),
    "gm_code": ("GM_CODE", "gemeentecode"),
    "water": ("WATER", "water"),
}
_POLY_FIGURES = {
    "inwoners": ("AANT_INW", "aantal_inwoners"),
    "p65": ("P_65_EO_JR", "percentage_personen_65_jaar_en_ouder"),
    "huishoudens": ("AANTAL_HH", "aantal_huishoudens"),
    "p_eenp": ("P_EENP_HH", "percentage_eenpersoonshuishoudens"),
}
_SUFFIX = re.compile(r"^(?P<base>.+?)_\d+$")
_BU_CODE = re.compile(r"^BU\d{8}$")


def _number(values: Iterable[Any]) -> np.ndarray:
    """CBS values as floats: ``.``, blank, ``None`` and negative codes become NaN."""
    out = []
    for v in values:
        if v is None:
            out.append(np.nan)
            continue
        s = str(v).strip().replace(",", ".") if not isinstance(v, int | float) else v
        try:
            x = float(s)
        except (TypeError, ValueError):
            out.append(np.nan)
            continue
        out.append(np.nan if (x < 0 or not np.isfinite(x)) else x)
    return np.asarray(out, dtype=float)


def _pick(columns: Iterable[str], names: tuple[str, ...]) -> str | None:
    cols = list(columns)
    return next((n for n in names if n in cols), None)


def neighbourhood_frame(raw: gpd.GeoDataFrame, source: str, crs: CRS) -> gpd.GeoDataFrame:
    """Normalise a CBS/PDOK neighbourhood layer to our columns, in ``crs``.

    Parameters
    ----------
    raw : geopandas.GeoDataFrame
        Features with the CBS map-file or PDOK attribute names.
    source : str
        What to name in messages (file path or URL).
    crs : pyproj.CRS
        The working CRS.

    Raises
    ------
    DataValidationError
        No code column, no polygons, codes not in the ``BU`` + 8 digits form, or duplicates.
    CRSError
        The layer has no CRS.
    """
    if raw.crs is None:
        msg = f"neighbourhoods {source}: the layer has no CRS; save it with one (CBS publishes EPSG:28992)"
        raise CRSError(msg)
    code_col = _pick(raw.columns, _POLY_NAMES["bu_code"])
    if code_col is None:
        msg = (
            f"neighbourhoods {source}: no BU_CODE (or PDOK buurtcode) column; give the CBS wijk- en "
            "buurtkaart layer of neighbourhoods (buurten), not districts or municipalities"
        )
        raise DataValidationError(msg)
    polys = raw[raw.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(polys) == 0:
        msg = f"neighbourhoods {source}: no polygons in the layer; give the buurten polygons"
        raise DataValidationError(msg)
    codes = polys[code_col].astype(str).str.strip()
    bad = codes[~codes.str.match(_BU_CODE)]
    if len(bad):
        msg = (
            f"neighbourhoods {source}: column {code_col} holds {bad.iloc[0]!r}, not a neighbourhood code "
            "like BU00340101; give the buurten layer"
        )
        raise DataValidationError(msg)
    dup = codes[codes.duplicated()]
    if len(dup):
        msg = f"neighbourhoods {source}: code {dup.iloc[0]} occurs more than once; give one polygon per buurt"
        raise DataValidationError(msg)
    data: dict[str, Any] = {}
    for ours in ("buurt", "wk_code", "gm_code"):
        col = _pick(polys.columns, _POLY_NAMES[ours])
        data[ours] = polys[col].astype(str).str.strip().to_numpy() if col else None
    figs = {k: _pick(polys.columns, v) for k, v in _POLY_FIGURES.items()}
    inw = _number(polys[figs["inwoners"]]) if figs["inwoners"] else np.full(len(polys), np.nan)
    p65 = _number(polys[figs["p65"]]) if figs["p65"] else np.full(len(polys), np.nan)
    hh = _number(polys[figs["huishoudens"]]) if figs["huishoudens"] else np.full(len(polys), np.nan)
    peenp = _number(polys[figs["p_eenp"]]) if figs["p_eenp"] else np.full(len(polys), np.nan)
    data["inwoners"] = inw
    data["inwoners_65plus"] = np.round(inw * p65 / 100.0)
    data["huishoudens"] = hh
    data["eenpersoonshuishoudens"] = np.round(hh * peenp / 100.0)
    out = gpd.GeoDataFrame(data, geometry=polys.geometry.to_numpy(), crs=polys.crs)
    out.index = pd.Index(codes.to_numpy(), name="bu_code")
    out = out.to_crs(crs)
    out["share_65plus"] = out["inwoners_65plus"] / out["inwoners"].where(out["inwoners"] > 0)
    out.attrs["figures_from"] = "polygon attributes (65+ from the rounded percentage)"
    return out


def read_neighbourhoods(path: Path, crs: CRS, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read the CBS wijk- en buurtkaart (buurten) from a GeoJSON, GeoPackage or Shapefile.

    Z coordinates are dropped. See :func:`neighbourhood_frame` for the columns.

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    DataValidationError, CRSError
        See :func:`neighbourhood_frame`.
    """
    require_file(path, "neighbourhoods file")
    try:
        with gdal_notes_logged(f"neighbourhoods file {path}"):
            raw = gpd.read_file(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        msg = f"neighbourhoods file {path}: cannot read it as a vector layer ({exc}); give a GeoJSON or GeoPackage"
        raise InputFileError(msg) from None
    if raw.geometry.has_z.any():
        raw = raw.set_geometry(gpd.GeoSeries.from_wkb(raw.geometry.to_wkb(output_dimension=2), crs=raw.crs))
    out = neighbourhood_frame(raw, str(path), crs)
    log.info("Read %d neighbourhoods (buurten) from %s", len(out), path)
    return out


def _year_of(value: str) -> int | None:
    m = re.search(r"(\d{4})", value)
    return int(m.group(1)) if m else None


def key_figures_frame(
    rows: list[dict[str, str]], source: str, year: int | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """Key figures per neighbourhood code from StatLine-shaped records.

    Parameters
    ----------
    rows : list of dict
        One record per region and period, with StatLine column names (numeric suffix
        optional): ``WijkenEnBuurten`` or ``Codering``, ``SoortRegio`` (optional),
        ``Peildatum`` or ``Perioden`` (optional), ``AantalInwoners``,
        ``k_65JaarOfOuder``, ``HuishoudensTotaal``, optionally ``Eenpersoonshuishoudens``
        and the age groups.
    source : str
        What to name in messages.
    year : int, optional
        The year to keep when the records hold several (default: the latest).
    columns : list of str, optional
        The column names (default: those of the first record).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``bu_code`` with :data:`FIGURES` (and age groups when present);
        ``attrs["year"]`` holds the year.
    """
    cols = list(columns if columns is not None else (rows[0] if rows else []))
    by_base: dict[str, list[str]] = {}
    for c in cols:
        m = _SUFFIX.match(c)
        by_base.setdefault(m.group("base") if m else c, []).append(c)
    missing = [c for c in _REQUIRED_CSV if c not in by_base]
    code_cols = by_base.get("Codering") or by_base.get("WijkenEnBuurten")
    if code_cols is None:
        missing.insert(0, "Codering or WijkenEnBuurten")
    if missing:
        msg = (
            f"key figures {source}: missing column(s) {', '.join(missing)}; give the CBS table "
            "'Kerncijfers wijken en buurten' with the population and household columns"
        )
        raise DataValidationError(msg)
    assert code_cols is not None
    if not rows:
        msg = f"key figures {source}: no rows; give the CBS Kerncijfers wijken en buurten table"
        raise DataValidationError(msg)
    period_col = next(iter(by_base.get("Peildatum") or by_base.get("Perioden") or []), None)
    years = [(_year_of(r[period_col] or "") if period_col else None) for r in rows]
    present = sorted({y for y in years if y is not None})
    if year is not None and present and year not in present:
        msg = f"key figures {source}: no figures for {year}; the file has {', '.join(map(str, present))}"
        raise DataValidationError(msg)
    chosen = year if year is not None else (present[-1] if present else None)
    if present:  # a file of several years (or one, stated): keep the chosen year's rows
        rows = [r for r, y in zip(rows, years, strict=True) if y == chosen]
    kind_col = next(iter(by_base.get("SoortRegio") or []), None)
    codes = [str(r[code_cols[0]] or "").strip() for r in rows]
    keep = [
        i
        for i, c in enumerate(codes)
        if _BU_CODE.match(c) and (kind_col is None or str(rows[i][kind_col] or "").strip() in ("Buurt", ""))
    ]
    if not keep:
        msg = (
            f"key figures {source}: no neighbourhood rows (codes like BU00340101) for {chosen}; "
            "give the table at the level of buurten"
        )
        raise DataValidationError(msg)
    data: dict[str, np.ndarray] = {}
    for base, ours in {**KEY_FIGURE_COLUMNS, **AGE_COLUMNS}.items():
        variants = by_base.get(base)
        if not variants:
            if ours in FIGURES:
                data[ours] = np.full(len(keep), np.nan)
            continue
        # Several suffixed variants: each year's table fills one; take the first filled.
        vals = np.full(len(keep), np.nan)
        for col in variants:
            v = _number(rows[i][col] for i in keep)
            vals = np.where(np.isnan(vals), v, vals)
        data[ours] = vals
    out = pd.DataFrame(data, index=pd.Index([codes[i] for i in keep], name="bu_code"))
    if out.index.duplicated().any():
        dup = out.index[out.index.duplicated()][0]
        msg = (
            f"key figures {source}: code {dup} occurs twice for {chosen}; give one year (Peildatum/Perioden)"
        )
        raise DataValidationError(msg)
    out.attrs["year"] = chosen
    out.attrs["years"] = present
    return out


def read_key_figures(path: Path, year: int | None = None) -> pd.DataFrame:
    """Read the CBS key-figures CSV (``;``-separated, UTF-8 with or without BOM).

    Raises
    ------
    InputFileError
        Missing or unreadable file, or not UTF-8.
    DataValidationError
        Wrong separator, missing columns, no neighbourhood rows, unknown year.
    """
    require_file(path, "neighbourhood figures file")
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        msg = f"neighbourhood figures file {path}: not UTF-8 text; export the CBS table as CSV (UTF-8)"
        raise InputFileError(msg) from None
    header = text.split("\n", 1)[0]
    if ";" not in header:
        found = next((name for sep, name in ((",", "commas"), ("\t", "tabs")) if sep in header), None)
        how = f"separated by {found}" if found else "a single column"
        msg = (
            f"neighbourhood figures file {path}: the header is {how}, CBS CSV files are ';'-separated; "
            "export again with ';' as separator (StatLine: 'CSV met puntkomma')"
        )
        raise DataValidationError(msg)
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
    out = key_figures_frame(rows, str(path), year, list(reader.fieldnames or []))
    log.info(
        "Read CBS key figures of %d neighbourhoods (%s) from %s",
        len(out),
        out.attrs["year"] or "year not stated",
        path,
    )
    return out


def join_figures(polys: gpd.GeoDataFrame, figures: pd.DataFrame, source: str) -> gpd.GeoDataFrame:
    """Put the key figures on the polygons (by ``bu_code``); figures replace polygon attributes.

    A neighbourhood without a row in ``figures`` keeps unknown (NaN) figures. When fewer
    than half the polygons find their code, the two inputs are of different years or
    areas: that is an error naming both.

    Raises
    ------
    DataValidationError
        No or too few codes in common.
    """
    common = polys.index.intersection(figures.index)
    year = figures.attrs.get("year")
    if len(common) * 2 < len(polys):
        sample = ", ".join(polys.index[~polys.index.isin(figures.index)][:2])
        msg = (
            f"key figures {source} ({year}): only {len(common)} of {len(polys)} neighbourhood codes match "
            f"the polygons (no figures for e.g. {sample}); use figures of the same year as the map "
            "(--neighbourhood-year) or the map of the figures' year"
        )
        raise DataValidationError(msg)
    if len(common) < len(polys):
        log.warning(
            "%d of %d neighbourhoods have no key figures in %s (%s); their figures are unknown",
            len(polys) - len(common),
            len(polys),
            source,
            year,
        )
    out = polys.drop(columns=[c for c in polys.columns if c in figures.columns or c == "share_65plus"])
    out = out.join(figures.reindex(out.index))
    out["share_65plus"] = out["inwoners_65plus"] / out["inwoners"].where(out["inwoners"] > 0)
    out.attrs["figures_from"] = f"CBS kerncijfers{f' {year}' if year else ''} ({source})"
    out.attrs["year"] = year
    return gpd.GeoDataFrame(out, geometry="geometry", crs=polys.crs)


def summary(nbh: gpd.GeoDataFrame) -> Mapping[str, Any]:
    """Counts for the manifest: neighbourhoods, totals of the known figures, unknowns."""
    return {
        "neighbourhoods": len(nbh),
        "figures_from": nbh.attrs.get("figures_from"),
        "year": nbh.attrs.get("year"),
        **{f"total_{f}": float(np.nansum(nbh[f])) for f in FIGURES},
        **{f"unknown_{f}": int(nbh[f].isna().sum()) for f in FIGURES},
    }
