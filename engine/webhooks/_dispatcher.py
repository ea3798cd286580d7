"""The dispatcher: tail the click logs, deliver signed events per endpoint, remember where it is.

One ``EndpointRunner`` per endpoint, all in one asyncio loop. Each has its own
reader over the logs, its own connection pool, its own retry queue and its own
cursor, so a slow or dead endpoint never holds back another one.

How the cursor moves while an early event is still retrying: every event read
becomes an *item*; an item is *settled* once it is acknowledged, or put in the
retry queue, or dead-lettered. The cursor of a file is the start of its first
unsettled item (or the read position when none is pending). The retry queue is
saved in the same atomic file as the cursor, so moving past a retrying event
loses nothing. The reader pauses when ``window`` items are unsettled or the
retry queue holds ``max_retrying`` events (a dead endpoint's events then wait
in the logs, which are the durable queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from engine import __version__
from engine.clicklog import ClickEvent, LogFile, list_log_files, read_lines
from engine.snapshot import Endpoint

from ._payload import build_payload, encode_payload, event_type
from ._schedule import DEFAULT_SCHEDULE, RetrySchedule, parse_retry_after
from ._sender import DeliveryError, Sender
from ._signing import SigningKeys, webhook_id
from ._state import DeadLetter, DisabledMark, EndpointState, RetryEntry, StateDir, atomic_write

_decoder = msgspec.json.Decoder(ClickEvent)
USER_AGENT = f"smslink-webhooks/{__version__}"


@dataclass(frozen=True)
class Clock:
    """Wall time and sleeping, injectable so retry schedules are testable without waiting."""

    time: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass(frozen=True)
class DispatchOptions:
    """How the dispatcher runs. Command-line flags set these; every field has a safe default."""

    concurrency: int = 16  # requests in flight per endpoint (= its keep-alive connections)
    window: int = 1024  # events read ahead of an endpoint's cursor before reading pauses
    max_retrying: int = 10_000  # retry-queue size per endpoint before reading pauses
    poll_interval: float = 0.5  # seconds between looks at the logs when caught up
    save_interval: float = 0.2  # at most this long between cursor writes while delivering
    metrics_interval: float = 5.0  # seconds between rewrites of metrics.prom
    timeout: float = 10.0  # seconds to connect, and seconds for a whole request and its answer
    schedule: RetrySchedule = DEFAULT_SCHEDULE
    once: bool = False  # one pass over what the logs hold now, then exit


@dataclass
class EndpointMetrics:
    """Counters of one run (Prometheus counters restart at 0 with the process)."""

    delivered: int = 0  # events acknowledged with 2xx
    retried: int = 0  # attempts that were retries
    failed: int = 0  # attempts that failed (non-2xx, timeout, connection error)
    dead_lettered: int = 0
    unreadable_lines: int = 0  # complete log lines that do not decode (skipped, counted)
    pending_retries: int = 0
    lag_bytes: int = 0  # log bytes not yet settled for this endpoint
    oldest_retry_s: float = 0.0  # age of the oldest event in the retry queue
    disabled: bool = False


@dataclass(frozen=True)
class Target:
    """An endpoint with what it takes to deliver to it."""

    endpoint: Endpoint
    keys: SigningKeys
    sender: Sender


@dataclass(frozen=True)
class Attempt:
    """The outcome of one POST."""

    kind: str  # ok | retry | gone
    error: str = ""
    retry_after: float | None = None


class _Item:
    __slots__ = ("end", "settled", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end, self.settled = start, end, False


@dataclass
class _FileProgress:
    read_pos: int
    pending: deque[_Item] = field(default_factory=deque)

    def committed(self) -> int:
        while self.pending and self.pending[0].settled:
            self.pending.popleft()
        return self.pending[0].start if self.pending else self.read_pos


def _lines_or_nothing(path: Path, offset: int) -> Iterator[tuple[bytes, int]]:
    """``read_lines``, but a file renamed away between listing and opening yields nothing."""
    try:
        yield from read_lines(path, offset)
    except FileNotFoundError:
        return


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def matches(endpoint: Endpoint, event: ClickEvent) -> bool:
    """Whether ``endpoint`` subscribes to ``event`` (its type and its campaign)."""
    if event_type(event) not in endpoint.events:
        return False
    return not endpoint.campaigns or event.campaign in endpoint.campaigns


async def attempt_delivery(target: Target, msg_id: str, body: bytes, clock: Clock) -> Attempt:
    """POST one signed body once; classify the answer (2xx ok, 410 gone, anything else retry)."""
    ts = int(clock.time())
    headers = [
        ("content-type", "application/json"),
        ("user-agent", USER_AGENT),
        ("webhook-id", msg_id),
        ("webhook-timestamp", str(ts)),
        ("webhook-signature", target.keys.sign(msg_id, ts, body)),
    ]
    try:
        resp = await target.sender.post(target.endpoint.url, headers, body)
    except DeliveryError as exc:
        return Attempt("retry", str(exc))
    except Exception as exc:  # a transport bug must cost a retry, not the dispatcher
        return Attempt("retry", f"unexpected {type(exc).__name__}: {exc}")
    if 200 <= resp.status < 300:
        return Attempt("ok")
    if resp.status == 410:
        return Attempt("gone", "HTTP 410 Gone")
    note = " (redirects are never followed)" if 300 <= resp.status < 400 else ""
    return Attempt("retry", f"HTTP {resp.status}{note}", parse_retry_after(resp.retry_after, clock.time()))


def _dead_letter(endpoint: str, msg_id: str, event_id: str, etype: str, body: bytes, attempts: int,
                 first_at: float, last_at: float, error: str) -> DeadLetter:
    return DeadLetter(webhook_id=msg_id, event_id=event_id, endpoint=endpoint, type=etype,
                      attempts=attempts, first_attempt_at=_iso(first_at), last_attempt_at=_iso(last_at),
                      last_error=error, payload=msgspec.Raw(body))


class EndpointRunner:
    """Delivers the logs to one endpoint until stopped (or, with ``once``, until caught up)."""

    def __init__(self, target: Target, logs: Path, store: StateDir, opts: DispatchOptions,
                 clock: Clock, rng: random.Random, say: Callable[[str], None]) -> None:
        self.target = target
        self.name = target.endpoint.name
        self.logs, self.store, self.opts, self.clock, self.rng, self.say = logs, store, opts, clock, rng, say
        self.state: EndpointState = store.load(self.name)
        if self.state.disabled and self.state.disabled.url != target.endpoint.url:
            say(f"{self.name}: URL changed since it answered 410; delivering again")
            self.state.disabled = None
        self.progress = {stem: _FileProgress(off) for stem, off in self.state.files.items()}
        self.retries = {r.webhook_id: r for r in self.state.retries}
        self.metrics = EndpointMetrics(disabled=self.state.disabled is not None)
        self._sem = asyncio.Semaphore(opts.concurrency)
        self._unsettled = 0
        self._space = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._retrying: set[str] = set()
        self._dirty = False
        self._halted = False
        self._stop: asyncio.Event | None = None

    # ------------------------------------------------------------------ run
    async def run(self, stop: asyncio.Event) -> EndpointMetrics:
        self._stop = stop
        if self.state.disabled:
            self.say(f"{self.name}: disabled since {_iso(self.state.disabled.at)} "
                     f"({self.state.disabled.reason}); `smslink dispatch enable --endpoint {self.name}` resumes it")
            return self.metrics
        saver = asyncio.create_task(self._save_loop())
        try:
            await asyncio.gather(self._read_loop(), self._retry_loop())
            if self._in_flight:
                await asyncio.gather(*self._in_flight)
            self.metrics.lag_bytes = self._lag(list_log_files(self.logs))  # after the last acks
        finally:
            saver.cancel()
            self.save()
        return self.metrics

    def halted(self) -> bool:
        return self._halted or (self._stop is not None and self._stop.is_set())

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake early when asked to stop."""
        end = self.clock.time() + seconds
        while not self.halted():
            left = end - self.clock.time()
            if left <= 0:
                return
            await self.clock.sleep(min(left, 0.05))

    # ---------------------------------------------------------------- reader
    async def _read_loop(self) -> None:
        while not self.halted():
            await self._read_pass()
            if self.opts.once:
                return
            await self._pause(self.opts.poll_interval)

    async def _read_pass(self) -> None:
        files = list_log_files(self.logs)
        endpoint = self.target.endpoint
        for lf in files:
            prog = self.progress.setdefault(lf.stem, _FileProgress(0))
            pos = prog.read_pos
            n = 0
            if not lf.path.exists():
                continue  # renamed (finished, compressed) since the listing: next pass finds it
            for raw, end in _lines_or_nothing(lf.path, pos):
                start, pos = pos, end
                n += 1
                if n % 256 == 0:
                    await asyncio.sleep(0)
                if not raw.strip():
                    prog.read_pos = end
                    continue
                try:
                    event = _decoder.decode(raw)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    self.metrics.unreadable_lines += 1
                    self.say(f"{self.name}: {lf.path.name}: skipping an unreadable line at byte {start}")
                    prog.read_pos = end
                    continue
                if matches(endpoint, event):
                    msg_id = webhook_id(event.id, self.name)
                    if msg_id not in self.retries:  # already settled before a crash: skip
                        while (self._unsettled >= self.opts.window
                               or len(self.retries) >= self.opts.max_retrying) and not self.halted():
                            self._space.clear()
                            await self._wait_space()
                        if self.halted():
                            return
                        item = _Item(start, end)
                        prog.pending.append(item)
                        self._unsettled += 1
                        task = asyncio.create_task(self._deliver_new(item, event, msg_id))
                        self._in_flight.add(task)
                        task.add_done_callback(self._in_flight.discard)
                prog.read_pos = end
                self._dirty = True
            if self.halted():
                return
        present = {lf.stem for lf in files}
        for stem in [s for s, p in self.progress.items() if s not in present and not p.pending]:
            del self.progress[stem]  # the log was deleted (retention): forget it
            self._dirty = True
        self.metrics.lag_bytes = self._lag(files)

    def _lag(self, files: list[LogFile]) -> int:
        """Log bytes not yet settled: what a crash now would make us read again."""
        lag = 0
        for lf in files:
            prog = self.progress.get(lf.stem)
            if prog is None or lf.path.name.endswith(".gz"):
                continue
            with contextlib.suppress(FileNotFoundError):
                lag += max(0, lf.path.stat().st_size - prog.committed())
        return lag

    async def _wait_space(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._space.wait(), 0.2)

    def _settle(self, item: _Item) -> None:
        item.settled = True
        self._unsettled -= 1
        self._dirty = True
        self._space.set()

    async def _deliver_new(self, item: _Item, event: ClickEvent, msg_id: str) -> None:
        body = encode_payload(build_payload(event, include_user_agent=self.target.endpoint.include_user_agent))
        async with self._sem:
            if self.halted():
                # stopping, or the endpoint is gone: leave the item unsettled so the cursor
                # stays before it and the next run delivers it
                return
            first_at = self.clock.time()
            # a cancellation propagates and leaves the item unsettled: delivered again next run
            result = await attempt_delivery(self.target, msg_id, body, self.clock)
        self._record(result, msg_id, event.id, event_type(event), body, 1, first_at)
        self._settle(item)

    # --------------------------------------------------------------- retries
    async def _retry_loop(self) -> None:
        while not self.halted():
            now = self.clock.time()
            due = sorted((r for r in self.retries.values()
                          if r.next_at <= now and r.webhook_id not in self._retrying),
                         key=lambda r: r.next_at)
            for r in due[: max(0, self.opts.concurrency - len(self._retrying))]:
                self._retrying.add(r.webhook_id)
                task = asyncio.create_task(self._deliver_retry(r))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if self.opts.once:
                return
            waiting = [r.next_at for r in self.retries.values() if r.webhook_id not in self._retrying]
            nap = min([self.opts.poll_interval] + [max(0.0, t - now) for t in waiting])
            await self._pause(max(nap, 0.01))

    async def _deliver_retry(self, r: RetryEntry) -> None:
        try:
            async with self._sem:
                if self.halted():  # stopping, or 410: the entry stays queued for the next run
                    return
                result = await attempt_delivery(self.target, r.webhook_id, bytes(r.body), self.clock)
            self.metrics.retried += 1
            self._record(result, r.webhook_id, r.event_id, r.type, bytes(r.body), r.attempts + 1,
                         r.first_at, entry=r)
        finally:
            self._retrying.discard(r.webhook_id)
            self._dirty = True
            self._space.set()

    def _record(self, result: Attempt, msg_id: str, event_id: str, etype: str, body: bytes,
                attempts: int, first_at: float, entry: RetryEntry | None = None) -> None:
        """Book one attempt's outcome: delivered, queued for retry, dead-lettered, or endpoint gone."""
        now = self.clock.time()
        if result.kind == "ok":
            self.metrics.delivered += 1
            self.retries.pop(msg_id, None)
            return
        self.metrics.failed += 1
        delay = None
        if result.kind == "retry":
            delay = self.opts.schedule.next_delay(attempts, self.rng, result.retry_after)
        if delay is None:
            self.retries.pop(msg_id, None)
            self.metrics.dead_lettered += 1
            self.store.append_dead_letters(self.name, [_dead_letter(
                self.name, msg_id, event_id, etype, body, attempts, first_at, now, result.error)])
            if result.kind == "gone":
                self._disable(now, msg_id)
            return
        if entry is None:
            entry = RetryEntry(webhook_id=msg_id, event_id=event_id, type=etype, body=msgspec.Raw(body),
                               attempts=attempts, first_at=first_at, next_at=now + delay)
            self.retries[msg_id] = entry
        entry.attempts = attempts
        entry.next_at = now + delay
        entry.last_error = result.error

    def _disable(self, now: float, msg_id: str) -> None:
        if self.state.disabled is None:
            self.state.disabled = DisabledMark(at=now, reason=f"HTTP 410 Gone answering {msg_id}",
                                               url=self.target.endpoint.url)
            self.say(f"{self.name}: the endpoint answered 410 Gone: disabled. Events not yet delivered stay "
                     f"in the logs and the retry queue; `smslink dispatch enable --endpoint {self.name}` resumes")
        self.metrics.disabled = True
        self._halted = True
        self._dirty = True
        self._space.set()

    # ------------------------------------------------------------------ save
    async def _save_loop(self) -> None:
        while True:
            await asyncio.sleep(self.opts.save_interval)
            if self._dirty:
                self.save()

    def save(self) -> None:
        """Write cursor + retry queue atomically (one file)."""
        self._dirty = False
        self.state.files = {stem: p.committed() for stem, p in sorted(self.progress.items())}
        self.state.retries = sorted(self.retries.values(), key=lambda r: r.next_at)
        self.store.save(self.name, self.state)

    def refresh_metrics(self) -> EndpointMetrics:
        m = self.metrics
        m.pending_retries = len(self.retries)
        now = self.clock.time()
        m.oldest_retry_s = max((now - r.first_at for r in self.retries.values()), default=0.0)
        return m


