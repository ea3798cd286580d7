"""Click-time routing: a campaign compiled once per snapshot load, resolved per click.

``compile_campaign`` turns a snapshot ``Campaign`` into plain Python objects
(condition objects, template parts, zone clocks, a store locator); ``resolve``
walks the rules in order, first match wins, and fills the destination's slots.
Facts are computed lazily and at most once per click (device, language, local
time, chosen store, variant), so a rule that does not ask for a fact does not
pay for it.

The same ``resolve`` serves the worker and ``smslink explain``: with
``trace=True`` it also records, for every rule tried, whether it matched and
the facts each condition used.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from engine.snapshot import Campaign, Dates, Rule, Store, StoreSet, Template, TokenRecord

from ._clock import LocalClock, clock_for, open_at
from ._conditions import _Cond, compile_condition, hhmm
from ._facts import ClickFacts, device_and_language
from ._stores import StoreLocator, locate
from ._variants import cumulative_weights, pick_arm, variant_point

#: Distinct click locations whose nearest store is remembered per campaign.
#: A geolocation database has a bounded set of distinct points (city centroids),
#: so repeated clicks from one place cost one dictionary lookup.
NEAREST_CACHE_SIZE = 65536
MEMO_SIZE = 16384  # remembered decisions per campaign (emptied every UTC minute)


def minute_stable(clock: LocalClock, now: float) -> bool:
    """Whether ``clock``'s local minute moves in step with UTC's during the minute holding ``now``."""
    start = int(now // 60) * 60
    off = clock.offset(start)
    return off % 60 == 0 and clock.offset(start + 59) == off


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of a decision, for explain and tests.

    ``kind`` is ``schedule``, ``store``, ``variant``, ``rule`` or ``default``;
    ``name`` the rule id (or the step's subject); ``reasons`` one line per fact
    or condition, each starting with ``+`` (held) or ``-`` (did not hold) for
    conditions.
    """

    kind: str
    name: str
    matched: bool
    reasons: tuple[str, ...] = ()
    line: int = 0


class Decision(msgspec.Struct):
    """Where a click goes, and why. (A Struct: one is built per click, in C.)"""

    status: int  # 302, or 410 when expired with no expired destination
    url: str | None
    route: str  # rule id | "default" | "not-yet-live" | "expired"
    variant: str | None  # arm name when the campaign has variants
    store: str | None  # chosen store id when the campaign has a store policy and one was found
    store_source: str | None  # "home" | "ip"
    device: str  # ios | android | mobile | desktop | unknown
    lang: str | None  # preferred language, e.g. "fr-CA"
    trace: list[TraceStep] | None  # with resolve(trace=True)


@lru_cache(maxsize=16384)
def _q(value: str) -> str:
    # Slot values are quoted as one URL component: "/" "?" "&" "#" never
    # change the shape of the destination.
    return quote(value, safe="")


