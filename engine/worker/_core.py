"""Request -> decision: the whole click path, independent of the HTTP server.

``ClickHandler.handle`` takes what a request says (method, path, Host, headers,
client address) and the time, and returns the ``Outcome``: status, response
headers, body, and the click event to log. The Granian app (``_app.py``) and
``smslink explain`` call exactly this code, so what explain prints is what a
worker does.

Order on every click: token shape -> lookup -> retention -> Host -> geo ->
bot verdict -> route (schedule included) -> answer. A failing part degrades
instead of failing the request: a classifier error leaves the click
"unjudged", a routing error answers the campaign's default route; both are
marked in the event's reasons and counted.

Privacy: the event carries the opaque recipient id, never anything else about
the person; the IP is truncated (/24, /48) before it reaches the event; only
``LOGGED_HEADERS`` are kept, and Referer only as scheme://host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol
from urllib.parse import quote

import msgspec

from engine.bots import RequestFacts, compile_policy, default_policy
from engine.clicklog import LOGGED_HEADERS, ClickEvent, EventIds, truncate_ip
from engine.routing import ClickFacts, classify_device, compile_campaign, primary_language
from engine.snapshot import TOKEN_ALPHABET, TOKEN_DECODER, Campaign, Snapshot, Template, TokenRecord

from . import _fastpath
from ._pages import gone_page, not_found_page, preview_page, preview_page_parts

#: Response headers of every redirect: no caching anywhere (each tap must reach
#: us to be counted and routed at that moment), and the token must not leak to
#: the destination in Referer. No cookies, ever.
REDIRECT_HEADERS: tuple[tuple[str, str], ...] = (
    ("cache-control", "private, no-store"),
    ("referrer-policy", "no-referrer"),
)
_PAGE_HEADERS: list[tuple[str, str]] = [
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "private, no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-robots-tag", "noindex"),
    ("x-content-type-options", "nosniff"),
]
#: A prefetch is answered with something no browser keeps or shows, so the real
#: tap still reaches the worker and is counted: Chromium drops a prefetch whose
#: answer is not 2xx, and no-store keeps every cache out of it.
PREFETCH_STATUS = 503
_PREFETCH_HEADERS: list[tuple[str, str]] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
]
_ROBOTS = b"User-agent: *\nDisallow: /\n"
_ROBOTS_HEADERS = [("content-type", "text/plain"), ("cache-control", "public, max-age=86400")]

_TOKEN_RE = re.compile(f"[{re.escape(TOKEN_ALPHABET)}]{{4,32}}")
#: Characters a phone's link detector or a person often glues to the end of a
#: link ("...go.acme.example/Ab3x." at the end of a sentence); none is in the
#: token alphabet, so cutting them never changes a real token.
_TRAILING_JUNK = ".,;:!?)]}>'\"/"
_TRAILING_TUPLE = tuple(_TRAILING_JUNK)
_NO_REASONS: list[str] = []  # shared, never mutated: an empty list is omitted from the line
_LOGGED = frozenset(LOGGED_HEADERS)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}")  # RFC 3986 section 3.1
_IP_CACHE_MAX = 65536
#: The headers the click path reads; a request's "shape" is its values of these.
_SHAPE_NAMES = frozenset((*LOGGED_HEADERS, "user-agent", "host"))
_SHAPE_CACHE_MAX = 4096  # distinct header sets remembered (browsers x languages x ...)
_SHAPE_MAX_CHARS = 4096  # a set whose values add up to more is not remembered
_VERDICTS_PER_SHAPE = 64  # (policy, method, network/timing facts) verdicts remembered per shape


#: ClickEvent's last fields, in order. They depend only on the request's headers
#: and the handler (snapshot, worker), so each header set's encoding of them is
#: made once (``_Shape.tail``) and spliced after the per-click part.
_TAIL_FIELDS = ("ua", "headers", "snapshot", "worker", "v")


def _twin(name: str, fields: list[msgspec.structs.FieldInfo]) -> type[msgspec.Struct]:
    spec = []
    for f in fields:
        if f.default is not msgspec.NODEFAULT:
            default: Any = f.default
        elif f.default_factory is not msgspec.NODEFAULT:
            default = msgspec.field(default_factory=f.default_factory)
        else:  # the few required fields: never empty in an event we write
            default = 0 if f.type is int else ""
        spec.append((f.name, f.type, default))
    return msgspec.defstruct(name, spec, omit_defaults=True, kw_only=False)


def _line_structs() -> tuple[type[msgspec.Struct], type[msgspec.Struct]]:
    """``ClickEvent`` split in two positional twins: the per-click head and the per-header-set tail.

    ``ClickEvent`` is keyword-only (readable for humans); on the hot path 30
    keyword arguments cost more than the rest of the event. The twins have the
    same fields, defaults and order, so head + tail encode to the same line;
    tests/unit/worker/test_worker_core.py checks that they stay in step.
    """
    fields = list(msgspec.structs.fields(ClickEvent))
    names = tuple(f.name for f in fields[-len(_TAIL_FIELDS):])
    if names != _TAIL_FIELDS:  # the schema moved: the splice below would be wrong
        raise RuntimeError(f"ClickEvent must end with {_TAIL_FIELDS}, not {names}")
    return _twin("LogLine", fields[: -len(_TAIL_FIELDS)]), _twin("LogTail", fields[-len(_TAIL_FIELDS):])


#: Positional twins of ClickEvent. LogLine (the head, field order: id ts kind
#: status answer verdict reasons policy token link campaign recipient variant
#: route store store_source dest country region city accuracy_km asn device lang
#: since_send_s method host ip) is built per click; LogTail (ua headers
#: snapshot worker v) once per header set.
LogLine, LogTail = _line_structs()
_encode = msgspec.json.Encoder().encode


def splice_tail(tail: Any) -> bytes:
    """What replaces the head's closing brace: the tail's members, the brace, the newline."""
    enc = _encode(tail)
    return b"}\n" if enc == b"{}" else b"," + enc[1:] + b"\n"


_MAX_UA = 512
_MAX_HEADER = 256


class _Headers(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def items(self) -> Any: ...


class _Geo(Protocol):
    def lookup(self, ip: str) -> Any: ...


class Outcome(msgspec.Struct):
    """What to answer, and what to log."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    event: Any  # a LogLine: the line's head (``line`` adds the tail); None only for /robots.txt
    answer: str  # redirect | preview-page | prefetch | not-found | gone | fallback | robots
    trace: list[Any] | None = None  # routing's trace steps when asked for (explain)
    facts: dict[str, Any] | None = None  # geo, device, ... (explain only)
    tail: bytes = b"}\n"  # ``splice_tail`` of the request's LogTail

    @property
    def line(self) -> bytes | None:
        """The exact log line (newline included): the head's JSON with the tail spliced in."""
        if self.event is None:
            return None
        return _encode(self.event)[:-1] + self.tail

    def click_event(self) -> ClickEvent | None:
        """The event as the public ``ClickEvent`` (what the log line decodes to)."""
        line = self.line
        return None if line is None else msgspec.json.decode(line, type=ClickEvent)


