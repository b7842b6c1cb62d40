"""Online sources other than Overpass: PDOK (OGC API Features) boundaries and Geofabrik extracts.

Both are cached under the run's cache folder; a download is written to a temporary
file, checked (complete, parseable, checksum when the server publishes one) and only
then renamed into the cache, so a truncated download is never cached as good.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import requests

from sitefinder.errors import ConfigError, DownloadError
from sitefinder.io.atomic import atomic_path
from sitefinder.products import schema_version

log = logging.getLogger(__name__)

#: CBS wijk- en buurtkaart as OGC API Features on PDOK (municipal outlines).
PDOK_CBS_URL = "https://api.pdok.nl/cbs/wijken-en-buurten-2024/ogc/v1"
PDOK_GEMEENTE_COLLECTION = "gemeenten"
PDOK_GEMEENTE_PROPERTY = "gemeentecode"


#: Seconds to wait for a connection, and for the next bytes of an answer: a server that
#: accepts and then stays silent fails within about a minute, with the source named.
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
#: Environment variable that sets the stall limit (seconds; tests use a fraction of one).
STALL_ENV = "SITEFINDER_STALL_S"

Timeout = float | tuple[float, float]


def stall_s() -> float:
    """Seconds without a byte after which a download counts as stalled (``SITEFINDER_STALL_S``, default 60).

    Raises
    ------
    ConfigError
        When the variable is set to something that is not a positive number.
    """
    text = os.environ.get(STALL_ENV, "").strip()
    if not text:
        return READ_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        msg = f"environment variable {STALL_ENV}={text!r}: not a positive number of seconds; unset it (default {READ_TIMEOUT_S:g} s) or give e.g. 60"
        raise ConfigError(msg)
    return value


def timeouts() -> tuple[float, float]:
    """``(connect, read)`` timeouts for ``requests``: 10 s and the stall limit (:func:`stall_s`)."""
    return (CONNECT_TIMEOUT_S, stall_s())


def timeout_message(what: str, url: str, exc: Exception, hint: str, read_s: float | None = None) -> str:
    """One line for a failed request; says which timeout expired (``read_s``: the stall limit used), if one did."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"{what} {url}: no connection within {CONNECT_TIMEOUT_S:g} s; {hint}"
    # A stall while streaming arrives as a ConnectionError wrapping urllib3's ReadTimeoutError.
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc).lower():
        limit = stall_s() if read_s is None else read_s
        return (
            f"{what} {url}: connected, but no answer for {limit:g} s (the server is stalled or busy); {hint}"
        )
    return f"{what} {url}: unreachable ({type(exc).__name__}); {hint}"


def _get(url: str, what: str, timeout: Timeout | None = None, **kw: Any) -> requests.Response:
    try:
        resp = requests.get(url, timeout=timeouts() if timeout is None else timeout, **kw)
        if not kw.get("stream"):
            _ = resp.content  # read the whole body here, so a broken-off answer fails here
    except requests.exceptions.ChunkedEncodingError:
        msg = f"{what} {url}: answer is truncated (the connection broke off); nothing cached, retry later"
        raise DownloadError(msg) from None
    except requests.RequestException as exc:
        read_s = timeout[1] if isinstance(timeout, tuple) else timeout
        msg = timeout_message(
            what, url, exc, "check the network, or give the file locally in the region definition", read_s
        )
        raise DownloadError(msg) from None
    if resp.status_code != 200:
        msg = f"{what} {url}: answered HTTP {resp.status_code}; check the address or retry later"
        raise DownloadError(msg)
    return resp


#: At most this many pages per OGC API download (a paging that does not end is an error).
MAX_PAGES = 1000


