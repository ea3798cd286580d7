"""engine.routing's __all__ is exactly its public surface (ruff keeps it sorted), and the worker's contract is in it."""

from __future__ import annotations

import engine.routing as routing


def test_all_is_complete_without_duplicates():
    public = {n for n in vars(routing) if not n.startswith("_")} - {"annotations"}
    assert len(set(routing.__all__)) == len(routing.__all__)
    assert set(routing.__all__) == public


def test_worker_contract_names():
    for name in ("Geo", "GeoReader", "ClickFacts", "classify_device", "primary_language",
                 "compile_campaign", "CompiledCampaign", "Decision", "TraceStep",
                 "build_store_index", "nearest_store", "assign_variant"):
        assert name in routing.__all__
