"""On-disk cache of the walking network and of per-category node distances.

Layout, under the run's cache folder (``RunConfig.cache_dir``, default ``data/cache``)::

    network/<network key>/network.npz        WalkNetwork arrays + CSR matrix
    network/<network key>/entry.json         provenance, sizes and hashes of the entry
    network/<network key>/dist/<category>-<key>.npy   distance at every node (m)

The **network key** hashes the OSM source's SHA-256 (the walkable ways are a
function of it), the working CRS, the parameters of the build, the sitefinder
version and :data:`CACHE_FORMAT`: a warm run loads the arrays without reading
the OSM file or building anything. ``entry.json`` records the size and SHA-256 of
``network.npz``; an entry that fails that check, or whose format differs, is
rebuilt. A **distance key** adds the
category's definition, the maximum snapping distance, the polygon access rule
and the amenities' geometries, so any change of inputs gives a new key. The
:data:`KEEP_PER_CATEGORY` most recently used files of a category are kept (a hit
refreshes its modification time), older ones are removed: runs that alternate
between a few amenity sets, or run side by side on one cache (``make -j2``),
reuse each other's files instead of deleting them. Writes are atomic; a file
removed by another run between the check and the read is a plain miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import csr_matrix

from sitefinder import __version__
from sitefinder.categories import CategoryRegistry
from sitefinder.indicators.access import AccessParams, amenity_snaps, category_node_distances
from sitefinder.io.atomic import atomic_path
from sitefinder.io.cacheentry import read_entry, write_entry
from sitefinder.mobility import factored_arrays
from sitefinder.network import EdgeTags, WalkNetwork

log = logging.getLogger(__name__)

#: Bump when the cached arrays change meaning or layout.
CACHE_FORMAT = 2

#: Node-distance files kept per category and network (most recently used first).
KEEP_PER_CATEGORY = 4


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, bytes | bytearray | memoryview):
            h.update(bytes(p))
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:20]


def network_key(osm_sha256: str, crs: CRS | str, params: dict[str, Any] | None = None) -> str:
    """Cache key of the walking network built from one OSM source.

    Parameters
    ----------
    osm_sha256 : str
        SHA-256 of the OSM source file.
    crs : pyproj.CRS or str
        The working CRS.
    params : dict, optional
        Parameters of the build (e.g. the minimum fragment size).
    """
    crs_s = CRS.from_user_input(crs).to_string()
    return _digest("network", CACHE_FORMAT, __version__, osm_sha256, crs_s, params or {})


def save_network(net: WalkNetwork, path: Path) -> None:
    """Write a network's arrays (and its CSR matrix) to ``path`` (``.npz``), atomically."""
    geom_type, coords, offsets = shapely.to_ragged_array(net.edge_geom)
    if geom_type != shapely.GeometryType.LINESTRING:
        msg = f"network edges must be LineStrings to cache, got {geom_type.name}"
        raise TypeError(msg)
    mat = net.matrix
    with atomic_path(Path(path)) as tmp, tmp.open("wb") as f:
        np.savez(
            f,
            format=np.array(CACHE_FORMAT),
            node_ids=net.node_ids,
            node_xy=net.node_xy,
            edge_u=net.edge_u,
            edge_v=net.edge_v,
            edge_len=net.edge_len,
            geom_coords=coords,
            geom_offsets=offsets[0],
            csr_indptr=mat.indptr,
            csr_indices=mat.indices,
            csr_data=mat.data,
            **({f"tags:{k}": v for k, v in net.tags.arrays().items()} if net.tags is not None else {}),  # type: ignore[arg-type]
        )


class LazyGeometryNetwork(WalkNetwork):
    """A :class:`~sitefinder.network.WalkNetwork` whose edge geometries are made on first use.

    ``edge_geom`` may be given as a function that makes them: a warm run that reads its
    indicators and surfaces from the cache never needs the network's 100,000s of
    LineStrings (making them takes half a second at town size), a snap or a route does.
    :meth:`drop_geometries` lets made ones go again (a town's edges are about 45 MB as
    LineStrings, 9 MB as coordinates); the next use makes them anew, equal to the last bit.
    """

    @property
    def edge_geom(self) -> np.ndarray:
        """The edges' LineStrings, made on first use."""
        geoms = self.__dict__["_edge_geom"]
        if callable(geoms):
            self.__dict__["_make_geom"] = geoms
            geoms = geoms()
            self.__dict__["_edge_geom"] = geoms
        return geoms

    @edge_geom.setter
    def edge_geom(self, value: np.ndarray | Callable[[], np.ndarray]) -> None:
        self.__dict__["_edge_geom"] = value
        self.__dict__.pop("_make_geom", None)

    def drop_geometries(self) -> None:
        """Let the made LineStrings (and the spatial index) go; they are made again on next use."""
        make = self.__dict__.get("_make_geom")
        if make is not None:
            self.__dict__["_edge_geom"] = make
            self.__dict__.pop("tree", None)


def _ragged_factory(coords: np.ndarray, offsets: np.ndarray) -> Callable[[], np.ndarray]:
    def geoms() -> np.ndarray:
        return shapely.from_ragged_array(shapely.GeometryType.LINESTRING, coords, (offsets,))

    return geoms


