"""Modelled road and rail noise (Lden, Lnight) from OpenStreetMap, when no official map is given.

A screening model, not a legal noise computation. It follows the published
CNOSSOS-EU method (Directive 2002/49/EC Annex II as inserted by (EU) 2015/996 and
amended by (EU) 2021/1226, on which the Dutch *Reken- en meetvoorschrift geluid*
under the Omgevingswet is based) where that is cheap, and simplifies where it is not:

Emission (:mod:`.emission`)
    Road: CNOSSOS-EU rolling + propulsion sound power per octave band for
    light, medium heavy and heavy vehicles (Table F-1 as replaced by (EU)
    2021/1226, in :mod:`.cnossos_tables`), with the rolling-noise temperature
    correction and the Table F-4 road surface (NL01 ZOAB on motorways and trunk
    roads, the reference surface elsewhere, OSM ``surface=*`` where clear); a flow of ``Q`` vehicles/h at ``v``
    km/h is a line source ``LW' = LW + 10 lg(Q / 1000 v)``. Flows come from a
    table of typical Dutch traffic per OSM ``highway`` class
    (:data:`DEFAULT_ROAD_CLASSES`: AADT, shares of medium/heavy vehicles,
    speed, day/evening/night shares), scaled by ``oneway`` and a tagged
    ``lanes``; a tagged ``maxspeed`` replaces the class speed. Rail
    (``rail``, ``light_rail``, ``subway``, ``tram``): each train is a line
    source whose power per metre follows from a TSI Noise pass-by level and
    ``30 lg v``, averaged over the passages per period (:data:`DEFAULT_RAIL_CLASSES`).
Propagation (:mod:`.propagation`)
    Point sources over flat ground: divergence ``20 lg d + 11``, ISO 9613-1 air
    absorption, CNOSSOS-EU ground attenuation with one ground factor ``G`` for
    the whole map, in homogeneous and favourable conditions mixed with a
    probability per period (0.5 day, 0.75 evening, 1.0 night). The
    frequency dependence is folded into one broadband kernel per source kind
    with a reference spectrum (urban road traffic; rail rolling noise).
Grid (:mod:`.grid`)
    Sound power sampled every half cell along the lines, spread over cell
    centres (bilinear) and convolved with the kernel by FFT, truncated at
    ``max_distance_m`` (2 km). Lden combines the periods 07-19 / 19-23 / 23-07
    with +0 / +5 / +10 dB. Levels are clipped from below at ``floor_db``
    (35 dB): residual sound from everything not modelled.

Screening (:mod:`.buildings`, :mod:`.screening`, :mod:`.exact`)
    OSM buildings with heights (``height``, ``building:levels`` x 3 m, a default
    per type) block paths; blocked paths get the CNOSSOS-EU diffraction
    attenuation over the roof edges (:mod:`.diffraction`). The map uses a fast
    sector-and-ring method; :func:`.exact.exact_lden` sums every source point
    with its own ray, to check it. Cells inside buildings have no value.

Left out, and what to expect: no noise barriers, no reflections from facades,
flat ground, no junction/acceleration, no mopeds, no tunnels (left out), one
traffic figure per road class. Where traffic matches the class table, expect
about ±3 dB against official maps at open sites near roads and ±5 dB in
general, more behind buildings. Traffic defaults are the largest single error
source: doubling the flow adds 3 dB. Use official maps (RIVM Atlas
Leefomgeving, END maps) when you have them. See ``docs/noise-model.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sitefinder.noisemodel.emission import (
    noise_sources_from_osm,
    parse_lanes,
    parse_speed_kmh,
    road_vehicle_power_db,
)
from sitefinder.noisemodel.geotiff import PROVENANCE_TAG, write_noise_geotiff
from sitefinder.noisemodel.params import (
    DEFAULT_RAIL_CLASSES,
    DEFAULT_ROAD_CLASSES,
    NoiseModelParams,
    RailClassDefaults,
    RoadClassDefaults,
)

if TYPE_CHECKING:
    from sitefinder.noisemodel.grid import METHOD, MODEL_VERSION, model_lden

#: Imported on first use: the grid pulls in scipy's FFT and signal modules (seconds of
#: start-up), which a run whose noise grid comes from the cache never needs.
_LAZY = {"METHOD": "grid", "MODEL_VERSION": "grid", "model_lden": "grid"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"sitefinder.noisemodel.{_LAZY[name]}"), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "DEFAULT_RAIL_CLASSES",
    "DEFAULT_ROAD_CLASSES",
    "METHOD",
    "MODEL_VERSION",
    "PROVENANCE_TAG",
    "NoiseModelParams",
    "RailClassDefaults",
    "RoadClassDefaults",
    "model_lden",
    "noise_sources_from_osm",
    "parse_lanes",
    "parse_speed_kmh",
    "road_vehicle_power_db",
    "write_noise_geotiff",
]
