"""Read OpenStreetMap files: the walking network and the features sitefinder needs.

Any file libosmium reads works: ``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``.
One pyosmium pass (:mod:`sitefinder.io.osmpass`) reads the source and keeps, in a
cache folder keyed by the source's content hash, the tag filter and a schema
version: the walkable ways with node locations and tags (``walk.npz``, from which
:mod:`sitefinder.netbuild` makes the network), the buildings
(``buildings.parquet``), the tagged features the categories, nuisance sources
and candidate plots need (``features.parquet``, geometries built by osmnx's
rules: :mod:`sitefinder.io.osmfeatures`) and the stop-area members
(``stop_areas.json``). No XML is written or parsed again. Every cache entry is verified on read (schema, sizes, SHA-256)
and rebuilt when it fails.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sitefinder.errors import DataValidationError, InputFileError
from sitefinder.io.atomic import atomic_path, require_file, sha256_file, write_text_atomic
from sitefinder.io.cacheentry import entry_hashes, read_entry, write_entry
from sitefinder.osmrules import underground_mask

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

    from sitefinder.io.osmpass import WalkWays

log = logging.getLogger(__name__)

#: Bump when the files of the OSM cut change meaning or layout.
CUT_SCHEMA = 4

OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf", ".xml")

#: Highway values nobody walks on (osmnx's "walk" filter, adapted: Dutch pedestrians may
#: use a cycle path where there is no footway, RVV 1990 art. 4, so cycleways stay).
NOT_WALKABLE = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "abandoned", "bus_guideway",
        "construction", "no", "planned", "platform", "proposed", "raceway", "razed",
        "busway", "escape", "corridor", "elevator", "emergency_bay", "services",
        "rest_area",
    }
)  # fmt: skip

#: Nuisance sources by kind: OSM tag rules (straight-line distance indicators).
NUISANCE_TAGS: dict[str, dict[str, list[str]]] = {
    "major_road": {"highway": ["motorway", "motorway_link", "trunk", "trunk_link"]},
    "railway": {"railway": ["rail", "light_rail"]},
}

#: Road and rail lines used by the noise model (issue: modelled noise when no raster).
NOISE_LINE_TAGS: dict[str, list[str] | bool] = {
    "highway": [
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
        "residential", "living_street", "service", "busway",
    ],
    "railway": ["rail", "light_rail", "tram"],
}  # fmt: skip

#: Candidate development sites when no plots file is given.
CANDIDATE_LANDUSE = ["construction", "brownfield", "greenfield"]

#: The cut's file of stop-area members (:func:`stop_areas`).
STOP_AREAS_FILE = "stop_areas.json"


@dataclass(frozen=True)
class OsmExtract:
    """The cut made from one OSM source, with what was kept.

    Attributes
    ----------
    source : pathlib.Path
        The OSM file.
    sha256 : str
        SHA-256 of its content.
    folder : pathlib.Path
        The cut's cache folder.
    walk_path, features_path, buildings_path : pathlib.Path
        Walkable ways (``.npz``), tagged features and buildings (GeoParquet, WGS84).
    bounds : tuple or None
        The file header's bounds (lon/lat), when it has them.
    coverage : shapely.Geometry or None
        The area the data covers (WGS84): the header's bounds when present, else the
        convex hull of all nodes (not only walkable ones); None for a file without nodes.
    stats : dict
        Counts of what was read and kept.
    file_sha256 : dict
        SHA-256 of each file of the cut (``features.parquet``, ...), as its cache entry
        records them: the content key of products made from them.
    """

    source: Path
    sha256: str
    folder: Path
    walk_path: Path
    features_path: Path
    buildings_path: Path
    bounds: tuple[float, float, float, float] | None
    coverage: Any
    stats: dict[str, Any]
    file_sha256: dict[str, str] = field(default_factory=dict)


def is_walkable(tags: Any) -> str | None:
    """Return None when a way is walkable, else the reason it is not."""
    highway = tags.get("highway")
    if highway is None:
        return "no highway tag"
    if highway in NOT_WALKABLE and tags.get("foot") not in ("yes", "designated"):
        return f"highway={highway}"
    if tags.get("area") == "yes":
        return "area=yes"
    closed = tags.get("foot") in ("no", "private") or tags.get("access") in ("private", "no")
    if closed and tags.get("foot") not in ("yes", "designated", "permissive"):
        return "foot/access private or no"
    if tags.get("service") == "private":
        return "service=private"
    return None


def _feature_keys(tag_filter: dict[str, bool | list[str]]) -> dict[str, set[str] | None]:
    keys: dict[str, set[str] | None] = {}
    for key, val in tag_filter.items():
        if val is True:
            keys[key] = None
        else:
            prev = keys.get(key, set())
            keys[key] = None if prev is None else prev | set(val)  # type: ignore[arg-type]
    return keys


def _matches(tags: Any, keys: dict[str, set[str] | None]) -> bool:
    # A dict of tags (the pass) is walked by its own few items; a TagList by the filter's keys.
    pairs = tags.items() if isinstance(tags, dict) else ((k, tags.get(k)) for k in keys)
    for key, v in pairs:
        if v is None or key not in keys:
            continue
        vals = keys[key]
        if vals is None or v in vals:
            return True
        # "a;b" lists and padded values: the parts, stripped (most values are neither).
        if (";" in v or v != v.strip()) and any(part.strip() in vals for part in v.split(";")):
            return True
    return False


def feature_tag_filter(category_tags: dict[str, bool | list[str]]) -> dict[str, bool | list[str]]:
    """All tags the run needs from OSM features: categories, nuisance, noise lines, landuse."""
    merged: dict[str, bool | list[str]] = dict(category_tags)
    extra: list[dict[str, Any]] = [
        *NUISANCE_TAGS.values(),
        NOISE_LINE_TAGS,
        {"landuse": CANDIDATE_LANDUSE},
    ]
    for rules in extra:
        for key, vals in rules.items():
            cur = merged.get(key)
            if cur is True or vals is True:
                merged[key] = True
            else:
                old = cur if isinstance(cur, list) else []
                merged[key] = sorted(set(old) | set(vals))
    return merged


def extract(src: Path, tag_filter: dict[str, bool | list[str]], cache_dir: Path) -> OsmExtract:
    """Cut the walking network, the buildings and the needed features out of an OSM file.

    Parameters
    ----------
    src : pathlib.Path
        An OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf``).
    tag_filter : dict
        Keys (and values) of the features to keep, osmnx ``tags=`` form.
    cache_dir : pathlib.Path
        Where the cut is cached, by content hash of the source, the filter and
        :data:`CUT_SCHEMA`.

    Returns
    -------
    OsmExtract
        Paths of the cut files and counts of what was kept.

    Raises
    ------
    InputFileError
        When the file is missing, has an unknown suffix, or libosmium cannot read it.
    """
    import shapely

    src = require_file(src, "OSM file")
    name = src.name.lower()
    if not name.endswith(OSM_SUFFIXES):
        msg = (
            f"OSM file {src}: unknown file type; use .osm, .osm.gz, .osm.bz2 or .osm.pbf "
            "(export from openstreetmap.org, Overpass or a Geofabrik extract)"
        )
        raise InputFileError(msg)
    digest = sha256_file(src)
    key = digest[:16] + "-" + _short_hash(json.dumps([CUT_SCHEMA, tag_filter], sort_keys=True))
    out_dir = Path(cache_dir) / "osm" / key
    files = {
        "walk": "walk.npz",
        "features": "features.parquet",
        "buildings": "buildings.parquet",
        "stop_areas": STOP_AREAS_FILE,
    }
    meta = read_entry(out_dir, "osm-cut", CUT_SCHEMA)
    if meta is None:
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            meta = _cut(src, tag_filter, out_dir, files, (Path(cache_dir), digest))
        except osmium_invalid_location() as exc:
            msg = (
                f"OSM file {src}: a node has an impossible coordinate ({str(exc).splitlines()[0][:120]}; "
                "latitude must be -90..90, longitude -180..180); fix or re-export the file"
            )
            raise InputFileError(msg) from None
        except (RuntimeError, ValueError) as exc:
            msg = (
                f"OSM file {src}: libosmium cannot read it ({str(exc).splitlines()[0]}); "
                "the file is corrupt or truncated, download or export it again"
            )
            raise InputFileError(msg) from None
        write_entry(out_dir, "osm-cut", CUT_SCHEMA, list(files.values()), meta)
    else:
        log.info("OSM cut of %s reused from cache %s", src.name, out_dir)
    stats = meta["stats"]
    coverage = shapely.from_wkt(meta["coverage_wkt"]) if meta.get("coverage_wkt") else None
    return OsmExtract(
        source=src,
        sha256=digest,
        folder=out_dir,
        walk_path=out_dir / files["walk"],
        features_path=out_dir / files["features"],
        buildings_path=out_dir / files["buildings"],
        bounds=_bounds(stats),
        coverage=coverage,
        stats=stats,
        file_sha256=entry_hashes(out_dir),
    )


def osmium_invalid_location() -> type[Exception]:
    """Libosmium's error for a malformed coordinate (``lat="1052"``, ``lat="nan"``)."""
    import osmium

    return getattr(osmium, "InvalidLocationError", None) or osmium._osmium.InvalidLocationError


