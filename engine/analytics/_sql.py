"""Every SQL statement of the report, in one place.

The queries read one relation, ``clicks``, with the public click-log schema
(docs/report.md), plus two small tables the report builds from the snapshot
(``campaigns``: id, send_at; ``sent``: campaign, variant, holdout, tokens).
Over a warehouse copy of the logs, define ``clicks`` as a view over your table
and run the same statements (they are plain DuckDB SQL; ``list``/``FILTER``
aside, they port to ClickHouse and BigQuery with small edits).

Verdicts are *final* verdicts: the report loads the logs into a ``clicks``
table and applies stream re-judging (and ``--rejudge``) to it before any of
these run. A click "counts" only when its verdict is ``human``; ``suspect``
and ``unjudged`` are counted apart, never as engaged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from engine.bots import MOVABLE_VERDICTS, PHONE_DEVICES

#: DuckDB types of the click-log fields (engine/clicklog/_record.py ClickEvent).
#: Fields omitted from a line (msgspec ``omit_defaults``) read as NULL and the
#: ``clicks`` view restores their defaults.
COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "ts": "BIGINT",
    "kind": "VARCHAR",
    "status": "INTEGER",
    "answer": "VARCHAR",
    "verdict": "VARCHAR",
    "reasons": "VARCHAR[]",
    "policy": "VARCHAR",
    "token": "VARCHAR",
    "link": "VARCHAR",
    "campaign": "VARCHAR",
    "recipient": "VARCHAR",
    "variant": "VARCHAR",
    "route": "VARCHAR",
    "store": "VARCHAR",
    "store_source": "VARCHAR",
    "dest": "VARCHAR",
    "country": "VARCHAR",
    "region": "VARCHAR",
    "city": "VARCHAR",
    "accuracy_km": "INTEGER",
    "asn": "BIGINT",
    "device": "VARCHAR",
    "lang": "VARCHAR",
    "since_send_s": "DOUBLE",
    "method": "VARCHAR",
    "host": "VARCHAR",
    "ip": "VARCHAR",
    "ua": "VARCHAR",
    "headers": "MAP(VARCHAR, VARCHAR)",
    "snapshot": "VARCHAR",
    "worker": "VARCHAR",
    "v": "INTEGER",
}

#: Defaults of fields the writer omits when they hold their default value.
DEFAULTS: dict[str, str] = {
    "verdict": "'unjudged'",
    "reasons": "[]::VARCHAR[]",
    "method": "'GET'",
    "host": "''",
    "ip": "''",
    "ua": "''",
    "headers": "MAP {}::MAP(VARCHAR, VARCHAR)",
    "snapshot": "''",
    "worker": "''",
    "v": "1",
}

#: Columns the report loads into its ``clicks`` table (``method``/``ua``/
#: ``headers`` only when re-judging under another policy: the classifier's input).
REPORT_COLUMNS: tuple[str, ...] = (
    "ts", "kind", "verdict", "reasons", "policy", "token", "link", "campaign", "recipient", "variant",
    "route", "store", "country", "region", "device", "since_send_s", "ip", "asn",
)
CLASSIFIER_COLUMNS: tuple[str, ...] = ("method", "ua", "headers")

#: Closed vocabularies kept as one-byte ENUMs in the report's table (ten
#: million rows of VARCHAR cost hundreds of megabytes). A value outside the
#: vocabulary reads as ``unjudged`` / ``click`` / ``recipient``.
ENUMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "kind": ("click_kind", ("click", "orphan")),
    "link": ("link_kind", ("recipient", "campaign")),
    "verdict": ("verdict_kind", ("human", "preview", "scanner", "bot", "suspect", "unjudged")),
}


def enum_fallback(column: str) -> str:
    """What a value outside column's closed vocabulary (``ENUMS``) reads as."""
    return "unjudged" if column == "verdict" else ENUMS[column][1][0]


def create_types_sql() -> list[str]:
    """Statements creating the ENUM types of the report's table."""
    return [
        f"CREATE TYPE IF NOT EXISTS {name} AS ENUM ({', '.join(_quote(v) for v in values)})"
        for name, values in ENUMS.values()
    ]


