"""The store index, built at compile time: a lat/lon grid and a candidate quadtree.

``build_store_index`` picks the grid's cell size from the data and builds the
quadtree of candidate lists that makes a click's query short (the query side
is _stores.py; the decision is docs/adr/0008-nearest-store-index.md).

The quadtree: 2-degree root cells split in four, down to ``_TREE_MAX_LEVEL``.
Each leaf lists every store that can be the nearest one for *some* point of
the leaf. A store is dropped from a cell's list only when another store is
strictly closer at every point of the cell. On the unit sphere "closer to
``s*`` than to ``s``" is the linear test ``p . (s* - s) > 0``, and the cell lies
in the cone spanned by six points (its four corners and, for each of its two
parallel edges, which are not great circles, the point where the tangents at
the edge's ends meet); a linear test that holds on those six holds on the whole
cell, so the pruning is exact. A child's candidates are filtered from its
parent's, so the build never rescans the whole list; a cell is split until it
lists at most ``_TREE_LEAF`` stores. Cells farther than ``_TREE_REACH_KM`` from
every store are left out (the query answers "none" there for smaller radii).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.snapshot import Store, StoreIndex, StoreSet

from ._stores import (
    _ROW_STRIDE,
    EARTH_RADIUS_KM,
    StoreLocator,
    _cell_of,
    _normalize_cell,
    _unit,
    haversine_km,
)

#: Cell sizes tried by ``build_store_index`` when none is given; each divides 360.
_CELL_CHOICES = (2.0, 1.0, 0.5, 0.25, 0.125, 0.1, 0.05, 0.025, 0.02)
#: Target for the automatic cell size: the number of stores sharing a cell with
#: a typical store (sum of squared occupancies / stores). Store-weighted, so a
#: few dense cities count as much as the empty countryside around them.
_TARGET_PER_CELL = 2.0
#: Quadtree: root cell size (degrees), largest leaf, deepest level (2/2**10
#: degrees, about 200 m), and how far from every store a root cell may be and
#: still be in the tree.
_TREE_ROOT_DEG = 2.0
_TREE_LEAF = 12
_TREE_MAX_LEVEL = 10
_TREE_REACH_KM = 250.0


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
