"""Stage 3: link. Specs -> a cross-checked ``Plan`` of snapshot records.

Checks that need more than one file or more than one field: ids unique across
files, references to bot policies, webhook endpoints and store lists resolve,
rules are reachable, templates only use what exists, then the compliance lints
(engine/compiler/_lint.py). Every problem of the run is reported at once.

``load_plan`` is the entry point the build, the review and ``validate`` use.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from engine.bots import PolicyError, compile_policy
from engine.diagnostics import Diagnostic, DiagnosticsError, SourceSpan
from engine.snapshot import (
    Attr,
    BotPolicy,
    Campaign,
    City,
    Condition,
    Country,
    Dates,
    Device,
    Endpoint,
    Finding,
    HasStore,
    Language,
    LocalTime,
    Preview,
    Region,
    Rule,
    StoreOpen,
    StorePolicy,
    StoreSet,
    Template,
    Variant,
    VariantArm,
    Within,
)
from engine.spec import (
    BotPolicySpec,
    CampaignSpec,
    ComplianceSpec,
    OpenClosedSpec,
    SourceDoc,
    StoreWithinSpec,
    WebhooksSpec,
    WhenSpec,
    day_numbers,
    did_you_mean,
    duration_seconds,
    parse_hhmm,
    parse_window,
)

from ._link_stores import LoadedStores, load_stores, storeset_id
from ._link_templates import Destination, Parts, TemplateProblem, compile_destination, parse_parts
from ._lint import LintInput, is_pii_field, lint_campaign
from ._load import LoadedConfig, load_config
from ._plan import AudienceBinding, CampaignPlan, CategoryRules, CompliancePolicy, Plan, QuietHours


@dataclass
class LinkResult:
    """A linked plan (None when there were errors) and every diagnostic of the run."""

    plan: Plan | None
    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def load_plan(root: Path, *, config_commit: str | None = None) -> Plan:
    """Load, validate and link the config under ``root``.

    Parameters
    ----------
    root
        Repository root holding campaigns/, policies/ and the store lists.
    config_commit
        Git commit recorded in the snapshot's meta.

    Returns
    -------
    Plan

    Raises
    ------
    DiagnosticsError
        With every diagnostic of the run (errors, and the warnings found alongside).
    """
    result = link_config(root, config_commit=config_commit)
    if result.plan is None:
        raise DiagnosticsError(result.diagnostics, result.sources)
    return result.plan


def link_config(root: Path, *, config_commit: str | None = None) -> LinkResult:
    """Like ``load_plan`` but returns the diagnostics (warnings too) instead of raising."""
    cfg = load_config(root)
    linker = _Linker(cfg)
    plan = linker.link(config_commit)
    diags = cfg.diagnostics + linker.diagnostics
    has_errors = any(d.severity == "error" for d in diags)
    return LinkResult(None if has_errors else plan, diags, {**cfg.sources, **linker.sources})


class _Linker:
    def __init__(self, cfg: LoadedConfig) -> None:
        self.cfg = cfg
        self.diagnostics: list[Diagnostic] = []
        self.sources: dict[str, str] = {}
        self.stores: dict[str, LoadedStores] = {}

    def error(self, code: str, summary: str, span: SourceSpan, **kw: object) -> None:
        self.diagnostics.append(Diagnostic(code, "error", summary, span, **kw))  # type: ignore[arg-type]

    # ------------------------------------------------------------- policies
    def link(self, config_commit: str | None) -> Plan:
        compliance = self._compliance()
        policies = self._bot_policies()
        endpoints = self._endpoints()
        campaigns: list[CampaignPlan] = []
        first_by_id: dict[str, SourceDoc] = {}
        for doc, spec in self.cfg.campaigns:
            if spec.id in first_by_id:
                other = first_by_id[spec.id]
                self.error(
                    "E301",
                    f'campaign id "{spec.id}" is already used by {other.path}',
                    doc.span(("id",)),
                    related=(other.span(("id",)),),
                    hint="campaign ids are unique across campaigns/; rename one",
                )
                continue
            first_by_id[spec.id] = doc
            plan = self._campaign(
                doc, spec, compliance, {p.id for p in policies}, {e.name for e in endpoints}
            )
            if plan is not None:
                campaigns.append(plan)
        for e, doc, loc in self._endpoint_docs.values():
            for i, name in enumerate(e.campaigns):
                if name not in first_by_id:
                    self.error(
                        "E329",
                        f'webhook endpoint "{e.name}" names unknown campaign "{name}"',
                        doc.span((*loc, "campaigns", i)),
                        hint=did_you_mean(name, set(first_by_id)) or None,
                    )
        storesets = sorted(
            (s.storeset for s in self.stores.values() if s.storeset is not None), key=lambda s: s.id
        )
        return Plan(
            campaigns=campaigns,
            policies=policies,
            storesets=storesets,
            endpoints=endpoints,
            compliance=compliance,
            config_commit=config_commit,
        )

    def _compliance(self) -> CompliancePolicy:
        found = [(d, s) for d, s in self.cfg.policies if isinstance(s, ComplianceSpec)]
        for doc, _ in found[1:]:
            self.error(
                "E304",
                f"a second compliance policy (the first is {found[0][0].path})",
                doc.span(("kind",)),
                hint="keep one kind: compliance file; every campaign must satisfy the same policy",
            )
        if not found:
            return CompliancePolicy()
        doc, spec = found[0]
        return CompliancePolicy(
            id=spec.id,
            allowed_domains=tuple(spec.allowed_domains),
            https_only=spec.https_only,
            max_segments=spec.max_segments,
            opt_out=tuple(spec.opt_out),
            banned_domains=tuple(spec.banned_domains),
            quiet_hours=QuietHours(
                parse_hhmm(spec.quiet_hours.start), parse_hhmm(spec.quiet_hours.end)
            )
            if spec.quiet_hours
            else None,
            categories={
                k: CategoryRules(
                    tuple(v.required_reviewers), tuple(v.require_phrases), v.forbid_attributes
                )
                for k, v in spec.categories.items()
            },
            source=doc.path,
        )

    def _bot_policies(self) -> list[BotPolicy]:
        out: dict[str, BotPolicy] = {}
        for doc, spec in self.cfg.policies:
            if isinstance(spec, BotPolicySpec):
                if spec.id in out:
                    self.error(
                        "E305",
                        f'bot policy id "{spec.id}" is already used by {out[spec.id].source}',
                        doc.span(("id",)),
                        hint="rename one of them",
                    )
                    continue
                record = spec.to_record(doc.path)
                try:
                    # The classifier is the last word on what runs: a policy the
                    # spec accepts but the worker could not load must not ship.
                    compile_policy(record)
                except PolicyError as exc:
                    self.error(
                        "E331",
                        f'bot policy "{spec.id}" cannot be compiled: {exc}',
                        doc.span(("id",)),
                        hint="see docs/bots.md for the signal kinds and their options",
                    )
                    continue
                out[spec.id] = record
        return [out[k] for k in sorted(out)]

    def _endpoints(self) -> list[Endpoint]:
        out: dict[str, Endpoint] = {}
        self._endpoint_docs: dict[str, tuple[Endpoint, SourceDoc, tuple[str | int, ...]]] = {}
        for doc, spec in self.cfg.policies:
            if isinstance(spec, WebhooksSpec):
                for i, record in enumerate(spec.to_records(doc.path)):
                    loc: tuple[str | int, ...] = ("endpoints", i)
                    if record.name in out:
                        self.error(
                            "E306",
                            f'webhook endpoint "{record.name}" is defined twice',
                            doc.span((*loc, "name")),
                            hint=f"the first is in {out[record.name].source}",
                        )
                        continue
                    out[record.name] = record
                    self._endpoint_docs[record.name] = (record, doc, loc)
        return [out[k] for k in sorted(out)]

    # ------------------------------------------------------------- campaign
    def _campaign(
        self,
        doc: SourceDoc,
        spec: CampaignSpec,
        compliance: CompliancePolicy,
        policy_ids: set[str],
        endpoint_names: set[str],
    ) -> CampaignPlan | None:
        before = len([d for d in self.diagnostics if d.severity == "error"])
        zone = spec.schedule.timezone
        if spec.bots not in policy_ids:
            self.error(
                "E302",
                f'unknown bot policy "{spec.bots}"',
                doc.span(("bots",)) if "bots" in doc.data else doc.head_span(),
                expected=f"one of {', '.join(sorted(policy_ids))}"
                if policy_ids
                else "a kind: bots file in policies/",
                hint=did_you_mean(spec.bots, policy_ids) or None,
            )
        for i, name in enumerate(spec.webhooks):
            if name not in endpoint_names:
                self.error(
                    "E303",
                    f'unknown webhook endpoint "{name}"',
                    doc.span(("webhooks", i)),
                    expected=f"one of {', '.join(sorted(endpoint_names))}"
                    if endpoint_names
                    else "an endpoint in a kind: webhooks file",
                    hint=did_you_mean(name, endpoint_names) or None,
                )
        # schedule
        sched = spec.schedule
        starts, ends, send_at = (_epoch(t, zone) for t in (sched.starts, sched.ends, sched.send_at))
        if starts is not None and ends is not None and starts >= ends:
            self.error(
                "E322",
                "the schedule ends before it starts",
                doc.span(("schedule", "ends")),
                expected="starts < ends",
            )
        if send_at is not None and starts is not None and send_at < starts:
            self.error(
                "E322",
                "send-at is before the campaign starts",
                doc.span(("schedule", "send-at")),
                hint="recipients would tap a link that is not live yet",
            )
        if send_at is not None and ends is not None and send_at >= ends:
            self.error(
                "E322", "send-at is after the campaign ends", doc.span(("schedule", "send-at"))
            )
        retain_until = ends + duration_seconds(sched.retain) if ends is not None else None
        # audience
        aud = spec.audience
        attrs = list(aud.attributes)
        for i, name in enumerate(attrs):
            if is_pii_field(name):
                self.error(
                    "E406",
                    f'attribute "{name}" is named like personal data',
                    doc.span(("audience", "attributes", i)),
                    hint="attributes are kept in the snapshot and may reach URLs; keep only non-PII columns such as tier or segment",
                )
            if attrs.index(name) != i:
                self.error(
                    "E207",
                    f'attribute "{name}" is listed twice',
                    doc.span(("audience", "attributes", i)),
                )
        if aud.contact_id and is_pii_field(aud.contact_id):
            self.error(
                "E406",
                f'contact-id column "{aud.contact_id}" is named like personal data',
                doc.span(("audience", "contact-id")),
                hint="the contact id is stored in the snapshot; use an opaque CRM id",
            )
        # stores
        stores = None
        store_policy = None
        if spec.stores is not None:
            stores = self._stores(doc, spec.stores.path)
            set_id = (
                stores.storeset.id if stores is not None and stores.storeset is not None else ""
            )
            store_policy = StorePolicy(
                storeset=set_id,
                order=list(spec.stores.order),
                max_km=spec.stores.max_km,
                max_accuracy_km=spec.stores.max_accuracy_km,
            )
            if "home" in spec.stores.order and not aud.home_store:
                self.error(
                    "E313",
                    "stores.order has home but the audience names no home-store column",
                    doc.span(("stores", "order")),
                    expected="audience.home-store: <column>",
                    hint="add `home-store: store_id` under audience, or remove home from order",
                )
        # variants
        arms: list[VariantArm] = []
        if spec.variants is not None:
            seen: set[str] = set()
            for i, arm in enumerate(spec.variants.arms):
                if arm.name in seen:
                    self.error(
                        "E321",
                        f'variant "{arm.name}" is listed twice',
                        doc.span(("variants", "arms", i, "name")),
                    )
                seen.add(arm.name)
                arms.append(VariantArm(name=arm.name, weight=arm.weight, holdout=arm.holdout))
            if all(a.holdout for a in arms):
                self.error(
                    "E321",
                    "every variant is a holdout: nobody would be messaged",
                    doc.span(("variants", "arms")),
                )
        ctx = _Ctx(self, doc, spec, attrs, stores, {a.name for a in arms})
        # utm
        utm: dict[str, Parts] = {}
        lint_utm = []
        for key, value in spec.utm.items():
            parts = ctx.parts(value, ("utm", key))
            if parts is not None:
                utm[key] = parts
                lint_utm.append((doc.span(("utm", key)), key, parts.literal_text()))
        ctx.utm = utm
        # routes
        rules: list[Rule] = []
        ids: dict[str, int] = {}
        conds_per_rule: list[list[Condition]] = []
        for i, rule in enumerate(spec.routes):
            loc = ("routes", i)
            if rule.id in ids:
                self.error(
                    "E318",
                    f'rule id "{rule.id}" is used twice in this campaign',
                    doc.span((*loc, "id")),
                    hint=f"the first is at line {doc.span(('routes', ids[rule.id], 'id')).line}",
                )
            ids.setdefault(rule.id, i)
            conditions = ctx.conditions(rule.when, (*loc, "when"))
            closed: Template | None = None
            if isinstance(rule.to, OpenClosedSpec):
                if not any(isinstance(c, HasStore) for c in conditions):
                    conditions.append(HasStore())
                ctx.need_stores((*loc, "to"), "open/closed destinations")
                to = ctx.destination(rule.to.open, (*loc, "to", "open"))
                closed = ctx.destination(rule.to.closed, (*loc, "to", "closed"))
            else:
                to = ctx.destination(rule.to, (*loc, "to"))
            conds_per_rule.append(conditions)
            for j in range(i):
                if _covers(conds_per_rule[j], conditions):
                    earlier = spec.routes[j]
                    self.error(
                        "E317",
                        f'rule "{rule.id}" can never match: rule "{earlier.id}" above it matches every click it would',
                        doc.span((*loc, "id")),
                        related=(doc.span(("routes", j, "id")),),
                        hint=f'move "{rule.id}" above "{earlier.id}", or narrow "{earlier.id}"',
                    )
                    break
            rules.append(
                Rule(
                    id=rule.id,
                    when=conditions,
                    to=to or Template([""]),
                    line=doc.span(loc).line,
                    closed=closed,
                )
            )
        catch_all = next(
            (r for r, c in zip(spec.routes, conds_per_rule, strict=True) if not c), None
        )
        link_warnings: list[Diagnostic] = []
        if catch_all is not None:
            link_warnings.append(
                Diagnostic(
                    "E330",
                    "warning",
                    f'rule "{catch_all.id}" has no conditions, so the default route is never used',
                    doc.span(("default",)),
                    hint=f'make "{catch_all.id}" the default, or give it conditions',
                )
            )
        default = ctx.destination(spec.default, ("default",))
        not_yet_live = (
            ctx.destination(spec.not_yet_live, ("not-yet-live",)) if spec.not_yet_live else None
        )
        expired = ctx.destination(spec.expired, ("expired",)) if spec.expired else None
        preview = None
        if spec.preview is not None:
            preview = Preview(
                title=spec.preview.title,
                description=spec.preview.description,
                image=spec.preview.image,
            )
        # lints
        lint_in = LintInput(
            campaign_id=spec.id,
            name=spec.name,
            message=spec.message,
            message_span=doc.span(("message",)),
            domains=list(spec.link.domains),
            domains_span=doc.span(("link", "domains")),
            token_length=spec.link.token_length,
            brand=spec.brand,
            attributes=attrs,
            region=aud.region,
            category=spec.category,
            category_span=doc.span(("category",)) if spec.category else None,
            timezone=zone,
            send_at=sched.send_at,
            send_at_span=doc.span(("schedule", "send-at")) if sched.send_at else None,
            destinations=ctx.lint_destinations,
            utm=lint_utm,
            preview_image=(doc.span(("preview", "image")), spec.preview.image)
            if spec.preview and spec.preview.image
            else None,
        )
        message, found = lint_campaign(lint_in, compliance)
        found = link_warnings + found
        self.diagnostics.extend(found)
        findings = [
            Finding(code=d.code, severity=d.severity, message=d.summary)
            for d in found
            if d.severity != "error"
        ]
        errors_now = len([d for d in self.diagnostics if d.severity == "error"])
        if errors_now > before or default is None:
            return None
        record = Campaign(
            id=spec.id,
            name=spec.name,
            owner=spec.owner,
            brand=spec.brand,
            domains=list(spec.link.domains),
            routes=rules,
            default=default,
            campaign_token="",
            category=spec.category,
            starts_at=starts,
            ends_at=ends,
            retain_until=retain_until,
            send_at=send_at,
            timezone=zone,
            attr_names=attrs,
            variants=arms,
            experiment=(spec.variants.experiment or spec.id) if spec.variants else "",
            preview=preview,
            not_yet_live=not_yet_live,
            expired=expired,
            bot_policy=spec.bots,
            webhooks=list(spec.webhooks),
            stores=store_policy,
            utm=dict(spec.utm),
            audience=aud.name,
            message=message,
            findings=findings,
            source=doc.path,
        )
        binding = AudienceBinding(
            name=aud.name,
            region=aud.region,
            phone_column=aud.phone,
            contact_id_column=aud.contact_id,
            timezone_column=aud.timezone,
            home_store_column=aud.home_store,
            attributes=tuple(attrs),
        )
        return CampaignPlan(
            record=record,
            audience=binding,
            message_template=spec.message,
            token_length=spec.link.token_length,
            source=doc.path,
        )

    def _stores(self, doc: SourceDoc, rel: str) -> LoadedStores | None:
        rel = posixpath.normpath(rel.replace("\\", "/"))
        if rel in self.stores:
            return self.stores[rel]
        root = self.cfg.root
        path = (root / rel).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            folder = (root / rel).parent
            choices = (
                sorted(p.relative_to(root).as_posix() for p in folder.glob("*") if p.is_file())
                if folder.is_dir() and folder.resolve().is_relative_to(root.resolve())
                else []
            )
            self.error(
                "E307",
                f'store list "{rel}" not found',
                doc.span(("stores", "list")),
                expected="a CSV or YAML file inside the repository",
                hint=did_you_mean(rel, choices)
                or (f"files there: {', '.join(choices[:5])}" if choices else None),
            )
            self.stores[rel] = LoadedStores(None)
            return self.stores[rel]
        set_id = storeset_id(rel)
        if any(s.storeset is not None and s.storeset.id == set_id for s in self.stores.values()):
            set_id = rel  # two lists with the same name in different folders
        loaded = load_stores(root, rel, set_id)
        if loaded.text is not None:
            self.sources[rel] = loaded.text
        self.diagnostics.extend(loaded.diagnostics)
        self.stores[rel] = loaded
        return loaded


@dataclass
class _Ctx:
    """Per-campaign helpers for conditions and templates."""

    linker: _Linker
    doc: SourceDoc
    spec: CampaignSpec
    attrs: list[str]
    stores: LoadedStores | None
    arms: set[str]
    utm: dict[str, Parts] = field(default_factory=dict)
    lint_destinations: list[tuple[SourceSpan, Destination]] = field(default_factory=list)

    @property
    def template_context(self) -> dict[str, dict[str, str]]:
        return {"campaign": {"id": self.spec.id}}

    def need_stores(self, loc: tuple[str | int, ...], what: str) -> None:
        if self.spec.stores is None:
            self.linker.error(
                "E314",
                f"{what} need a store list, and this campaign has none",
                self.doc.span(loc),
                hint="add a `stores:` section with `list: stores/<file>.csv`",
            )

    def check_attr(self, name: str, loc: tuple[str | int, ...]) -> None:
        if name not in self.attrs:
            self.linker.error(
                "E316",
                f'attribute "{name}" is not declared in audience.attributes',
                self.doc.span(loc),
                expected=f"one of {', '.join(self.attrs)}"
                if self.attrs
                else "a column listed under audience.attributes",
                hint=did_you_mean(name, self.attrs) or f"add {name} to audience.attributes",
            )

    def check_slots(self, slots: list[str], loc: tuple[str | int, ...]) -> None:
        for slot in slots:
            if slot.startswith("store."):
                self.need_stores(loc, f'"{{{{ {slot} }}}}"')
                field_name = slot[6:]
                if (
                    self.stores is not None
                    and self.stores.storeset is not None
                    and field_name not in self.stores.fields
                ):
                    self.linker.error(
                        "E315",
                        f'the store list has no "{field_name}" column',
                        self.doc.span(loc),
                        expected=f"one of {', '.join('store.' + f for f in sorted(self.stores.fields))}",
                        hint=did_you_mean(field_name, self.stores.fields) or None,
                    )
            elif slot.startswith("attr."):
                self.check_attr(slot[5:], loc)
            elif slot == "variant" and not self.arms:
                self.linker.error(
                    "E319",
                    "{{ variant }} is used but the campaign has no variants",
                    self.doc.span(loc),
                    hint="add a `variants:` section or remove {{ variant }}",
                )

    def parts(self, source: str, loc: tuple[str | int, ...]) -> Parts | None:
        try:
            parts = parse_parts(source, self.template_context)
        except TemplateProblem as p:
            self._problem(p, loc)
            return None
        self.check_slots(parts.slots, loc)
        return parts

    def destination(self, source: str | None, loc: tuple[str | int, ...]) -> Template | None:
        if source is None:
            return None
        try:
            dest = compile_destination(source, self.utm, self.template_context)
        except TemplateProblem as p:
            self._problem(p, loc)
            return None
        self.check_slots(list(dest.slots), loc)
        self.lint_destinations.append((self.doc.span(loc), dest))
        return dest.template

    def _problem(self, p: TemplateProblem, loc: tuple[str | int, ...]) -> None:
        self.linker.error(
            p.code, p.summary, self.doc.span(loc), expected=p.expected or None, hint=p.hint or None
        )

    def conditions(self, when: WhenSpec, loc: tuple[str | int, ...]) -> list[Condition]:
        out: list[Condition] = []
        acc = when.accuracy_km
        if acc is not None and not (when.country or when.region or when.city or when.within):
            self.linker.error(
                "E207",
                "accuracy-km only applies to country, region, city or within",
                self.doc.span((*loc, "accuracy-km")),
            )
        if when.country:
            out.append(Country(values=_many(when.country), max_accuracy_km=acc))
        if when.region:
            out.append(Region(values=_many(when.region), max_accuracy_km=acc))
        if when.city:
            out.append(City(values=_many(when.city), max_accuracy_km=acc))
        if when.within:
            out.append(
                Within(
                    lat=when.within.lat, lon=when.within.lon, km=when.within.km, max_accuracy_km=acc
                )
            )
        if when.device:
            values = [when.device] if isinstance(when.device, str) else list(when.device)
            out.append(Device(values=[str(v) for v in values]))
        if when.language:
            out.append(Language(values=[v.lower() for v in _many(when.language)]))
        if when.time or when.days:
            start, end = parse_window(when.time) if when.time else (0, 1440)
            out.append(LocalTime(start=start, end=end, days=day_numbers(when.days)))
        if when.after or when.before:
            zone = self.spec.schedule.timezone
            after, before = _epoch(when.after, zone), _epoch(when.before, zone)
            if after is not None and before is not None and after >= before:
                self.linker.error(
                    "E322",
                    "the date window is empty (after is not before before)",
                    self.doc.span((*loc, "before")),
                )
            out.append(Dates(after=after, before=before))
        for negate, mapping, key in ((False, when.attr, "attr"), (True, when.attr_not, "attr-not")):
            for name, wanted in (mapping or {}).items():
                self.check_attr(name, (*loc, key, name))
                out.append(Attr(name=name, values=_many(wanted), negate=negate))
        if when.variant:
            if not self.arms:
                self.linker.error(
                    "E319",
                    "a variant condition needs a `variants:` section",
                    self.doc.span((*loc, "variant")),
                )
            else:
                for i, v in enumerate(_many(when.variant)):
                    if v not in self.arms:
                        sub = (
                            (*loc, "variant", i)
                            if isinstance(when.variant, list)
                            else (*loc, "variant")
                        )
                        self.linker.error(
                            "E320",
                            f'unknown variant "{v}"',
                            self.doc.span(sub),
                            expected=f"one of {', '.join(sorted(self.arms))}",
                            hint=did_you_mean(v, self.arms) or None,
                        )
            out.append(Variant(values=_many(when.variant)))
        if when.store is not None:
            self.need_stores((*loc, "store"), "store conditions")
            if isinstance(when.store, StoreWithinSpec):
                out.append(HasStore(within_km=when.store.within_km))
            else:
                out.append(HasStore())
                if when.store in ("open", "closed"):
                    out.append(StoreOpen(open=when.store == "open"))
        return out


def _many(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _epoch(value: datetime | None, zone: str) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return int(value.timestamp())


_LIST_KINDS = (Country, Region, City, Device, Language, Variant)


def _covers(earlier: list[Condition], later: list[Condition]) -> bool:
    """True when every click matching ``later`` also matches ``earlier``: each of
    the earlier rule's conditions is implied by one of the later rule's (an
    equal condition, or the same kind with a subset of its values)."""
    return all(any(_implies(b, a) for b in later) for a in earlier)


def _implies(b: Condition, a: Condition) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, _LIST_KINDS) and isinstance(b, _LIST_KINDS):
        same_accuracy = getattr(a, "max_accuracy_km", None) == getattr(b, "max_accuracy_km", None)
        return same_accuracy and set(b.values) <= set(a.values)
    if isinstance(a, Attr) and isinstance(b, Attr):
        if a.name != b.name or a.negate != b.negate:
            return False
        return set(b.values) <= set(a.values) if not a.negate else set(a.values) <= set(b.values)
    return msgspec.msgpack.encode(a) == msgspec.msgpack.encode(b)


__all__ = ["LinkResult", "StoreSet", "link_config", "load_plan"]
