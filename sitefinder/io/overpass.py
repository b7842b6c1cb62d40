"""Download OpenStreetMap data from Overpass for a place, polygon or bbox; cache it on disk.

One query fetches, as OSM XML, the walkable ways and every feature the run needs
(categories, nuisance sources, noise lines, candidate landuse), with the nodes and
members they reference. The answer is saved under ``<cache>/overpass/<query hash>.osm``
and then read by exactly the same code as a local OSM file; a second run with the
same area and filter makes no request. Place names are geocoded by osmnx
(Nominatim). A failed or truncated download is never cached as good.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import osmnx as ox
import requests
import shapely
from shapely.geometry import box

from sitefinder import __version__
from sitefinder.config import OverpassSource
from sitefinder.errors import DownloadError, InputFileError
from sitefinder.io.atomic import atomic_path
from sitefinder.io.download import CONNECT_TIMEOUT_S, stall_s, timeout_message
from sitefinder.io.osmmerge import area_km2, merge_osm_xml, subdivide

log = logging.getLogger(__name__)

_HINT = "check the network, or download an extract and use --osm FILE"


@contextlib.contextmanager
def _osmnx_endpoint(src: OverpassSource, cache_dir: Path) -> Iterator[None]:
    """Point osmnx's Nominatim client at ``src`` for the duration, then restore settings."""
    saved = (
        ox.settings.nominatim_url,
        ox.settings.cache_folder,
        ox.settings.requests_timeout,
        ox.settings.log_console,
        ox.settings.http_user_agent,
    )
    ox.settings.nominatim_url = src.nominatim_url
    ox.settings.cache_folder = str(cache_dir / "nominatim")
    ox.settings.requests_timeout = _stall_s(src)  # seconds, a float: requests takes one
    ox.settings.log_console = False
    ox.settings.http_user_agent = user_agent()
    try:
        yield
    finally:
        (
            ox.settings.nominatim_url,
            ox.settings.cache_folder,
            ox.settings.requests_timeout,
            ox.settings.log_console,
            ox.settings.http_user_agent,
        ) = saved


def area_polygon(src: OverpassSource, cache_dir: Path) -> Any:
    """The download area as a WGS84 (Multi)Polygon."""
    if src.bbox is not None:
        w, s, e, n = src.bbox
        return box(w, s, e, n)
    if src.polygon_file is not None:
        if not src.polygon_file.exists():
            msg = f"area polygon file {src.polygon_file}: no such file; check the path"
            raise InputFileError(msg)
        gdf = gpd.read_file(src.polygon_file)
        if gdf.crs is None:
            msg = f"area polygon file {src.polygon_file}: has no CRS; set one and save again"
            raise InputFileError(msg)
        return shapely.force_2d(gdf.to_crs(4326).union_all())
    with _osmnx_endpoint(src, cache_dir):
        try:
            gdf = ox.geocode_to_gdf(str(src.place))
        except requests.RequestException as exc:
            msg = timeout_message(
                "Nominatim",
                src.nominatim_url,
                exc,
                f"looking up {src.place!r} failed; {_HINT}",
                _stall_s(src),
            )
            raise DownloadError(msg) from None
        except (ox._errors.InsufficientResponseError, TypeError, ValueError) as exc:
            msg = f"place {src.place!r}: Nominatim found no boundary polygon ({exc}); spell it as 'Almere, Flevoland, Nederland' or use --bbox"
            raise DownloadError(msg) from None
    geom = gdf.geometry.iloc[0]
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        msg = f"place {src.place!r}: Nominatim returned a {geom.geom_type}, not an area; name a municipality or use --bbox"
        raise DownloadError(msg)
    return geom


def _poly_clauses(area: Any, tolerance: float = 0.0005) -> list[str]:
    geom = area.simplify(tolerance, preserve_topology=True) if tolerance > 0 else area
    parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    clauses = []
    for part in parts:
        coords = " ".join(f"{y:.6f} {x:.6f}" for x, y in part.exterior.coords[:-1])
        clauses.append(f'poly:"{coords}"')
    return clauses


def build_query(
    area: Any, tag_filter: dict[str, bool | list[str]], timeout_s: float = 180.0, tolerance: float = 0.0005
) -> str:
    """The Overpass QL query for the walking network and the tagged features in ``area``.

    ``tolerance`` (degrees) simplifies the polygon first; 0 for pieces of an area that
    was simplified before it was split (so neighbouring pieces share their edges exactly).
    """
    lines = []
    for clause in _poly_clauses(area, tolerance):
        lines.append(f'  way["highway"]({clause});')
        for key, vals in sorted(tag_filter.items()):
            if vals is True:
                sel = f'["{key}"]'
            else:
                alt = "|".join(sorted(vals))  # type: ignore[arg-type]
                sel = f'["{key}"~"^({alt})$"]'
            lines.append(f"  nwr{sel}({clause});")
    body = "\n".join(lines)
    return f"[out:xml][timeout:{int(timeout_s)}];\n(\n{body}\n);\n(._;>;);\nout body;\n"