@dataclass(slots=True)
class _Compiled:
    """One campaign, prepared once per snapshot open."""

    record: Campaign
    domains: frozenset[str]
    route: Any  # routing's CompiledCampaign
    classifier: Any  # bots Classifier, or None
    gone: bytes
    preview: tuple[str, str]


class ClickHandler:
    """The click path over one open snapshot. Build once per snapshot; call ``handle`` per request.

    Parameters
    ----------
    snapshot:
        The open snapshot; the handler reads tokens from it and never closes it.
    geo:
        A ``GeoReader`` (or anything with ``lookup(ip) -> Geo | None``), or None.
    fallback_url:
        Where unknown links are redirected instead of the 404 page.
    worker:
        ``"<hostname>:<pid>"`` written in every event.
    ids:
        The process's event id generator (kept across snapshot swaps).
    use_fast:
        Also build ``fast``, the compiled common click, when it is built
        (``_fastpath``); False for a handler that only ever runs ``handle``.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        geo: _Geo | None = None,
        fallback_url: str | None = None,
        worker: str = "",
        ids: EventIds | None = None,
        use_fast: bool = True,
    ) -> None:
        self.snapshot = snapshot
        self.version = snapshot.meta.version
        self.geo = geo
        self.fallback_url = fallback_url
        self.worker = worker
        self.ids = ids or _fastpath.event_ids()
        self.errors = 0  # degraded clicks (classifier or routing raised)
        classifiers: dict[str, Any] = {pid: _classifier(pol) for pid, pol in snapshot.policies.items()}
        if "default" not in classifiers:
            classifiers["default"] = _classifier(default_policy())
        self._orphan_classifier = classifiers.get("default")
        self.campaigns: list[_Compiled] = []
        for c in snapshot.campaigns:
            storeset = snapshot.storesets.get(c.stores.storeset) if c.stores else None
            preview = c.preview
            self.campaigns.append(
                _Compiled(
                    record=c,
                    domains=frozenset(d.lower() for d in c.domains),
                    route=compile_campaign(c, storeset),
                    classifier=classifiers.get(c.bot_policy, self._orphan_classifier),
                    gone=gone_page(c.brand),
                    preview=preview_page_parts(
                        preview.title if preview else c.brand,
                        preview.description if preview else "",
                        preview.image if preview else None,
                    ),
                )
            )
        self._not_found = not_found_page()
        self._shapes: dict[tuple[tuple[str, str], ...], _Shape] = {}
        self._raw_get = snapshot.raw_get
        self._decode_token = TOKEN_DECODER.decode
        self._ip_cache: dict[str, str] = {}
        self._net_cache: dict[str, str] = {}  # "a.b.c" -> "a.b.c.0/24" (or "" when a.b.c is not IPv4)
        self._hosts: dict[str, str] = {}
        #: The compiled common click over these same caches (engine/worker/_fast.c),
        #: or None: ``fast.click(...)`` answers a common click or returns None, and
        #: then ``handle`` decides (and fills the caches for the next one).
        self.fast: Any = self._fast_path() if use_fast else None

    def _fast_path(self) -> Any:
        mod = _fastpath.module()
        if mod is None:
            return None
        fields = msgspec.structs.fields(LogLine)
        return mod.FastPath(
            shapes=self._shapes, shape_names=_SHAPE_NAMES, hosts=self._hosts, raw_get=self._raw_get,
            decode=self._decode_token, campaigns=[_fast_campaign(cc) for cc in self.campaigns],
            geo_lookup=self.geo.lookup if self.geo is not None else None, ids=self.ids,
            net_cache=self._net_cache, ip_fn=partial(_truncate_cached, self._net_cache, self._ip_cache),
            encode=_encode, facts_type=ClickFacts,
            redirect_headers=REDIRECT_HEADERS,
            names=tuple(b'"' + f.encode_name.encode() + b'":' for f in fields),
            # what msgspec's omit_defaults leaves out: the default object itself, or
            # an empty list where the default is a list factory
            defaults=tuple(f.default if f.default is not msgspec.NODEFAULT else [] for f in fields),
            # GeoReader's per-/24 answers, read directly (GeoReader.lookup fills them)
            geo_nets=getattr(self.geo, "_nets", None) if self.geo is not None else None,
        )

    # ------------------------------------------------------------------ hot path
    def handle(
        self,
        method: str,
        path: str,
        host: str | None,
        headers: _Headers | Mapping[str, str],
        client_ip: str,
        now: float,
        *,
        trace: bool = False,
    ) -> Outcome:
        """Decide the answer to one request and build its click event.

        ``headers`` have lower-case names; ``host`` None means the Host header.
        """
        ms = int(now * 1000)
        token = path[1:] if path.startswith("/") else path
        if token.endswith(_TRAILING_TUPLE):
            token = token.rstrip(_TRAILING_JUNK)
        # Everything the headers decide, once per distinct set of the headers we read.
        key = tuple([kv for kv in headers.items() if kv[0] in _SHAPE_NAMES])
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shape(key)
        if host is None:
            host = shape.host
        hostname = self._hosts.get(host)
        if hostname is None:  # a handful of distinct values in real traffic: cache them
            if len(self._hosts) >= 1024:
                self._hosts.clear()
            hostname = self._hosts[host] = _hostname(host)

        # Look up first: a snapshot holds only well-formed tokens, so a hit needs
        # no shape check; the checks below only explain a miss.
        raw = self._raw_get(b"t:" + token.encode()) if token.isascii() and 4 <= len(token) <= 32 else None
        if raw is None:
            if not _TOKEN_RE.fullmatch(token):
                if token == "robots.txt":
                    return Outcome(200, _ROBOTS_HEADERS, _ROBOTS, None, "robots")
                return self._orphan(method, token, hostname, shape, client_ip, ms, "malformed-token")
            return self._orphan(method, token, hostname, shape, client_ip, ms, "unknown-token")
        rec = self._decode_token(raw)
        cc = self.campaigns[rec.campaign]
        camp = cc.record
        if camp.retain_until is not None and now >= camp.retain_until:
            return self._orphan(method, token, hostname, shape, client_ip, ms, "retention-ended")
        if hostname not in cc.domains:
            return self._orphan(method, token, hostname, shape, client_ip, ms, "host-mismatch")

        geo = self.geo.lookup(client_ip) if self.geo is not None and client_ip else None
        since = (now - camp.send_at) if camp.send_at is not None else None
        verdict, reasons, policy, answer = self._judge(cc, shape, method, client_ip, geo, since)
        event_id = self.ids.new(ms)
        try:
            d = cc.route.resolve(rec, ClickFacts(now, geo, shape.ua, shape.lang_header, event_id, shape.prepared),
                                 trace=trace)
        except Exception:
            self.errors += 1
            d = _fallback_decision(camp, rec, now)
            d.route = "error"
        if d.status == 410 or d.url is None:
            answer, status, hdrs, body, dest = "gone", 410, _PAGE_HEADERS, cc.gone, None
        else:
            dest = d.url
            if answer == "preview-page":
                status, hdrs, body = 200, _PAGE_HEADERS, preview_page(cc.preview, dest)
            elif answer == "prefetch":
                status, hdrs, body = PREFETCH_STATUS, _PREFETCH_HEADERS, b""
            else:
                answer, status, body = "redirect", 302, b""
                hdrs = [("location", dest), *REDIRECT_HEADERS]
        if d.route == "error":
            reasons = (*reasons, "routing-error")
        if geo is None:
            country = region = city = accuracy = asn = None
        else:
            country, region, city, accuracy, asn = geo.country, geo.region, geo.city, geo.accuracy_km, geo.asn
        ev = LogLine(
            event_id, ms, "click", status, answer, verdict, reasons, policy, token,
            "recipient" if rec.recipient else "campaign", camp.id, rec.recipient or None,
            d.variant, d.route, d.store, d.store_source, dest, country, region, city, accuracy,
            asn, d.device, d.lang, round(since, 3) if since is not None else None,
            method, hostname, self._ip(client_ip),
        )
        if trace:
            facts = {"geo": geo, "device": d.device, "lang": d.lang, "since_send_s": since}
            return Outcome(status, hdrs, body, ev, answer, d.trace, facts, shape.tail)
        return Outcome(status, hdrs, body, ev, answer, None, None, shape.tail)

    # ------------------------------------------------------------------ parts
    def _shape(self, key: tuple[tuple[str, str], ...]) -> _Shape:
        """Build (and cache) what a header set decides; ``key`` is the headers we read, in order."""
        logged, ua, host = _scan_headers(key)
        lang_header = logged.get("accept-language", "")
        tail = splice_tail(LogTail(ua, logged, self.version, self.worker))
        shape = _Shape(logged, ua, host or "", lang_header,
                       (classify_device(ua), primary_language(lang_header)), tail)
        # A browser's set is about a kilobyte; a client padding headers to many
        # kilobytes is answered alike but not remembered (the key holds the raw
        # values: 4,096 of them must not cost gigabytes).
        if sum(len(v) for _, v in key) <= _SHAPE_MAX_CHARS:
            if len(self._shapes) >= _SHAPE_CACHE_MAX:
                self._shapes.clear()
            self._shapes[key] = shape
        return shape

    def _ip(self, client_ip: str) -> str:
        """``truncate_ip``, cached: per /24 for dotted-quad IPv4 (its answer depends only on the
        first three octets once the last is valid), per address otherwise."""
        return _truncate_cached(self._net_cache, self._ip_cache, client_ip)

    def _judge(
        self, cc: _Compiled, shape: _Shape, method: str, client_ip: str, geo: Any, since: float | None,
    ) -> tuple[str, Sequence[str], str | None, str]:
        cls = cc.classifier
        if cls is None:
            return "unjudged", _NO_REASONS, None, "redirect"
        try:
            asn = geo.asn if geo is not None else None
            # The verdict is a function of the method, the headers (the shape)
            # and what the policy's network and timing signals say: remember it
            # per shape under the latter.
            key = (cls, method, cls.dynamic_key(asn, client_ip or None, since))
            hit = shape.verdicts.get(key)
            if hit is None:
                # The classifier sees exactly the headers the log keeps, so a
                # re-judge of the log reaches the verdict the worker reached.
                v = cls.classify(RequestFacts(method, shape.ua, shape.logged, client_ip or None, asn, since))
                hit = (v.verdict, v.reasons or _NO_REASONS, cls.policy_ref, cls.answer(v))
                if len(method) <= 16:  # a made-up long method is judged, not remembered
                    if len(shape.verdicts) >= _VERDICTS_PER_SHAPE:
                        shape.verdicts.clear()
                    shape.verdicts[key] = hit
            return hit
        except Exception:
            self.errors += 1
            return "unjudged", ("classifier-error",), cls.policy_ref, "redirect"

    def _orphan(
        self, method: str, token: str, host: str, shape: _Shape, client_ip: str, ms: int, why: str,
    ) -> Outcome:
        verdict, reasons, policy = "unjudged", [], None
        cls = self._orphan_classifier
        if cls is not None:
            try:
                v = cls.classify(RequestFacts(method, shape.ua, shape.logged, client_ip or None, None, None))
                verdict, reasons, policy = v.verdict, list(v.reasons), cls.policy_ref
            except Exception:
                self.errors += 1
        if self.fallback_url:
            status, hdrs, body, answer = 302, [("location", self.fallback_url), *REDIRECT_HEADERS], b"", "fallback"
        else:
            status, hdrs, body, answer = 404, _PAGE_HEADERS, self._not_found, "not-found"
        ev = LogLine(
            self.ids.new(ms), ms, "orphan", status, answer, verdict, reasons, policy,
            _printable(token[:64]), None, None, None, None, why, None, None, self.fallback_url,
            None, None, None, None, None, None, None, None,
            method, host, self._ip(client_ip),
        )
        return Outcome(status, hdrs, body, ev, answer, None, None, shape.tail)


class _Shape:
    """What one set of request headers decides: the same for every request that sends it.

    ``logged`` is shared by every request with this shape: never mutate it.
    """

    __slots__ = ("host", "lang_header", "logged", "prepared", "tail", "ua", "verdicts")

    def __init__(self, logged: dict[str, str], ua: str, host: str, lang_header: str,
                 prepared: tuple[str, str | None], tail: bytes) -> None:
        self.logged = logged
        self.ua = ua
        self.host = host
        self.lang_header = lang_header
        self.prepared = prepared  # (device class, primary language) for routing
        self.tail = tail  # splice_tail(LogTail(ua, logged, snapshot, worker))
        self.verdicts: dict[tuple[Any, str, tuple[Any, ...]], tuple[str, Sequence[str], str | None, str]] = {}


# ---------------------------------------------------------------------- helpers
def _fast_campaign(cc: _Compiled) -> tuple[Any, ...]:
    """What the compiled path reads of one campaign (the tuple layout of _fast.c's C_* and P_*)."""
    camp, route = cc.record, cc.route
    plain = None
    if route.plain:  # CompiledCampaign._resolve_plain's inputs
        plain = (route.retired, _float(route.ends_at), _float(route.starts_at), route.expired,
                 route.not_yet_live, route.default, tuple(route.arms))
    dynamic = cc.classifier.simple_dynamic() if cc.classifier is not None else None
    # rule-evaluated campaigns: what reading CompiledCampaign's decision memo takes
    memo = None if route.plain else (route._memo_state, route._memo, len(route.arms), route._reads_attrs)
    return (_float(camp.retain_until), cc.domains, _float(camp.send_at), cc.classifier, route.resolve,
            plain, camp.id, dynamic, memo)


def _truncate_cached(net_cache: dict[str, str], ip_cache: dict[str, str], client_ip: str) -> str:
    """``ClickHandler._ip`` over its two caches (a function, so the compiled path can hold it
    without a reference back to the handler: no cycle for the collector to find)."""
    pre, dot, last = client_ip.rpartition(".")
    if dot and last.isascii() and last.isdigit() and len(last) <= 3 and int(last) <= 255 and ":" not in pre:
        ip = net_cache.get(pre)
        if ip is None:
            if len(net_cache) >= _IP_CACHE_MAX:
                net_cache.clear()
            ip = net_cache[pre] = truncate_ip(pre + ".0")
        return ip
    ip = ip_cache.get(client_ip)
    if ip is None:
        if len(ip_cache) >= _IP_CACHE_MAX:
            ip_cache.clear()
        ip = ip_cache[client_ip] = truncate_ip(client_ip) if client_ip else ""
    return ip


def _float(t: float | None) -> float | None:
    return None if t is None else float(t)


_CLASSIFIERS: dict[tuple[str, str], Any] = {}


def _classifier(policy: Any) -> Any:
    """A compiled policy, reused across snapshot swaps while its version is the same.

    Compiling the crawler pattern lists takes a good fraction of a second and
    the per-agent cache warms with traffic, so a reload that keeps the
    policy keeps both.
    """
    key = (policy.id, policy.version)
    cls = _CLASSIFIERS.get(key)
    if cls is None:
        if len(_CLASSIFIERS) >= 16:
            _CLASSIFIERS.clear()
        cls = _CLASSIFIERS[key] = compile_policy(policy)
    return cls


def _scan_headers(items: Iterable[tuple[str, str]]) -> tuple[dict[str, str], str, str | None]:
    """One pass over the request's headers: (logged headers, user agent, Host).

    Logged headers are the whitelist, each cut to 256 characters, Referer
    reduced to scheme://host. Names are lower-case (HTTP/2, Granian).
    """
    out: dict[str, str] = {}
    ua = ""
    host = None
    for name, value in items:
        if name in _LOGGED:
            if value:
                out[name] = value if len(value) <= _MAX_HEADER else value[:_MAX_HEADER]
        elif name == "user-agent":
            ua = value if len(value) <= _MAX_UA else value[:_MAX_UA]
        elif name == "host":
            host = value
    ref = out.get("referer")
    if ref is not None:
        origin = _origin(ref)
        if origin:
            out["referer"] = origin
        else:
            del out["referer"]
    return out, ua, host


def _hostname(host: str) -> str:
    """Host header -> lower-case name without the port ("[::1]:80" -> "[::1]")."""
    if host.endswith("]") or ":" not in host:
        return host.lower()
    return host.rsplit(":", 1)[0].lower()


def _origin(url: str) -> str:
    """scheme://host of a URL (userinfo, port, path, query and fragment dropped)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME_RE.fullmatch(scheme):
        return ""
    for stop in "/?#":
        rest = rest.split(stop, 1)[0]
    host = rest.rsplit("@", 1)[-1]
    host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
    return f"{scheme.lower()}://{host.lower()}" if host else ""


def _printable(text: str) -> str:
    """A logged attempted token: printable characters only (hostile paths are logged, not replayed)."""
    return text if text.isprintable() else "".join(ch if ch.isprintable() else "?" for ch in text)


class _FallbackDecision(msgspec.Struct):
    """The shape of routing's Decision, for the default-route answer."""

    status: int
    url: str | None
    route: str
    variant: str | None = None
    store: str | None = None
    store_source: str | None = None
    device: str = "unknown"
    lang: str | None = None
    trace: list[Any] | None = None


def _fallback_decision(c: Campaign, rec: TokenRecord, now: float) -> _FallbackDecision:
    """Schedule + default route, for when routing raised (a bug; the click still gets an answer)."""
    variant = c.variants[rec.variant].name if 0 <= rec.variant < len(c.variants) else None
    if c.starts_at is not None and now < c.starts_at and c.not_yet_live is not None:
        return _FallbackDecision(302, _render(c.not_yet_live, c, rec, variant, "not-yet-live"), "not-yet-live", variant)
    if c.ends_at is not None and now >= c.ends_at:
        if c.expired is None:
            return _FallbackDecision(410, None, "expired", variant)
        return _FallbackDecision(302, _render(c.expired, c, rec, variant, "expired"), "expired", variant)
    return _FallbackDecision(302, _render(c.default, c, rec, variant, "default"), "default", variant)


def _render(t: Template, c: Campaign, rec: TokenRecord, variant: str | None, route: str) -> str:
    out = [t.literals[0]]
    for slot, lit in zip(t.slots, t.literals[1:], strict=False):
        value = ""
        if slot == "variant":
            value = variant or ""
        elif slot == "route":
            value = route
        elif slot.startswith("attr."):
            name = slot[5:]
            if name in c.attr_names:
                i = c.attr_names.index(name)
                value = rec.attrs[i] if i < len(rec.attrs) else ""
        out.append(quote(value, safe=""))
        out.append(lit)
    return "".join(out)
