"""On-disk cache of the suitability surfaces, keyed by everything that shapes them.

A warm run (same OSM data, noise, profiles and settings) loads the surfaces' arrays
instead of scoring every grid cell again. The key hashes, as content: the study
and data areas, the walking network's arrays, the per-node distances and the
amenities' snapped access points of every network (walking and the other
mobilities), the amenities, the nuisance sources, the noise grid, the declared
layers, every profile (its whole validated model), the grid and indicator
parameters, the schema version of the ``surfaces`` product
(:mod:`sitefinder.products`) and the source code of the modules that compute
surfaces (so a code change never returns a stale surface). The provenance that
is not part of the result (creation time, input files) is made again on each run.

Layout: ``surfaces/<key>/surfaces.npz`` (score, eligibility and judged mask per
profile) with ``entry.json`` (:mod:`sitefinder.io.cacheentry`: verified on read,
rebuilt when it fails).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS

from sitefinder.io.atomic import atomic_path
from sitefinder.io.cacheentry import read_entry, write_entry
from sitefinder.products import schema_version

if TYPE_CHECKING:
    import geopandas as gpd

    from sitefinder.network import Snap, WalkNetwork
    from sitefinder.surfaces import Surface

log = logging.getLogger(__name__)

KIND = "surfaces"
_FILE = "surfaces.npz"

#: Modules and packages whose code shapes a surface (their ``.py`` files are hashed into the key).
CODE = (
    ("sitefinder", "surfaces.py"),
    ("sitefinder", "coverage.py"),
    ("sitefinder", "nearest.py"),
    ("sitefinder", "network.py"),
    ("sitefinder", "mobility.py"),
    ("sitefinder.indicators", None),
    ("sitefinder.scoring", None),
)


def code_hash(modules: Iterable[tuple[str, str | None]] = CODE) -> str:
    """SHA-256 of the source files of ``modules`` (a package's every ``.py`` file when the name is None)."""
    h = hashlib.sha256()
    for package, name in modules:
        root = resources.files(package)
        items = [root.joinpath(name)] if name else sorted(root.iterdir(), key=lambda p: p.name)
        for item in items:
            if item.name.endswith(".py"):
                h.update(f"{package}/{item.name}".encode())
                h.update(item.read_bytes())
    return h.hexdigest()


class KeyHash:
    """An incremental SHA-256 over arrays, geometries, frames and JSON-able values."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def add(self, label: str, value: Any) -> KeyHash:
        """Add ``value`` under ``label`` (arrays as bytes with dtype and shape; else sorted JSON)."""
        self._h.update(label.encode() + b"\x00")
        if isinstance(value, np.ndarray):
            arr = np.ascontiguousarray(value)
            self._h.update(f"{arr.dtype.str}{arr.shape}".encode())
            self._h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
        elif isinstance(value, bytes | bytearray):
            self._h.update(bytes(value))
        else:
            self._h.update(json.dumps(value, sort_keys=True, default=str).encode())
        self._h.update(b"\x01")
        return self

    def geometry(self, label: str, geoms: Any) -> KeyHash:
        """Add geometries (one shapely geometry, an array or a GeoSeries) as WKB."""
        arr = (
            geoms.to_numpy() if hasattr(geoms, "to_numpy") else np.atleast_1d(np.asarray(geoms, dtype=object))
        )
        wkb = shapely.to_wkb(arr) if len(arr) else np.empty(0, dtype=object)
        return self.add(label, b"".join(w or b"" for w in wkb.tolist()))

    def frame(self, label: str, frame: gpd.GeoDataFrame) -> KeyHash:
        """Add a GeoDataFrame: its attribute columns (as JSON) and its geometries."""
        attrs = frame.drop(columns=frame.geometry.name)
        self.add(label, attrs.to_json(orient="split", double_precision=15, default_handler=str))
        return self.geometry(f"{label}.geometry", frame.geometry)

    def snap(self, label: str, s: Snap) -> KeyHash:
        """Add a :class:`~sitefinder.network.Snap`'s arrays."""
        for name in ("owner", "edge", "along", "offset"):
            self.add(f"{label}.{name}", np.asarray(getattr(s, name)))
        return self

    def network(self, label: str, net: WalkNetwork) -> KeyHash:
        """Add a network's node positions and edges (ends and lengths)."""
        for name in ("node_xy", "edge_u", "edge_v", "edge_len"):
            self.add(f"{label}.{name}", np.asarray(getattr(net, name)))
        return self

    def hexdigest(self) -> str:
        """The key (20 hex digits)."""
        return self._h.hexdigest()[:20]


def surface_key(
    *,
    study_area: Any,
    data_area: Any,
    crs: CRS,
    net: WalkNetwork,
    node_dist: Mapping[str, np.ndarray],
    amenity_snaps: Mapping[str, Snap],
    other_networks: Mapping[str, tuple[WalkNetwork, Mapping[str, np.ndarray], Mapping[str, Snap]]],
    amenities: gpd.GeoDataFrame,
    nuisance: gpd.GeoDataFrame,
    noise: Any,
    layers: list[Any],
    profiles: list[Any],
    params: dict[str, Any],
) -> str:
    """The cache key of a set of surfaces: the content of everything they are computed from."""
    k = KeyHash().add("schema", schema_version(KIND)).add("code", code_hash()).add("params", params)
    k.add("crs", CRS.from_user_input(crs).to_wkt())
    k.geometry("study_area", study_area)
    k.geometry("data_area", data_area if data_area is not None else shapely.Point())
    k.add("data_area_known", data_area is not None)
    nets = {"walk": (net, node_dist, amenity_snaps), **dict(other_networks)}
    for name in sorted(nets):
        n, dist, snaps = nets[name]
        k.network(f"net.{name}", n)
        for cat in sorted(dist):
            k.add(f"dist.{name}.{cat}", np.asarray(dist[cat]))
        for cat in sorted(snaps):
            k.snap(f"snap.{name}.{cat}", snaps[cat])
    k.frame("amenities", amenities)
    k.frame("nuisance", nuisance)
    if noise is None:
        k.add("noise", None)
    else:
        k.add("noise.lden", np.asarray(noise.lden)).add("noise.transform", list(tuple(noise.transform)[:6]))
        k.add("noise.modelled", bool(noise.modelled))
    for lay in layers:
        k.add(f"layer.{lay.name}.spec", lay.spec.model_dump(mode="json"))
        k.geometry(f"layer.{lay.name}.geometry", lay.geometry)
    for prof in profiles:
        k.add(f"profile.{prof.name}", prof.model_dump(mode="json"))
    return k.hexdigest()


def cached_surfaces(
    cache_dir: Path, key: str, compute: Callable[[], dict[str, Surface]]
) -> tuple[dict[str, Surface], bool]:
    """The surfaces of ``key`` from ``cache_dir/surfaces/<key>``, else ``compute()`` (then cached).

    Returns
    -------
    surfaces, hit : dict, bool
        Profile name -> surface (its ``provenance`` the per-profile part only), and whether
        they came from the cache.
    """
    from sitefinder.surfaces import Surface

    folder = Path(cache_dir) / "surfaces" / key
    meta = read_entry(folder, KIND, schema_version(KIND))
    if meta is not None:
        try:
            crs = CRS.from_wkt(meta["crs"])
            transform = Affine(*meta["transform"])
            out: dict[str, Surface] = {}
            with np.load(folder / _FILE, allow_pickle=False) as z:
                for i, p in enumerate(meta["profiles"]):
                    out[p["profile"]] = Surface(
                        profile=p["profile"],
                        score=z[f"score_{i}"],
                        eligible=z[f"eligible_{i}"],
                        transform=transform,
                        crs=crs,
                        skipped=list(p["skipped"]),
                        provenance=dict(p["provenance"]),
                        judged=z[f"judged_{i}"] if f"judged_{i}" in z.files else None,
                    )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("Surface cache %s unreadable (%s); computing the surfaces again", folder, exc)
        else:
            log.info("Suitability surfaces of %d profiles reused from cache %s", len(out), folder)
            return out, True
    surfaces = compute()
    arrays: dict[str, np.ndarray] = {}
    profiles = []
    for i, s in enumerate(surfaces.values()):
        arrays[f"score_{i}"] = s.score
        arrays[f"eligible_{i}"] = s.eligible
        if s.judged is not None:
            arrays[f"judged_{i}"] = s.judged
        profiles.append({"profile": s.profile, "skipped": s.skipped, "provenance": s.provenance})
    first = next(iter(surfaces.values()), None)
    if first is None:
        return surfaces, False
    meta = {"crs": first.crs.to_wkt(), "transform": list(tuple(first.transform)[:6]), "profiles": profiles}
    try:
        with atomic_path(folder / _FILE) as tmp, tmp.open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        write_entry(folder, KIND, schema_version(KIND), [_FILE], meta)
    except (OSError, TypeError, ValueError) as exc:
        log.warning("Suitability surfaces not cached: cannot write %s (%s)", folder, exc)
    return surfaces, False
