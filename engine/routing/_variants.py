"""Variant assignment: a weighted split that is the same on every machine, forever.

The arm is chosen from a stable hash (BLAKE2b, never Python's ``hash()``, which
is salted per process) of the experiment salt and a key: the recipient's token
at compile time, or a per-click random id for campaign-level links. Changing
the experiment name reshuffles everyone; changing nothing changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from engine.snapshot import VariantArm

_SCALE = float(1 << 64)


def variant_point(key: str, experiment: str) -> float:
    """The key's position in [0, 1) for ``experiment`` (uniform, stable)."""
    # NUL separates salt and key: neither a token nor a YAML name contains one.
    digest = hashlib.blake2b(
        experiment.encode() + b"\x00" + key.encode(), digest_size=8, person=b"smslink-variant"
    ).digest()
    return int.from_bytes(digest, "big") / _SCALE


def cumulative_weights(arms: Sequence[VariantArm]) -> list[float]:
    """Upper bounds in [0, 1] of each arm's share of the unit interval."""
    total = sum(a.weight for a in arms if a.weight > 0)
    bounds: list[float] = []
    acc = 0.0
    for a in arms:
        if total > 0 and a.weight > 0:
            acc += a.weight / total
        bounds.append(acc)
    if total > 0:
        # rounding must not leave a sliver above the last arm: close at exactly 1
        last = max(i for i, a in enumerate(arms) if a.weight > 0)
        for i in range(last, len(bounds)):
            bounds[i] = 1.0
    return bounds


def pick_arm(point: float, bounds: Sequence[float]) -> int:
    """The arm whose share holds ``point``; -1 when no arm has weight."""
    prev = 0.0
    for i, b in enumerate(bounds):
        if point < b and b > prev:
            return i
        prev = b
    return -1


def assign_variant(token: str, experiment: str, arms: Sequence[VariantArm]) -> int:
    """The arm of ``token`` in ``experiment``: deterministic and weighted.

    Parameters
    ----------
    token:
        The recipient's token (compile time) or a per-click random id
        (campaign-level links, at click time).
    experiment:
        The experiment salt (``Campaign.experiment``); changing it reshuffles arms.
    arms:
        The arms with their weights (any positive scale; zero-weight arms are
        never chosen; holdout arms are chosen like any other).

    Returns
    -------
    int
        Index into ``arms``, or -1 when there are no arms with positive weight.
    """
    if not arms:
        return -1
    return pick_arm(variant_point(token, experiment), cumulative_weights(arms))