def read_json_sql(paths: list[str], columns: tuple[str, ...], *, compact: bool = False) -> str:
    """A ``read_json`` call over ``paths`` projecting ``columns`` with defaults restored.

    ``compact`` is the report's own table: ENUMs for closed vocabularies and
    ``reasons`` kept as its JSON text (``["ua:preview"]``) rather than a list.
    """
    types = dict(COLUMNS)
    if compact:
        types["reasons"] = "VARCHAR"
    cols = "{" + ", ".join(f"'{c}': '{types[c]}'" for c in columns) + "}"
    files = "[" + ", ".join(_quote(p) for p in paths) + "]"
    opts = "format = 'newline_delimited', compression = 'auto', maximum_object_size = 1048576"
    select = []
    for c in columns:
        expr = f"coalesce({c}, {DEFAULTS[c]})" if c in DEFAULTS else c
        if compact and c == "reasons":
            expr = f"coalesce({c}, '[]')"
        elif compact and c in ENUMS:
            name, values = ENUMS[c]
            fallback = _quote(enum_fallback(c))
            expr = f"(CASE WHEN {c} IN ({', '.join(_quote(v) for v in values)}) THEN {c} ELSE {fallback} END)::{name}"
            if c == "link":
                expr = f"CASE WHEN {c} IS NULL THEN NULL ELSE {expr} END"
        select.append(f"{expr} AS {c}")
    return f"SELECT {', '.join(select)} FROM read_json({files}, columns = {cols}, {opts})"


def empty_sql(columns: tuple[str, ...], *, compact: bool = False) -> str:
    """A ``SELECT`` with the click-log columns and no rows (no log files yet)."""
    types = dict(COLUMNS)
    if compact:
        types["reasons"] = "VARCHAR"
        types.update({c: name for c, (name, _) in ENUMS.items()})
    return "SELECT " + ", ".join(f"NULL::{types[c]} AS {c}" for c in columns) + " WHERE false"


def _sql_list(values: Iterable[str]) -> str:
    """``'a', 'b'`` for an SQL ``IN (...)``, sorted so the statement text is stable."""
    return ", ".join(_quote(v) for v in sorted(values))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ----------------------------------------------------------------- stream stage
# Stream re-judging (engine.bots.rejudge_stream, rules in docs/bots.md) runs
# here in SQL, in three statements: ``burst_spans`` and ``token_stats`` pick
# the tokens where a rule can fire (cheap necessary conditions over every
# token), and ``stream_verdicts`` applies the rules exactly to those tokens'
# clicks. A property test (tests/unit/analytics/test_stream.py) holds the
# result equal to ``rejudge_stream`` on every token of generated streams.

def _window_ms(burst_window_s: float) -> int:
    """The burst window in whole milliseconds: ``ts`` are integers, so ``d <= w`` is ``d <= floor(w)``."""
    return max(0, math.floor(burst_window_s * 1000))


def burst_spans(base: str, *, burst_window_s: float, burst_addresses: int) -> str:
    """``h``, the 64-bit hash of each recipient-link token with ``burst_addresses`` addressed clicks within ``burst_window_s``.

    A burst needs that many distinct addresses within the window, so at least
    that many addressed clicks: in time order, some click is at most the
    window after the click ``burst_addresses - 1`` places before it. Only the
    token's hash and ``ts`` go through the window's sort (sorting integers
    costs about a third less than sorting the token text). Read it as
    ``hash(token) IN (SELECT h FROM spans)``: two tokens whose hashes collide
    (2^-64 a pair) are windowed together, which can only let one more token
    past this cheap half, never change a verdict (the rules are exact).
    """
    return f"""
SELECT DISTINCT h FROM (
    SELECT h, ts - lag(ts, {max(int(burst_addresses) - 1, 0)}) OVER (PARTITION BY h ORDER BY ts) AS span
    FROM (SELECT hash(token) AS h, ts FROM {base} WHERE kind = 'click' AND link = 'recipient' AND ip <> '')
)
WHERE span <= {_window_ms(burst_window_s)}
"""


def _dc_like(datacenter_reasons: list[str]) -> str:
    # a reason in the JSON text that starts like a datacenter reason: a superset
    # of the exact test (its base before the first ``:``), for the cheap half
    return " OR ".join(f"contains(reasons, {_quote(chr(34) + r)})" for r in datacenter_reasons) or "false"


