"""Amenity categories: a registry loaded from a data file that maps OSM tags to categories.

The built-in definitions live in ``sitefinder/data/categories.toml``; a user may
pass another file of the same form. Classification is pure: a frame of OSM
features in, one row per (object, category) out.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sitefinder.errors import ConfigError, UnknownNameError
from sitefinder.io.paths import SAFE_COLUMN_NAME, check_name, read_toml_text

log = logging.getLogger(__name__)

TagValue = str | list[str] | bool


class Category(BaseModel):
    """One amenity category and the OSM tag rules that define it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    label: str
    match: tuple[dict[str, TagValue], ...] = Field(min_length=1)
    min_area_m2: float = Field(default=0.0, ge=0)
    polygon_access_min_area_m2: float | None = Field(default=None, ge=0)
    merge_within_m: float = Field(default=0.0, ge=0)
    count_once_within_m: float = Field(default=0.0, ge=0)

    @field_validator("match")
    @classmethod
    def _rules_not_empty(cls, rules: tuple[dict[str, TagValue], ...]) -> tuple[dict[str, TagValue], ...]:
        for rule in rules:
            if not rule:
                msg = "a match rule is empty; give at least one key, e.g. { shop = 'supermarket' }"
                raise ValueError(msg)
            for key, value in rule.items():
                if value is False:
                    msg = (
                        f"{key} = false cannot be matched (a rule lists tags an object must have); "
                        f"use {key} = true for any value or {key} = ['a', 'b'] for some values"
                    )
                    raise ValueError(msg)
                if isinstance(value, list) and not value:
                    msg = f"{key} = [] matches nothing; list at least one value or use {key} = true"
                    raise ValueError(msg)
        return rules

    def keys(self) -> set[str]:
        """OSM keys that this category's rules look at."""
        return {k for rule in self.match for k in rule}


class CategoryRegistry:
    """Named amenity categories; lookup errors list the valid names."""

    def __init__(self, categories: Mapping[str, Category], source: str) -> None:
        self._categories = dict(categories)
        self.source = source

    def __iter__(self):  # type: ignore[no-untyped-def]
        """Iterate over the categories in file order."""
        return iter(self._categories.values())

    def __len__(self) -> int:
        return len(self._categories)

    def __contains__(self, name: object) -> bool:
        return name in self._categories

    @property
    def names(self) -> list[str]:
        """Category names in file order."""
        return list(self._categories)

    def get(self, name: str) -> Category:
        """Return the category called ``name``.

        Raises
        ------
        UnknownNameError
            With the list of valid names, when there is no such category.
        """
        try:
            return self._categories[name]
        except KeyError:
            msg = (
                f"unknown amenity category {name!r} (in {self.source}); "
                f"valid categories: {', '.join(self.names)}"
            )
            raise UnknownNameError(msg) from None

    def osm_tags(self) -> dict[str, bool | list[str]]:
        """The tag filter (osmnx ``tags=`` form) that selects every object any category needs."""
        any_value: set[str] = set()
        values: dict[str, set[str]] = {}
        for cat in self:
            for rule in cat.match:
                for key, value in rule.items():
                    if value is True:
                        any_value.add(key)
                    elif isinstance(value, str):
                        values.setdefault(key, set()).add(value)
                    elif isinstance(value, list):
                        values.setdefault(key, set()).update(value)
        out: dict[str, bool | list[str]] = {k: sorted(v) for k, v in values.items()}
        out.update(dict.fromkeys(any_value, True))
        return out


def load_categories(path: Path | None = None) -> CategoryRegistry:
    """Load category definitions from a TOML file (the built-in file when ``path`` is None).

    Raises
    ------
    ConfigError
        Naming the file and the category key, when the file is invalid.
    """
    if path is None:
        text = resources.files("sitefinder").joinpath("data/categories.toml").read_text("utf-8")
        source = "built-in categories.toml"
    else:
        text = read_toml_text(Path(path), "categories file")
        source = str(path)
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"categories file {source}: not valid TOML ({exc}); fix the syntax"
        raise ConfigError(msg) from exc
    cats: dict[str, Category] = {}
    for name, body in raw.items():
        check_name(name, "category", f"categories file {source}", SAFE_COLUMN_NAME)
        if not isinstance(body, dict):
            msg = f"categories file {source}: key {name!r} must be a table [{name}]"
            raise ConfigError(msg)
        try:
            cats[name] = Category(name=name, **body)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = f"categories file {source}: [{name}] {loc}: {err['msg']}"
            raise ConfigError(msg) from None
    if not cats:
        msg = f"categories file {source}: defines no categories; add at least one [name] table"
        raise ConfigError(msg)
    return CategoryRegistry(cats, source)


def _column_matches(features: pd.DataFrame, key: str, value: TagValue) -> pd.Series:
    if key not in features.columns:
        return pd.Series(False, index=features.index)
    col = features[key]
    if value is True:
        return col.notna() & (col.astype(str) != "no")
    values = [value] if isinstance(value, str) else list(value)  # type: ignore[arg-type]
    # OSM allows "a;b" multi-values; match any part.
    parts = col.astype("string").str.split(";")
    return parts.apply(lambda p: isinstance(p, list) and any(s.strip() in values for s in p))