# ---------------------------------------------------------------- metrics
_METRICS = (
    ("delivered", "counter", "Events acknowledged with a 2xx."),
    ("retried", "counter", "Delivery attempts that were retries."),
    ("failed", "counter", "Delivery attempts that failed (non-2xx, timeout, connection error)."),
    ("dead_lettered", "counter", "Events written to the dead-letter file."),
    ("unreadable_lines", "counter", "Click-log lines that did not decode (skipped)."),
    ("pending_retries", "gauge", "Events waiting in the retry queue."),
    ("lag_bytes", "gauge", "Click-log bytes not yet settled for the endpoint."),
    ("oldest_retry_s", "gauge", "Seconds since the first attempt of the oldest queued retry."),
    ("disabled", "gauge", "1 when the endpoint answered 410 and is disabled."),
)


def render_metrics(per_endpoint: dict[str, EndpointMetrics]) -> str:
    """Prometheus text exposition format (for node_exporter's textfile collector)."""
    lines: list[str] = []
    for key, kind, help_text in _METRICS:
        suffix = "_total" if kind == "counter" else ""
        name = f"smslink_webhook_{key}{suffix}"
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for ep, m in sorted(per_endpoint.items()):
            value = getattr(m, key)
            lines.append(f'{name}{{endpoint="{ep}"}} {float(value) if isinstance(value, float) else int(value)}')
    return "\n".join(lines) + "\n"


