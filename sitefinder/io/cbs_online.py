"""CBS neighbourhoods online: buurten polygons from PDOK and key figures from CBS open data (OData).

* Polygons: PDOK's CBS wijken-en-buurten service (OGC API Features, one service per
  year: ``https://api.pdok.nl/cbs/wijken-en-buurten-<year>/ogc/v1``), collection
  ``buurten`` filtered by ``gemeentecode``, paged with ``rel=next`` links
  (:func:`sitefinder.io.download.pdok_boundary` does the fetching and checking).
* Key figures: the CBS open-data table "Kerncijfers wijken en buurten" of the year
  (OData v3, ``https://opendata.cbs.nl/ODataApi/odata/<table>/TypedDataSet``),
  filtered to the municipality's buurten, paged with ``odata.nextLink``. The records
  carry the StatLine column names; they are cached as a CSV in the CBS layout (``;``,
  UTF-8 with BOM, ``null`` written blank as CBS does for suppressed values), so the
  same reader (:func:`sitefinder.io.cbs.read_key_figures`) reads them.

Both are cached under ``<cache>/cbs``; a download is written to a temporary file and
renamed only when complete.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from pathlib import Path
from typing import Any

from sitefinder.errors import DownloadError
from sitefinder.io.atomic import atomic_path
from sitefinder.io.download import Timeout, _get, pdok_boundary

log = logging.getLogger(__name__)

CBS_ODATA_URL = "https://opendata.cbs.nl/ODataApi/odata"

#: CBS open-data table ids of "Kerncijfers wijken en buurten" per year (check a new year's
#: id on opendata.cbs.nl and give it as ``cbs_table`` in the region file).
KERNCIJFERS_TABLES = {2021: "85039NED", 2022: "85318NED", 2023: "85618NED", 2024: "85984NED"}
#: At most this many pages per download (CBS pages by 10,000 records).
MAX_PAGES = 1000


def pdok_url(year: int) -> str:
    """PDOK's CBS wijken-en-buurten OGC API of ``year``."""
    return f"https://api.pdok.nl/cbs/wijken-en-buurten-{year}/ogc/v1"


def pdok_neighbourhoods(code: str, cache_dir: Path, base_url: str) -> tuple[Path, dict[str, Any]]:
    """The buurten of municipality ``code`` (e.g. ``GM0034``) as a cached GeoJSON (WGS84)."""
    return pdok_boundary(code, cache_dir, base_url, collection="buurten", prop="gemeentecode")


def cbs_key_figures(
    code: str,
    year: int,
    cache_dir: Path,
    base_url: str = CBS_ODATA_URL,
    table: str | None = None,
    timeout: Timeout | None = None,
) -> tuple[Path, dict[str, Any]]:
    """The key figures of the buurten of municipality ``code`` for ``year``, as a cached CBS-layout CSV.

    Raises
    ------
    DownloadError
        Unknown year without ``table``, unreachable service, an answer that is not
        OData JSON, or no neighbourhood rows for the municipality.
    """
    if table is None:
        if year not in KERNCIJFERS_TABLES:
            known = ", ".join(f"{y}: {t}" for y, t in KERNCIJFERS_TABLES.items())
            msg = (
                f"CBS open data: no known key-figures table for {year} ({known}); give cbs_table "
                "(the table id on opendata.cbs.nl) in the region file's [neighbourhoods]"
            )
            raise DownloadError(msg)
        table = KERNCIJFERS_TABLES[year]
    key = hashlib.sha256(f"{base_url}|{table}|{code}".encode()).hexdigest()[:12]
    path = Path(cache_dir) / "cbs" / f"kerncijfers-{table}-{code}-{key}.csv"
    info: dict[str, Any] = {"url": base_url, "table": table, "code": code, "path": str(path)}
    if path.exists():
        log.info("CBS key figures %s %s reused from cache %s (no request)", table, code, path)
        return path, {**info, "cache": "hit"}
    prefix = "BU" + code[2:]
    url: str | None = f"{base_url.rstrip('/')}/{table}/TypedDataSet"
    params: dict[str, str] | None = {"$filter": f"startswith(WijkenEnBuurten,'{prefix}')", "$format": "json"}
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    while url:
        resp = _get(url, "CBS open data", timeout, params=params)
        try:
            doc = resp.json()
        except ValueError:
            msg = f"CBS open data {url}: answer is not JSON (truncated or an error page); not cached, retry later"
            raise DownloadError(msg) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("value"), list):
            msg = f"CBS open data {url}: answer has no 'value' list; check the table id {table!r}"
            raise DownloadError(msg)
        records += doc["value"]
        nxt = doc.get("odata.nextLink")
        if nxt is not None and (nxt in seen or len(seen) >= MAX_PAGES):
            msg = f"CBS open data {base_url}: the answer's paging does not end (odata.nextLink repeats); retry later"
            raise DownloadError(msg)
        url = nxt
        if url is not None:
            seen.add(url)
        params = None
    if not records:
        msg = f"CBS open data table {table}: no neighbourhoods for {code}; check the municipal code and the year"
        raise DownloadError(msg)
    columns = list(records[0])
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for r in records:
        writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    log.info("Fetched CBS key figures of %d neighbourhoods (%s, table %s)", len(records), code, table)
    return path, {**info, "cache": "miss", "rows": len(records)}
