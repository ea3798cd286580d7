"""Nearest store: a lat/lon grid built at compile time, queried per click.

Why a grid and not a library (rtree, H3, scikit-learn's BallTree): the index
must live inside the snapshot as plain msgspec data, build without native
dependencies, and answer in a few microseconds from pure Python. A uniform
grid over latitude/longitude does that when the cell size follows the data.

Query: the smallest circle that can hold the answer is searched first and
doubled until it holds a store or reaches ``max_km``. For a circle of angular
radius ``d`` around latitude ``phi`` the exact bounding box is
``phi +- d`` by ``lambda +- asin(sin d / cos phi)``, or every longitude when a
pole is inside the circle. Every store within the circle lies in that box, so
the best store inside the box that is also within the circle is the true
nearest one: the answer equals brute-force haversine (tests compare them).
Columns wrap at the antimeridian; rows clamp at the poles.

A second, coarse level (``_COARSE`` x ``_COARSE`` fine cells) is derived when a
store set is prepared, so wide empty areas cost a handful of lookups.

The per-click path is faster still: at compile time a quadtree of candidate
lists is built (``StoreIndex.tree``). Each leaf lists every store that can be
the nearest one for *some* point of the leaf: with ``c`` the leaf's centre,
``h`` its largest centre-to-corner distance and ``d0`` the distance from ``c``
to its nearest store, the nearest store of any point ``p`` of the leaf is
within ``d0 + 2h`` of ``c`` (triangle inequality twice). A leaf is split in
four until it lists at most ``_TREE_LEAF`` stores (or reaches
``_TREE_MAX_LEVEL``); a child's candidates are filtered from its parent's, so
the build never rescans the whole list. A click descends a few levels and
measures a handful of distances. Places farther than ``_TREE_REACH_KM`` from
every store are not in the tree and use the grid search above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from threading import Lock

from engine.snapshot import Store, StoreIndex, StoreSet

#: Mean Earth radius (IUGG), km. Haversine with this radius is the reference
#: distance everywhere in smslink (explain, tests, docs).
EARTH_RADIUS_KM = 6371.0088
_KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180.0
#: ``StoreIndex.cells`` key = row * _ROW_STRIDE + col (see engine/snapshot/_format.py).
_ROW_STRIDE = 100_000
#: Cell sizes tried by ``build_store_index`` when none is given; each divides 360.
_CELL_CHOICES = (2.0, 1.0, 0.5, 0.25, 0.125, 0.1, 0.05, 0.025, 0.02)
#: Target for the automatic cell size: the number of stores sharing a cell with
#: a typical store (sum of squared occupancies / stores). Store-weighted, so a
#: few dense cities count as much as the empty countryside around them.
_TARGET_PER_CELL = 2.0
#: Fine cells per coarse cell side.
_COARSE = 8
#: Quadtree: root cell size (degrees), largest leaf, deepest level (2/2**10
#: degrees, about 200 m), and how far from every store a root cell may be and
#: still be in the tree.
_TREE_ROOT_DEG = 2.0
_TREE_LEAF = 12
_TREE_MAX_LEVEL = 10
_TREE_REACH_KM = 250.0


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


def _grid(stores: Sequence[Store], cell_deg: float) -> dict[int, list[int]]:
    ncols = round(360.0 / cell_deg)
    nrows = math.ceil(180.0 / cell_deg - 1e-9)
    cells: dict[int, list[int]] = {}
    for i, s in enumerate(stores):
        row, col = _cell_of(s.lat, s.lon, cell_deg, ncols, nrows)
        cells.setdefault(row * _ROW_STRIDE + col, []).append(i)
    return cells


def build_store_index(stores: Sequence[Store], cell_deg: float | None = None) -> StoreIndex:
    """Build the grid index of a store list (compile time).

    Parameters
    ----------
    stores:
        The store list, in the order the snapshot keeps it (indices refer to it).
    cell_deg:
        Grid cell size in degrees. ``None`` picks the largest of
        ``2, 1, 0.5, 0.25, 0.125, 0.1, 0.05, 0.025, 0.02`` at which a store
        shares its cell with about two stores on average (store-weighted). The value is adjusted so that 360 is a
        whole number of cells.

    Returns
    -------
    StoreIndex
        ``cells`` maps ``row * 100_000 + col`` to store indices, in store order.

    Raises
    ------
    ValueError
        A store has a latitude outside [-90, 90] or a non-finite coordinate, or
        ``cell_deg`` is not a usable size.
    """
    for s in stores:
        if not (-90.0 <= s.lat <= 90.0) or not math.isfinite(s.lon):
            raise ValueError(f"store {s.id!r} has an invalid location ({s.lat}, {s.lon})")
    if cell_deg is not None:
        size = _normalize_cell(cell_deg)
        return StoreIndex(cell_deg=size, cells=_grid(stores, size))
    chosen = _normalize_cell(_CELL_CHOICES[-1])
    if stores:
        import numpy as np  # compile time only

        lat = np.array([s.lat for s in stores]) + 90.0
        lon = np.array([s.lon for s in stores]) + 180.0
        for choice in _CELL_CHOICES:
            size = _normalize_cell(choice)
            nrows = math.ceil(180.0 / size - 1e-9)
            rows = np.minimum(np.floor(lat / size), nrows - 1).astype(np.int64)
            cols = np.floor(lon / size).astype(np.int64) % round(360.0 / size)
            _, counts = np.unique(rows * _ROW_STRIDE + cols, return_counts=True)
            if float((counts.astype(np.float64) ** 2).sum()) / len(stores) <= _TARGET_PER_CELL:
                chosen = size
                break
    cells = _grid(stores, chosen)
    return _with_tree(stores, StoreIndex(cell_deg=chosen, cells=cells))


def _with_tree(stores: Sequence[Store], grid: StoreIndex) -> StoreIndex:
    if not stores:
        return grid
    tree, split = _build_tree(StoreLocator(StoreSet(id="", source="", stores=list(stores), index=grid)))
    return StoreIndex(
        cell_deg=grid.cell_deg, cells=grid.cells, tree_deg=_TREE_ROOT_DEG, tree=tree, split=split,
        tree_reach_km=_TREE_REACH_KM,
    )


def _node_key(level: int, row: int, col: int) -> int:
    return (level << 40) | (row << 20) | col


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    c = math.cos(phi)
    return c * math.cos(lam), c * math.sin(lam), math.sin(phi)


def _build_tree(loc: StoreLocator) -> tuple[dict[int, list[int]], list[int]]:
    # Compile time only. Distances are compared as angles between unit vectors
    # (a dot product per store); numpy (a dependency of the report side) takes
    # the big lists near the top of the tree, plain Python the small ones below.
    import numpy as np

    pts = loc._xyz
    n = len(pts)
    arr = np.array(pts, dtype=np.float64).reshape(n, 3)
    tree: dict[int, list[int]] = {}
    split: list[int] = []
    budget = 16 * n + 65536  # nodes; past it, leaves stop splitting (still correct, just longer)
    halves: dict[tuple[int, int], float] = {}

    def geometry(level: int, row: int, col: int) -> tuple[tuple[float, float, float], float]:
        # unit vector of the cell's centre, and its farthest-corner angle (radians)
        cd = _TREE_ROOT_DEG / 2.0**level
        lat0 = max(-90.0, -90.0 + row * cd)
        lat1 = min(90.0, -90.0 + (row + 1) * cd)
        clat, clon = (lat0 + lat1) / 2, -180.0 + (col + 0.5) * cd
        half = halves.get((level, row))
        if half is None:  # the same for every cell of a row: cache it
            half = max(
                haversine_km(clat, 0.0, y, x) for y in (lat0, lat1) for x in (-cd / 2, 0.0, cd / 2)
            ) / EARTH_RADIUS_KM
            half = halves[(level, row)] = half * (1 + 1e-9) + 1e-12
        return _unit(clat, clon), half

    def generators(level: int, row: int, col: int) -> np.ndarray:
        # Six unit-sphere points whose cone holds the whole cell: the four
        # corners and, for each parallel edge (not a great circle), the point
        # where the tangents at its ends meet. A linear test that holds on all
        # six holds on every point of the cell.
        cd = _TREE_ROOT_DEG / 2.0**level
        lat0 = max(-90.0, -90.0 + row * cd)
        lat1 = min(90.0, -90.0 + (row + 1) * cd)
        lon0 = -180.0 + col * cd
        out = [_unit(y, x) for y in (lat0, lat1) for x in (lon0, lon0 + cd)]
        stretch = 1.0 / math.cos(math.radians(cd / 2))
        for y in (lat0, lat1):
            ux, uy, uz = _unit(y, lon0 + cd / 2)
            out.append((ux * stretch, uy * stretch, uz))
        return np.array(out)

    def narrow(level: int, cells: list[tuple[int, int]], parent: list[int]) -> list[tuple[list[int], float]]:
        """For each cell: the stores of ``parent`` that can be nearest for one of its points, and a lower bound (radians).

        A store is dropped only when another one is strictly closer at every
        point of the cell (closer <=> larger dot product with the point, a
        linear test, so checking the six generators is enough). The cells of
        one parent are done in one matrix product.
        """
        idx = np.asarray(parent)
        sub = arr[idx]
        gens = np.concatenate([generators(level, r, c) for r, c in cells])
        centres = [geometry(level, r, c) for r, c in cells]
        m_all = sub @ np.concatenate([gens, np.array([xyz for xyz, _ in centres])]).T
        k = len(cells)
        out = []
        for j, (_, half) in enumerate(centres):
            m = m_all[:, 6 * j:6 * j + 6]
            centre = m_all[:, 6 * k + j]
            best = int(centre.argmax())
            # dominators: the stores nearest the centre and each generator
            doms = m[list({best, *m.argmax(axis=0).tolist()})]
            keep = ~(doms[:, None, :] > m[None, :, :]).all(axis=2).any(axis=0)
            nearest = math.acos(max(-1.0, min(1.0, float(centre[best]))))
            out.append((idx[keep].tolist(), nearest - half))
        return out

    def children(level: int, row: int, col: int) -> list[tuple[int, int]]:
        # the four cells of ``level`` inside (row, col) of level - 1, clipped to the globe
        cd = _TREE_ROOT_DEG / 2.0**level
        rows, cols = math.ceil(180 / cd - 1e-9), math.ceil(360 / cd - 1e-9)
        return [
            (2 * row + dr, 2 * col + dc)
            for dr in (0, 1) for dc in (0, 1)
            if 2 * row + dr < rows and 2 * col + dc < cols
        ]

    reach = _TREE_REACH_KM / EARTH_RADIUS_KM

    def polar(level: int, row: int) -> bool:
        # Near a pole every column of a row meets at one point, so splitting
        # there multiplies cells without narrowing anything: stop at 88 degrees.
        cd = _TREE_ROOT_DEG / 2.0**level
        return -90.0 + row * cd < -88.0 or -90.0 + (row + 1) * cd > 88.0

    def visit(level: int, row: int, col: int, cand: list[int]) -> None:
        if level >= 0 and (
            len(cand) <= _TREE_LEAF or level >= _TREE_MAX_LEVEL or len(tree) + len(split) >= budget
            or polar(level, row)
        ):
            tree[_node_key(level, row, col)] = cand
            return
        kids = []
        cells = children(level + 1, row, col)
        for (r, c), (sub, lower) in zip(cells, narrow(level + 1, cells, cand), strict=True):
            if level + 1 <= 0 and lower > reach:
                continue  # far from every store: not in the tree, the grid answers there
            kids.append((r, c, sub))
        if level >= 0:
            split.append(_node_key(level, row, col))
        for r, c, sub in kids:
            visit(level + 1, r, c, sub)

    top = -5  # 64-degree cells: eighteen cover the globe
    tops = [(r, c) for r in range(3) for c in range(6)]
    for (row, col), (sub, lower) in zip(tops, narrow(top, tops, list(range(n))), strict=True):
        if lower <= reach:
            visit(top, row, col, sub)
    return tree, split


class StoreLocator:
    """A store set prepared for queries: radians, cosines and a coarse level.

    Built once per snapshot load (``compile_campaign`` does it); ``nearest``
    is the per-click call.
    """

    __slots__ = (
        "_coarse", "_cos", "_lat", "_levels", "_lon", "_reach", "_split", "_tree", "_xyz", "cell_deg",
        "cells", "ncols", "nrows", "storeset",
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
            s = self.storeset.stores[best_i]
            km = haversine_km(lat, lon, s.lat, s.lon)
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


_locators: dict[int, StoreLocator] = {}
_locators_lock = Lock()


def locate(storeset: StoreSet) -> StoreLocator:
    """The prepared locator of ``storeset`` (cached by identity, a few store sets per process)."""
    loc = _locators.get(id(storeset))
    if loc is not None and loc.storeset is storeset:
        return loc
    loc = StoreLocator(storeset)
    with _locators_lock:
        if len(_locators) >= 16:
            _locators.clear()
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
    return locate(storeset).nearest(lat, lon, max_km)
