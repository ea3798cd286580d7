"""The compliance diff: what a config change does for recipients, as values.

Pure: takes two ``Revision`` values (what the base and head configs compile
to) and returns a ``Review``; no I/O, no formatting beyond short human phrases.
``engine.review.render`` turns a Review into markdown, text or JSON, so a new
output format never touches this module (Terraform keeps its plan diff apart
from its renderers the same way).

The inputs are snapshot records (``Campaign``, ``BotPolicy``, ``Endpoint``),
not YAML: two files that compile to the same thing produce no diff, and a
change to a shared policy shows up in every campaign it affects.

Privacy: a Review never holds a recipient id, a token, a phone number or a
secret. Message text is the compiler's sample rendering (placeholder values,
a real-length link); webhook URLs are shown without their query string, which
is where people put API keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from engine.snapshot import Campaign, Store, Template

from ._model import (
    AudienceImpact,
    CampaignChange,
    Compliance,
    Item,
    Mark,
    Review,
    Revision,
    Risk,
    Section,
    plural,
)
from ._phrases import (
    hours_phrase,
    matches_domain,
    rule_phrase,
    show_template,
    template_host,
    unreachable_rules,
    when_local,
    when_phrase,
)

__all__ = [
    "AudienceImpact",
    "CampaignChange",
    "Compliance",
    "Item",
    "Mark",
    "Review",
    "Revision",
    "Risk",
    "Section",
    "diff_revisions",
    "show_template",
    "template_host",
    "unreachable_rules",
]


# ---------------------------------------------------------------------- the diff
@dataclass
class _Ctx:
    base: Revision
    head: Revision
    base_hosts: set[str]


def _all_templates(c: Campaign) -> list[Template]:
    out = [c.default]
    for r in c.routes:
        out.append(r.to)
        if r.closed is not None:
            out.append(r.closed)
    out += [t for t in (c.not_yet_live, c.expired) if t is not None]
    return out


def _destination_risks(t: Template | None, ctx: _Ctx) -> tuple[Risk, ...]:
    if t is None:
        return ()
    comp = ctx.head.compliance
    scheme, host = template_host(t)
    risks = []
    if host and host not in ctx.base_hosts:
        risks.append(Risk.NEW_DOMAIN)
    if host and comp.allowed_domains and not matches_domain(host, comp.allowed_domains):
        risks.append(Risk.OUTSIDE_ALLOWLIST)
    if scheme == "http":
        risks.append(Risk.HTTP)
    if host and matches_domain(host, comp.banned_domains):
        risks.append(Risk.SHORTENER)
    return tuple(risks)


def _dest_item(label: str, before: Template | None, after: Template | None, ctx: _Ctx) -> Item | None:
    if before == after:
        return None
    mark = Mark.ADDED if before is None else Mark.REMOVED if after is None else Mark.CHANGED
    return Item(mark, label, show_template(before) if before else None,
                show_template(after) if after else None, _destination_risks(after, ctx))


def _rules_section(base: Campaign | None, head: Campaign | None, ctx: _Ctx) -> tuple[list[Item], int]:
    b_rules = {r.id: r for r in base.routes} if base else {}
    h_rules = {r.id: r for r in head.routes} if head else {}
    dead_before = unreachable_rules(base.routes) if base else set()
    dead_after = unreachable_rules(head.routes) if head else set()
    items: list[Item] = []
    routes = 0
    for r in head.routes if head else []:
        old = b_rules.get(r.id)
        newly_dead = (Risk.UNREACHABLE,) if r.id in dead_after and r.id not in dead_before else ()
        risks = _destination_risks(r.to, ctx) + _destination_risks(r.closed, ctx)
        if old is None:
            routes += 1
            note = " (unreachable: an earlier rule always matches first)" if r.id in dead_after else ""
            items.append(Item(Mark.ADDED, f"rule {r.id}", None, rule_phrase(r) + note, risks + newly_dead))
            continue
        if old.when != r.when:
            routes += 1
            items.append(Item(Mark.CHANGED, f"rule {r.id}: condition", when_phrase(old.when), when_phrase(r.when), newly_dead))
            newly_dead = ()
        if old.to != r.to or old.closed != r.closed:
            routes += 1
            before = show_template(old.to) + (f" / closed: {show_template(old.closed)}" if old.closed else "")
            after = show_template(r.to) + (f" / closed: {show_template(r.closed)}" if r.closed else "")
            items.append(Item(Mark.CHANGED, f"rule {r.id}: destination", before, after, risks))
        if newly_dead:
            items.append(Item(Mark.CHANGED, f"rule {r.id}", "reachable",
                              "unreachable: an earlier rule always matches first", newly_dead))
    for r in base.routes if base else []:
        if r.id not in h_rules:
            routes += 1
            items.append(Item(Mark.REMOVED, f"rule {r.id}", rule_phrase(r), None))
    common_b = [r.id for r in base.routes if r.id in h_rules] if base else []
    common_h = [r.id for r in head.routes if r.id in b_rules] if head else []
    if common_b != common_h:
        routes += 1
        items.append(Item(Mark.CHANGED, "rule order (first match wins)", " → ".join(common_b), " → ".join(common_h)))
    for label, attr in (("default destination", "default"), ("before the start", "not_yet_live"),
                        ("after the end", "expired")):
        item = _dest_item(label, getattr(base, attr) if base else None, getattr(head, attr) if head else None, ctx)
        if item is not None:
            routes += 1
            items.append(item)
    return items, routes


def _value_items(pairs: list[tuple[str, object, object]]) -> list[Item]:
    items = []
    for label, before, after in pairs:
        if before == after:
            continue
        b = None if before in (None, "", [], {}, ()) else str(before)
        a = None if after in (None, "", [], {}, ()) else str(after)
        if a is None and b is None:
            continue
        mark = Mark.ADDED if b is None else Mark.REMOVED if a is None else Mark.CHANGED
        items.append(Item(mark, label, b, a))
    return items


def _link_domain_items(base: Campaign | None, head: Campaign | None, ctx: _Ctx) -> list[Item]:
    b = base.domains if base else []
    h = head.domains if head else []
    items = []
    for d in h:
        if d not in b:
            risks = (Risk.SHORTENER,) if matches_domain(d, ctx.head.compliance.banned_domains) else ()
            items.append(Item(Mark.ADDED, "link domain (in the SMS)", None, d, risks))
    items += [Item(Mark.REMOVED, "link domain (in the SMS)", d, None) for d in b if d not in h]
    return items


def _message_items(base: Campaign | None, head: Campaign | None, ctx: _Ctx) -> list[Item]:
    bm = base.message if base else None
    hm = head.message if head else None
    if bm == hm or (bm is None and hm is None):
        return []
    items = []
    if hm is None:
        return [Item(Mark.REMOVED, "message", bm.sample if bm else None, None, multiline=True)]
    if bm is None or bm.sample != hm.sample or bm.template != hm.template:
        items.append(Item(Mark.ADDED if bm is None else Mark.CHANGED, "message text",
                          bm.sample if bm else None, hm.sample, multiline=True))
    size_b = f"{bm.encoding}, {plural(bm.segments, 'segment')} (link {bm.link_length} chars)" if bm else None
    size_a = f"{hm.encoding}, {plural(hm.segments, 'segment')} (link {hm.link_length} chars)"
    risks: list[Risk] = []
    if bm is not None and hm.segments > bm.segments:
        risks.append(Risk.SEGMENTS_UP)
    if hm.segments > ctx.head.compliance.max_segments:
        risks.append(Risk.OVER_BUDGET)
    if hm.encoding == "UCS-2" and (bm is None or bm.encoding != "UCS-2"):
        risks.append(Risk.ENCODING)
    if bm is None or (bm.encoding, bm.segments) != (hm.encoding, hm.segments) or risks:
        items.append(Item(Mark.ADDED if bm is None else Mark.CHANGED, "length", size_b, size_a, tuple(risks)))
    if (bm is None or bm.has_opt_out) and not hm.has_opt_out:
        if bm is None:
            items.append(Item(Mark.ADDED, "opt-out wording", None, "missing", (Risk.OPT_OUT_DROPPED,)))
        else:
            items.append(Item(Mark.REMOVED, "opt-out wording", "present", None, (Risk.OPT_OUT_DROPPED,)))
    elif bm is not None and not bm.has_opt_out and hm.has_opt_out:
        items.append(Item(Mark.ADDED, "opt-out wording", "missing", "present"))
    return items


def _variant_items(base: Campaign | None, head: Campaign | None) -> list[Item]:
    b = {v.name: v for v in base.variants} if base else {}
    h = {v.name: v for v in head.variants} if head else {}

    def arm(v: object) -> str:
        w = getattr(v, "weight", 0)
        return f"weight {w:g}" + (" (holdout: not messaged)" if getattr(v, "holdout", False) else "")

    total_b = sum(v.weight for v in b.values()) or 1
    total_h = sum(v.weight for v in h.values()) or 1
    items = []
    for name, v in h.items():
        if name not in b:
            items.append(Item(Mark.ADDED, f"variant {name}", None, f"{arm(v)}, {v.weight / total_h:.0%} of recipients"))
        elif b[name] != v or abs(b[name].weight / total_b - v.weight / total_h) > 1e-9:
            items.append(Item(Mark.CHANGED, f"variant {name}", f"{arm(b[name])}, {b[name].weight / total_b:.0%}",
                              f"{arm(v)}, {v.weight / total_h:.0%}"))
    items += [Item(Mark.REMOVED, f"variant {n}", arm(v), None) for n, v in b.items() if n not in h]
    if base and head and base.experiment != head.experiment and base.variants and head.variants:
        items.append(Item(Mark.CHANGED, "experiment salt", base.experiment, head.experiment, (Risk.RESHUFFLE,)))
    return items


def _schedule_items(base: Campaign | None, head: Campaign | None) -> list[Item]:
    zone_b = base.timezone if base else "UTC"
    zone_h = head.timezone if head else "UTC"
    items = []
    for label, attr in (("starts", "starts_at"), ("send at", "send_at"), ("ends", "ends_at"),
                        ("links resolve until", "retain_until")):
        b = getattr(base, attr) if base else None
        h = getattr(head, attr) if head else None
        if b == h and zone_b == zone_h:
            continue
        bs = when_local(b, zone_b) if b is not None else None
        hs = when_local(h, zone_h) if h is not None else None
        if bs == hs:
            continue
        mark = Mark.ADDED if bs is None else Mark.REMOVED if hs is None else Mark.CHANGED
        items.append(Item(mark, label, bs, hs))
    if base and head and zone_b != zone_h:
        items.append(Item(Mark.CHANGED, "time zone", zone_b, zone_h))
    return items


def _findings_items(base: Campaign | None, head: Campaign | None) -> list[Item]:
    b = {(f.code, f.message): f for f in base.findings} if base else {}
    h = {(f.code, f.message): f for f in head.findings} if head else {}
    items = []
    for key, f in sorted(h.items()):
        if key not in b:
            risks = (Risk.FINDING,) if f.severity in ("error", "warning") else ()
            items.append(Item(Mark.ADDED, f"{f.severity} {f.code}", None, f.message, risks))
    items += [Item(Mark.REMOVED, f"{f.severity} {f.code}", f.message, None) for k, f in sorted(b.items())
              if k not in h]
    return items


def _store_policy(c: Campaign | None) -> str | None:
    if c is None or c.stores is None:
        return None
    s = c.stores
    return f"{s.storeset}: {' then '.join(s.order)}, within {s.max_km:g} km"


def _campaign_change(base: Campaign | None, head: Campaign | None, ctx: _Ctx,
                     impact: AudienceImpact | None) -> CampaignChange | None:
    ref = head or base
    assert ref is not None
    sections: list[Section] = []

    def add(title: str, items: list[Item]) -> None:
        if items:
            sections.append(Section(title, items))

    about = _value_items([
        ("name", base.name if base else None, head.name if head else None),
        ("brand", base.brand if base else None, head.brand if head else None),
        ("owner", base.owner if base else None, head.owner if head else None),
        ("audience", base.audience if base else None, head.audience if head else None),
    ])
    b_cat = base.category if base else None
    h_cat = head.category if head else None
    if b_cat != h_cat:
        about.append(Item(Mark.ADDED if b_cat is None else Mark.REMOVED if h_cat is None else Mark.CHANGED,
                          "category", b_cat, h_cat, (Risk.CATEGORY,) if base and head else ()))
    add("Campaign", about)
    rules, routes = _rules_section(base, head, ctx)
    add("Destinations and rules", _link_domain_items(base, head, ctx) + rules)
    add("Message", _message_items(base, head, ctx))
    add("Variants", _variant_items(base, head))
    add("Schedule", _schedule_items(base, head))
    add("Stores and link preview", _value_items([
        ("store choice", _store_policy(base), _store_policy(head)),
        ("preview title", base.preview.title if base and base.preview else None,
         head.preview.title if head and head.preview else None),
        ("preview text", base.preview.description if base and base.preview else None,
         head.preview.description if head and head.preview else None),
        ("preview image", base.preview.image if base and base.preview else None,
         head.preview.image if head and head.preview else None),
        ("UTM parameters", _kv(base.utm) if base else None, _kv(head.utm) if head else None),
        ("attributes kept for click time", ", ".join(base.attr_names) if base else None,
         ", ".join(head.attr_names) if head else None),
    ]))
    add("Bots and webhooks", _value_items([
        ("bot policy", base.bot_policy if base else None, head.bot_policy if head else None),
        ("webhook endpoints", ", ".join(base.webhooks) if base else None,
         ", ".join(head.webhooks) if head else None),
    ]))
    add("Compliance findings", _findings_items(base, head))
    if impact is not None and (impact.added or impact.removed or impact.destination_changed):
        add("Audience", [Item(Mark.CHANGED, "recipients", f"{impact.recipients_before:,}",
                              f"{impact.recipients_after:,} ({impact.added:,} new, {impact.removed:,} no longer "
                              f"messaged, {impact.destination_changed:,} sent somewhere else)")])
    if base is not None and head is not None and not sections:
        return None
    mark = Mark.ADDED if base is None else Mark.REMOVED if head is None else Mark.CHANGED
    if mark is Mark.REMOVED:
        # A removed campaign's tokens keep resolving until its retention ends (invariant 2).
        until = when_local(base.retain_until, base.timezone) if base and base.retain_until else "forever"
        who = f" ({base.recipients:,} recipients)" if base and base.recipients else ""
        sections = [Section("Campaign", [Item(Mark.REMOVED, "campaign", f"{base.name if base else ''}{who}", None)]),
                    Section("Links already sent", [Item(Mark.CHANGED, "links resolve", None,
                                                        f"until {until} (the campaign is retired, not deleted)")])]
        routes = len(base.routes) + 1 if base else 0
    comp = ctx.head.compliance if head else ctx.base.compliance
    category = h_cat if head else b_cat
    reviewers = tuple(comp.reviewers.get(category, ())) if category else ()
    return CampaignChange(ref.id, ref.name, mark, category, reviewers, sections, routes, impact)


def _kv(d: dict[str, str]) -> str | None:
    return ", ".join(f"{k}={v}" for k, v in sorted(d.items())) or None


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return shown + (" (query hidden)" if parts.query else "")


def _policy_sections(ctx: _Ctx) -> list[Section]:
    sections = []
    b = {p.id: p for p in ctx.base.policies}
    h = {p.id: p for p in ctx.head.policies}
    items = []
    for pid, p in sorted(h.items()):
        old = b.get(pid)
        if old is None:
            items.append(Item(Mark.ADDED, f"bot policy {pid}", None, f"{len(p.signals)} signals (version {p.version})"))
        elif old.version != p.version or old.signals != p.signals or old.answers != p.answers:
            ob = {(s.kind, s.reason) for s in old.signals}
            nb = {(s.kind, s.reason) for s in p.signals}
            added = sorted(r for k, r in nb - ob)
            gone = sorted(r for k, r in ob - nb)
            detail = []
            if added:
                detail.append("signals added: " + ", ".join(added))
            if gone:
                detail.append("signals removed: " + ", ".join(gone))
            if old.answers != p.answers:
                detail.append(f"answers: {_kv(p.answers) or 'defaults'}")
            if not detail:
                detail.append("signal settings changed")
            items.append(Item(Mark.CHANGED, f"bot policy {pid}", f"version {old.version}",
                              f"version {p.version}; " + "; ".join(detail)))
    items += [Item(Mark.REMOVED, f"bot policy {pid}", f"version {p.version}", None)
              for pid, p in sorted(b.items()) if pid not in h]
    if items:
        sections.append(Section("Bot policies", items))

    be = {e.name: e for e in ctx.base.endpoints}
    he = {e.name: e for e in ctx.head.endpoints}
    items = []
    for name, e in sorted(he.items()):
        prev = be.get(name)
        scheme = urlsplit(e.url).scheme
        risks = (Risk.HTTP,) if scheme == "http" else ()
        if prev is None:
            priv = (Risk.PRIVACY,) if e.include_user_agent else ()
            items.append(Item(Mark.ADDED, f"webhook {name}", None,
                              f"{_public_url(e.url)} ({', '.join(e.events)})", risks + priv))
            continue
        if prev.url != e.url:
            new_host = (Risk.NEW_DOMAIN,) if urlsplit(prev.url).hostname != urlsplit(e.url).hostname else ()
            items.append(Item(Mark.CHANGED, f"webhook {name}: URL", _public_url(prev.url), _public_url(e.url),
                              risks + new_host))
        items += _value_items([
            (f"webhook {name}: events", ", ".join(prev.events), ", ".join(e.events)),
            (f"webhook {name}: campaigns", ", ".join(prev.campaigns) or "all", ", ".join(e.campaigns) or "all"),
            (f"webhook {name}: secret variable", prev.secret_env, e.secret_env),
        ])
        if prev.include_user_agent != e.include_user_agent:
            items.append(Item(Mark.CHANGED, f"webhook {name}: user agent in payload",
                              "yes" if prev.include_user_agent else "no", "yes" if e.include_user_agent else "no",
                              (Risk.PRIVACY,) if e.include_user_agent else ()))
    items += [Item(Mark.REMOVED, f"webhook {name}", _public_url(e.url), None)
              for name, e in sorted(be.items()) if name not in he]
    if items:
        sections.append(Section("Webhook endpoints", items))

    bc, hc = ctx.base.compliance, ctx.head.compliance
    items = []
    for label, before, after in (
        ("allowed domains", set(bc.allowed_domains), set(hc.allowed_domains)),
        ("banned domains", set(bc.banned_domains), set(hc.banned_domains)),
        ("opt-out phrases", set(bc.opt_out), set(hc.opt_out)),
    ):
        items += [Item(Mark.ADDED, label, None, v) for v in sorted(after - before)]
        items += [Item(Mark.REMOVED, label, v, None) for v in sorted(before - after)]
    items += _value_items([
        ("https only", bc.https_only, hc.https_only),
        ("segment budget", bc.max_segments, hc.max_segments),
    ])
    for cat in sorted(set(bc.reviewers) | set(hc.reviewers)):
        items += _value_items([(f"required reviewers for {cat}", ", ".join(bc.reviewers.get(cat, ())),
                                ", ".join(hc.reviewers.get(cat, ())))])
    if items:
        sections.append(Section("Compliance policy", items))
    items = _storeset_items(ctx)
    if items:
        users = sorted({c.id for c in ctx.head.campaigns if c.stores is not None and not c.retired})
        sections.append(Section("Store lists" + (f" (used by {', '.join(users)})" if users else ""), items))
    return sections


def _store_line(st: Store) -> str:
    return f"{st.name} ({st.lat:.4f}, {st.lon:.4f}, {st.timezone})"


def _storeset_items(ctx: _Ctx) -> list[Item]:
    """Stores added, removed, moved, renamed, or with other hours or URL fields (store ids are not PII)."""
    b = {s.id: s for s in ctx.base.storesets}
    h = {s.id: s for s in ctx.head.storesets}
    items = []
    for sid in sorted(set(b) | set(h)):
        if sid not in b:
            items.append(Item(Mark.ADDED, f"store list {sid}", None, f"{len(h[sid].stores)} stores ({h[sid].source})"))
            continue
        if sid not in h:
            items.append(Item(Mark.REMOVED, f"store list {sid}", f"{len(b[sid].stores)} stores", None))
            continue
        old = {st.id: st for st in b[sid].stores}
        new = {st.id: st for st in h[sid].stores}
        for st_id in sorted(set(old) | set(new)):
            o, n = old.get(st_id), new.get(st_id)
            label = f"store {sid}/{st_id}"
            if o is None and n is not None:
                items.append(Item(Mark.ADDED, label, None, _store_line(n)))
            elif n is None and o is not None:
                items.append(Item(Mark.REMOVED, label, _store_line(o), None))
            elif o is not None and n is not None and o != n:
                for what, before, after in (
                    ("name", o.name, n.name),
                    ("location", f"{o.lat:.4f}, {o.lon:.4f}", f"{n.lat:.4f}, {n.lon:.4f}"),
                    ("time zone", o.timezone, n.timezone),
                    ("opening hours", hours_phrase(o.hours), hours_phrase(n.hours)),
                    ("URL fields", _kv(o.fields) or "(none)", _kv(n.fields) or "(none)"),
                ):
                    if before != after:
                        items.append(Item(Mark.CHANGED, f"{label}: {what}", before, after))
    return items


def diff_revisions(
    base: Revision, head: Revision, *, impacts: dict[str, AudienceImpact] | None = None,
) -> Review:
    """Compare what two revisions compile to.

    Parameters
    ----------
    base, head:
        The compiled config of each revision.
    impacts:
        Per campaign id, what the change does to its recipients (only when the
        audiences were given; CI usually has none).

    Returns
    -------
    Review
        Campaigns in head order then removed ones, each with only what changed.
    """
    impacts = impacts or {}
    hosts = {template_host(t)[1] for c in base.campaigns for t in _all_templates(c)} - {""}
    ctx = _Ctx(base, head, hosts)
    b = {c.id: c for c in base.campaigns if not c.retired}
    h = {c.id: c for c in head.campaigns if not c.retired}
    changes = []
    for cid in sorted(h):
        change = _campaign_change(b.get(cid), h[cid], ctx, impacts.get(cid))
        if change is not None:
            changes.append(change)
    for cid in sorted(b):
        if cid not in h:
            change = _campaign_change(b[cid], None, ctx, impacts.get(cid))
            assert change is not None
            changes.append(change)
    return Review(base.label, head.label, changes, _policy_sections(ctx))
