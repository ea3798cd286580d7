"""Nearest store: the grid index must agree with brute-force haversine everywhere."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.routing import build_store_index, haversine_km, nearest_store
from engine.snapshot import Store, StoreIndex, StoreSet

TOL_KM = 1e-6


def _storeset(points: list[tuple[float, float]], cell_deg: float | None = None, tree: bool = True) -> StoreSet:
    stores = [Store(id=f"s{i}", name=f"S{i}", lat=lat, lon=lon, timezone="UTC") for i, (lat, lon) in enumerate(points)]
    index = build_store_index(stores, cell_deg)
    if not tree:  # the grid alone, as in a snapshot written before the candidate tree existed
        index = StoreIndex(cell_deg=index.cell_deg, cells=index.cells)
    return StoreSet(id="t", source="t.csv", stores=stores, index=index)


def _brute(points: list[tuple[float, float]], lat: float, lon: float) -> tuple[int, float] | None:
    best = None
    for i, (plat, plon) in enumerate(points):
        d = haversine_km(lat, lon, plat, plon)
        if best is None or d < best[1]:
            best = (i, d)
    return best


def _check(points: list[tuple[float, float]], lat: float, lon: float, max_km: float, got) -> None:
    ref = _brute(points, lat, lon)
    if ref is None or ref[1] > max_km + TOL_KM:
        assert got is None
        return
    if abs(ref[1] - max_km) <= TOL_KM:
        return  # on the boundary either answer is right
    assert got is not None, f"missed store {ref} within {max_km} km"
    assert got[1] == pytest.approx(ref[1], abs=TOL_KM)
    assert haversine_km(lat, lon, *points[got[0]]) == pytest.approx(ref[1], abs=TOL_KM)


lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
# points clustered near the antimeridian and the poles, where grids usually break
edge_lats = st.one_of(lats, st.floats(min_value=85, max_value=90), st.floats(min_value=-90, max_value=-85))
edge_lons = st.one_of(lons, st.floats(min_value=175, max_value=180), st.floats(min_value=-180, max_value=-175))
points_st = st.lists(st.tuples(edge_lats, edge_lons), min_size=1, max_size=60)
cells_st = st.sampled_from([None, 0.05, 0.1, 0.5, 1.0, 7.0, 45.0])
radius_st = st.sampled_from([0.5, 5.0, 50.0, 500.0, 3000.0, 25000.0])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=points_st, lat=edge_lats, lon=edge_lons, max_km=radius_st, cell=cells_st, tree=st.booleans())
def test_index_agrees_with_brute_force(points, lat, lon, max_km, cell, tree):
    ss = _storeset(points, cell, tree)
    _check(points, lat, lon, max_km, nearest_store(ss, lat, lon, max_km))


@settings(max_examples=150, deadline=None)
@given(
    center=st.tuples(st.floats(min_value=-60, max_value=60), lons),
    offsets=st.lists(st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)), min_size=1, max_size=80),
    q=st.tuples(st.floats(-0.6, 0.6), st.floats(-0.6, 0.6)),
    max_km=st.sampled_from([1.0, 10.0, 40.0, 100.0]),
)
def test_dense_city_agrees_with_brute_force(center, offsets, q, max_km):
    """Many stores in one city (small cells and a deep tree), queries around it."""
    wrap = lambda x: (x + 180.0) % 360.0 - 180.0  # noqa: E731
    points = [(center[0] + a, wrap(center[1] + b)) for a, b in offsets]
    lat, lon = center[0] + q[0], wrap(center[1] + q[1])
    _check(points, lat, lon, max_km, nearest_store(_storeset(points), lat, lon, max_km))


def test_dense_stores_build_a_tree_with_short_leaves():
    import random

    rnd = random.Random(7)
    points = [(40.7 + rnd.gauss(0, 0.05), -74.0 + rnd.gauss(0, 0.05)) for _ in range(3000)]
    ss = _storeset(points)
    assert ss.index.tree and ss.index.split
    assert max(len(c) for c in ss.index.tree.values()) <= 12
    for _ in range(300):
        lat, lon = 40.7 + rnd.gauss(0, 0.08), -74.0 + rnd.gauss(0, 0.08)
        _check(points, lat, lon, 25.0, nearest_store(ss, lat, lon, 25.0))


@pytest.mark.parametrize(
    ("points", "query", "max_km", "expected"),
    [
        pytest.param([(0.0, 179.99), (0.0, 170.0)], (0.0, -179.99), 50, 0, id="across the antimeridian east to west"),
        pytest.param([(10.0, -179.95), (10.0, 178.0)], (10.0, 179.95), 50, 0, id="across the antimeridian west to east"),
        pytest.param([(89.9, 0.0), (89.0, 180.0)], (89.9, 180.0), 100, 0, id="over the north pole"),
        pytest.param([(-89.95, 90.0), (-80.0, 0.0)], (-89.95, -90.0), 20, 0, id="over the south pole"),
        pytest.param([(40.0, -74.0)], (40.0, -73.0), 50, None, id="farther than max_km"),
        pytest.param([(40.0, -74.0), (40.0, -74.0)], (40.0, -74.0), 1, 0, id="tie goes to the lower index"),
    ],
)
def test_edge_cases(points, query, max_km, expected):
    got = nearest_store(_storeset(points), query[0], query[1], max_km)
    if expected is None:
        assert got is None
    else:
        assert got is not None and got[0] == expected
        assert got[1] == pytest.approx(haversine_km(*query, *points[expected]), abs=TOL_KM)


def test_empty_storeset_finds_nothing():
    assert nearest_store(_storeset([]), 0.0, 0.0, 20000) is None


@pytest.mark.parametrize("query", [(float("nan"), 0.0), (0.0, float("inf")), (91.0, 0.0)], ids=["nan lat", "inf lon", "lat past the pole"])
def test_invalid_point_finds_nothing(query):
    assert nearest_store(_storeset([(0.0, 0.0)]), *query, 20000) is None


def test_cell_size_tiles_the_globe():
    idx = build_store_index([Store("a", "A", 1.0, 2.0, "UTC")], cell_deg=0.7)
    assert 360.0 / idx.cell_deg == pytest.approx(round(360.0 / idx.cell_deg))


def test_automatic_cell_size_follows_density():
    sparse = [Store(f"s{i}", "x", -60 + i, -170 + 3 * i, "UTC") for i in range(100)]
    dense = [Store(f"d{i}", "x", 40 + (i % 30) * 0.01, -74 + (i // 30) * 0.01, "UTC") for i in range(900)]
    assert build_store_index(sparse).cell_deg > build_store_index(dense).cell_deg


@pytest.mark.parametrize("bad", [Store("x", "X", 95.0, 0.0, "UTC"), Store("x", "X", 0.0, math.nan, "UTC")], ids=["lat 95", "lon nan"])
def test_invalid_store_location_is_refused(bad):
    with pytest.raises(ValueError, match="invalid location"):
        build_store_index([bad])


def test_haversine_known_distance():
    # New York City Hall to Los Angeles City Hall: about 3,936 km on the mean sphere
    assert haversine_km(40.7128, -74.0060, 34.0522, -118.2437) == pytest.approx(3936, abs=5)


def test_superseded_store_sets_are_not_kept_alive():
    """A worker republished many times must not accumulate store indexes."""
    import gc
    import weakref

    from engine.routing import compile_campaign
    from engine.snapshot import Campaign, StorePolicy, Template

    camp = Campaign(id="c", name="c", owner="o", brand="b", domains=["d"], routes=[],
                    default=Template(["https://x/"]), campaign_token="T", stores=StorePolicy("t"))
    refs = []
    for _ in range(20):
        ss = _storeset([(40.0, -74.0), (41.0, -73.0)])
        cc = compile_campaign(camp, ss)
        refs.append(weakref.ref(cc.locator))
        del cc, ss
    gc.collect()
    assert sum(r() is not None for r in refs) == 0