def summarize(per_endpoint: dict[str, EndpointMetrics]) -> list[str]:
    """One human line per endpoint (stderr at exit)."""
    return [
        f"{ep}: delivered {m.delivered}, retried {m.retried}, failed {m.failed}, dead-lettered "
        f"{m.dead_lettered}, pending retries {m.pending_retries}, lag {m.lag_bytes} B"
        + (", DISABLED (410)" if m.disabled else "")
        for ep, m in sorted(per_endpoint.items())
    ]


async def run_dispatcher(targets: list[Target], logs: Path, store: StateDir, opts: DispatchOptions,
                         *, clock: Clock | None = None, rng: random.Random | None = None,
                         say: Callable[[str], None] = lambda s: None,
                         stop: asyncio.Event | None = None) -> dict[str, EndpointMetrics]:
    """Run every endpoint until ``stop`` is set, SIGTERM/SIGINT arrives, or (``once``) all are caught up."""
    clock = clock or Clock()
    rng = rng or random.Random()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # not available off the main thread (embedders, tests): they pass their own ``stop``
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    runners = [EndpointRunner(t, logs, store, opts, clock, rng, say) for t in targets]

    def write_metrics() -> dict[str, EndpointMetrics]:
        snapshot = {r.name: r.refresh_metrics() for r in runners}
        store.root.mkdir(parents=True, exist_ok=True)
        atomic_write(store.metrics_path, render_metrics(snapshot).encode())
        return snapshot

    async def metrics_loop() -> None:
        while True:
            await asyncio.sleep(opts.metrics_interval)
            write_metrics()

    mtask = asyncio.create_task(metrics_loop())
    try:
        await asyncio.gather(*(r.run(stop) for r in runners))
    finally:
        mtask.cancel()
        for t in targets:
            await t.sender.aclose()
    return write_metrics()


