"""Nearest store per click: queries over the index ``build_store_index`` made.

Why not a library (rtree, H3, scikit-learn's BallTree): see
docs/adr/0008-nearest-store-index.md. The index lives inside the snapshot as
plain msgspec data and is queried from pure Python.

``StoreLocator.nearest`` first asks the candidate quadtree (``StoreIndex.tree``,
see _store_index.py): a binary search over its levels finds the leaf holding
the point, and the nearest of its few candidates is the answer. A point in no
leaf is farther than ``tree_reach_km`` from every store.

Otherwise (a larger radius, or a snapshot without the tree) the grid answers:
the smallest circle that can hold the answer is searched first and grown until
it holds a store or reaches ``max_km``. For a circle of angular radius ``d``
around latitude ``phi`` the exact bounding box is ``phi +- d`` by
``lambda +- asin(sin d / cos phi)``, or every longitude when a pole is inside
the circle. Every store within the circle lies in that box, so the best store
inside the box that is also within the circle is the true nearest one: the
answer equals brute-force haversine (tests compare them). Columns wrap at the
antimeridian; rows clamp at the poles. A coarse level (``_COARSE`` x
``_COARSE`` fine cells) makes wide empty boxes cost a handful of lookups.
"""

from __future__ import annotations

import math
import weakref
from threading import Lock

from engine.snapshot import StoreSet

