"""Pure rule evaluation: (token record, request facts) -> destination and the trace of rules tried.

Built once per snapshot load with ``compile_campaign``; per click, the worker
builds ``ClickFacts`` (``GeoReader.lookup`` for the IP) and calls
``CompiledCampaign.resolve``. ``build_store_index`` and ``assign_variant`` are
also used by the compiler. See docs/routing.md.
"""

from ._clock import load_zone
from ._evaluate import CompiledCampaign, Decision, TraceStep, compile_campaign
from ._facts import DEVICES, ClickFacts, classify_device, primary_language
from ._geo import Geo, GeoReader
from ._store_index import build_store_index
from ._stores import EARTH_RADIUS_KM, StoreLocator, haversine_km, nearest_store
from ._variants import assign_variant, cumulative_weights, pick_arm, variant_point

__all__ = [
    "DEVICES",
    "EARTH_RADIUS_KM",
    "ClickFacts",
    "CompiledCampaign",
    "Decision",
    "Geo",
    "GeoReader",
    "StoreLocator",
    "TraceStep",
    "assign_variant",
    "build_store_index",
    "classify_device",
    "compile_campaign",
    "cumulative_weights",
    "haversine_km",
    "load_zone",
    "nearest_store",
    "pick_arm",
    "primary_language",
    "variant_point",
]