def classify(features: gpd.GeoDataFrame, registry: CategoryRegistry) -> gpd.GeoDataFrame:
    """Assign OSM features to categories, one row per (object, category).

    Objects mapped twice (a node inside a polygon of the same category, the usual
    "building polygon plus POI node" pattern) are counted once: the polygon is kept.
    Points of a category with ``merge_within_m`` that lie closer than that are
    merged to one.

    Parameters
    ----------
    features : geopandas.GeoDataFrame
        OSM features in a projected CRS, with tag columns and an ``osm_id``
        column such as ``"node/123"``.
    registry : CategoryRegistry
        The category definitions.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_id``, ``category``, ``name``, ``area_m2`` and the original
        ``geometry``, in the same CRS.
    """
    if features.crs is None or not features.crs.is_projected:
        # Areas and merge distances need metres: a programming error, not user input.
        msg = f"classify needs features in a projected CRS (metres), got {features.crs}"
        raise ValueError(msg)
    out = []
    for cat in registry:
        mask = pd.Series(False, index=features.index)
        for rule in cat.match:
            rule_mask = pd.Series(True, index=features.index)
            for key, value in rule.items():
                rule_mask &= _column_matches(features, key, value)
            mask |= rule_mask
        sel = features.loc[mask, ["osm_id", "geometry"]].copy()
        sel["name"] = features.loc[mask, "name"] if "name" in features.columns else pd.NA
        sel["area_m2"] = sel.geometry.area
        if cat.min_area_m2 > 0:
            is_poly = sel.geom_type.isin(["Polygon", "MultiPolygon"])
            sel = sel[~is_poly | (sel["area_m2"] >= cat.min_area_m2)]
        sel = _drop_nodes_inside_polygons(sel)
        if cat.merge_within_m > 0:
            sel = _merge_close_points(sel, cat.merge_within_m)
        sel["category"] = cat.name
        out.append(sel)
    if out:
        result = pd.concat(out, ignore_index=True)
    else:
        result = features.iloc[:0][["geometry"]].assign(osm_id="", name="", area_m2=0.0)
    result = gpd.GeoDataFrame(result, geometry="geometry", crs=features.crs)
    counts = result["category"].value_counts().reindex(registry.names, fill_value=0)
    log.info(
        "Classified %d amenities: %s",
        len(result),
        ", ".join(f"{k} {v}" for k, v in counts.items()),
    )
    return result[["osm_id", "category", "name", "area_m2", "geometry"]].reset_index(drop=True)


def _drop_nodes_inside_polygons(sel: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop points that lie in (or within 2 m of) a polygon of the same category."""
    is_poly = sel.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if not is_poly.any() or is_poly.all():
        return sel
    polys = sel.geometry[is_poly].to_numpy()
    tree = shapely.STRtree(polys)
    pts = sel.geometry[~is_poly]
    idx_pts, _ = tree.query(pts.to_numpy(), predicate="dwithin", distance=2.0)
    dup_index = pts.index[idx_pts]
    return sel.drop(index=dup_index.unique())


def _merge_close_points(sel: gpd.GeoDataFrame, within: float) -> gpd.GeoDataFrame:
    """Keep one of each group of objects closer than ``within`` metres (single linkage)."""
    if len(sel) < 2:
        return sel
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    geoms = sel.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=within)
    n = len(geoms)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    keep = pd.Series(labels, index=sel.index).drop_duplicates().index
    return sel.loc[keep]


def count_groups(
    amenities: gpd.GeoDataFrame, registry: CategoryRegistry, memberships: Mapping[str, str] | None = None
) -> np.ndarray:
    """A group label per amenity row: the objects that counts treat as one (one stop, one station).

    For categories with ``count_once_within_m``: the members of one OSM
    ``public_transport=stop_area`` relation form one group; the other objects are
    grouped by name, each group holding the objects of one name within
    ``count_once_within_m`` of its first (seed) object, so groups never chain. Every
    other object is its own group. Distances are not affected: they go to the nearest
    single object.

    Parameters
    ----------
    amenities : geopandas.GeoDataFrame
        Output of :func:`classify` (``osm_id``, ``category``, ``name``, geometry).
    registry : CategoryRegistry
        Category definitions.
    memberships : mapping, optional
        ``osm_id -> stop area id`` (e.g. ``"node/12" -> "relation/3"``).

    Returns
    -------
    numpy.ndarray
        Labels (str), one per row; unique within a category for separate objects.
    """
    memberships = memberships or {}
    ids = amenities["osm_id"].astype(str).to_numpy() if len(amenities) else np.empty(0, dtype=object)
    labels = np.array([f"{i}#{k}" for k, i in enumerate(ids)], dtype=object)
    for cat in registry:
        if cat.count_once_within_m <= 0:
            continue
        rows = np.flatnonzero(amenities["category"].to_numpy() == cat.name)
        if not len(rows):
            continue
        free: list[int] = []
        for r in rows.tolist():
            area = memberships.get(ids[r])
            if area is not None:
                labels[r] = f"{cat.name}:{area}"
            else:
                free.append(int(r))
        names = amenities["name"].to_numpy()
        pts = shapely.point_on_surface(amenities.geometry.to_numpy())
        by_name: dict[str, list[int]] = {}
        for r in free:
            nm = names[r]
            if isinstance(nm, str) and nm.strip():
                by_name.setdefault(nm.strip().lower(), []).append(int(r))
        for nm, members in by_name.items():
            left = sorted(members, key=lambda r: ids[r])
            while left:
                seed = left[0]
                d = shapely.distance(pts[seed], pts[left])
                near = [r for r, dd in zip(left, d, strict=True) if dd <= cat.count_once_within_m]
                for r in near:
                    labels[r] = f"{cat.name}:name:{nm}:{ids[seed]}"
                left = [r for r in left if r not in near]
    return labels