def sequence_tokens(base: str, *, fetch_before_tap_s: float, datacenter_reasons: list[str]) -> str:
    """Recipient-link tokens with a click that fetch-before-tap or datacenter-then-phone could move.

    That is a ``human`` or ``suspect`` click sooner than ``fetch_before_tap_s``
    after the send, or with a (possible) datacenter reason. With
    ``burst_spans`` these are the only tokens ``token_stats`` can mark, so
    only their clicks are read again.
    """
    movable = f"verdict IN ({_sql_list(MOVABLE_VERDICTS)})"
    return f"""
SELECT DISTINCT token FROM {base}
WHERE kind = 'click' AND link = 'recipient' AND {movable}
  AND ((since_send_s >= 0 AND since_send_s < {float(fetch_before_tap_s)!r}) OR {_dc_like(datacenter_reasons)})
"""


def token_stats(
    base: str, *, spans: str, fetch_before_tap_s: float, burst_addresses: int, datacenter_reasons: list[str],
) -> str:
    """One row per recipient-link token of ``base``: the cheap half of the stream filter.

    ``stage1`` marks tokens that meet the necessary conditions of every stream
    rule of ``engine.bots`` (docs/bots.md, "stream rules"): a rule moves only
    a ``human`` or ``suspect`` click; it needs a second click from another
    network (another address, or another ASN when an address is missing); and
    a burst needs ``burst_addresses`` clicks from at least two addresses, close
    enough in time (the token is in ``spans``, see ``burst_spans``),
    fetch-before-tap a movable click sooner than ``fetch_before_tap_s`` after
    the send with a human click after it, datacenter-then-phone a movable
    click with a (possible) datacenter reason with a human click from a phone
    after it. The report runs it over the clicks of the tokens in
    ``burst_spans`` or ``sequence_tokens`` only (no other token can be marked).
    """
    movable = f"verdict IN ({_sql_list(MOVABLE_VERDICTS)})"
    # Addresses compared through their 64-bit hashes: min <> max means two
    # addresses (a hash collision could only hide a token from this cheap half
    # if two different networks hashed alike: 2^-64).
    phone = f"device IN ({_sql_list(PHONE_DEVICES)})"
    early = f"{movable} AND since_send_s >= 0 AND since_send_s < {float(fetch_before_tap_s)!r}"
    return f"""
SELECT token,
       two_clicks AND (burst_possible AND hash(token) IN (SELECT h FROM {spans}) OR sequence_possible) AS stage1
FROM (
    SELECT token,
           count(*) >= 2
           AND bool_or({movable})
           AND (min(ip_h) <> max(ip_h) OR (bool_or(ip_h IS NULL) AND min(asn) <> max(asn))) AS two_clicks,
           count(*) >= {int(burst_addresses)} AND min(ip_h) <> max(ip_h) AS burst_possible,
           coalesce(min(ts) FILTER ({early}) <= max(ts) FILTER (verdict = 'human'), false)
           OR coalesce(min(ts) FILTER ({movable} AND ({_dc_like(datacenter_reasons)}))
                       <= max(ts) FILTER (verdict = 'human' AND {phone}), false) AS sequence_possible
    FROM (SELECT token, verdict, reasons, since_send_s, asn, ts, device,
                 CASE WHEN ip <> '' THEN hash(ip) END AS ip_h
          FROM {base}
          WHERE kind = 'click' AND link = 'recipient')
    GROUP BY token
)
"""


#: Reason appended to a click a stream rule moved, and the verdict it gets.
STREAM_MOVES: dict[str, tuple[str, str]] = {
    "burst": ("bot", "stream:burst"),
    "fbt": ("scanner", "stream:fetch-before-tap"),
    "dcp": ("scanner", "stream:datacenter-then-phone"),
}

#: Order of one token's clicks for "after": by time, then (clicks in the same
#: millisecond) by what the rules read, so the result never depends on the
#: order the lines were read in. Clicks equal in all of these get the same verdict.
STREAM_ORDER = (
    "ts, ip, asn NULLS FIRST, verdict::VARCHAR, reasons, since_send_s NULLS FIRST, device NULLS FIRST"
)


