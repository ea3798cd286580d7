"""The snapshot records: what the compiler writes and the worker reads.

Every record is a msgspec ``Struct`` encoded as MessagePack. The compiler and
the worker agree on the format by importing these classes, never by convention.
Nothing here knows about YAML; ``spec`` classes describe what authors write,
these describe what the worker reads.

Schema evolution (docs/snapshot-format.md): adding a field *with a default at the
end of a struct* is a minor change (bump ``FORMAT_MINOR``); removing, renaming,
reordering or retyping a field is a major change (bump ``FORMAT_MAJOR``, add a
compat fixture under tests/compat/). Array-like structs are positional, so the
order of their fields is part of the format.

Privacy: no record has a field for a phone number. A recipient is known only by
an opaque ``recipient`` id (the audience's contact id, or a keyed hash).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# 1.1: StoreIndex quadtree fields (tree_deg, tree, split, tree_reach_km).
# 2.0: tokens are no longer B-tree keys (``t:<token>``) but entries of one hash
#      index record (TOKEN_INDEX_KEY, engine/snapshot/_tokenindex.py). Engines of
#      format 1 refuse these files; this engine still reads format 1.
FORMAT_MAJOR = 2
FORMAT_MINOR = 0

#: Token alphabet: letters and digits that survive SMS (all are GSM-7 basic
#: characters) and URLs unescaped, minus look-alikes (0/O/o, 1/l/I). 55 symbols.
TOKEN_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"


# --------------------------------------------------------------------------- keys
# One LMDB keyspace, ASCII prefixes: c: campaigns, e: endpoints, m: meta,
# p: policies, s: store sets, x:tokens: the token hash index (format 2), whose
# entries are keyed ``t:<token>`` (format 1 had those as B-tree keys).
META_KEY = b"m:meta"
TOKEN_INDEX_KEY = b"x:tokens"


def campaign_key(index: int) -> bytes:
    """Key of the campaign record at ``index`` (the position in ``Meta.campaigns``)."""
    return b"c:%06d" % index


def policy_key(policy_id: str) -> bytes:
    """Key of a bot policy record."""
    return b"p:" + policy_id.encode()


def storeset_key(storeset_id: str) -> bytes:
    """Key of a store list with its spatial index."""
    return b"s:" + storeset_id.encode()


def endpoint_key(name: str) -> bytes:
    """Key of a webhook endpoint record."""
    return b"e:" + name.encode()


def token_key(token: str) -> bytes:
    """Key of a token record (in the token index; a B-tree key in format 1)."""
    return b"t:" + token.encode()


# ----------------------------------------------------------------- destinations
class Template(msgspec.Struct, array_like=True, frozen=True):
    """A destination URL with click-time slots.

    The compiler renders everything known at compile time (campaign, UTM
    parameters, recipient attributes that are not PII) and leaves only the
    click-time parts as slots, so the worker never runs jinja2. The URL is
    ``literals[0] + v(slots[0]) + literals[1] + ... + literals[-1]`` where ``v``
    URL-quotes the slot's value. ``len(literals) == len(slots) + 1``.

    Slot names: ``store.<field>`` (the chosen store's id, name, or any URL field
    of the store list), ``variant`` (the variant's name), ``attr.<name>`` (a
    recipient attribute named in ``Campaign.attr_names``), ``route`` (the rule id).
    """

    literals: list[str]
    slots: list[str] = []


class Preview(msgspec.Struct, frozen=True):
    """Open Graph card shown to link-preview fetchers: approved text, never PII."""

    title: str
    description: str = ""
    image: str | None = None


# ------------------------------------------------------------------ conditions
# A rule matches when *all* of its conditions hold. Conditions are a tagged union
# (msgspec tag field "kind", values equal to the YAML spelling).


class Country(msgspec.Struct, tag="country", frozen=True):
    """The click's IP geolocates to one of ``values`` (ISO 3166-1 alpha-2)."""

    values: list[str]
    max_accuracy_km: float | None = None  # a vaguer geolocation does not match