def pdok_boundary(
    code: str,
    cache_dir: Path,
    base_url: str = PDOK_CBS_URL,
    collection: str = PDOK_GEMEENTE_COLLECTION,
    prop: str = PDOK_GEMEENTE_PROPERTY,
    timeout: Timeout | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Fetch a municipal outline (e.g. ``GM0034``) from an OGC API Features service, cached and verified.

    PDOK serves no files with published hashes but a paged API, so the download is
    checked the way such an API allows, and then sealed like every sitefinder cache:

    * every page is a GeoJSON FeatureCollection; its ``numberReturned`` (when given)
      equals the features on the page, the pages' features add up to the
      ``numberMatched`` of the first page (when given: no page lost), ``rel=next``
      paging ends (no repeated link, at most :data:`MAX_PAGES` pages);
    * schema: every feature carries ``prop`` with the value asked for (a server that
      ignored the filter is caught) and at least one is a Polygon or MultiPolygon;
      features are kept once by id;
    * written atomically into a cache entry (``entry.json`` with the file's size and
      SHA-256, the feature count and the pages; :mod:`sitefinder.io.cacheentry`), which
      is verified on every read and fetched again when it does not check out.

    A progress bar over the features shows on a terminal. Nothing is cached when a
    check fails.

    Returns
    -------
    path, info : pathlib.Path, dict
        The cached GeoJSON (WGS84) and provenance (URL, features, cache hit or miss).
    """
    from sitefinder.io.cacheentry import read_entry, write_entry

    kind = "pdok-boundary"
    schema = schema_version(kind)
    key = hashlib.sha256(f"{schema}|{base_url}|{collection}|{prop}|{code}".encode()).hexdigest()[:16]
    folder = Path(cache_dir) / "pdok" / f"{code}-{key}"
    path = folder / "features.geojson"
    info: dict[str, Any] = {"url": base_url, "collection": collection, "code": code, "path": str(path)}
    meta = read_entry(folder, kind, schema)
    if meta is not None:
        log.info("Boundary %s reused from cache %s (no request; size and SHA-256 checked)", code, path)
        return path, {**info, **meta, "cache": "hit"}
    features, pages, matched = _ogc_features(base_url, collection, prop, code, timeout)
    polys = [f for f in features if (f.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")]
    if not polys:
        msg = (
            f"PDOK {base_url}: no boundary polygon for {prop}={code}; check the code (e.g. GM0034 for Almere)"
        )
        raise DownloadError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"type": "FeatureCollection", "features": polys}), encoding="utf-8")
    record = {"features": len(polys), "pages": pages, "number_matched": matched, "bytes": path.stat().st_size}
    write_entry(folder, kind, schema, [path.name], record)
    log.info(
        "Fetched %s %s from PDOK (%d feature(s), %d page(s), verified)",
        "boundary" if collection == PDOK_GEMEENTE_COLLECTION else collection,
        code,
        len(polys),
        pages,
    )
    return path, {**info, **record, "cache": "miss"}


def _ogc_features(
    base_url: str, collection: str, prop: str, code: str, timeout: Timeout | None
) -> tuple[list[dict[str, Any]], int, int | None]:
    """The features of ``collection`` with ``prop == code``, all pages, checked; with the page count and ``numberMatched``."""
    import sys

    from tqdm import tqdm

    url: str | None = f"{base_url.rstrip('/')}/collections/{collection}/items"
    params: dict[str, str] | None = {prop: code, "f": "json", "limit": "100"}
    features: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    matched: int | None = None
    pages = 0
    bar = tqdm(unit=" features", desc=f"PDOK {collection}", leave=False, disable=not sys.stderr.isatty())
    try:
        while url:
            resp = _get(url, "PDOK", timeout, params=params)
            pages += 1
            try:
                doc = resp.json()
            except ValueError:
                msg = f"PDOK {url}: answer is not JSON (truncated or an error page); not cached, retry later"
                raise DownloadError(msg) from None
            if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
                msg = f"PDOK {url}: answer is not a GeoJSON FeatureCollection; check the collection name {collection!r}"
                raise DownloadError(msg)
            page = doc.get("features") or []
            returned = doc.get("numberReturned")
            if isinstance(returned, int) and returned != len(page):
                msg = f"PDOK {url}: page says numberReturned {returned} but holds {len(page)} features (truncated); not cached, retry later"
                raise DownloadError(msg)
            if matched is None and isinstance(doc.get("numberMatched"), int):
                matched = int(doc["numberMatched"])
                bar.total = matched
            for k, f in enumerate(page):
                value = (f.get("properties") or {}).get(prop)
                if value != code:
                    msg = f"PDOK {base_url}: a feature of {collection!r} has {prop}={value!r}, not {code!r} (the service ignored the filter); not cached, check the collection and property names"
                    raise DownloadError(msg)
                features.setdefault(str(f.get("id", f"{pages}-{k}")), f)
            bar.update(len(page))
            nxt = next((lk.get("href") for lk in doc.get("links", []) if lk.get("rel") == "next"), None)
            if nxt is not None and (nxt in seen or len(seen) >= MAX_PAGES):
                msg = f"PDOK {base_url}: the paging does not end (rel=next repeats); not cached, retry later"
                raise DownloadError(msg)
            if nxt is not None:
                seen.add(nxt)
            url, params = nxt, None
    finally:
        bar.close()
    if matched is not None and matched != len(features):
        msg = f"PDOK {base_url}: {len(features)} features arrived of the {matched} the service matched (a page was lost); not cached, retry later"
        raise DownloadError(msg)
    return list(features.values()), pages, matched


def _pooch_download(url: str, path: Path, known_hash: str, what: str, timeout: Timeout) -> int:
    """Download ``url`` to ``path`` with pooch: hash-checked, atomic, a progress bar on a terminal.

    Returns the size in bytes.

    Raises
    ------
    DownloadError
        When the download breaks off, the server answers an error or the hash differs.
    """
    import sys

    import pooch
    from tqdm import tqdm

    from sitefinder.io.overpass import user_agent

    # total=1: pooch tests the bar for truth before it sets the real total.
    bar = tqdm(
        total=1, unit="B", unit_scale=True, desc=path.name, leave=False, disable=not sys.stderr.isatty()
    )
    downloader = pooch.HTTPDownloader(
        progressbar=bar, chunk_size=1 << 20, timeout=timeout, headers={"User-Agent": user_agent()}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pooch.get_logger().setLevel(logging.WARNING)  # sitefinder logs the download itself
    try:
        pooch.retrieve(url, known_hash=known_hash, fname=path.name, path=path.parent, downloader=downloader)
    except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
        if isinstance(exc, requests.exceptions.Timeout) or "timed out" in str(exc).lower():
            read_s = timeout[1] if isinstance(timeout, tuple) else timeout
            raise DownloadError(timeout_message(what, url, exc, "not cached, retry later", read_s)) from None
        msg = f"{what} {url}: download is truncated, it broke off ({type(exc).__name__}); not cached, retry"
        raise DownloadError(msg) from None
    except requests.exceptions.ChunkedEncodingError as exc:
        msg = f"{what} {url}: download is truncated, it broke off ({type(exc).__name__}); not cached, retry"
        raise DownloadError(msg) from None
    except requests.HTTPError as exc:
        msg = f"{what} {url}: answered HTTP {exc.response.status_code if exc.response is not None else '?'}; check the address or retry later"
        raise DownloadError(msg) from None
    except requests.RequestException as exc:
        msg = f"{what} {url}: unreachable ({type(exc).__name__}); check the network, or give the file locally in the region definition"
        raise DownloadError(msg) from None
    except ValueError as exc:  # pooch: the hash does not match
        msg = (
            f"{what} {url}: {str(exc).splitlines()[0]}; not cached, retry (a truncated download fails so too)"
        )
        raise DownloadError(msg) from None
    finally:
        bar.close()
    return path.stat().st_size


def geofabrik_extract(
    url: str, cache_dir: Path, timeout: Timeout | None = None
) -> tuple[Path, dict[str, Any]]:
    """Download a Geofabrik ``.osm.pbf`` extract, cached; verified against its ``.md5`` file.

    Downloaded with pooch (a progress bar on a terminal, a temporary file moved into
    place only when complete) and checked against the MD5 Geofabrik publishes beside
    every extract (``<url>.md5``); a broken-off download or a mismatch is an error and
    nothing is cached.
    """
    name = url.rstrip("/").rsplit("/", 1)[-1]
    if not name.endswith(".osm.pbf"):
        msg = f"Geofabrik URL {url}: not an .osm.pbf extract; use a link such as .../flevoland-latest.osm.pbf"
        raise DownloadError(msg)
    key = hashlib.sha256(f"{schema_version('geofabrik')}|{url}".encode()).hexdigest()[:12]
    path = Path(cache_dir) / "geofabrik" / f"{key}-{name}"
    info: dict[str, Any] = {"url": url, "path": str(path)}
    if path.exists():
        log.info("Geofabrik extract reused from cache %s (no request)", path)
        return path, {**info, "cache": "hit"}
    expected_md5 = _get(url + ".md5", "Geofabrik", timeout).text.split()[0].strip().lower()
    n = _pooch_download(
        url, path, f"md5:{expected_md5}", "Geofabrik", timeouts() if timeout is None else timeout
    )
    log.info("Downloaded %.1f MB from Geofabrik to %s", n / 1e6, path)
    return path, {**info, "cache": "miss", "bytes": n, "md5": expected_md5, "via": "pooch"}