def _burst_ctes(rows: str, *, spans: str, burst_window_s: float, burst_addresses: int,
                datacenter_reasons: list[str] | None) -> str:
    """``WITH judged, crowded, burst``: ``rows`` with ``movable``, ``phone``, ``dc`` and rule 1 (``burst``) decided.

    The first half of ``stream_verdicts``, and all of the SQL of ``stream_flags``
    (which passes no ``datacenter_reasons``: then there is no ``dc`` column).
    """
    w = _window_ms(burst_window_s)
    dc = ""
    if datacenter_reasons is not None:
        names = "[" + ", ".join(_quote(r) for r in sorted(datacenter_reasons)) + "]::VARCHAR[]"
        dc = (f"len(list_intersect(list_transform(from_json(reasons, '[\"VARCHAR\"]'), "
              f"lambda r: split_part(r, ':', 1)), {names})) > 0 AS dc,")
    return f"""
WITH judged AS (
    SELECT *,
           verdict IN ({_sql_list(MOVABLE_VERDICTS)}) AS movable,
           coalesce(device IN ({_sql_list(PHONE_DEVICES)}), false) AS phone,
           {dc}
           coalesce(hash(token) IN (SELECT h FROM {spans}), false) AS spanned
    FROM {rows}
), crowded AS (
    -- this click ends a window with enough distinct addresses (only tokens in
    -- ``spans`` can have one: the others never reach burst_addresses clicks)
    SELECT *, count(DISTINCT nullif(ip, '')) OVER (PARTITION BY token ORDER BY ts
               RANGE BETWEEN {w} PRECEDING AND CURRENT ROW) >= {int(burst_addresses)} AS crowded
    FROM judged
    WHERE spanned
), burst AS (
    SELECT * EXCLUDE (crowded), movable AND bool_or(crowded) OVER (PARTITION BY token ORDER BY ts
               RANGE BETWEEN CURRENT ROW AND {w} FOLLOWING) AS burst
    FROM crowded
    UNION ALL BY NAME
    SELECT *, false AS burst FROM judged WHERE NOT spanned
)"""