def _bounds(stats: dict[str, Any]) -> tuple[float, float, float, float] | None:
    b = stats.get("bounds")
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3])) if b else None


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _cut(
    src: Path,
    tag_filter: dict[str, bool | list[str]],
    out_dir: Path,
    files: dict[str, str],
    background_to: tuple[Path, str] | None = None,
) -> dict[str, Any]:
    import geopandas as gpd
    import shapely

    from sitefinder.io import osmpass

    keys = _feature_keys(tag_filter)
    res = osmpass.scan(
        src, is_walkable, lambda tags: _matches(tags, keys), feature_keys=keys, work_dir=out_dir
    )
    with atomic_path(out_dir / files["walk"]) as tmp:
        res.walk.save(tmp)
    write_text_atomic(out_dir / files["stop_areas"], json.dumps(res.stop_areas))
    from sitefinder.io.osmfeatures import features_frame

    feats = features_frame(res.feature_rows, tag_filter)
    with atomic_path(out_dir / files["features"]) as tmp:
        feats.to_parquet(tmp)
    stats = res.stats
    stats["features"] = len(feats)
    buildings = gpd.GeoDataFrame(
        {"osm_id": res.buildings_ids, **res.buildings_tags},
        geometry=shapely.from_wkb(res.buildings_wkb) if res.buildings_wkb else [],
        crs="EPSG:4326",
    )
    with atomic_path(out_dir / files["buildings"]) as tmp:
        buildings.to_parquet(tmp)
    if res.background is not None and background_to is not None:
        # The offline background from the same pass (the map never reads the file again).
        from sitefinder.io.basemapcache import write_cut_background

        write_cut_background(*background_to, res.background)
    dropped = stats["walk_ways_dropped"]
    log.info("Stop areas: %d members of public_transport=stop_area relations", len(res.stop_areas))
    log.info(
        "Cut %s: %d walkable ways kept of %d highway ways (dropped: %s), %d buildings",
        src.name,
        stats["walk_ways_kept"],
        stats["walk_ways_kept"] + sum(dropped.values()),
        ", ".join(f"{k} {v}" for k, v in list(dropped.items())[:6]) or "none",
        stats["buildings"],
    )
    cov = res.coverage_wgs84
    return {"stats": stats, "coverage_wkt": None if cov is None else shapely.to_wkt(cov)}


