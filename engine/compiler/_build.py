"""build -> write: a linked Plan plus the audiences into a snapshot and a send manifest.

For each campaign the audience is streamed once: every accepted recipient gets
its token (the one the previous snapshot issued, or a new random one), its
variant, home store, zone and attributes, and, unless it is in a holdout arm, a
manifest row with its rendered message. Recipients who left the audience, and
campaigns removed from config, keep their tokens as ``retired`` until their
campaign's ``retain_until``; after that a token is forgotten.

Nothing reaches the output folder until everything succeeded: the snapshot is
written to a staging name and the manifest to a private temporary file, and
both are renamed into place at the end. Deterministic for a fixed clock,
recipient key and entropy source (golden tests inject all three).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Container, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

# The arm of each token is engine.routing's assign_variant; its steps are used
# directly so the weights are accumulated once per campaign, not per recipient
# (test_build checks that both give the same arm for every recipient).
from engine.routing import cumulative_weights, pick_arm, variant_point
from engine.snapshot import (
    BotPolicy,
    Campaign,
    Message,
    Meta,
    SnapshotError,
    StoreSet,
    open_snapshot,
    resolve_pointer,
)

from ._audience import AudienceError, AudienceStats, RecipientIds, load_suppression, stream_audience
from ._manifest import ManifestError, ManifestWriter, check_location, csv_field
from ._plan import CampaignPlan, Plan
from ._render import MessageError, MessageRenderer
from ._tokens import Ledger, RandBytes, TokenMinter
from ._writer import SnapshotWriter

SNAPSHOT_NAME = "snapshot.lmdb"
MANIFEST_NAME = "manifest.csv"

CompileError = (AudienceError, ManifestError, MessageError, SnapshotError)


class BindingError(AudienceError):
    """A campaign's audience name was not bound with ``--audience NAME=PATH``."""


@dataclass(frozen=True)
class BuildOptions:
    """How to compile. Every field has a production default; tests inject the rest."""

    out: Path  # folder receiving snapshot.lmdb and manifest.csv
    audiences: Mapping[str, Path]  # audience name -> CSV (from --audience NAME=PATH)
    # The ledger of issued tokens. None: <out>/snapshot.lmdb when it exists.
    # A publish folder or its `current` pointer works too.
    previous: Path | None = None
    suppression: Path | None = None  # opt-out list; its numbers are dropped from every audience
    recipient_key: bytes | None = None  # HMAC key for recipient ids (needed without contact ids)
    clock: datetime | None = None  # build time and retention cut-off; None: now
    randbytes: RandBytes | None = None  # entropy for tokens; None: secrets.token_bytes
    engine_version: str = ""
    manifest: Path | None = None  # None: <out>/manifest.csv
    # Refuse a manifest path inside a git work tree that git does not ignore.
    # Only unit tests, which must not start subprocesses, turn it off.
    check_git: bool = True


@dataclass
class CampaignSummary:
    """What the compile did for one campaign (counts only: no number, no recipient token)."""

    id: str
    audience: str
    recipients: int = 0  # active recipients with a token
    messaged: int = 0  # manifest rows (holdout recipients are not messaged)
    holdout: int = 0
    new_tokens: int = 0
    kept_tokens: int = 0  # active recipients whose token came from the previous snapshot
    retired_tokens: int = 0  # recipients gone from the audience, token kept until retention
    forgotten_tokens: int = 0  # recipients gone and past retention: token dropped
    over_segments: int = 0  # messages longer than the compliance policy's max segments
    ucs2: int = 0  # messages sent as UCS-2
    max_segments: int = 0  # longest message, in segments
    variants: dict[str, int] = field(default_factory=dict)
    stats: AudienceStats | None = None
    retired: bool = False  # removed from config, kept until its retention ends

    def to_dict(self) -> dict[str, object]:
        d = {k: v for k, v in self.__dict__.items() if k != "stats"}
        d["audience_stats"] = self.stats.to_dict() if self.stats else None
        return d


