"""The DISTINCT counts from one row per recipient equal the per-click statements.

The report counts most recipients from ``HUMAN_RECIPIENTS`` (one row each,
when every click agrees on every dimension) and runs ``CLICKERS``,
``BREAKDOWN`` and ``FIRST_HUMAN`` only over the other rows (``HUMANS_MIXED``).
On generated human clicks (recipients with one or several routes, stores,
devices, places and variants, clicks without a recipient or on the campaign
link, missing values), the combined statements must give exactly what the
per-click statements give over all of ``humans``.
"""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analytics import _sql

_row = st.fixed_dictionaries({
    "campaign": st.sampled_from(["c1", "c2"]),
    "recipient": st.sampled_from([None, "r1", "r2", "r3", "r4"]),
    "link": st.sampled_from(["recipient", "recipient", "recipient", "campaign"]),
    "variant": st.sampled_from([None, "a", "b", "hold"]),
    "route": st.sampled_from([None, "default", "store-page"]),
    "store": st.sampled_from([None, "s-1", "s-2"]),
    "country": st.sampled_from([None, "US", "CA"]),
    "region": st.sampled_from([None, "US-NY", "CA-ON"]),
    "device": st.sampled_from([None, "ios", "android"]),
    "since": st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False)),
})


def _con(rows: list[dict], uniform: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE humans (campaign VARCHAR, recipient VARCHAR, link VARCHAR, variant VARCHAR, "
                "route VARCHAR, store VARCHAR, country VARCHAR, region VARCHAR, device VARCHAR, ts BIGINT, "
                "since_send_s DOUBLE, token VARCHAR)")
    con.execute("CREATE TABLE campaigns (id VARCHAR, send_at BIGINT)")
    con.execute("INSERT INTO campaigns VALUES ('c1', 1800000000), ('c2', 1800003600)")
    con.execute("CREATE TABLE holdouts (campaign VARCHAR, variant VARCHAR, holdout BOOLEAN)")
    con.execute("INSERT INTO holdouts VALUES ('c1', 'a', false), ('c1', 'hold', true), ('c2', 'b', false)")
    first = {}
    for i, r in enumerate(rows):
        if uniform and r["recipient"] is not None:
            # every click of a recipient like its first: the one-row-per-recipient path
            r = {**first.setdefault((r["campaign"], r["recipient"]), r), "since": r["since"]}
        # ts unique: the first click of a recipient is never a tie
        con.execute("INSERT INTO humans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            r["campaign"], r["recipient"], r["link"], r["variant"], r["route"], r["store"], r["country"],
            r["region"], r["device"], 1_800_000_000_000 + 1000 * i, r["since"], f"T-{r['recipient']}",
        ])
    con.execute(f"CREATE TABLE human_recipients AS {_sql.HUMAN_RECIPIENTS}")
    con.execute(f"CREATE TABLE humans_mixed AS {_sql.HUMANS_MIXED}")
    return con


def _sorted(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=repr)


@settings(max_examples=80, deadline=None)
@given(st.lists(_row, max_size=25), st.booleans())
def test_one_row_per_recipient_plus_mixed_rows_equals_every_click(rows, uniform):
    con = _con(rows, uniform)
    try:
        q = lambda sql: _sorted(con.execute(sql).fetchall())  # noqa: E731
        assert q(_sql.clickers_sql()) == q(_sql.CLICKERS.format(humans="humans"))
        for dims in (("route",), ("store",), ("device",), ("country", "region")):
            assert q(_sql.breakdown_sql(dims)) == q(_sql.BREAKDOWN.format(dim=", ".join(dims), humans="humans"))
        assert q(_sql.first_human_sql()) == q(_sql.FIRST_HUMAN.format(humans="humans"))
        if uniform and rows:
            # recipients whose clicks agree on everything are counted from their one row
            firsts: dict[tuple[str, str], dict] = {}
            for r in rows:
                if r["recipient"] is not None:
                    firsts.setdefault((r["campaign"], r["recipient"]), r)
            single = con.execute("SELECT count(*) FROM human_recipients WHERE single").fetchall()[0][0]
            assert single == sum(1 for r in firsts.values() if r["link"] == "recipient")
    finally:
        con.close()
