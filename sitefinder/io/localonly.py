"""Local inputs stay local: GDAL may not fetch anything over the network while reading them.

A GDAL VRT (or another XML description GDAL opens, such as a WMS or tile-index file)
can point at ``/vsicurl/https://any.host/...``; opening it as ``--noise`` or ``--plots``
would make sitefinder fetch from that host, and the provenance hash would cover only
the small description file. Such files are refused before they are opened, and GDAL's
HTTP access is switched off for the process as a second fence
(:func:`disable_gdal_network`). Downloads sitefinder makes itself (Overpass, PDOK,
Geofabrik) use ``requests`` and their configured hosts only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sitefinder.errors import InputFileError

#: Elements of GDAL's XML descriptions (VRT, OGR VRT, tile index) that name another source.
_SOURCE = re.compile(
    r"<(?P<tag>SourceFilename|SrcDataSource|SourceDataset|IndexDataset|Filename|ServerUrl)\b[^>]*>\s*(?P<value>[^<]*)",
    re.IGNORECASE,
)
#: Descriptions that exist only to fetch from a server.
_SERVICE = re.compile(r"<GDAL_(?:WMS|WMTS|WCS)\b|<WMS_Capabilities\b|<(?:TMS|Tile)Map\b", re.IGNORECASE)
#: Values GDAL would read through a virtual file system or from the network.
_REMOTE = re.compile(r"^\s*(?:/vsi[a-z0-9_]+/|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
#: How much of a description file is searched (VRTs are small; a GeoTIFF starts binary).
_HEAD = 1 << 20


def check_local_only(path: Path, what: str) -> None:
    """Refuse a file whose content makes GDAL read other (remote or virtual) sources.

    Only XML descriptions are looked at (VRT, OGR VRT, tile index, WMS): the elements
    that name another source must name a local file. GeoJSON, GML, CSV and binary
    rasters or GeoPackages do not make GDAL open other sources and pass unread.

    Raises
    ------
    InputFileError
        Naming the file and the reference found.
    """
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(_HEAD)
    except OSError:
        return  # the reader reports unreadable files itself
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return  # not an XML description (GeoJSON, CSV, binary formats)
    text_head = head.decode("utf-8", "replace")
    found = None
    service = _SERVICE.search(text_head)
    if service is not None:
        found = service.group(0)
    for m in _SOURCE.finditer(text_head):
        if found is None and _REMOTE.match(m.group("value")):
            found = f"<{m.group('tag')}>{m.group('value').strip()[:80]}"
    if found is not None:
        msg = (
            f"{what} {p}: refers to a remote or virtual source ({found!r}); sitefinder reads only local "
            "files - download the data and give the local file (e.g. gdal_translate the VRT to a GeoTIFF)"
        )
        raise InputFileError(msg)


def disable_gdal_network() -> None:
    """Switch GDAL's network access off for this process (local inputs never need it).

    ``CPL_VSIL_CURL_ALLOWED_EXTENSIONS`` set to an extension no file has makes every
    ``/vsicurl/`` read fail; GDAL reads these options from the environment when used.
    """
    os.environ["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] = ".sitefinder-no-network"
    os.environ["GDAL_HTTP_MAX_RETRY"] = "0"
    os.environ["GDAL_HTTP_TIMEOUT"] = "1"
