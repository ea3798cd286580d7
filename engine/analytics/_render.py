"""Text renderings of a (suppressed) report: table for people, JSON and CSV for tools.

Every function here takes the data returned by ``suppress``; none sees
recipient ids or tokens, because the report data holds none.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any


def render_json(data: dict[str, Any]) -> str:
    """The report as indented JSON (keys in a fixed, documented order)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _ci(row: dict[str, Any]) -> str:
    if row.get("rate") is None:
        return "-"
    return f"{_pct(row['rate'])} [{_pct(row['low'])}, {_pct(row['high'])}]"


def _dur(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.1f}m"
    if s < 172800:
        return f"{s / 3600:.1f}h"
    return f"{s / 86400:.1f}d"


def _table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    if not rows:
        return [indent + "(none)"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        parts = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return (indent + "  ".join(parts)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def render_table(data: dict[str, Any]) -> str:
    """The report for a terminal: one section per campaign, then global sections."""
    out: list[str] = []
    logs = data["logs"]
    out.append(f"smslink report: {_fmt(logs['lines'])} log lines in {logs['files']} files, "
               f"{logs['first_click'] or '-'} .. {logs['last_click'] or '-'}; snapshot {data['snapshot']['version']}")
    w = data["window"]
    if w["since"] or w["until"]:
        out.append(f"window: {w['since'] or '-'} .. {w['until'] or '-'}")
    rj = data["rejudging"]
    line = (f"re-judging: {_fmt(rj['clicks_moved'])} clicks moved "
            f"({_fmt(rj['stream_tokens_checked'])} token streams checked")
    if rj["policy"]:
        line += f"; every click re-judged under {rj['policy']}"
    out.append(line + ")")
    for m in rj["moves"]:
        out.append(f"  {m['from']} -> {m['to']}: {_fmt(m['clicks'])}")
    out.append(f"cells below k={data['k']} shown as <{data['k']}; intervals: Wilson at {1 - data['alpha']:.0%}")
    for c in data["campaigns"]:
        out.append("")
        out.append(f"== {c['id']}: {c['name']}")
        out.extend(_table(
            ["sent", "human clicks", "unique human clickers", "CTR [interval]", "machine-only tokens"],
            [[_fmt(c["sent"]), _fmt(c["human_clicks"]), _fmt(c["unique_human_clickers"]), _ci(c["ctr"]),
              _fmt(c["machine_only_tokens"])]],
        ))
        extras = []
        if c["holdout_recipients"]:
            extras.append(f"holdout recipients {_fmt(c['holdout_recipients'])} (clickers {_fmt(c['holdout_clickers'])})")
        if c["retired_recipients"]:
            extras.append(f"retired recipients {_fmt(c['retired_recipients'])} (in sent)")
        if c["human_clicks_campaign_link"]:
            extras.append(f"human clicks on the campaign link {_fmt(c['human_clicks_campaign_link'])}")
        if extras:
            out.append("  " + "; ".join(extras))
        v = c["variants"]
        if v["arms"]:
            out.append("  variants:")
            out.extend(_table(
                ["variant", "recipients", "clickers", "CTR [interval]", "lift vs holdout", "p vs holdout"],
                [[a["variant"] + (" (holdout)" if a["holdout"] else ""), _fmt(a["recipients"]), _fmt(a["clickers"]),
                  _ci(a), _pct(a.get("lift_vs_holdout")), _fmt(a.get("p_vs_holdout"))] for a in v["arms"]],
                "    ",
            ))
            t = v["test"]
            if t:
                verdict = "significant" if t["significant"] else "not significant"
                out.append(f"    {t['test']}: statistic {t['statistic']:.4g}, df {t['df']}, p = {t['p_value']:.4g} "
                           f"-> {verdict} at alpha {t['alpha']}")
            else:
                out.append("    no test: fewer than two arms with recipients, or no clicks")
        out.append("  not people (by verdict and deciding reason):")
        out.extend(_table(["verdict", "reason", "clicks"],
                          [[r["verdict"], r["reason"], _fmt(r["clicks"])] for r in c["non_human"]["by_reason"]], "    "))
        for name, dims in (("routes", ["route"]), ("stores", ["store"]), ("regions", ["country", "region"]),
                           ("devices", ["device"])):
            out.append(f"  by {name[:-1]}:")
            out.extend(_table([*dims, "human clicks", "clickers"],
                              [[*(str(r[d]) for d in dims), _fmt(r["human_clicks"]), _fmt(r["clickers"])] for r in c[name]],
                              "    "))
        t = c["time_to_first_click"]
        out.append(f"  time from send to first human click: median {_dur(t['median_s'])}, "
                   f"p25 {_dur(t['p25_s'])}, p75 {_dur(t['p75_s'])}, p90 {_dur(t['p90_s'])} "
                   f"({_fmt(t['clickers'])} clickers)")
        out.extend(_table(["bucket", "clickers"], [[h["bucket"], _fmt(h["clickers"])] for h in t["histogram"]], "    "))
        ot = c["clicks_over_time"]
        out.append(f"  clicks over time (per {ot['bucket']}, by verdict):")
        out.extend(_table(["at", "verdict", "clicks"], [[r["at"], r["verdict"], _fmt(r["clicks"])] for r in ot["rows"]], "    "))
    out.append("")
    out.append("orphan requests (unknown tokens) by hour:")
    out.extend(_table(["hour", "requests", "networks", "distinct tokens"],
                      [[o["hour"], _fmt(o["requests"]), _fmt(o["networks"]), _fmt(o["distinct_tokens"])]
                       for o in data["orphans_by_hour"]]))
    out.append("policy versions seen in the logs:")
    out.extend(_table(["policy", "clicks"], [[p["policy"], _fmt(p["clicks"])] for p in data["policies"]]))
    return "\n".join(out) + "\n"


def _csv_rows(data: dict[str, Any]) -> Iterator[tuple[str, str, str, str, Any]]:
    for c in data["campaigns"]:
        cid = c["id"]
        for key in ("sent", "holdout_recipients", "retired_recipients", "clicks", "human_clicks",
                    "human_clicks_campaign_link", "unique_human_clickers", "holdout_clickers", "machine_only_tokens"):
            yield "summary", cid, "", key, c[key]
        for key in ("rate", "low", "high"):
            yield "summary", cid, "", f"ctr_{key}", c["ctr"][key]
        for a in c["variants"]["arms"]:
            for key in ("holdout", "recipients", "clickers", "rate", "low", "high", "lift_vs_holdout", "p_vs_holdout"):
                if key in a:
                    yield "variant", cid, a["variant"], key, a[key]
        t = c["variants"]["test"]
        if t:
            for key in ("test", "statistic", "df", "p_value", "alpha", "significant"):
                yield "variant_test", cid, "", key, t[key]
        for r in c["non_human"]["by_reason"]:
            yield "non_human", cid, f"{r['verdict']}/{r['reason']}", "clicks", r["clicks"]
        for name, dims in (("routes", ("route",)), ("stores", ("store",)), ("regions", ("country", "region")),
                           ("devices", ("device",))):
            for r in c[name]:
                key = "/".join(str(r[d]) for d in dims)
                yield name[:-1], cid, key, "human_clicks", r["human_clicks"]
                yield name[:-1], cid, key, "clickers", r["clickers"]
        ttfc = c["time_to_first_click"]
        for key in ("clickers", "p25_s", "median_s", "p75_s", "p90_s"):
            yield "time_to_first_click", cid, "", key, ttfc[key]
        for h in ttfc["histogram"]:
            yield "time_to_first_click", cid, h["bucket"], "clickers", h["clickers"]
        for r in c["clicks_over_time"]["rows"]:
            yield "clicks_over_time", cid, f"{r['at']}/{r['verdict']}", "clicks", r["clicks"]
    rj = data["rejudging"]
    yield "rejudging", "", "", "policy", rj["policy"]
    yield "rejudging", "", "", "clicks_rejudged", rj["clicks_rejudged"]
    yield "rejudging", "", "", "stream_tokens_checked", rj["stream_tokens_checked"]
    yield "rejudging", "", "", "clicks_moved", rj["clicks_moved"]
    for m in rj["moves"]:
        yield "rejudging", "", f"{m['from']}->{m['to']}", "clicks", m["clicks"]
    for p in data["policies"]:
        yield "policy", "", p["policy"], "clicks", p["clicks"]
    for o in data["orphans_by_hour"]:
        for key in ("requests", "networks", "distinct_tokens"):
            yield "orphans", "", o["hour"], key, o[key]


def render_csv(data: dict[str, Any]) -> str:
    """The report as long-format CSV: section, campaign, key, metric, value."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "campaign", "key", "metric", "value"])
    for section, campaign, key, metric, value in _csv_rows(data):
        if value is None:
            value = ""
        elif isinstance(value, bool):
            value = "true" if value else "false"
        w.writerow([section, campaign, key, metric, value])
    return buf.getvalue()