class Region(msgspec.Struct, tag="region", frozen=True):
    """The click's region is one of ``values`` (ISO 3166-2, e.g. ``US-CA``)."""

    values: list[str]
    max_accuracy_km: float | None = None


class City(msgspec.Struct, tag="city", frozen=True):
    """The click's city name (English, as in the .mmdb) is one of ``values``."""

    values: list[str]
    max_accuracy_km: float | None = None


class Within(msgspec.Struct, tag="within", frozen=True):
    """The click's location is within ``km`` of (``lat``, ``lon``)."""

    lat: float
    lon: float
    km: float
    max_accuracy_km: float | None = None


class Device(msgspec.Struct, tag="device", frozen=True):
    """Device class from the user agent is one of ``values``: ios, android, mobile, desktop."""

    values: list[str]


class Language(msgspec.Struct, tag="language", frozen=True):
    """The most preferred Accept-Language (by q) matches one of ``values`` by prefix (``fr`` matches ``fr-CA``)."""

    values: list[str]


class LocalTime(msgspec.Struct, tag="local-time", frozen=True):
    """Recipient's local time of day in [start, end) minutes after midnight, on ``days``.

    ``start > end`` spans midnight (22:00-02:00). ``days`` are ISO weekdays
    1=Monday..7=Sunday of the day the window *starts*. Zone precedence: the
    recipient's zone, else the chosen store's, else the geolocation's, else the
    campaign's.
    """

    start: int
    end: int
    days: list[int] = msgspec.field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])


class Dates(msgspec.Struct, tag="dates", frozen=True):
    """The click's time is in [after, before) (epoch seconds UTC; either may be open)."""

    after: int | None = None
    before: int | None = None


class Attr(msgspec.Struct, tag="attr", frozen=True):
    """Recipient attribute ``name`` (from the audience) is one of ``values``; ``negate`` inverts."""

    name: str
    values: list[str]
    negate: bool = False


class Variant(msgspec.Struct, tag="variant", frozen=True):
    """The recipient's (or, for campaign links, the click's) variant is one of ``values``."""

    values: list[str]


class StoreOpen(msgspec.Struct, tag="store-open", frozen=True):
    """A store was chosen and it is open now (its opening hours, its zone). ``open: false`` inverts."""

    open: bool = True


class HasStore(msgspec.Struct, tag="has-store", frozen=True):
    """A store was chosen (by home store or by location, per ``Campaign.stores``)."""

    within_km: float | None = None  # for an IP-chosen store, how far the click may be


Condition = (
    Country | Region | City | Within | Device | Language | LocalTime | Dates | Attr | Variant
    | StoreOpen | HasStore
)


class Rule(msgspec.Struct, frozen=True):
    """One routing rule: first rule whose conditions all hold wins."""

    id: str
    when: list[Condition]
    to: Template
    line: int = 0  # line in the campaign file, for explain and review
    # When set, the rule needs a chosen store and answers ``to`` while that
    # store is open and ``closed`` while it is closed ("store open -> store
    # page; closed -> order online" is one rule).
    closed: Template | None = None


# ---------------------------------------------------------------------- stores
class Store(msgspec.Struct, array_like=True, frozen=True):
    """One location of a store list."""

    id: str
    name: str
    lat: float
    lon: float
    timezone: str
    # Opening hours per ISO weekday (index 0 = Monday): list of [open, close)
    # minute intervals in the store's zone; close > 1440 spans midnight.
    hours: list[list[tuple[int, int]]] = []
    fields: dict[str, str] = {}  # URL fields (slug, url, postal code, ...)