#: Answers after which a request is repeated (after a wait): rate limited, gateway trouble.
RETRY_STATUS = frozenset({429, 502, 503, 504})

#: Waits are done through this function (tests replace it to record them instead of waiting).
_sleep = time.sleep


def user_agent() -> str:
    """The User-Agent of every request: sitefinder and its version (Overpass and Nominatim ask for one)."""
    return f"sitefinder/{__version__} (housing-with-care site finder; python-requests/{requests.__version__})"


@contextlib.contextmanager
def overpass_session() -> Iterator[requests.Session]:
    """A requests session that names sitefinder in its User-Agent."""
    with requests.Session() as session:
        session.headers["User-Agent"] = user_agent()
        yield session


def status_url(interpreter_url: str) -> str:
    """The ``/status`` endpoint beside an Overpass ``/interpreter`` endpoint."""
    base = interpreter_url.rstrip("/")
    return (base[: -len("/interpreter")] if base.endswith("/interpreter") else base) + "/status"


_SLOT_IN = re.compile(r"Slot available after: \S+, in (-?\d+) seconds?\.")


def slot_wait_s(session: requests.Session, src: OverpassSource) -> float | None:
    """Seconds until Overpass has a free slot for us, from its status page (0: free now; None: unknown).

    The status page lists ``N slots available now.`` and/or ``Slot available after:
    <time>, in <s> seconds.`` lines; the shortest wait counts.
    """
    try:
        resp = session.get(status_url(src.overpass_url), timeout=min(src.timeout_s, 30.0))
    except requests.RequestException:
        return None
    if resp.status_code != 200:
        return None
    text = resp.text
    if re.search(r"^\s*[1-9]\d* slots? available now", text, re.MULTILINE):
        return 0.0
    waits = [max(0.0, float(m)) for m in _SLOT_IN.findall(text)]
    return min(waits) if waits else None


