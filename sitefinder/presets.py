"""Named presets shipped with the package: the built-in profiles and the map backgrounds.

The lowest layer of the package (it imports nothing of sitefinder but the errors), so
that the typed configuration (:mod:`sitefinder.config`) can validate names against it
without importing the scoring or the renderer.
"""

from __future__ import annotations

from importlib import resources

from sitefinder.errors import ConfigError

#: The online tile services :mod:`sitefinder.render.basemap` offers, in menu order.
TILE_NAMES = ("brt-grijs", "brt", "luchtfoto", "osm")
#: Every name ``--tiles`` accepts.
BACKGROUNDS = ("offline", *TILE_NAMES, "none")
#: The default ``--tiles``: the offline drawing first, then every online service.
DEFAULT_TILES = "offline,brt-grijs,brt,luchtfoto,osm"


def builtin_names() -> list[str]:
    """Names of the built-in profiles (``sitefinder/profiles/<name>.toml``).

    >>> "senioren" in builtin_names()
    True
    """
    folder = resources.files("sitefinder").joinpath("profiles")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def parse_tiles(text: str) -> tuple[str, ...]:
    """The backgrounds named by ``--tiles`` (comma-separated, first shown); ``none`` gives ().

    >>> parse_tiles("OSM, offline,osm")
    ('osm', 'offline')
    >>> parse_tiles("none")
    ()

    Raises
    ------
    ConfigError
        For an unknown name; the message lists the valid names.
    """
    names = [t.strip().lower() for t in str(text).split(",") if t.strip()]
    bad = [n for n in names if n not in BACKGROUNDS]
    if bad or not names:
        msg = (
            f"--tiles: unknown background {', '.join(bad) or repr(text)}; use one or more of "
            f"{', '.join(BACKGROUNDS)}, comma-separated, the first is shown (default {DEFAULT_TILES})"
        )
        raise ConfigError(msg)
    return tuple(dict.fromkeys(n for n in names if n != "none"))
