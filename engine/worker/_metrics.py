"""Worker counters, their per-process files, and the Prometheus text the admin port serves.

Aggregation across Granian's worker processes: each worker counts in plain
Python ints (a dict increment on the hot path, no lock: one event-loop thread
touches them) and a housekeeping thread writes them twice a second to
``<run dir>/metrics/worker-<pid>.json`` (write then rename, so a reader never
sees half a file). The admin server in the main process sums every file it
finds. Files of dead workers are kept, so totals never go backwards when a
worker is killed and respawned; what a killed worker counted in its last half
second is lost from the metrics (never from the click log). See
docs/operations.md.
"""

from __future__ import annotations

import json
import os
from bisect import bisect_left
from pathlib import Path
from typing import Any

#: Upper bounds (seconds) of the request-latency histogram: server time from
#: the request reaching the app to the response being handed to Granian.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25,
)


class WorkerMetrics:
    """One worker process's counters."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.requests: dict[tuple[int, str, str], int] = {}  # (status, verdict, answer) -> count
        self.latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.log_lines = 0
        self.log_lost = 0
        self.handler_errors = 0  # a request raised: answered with the safe page
        self.degraded = 0  # classifier or routing raised: answered, marked in the event
        self.reloads_ok = 0
        self.reloads_failed = 0
        self.snapshot_version = ""
        self.snapshot_path = ""
        self.last_error = ""

    def observe(self, status: int, verdict: str, answer: str, seconds: float) -> None:
        key = (status, verdict, answer)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.latency_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "requests": [[s, v, a, n] for (s, v, a), n in dict(self.requests).items()],
            "latency_counts": list(self.latency_counts),
            "latency_sum": self.latency_sum,
            "log_lines": self.log_lines,
            "log_lost": self.log_lost,
            "handler_errors": self.handler_errors,
            "degraded": self.degraded,
            "reloads_ok": self.reloads_ok,
            "reloads_failed": self.reloads_failed,
            "snapshot_version": self.snapshot_version,
            "snapshot_path": self.snapshot_path,
            "last_error": self.last_error,
        }

    def dump(self, folder: Path) -> None:
        """Write this worker's counters to ``folder/worker-<pid>.json`` atomically."""
        path = folder / f"worker-{self.pid}.json"
        tmp = folder / f".worker-{self.pid}.json.tmp"
        tmp.write_bytes(json.dumps(self.to_dict()).encode())
        os.replace(tmp, path)


def read_worker_files(folder: Path) -> list[dict[str, Any]]:
    """Every worker's last counters (unreadable files are skipped)."""
    out: list[dict[str, Any]] = []
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("worker-*.json")):
        try:
            out.append(json.loads(p.read_bytes()))
        except (OSError, ValueError):
            continue
    return out


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_prometheus(workers: list[dict[str, Any]], live: set[int], supervisor: dict[str, Any]) -> str:
    """Prometheus text exposition (version 0.0.4) of the summed worker counters.

    ``live`` are the pids of running workers (their per-worker gauges are
    shown); ``supervisor`` holds the main process's reload counts and the
    snapshot it accepted.
    """
    req: dict[tuple[int, str], int] = {}
    answers: dict[str, int] = {}
    buckets = [0] * (len(LATENCY_BUCKETS) + 1)
    lat_sum = 0.0
    totals = {"log_lines": 0, "log_lost": 0, "handler_errors": 0, "degraded": 0,
              "reloads_ok": 0, "reloads_failed": 0}
    for w in workers:
        for s, v, a, n in w.get("requests", []):
            req[(s, v)] = req.get((s, v), 0) + n
            answers[a] = answers.get(a, 0) + n
        for i, n in enumerate(w.get("latency_counts", [])[: len(buckets)]):
            buckets[i] += n
        lat_sum += w.get("latency_sum", 0.0)
        for k in totals:
            totals[k] += int(w.get(k, 0))

    lines: list[str] = []

    def head(name: str, kind: str, text: str) -> None:
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")

    head("smslink_requests_total", "counter", "Requests answered, by HTTP status and bot verdict.")
    for (s, v), n in sorted(req.items()):
        lines.append(f'smslink_requests_total{{status="{s}",verdict="{_esc(v)}"}} {n}')
    head("smslink_answers_total", "counter", "Requests answered, by kind of answer.")
    for a, n in sorted(answers.items()):
        lines.append(f'smslink_answers_total{{answer="{_esc(a)}"}} {n}')
    head("smslink_request_duration_seconds", "histogram", "Server time per request inside the app.")
    cum = 0
    for bound, n in zip(LATENCY_BUCKETS, buckets, strict=False):
        cum += n
        lines.append(f'smslink_request_duration_seconds_bucket{{le="{bound:g}"}} {cum}')
    cum += buckets[-1]
    lines.append(f'smslink_request_duration_seconds_bucket{{le="+Inf"}} {cum}')
    lines.append(f"smslink_request_duration_seconds_sum {lat_sum:.6f}")
    lines.append(f"smslink_request_duration_seconds_count {cum}")
    head("smslink_click_log_lines_total", "counter", "Click-log lines written.")
    lines.append(f"smslink_click_log_lines_total {totals['log_lines']}")
    head("smslink_click_log_write_failures_total", "counter",
         "Click-log lines that could not be written (the request was still answered).")
    lines.append(f"smslink_click_log_write_failures_total {totals['log_lost']}")
    head("smslink_handler_errors_total", "counter", "Requests whose handling raised; answered with the safe page.")
    lines.append(f"smslink_handler_errors_total {totals['handler_errors']}")
    head("smslink_degraded_clicks_total", "counter",
         "Clicks answered after the classifier or routing raised (marked in their reasons).")
    lines.append(f"smslink_degraded_clicks_total {totals['degraded']}")
    head("smslink_snapshot_reloads_total", "counter",
         "Snapshot pointer changes: verified and accepted, or refused (main process).")
    lines.append(f'smslink_snapshot_reloads_total{{result="ok"}} {supervisor.get("reloads_ok", 0)}')
    lines.append(f'smslink_snapshot_reloads_total{{result="refused"}} {supervisor.get("reloads_failed", 0)}')
    head("smslink_worker_snapshot_swaps_total", "counter", "Snapshot swaps inside workers, by result.")
    lines.append(f'smslink_worker_snapshot_swaps_total{{result="ok"}} {totals["reloads_ok"]}')
    lines.append(f'smslink_worker_snapshot_swaps_total{{result="failed"}} {totals["reloads_failed"]}')
    head("smslink_snapshot_info", "gauge", "The snapshot the main process accepted (value 1).")
    if supervisor.get("version"):
        lines.append(
            f'smslink_snapshot_info{{version="{_esc(supervisor["version"])}",'
            f'config_commit="{_esc(supervisor.get("config_commit") or "")}"}} 1'
        )
    head("smslink_worker_snapshot_info", "gauge", "The snapshot each running worker serves (value 1).")
    for w in workers:
        if w.get("pid") in live and w.get("snapshot_version"):
            lines.append(
                f'smslink_worker_snapshot_info{{pid="{w["pid"]}",'
                f'version="{_esc(w["snapshot_version"])}"}} 1'
            )
    head("smslink_workers", "gauge", "Worker processes currently reporting.")
    lines.append(f"smslink_workers {len([w for w in workers if w.get('pid') in live])}")
    return "\n".join(lines) + "\n"
