"""The HTML report: one self-contained file, tables plus charts as inline SVG.

Charts are drawn with matplotlib (Agg backend, no display) straight to SVG
text with text kept as text, so the file needs no network, font or script:
a Content-Security-Policy of ``default-src 'none'`` holds. Takes suppressed
data only; a suppressed cell is left out of a chart, never drawn as a number.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from engine import __version__

_VERDICT_COLOURS = {
    "human": "#1b7837", "preview": "#5e3c99", "scanner": "#d6604d", "bot": "#b2182b",
    "suspect": "#f1a340", "unjudged": "#878787",
}
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "smslink", "font.size": 9,
                                "figure.dpi": 96})
    import matplotlib.pyplot as plt

    return plt


def warm_charts() -> None:
    """Import matplotlib and draw one throw-away figure, so the report's charts start warm (call it early, in a thread)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    _svg(fig)


def _svg(fig: Any) -> str:
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def chart_over_time(c: dict[str, Any]) -> str | None:
    rows = c["clicks_over_time"]["rows"]
    if not rows:
        return None
    plt = _pyplot()
    times = sorted({r["at"] for r in rows})
    idx = {t: i for i, t in enumerate(times)}
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    for verdict in [v for v in _VERDICT_COLOURS if any(r["verdict"] == v for r in rows)]:
        ys: list[float] = [0.0] * len(times)
        for r in rows:
            if r["verdict"] == verdict:
                n = _num(r["clicks"])
                ys[idx[r["at"]]] = n if n is not None else float("nan")
        ax.plot([datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times], ys, label=verdict,
                color=_VERDICT_COLOURS[verdict], marker="o" if len(times) < 30 else None, markersize=3)
    ax.set_ylabel(f"clicks per {c['clicks_over_time']['bucket']}")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _svg(fig)


def chart_variants(c: dict[str, Any]) -> str | None:
    arms = [a for a in c["variants"]["arms"] if a.get("rate") is not None]
    if not arms:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(arms)))
    ys = list(range(len(arms)))
    rates = [100 * a["rate"] for a in arms]
    err = [[100 * (a["rate"] - a["low"]) for a in arms], [100 * (a["high"] - a["rate"]) for a in arms]]
    ax.errorbar(rates, ys, xerr=err, fmt="o", color="#2166ac", capsize=4)
    ax.set_yticks(ys, [a["variant"] + (" (holdout)" if a["holdout"] else "") for a in arms])
    ax.set_xlabel("CTR, % of recipients (Wilson interval)")
    ax.set_xlim(left=0)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def chart_ttfc(c: dict[str, Any]) -> str | None:
    hist = c["time_to_first_click"]["histogram"]
    if not any(_num(h["clickers"]) for h in hist):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.bar([h["bucket"] for h in hist], [_num(h["clickers"]) or 0 for h in hist], color="#1b7837")
    ax.set_ylabel("recipients")
    ax.set_xlabel("time from send to first human click")
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def chart_top(c: dict[str, Any], name: str, label: str, n: int = 10) -> str | None:
    rows = [r for r in c[name] if _num(r["clickers"])][:n]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.3 * len(rows)))
    keys = [" / ".join(str(r[d]) for d in (("country", "region") if name == "regions" else (name[:-1],))) for r in rows]
    ax.barh(keys, [_num(r["clickers"]) for r in rows], color="#2166ac")
    ax.invert_yaxis()
    ax.set_xlabel(f"unique human clickers, top {label}")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def render_html(data: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (pass suppressed data)."""
    charts = {}
    for c in data["campaigns"]:
        charts[c["id"]] = {
            "over_time": chart_over_time(c),
            "variants": chart_variants(c),
            "ttfc": chart_ttfc(c),
            "regions": chart_top(c, "regions", "regions"),
            "stores": chart_top(c, "stores", "stores"),
        }
    return _env.get_template("report.html.j2").render(data=data, charts=charts, version=__version__)
