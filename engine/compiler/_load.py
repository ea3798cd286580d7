"""Stage 1 and 2: load (files -> YAML with positions) and validate (YAML -> specs).

Every problem of the run is collected; nothing stops at the first error, so an
author fixes a pull request in one round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.diagnostics import Diagnostic, DiagnosticsError, SourceSpan
from engine.spec import (
    POLICY_KINDS,
    CampaignSpec,
    SourceDoc,
    SpecModel,
    did_you_mean,
    load_yaml,
    parse_spec,
)

CAMPAIGN_DIR = "campaigns"
POLICY_DIR = "policies"
_SUFFIXES = (".yaml", ".yml")


@dataclass
class LoadedConfig:
    """The validated specs of one repository, with their source documents."""

    root: Path
    campaigns: list[tuple[SourceDoc, CampaignSpec]] = field(default_factory=list)
    policies: list[tuple[SourceDoc, SpecModel]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # repository path -> text
    diagnostics: list[Diagnostic] = field(default_factory=list)


def config_files(root: Path, folder: str) -> list[Path]:
    """The YAML files directly in ``root/folder``, sorted by name."""
    base = root / folder
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.suffix in _SUFFIXES and p.is_file())


def load_config(root: Path) -> LoadedConfig:
    """Read and validate campaigns/*.yaml and policies/*.yaml under ``root``.

    Problems are collected in ``LoadedConfig.diagnostics``; the specs of the
    files that validated are returned, so the link stage can still check them.
    """
    cfg = LoadedConfig(root=root)
    if not (root / CAMPAIGN_DIR).is_dir() and not (root / POLICY_DIR).is_dir():
        cfg.diagnostics.append(
            Diagnostic(
                "E109",
                "error",
                f"no {CAMPAIGN_DIR}/ or {POLICY_DIR}/ folder in {root}",
                None,
                expected="a repository with campaigns/*.yaml and policies/*.yaml",
                hint="run from the repository root or pass --root",
            )
        )
        return cfg
    for path in config_files(root, CAMPAIGN_DIR):
        doc = _read(root, path, cfg)
        if doc is None:
            continue
        spec, problems = parse_spec(doc, CampaignSpec)
        cfg.diagnostics.extend(problems)
        if spec is not None:
            cfg.campaigns.append((doc, spec))
    for path in config_files(root, POLICY_DIR):
        doc = _read(root, path, cfg)
        if doc is None:
            continue
        kind = doc.data.get("kind")
        model = POLICY_KINDS.get(kind) if isinstance(kind, str) else None
        if model is None:
            cfg.diagnostics.append(_bad_kind(doc, kind))
            continue
        policy, problems = parse_spec(doc, model)
        cfg.diagnostics.extend(problems)
        if policy is not None:
            cfg.policies.append((doc, policy))
    return cfg


def _read(root: Path, path: Path, cfg: LoadedConfig) -> SourceDoc | None:
    rel = path.relative_to(root).as_posix()
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        cfg.diagnostics.append(
            Diagnostic(
                "E108",
                "error",
                f"the file is not UTF-8 text (byte {exc.start})",
                SourceSpan(rel),
                hint="save the file as UTF-8",
            )
        )
        return None
    except OSError as exc:
        cfg.diagnostics.append(
            Diagnostic("E108", "error", f"cannot read the file: {exc.strerror}", SourceSpan(rel))
        )
        return None
    cfg.sources[rel] = text
    try:
        return load_yaml(rel, text)
    except DiagnosticsError as exc:
        cfg.diagnostics.extend(exc.diagnostics)
        return None


def _bad_kind(doc: SourceDoc, kind: object) -> Diagnostic:
    kinds = sorted(POLICY_KINDS)
    if kind is None:
        return Diagnostic(
            "E219",
            "error",
            'a policy file needs a "kind"',
            doc.head_span(),
            expected=f"kind: one of {', '.join(kinds)}",
            hint="add `kind: bots`, `kind: compliance` or `kind: webhooks` at the top",
        )
    return Diagnostic(
        "E220",
        "error",
        f'unknown policy kind "{kind}"',
        doc.span(("kind",)),
        expected=f"one of {', '.join(kinds)}",
        hint=did_you_mean(str(kind), kinds) or None,
    )
