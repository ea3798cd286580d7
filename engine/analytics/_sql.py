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

#: Columns the report itself needs (``ua``/``headers`` only when re-judging
#: under another policy: they are the widest fields and the classifier's input).
REPORT_COLUMNS: tuple[str, ...] = (
    "id", "ts", "kind", "status", "answer", "verdict", "reasons", "policy", "token", "link",
    "campaign", "recipient", "variant", "route", "store", "country", "region", "device",
    "since_send_s", "method", "ip", "asn",
)
CLASSIFIER_COLUMNS: tuple[str, ...] = ("ua", "headers")


def read_json_sql(paths: list[str], columns: tuple[str, ...]) -> str:
    """A ``read_json`` call over ``paths`` projecting ``columns`` with defaults restored."""
    cols = "{" + ", ".join(f"'{c}': '{COLUMNS[c]}'" for c in columns) + "}"
    files = "[" + ", ".join(_quote(p) for p in paths) + "]"
    opts = "format = 'newline_delimited', compression = 'auto', maximum_object_size = 1048576"
    select = ", ".join(
        f"coalesce({c}, {DEFAULTS[c]}) AS {c}" if c in DEFAULTS else c for c in columns
    )
    return f"SELECT {select} FROM read_json({files}, columns = {cols}, {opts})"


def empty_sql(columns: tuple[str, ...]) -> str:
    """A ``SELECT`` with the click-log columns and no rows (no log files yet)."""
    return "SELECT " + ", ".join(f"NULL::{COLUMNS[c]} AS {c}" for c in columns) + " WHERE false"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ----------------------------------------------------------------- stream stage
def stream_candidates(*, fetch_before_tap_s: float, burst_addresses: int, datacenter_reasons: list[str]) -> str:
    """Recipient-link tokens where a stream rule of ``engine.bots`` can move a click.

    Necessary conditions of every rule (docs/bots.md, "stream rules"): a rule
    moves only a ``human`` or ``suspect`` click; it needs a second click from
    another network (another address, or another ASN when an address is
    missing); and it needs one of: ``burst_addresses`` distinct addresses
    (burst), a movable click sooner than ``fetch_before_tap_s`` after the send
    (fetch-before-tap), or a movable click with a datacenter reason
    (datacenter-then-phone). Tokens failing these keep their logged verdicts
    without a trip through Python; a property test holds this in step with
    ``engine.bots.rejudge_stream``.
    """
    dc = "[" + ", ".join(_quote(r) for r in datacenter_reasons) + "]::VARCHAR[]"
    movable = "verdict IN ('human', 'suspect')"
    return f"""
SELECT token
FROM clicks
WHERE kind = 'click' AND link = 'recipient'
GROUP BY token
HAVING count(*) >= 2
   AND bool_or({movable})
   AND (count(DISTINCT nullif(ip, '')) >= 2 OR (bool_or(ip = '') AND count(DISTINCT asn) >= 2))
   AND (count(DISTINCT nullif(ip, '')) >= {int(burst_addresses)}
        OR bool_or({movable} AND since_send_s >= 0 AND since_send_s < {float(fetch_before_tap_s)!r})
        OR bool_or({movable} AND list_has_any(list_transform(reasons, lambda r: split_part(r, ':', 1)), {dc})))
"""


# ------------------------------------------------------------------ roll-ups
# Every statement below returns rows per campaign; the report code assembles them.

#: Per campaign and variant (NULL: no variants, or a campaign-level link):
#: every click, human clicks by kind of link, unique human clickers. A
#: recipient holds one token per campaign, so clickers add up across variants.
TOTALS = """
SELECT campaign, variant,
       count(*) AS clicks,
       count(*) FILTER (verdict = 'human') AS human_clicks,
       count(*) FILTER (verdict = 'human' AND link = 'campaign') AS human_clicks_campaign_link,
       count(DISTINCT recipient) FILTER (verdict = 'human' AND link = 'recipient') AS clickers
FROM clicks
WHERE kind = 'click'
GROUP BY ALL
"""

#: Clicks that were not people, by verdict and deciding reason: the stream
#: rule's reason when re-judging moved the click, else the first reason.
NON_HUMAN = """
SELECT campaign, verdict,
       coalesce(list_filter(reasons, lambda r: starts_with(r, 'stream:'))[1], reasons[1], '(none)') AS reason,
       count(*) AS clicks
FROM clicks
WHERE kind = 'click' AND verdict <> 'human'
GROUP BY ALL
"""

#: Tokens with at least one click, none of them human or suspect.
MACHINE_ONLY = """
SELECT campaign, count(*) AS tokens
FROM (
    SELECT campaign, token
    FROM clicks
    WHERE kind = 'click' AND link = 'recipient'
    GROUP BY campaign, token
    HAVING bool_and(verdict IN ('preview', 'scanner', 'bot'))
)
GROUP BY campaign
"""

#: One breakdown of human clicks by ``{dim}`` (route, store, device or
#: country/region): clicks and distinct recipients.
BREAKDOWN = """
SELECT campaign, {dim},
       count(*) AS human_clicks,
       count(DISTINCT recipient) AS clickers
FROM clicks
WHERE kind = 'click' AND verdict = 'human'
GROUP BY ALL
"""

#: First human click of each recipient, with what it saw (``holdout`` from the
#: snapshot's arms, joined on this small table rather than on every click).
FIRST_CLICKS = """
SELECT c.campaign, c.recipient,
       coalesce(bool_or(h.holdout), false) AS holdout,
       min(c.ts) AS first_ts,
       arg_min(coalesce(c.since_send_s, c.ts / 1000.0 - s.send_at), c.ts) AS since_send_s,
       count(*) AS human_clicks,
       arg_min(c.variant, c.ts) AS variant,
       arg_min(c.route, c.ts) AS route,
       arg_min(c.store, c.ts) AS store
FROM clicks AS c
LEFT JOIN campaigns AS s ON s.id = c.campaign
LEFT JOIN holdouts AS h ON h.campaign = c.campaign AND h.variant = c.variant
WHERE c.kind = 'click' AND c.link = 'recipient' AND c.verdict = 'human'
GROUP BY c.campaign, c.recipient
"""

TIME_TO_FIRST = """
SELECT campaign,
       count(since_send_s) AS clickers,
       quantile_cont(since_send_s, [0.25, 0.5, 0.75, 0.9]) AS q
FROM first_clicks
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
    FROM first_clicks
    WHERE NOT holdout AND since_send_s IS NOT NULL
)
GROUP BY ALL
"""

CLICKS_OVER_TIME = """
SELECT campaign, time_bucket(INTERVAL '{width}', to_timestamp(ts / 1000)) AS at, verdict, count(*) AS clicks
FROM clicks
WHERE kind = 'click'
GROUP BY ALL
"""

ORPHANS_BY_HOUR = """
SELECT date_trunc('hour', to_timestamp(ts / 1000)) AS hour,
       count(*) AS requests,
       count(DISTINCT ip) AS networks,
       count(DISTINCT token) AS distinct_tokens
FROM clicks
WHERE kind = 'orphan'
GROUP BY ALL
ORDER BY hour
"""

POLICIES = """
SELECT coalesce(policy, '(none)') AS policy, count(*) AS clicks
FROM clicks
GROUP BY ALL
ORDER BY policy
"""

RANGE = "SELECT min(ts), max(ts), count(*) FROM clicks"

PER_RECIPIENT = """
SELECT f.campaign, f.recipient, f.holdout, f.first_ts, f.human_clicks, f.variant, f.route, f.store
FROM first_clicks AS f
ORDER BY f.campaign, f.recipient
"""