def _retry_after_s(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: use the status page or the backoff instead


def _is_stall(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "read timed out" in text or "readtimeout" in text or "timed out" in text


def _stall_s(src: OverpassSource) -> float:
    """The stall limit of ``src``: its own, or the common one (60 s, ``SITEFINDER_STALL_S``)."""
    return src.stall_s if src.stall_s is not None else stall_s()


def _post_with_retries(session: requests.Session, src: OverpassSource, query: str) -> requests.Response:
    """POST the query; on 429/502/503/504 wait and try again.

    The wait is what the answer's ``Retry-After`` or, after a 429, the status page says,
    else an exponential backoff (``backoff_s``, doubling, capped at ``max_wait_s``).
    A server that accepts and then says nothing for the stall limit, or that takes no
    connection within 10 s, fails at once (asking it again would only multiply the wait).

    Raises
    ------
    DownloadError
        When Overpass is unreachable, stalls, or still answers an error after ``attempts`` tries.
    """
    last = ""
    limit = _stall_s(src)
    for attempt in range(1, src.attempts + 1):
        wait = min(src.max_wait_s, src.backoff_s * 2 ** (attempt - 1))
        try:
            resp = session.post(
                src.overpass_url,
                data={"data": query},
                timeout=(min(src.timeout_s, CONNECT_TIMEOUT_S), limit),
                stream=True,
            )
        except requests.exceptions.Timeout as exc:
            msg = timeout_message("Overpass", src.overpass_url, exc, f"not cached; {_HINT}", limit)
            raise DownloadError(msg) from None
        except requests.RequestException as exc:  # refused, no route, DNS: waiting will not help
            msg = f"Overpass {src.overpass_url}: unreachable ({type(exc).__name__}); {_HINT}"
            raise DownloadError(msg) from None
        else:
            if resp.status_code == 200:
                return resp
            last = f"answered HTTP {resp.status_code} ({resp.reason})"
            if resp.status_code not in RETRY_STATUS:
                msg = f"Overpass {src.overpass_url}: {last}; check the query or {_HINT.split(', or ')[1]}"
                raise DownloadError(msg)
            told = _retry_after_s(resp)
            if told is None and resp.status_code == 429:
                told = slot_wait_s(session, src)
            if told is not None:
                wait = min(src.max_wait_s, told)
            resp.close()
        if attempt < src.attempts:
            log.warning(
                "Overpass %s: %s; trying again in %.0f s (attempt %d of %d)",
                src.overpass_url, last, wait, attempt + 1, src.attempts,
            )  # fmt: skip
            _sleep(wait)
    msg = (
        f"Overpass {src.overpass_url}: {last}, {src.attempts} attempts; the server is busy, "
        f"retry later or {_HINT.split(', or ')[1]}"
    )
    raise DownloadError(msg)


def download(
    src: OverpassSource, tag_filter: dict[str, bool | list[str]], cache_dir: Path
) -> tuple[Path, dict[str, Any]]:
    """Fetch (or reuse) the OSM XML for ``src``; return its path and provenance.

    An area larger than ``src.max_query_area_km2`` is split into squares of that size
    (:func:`sitefinder.io.osmmerge.subdivide`), each queried on its own, and the answers
    merged into one file with every element once (by type and id).

    Raises
    ------
    DownloadError
        When Overpass is unreachable, answers with an error, or the answer is truncated.
    """
    cache_dir = Path(cache_dir)
    area = area_polygon(src, cache_dir).simplify(0.0005, preserve_topology=True)
    parts = subdivide(area, src.max_query_area_km2)
    queries = [build_query(part, tag_filter, src.timeout_s, tolerance=0.0) for part in parts]
    key = hashlib.sha256((src.overpass_url + "\n" + "\n".join(queries)).encode()).hexdigest()[:20]
    path = cache_dir / "overpass" / f"{key}.osm"
    info = {
        "overpass_url": src.overpass_url,
        "place": src.place,
        "bbox": src.bbox,
        "query_sha256": key,
        "queries": len(queries),
        "path": str(path),
    }
    if path.exists():
        log.info("Overpass answer reused from cache %s (no request)", path)
        return path, {**info, "cache": "hit"}
    if len(queries) > 1:
        log.info(
            "The area (%.0f km²) is larger than %g km² (max_query_area_km2): %d Overpass queries, merged",
            area_km2(area), src.max_query_area_km2, len(queries),
        )  # fmt: skip
    log.info(
        "Requesting OSM data from Overpass %s (%d characters of query)",
        src.overpass_url, sum(len(q) for q in queries),
    )  # fmt: skip
    with overpass_session() as session, atomic_path(path) as tmp:
        if len(queries) == 1:
            n = _fetch(session, src, queries[0], tmp)
        else:
            with tempfile.TemporaryDirectory(dir=path.parent, prefix=".parts-") as folder:
                files = []
                n = 0
                for k, query in enumerate(queries, 1):
                    log.info("Overpass query %d of %d", k, len(queries))
                    files.append(Path(folder) / f"{k}.osm")
                    n += _fetch(session, src, query, files[-1])
                counts = merge_osm_xml(files, tmp, f"Overpass {src.overpass_url}")
            log.info(
                "Merged %d answers: %d nodes, %d ways, %d relations (each once)",
                len(files), counts["node"], counts["way"], counts["relation"],
            )  # fmt: skip
    log.info("Downloaded %.1f MB from Overpass to %s", n / 1e6, path)
    return path, {**info, "cache": "miss", "bytes": n}


def _fetch(session: requests.Session, src: OverpassSource, query: str, dest: Path) -> int:
    """POST one query (with retries) and stream the answer to ``dest``, checked; return its size in bytes.

    Raises
    ------
    DownloadError
        When the answer stalls, breaks off, is no OSM XML or carries Overpass's error remark.
    """
    resp = _post_with_retries(session, src, query)
    n = 0
    tail = b""
    try:
        with dest.open("wb") as f:
            for chunk in resp.iter_content(chunk_size=1 << 16):
                f.write(chunk)
                n += len(chunk)
                tail = (tail + chunk)[-4096:]
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        if _is_stall(exc):
            msg = (
                f"Overpass {src.overpass_url}: download stalled, no data for {_stall_s(src):g} s after "
                f"{n} bytes; not cached, retry later or use --osm FILE"
            )
        else:
            msg = (
                f"Overpass {src.overpass_url}: answer is truncated, it broke off after {n} bytes "
                f"({type(exc).__name__}); not cached, retry or use --osm FILE"
            )
        raise DownloadError(msg) from None
    except requests.RequestException as exc:
        msg = (
            f"Overpass {src.overpass_url}: answer is truncated, it broke off after {n} bytes "
            f"({type(exc).__name__}); not cached, retry or use --osm FILE"
        )
        raise DownloadError(msg) from None
    text_tail = tail.decode("utf-8", "replace")
    if "</osm>" not in text_tail:
        msg = f"Overpass {src.overpass_url}: answer is truncated ({n} bytes, no closing </osm>); not cached, retry or use --osm FILE"
        raise DownloadError(msg)
    with dest.open("rb") as f:
        head = f.read(4096).decode("utf-8", "replace")
    if "<remark>" in text_tail and "error" in text_tail.lower():
        remark = text_tail.split("<remark>")[1].split("</remark>")[0].strip()
        msg = f"Overpass {src.overpass_url}: query failed ({remark[:120]}); the area may be too large, lower max_query_area_km2 (--overpass-max-area-km2) or use a Geofabrik extract with --osm FILE"
        raise DownloadError(msg)
    if "<osm" not in head:
        msg = f"Overpass {src.overpass_url}: answer is not OSM XML; not cached, retry or use --osm FILE"
        raise DownloadError(msg)
    return n