def lazy_network(net: WalkNetwork) -> LazyGeometryNetwork:
    """The same network with its edge geometries kept as coordinates and made on use.

    Examples
    --------
    >>> import shapely
    >>> net = WalkNetwork(
    ...     node_ids=np.array([1, 2]), node_xy=np.array([[0.0, 0.0], [3.0, 4.0]]),
    ...     edge_u=np.array([0]), edge_v=np.array([1]), edge_len=np.array([5.0]),
    ...     edge_geom=np.array([shapely.LineString([(0, 0), (3, 4)])]),
    ... )
    >>> lazy = lazy_network(net)
    >>> lazy.edge_geom[0].wkt, float(lazy.matrix[0, 1])
    ('LINESTRING (0 0, 3 4)', 5.0)
    """
    if isinstance(net, LazyGeometryNetwork):
        return net
    geom_type, coords, offsets = shapely.to_ragged_array(net.edge_geom)
    if geom_type != shapely.GeometryType.LINESTRING:
        msg = f"network edges must be LineStrings, got {geom_type.name}"
        raise TypeError(msg)
    lazy = LazyGeometryNetwork(
        node_ids=net.node_ids,
        node_xy=net.node_xy,
        edge_u=net.edge_u,
        edge_v=net.edge_v,
        edge_len=net.edge_len,
        edge_geom=_ragged_factory(coords, offsets[0]),  # type: ignore[arg-type]
        tags=net.tags,
    )
    if "matrix" in net.__dict__:
        lazy.__dict__["matrix"] = net.__dict__["matrix"]
    return lazy


def factored_network(net: WalkNetwork, factor: np.ndarray) -> WalkNetwork:
    """:func:`sitefinder.mobility.apply_factors` with the kept edges' geometries taken on first use."""
    keep, arrays = factored_arrays(net, factor)
    return LazyGeometryNetwork(**arrays, edge_geom=lambda: net.edge_geom[keep])  # type: ignore[arg-type]


def load_network(path: Path) -> WalkNetwork:
    """Read a network written by :func:`save_network` (its edge geometries made on first use).

    Raises
    ------
    ValueError
        When the file has another cache format.
    """
    with np.load(Path(path), allow_pickle=False) as z:
        if int(z["format"]) != CACHE_FORMAT:
            msg = f"{path}: cache format {int(z['format'])}, expected {CACHE_FORMAT}"
            raise ValueError(msg)
        geoms = _ragged_factory(z["geom_coords"], z["geom_offsets"])
        tag_arrays = {k[5:]: z[k] for k in z.files if k.startswith("tags:")}
        net = LazyGeometryNetwork(
            node_ids=z["node_ids"],
            node_xy=z["node_xy"],
            edge_u=z["edge_u"],
            edge_v=z["edge_v"],
            edge_len=z["edge_len"],
            edge_geom=geoms,  # type: ignore[arg-type]
            tags=EdgeTags.from_arrays(tag_arrays) if tag_arrays else None,
        )
        n = net.n_nodes
        # Seed the cached property with the stored matrix (no rebuild).
        net.__dict__["matrix"] = csr_matrix((z["csr_data"], z["csr_indices"], z["csr_indptr"]), shape=(n, n))
    return net


def _amenity_fingerprint(amenities: gpd.GeoDataFrame) -> bytes:
    """The amenities' geometries as concatenated WKB (self-delimiting)."""
    return b"".join(shapely.to_wkb(amenities.geometry.to_numpy(), output_dimension=2).tolist())