#: Mean Earth radius (IUGG), km. Haversine with this radius is the reference
#: distance everywhere in smslink (explain, tests, docs).
EARTH_RADIUS_KM = 6371.0088
_KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180.0
#: ``StoreIndex.cells`` key = row * _ROW_STRIDE + col (see engine/snapshot/_format.py).
_ROW_STRIDE = 100_000
#: Fine cells per coarse cell side.
_COARSE = 8
def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees.

    Parameters
    ----------
    lat1, lon1, lat2, lon2:
        Latitudes and longitudes in degrees.

    Returns
    -------
    float
        Distance in km on a sphere of radius ``EARTH_RADIUS_KM``.
    """
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(
        math.radians(lon2 - lon1) / 2
    ) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _normalize_cell(cell_deg: float) -> float:
    # The grid must tile 360 degrees exactly so that columns wrap cleanly at the
    # antimeridian, and have fewer than _ROW_STRIDE columns.
    if not (cell_deg > 0 and math.isfinite(cell_deg)):
        raise ValueError(f"cell_deg must be a positive number, got {cell_deg!r}")
    ncols = max(1, round(360.0 / cell_deg))
    if ncols >= _ROW_STRIDE:
        raise ValueError(f"cell_deg {cell_deg} is too small (at least {360 / (_ROW_STRIDE - 1):.4f})")
    return 360.0 / ncols


def _cell_of(lat: float, lon: float, cell_deg: float, ncols: int, nrows: int) -> tuple[int, int]:
    row = int((lat + 90.0) // cell_deg)
    row = 0 if row < 0 else (nrows - 1 if row >= nrows else row)
    col = int((lon + 180.0) // cell_deg) % ncols
    return row, col


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    c = math.cos(phi)
    return c * math.cos(lam), c * math.sin(lam), math.sin(phi)


class StoreLocator:
    """A store set prepared for queries: radians, cosines and a coarse level.

    Built once per snapshot load (``compile_campaign`` does it); ``nearest``
    is the per-click call.
    """

    __slots__ = (
        "__weakref__", "_coarse", "_cos", "_lat", "_levels", "_lon", "_reach", "_split", "_tree", "_xyz",
        "cell_deg", "cells", "ncols", "nrows", "storeset",
    )

    def __init__(self, storeset: StoreSet) -> None:
        self.storeset = storeset
        idx = storeset.index
        self.cell_deg = idx.cell_deg
        self.ncols = round(360.0 / idx.cell_deg)
        self.nrows = math.ceil(180.0 / idx.cell_deg - 1e-9)
        self.cells = idx.cells
        self._lat = [math.radians(s.lat) for s in storeset.stores]
        self._lon = [math.radians(s.lon) for s in storeset.stores]
        self._cos = [math.cos(p) for p in self._lat]
        self._xyz = [_unit(s.lat, s.lon) for s in storeset.stores]
        # coarse key -> [(row, col, store indices)] of the occupied fine cells in it
        coarse: dict[int, list[tuple[int, int, list[int]]]] = {}
        for key, members in idx.cells.items():
            row, col = divmod(key, _ROW_STRIDE)
            ckey = (row // _COARSE) * _ROW_STRIDE + col // _COARSE
            coarse.setdefault(ckey, []).append((row, col, members))
        self._coarse = coarse
        self._tree = idx.tree
        self._reach = idx.tree_reach_km
        self._split = frozenset(idx.split)
        # per level: (cells per degree, rows, cols, key prefix)
        self._levels: list[tuple[float, int, int, int]] = []
        if idx.tree_deg > 0 and idx.tree:
            depth = max(k >> 40 for k in idx.tree) + 1
            for level in range(depth):
                per_deg = (1 << level) / idx.tree_deg
                self._levels.append(
                    (per_deg, round(180 * per_deg), round(360 * per_deg), level << 40)
                )

    def _candidates(self, lat: float, lon: float) -> list[int] | None:
        # Binary search over the levels: above the leaf every node is split,
        # below it none exists. None when the point is outside the tree.
        a = lat + 90.0
        b = lon + 180.0
        tree, split, levels = self._tree, self._split, self._levels
        lo, hi = 0, len(levels) - 1
        while lo <= hi:
            mid = (lo + hi) >> 1
            per_deg, nrows, ncols, prefix = levels[mid]
            row = int(a * per_deg)
            if row >= nrows:
                row = nrows - 1
            key = prefix | (row << 20) | (int(b * per_deg) % ncols)
            cand = tree.get(key)
            if cand is not None:
                return cand
            if key in split:
                lo = mid + 1
            else:
                hi = mid - 1
        return None

    def nearest(self, lat: float, lon: float, max_km: float) -> tuple[int, float] | None:
        """The nearest store within ``max_km`` of (``lat``, ``lon``): (index, km), or None.

        Ties go to the lower store index.
        """
        if not self.cells or not (max_km >= 0) or not (-90.0 <= lat <= 90.0) or not math.isfinite(lon):
            return None
        phi = math.radians(lat)
        lam = math.radians(lon)
        cos_phi = math.cos(phi)
        cand = self._candidates(lat, lon) if self._levels else None
        if cand is not None:
            # the leaf's candidates hold the nearest store of every point in it;
            # nearest = shortest chord between unit vectors (exact to the
            # millimetre, where 1 - dot product would round to zero)
            x, y, z = _unit(lat, lon)
            xyz = self._xyz
            best_i, best = -1, 5.0
            for i in cand:
                a, b, c = xyz[i]
                a -= x
                b -= y
                c -= z
                d = a * a + b * b + c * c
                if d < best:  # candidates are in store order: ties keep the lower index
                    best, best_i = d, i
            # chord length c between unit vectors -> great-circle angle 2 asin(c / 2)
            km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(best) * 0.5))
            return (best_i, km) if km <= max_km else None
        if self._levels and max_km <= self._reach:
            return None  # outside the tree: every store is farther than its reach
        radius = min(max_km, self.cell_deg * _KM_PER_DEG * 0.5)
        while True:
            found = self._search(lat, lon, phi, lam, cos_phi, radius)
            if found is not None:
                return found
            if radius >= max_km:
                return None
            radius = min(max_km, radius * 4.0)

    def _box(self, lat: float, lon: float, cos_phi: float, d: float) -> tuple[int, int, int, int]:
        # grid rows/cols of the bounding box of the circle of angular radius d
        cd = self.cell_deg
        ddeg = math.degrees(d)
        lat_lo = lat - ddeg
        lat_hi = lat + ddeg
        if lat_hi >= 90.0 or lat_lo <= -90.0 or cos_phi <= 0.0:
            dlon = 180.0  # a pole is inside the circle: every longitude
        else:
            s = math.sin(d) / cos_phi
            dlon = 180.0 if s >= 1.0 else math.degrees(math.asin(s))
        # a hair of slack so a store on a cell edge is never missed to rounding
        slack = 1e-9
        r_lo = max(0, int((lat_lo - slack + 90.0) // cd))
        r_hi = min(self.nrows - 1, int((lat_hi + slack + 90.0) // cd))
        ncols = self.ncols
        if dlon >= 180.0:
            return r_lo, r_hi, 0, ncols - 1
        c_lo = int((lon - dlon - slack + 180.0) // cd)
        c_hi = int((lon + dlon + slack + 180.0) // cd)
        if c_hi - c_lo + 1 >= ncols:
            return r_lo, r_hi, 0, ncols - 1
        return r_lo, r_hi, c_lo, c_hi

    def _search(
        self, lat: float, lon: float, phi: float, lam: float, cos_phi: float, radius: float
    ) -> tuple[int, float] | None:
        d = min(math.pi, radius / EARTH_RADIUS_KM)  # angular radius, radians
        r_lo, r_hi, c_lo, c_hi = self._box(lat, lon, cos_phi, d)
        # threshold on the haversine term h = sin^2(dist/2R) for the circle
        h_max = math.sin(d / 2) ** 2
        best_i = -1
        best_h = h_max
        lat_r, lon_r, cos_r = self._lat, self._lon, self._cos
        sin = math.sin
        for members in self._cells_in(r_lo, r_hi, c_lo, c_hi):
            for i in members:
                sp = sin((lat_r[i] - phi) * 0.5)
                sl = sin((lon_r[i] - lam) * 0.5)
                h = sp * sp + cos_phi * cos_r[i] * sl * sl
                if h < best_h or (h == best_h and (best_i < 0 or i < best_i)):
                    best_h = h
                    best_i = i
        if best_i < 0:
            return None
        km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(best_h)))
        return best_i, km

    def within(self, lat: float, lon: float, radius_km: float) -> list[int]:
        """Every store within ``radius_km`` of the point, in store order (compile time)."""
        phi = math.radians(lat)
        lam = math.radians(lon)
        cos_phi = math.cos(phi)
        d = min(math.pi, radius_km / EARTH_RADIUS_KM)
        h_max = math.sin(d / 2) ** 2 * (1 + 1e-12) + 1e-15
        out = []
        for members in self._cells_in(*self._box(lat, lon, cos_phi, d)):
            for i in members:
                sp = math.sin((self._lat[i] - phi) * 0.5)
                sl = math.sin((self._lon[i] - lam) * 0.5)
                if sp * sp + cos_phi * self._cos[i] * sl * sl <= h_max:
                    out.append(i)
        return sorted(out)

    def _cells_in(self, r_lo: int, r_hi: int, c_lo: int, c_hi: int) -> list[list[int]]:
        ncols = self.ncols
        nfine = (r_hi - r_lo + 1) * (c_hi - c_lo + 1)
        cells = self.cells
        out: list[list[int]] = []
        if nfine <= 64:
            get = cells.get
            for row in range(r_lo, r_hi + 1):
                base = row * _ROW_STRIDE
                for c in range(c_lo, c_hi + 1):
                    m = get(base + c % ncols)
                    if m is not None:
                        out.append(m)
            return out
        # Wide box: walk occupied coarse cells, then filter their fine cells.
        if c_hi - c_lo + 1 >= ncols:
            spans = [(0, ncols - 1)]
        else:
            lo, hi = c_lo % ncols, c_hi % ncols
            spans = [(lo, hi)] if lo <= hi else [(lo, ncols - 1), (0, hi)]
        cget = self._coarse.get
        for crow in range(r_lo // _COARSE, r_hi // _COARSE + 1):
            base = crow * _ROW_STRIDE
            for lo, hi in spans:
                for ccol in range(lo // _COARSE, hi // _COARSE + 1):
                    entries = cget(base + ccol)
                    if entries is None:
                        continue
                    for row, col, members in entries:
                        if r_lo <= row <= r_hi and lo <= col <= hi:
                            out.append(members)
        return out


# Locators by store-set identity, held weakly: the compiled campaigns of an open
# snapshot keep theirs alive, and a superseded snapshot's locators go with it
# (a worker republished every few minutes must not pile up 100,000-store
# indexes). The last few used through ``nearest_store`` are also held strongly,
# so a caller looping over it does not rebuild the locator per call.
_locators: weakref.WeakValueDictionary[int, StoreLocator] = weakref.WeakValueDictionary()
_recent: list[StoreLocator] = []
_locators_lock = Lock()


def locate(storeset: StoreSet) -> StoreLocator:
    """The prepared locator of ``storeset`` (shared by every campaign using that store set)."""
    loc = _locators.get(id(storeset))
    if loc is not None and loc.storeset is storeset:
        return loc
    loc = StoreLocator(storeset)
    with _locators_lock:
        _locators[id(storeset)] = loc
    return loc


def nearest_store(storeset: StoreSet, lat: float, lon: float, max_km: float) -> tuple[int, float] | None:
    """Nearest store of ``storeset`` within ``max_km`` km of a point.

    Parameters
    ----------
    storeset:
        A store set with its index (``build_store_index``).
    lat, lon:
        The point, degrees.
    max_km:
        Search radius; a store exactly at this distance counts.

    Returns
    -------
    tuple[int, float] | None
        ``(index into storeset.stores, distance km)``, ties to the lower index;
        None when no store is that close or the point is not a valid location.
    """
    loc = locate(storeset)
    if not _recent or _recent[-1] is not loc:
        with _locators_lock:
            _recent.append(loc)
            del _recent[:-2]
    return loc.nearest(lat, lon, max_km)
