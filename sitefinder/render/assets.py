"""Web assets for self-contained HTML: inline the JS and CSS that folium links from CDNs.

Folium writes ``<script src="https://cdn...">`` and ``<link href="https://cdn...">``
tags. A map handed to a council must open without internet, so at write time every
such tag is replaced by the file's content, taken from the ``folium-offline``
package, which ships folium's web resources keyed by their CDN address (its
version follows folium's, so the addresses match). Nothing is copied into this
repository. sitefinder's own small script and style sheet live beside this module.
"""

from __future__ import annotations

import functools
import logging
import re
from importlib import resources
from pathlib import Path

from sitefinder.products import schema_version

log = logging.getLogger(__name__)

_SCRIPT = re.compile(r'<script\s+src="(?P<url>https?://[^"]+)"\s*>\s*</script>', re.IGNORECASE)
_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>https?://[^"]+)"\s*/?>', re.IGNORECASE)
#: ``url(...)`` in inlined CSS that is not a data URI would be fetched relative to the
#: HTML file (and fail); such decorations (a loader gif) are dropped.
_CSS_URL = re.compile(r"url\((?!\s*['\"]?data:)[^)]*\)")


@functools.cache
def _bundle() -> dict[str, str]:
    """CDN address -> file content, from the folium-offline package."""
    from offlinefolium.elements import _res
    from offlinefolium.features import _vres

    return {**_res, **_vres}


def asset(url: str, cache_dir: Path | None = None) -> str | None:
    """The content of a CDN asset folium links to, or None when no package ships it.

    With ``cache_dir``, the content is kept per address and ``folium-offline`` version
    (:mod:`sitefinder.rendercache`, kind ``web-asset``): a warm run does not import the
    package's seven megabytes of resources.
    """
    if cache_dir is None:
        return _bundle().get(url)
    from importlib.metadata import PackageNotFoundError, version

    from sitefinder.rendercache import cached_value
    from sitefinder.surfacecache import KeyHash

    try:
        shipped_by = version("folium-offline")
    except PackageNotFoundError:
        shipped_by = None
    key = KeyHash().add("schema", schema_version("web-asset")).add("package", shipped_by).add("url", url)
    body: str | None = cached_value(cache_dir, "web-asset", key.hexdigest(), lambda: _bundle().get(url))
    return body


def own_asset(name: str) -> str:
    """Content of one of sitefinder's own assets (``sitefinder.js``, ``sitefinder.css``)."""
    return resources.files("sitefinder.render").joinpath(f"static/{name}").read_text("utf-8")


def _safe_script(text: str) -> str:
    # A literal "</script" inside a script would end the element early.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def inline_assets(html: str, cache_dir: Path | None = None) -> tuple[str, list[str]]:
    """Replace external ``<script src>`` and stylesheet ``<link>`` tags by inline content.

    Parameters
    ----------
    html : str
        A rendered page.
    cache_dir : pathlib.Path, optional
        Where the assets' content is kept for the next page (see :func:`asset`).

    Returns
    -------
    html : str
        The page with every known asset inlined.
    missing : list of str
        Addresses no package ships; their tags are left as they were (the page then
        needs internet for them), and a warning names them.
    """
    missing: list[str] = []

    def script(m: re.Match[str]) -> str:
        body = asset(m.group("url"), cache_dir)
        if body is None:
            missing.append(m.group("url"))
            return m.group(0)
        return f"<script>/* {m.group('url')} */\n{_safe_script(body)}\n</script>"

    def style(m: re.Match[str]) -> str:
        body = asset(m.group("url"), cache_dir)
        if body is None:
            missing.append(m.group("url"))
            return m.group(0)
        body = re.sub(r"</(style)", r"<\\/\1", _CSS_URL.sub("none", body), flags=re.IGNORECASE)
        return f"<style>/* {m.group('url')} */\n{body}\n</style>"

    out = _LINK.sub(style, _SCRIPT.sub(script, html))
    if missing:
        log.warning(
            "map: %d web assets are not available offline and stay linked (the page needs "
            "internet for them): %s",
            len(missing),
            ", ".join(missing),
        )
    return out, missing