def stream_verdicts(
    rows: str, columns: tuple[str, ...], *, spans: str, fetch_before_tap_s: float, burst_window_s: float,
    burst_addresses: int, datacenter_reasons: list[str],
) -> str:
    """``rows`` (every click of some recipient-link tokens) with final verdicts: the stream rules, exactly.

    The rules of ``engine.bots.rejudge_stream`` over each token's clicks in
    ``STREAM_ORDER``; only ``human`` and ``suspect`` clicks move:

    1. burst: a click inside some window of ``burst_window_s`` that ends at a
       click and holds ``burst_addresses`` distinct addresses -> ``bot``;
    2. fetch-before-tap: a click sooner than ``fetch_before_tap_s`` after the
       send, with a later human click (not moved by 1, without a datacenter
       reason) from another network -> ``scanner``;
    3. datacenter-then-phone: else, a click with a datacenter reason (its base
       before the first ``:``), with such a later human click from a phone ->
       ``scanner``.

    "Another network": both have an address and they differ, else both have
    an ASN and they differ. "Some later click from another network" is read
    off the minimum and maximum address (and ASN) of the later clicks that
    qualify: one of them differs from the click's own exactly when some
    qualifying click's does. The windows of rule 1 run only over the tokens
    in ``spans`` (``burst_spans``: no other token has enough clicks close
    enough together). Returns ``columns`` (``verdict`` and ``reasons`` final,
    a moved click's rule appended to its reasons) plus ``logged_verdict`` and
    ``logged_reasons``.
    """
    later = f"OVER (PARTITION BY token ORDER BY {STREAM_ORDER} ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)"

    def seen_later(name: str, cond: str) -> str:
        # min/max address and ASN of the later clicks meeting ``cond``
        return (
            f"min(ip) FILTER ({cond} AND ip <> '') {later} AS {name}_ip_lo, "
            f"max(ip) FILTER ({cond} AND ip <> '') {later} AS {name}_ip_hi, "
            f"min(asn) FILTER ({cond} AND ip = '') {later} AS {name}_na_lo, "
            f"max(asn) FILTER ({cond} AND ip = '') {later} AS {name}_na_hi, "
            f"min(asn) FILTER ({cond}) {later} AS {name}_as_lo, "
            f"max(asn) FILTER ({cond}) {later} AS {name}_as_hi"
        )

    def other_network_later(name: str) -> str:
        return (
            f"CASE WHEN ip <> '' THEN coalesce({name}_ip_lo <> ip OR {name}_ip_hi <> ip, false) "
            f"OR coalesce({name}_na_lo <> asn OR {name}_na_hi <> asn, false) "
            f"ELSE coalesce({name}_as_lo <> asn OR {name}_as_hi <> asn, false) END"
        )

    out = []
    for c in columns:
        if c == "verdict":
            out.append(
                f"CASE WHEN burst THEN '{STREAM_MOVES['burst'][0]}' WHEN fbt THEN '{STREAM_MOVES['fbt'][0]}' "
                f"WHEN dcp THEN '{STREAM_MOVES['dcp'][0]}' ELSE verdict::VARCHAR END AS verdict"
            )
        elif c == "reasons":
            out.append(
                "CASE WHEN burst OR fbt OR dcp THEN to_json(list_append(from_json(reasons, '[\"VARCHAR\"]'), "
                f"CASE WHEN burst THEN '{STREAM_MOVES['burst'][1]}' WHEN fbt THEN '{STREAM_MOVES['fbt'][1]}' "
                f"ELSE '{STREAM_MOVES['dcp'][1]}' END))::VARCHAR ELSE reasons END AS reasons"
            )
        else:
            out.append(c)
    return _burst_ctes(
        rows, spans=spans, burst_window_s=burst_window_s, burst_addresses=burst_addresses,
        datacenter_reasons=datacenter_reasons,
    ) + f""", seen AS (
    SELECT *, {seen_later("tap", "verdict = 'human' AND NOT burst AND NOT dc")},
              {seen_later("phone", "verdict = 'human' AND NOT burst AND NOT dc AND phone")}
    FROM burst
), moved AS (
    SELECT *,
           coalesce(movable AND NOT burst AND since_send_s >= 0 AND since_send_s < {float(fetch_before_tap_s)!r}
                    AND {other_network_later("tap")}, false) AS fbt,
           -- fetch-before-tap comes first (the CASEs below test fbt before dcp)
           movable AND NOT burst AND dc AND {other_network_later("phone")} AS dcp
    FROM seen
)
SELECT {", ".join(out)}, verdict::VARCHAR AS logged_verdict, reasons AS logged_reasons
FROM moved
"""


def stream_flags(
    rows: str, *, spans: str, fetch_before_tap_s: float, burst_window_s: float, burst_addresses: int,
) -> str:
    """What rules 2 and 3 of ``stream_verdicts`` read of ``rows``, one row per click in ``(token, STREAM_ORDER)`` order.

    Rule 1 (``burst``) is decided here, by the same windows as in
    ``stream_verdicts``; rules 2 and 3 are then one pass over each token's
    clicks from the last to the first (``engine.analytics._rules``), which
    costs a fraction of the twelve "later click" window aggregates. ``rows``
    has a ``rid`` (the click's row id) besides ``token``, ``ts``, ``ip``,
    ``asn``, ``verdict``, ``reasons``, ``since_send_s`` and ``device``.
    ``early``: sooner than ``fetch_before_tap_s`` after the send. The
    datacenter test is left to the caller (``_rules.moved`` makes it once
    per distinct ``reasons`` text, not once per click).
    """
    return _burst_ctes(
        rows, spans=spans, burst_window_s=burst_window_s, burst_addresses=burst_addresses, datacenter_reasons=None,
    ) + f"""
SELECT rid, token, ts, ip, asn, reasons, verdict = 'human' AS human, movable, phone, burst,
       coalesce(since_send_s >= 0 AND since_send_s < {float(fetch_before_tap_s)!r}, false) AS early
FROM burst
ORDER BY token, {STREAM_ORDER}
"""


#: Rule numbers of ``engine.analytics._rules.moved`` (1 burst, 2 fetch-before-tap, 3 datacenter-then-phone).
RULE_NUMBERS = ("burst", "fbt", "dcp")