class _CompiledTemplate:
    """A ``Template`` with its slots resolved to getters; a constant when slot-free."""

    __slots__ = ("const", "memo", "parts", "tail", "uses_store")

    def __init__(self, tmpl: Template, attr_names: list[str]) -> None:
        self.uses_store = any(s.startswith("store.") for s in tmpl.slots)
        # A template whose slots name only the variant and the route has a handful
        # of possible answers: remember them (store and attribute slots vary per click).
        self.memo: dict[tuple[str | None, str], str] | None = (
            {} if not any(s.startswith(("store.", "attr.")) for s in tmpl.slots) else None
        )
        if not tmpl.slots:
            self.const: str | None = "".join(tmpl.literals)
            self.parts: list[tuple[str, str, Any]] = []
            self.tail = ""
            return
        self.const = None
        parts: list[tuple[str, str, Any]] = []
        for lit, slot in zip(tmpl.literals, tmpl.slots, strict=False):
            kind, _, arg = slot.partition(".")
            if kind == "attr":
                parts.append((lit, "attr", attr_names.index(arg) if arg in attr_names else -1))
            elif kind == "store":
                parts.append((lit, "store", arg))
            else:
                parts.append((lit, kind, None))
        self.parts = parts
        self.tail = tmpl.literals[len(tmpl.slots)] if len(tmpl.literals) > len(tmpl.slots) else ""

    def render(self, ev: Evaluation, route: str) -> str:
        if self.memo is not None:  # slot-free (const) templates included
            return self.render_plain(ev.variant, route)
        return self._render(ev.variant, route, ev)

    def render_plain(self, variant: str | None, route: str) -> str:
        """``render`` for a template without store or attribute slots (``memo`` is not None)."""
        if self.const is not None:
            return self.const
        memo = self.memo
        key = (variant, route)
        url = memo.get(key)  # type: ignore[union-attr]
        if url is None:
            if len(memo) >= 1024:  # type: ignore[arg-type]
                memo.clear()  # type: ignore[union-attr]
            url = memo[key] = self._render(variant, route, None)  # type: ignore[index]
        return url

    def _render(self, variant: str | None, route: str, ev: Evaluation | None) -> str:
        """The URL; ``ev`` is only read for store and attribute slots (None when there are none)."""
        out = []
        for lit, kind, arg in self.parts:
            out.append(lit)
            if kind == "variant":
                if variant is not None:
                    out.append(_q(variant))
            elif kind == "route":
                out.append(_q(route))
            elif kind == "store" and ev is not None:
                i = ev.store()
                if i >= 0:
                    out.append(ev.cc.store_values(i).get(arg, ""))
            elif kind == "attr" and ev is not None:
                attrs = ev.record.attrs
                if 0 <= arg < len(attrs):
                    out.append(_q(attrs[arg]))
            # a slot this engine does not know renders empty
        out.append(self.tail)
        return "".join(out)


class _CompiledRule:
    __slots__ = ("closed", "conds", "id", "line", "rule", "to")

    def __init__(self, rule: Rule, attr_names: list[str]) -> None:
        self.rule = rule
        self.id = rule.id
        self.line = rule.line
        self.conds: tuple[_Cond, ...] = tuple(compile_condition(c, attr_names) for c in rule.when)
        self.to = _CompiledTemplate(rule.to, attr_names)
        self.closed = _CompiledTemplate(rule.closed, attr_names) if rule.closed is not None else None


class Evaluation:
    """One click being routed: the facts, each computed at most once.

    Device, language and variant are always reported, so they are computed up
    front; the chosen store and the local time only when a rule asks.
    """

    __slots__ = (
        "_local", "_store", "cc", "device", "facts", "lang", "record", "stable", "store_km", "store_notes",
        "store_source", "variant", "zone_name", "zone_source",
    )

    def __init__(self, cc: CompiledCampaign, record: TokenRecord, facts: ClickFacts) -> None:
        self.cc = cc
        self.record = record
        self.facts = facts
        self.device, self.lang = device_and_language(facts)
        self.variant: str | None = cc.variant_of(record, facts)
        self._local: tuple[int, int] | None = None
        self._store = -2  # -2: not chosen yet, -1: none
        self.store_source: str | None = None
        self.store_km: float | None = None
        self.store_notes: list[str] | None = None
        self.zone_name = ""
        self.zone_source = ""
        # False once a local clock read here could change inside this UTC minute
        # (an offset that is not whole minutes, or changes during the minute)
        self.stable = True

    def store(self) -> int:
        if self._store == -2:
            self.cc.choose_store(self)
        return self._store

    def store_record(self) -> Store | None:
        i = self.store()
        return self.cc.stores[i] if i >= 0 else None

    def local(self) -> tuple[int, int]:
        loc = self._local
        if loc is None:
            clock, self.zone_name, self.zone_source = self.cc.zone_for(self)
            loc = self._local = clock.local(self.facts.now)
            if not minute_stable(clock, self.facts.now):
                self.stable = False
        return loc

    def store_is_open(self) -> bool:
        i = self._store
        if i == -2:
            i = self.store()
        if i < 0:
            return False
        is_open = self.cc.store_open(i, self.facts.now)
        if i not in self.cc._open_now:  # not remembered: its clock is not stable this minute
            self.stable = False
        return is_open

    def describe_store(self) -> str:
        store = self.store_record()
        if store is None:
            return "no store chosen (" + "; ".join(self.store_notes or ["no store policy"]) + ")"
        how = "home store from the audience" if self.store_source == "home" else (
            f"nearest to the click, {self.store_km:.1f} km" if self.store_km is not None else "nearest to the click"
        )
        return f"store {store.id} ({how})"

    def describe_hours(self) -> str:
        store = self.store_record()
        if store is None:
            return "no store"
        minute, weekday = self.cc.store_clock(self._store).local(self.facts.now)
        day = ("", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[weekday]
        if not store.hours:
            return "no opening hours known (treated as open)"
        today = store.hours[weekday - 1] if len(store.hours) == 7 else []
        spans = ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in today) or "closed"
        state = "open" if open_at(store.hours, minute, weekday) else "closed"
        zone = store.timezone if clock_for(store.timezone) is not None else self.cc.campaign.timezone
        return f"{day} {hhmm(minute)} in {zone}: {state} (today {spans})"


