"""Helpers the benchmarks share: what machine this is, and a CPU-time median.

The benchmarks run as scripts (``python benchmarks/bench_x.py``), so this
module is imported by its bare name.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def median_ns(fn: Callable[[int], object], n: int, runs: int = 7) -> float:
    """Median over ``runs`` of the process CPU time per operation of ``fn(n)``, in ns.

    CPU time, not wall time: this machine is shared, and a neighbour's load
    moves wall time far more than it moves our own CPU time.
    """
    samples = []
    for _ in range(runs):
        t0 = time.process_time_ns()
        fn(n)
        samples.append((time.process_time_ns() - t0) / n)
    return statistics.median(samples)


def current_snapshot(path: object) -> bool:
    """True when ``path`` is a snapshot of the format this engine writes.

    Benchmarks keep the snapshots they build between runs; one of an older
    format would still open (this engine reads format 1 too) and be measured
    as if it were today's, so they build it again instead.
    """
    from engine.snapshot import FORMAT_MAJOR, FORMAT_MINOR, SnapshotError, open_snapshot

    try:
        with open_snapshot(str(path)) as snap:
            return (snap.meta.format_major, snap.meta.format_minor) == (FORMAT_MAJOR, FORMAT_MINOR)
    except (SnapshotError, OSError):
        return False