@dataclass(frozen=True)
class NetworkCache:
    """The network and node-distance cache under one cache folder.

    Parameters
    ----------
    cache_dir : pathlib.Path
        The run's cache folder; files go to ``cache_dir / "network"``.
    """

    cache_dir: Path

    @property
    def root(self) -> Path:
        """Folder of the network cache."""
        return Path(self.cache_dir) / "network"

    def network(
        self,
        osm_sha256: str,
        crs: CRS | str,
        build: Callable[[], WalkNetwork],
        params: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> tuple[WalkNetwork, str]:
        """The walking network of one OSM source: from the cache when its key matches, else built.

        Parameters
        ----------
        osm_sha256 : str
            SHA-256 of the OSM source.
        crs : pyproj.CRS or str
            The working CRS.
        build : callable
            Builds the network on a cache miss (reads the walkable ways).
        params : dict, optional
            Parameters of the build; they enter the key.
        source : str, optional
            Name of the source, recorded in the entry.

        Returns
        -------
        net, key : WalkNetwork, str
            The network and its cache key.
        """
        key = network_key(osm_sha256, crs, params)
        folder = self.root / key
        path = folder / "network.npz"
        if read_entry(folder, "network", CACHE_FORMAT) is not None:
            try:
                net = load_network(path)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                log.warning("Network cache %s unreadable (%s); rebuilding", path, exc)
            else:
                log.info(
                    "Walking network (%d nodes, %d edges) reused from cache %s",
                    net.n_nodes,
                    net.n_edges,
                    folder,
                )
                return net, key
        net = build()
        meta = {
            "osm_sha256": osm_sha256,
            "source": source,
            "crs": CRS.from_user_input(crs).to_string(),
            "params": params or {},
            "nodes": net.n_nodes,
            "edges": net.n_edges,
        }
        try:
            save_network(net, path)
            write_entry(folder, "network", CACHE_FORMAT, ["network.npz"], meta)
        except OSError as exc:
            log.warning("Walking network not cached: cannot write %s (%s)", folder, exc)
        else:
            log.info("Walking network (%d nodes, %d edges) cached in %s", net.n_nodes, net.n_edges, folder)
        # As a warm run has it: the LineStrings made when a stage needs them, not held meanwhile.
        return lazy_network(net), key

    def node_distances(
        self,
        net: WalkNetwork,
        key: str,
        amenities: gpd.GeoDataFrame,
        registry: CategoryRegistry,
        params: AccessParams,
    ) -> dict[str, np.ndarray]:
        """Distance from every node to the nearest amenity, per category, cached per category.

        Parameters
        ----------
        net : WalkNetwork
            The network (from :meth:`network`).
        key : str
            The network's cache key.
        amenities : geopandas.GeoDataFrame
            Classified amenities (``category`` column).
        registry : CategoryRegistry
            The categories.
        params : AccessParams
            Snapping parameters (``max_snap_m`` enters the key).

        Returns
        -------
        dict
            ``category -> (n_nodes,)`` float64 metres (``inf`` where unreachable).
        """
        folder = self.root / key / "dist"
        out: dict[str, np.ndarray] = {}
        missing: list[str] = []
        paths: dict[str, Path] = {}
        for cat in registry:
            sel = amenities[amenities["category"] == cat.name]
            dkey = _digest(
                "dist",
                CACHE_FORMAT,
                __version__,
                key,
                cat.model_dump(mode="json"),
                params.max_snap_m,
                _amenity_fingerprint(sel),
            )
            paths[cat.name] = folder / f"{cat.name}-{dkey}.npy"
            path = paths[cat.name]
            if path.exists():
                try:
                    d = np.load(path, allow_pickle=False)
                except FileNotFoundError:
                    log.debug("Node distance cache %s removed by another run; recomputing", path)
                except (OSError, ValueError) as exc:
                    log.warning("Node distance cache %s unreadable (%s); recomputing", path, exc)
                else:
                    if d.shape == (net.n_nodes,):
                        out[cat.name] = d
                        _touch(path)
                        continue
            missing.append(cat.name)
        hits = [c for c in registry.names if c in out]
        if hits:
            log.info(
                "Node distances reused from cache for %d of %d categories (%s)",
                len(hits),
                len(registry),
                ", ".join(hits),
            )
        if missing:
            snaps, _ = amenity_snaps(net, amenities, registry, params, names=missing, warn=False)
            computed = category_node_distances(net, snaps, missing)
            for name, d in computed.items():
                out[name] = d
                try:
                    self._store(folder, name, paths[name], d)
                except OSError as exc:
                    log.warning("Node distances of %s not cached: cannot write %s (%s)", name, folder, exc)
            log.info(
                "Node distances computed and cached for %d categories (%s)",
                len(missing),
                ", ".join(missing),
            )
        return {c: out[c] for c in registry.names}

    @staticmethod
    def _store(folder: Path, name: str, path: Path, dist: np.ndarray) -> None:
        """Write one category's node distances; keep its most recently used files."""
        with atomic_path(path) as tmp, tmp.open("wb") as f:
            np.save(f, dist)
        _prune(folder, name, keep=KEEP_PER_CATEGORY)


def _touch(path: Path) -> None:
    """Mark a cache file as used now (best effort: a read-only cache still works)."""
    with contextlib.suppress(OSError):
        path.touch(exist_ok=True)


def _prune(folder: Path, name: str, keep: int) -> list[Path]:
    """Remove all but the ``keep`` most recently used ``{name}-*.npy`` files of ``folder``.

    Parameters
    ----------
    folder : pathlib.Path
        A network entry's ``dist`` folder.
    name : str
        Category name.
    keep : int
        Files to keep.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import os, tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for i in range(5):
    ...     f = d / f"gp-{i}.npy"
    ...     _ = f.write_bytes(b"x")
    ...     os.utime(f, (1_000 + i, 1_000 + i))
    >>> sorted(p.name for p in _prune(d, "gp", keep=2))
    ['gp-0.npy', 'gp-1.npy', 'gp-2.npy']
    >>> sorted(p.name for p in d.iterdir())
    ['gp-3.npy', 'gp-4.npy']
    """
    found: list[tuple[float, Path]] = []
    for f in folder.glob(f"{name}-*.npy"):
        try:
            found.append((f.stat().st_mtime, f))
        except FileNotFoundError:
            continue
    found.sort(reverse=True)
    removed = []
    for _, stale in found[keep:]:
        log.debug("Removing least recently used node distances %s", stale)
        stale.unlink(missing_ok=True)
        removed.append(stale)
    return removed