@dataclass
class BuildResult:
    """The outcome of a successful compile."""

    meta: Meta
    snapshot: Path
    manifest: Path
    snapshot_bytes: int
    campaigns: list[CampaignSummary]
    forgotten_campaigns: list[str]  # removed from config and past retention
    suppression_unreadable: int = 0
    previous: Path | None = None
    # Wall and CPU seconds per stage and process (the benchmark prints them).
    timings: dict[str, float] = field(default_factory=dict)


class _Taken:
    """Every token already issued: this compile's and the previous snapshot's."""

    def __init__(self, issued: dict[str, tuple[int, str]], ledger: Ledger) -> None:
        self._issued = issued
        self._snap = ledger.snapshot

    def __contains__(self, token: object) -> bool:
        if token in self._issued:
            return True
        return self._snap is not None and isinstance(token, str) and self._snap.lookup(token) is not None


class _Profiles:
    """Interned (campaign, variant, store, zone, attrs, retired) tuples: millions of records share a few."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, int, int, int, tuple[str, ...], bool], int] = {}
        self.items: list[tuple[int, int, int, int, list[str], bool]] = []

    def id(self, ci: int, variant: int, store: int, zone: int, attrs: tuple[str, ...], retired: bool) -> int:
        key = (ci, variant, store, zone, attrs, retired)
        pid = self.ids.get(key)
        if pid is None:
            pid = self.ids[key] = len(self.items)
            self.items.append((ci, variant, store, zone, list(attrs), retired))
        return pid


def _variant_points(experiment: str) -> Callable[[str], float]:
    """``variant_point(token, experiment)`` with the salted hash state prepared once."""
    probe = "2345abcd"
    try:
        base = hashlib.blake2b(experiment.encode() + b"\x00", digest_size=8, person=b"smslink-variant")

        def point(token: str) -> float:
            h = base.copy()
            h.update(token.encode())
            return int.from_bytes(h.digest(), "big") / _SCALE

        if point(probe) == variant_point(probe, experiment):
            return point
    except (TypeError, ValueError):
        pass
    return lambda token: variant_point(token, experiment)  # routing changed its hash: follow it


_SCALE = float(1 << 64)


def resolve_previous(opts: BuildOptions) -> Path | None:
    """The snapshot to read issued tokens from, or None for a first compile."""
    if opts.previous is not None:
        return opts.previous
    default = opts.out / SNAPSHOT_NAME
    return default if default.exists() else None


def compile_plan(plan: Plan, opts: BuildOptions) -> BuildResult:
    """Build the snapshot and the manifest for ``plan`` into ``opts.out``.

    Raises
    ------
    AudienceError, ManifestError, MessageError, SnapshotError
        User-facing problems (exit 1). Nothing is written in that case.
    """
    for cp in plan.campaigns:
        if cp.audience.name not in opts.audiences:
            raise BindingError(
                f"campaign {cp.record.id!r} ({cp.source or cp.record.source}) needs audience "
                f"{cp.audience.name!r}: pass --audience {cp.audience.name}=PATH.csv"
            )
    manifest_path = opts.manifest or opts.out / MANIFEST_NAME
    if opts.check_git:
        check_location(manifest_path)
    now = (opts.clock or datetime.now(UTC)).astimezone(UTC)
    now_s = int(now.timestamp())
    prev_path = resolve_previous(opts)
    snap = open_snapshot(prev_path) if prev_path is not None else None
    stack = ExitStack()
    if snap is not None:
        stack.callback(snap.close)
    with stack:
        ledger = Ledger.from_snapshot(snap) if snap is not None else Ledger.empty()
        # Forked now, before any audience or opt-out list is read (see _writer.py).
        writer = SnapshotWriter()
        stack.callback(writer.close)
        suppressed: set[int] = set()
        unreadable = 0
        if opts.suppression is not None:
            regions = {cp.audience.region for cp in plan.campaigns} or {"US"}
            for region in sorted(regions):
                hashes, bad = load_suppression(opts.suppression, region)
                suppressed |= hashes
                unreadable = max(unreadable, bad)
        ids = RecipientIds(opts.recipient_key) if opts.recipient_key else None
        builder = _Builder(plan, opts, ledger, now_s, suppressed, ids)
        opts.out.mkdir(parents=True, exist_ok=True)
        staging = opts.out / f".{SNAPSHOT_NAME}.staging-{os.getpid()}"
        with ManifestWriter(manifest_path, check=False) as manifest:  # checked above
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                campaigns, summaries, forgotten = builder.build(manifest)
                t1, c1 = time.perf_counter(), time.process_time()
                policies, storesets = builder.carried(campaigns)
                meta = writer.write(
                    staging,
                    campaigns=campaigns,
                    profiles=builder.profiles.items,
                    **builder.columns(),
                    policies=policies,
                    storesets=storesets,
                    endpoints=plan.endpoints,
                    config_commit=plan.config_commit,
                    built_at=now,
                    engine_version=opts.engine_version,
                    extra_counts={
                        "recipients": sum(s.recipients for s in summaries),
                        "retired_campaigns": sum(1 for c in campaigns if c.retired),
                    },
                )
                t2, c2 = time.perf_counter(), time.process_time()
                final = opts.out / SNAPSHOT_NAME
                os.replace(staging, final)
            except BaseException:
                staging.unlink(missing_ok=True)
                raise
            manifest.commit()
        timings = {
            "build_wall_s": t1 - t0,
            "build_cpu_s": c1 - c0,
            "write_wall_s": t2 - t1,
            "write_cpu_s": c2 - c1,
            "reader_cpu_s": sum(s.stats.reader_cpu_s for s in summaries if s.stats),
            "writer_cpu_s": writer.cpu_s,
            "commit_wall_s": time.perf_counter() - t2,
        }
    return BuildResult(
        meta=meta,
        snapshot=final,
        manifest=manifest_path,
        snapshot_bytes=final.stat().st_size,
        campaigns=summaries,
        forgotten_campaigns=forgotten,
        suppression_unreadable=unreadable,
        previous=resolve_pointer(prev_path) if prev_path is not None else None,
        timings=timings,
    )


class _Builder:
    def __init__(
        self,
        plan: Plan,
        opts: BuildOptions,
        ledger: Ledger,
        now_s: int,
        suppressed: set[int],
        ids: RecipientIds | None,
    ) -> None:
        self.plan = plan
        self.opts = opts
        self.ledger = ledger
        self.now_s = now_s
        self.suppressed = suppressed
        self.ids = ids
        self.issued: dict[str, tuple[int, str]] = {}  # token -> (profile id, recipient id)
        self.profiles = _Profiles()
        self.minter = TokenMinter(opts.randbytes)
        # Without a previous snapshot the issued table alone says what is taken (a C-level lookup).
        self.taken: Container[str] = _Taken(self.issued, ledger) if ledger.snapshot else self.issued
        self.storesets = {s.id: s for s in plan.storesets}

    def _retained(self, c: Campaign) -> bool:
        return c.retain_until is None or self.now_s < c.retain_until

    def build(self, manifest: ManifestWriter) -> tuple[list[Campaign], list[CampaignSummary], list[str]]:
        campaigns: list[Campaign] = []
        summaries: list[CampaignSummary] = []
        for ci, cp in enumerate(self.plan.campaigns):
            record, summary = self._campaign(ci, cp, manifest)
            campaigns.append(record)
            summaries.append(summary)
        live = {cp.record.id for cp in self.plan.campaigns}
        forgotten: list[str] = []
        for cid in sorted(self.ledger.campaigns):
            if cid in live:
                continue
            prev = self.ledger.campaigns[cid]
            if not self._retained(prev.record):
                forgotten.append(cid)
                continue
            ci = len(campaigns)
            campaigns.append(msgspec.structs.replace(prev.record, retired=True, recipients=0))
            summary = CampaignSummary(id=cid, audience=prev.record.audience, retired=True)
            for token, rec in self.ledger.records(cid):
                pid = self.profiles.id(ci, rec.variant, rec.store, rec.zone, tuple(rec.attrs), True)
                self.issued[token] = (pid, rec.recipient)
                if rec.recipient:
                    summary.retired_tokens += 1
            summaries.append(summary)
        return campaigns, summaries, forgotten

    def carried(self, campaigns: list[Campaign]) -> tuple[list[BotPolicy], list[StoreSet]]:
        """The plan's policies and store sets, plus those only retired campaigns still use."""
        policies = list(self.plan.policies)
        storesets = list(self.plan.storesets)
        snap = self.ledger.snapshot
        if snap is None:
            return policies, storesets
        have_p = {p.id for p in policies}
        have_s = {s.id for s in storesets}
        for c in campaigns:
            if not c.retired:
                continue
            if c.bot_policy not in have_p and c.bot_policy in snap.policies:
                policies.append(snap.policies[c.bot_policy])
                have_p.add(c.bot_policy)
            sid = c.stores.storeset if c.stores else None
            if sid and sid not in have_s and sid in snap.storesets:
                storesets.append(snap.storesets[sid])
                have_s.add(sid)
        return policies, storesets

    def _campaign(
        self, ci: int, cp: CampaignPlan, manifest: ManifestWriter
    ) -> tuple[Campaign, CampaignSummary]:
        rec = cp.record
        binding = cp.audience
        prev = self.ledger.campaigns.get(rec.id)
        prev_tokens = prev.tokens if prev is not None else {}
        summary = CampaignSummary(id=rec.id, audience=binding.name)
        summary.stats = AudienceStats(name=binding.name)
        issued, profiles, minter, taken = self.issued, self.profiles, self.minter, self.taken
        profile_ids = profiles.ids
        length = cp.token_length

        campaign_token = prev.record.campaign_token if prev is not None else ""
        if not campaign_token:
            campaign_token = minter.mint(length, taken)
        issued[campaign_token] = (profiles.id(ci, -1, -1, -1, (), False), "")

        domain = rec.domains[0]
        base = f"https://{domain}/"
        storeset = self.storesets.get(rec.stores.storeset) if rec.stores else None
        store_pos = {s.id: i for i, s in enumerate(storeset.stores)} if storeset else {}
        zones: list[str] = []
        zone_pos: dict[str, int] = {}
        arms = list(rec.variants)
        experiment = rec.experiment
        holdout = [a.holdout for a in arms]
        bounds = cumulative_weights(arms)
        point = _variant_points(experiment)
        arm_names = [a.name for a in arms]
        variant_counts = [0] * len(arms)
        # TokenRecord.attrs follows Campaign.attr_names; the audience reads binding.attributes.
        read_names = list(binding.attributes)
        keep = [read_names.index(n) if n in read_names else -1 for n in rec.attr_names]
        identity = keep == list(range(len(read_names)))
        renderer = MessageRenderer(
            cp.message_template, {"brand": rec.brand, "name": rec.name, "id": rec.id}, read_names
        )
        max_seg = self.plan.compliance.max_segments
        render_csv = renderer.render_csv
        quote_ids = binding.contact_id_column is not None  # keyed hashes never need quotes
        tails = [f",{csv_field(rec.id)},{csv_field(n)}\n" for n in arm_names] + [f",{csv_field(rec.id)},\n"]
        lines: list[str] = []
        rows = stream_audience(
            self.opts.audiences[binding.name],
            binding,
            summary.stats,
            recipient_ids=self.ids,
            suppressed=self.suppressed,
            store_ids=frozenset(store_pos) if binding.home_store_column else None,
        )
        recipients = new = kept = held = over = ucs2 = longest = 0
        for _row, phone, rid, r_attrs, r_zone, r_store in rows:
            token = prev_tokens.pop(rid, None) if prev_tokens else None
            if token is None:
                token = minter.mint(length, taken)
                new += 1
            else:
                kept += 1
            variant = pick_arm(point(token), bounds) if arms else -1
            if r_zone is None:
                zi = -1
            else:
                zi = zone_pos.get(r_zone, -1)
                if zi < 0:
                    zi = zone_pos[r_zone] = len(zones)
                    zones.append(r_zone)
            si = store_pos.get(r_store, -1) if r_store is not None else -1
            attrs = r_attrs if identity else tuple([r_attrs[k] if k >= 0 else "" for k in keep])
            key = (ci, variant, si, zi, attrs, False)
            pid = profile_ids.get(key)
            if pid is None:
                pid = profiles.id(*key)
            issued[token] = (pid, rid)
            recipients += 1
            if variant >= 0:
                variant_counts[variant] += 1
                if holdout[variant]:
                    held += 1
                    continue
            link = base + token
            text, m = render_csv(link, r_attrs)
            if m.segments > max_seg:
                over += 1
            if m.encoding == "UCS-2":
                ucs2 += 1
            if m.segments > longest:
                longest = m.segments
            lines.append(
                (csv_field(rid) if quote_ids else rid) + "," + phone + "," + text + "," + link + tails[variant]
            )
            if len(lines) >= 8192:
                manifest.add_lines(lines)
                lines = []
        manifest.add_lines(lines)

        summary.recipients, summary.new_tokens, summary.kept_tokens = recipients, new, kept
        summary.holdout, summary.messaged = held, recipients - held
        summary.over_segments, summary.ucs2, summary.max_segments = over, ucs2, longest
        summary.variants = dict(zip(arm_names, variant_counts, strict=True))

        if prev is not None and prev_tokens:
            self._retire(ci, cp, prev.record, summary, zones, zone_pos, store_pos)

        message = rec.message or self._message(cp, base + campaign_token, read_names)
        record = msgspec.structs.replace(
            rec,
            campaign_token=campaign_token,
            zones=zones,
            recipients=recipients,
            message=message,
            audience=rec.audience or binding.name,
            source=rec.source or cp.source,
            retired=False,
        )
        return record, summary

    def _retire(
        self,
        ci: int,
        cp: CampaignPlan,
        old: Campaign,
        summary: CampaignSummary,
        zones: list[str],
        zone_pos: dict[str, int],
        store_pos: dict[str, int],
    ) -> None:
        """Recipients the previous snapshot knew and the audience no longer has."""
        rec = cp.record
        if not self._retained(rec):
            summary.forgotten_tokens = sum(1 for _ in self.ledger.leftovers(rec.id))
            return
        old_store_ids: list[str] = []
        if old.stores is not None:
            old_set = self.ledger.storesets.get(old.stores.storeset)
            if old_set is not None:
                old_store_ids = [s.id for s in old_set.stores]
        new_arms = [a.name for a in rec.variants]
        old_arms = [a.name for a in old.variants]
        for token, prev_rec in self.ledger.leftovers(rec.id):
            zi = -1
            if 0 <= prev_rec.zone < len(old.zones):
                zone = old.zones[prev_rec.zone]
                zi = zone_pos.get(zone, -1)
                if zi < 0:
                    zi = zone_pos[zone] = len(zones)
                    zones.append(zone)
            si = -1
            if 0 <= prev_rec.store < len(old_store_ids):
                si = store_pos.get(old_store_ids[prev_rec.store], -1)
            vi = -1
            if 0 <= prev_rec.variant < len(old_arms) and old_arms[prev_rec.variant] in new_arms:
                vi = new_arms.index(old_arms[prev_rec.variant])
            old_attrs = dict(zip(old.attr_names, prev_rec.attrs, strict=False))
            attrs = tuple(old_attrs.get(n, "") for n in rec.attr_names)
            pid = self.profiles.id(ci, vi, si, zi, attrs, True)
            self.issued[token] = (pid, prev_rec.recipient)
            summary.retired_tokens += 1

    def _message(self, cp: CampaignPlan, link: str, attr_names: list[str]) -> Message:
        """The campaign's Message record, when the linker did not fill it."""
        renderer = MessageRenderer(
            cp.message_template, {"brand": cp.record.brand, "name": cp.record.name, "id": cp.record.id},
            attr_names,
        )
        text, m = renderer.render(link, tuple("" for _ in attr_names))
        phrases = self.plan.compliance.opt_out or ("stop",)
        low = text.lower()
        return Message(
            template=cp.message_template,
            sample=text,
            encoding=m.encoding,
            segments=m.segments,
            link_length=len(link),
            has_opt_out=any(p.lower() in low for p in phrases),
        )

    def columns(self) -> dict[str, Any]:
        """Every token in order, with its profile id and recipient id (``_writer`` makes the records)."""
        issued = self.issued
        tokens = sorted(issued)
        values = [issued[t] for t in tokens]
        return {"tokens": tokens, "pids": [v[0] for v in values], "rids": [v[1] for v in values]}
