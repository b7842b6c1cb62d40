"""Schema versions of the products that refresh and the download caches keep.

A cache or refresh key is made of the inputs' content, the parameters that shape the
product and the product's schema version here, never the package version: a release
that changes nothing in a product reuses it, and a code change that alters what a
product holds (new or changed columns, other values for the same inputs, another file
layout) must bump that product's number here, which rebuilds it on the next refresh.
"""

from __future__ import annotations

#: Product name -> schema version.
SCHEMA_VERSIONS: dict[str, int] = {
    # A region's run folder (scores, map, manifest) as ``sitefinder refresh`` makes it.
    # 2: the run folder keeps the walking routes (routes.parquet, listed in the manifest).
    "run": 2,
    # The generated sample town (OSM file, plots, boundary) for a seed and scale.
    "sample": 1,
    # A municipal outline fetched from PDOK (OGC API Features), as a verified cache entry (v2).
    "pdok-boundary": 2,
    # A Geofabrik extract as cached (the file itself, checked against its MD5).
    "geofabrik": 1,
    # The suitability surfaces of a run's profiles (score, eligibility, judged mask per cell).
    "surfaces": 1,
    # The indicator stage (sitefinder.indicatorcache): plot indicator table, snapped access
    # points, routes and the mobilities' edge factors.
    "indicators": 1,
    # Rendered pieces of a run folder (sitefinder.rendercache): the offline background as the
    # map draws it, a grid as the map's image, the modelled noise GeoTIFF, the memo's basemap.gpkg.
    "map-basemap": 1,
    # map.html for the same inputs and day (sitefinder.render.page).
    "map-page": 1,
    "map-image": 1,
    "noise-geotiff": 1,
    "memo-basemap": 1,
    # What a run makes of an OSM cut's features in the working CRS (sitefinder.featurecache):
    # classified amenities with count groups, nuisance sources, noise lines, candidate plots.
    "osm-products": 1,
    # The cut's buildings in the working CRS (sitefinder.featurecache).
    "osm-buildings": 1,
    # A web asset (Leaflet's script, say) as folium-offline ships it, inlined into map.html.
    "web-asset": 1,
}


def schema_version(product: str) -> int:
    """The schema version of ``product`` (a key of :data:`SCHEMA_VERSIONS`)."""
    return SCHEMA_VERSIONS[product]