# ----------------------------------------------------------------- replay
@dataclass
class ReplayResult:
    """What a replay or a dead-letter retry did."""

    matched: int = 0
    delivered: int = 0
    dead_lettered: int = 0
    gone: bool = False


async def _deliver_with_retries(target: Target, msg_id: str, body: bytes, opts: DispatchOptions,
                                clock: Clock, rng: random.Random) -> tuple[Attempt, int, float]:
    first = clock.time()
    attempts = 0
    while True:
        attempts += 1
        result = await attempt_delivery(target, msg_id, body, clock)
        if result.kind != "retry":
            return result, attempts, first
        delay = opts.schedule.next_delay(attempts, rng, result.retry_after)
        if delay is None:
            return result, attempts, first
        await clock.sleep(delay)


async def replay_range(target: Target, logs: Path, store: StateDir, since_ms: int, until_ms: int | None,
                       opts: DispatchOptions, *, clock: Clock | None = None,
                       rng: random.Random | None = None) -> ReplayResult:
    """Deliver again every subscribed event clicked in [since, until), with its original webhook-id.

    Failures after ``opts.schedule`` go to the dead-letter file. Does not touch the cursor.
    """
    clock = clock or Clock()
    rng = rng or random.Random()
    result = ReplayResult()
    sem = asyncio.Semaphore(opts.concurrency)
    tasks: set[asyncio.Task[None]] = set()
    name = target.endpoint.name

    async def one(event: ClickEvent) -> None:
        async with sem:
            if result.gone:
                return
            msg_id = webhook_id(event.id, name)
            body = encode_payload(build_payload(event, include_user_agent=target.endpoint.include_user_agent))
            outcome, attempts, first = await _deliver_with_retries(target, msg_id, body, opts, clock, rng)
            if outcome.kind == "ok":
                result.delivered += 1
                return
            result.gone = result.gone or outcome.kind == "gone"
            result.dead_lettered += 1
            store.append_dead_letters(name, [_dead_letter(name, msg_id, event.id, event_type(event), body,
                                                          attempts, first, clock.time(), outcome.error)])

    try:
        for lf in list_log_files(logs):
            for raw, _end in read_lines(lf.path):
                if result.gone:
                    break
                try:
                    event = _decoder.decode(raw)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue
                if event.ts < since_ms or (until_ms is not None and event.ts >= until_ms):
                    continue
                if not matches(target.endpoint, event):
                    continue
                result.matched += 1
                while len(tasks) >= opts.concurrency * 4:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                task = asyncio.create_task(one(event))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        await target.sender.aclose()
    return result