#: The new verdict and reasons of the moved clicks of ``{moved}`` (``rid``,
#: ``reasons`` as logged, ``rule`` from ``RULE_NUMBERS``): the same text as
#: ``stream_verdicts`` gives them.
MOVED_BY_RULE = (
    "SELECT rid, CASE rule "
    + " ".join(f"WHEN {i} THEN '{STREAM_MOVES[r][0]}'" for i, r in enumerate(RULE_NUMBERS, 1))
    + " END AS verdict, to_json(list_append(from_json(reasons, '[\"VARCHAR\"]'), CASE rule "
    + " ".join(f"WHEN {i} THEN '{STREAM_MOVES[r][1]}'" for i, r in enumerate(RULE_NUMBERS, 1))
    + " END))::VARCHAR AS reasons FROM {moved}"
)

# ------------------------------------------------------------------ roll-ups
# Three scans of the final clicks feed every figure: a small cube of counts
# by low-cardinality keys, the human clicks (a fraction of the lines, kept in
# memory), and the orphans. DISTINCT counts run on the human table only.
# ``{clicks}`` is the relation scanned: ``clicks`` over a warehouse copy. The
# report runs them over every click with its per-click verdict
# (``clicks_judged``, while the stream rules run) and then corrects for the
# clicks of the tokens the stream step re-judged (``stream_rows``):
# ``CUBE_MERGE`` adds their cube and subtracts it as logged
# (``CUBE_LOGGED_NEGATIVE``); their human clicks replace theirs in ``humans``.

#: Counts by kind, campaign, variant, link, verdict, reasons (JSON text),
#: policy and hour (``ts // 3_600_000``): totals, clicks that were not people,
#: clicks over time and policy versions all add up from here.
CUBE = """
SELECT kind, campaign, variant, link, verdict, reasons, policy, ts // 3600000 AS hour,
       count(*) AS clicks, min(ts) AS first_ts, max(ts) AS last_ts
FROM {clicks}
GROUP BY ALL
"""

#: The sum of cubes over disjoint parts of the clicks (``{parts}``: a UNION ALL of them).
CUBE_MERGE = """
SELECT kind, campaign, variant, link, verdict, reasons, policy, hour,
       sum(clicks)::BIGINT AS clicks, min(first_ts) AS first_ts, max(last_ts) AS last_ts
FROM ({parts})
GROUP BY ALL
HAVING sum(clicks) <> 0
"""

#: The cube of ``stream_rows`` as logged (before the stream rules), counted
#: negative: added to a cube over ``clicks_judged``, it takes those clicks out.
CUBE_LOGGED_NEGATIVE = """
SELECT kind, campaign, variant, link, logged_verdict AS verdict, logged_reasons AS reasons, policy,
       ts // 3600000 AS hour, -count(*) AS clicks, NULL::BIGINT AS first_ts, NULL::BIGINT AS last_ts
FROM stream_rows
GROUP BY kind, campaign, variant, link, logged_verdict, logged_reasons, policy, ts // 3600000
"""

#: The human clicks, with what the breakdowns need (the rows of table ``humans``).
HUMANS = """
SELECT campaign, recipient, link, variant, route, store, country, region, device, ts, since_send_s, token
FROM {clicks}
WHERE kind = 'click' AND verdict = 'human'
"""

# DISTINCT counts are two GROUP BYs (recipients per cell, then cells):
# DuckDB runs a plain GROUP BY on every core, ``count(DISTINCT ...)`` on one.
# ``count(recipient)`` leaves out the campaign link's clicks (no recipient),
# as ``count(DISTINCT recipient)`` would.

#: Unique human clickers per campaign and variant. A recipient holds one
#: token per campaign, so clickers add up across variants.
CLICKERS = """
SELECT campaign, variant, count(recipient) AS clickers
FROM (SELECT campaign, variant, recipient FROM humans WHERE link = 'recipient' GROUP BY ALL)
GROUP BY ALL
"""

#: Recipient-link tokens of ``{clicks}`` whose clicks are all preview,
#: scanner or bot (the report runs it over ``clicks_judged``, before the
#: stream rules: ``MACHINE_ONLY`` keeps the tokens the stream step left alone).
MACHINE_TOKENS = """
SELECT token, any_value(campaign) AS campaign
FROM {clicks}
WHERE kind = 'click' AND link = 'recipient'
GROUP BY token
HAVING bool_and(verdict IN ('preview', 'scanner', 'bot'))
"""