def load_walk_ways(ext: OsmExtract) -> WalkWays:
    """The walkable ways of the cut (node locations in WGS84, tags).

    Raises
    ------
    DataValidationError
        When the file has no walkable ways.
    """
    from sitefinder.io.osmpass import WalkWays

    if ext.stats.get("walk_ways_kept", 0) == 0:
        msg = (
            f"OSM file {ext.source}: contains no walkable ways (highway=*); "
            "use an extract that includes the street network"
        )
        raise DataValidationError(msg)
    return WalkWays.load(ext.walk_path)


def load_buildings(ext: OsmExtract, crs: CRS) -> gpd.GeoDataFrame:
    """OSM ``building=*`` polygons in ``crs``, with ``osm_id`` and the raw tags.

    The tag columns are :data:`sitefinder.io.osmpass.BUILDING_TAG_KEYS` (None where absent).
    """
    import geopandas as gpd

    return gpd.read_parquet(ext.buildings_path).to_crs(crs)


def load_features(ext: OsmExtract, tag_filter: dict[str, bool | list[str]], crs: CRS) -> gpd.GeoDataFrame:
    """The cut's tagged features in ``crs``, with an ``osm_id`` column (``node/123``).

    Built in the pyosmium pass by osmnx's rules (:mod:`sitefinder.io.osmfeatures`)
    and stored as GeoParquet in the cut, so no run parses XML for them.
    """
    import geopandas as gpd

    feats = gpd.read_parquet(ext.features_path)
    if len(feats) == 0:
        log.warning("OSM file %s: no tagged features found", ext.source)
        return gpd.GeoDataFrame({"osm_id": []}, geometry=[], crs=crs)
    feats = feats.to_crs(crs)
    feats = feats[~feats.geometry.is_empty & feats.geometry.notna()]
    log.info("Read %d tagged OSM features of %s", len(feats), ext.source.name)
    return feats.reset_index(drop=True)