class StoreIndex(msgspec.Struct, frozen=True):
    """Grid index over a store list: cell -> store positions.

    ``cells`` maps ``row * 100_000 + col`` (row/col of a ``cell_deg`` grid over
    lat/lon) to the indices of the stores in that cell. ``routing`` builds and
    queries it; see engine/routing/_stores.py and docs/routing.md.

    ``tree`` is a quadtree of candidate lists precomputed at compile time: a
    leaf maps to every store that can be the nearest one for some point inside
    it, so a click pays one short descent and a few distances. Node keys are
    ``level << 40 | row << 20 | col`` of a grid of ``tree_deg / 2**level``
    degrees; ``split`` lists the inner nodes. A place in no node is farther
    than ``tree_reach_km`` from every store. ``tree_deg == 0`` means no tree.
    """

    cell_deg: float
    cells: dict[int, list[int]]
    tree_deg: float = 0.0
    tree: dict[int, list[int]] = {}
    split: list[int] = []
    tree_reach_km: float = 0.0


class StoreSet(msgspec.Struct, frozen=True):
    """A store list referenced by campaigns, with its compile-time spatial index."""

    id: str
    source: str  # repository path of the CSV/YAML it came from
    stores: list[Store]
    index: StoreIndex


class StorePolicy(msgspec.Struct, frozen=True):
    """How a campaign chooses a store for a click.

    ``order`` lists the sources tried in turn: ``home`` (the recipient's home
    store resolved at compile time from the audience), ``ip`` (nearest store to
    the click's geolocation within ``max_km`` when the location's accuracy radius
    is at most ``max_accuracy_km``). When none yields a store, rules that need one
    do not match, so region pages and the default take over.
    """

    storeset: str
    order: list[str] = msgspec.field(default_factory=lambda: ["home", "ip"])
    max_km: float = 50.0
    max_accuracy_km: float = 100.0


# -------------------------------------------------------------------- campaign
class VariantArm(msgspec.Struct, frozen=True):
    """One arm of a campaign's experiment."""

    name: str
    weight: float
    holdout: bool = False  # recipients in a holdout arm are compiled but not messaged


class Message(msgspec.Struct, frozen=True):
    """The campaign's SMS text and its lint figures, computed with the real link length."""

    template: str  # jinja2 source as authored (no PII: it may reference fields, not values)
    sample: str  # rendered with a sample recipient and a real-length link
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    link_length: int
    has_opt_out: bool


class Finding(msgspec.Struct, frozen=True):
    """A compliance lint result stored with the campaign (for review and inspect)."""

    code: str
    severity: Literal["error", "warning", "info"]
    message: str


class Campaign(msgspec.Struct, frozen=True):
    """Everything the worker needs for a campaign, decoded once per snapshot open."""

    id: str
    name: str
    owner: str
    brand: str
    domains: list[str]  # link domains; a click's Host must be one of them; [0] is used in messages
    routes: list[Rule]
    default: Template
    campaign_token: str  # the campaign-level (broadcast) link's token
    category: str | None = None
    starts_at: int | None = None  # epoch seconds UTC; before: not_yet_live
    ends_at: int | None = None  # after: expired
    retain_until: int | None = None  # tokens forgotten after this (invariant 2 holds until then)
    send_at: int | None = None  # scheduled send time, for the bots' timing signal
    timezone: str = "UTC"  # the campaign's zone: last in the local-time precedence
    zones: list[str] = []  # zone table that TokenRecord.zone indexes
    attr_names: list[str] = []  # audience attributes kept for click time; TokenRecord.attrs order
    variants: list[VariantArm] = []
    experiment: str = ""  # salt of the variant hash; changing it reshuffles arms
    preview: Preview | None = None
    not_yet_live: Template | None = None  # None: answer with the default route
    expired: Template | None = None  # None: 410 with a small page
    bot_policy: str = "default"
    webhooks: list[str] = []
    stores: StorePolicy | None = None
    utm: dict[str, str] = {}
    audience: str = ""  # the audience *name* it was compiled against
    recipients: int = 0  # tokens issued for recipients (active, not retired)
    message: Message | None = None
    findings: list[Finding] = []
    source: str = ""  # repository path of the YAML it came from
    retired: bool = False  # removed from config; kept so its tokens resolve until retain_until