#: Machine-only tokens per campaign: ``machine_tokens`` plus the re-judged
#: tokens of ``stream_rows``.
MACHINE_ONLY = """
SELECT campaign, count(*) AS tokens FROM (
    SELECT m.campaign FROM machine_tokens AS m ANTI JOIN stream_tokens AS s ON m.token = s.token
    UNION ALL
    SELECT any_value(campaign) FROM stream_rows
    GROUP BY token
    HAVING bool_and(verdict IN ('preview', 'scanner', 'bot'))
)
GROUP BY campaign
"""

#: One breakdown of human clicks by ``{dim}`` (route, store, device or
#: country/region): clicks and distinct recipients.
BREAKDOWN = """
SELECT campaign, {dim},
       sum(clicks)::BIGINT AS human_clicks,
       count(recipient) AS clickers
FROM (SELECT campaign, {dim}, recipient, count(*) AS clicks FROM humans GROUP BY ALL)
GROUP BY ALL
"""

#: First human click of each recipient, with what it saw (``holdout`` from the
#: snapshot's arms).
FIRST_CLICKS = """
SELECT c.campaign, c.recipient,
       coalesce(bool_or(h.holdout), false) AS holdout,
       min(c.ts) AS first_ts,
       arg_min(coalesce(c.since_send_s, c.ts / 1000.0 - s.send_at), c.ts) AS since_send_s,
       count(*) AS human_clicks,
       arg_min(c.variant, c.ts) AS variant,
       arg_min(c.route, c.ts) AS route,
       arg_min(c.store, c.ts) AS store
FROM humans AS c
LEFT JOIN campaigns AS s ON s.id = c.campaign
LEFT JOIN holdouts AS h ON h.campaign = c.campaign AND h.variant = c.variant
WHERE c.link = 'recipient'
GROUP BY c.campaign, c.recipient
"""

#: What the time-to-first-click figures need of ``FIRST_CLICKS`` (the rest of
#: it is read only for ``--per-recipient``): the same first click per
#: recipient, in a third of the time.
FIRST_HUMAN = """
SELECT c.campaign, c.recipient,
       coalesce(bool_or(h.holdout), false) AS holdout,
       arg_min(coalesce(c.since_send_s, c.ts / 1000.0 - s.send_at), c.ts) AS since_send_s
FROM humans AS c
LEFT JOIN campaigns AS s ON s.id = c.campaign
LEFT JOIN holdouts AS h ON h.campaign = c.campaign AND h.variant = c.variant
WHERE c.link = 'recipient'
GROUP BY c.campaign, c.recipient
"""

TIME_TO_FIRST = """
SELECT campaign,
       count(since_send_s) AS clickers,
       quantile_cont(since_send_s, [0.25, 0.5, 0.75, 0.9]) AS q
FROM first_human
WHERE NOT holdout AND since_send_s IS NOT NULL
GROUP BY campaign
"""

#: Bucket bounds (seconds) of the time-to-first-click histogram.
TTFC_BOUNDS: tuple[tuple[str, float], ...] = (
    ("<1m", 60.0),
    ("1-5m", 300.0),
    ("5-15m", 900.0),
    ("15-60m", 3600.0),
    ("1-3h", 10800.0),
    ("3-12h", 43200.0),
    ("12-24h", 86400.0),
    ("1-3d", 259200.0),
    (">3d", float("inf")),
)

TIME_TO_FIRST_HIST = """
SELECT campaign, bucket, count(*) AS clickers
FROM (
    SELECT campaign,
           CASE {cases} END AS bucket
    FROM first_human
    WHERE NOT holdout AND since_send_s IS NOT NULL
)
GROUP BY ALL
"""

ORPHANS_BY_HOUR = """
SELECT ts // 3600000 AS hour,
       count(*) AS requests,
       count(DISTINCT ip) AS networks,
       count(DISTINCT token) AS distinct_tokens
FROM {clicks}
WHERE kind = 'orphan'
GROUP BY ALL
ORDER BY hour
"""

PER_RECIPIENT = """
SELECT f.campaign, f.recipient, f.holdout, f.first_ts, f.human_clicks, f.variant, f.route, f.store
FROM first_clicks AS f
ORDER BY f.campaign, f.recipient
"""