class CompiledCampaign:
    """A campaign ready for clicks. Build with ``compile_campaign``.

    Nothing changes after construction but bounded caches (nearest store per
    location, quoted store fields, store clocks), which only ever hold what a
    fresh computation would give.
    """

    def __init__(self, campaign: Campaign, storeset: StoreSet | None) -> None:
        self.campaign = campaign
        attr_names = list(campaign.attr_names)
        self.rules = [_CompiledRule(r, attr_names) for r in campaign.routes]
        self.default = _CompiledTemplate(campaign.default, attr_names)
        self.not_yet_live = (
            _CompiledTemplate(campaign.not_yet_live, attr_names) if campaign.not_yet_live else None
        )
        self.expired = _CompiledTemplate(campaign.expired, attr_names) if campaign.expired else None
        self.starts_at = campaign.starts_at
        self.ends_at = campaign.ends_at
        self.retired = campaign.retired
        self.policy = campaign.stores if storeset is not None else None
        self.stores: list[Store] = list(storeset.stores) if storeset is not None and campaign.stores else []
        self.locator: StoreLocator | None = (
            locate(storeset) if storeset is not None and campaign.stores else None
        )
        self.order = tuple(self.policy.order) if self.policy is not None else ()
        self._nearest: dict[tuple[float, float], tuple[int, float] | None] = {}
        self._store_clocks: list[LocalClock | None] = [None] * len(self.stores)
        self._store_values: list[dict[str, str] | None] = [None] * len(self.stores)
        self._store_zones: list[LocalClock | Literal[False] | None] = [None] * len(self.stores)  # False: unknown
        self._open_minute = -1  # the UTC minute _open_now is about
        self._open_now: dict[int, bool] = {}  # store index -> open during _open_minute
        self.arms = [a.name for a in campaign.variants]
        self.bounds = cumulative_weights(campaign.variants)
        self.experiment = campaign.experiment
        # zone table: recipient zones, the campaign's own zone
        self.zone_clocks: list[LocalClock | None] = [clock_for(z) for z in campaign.zones]
        self.campaign_clock = clock_for(campaign.timezone) or clock_for("UTC")
        self.has_policy = self.locator is not None
        # No rules and no store list: every click is the schedule, the variant and
        # one template (``_resolve_plain``, which a property test holds equal to
        # the general path).
        self.plain = not self.rules and not self.has_policy
        # Decisions remembered for the current UTC minute (see ``_memo_key``).
        edges = {t for t in (campaign.starts_at, campaign.ends_at) if t is not None}
        for rule in campaign.routes:
            for c in rule.when:
                if isinstance(c, Dates):
                    edges.update(t for t in (c.after, c.before) if t is not None)
        self._time_edges = sorted(edges)  # instants where a decision can change mid-minute
        self._reads_attrs = bool(campaign.attr_names)
        # key -> (geo, decision, the decision's fields as a tuple); one dict for the
        # campaign's life (emptied, never replaced), [UTC minute, remembering allowed]
        self._memo: dict[tuple[Any, ...], tuple[Any, Decision, tuple[Any, ...]]] = {}
        self._memo_state: list[Any] = [-1, False]

    # ---------------------------------------------------------------- facts
    def variant_of(self, record: TokenRecord, facts: ClickFacts) -> str | None:
        if not self.arms:
            return None
        if 0 <= record.variant < len(self.arms):
            return self.arms[record.variant]
        if not record.recipient:
            # campaign-level link: split per click, by its random id
            i = pick_arm(variant_point(facts.click_id, self.experiment), self.bounds)
            return self.arms[i] if i >= 0 else None
        return None

    def choose_store(self, ev: Evaluation) -> None:
        ev._store = -1
        notes: list[str] | None = [] if ev.store_notes is not None else None
        policy = self.policy
        if policy is None or self.locator is None:
            if notes is not None:
                notes.append("the campaign has no store list")
                ev.store_notes = notes
            return
        for source in self.order:
            if source == "home":
                i = ev.record.store
                if 0 <= i < len(self.stores):
                    ev._store, ev.store_source = i, "home"
                    break
                if notes is not None:
                    notes.append("home: the recipient has no home store")
            elif source == "ip":
                g = ev.facts.geo
                if g is None or g.lat is None or g.lon is None:
                    if notes is not None:
                        notes.append("ip: no location for this IP")
                    continue
                if g.accuracy_km is None or g.accuracy_km > policy.max_accuracy_km:
                    if notes is not None:
                        acc = "unknown" if g.accuracy_km is None else f"{g.accuracy_km} km"
                        notes.append(f"ip: location too vague (accuracy {acc}, allowed {policy.max_accuracy_km:g} km)")
                    continue
                key = (g.lat, g.lon)
                cache = self._nearest
                if key in cache:
                    found = cache[key]
                else:
                    found = self.locator.nearest(g.lat, g.lon, policy.max_km)
                    if len(cache) >= NEAREST_CACHE_SIZE:
                        cache.clear()
                    cache[key] = found
                if found is not None:
                    ev._store, ev.store_km = found
                    ev.store_source = "ip"
                    break
                if notes is not None:
                    notes.append(f"ip: no store within {policy.max_km:g} km")
        if notes is not None:
            ev.store_notes = notes

    def store_clock(self, index: int) -> LocalClock:
        clock = self._store_clocks[index]
        if clock is None:
            clock = self._store_clocks[index] = clock_for(self.stores[index].timezone) or self.campaign_clock
        return clock  # type: ignore[return-value]

    def store_open(self, index: int, now: float) -> bool:
        """Whether store ``index`` is open at ``now``, remembered for the rest of this UTC minute.

        Opening hours are minutes of the local day, so the answer can only
        change when the local minute does: with a whole-minute UTC offset and
        no offset change inside the minute, that is at the next UTC minute.
        Otherwise (historical odd offsets, a transition inside the minute) it
        is computed for each click.
        """
        m = int(now // 60)
        if m != self._open_minute:
            self._open_minute = m
            self._open_now = {}
        hit = self._open_now.get(index)
        if hit is None:
            clock = self.store_clock(index)
            minute, weekday = clock.local(now)
            hit = open_at(self.stores[index].hours, minute, weekday)
            if minute_stable(clock, now):
                self._open_now[index] = hit
        return hit

    def store_zone_clock(self, index: int) -> LocalClock | None:
        """``clock_for`` the store's own zone (None when unknown), looked up once per store."""
        clock = self._store_zones[index]
        if clock is None:
            clock = self._store_zones[index] = clock_for(self.stores[index].timezone) or False
        return clock if isinstance(clock, LocalClock) else None

    def store_values(self, index: int) -> dict[str, str]:
        """The store's slot values (id, name, URL fields), URL-quoted once."""
        vals = self._store_values[index]
        if vals is None:
            st = self.stores[index]
            vals = {k: _q(v) for k, v in st.fields.items()}
            vals["id"] = _q(st.id)
            vals["name"] = _q(st.name)
            self._store_values[index] = vals
        return vals

    def zone_for(self, ev: Evaluation) -> tuple[LocalClock, str, str]:
        # Precedence: the recipient's zone (audience) > the chosen store's >
        # the geolocation's > the campaign's. An unknown zone name is skipped.
        z = ev.record.zone
        if 0 <= z < len(self.zone_clocks):
            clock = self.zone_clocks[z]
            if clock is not None:
                return clock, self.campaign.zones[z], "recipient"
        if self.has_policy:
            i = ev.store()
            if i >= 0:
                clock = self.store_zone_clock(i)
                if clock is not None:
                    return clock, self.stores[i].timezone, "store"
        g = ev.facts.geo
        if g is not None and g.timezone:
            clock = clock_for(g.timezone)
            if clock is not None:
                return clock, g.timezone, "geolocation"
        return self.campaign_clock, self.campaign.timezone, "campaign"  # type: ignore[return-value]

    # -------------------------------------------------------------- resolve
    def resolve(self, record: TokenRecord, facts: ClickFacts, *, trace: bool = False) -> Decision:
        """Route one click.

        Parameters
        ----------
        record:
            The token's record (its ``campaign`` is this campaign).
        facts:
            The click's facts.
        trace:
            Also return every step tried and the facts used (explain, tests).

        Returns
        -------
        Decision
            Status, destination and route; never raises for any facts.
        """
        if self.plain and not trace:
            return self._resolve_plain(record, facts)
        key = None if trace else self._memo_key(record, facts)
        if key is not None:
            hit = self._memo.get(key)
            if hit is not None and hit[0] is facts.geo:
                return hit[1]
        ev = Evaluation(self, record, facts)
        steps: list[TraceStep] | None = [] if trace else None
        if steps is not None:
            ev.store_notes = []
        now = facts.now
        tmpl: _CompiledTemplate | None
        if self.retired or (self.ends_at is not None and now >= self.ends_at):
            route, tmpl = "expired", self.expired
            if steps is not None:
                why = "the campaign was removed from config" if self.retired else f"ended at {_iso(self.ends_at)}"
                steps.append(TraceStep("schedule", "expired", True, (f"{why}; click at {_iso(now)}",)))
        elif self.starts_at is not None and now < self.starts_at:
            route, tmpl = "not-yet-live", self.not_yet_live or self.default
            if steps is not None:
                steps.append(TraceStep("schedule", "not-yet-live", True, (
                    f"starts at {_iso(self.starts_at)}; click at {_iso(now)}",
                    "not-yet-live page" if self.not_yet_live else "no not-yet-live page: the default answers",
                )))
        else:
            if steps is not None:
                steps.append(TraceStep("schedule", "live", True, (f"click at {_iso(now)}",)))
            route, tmpl = "default", self.default
            for rule in self.rules:
                if steps is None:
                    for cond in rule.conds:
                        if not cond.test(ev):
                            break
                    else:
                        if rule.closed is None:
                            route, tmpl = rule.id, rule.to
                            break
                        i = ev._store
                        if i == -2:
                            i = ev.store()
                        if i >= 0:
                            route = rule.id
                            tmpl = rule.to if ev.store_is_open() else rule.closed
                            break
                else:
                    matched, chosen = self._trace_rule(rule, ev, steps)
                    if matched:
                        route, tmpl = rule.id, chosen
                        break
            else:
                if steps is not None:
                    steps.append(TraceStep("default", "default", True, ("no rule matched",)))
        if tmpl is None:
            url, status = None, 410
        else:
            url, status = tmpl.render(ev, route), 302
        store_id = None
        if self.has_policy:
            i = ev._store
            if i == -2:
                i = ev.store()
            if i >= 0:
                store_id = self.stores[i].id
        variant = ev.variant
        if steps is not None:
            if self.has_policy:
                steps.insert(1, TraceStep("store", store_id or "none", store_id is not None, (ev.describe_store(),)))
            if self.arms:
                how = "assigned at compile time" if 0 <= record.variant < len(self.arms) else (
                    "split per click (campaign-level link)" if not record.recipient else "no variant assigned")
                steps.append(TraceStep("variant", variant or "none", variant is not None, (
                    f"experiment {self.experiment!r}: {how}",)))
        # positional: keyword arguments cost more than the rest of this block
        d = Decision(
            status, url, route, variant, store_id, ev.store_source if store_id is not None else None,
            ev.device, ev.lang, steps,
        )
        if key is not None and ev.stable:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            # the geo object kept: its id in the key is never reused
            self._memo[key] = (facts.geo, d, (status, url, route, variant, d.store, d.store_source, d.device, d.lang))
        return d

    def _memo_key(self, record: TokenRecord, facts: ClickFacts) -> tuple[Any, ...] | None:
        """What a decision depends on besides the time, or None when it must not be remembered.

        A rule-evaluated decision reads the click's time only through the
        schedule, date ranges (instants) and local clocks (minutes), so within
        one UTC minute it is a function of the geolocation, the record's
        variant, home store, zone and attributes, the device and the language,
        unless an instant falls inside the minute (then nothing is remembered
        for that minute) or a clock read is not minute-stable (that decision is
        not remembered: ``Evaluation.stable``). A campaign-level link split per
        click is never remembered. The memo is emptied when the minute changes.
        tests/unit/routing/test_decision_memo.py holds remembered decisions
        equal to fresh ones. The worker's compiled click path
        (engine/worker/_fast.c, ``remembered``) reads ``_memo_state`` and
        ``_memo`` (the objects, taken once) and builds this same key: change both
        together (tests/unit/worker/test_fast_path.py compares them).
        """
        m = int(facts.now // 60)
        state = self._memo_state
        if m != state[0]:
            state[0] = m
            self._memo.clear()
            start = m * 60
            i = bisect_right(self._time_edges, start)
            state[1] = i >= len(self._time_edges) or self._time_edges[i] >= start + 60
        if not state[1]:
            return None
        if self.arms and not 0 <= record.variant < len(self.arms) and not record.recipient:
            return None
        device, lang = device_and_language(facts)
        return (id(facts.geo), record.variant, record.store, record.zone,
                tuple(record.attrs) if self._reads_attrs else None, device, lang)

    def _resolve_plain(self, record: TokenRecord, facts: ClickFacts) -> Decision:
        """``resolve`` without rules or stores: no ``Evaluation`` unless an attribute slot needs one."""
        now = facts.now
        tmpl: _CompiledTemplate | None
        if self.retired or (self.ends_at is not None and now >= self.ends_at):
            route, tmpl = "expired", self.expired
        elif self.starts_at is not None and now < self.starts_at:
            route, tmpl = "not-yet-live", self.not_yet_live or self.default
        else:
            route, tmpl = "default", self.default
        variant = self.variant_of(record, facts)
        device, lang = device_and_language(facts)
        if tmpl is None:
            return Decision(410, None, route, variant, None, None, device, lang, None)
        if tmpl.memo is not None:
            url = tmpl.render_plain(variant, route)
        else:
            url = tmpl.render(Evaluation(self, record, facts), route)
        return Decision(302, url, route, variant, None, None, device, lang, None)

    def _trace_rule(
        self, rule: _CompiledRule, ev: Evaluation, steps: list[TraceStep]
    ) -> tuple[bool, _CompiledTemplate | None]:
        reasons = []
        ok = True
        for cond in rule.conds:
            held = cond.test(ev)
            ok = ok and held
            reasons.append(("+ " if held else "- ") + cond.why(ev))
        chosen: _CompiledTemplate | None = rule.to
        if ok and rule.closed is not None:
            if ev.store() < 0:
                ok = False
                reasons.append("- needs a store for open/closed: " + ev.describe_store())
            else:
                is_open = ev.store_is_open()
                chosen = rule.to if is_open else rule.closed
                reasons.append(f"+ {ev.describe_store()}: {ev.describe_hours()} -> {'open' if is_open else 'closed'} destination")
        if not rule.conds and rule.closed is None:
            reasons.append("+ no conditions")
        steps.append(TraceStep("rule", rule.id, ok, tuple(reasons), rule.line))
        return ok, chosen


def _iso(t: float | None) -> str:
    return "never" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compile_campaign(campaign: Campaign, storeset: StoreSet | None) -> CompiledCampaign:
    """Prepare a campaign for clicks (once per snapshot load).

    Parameters
    ----------
    campaign:
        The snapshot record.
    storeset:
        The store set named by ``campaign.stores`` (None when the campaign has
        no store policy, or the set is missing: then no store is ever chosen).

    Returns
    -------
    CompiledCampaign
        Its ``resolve(record, facts, trace=False)`` routes one click.

    Raises
    ------
    TypeError
        A condition kind this engine does not know (a newer snapshot).
    """
    return CompiledCampaign(campaign, storeset)