#: Tags of road and rail lines kept with the nuisance sources (is the line in a
#: tunnel, covered, on which layer or location).
NUISANCE_LINE_TAGS = ("tunnel", "covered", "layer", "location", "bridge")


def nuisance_sources(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Major roads and railways as lines with a ``kind`` column (nightlife comes from amenities).

    The lines keep the tags of :data:`NUISANCE_LINE_TAGS` (None where absent). Ways in a tunnel
    or under a cover (:func:`sitefinder.osmrules.underground`) are left out.
    """
    import geopandas as gpd
    import pandas as pd

    cols = ["kind", "osm_id", *NUISANCE_LINE_TAGS]
    parts = []
    for kind, rules in NUISANCE_TAGS.items():
        for key, vals in rules.items():
            if key in features.columns:
                sel = features[features[key].isin(vals)]
                sel = sel[sel.geom_type.isin(["LineString", "MultiLineString"])]
                sel = sel[~underground_mask(sel)]
                data: dict[str, Any] = {"kind": kind, "osm_id": sel["osm_id"].to_numpy()}
                for tag in NUISANCE_LINE_TAGS:
                    data[tag] = sel[tag].to_numpy() if tag in sel.columns else None
                parts.append(gpd.GeoDataFrame(data, geometry=sel.geometry.to_numpy(), crs=features.crs))
    if not parts:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=features.crs)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=features.crs)


def candidate_plots(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidate plots from OSM ``landuse=construction|brownfield|greenfield`` polygons."""
    import geopandas as gpd

    if "landuse" not in features.columns:
        return gpd.GeoDataFrame({"plot_id": []}, geometry=[], crs=features.crs)
    sel = features[
        features["landuse"].isin(CANDIDATE_LANDUSE) & features.geom_type.isin(["Polygon", "MultiPolygon"])
    ]
    out = gpd.GeoDataFrame(
        {
            "plot_id": sel["osm_id"].str.replace("/", "-", regex=False).to_numpy(),
            "name": sel["name"].to_numpy() if "name" in sel.columns else None,
            "landuse": sel["landuse"].to_numpy(),
        },
        geometry=sel.geometry.to_numpy(),
        crs=features.crs,
    )
    log.info("Candidate plots from OSM landuse: %d", len(out))
    return out


def study_area(ext: OsmExtract, crs: CRS) -> Any:
    """The area the OSM data covers in ``crs``: the file's bounds, else the hull of all its nodes.

    Raises
    ------
    InputFileError
        When the file has no nodes at all.
    """
    import geopandas as gpd
    import shapely

    if ext.coverage is None or ext.coverage.is_empty:
        msg = f"OSM file {ext.source}: contains no nodes; export the area again"
        raise InputFileError(msg)
    area = gpd.GeoSeries([ext.coverage], crs="EPSG:4326").to_crs(crs).iloc[0]
    if ext.bounds is not None:
        area = shapely.segmentize(area, 50.0)
    return area


def covered_area(ext: OsmExtract, crs: CRS) -> Any:
    """The area the OSM data really covers, for the coverage rules (:mod:`sitefinder.coverage`).

    The file's header bounds when it has them; otherwise the convex hull of all its
    nodes (of every node the file holds, so also shops beyond its last street),
    computed in the pyosmium pass.
    """
    return study_area(ext, crs)


def stop_areas(ext: OsmExtract) -> dict[str, str]:
    """Members of OSM ``public_transport=stop_area`` relations: ``osm_id -> "relation/<id>"``.

    Used only to count a stop or station once (:func:`sitefinder.categories.count_groups`).
    Collected when the cut reads the relations (:mod:`sitefinder.io.osmrelations`) and
    kept with the cut files; read again from the source only when that file is missing.
    """
    cache = ext.folder / STOP_AREAS_FILE
    if cache.exists():
        return dict(json.loads(cache.read_text("utf-8")))
    from sitefinder.io.osmrelations import read_relations

    try:
        out = read_relations(ext.source, lambda tags: False).stop_areas
    except (RuntimeError, ValueError) as exc:
        msg = f"OSM file {ext.source}: libosmium cannot read its relations ({str(exc).splitlines()[0]})"
        raise InputFileError(msg) from None
    write_text_atomic(cache, json.dumps(out))
    return out