# ---------------------------------------------------------------------- tokens
class TokenRecord(msgspec.Struct, array_like=True, frozen=True):
    """What one token means. Small on purpose: there are millions.

    ``recipient`` is empty for a campaign-level link. ``variant`` is the arm
    assigned at compile time (hash of token and experiment salt), -1 when the
    campaign has no variants or for a campaign-level link (split per click).
    ``store`` is the home store's position in the campaign's store set, -1 for
    none. ``zone`` indexes ``Campaign.zones``, -1 for none. ``attrs`` aligns
    with ``Campaign.attr_names``. ``retired`` marks a recipient removed from the
    audience whose token still resolves until the campaign's retention ends.
    """

    campaign: int
    recipient: str
    variant: int = -1
    store: int = -1
    zone: int = -1
    attrs: list[str] = []
    retired: bool = False


# ---------------------------------------------------------------- bot policies
class BotSignal(msgspec.Struct, frozen=True):
    """One signal of a bot policy, in evaluation order (cheapest first).

    ``kind`` names the check (method, prefetch-header, missing-user-agent,
    user-agent, header-shape, referer, network, timing); ``params`` are the kind's settings as authored and
    normalized by the compiler. ``strength`` "strong" decides alone; "weak"
    signals add up to ``BotPolicy.weak_threshold``. ``engine/bots`` owns the
    interpretation; see docs/bots.md.
    """

    kind: str
    verdict: str  # human | preview | scanner | bot | suspect
    reason: str  # stable reason code written to the click log
    strength: Literal["strong", "weak"] = "strong"
    params: dict[str, Any] = {}


class BotPolicy(msgspec.Struct, frozen=True):
    """A compiled bot policy. ``version`` is a content hash, logged with every verdict."""

    id: str
    version: str
    signals: list[BotSignal] = []
    weak_threshold: int = 2
    weak_verdict: str = "suspect"
    # What each verdict is answered with: redirect | preview-page | prefetch
    answers: dict[str, str] = {}
    source: str = ""


# ------------------------------------------------------------------- webhooks
class Endpoint(msgspec.Struct, frozen=True):
    """A webhook endpoint. The secret itself never enters the snapshot: only the
    name of the environment variable that holds it."""

    name: str
    url: str
    secret_env: str
    events: list[str] = msgspec.field(default_factory=lambda: ["click.human"])
    campaigns: list[str] = []  # empty: every campaign
    include_user_agent: bool = False
    allow_private: bool = False  # deliver to loopback/private addresses (tests only)
    source: str = ""


# ------------------------------------------------------------------------ meta
class Meta(msgspec.Struct, frozen=True):
    """The snapshot's header record, read first and verified before serving."""

    format_major: int
    format_minor: int
    version: str  # "<UTC build time>-<first 12 hex of checksum>", e.g. 20261127T0823Z-3fa9c0d2e1b4
    built_at: str  # ISO 8601 UTC
    checksum: str  # sha256 hex over every (key, value) pair but the meta record, in key order
    campaigns: list[str]  # campaign ids; position = TokenRecord.campaign = campaign_key index
    counts: dict[str, int] = {}  # tokens, recipients, campaigns, retired_tokens, stores, ...
    config_commit: str | None = None  # git commit of campaigns/ and policies/ when built
    policies: list[str] = []
    storesets: list[str] = []
    endpoints: list[str] = []
    engine_version: str = ""
    # Recipient tokens per campaign arm, "<campaign index>/<variant index>"
    # (variant -1: none), and retired recipient tokens per campaign,
    # "<campaign index>/retired"; "v": 1 marks a snapshot that has them. The
    # report's "sent" comes from here instead of a pass over every token.
    recipients_by_arm: dict[str, int] = {}
