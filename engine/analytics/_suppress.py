"""k-suppression of shared outputs (table, JSON, CSV, HTML).

A breakdown cell that counts people — human clicks or unique clickers by
variant, route, store, region, device, time-to-first-click bucket, or human
clicks in a time bucket — is shown as ``"<k"`` when it is above 0 and below
``k``, so a small store or region cannot point at a person. Values derived
from a suppressed cell (a variant's rate and interval, its lift; the quantiles
of fewer than k first clicks) are blanked with it. Campaign totals, machine
counts and orphan traffic are not about people and are shown as counted.
"""

from __future__ import annotations

import copy
from typing import Any

_PEOPLE = ("human_clicks", "clickers")


def suppressed(value: Any, k: int) -> Any:
    """``"<k"`` for a count in [1, k), else the value."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < k:
        return f"<{k}"
    return value


def suppress(data: dict[str, Any], k: int) -> dict[str, Any]:
    """A copy of report ``data`` fit to share (``k <= 1`` disables suppression)."""
    out = copy.deepcopy(data)
    if k <= 1:
        return out
    for c in out["campaigns"]:
        for name in ("routes", "stores", "regions", "devices"):
            for row in c[name]:
                for key in _PEOPLE:
                    row[key] = suppressed(row[key], k)
        for arm in c["variants"]["arms"]:
            arm["clickers"] = suppressed(arm["clickers"], k)
            if isinstance(arm["clickers"], str):
                for key in ("rate", "low", "high", "lift_vs_holdout", "p_vs_holdout"):
                    if key in arm:
                        arm[key] = None
        if any(a["holdout"] and isinstance(a["clickers"], str) for a in c["variants"]["arms"]):
            # a lift over a hidden holdout count would give that count away
            for arm in c["variants"]["arms"]:
                for key in ("lift_vs_holdout", "p_vs_holdout"):
                    if key in arm:
                        arm[key] = None
        ttfc = c["time_to_first_click"]
        for row in ttfc["histogram"]:
            row["clickers"] = suppressed(row["clickers"], k)
        if isinstance(ttfc["clickers"], int) and 0 < ttfc["clickers"] < k:
            for key in ("p25_s", "median_s", "p75_s", "p90_s"):
                ttfc[key] = None
            ttfc["clickers"] = suppressed(ttfc["clickers"], k)
        for row in c["clicks_over_time"]["rows"]:
            if row["verdict"] == "human":
                row["clicks"] = suppressed(row["clicks"], k)
    return out
