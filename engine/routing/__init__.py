"""Pure rule evaluation: (token record, request facts) -> destination and the trace of rules tried."""

from ._stores import EARTH_RADIUS_KM, StoreLocator, build_store_index, haversine_km, nearest_store
from ._variants import assign_variant

__all__ = [
    "EARTH_RADIUS_KM",
    "StoreLocator",
    "assign_variant",
    "build_store_index",
    "haversine_km",
    "nearest_store",
]
