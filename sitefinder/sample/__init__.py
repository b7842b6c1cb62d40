"""Built-in sample municipality: a synthetic Dutch new town written as OSM XML.

The town ("Nieuwstad") is fictional. :func:`generate_sample` writes
``sample.osm`` (OSM XML 0.6, loadable with ``osmnx.graph_from_xml`` and
``osmnx.features_from_xml``), ``plots.gpkg`` (development plots, EPSG:28992) and
``boundary.geojson`` (the municipal outline, WGS84), deterministically from a
seed.
"""

from __future__ import annotations

from sitefinder.sample.generate import SampleResult, generate_sample

__all__ = ["SampleResult", "generate_sample"]