async def retry_dead_letters(target: Target, store: StateDir, opts: DispatchOptions, *,
                             clock: Clock | None = None) -> ReplayResult:
    """Try every dead letter of an endpoint once more; what still fails goes back to the file."""
    clock = clock or Clock()
    name = target.endpoint.name
    letters = store.take_dead_letters(name)
    result = ReplayResult(matched=len(letters))
    sem = asyncio.Semaphore(opts.concurrency)
    delivered: set[str] = set()
    updated: dict[str, DeadLetter] = {}

    async def one(d: DeadLetter) -> None:
        async with sem:
            outcome = await attempt_delivery(target, d.webhook_id, bytes(d.payload), clock)
        if outcome.kind == "ok":
            delivered.add(d.webhook_id)
            return
        result.gone = result.gone or outcome.kind == "gone"
        updated[d.webhook_id] = msgspec.structs.replace(
            d, attempts=d.attempts + 1, last_attempt_at=_iso(clock.time()), last_error=outcome.error)

    try:
        await asyncio.gather(*(one(d) for d in letters))
    finally:
        await target.sender.aclose()
        # whatever was not acknowledged goes back, even if this run was interrupted
        still = [updated.get(d.webhook_id, d) for d in letters if d.webhook_id not in delivered]
        store.finish_dead_letter_retry(name, still)
        result.delivered = len(delivered)
        result.dead_lettered = len(still)
    return result
